"""A compact PPO for language models (TRL removed its PPOTrainer in 1.16): the paper's recipe, piece by piece.

One step: sample one response per prompt (temperature 0.7), score it with the reward model (-10 when the
response never ends: no EOS), turn the per-token KL to the frozen reference into a penalty in the reward
(``kl_rewards``), estimate advantages with GAE (gamma 1, lambda 0.95, ``gae``), whiten them (``whiten``), and
take one epoch of minibatch updates with the clipped policy loss (``policy_loss``, clip 0.2) and the clipped
value loss (``value_loss``, clip 0.2, weight 0.1). The value model is initialised from the reward model (as in
the paper's code); it predicts a value at every response token.

This module holds the pieces (each unit-tested); ``ppo_train`` runs the loop (in one process, or data parallel
under ``accelerate launch`` through ``ppo_launch``), checkpointed and resumable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PPOSettings:
    kl_coef: float = 0.05
    temperature: float = 0.7
    max_new_tokens: int = 24
    gamma: float = 1.0
    lam: float = 0.95
    clip: float = 0.2
    value_clip: float = 0.2
    vf_coef: float = 0.1
    ppo_epochs: int = 1
    minibatch_size: int = 0  # 0: the whole rollout batch in one update
    no_eos_penalty: float = -10.0
    whiten_advantages: bool = True


# ------------------------------------------------------------------------------------------- the pieces
def kl_rewards(
    logp: torch.Tensor, ref_logp: torch.Tensor, scores: torch.Tensor, mask: torch.Tensor, kl_coef: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards: ``-kl_coef * (logp - ref_logp)`` on every response token, plus the sequence score on
    the last one. Returns (rewards, per-token KL estimate), both zero on padding. Shapes [B, T]; scores [B]."""
    kl = (logp - ref_logp) * mask
    rewards = -kl_coef * kl
    last = mask.long().sum(1) - 1
    rows = torch.arange(len(scores))
    rewards[rows[last >= 0], last[last >= 0]] += scores[last >= 0]
    return rewards, kl


def gae(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0, lam: float = 0.95
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over response tokens (right-padded, value 0 after the last token):
    delta_t = r_t + gamma V_{t+1} - V_t, A_t = delta_t + gamma lambda A_{t+1}. Returns (advantages, returns)."""
    values = values * mask
    adv = torch.zeros_like(rewards)
    running = torch.zeros(rewards.shape[0], dtype=rewards.dtype)
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * running) * mask[:, t]
        adv[:, t] = running
    return adv, adv + values


def whiten(
    x: torch.Tensor,
    mask: torch.Tensor,
    shift_mean: bool = True,
    all_reduce_sum: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """(x - mean) / std over the unmasked entries (mean kept when ``shift_mean`` is False). Under data parallel
    training ``all_reduce_sum`` sums a tensor over the processes, so the statistics are those of the whole batch."""
    m = mask.bool()
    if all_reduce_sum is None:
        mean, var = x[m].mean(), x[m].var(unbiased=False)
    else:
        total, sq, n = all_reduce_sum(torch.stack([x[m].sum(), (x[m] ** 2).sum(), m.sum().to(x.dtype)]))
        mean = total / n.clamp(min=1)
        var = (sq / n.clamp(min=1) - mean**2).clamp(min=0)
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        out = out + mean
    return out * mask


def policy_loss(
    logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor, mask: torch.Tensor, clip: float = 0.2
) -> tuple[torch.Tensor, torch.Tensor]:
    """The clipped surrogate: mean over tokens of max(-A r, -A clip(r, 1-clip, 1+clip)), r = exp(logp - old_logp).
    Returns (loss, share of tokens where the clip was active)."""
    ratio = torch.exp(logp - old_logp)
    unclipped, clipped = -adv * ratio, -adv * torch.clamp(ratio, 1 - clip, 1 + clip)
    loss = _masked_mean(torch.maximum(unclipped, clipped), mask)
    return loss, _masked_mean((clipped > unclipped).float(), mask)


def value_loss(
    values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor, clip: float = 0.2
) -> torch.Tensor:
    """0.5 * mean of max((V - R)^2, (V_clipped - R)^2), V_clipped = V_old + clip(V - V_old, -clip, clip)."""
    clipped = old_values + torch.clamp(values - old_values, -clip, clip)
    return 0.5 * _masked_mean(torch.maximum((values - returns) ** 2, (clipped - returns) ** 2), mask)


def apply_no_eos_penalty(scores: torch.Tensor, ended: torch.Tensor, penalty: float = -10.0) -> torch.Tensor:
    """The score of a response that never emitted EOS is replaced by ``penalty`` (the paper: -10)."""
    return torch.where(ended, scores, torch.full_like(scores, penalty))


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1)


# ------------------------------------------------------------------------------------------- models
class ValueModel(torch.nn.Module):
    """A transformer backbone with a scalar head read at every position (initialised from a reward model)."""

    def __init__(self, reward_model):
        super().__init__()
        self.backbone = reward_model.base_model
        self.head = reward_model.score

    def forward(self, input_ids, attention_mask):
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(hidden).squeeze(-1)


def pack(samples: Sequence[tuple[list[int], list[int]]], pad: int) -> dict[str, torch.Tensor]:
    """Right-padded prompt+response ids, the attention mask, and where each response starts / its length."""
    width = max(len(p) + len(r) for p, r in samples)
    ids = torch.full((len(samples), width), pad, dtype=torch.long)
    attn = torch.zeros((len(samples), width), dtype=torch.long)
    for i, (p, r) in enumerate(samples):
        ids[i, : len(p) + len(r)] = torch.tensor(p + r)
        attn[i, : len(p) + len(r)] = 1
    starts = torch.tensor([len(p) for p, _ in samples])
    lengths = torch.tensor([len(r) for _, r in samples])
    return {"input_ids": ids, "attention_mask": attn, "starts": starts, "lengths": lengths}


def response_view(x: torch.Tensor, batch: dict, offset: int = -1) -> tuple[torch.Tensor, torch.Tensor]:
    """Gather per-position values ``x`` [B, L(, ...)] at the positions that predict each response token
    (start + t + offset) into [B, T]; returns (gathered, mask)."""
    T = int(batch["lengths"].max())
    t = torch.arange(T)
    mask = (t[None, :] < batch["lengths"][:, None]).float()
    pos = (batch["starts"][:, None] + t[None, :] + offset).clamp(min=0, max=x.shape[1] - 1)
    return torch.gather(x, 1, pos), mask


def token_logprobs(model, batch: dict, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probabilities of the response tokens under ``model`` (logits / temperature), [B, T], and the mask."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float() / temperature
    logp_all = torch.log_softmax(logits[:, :-1], -1)
    targets = batch["input_ids"][:, 1:]
    per_pos = torch.gather(logp_all, 2, targets.unsqueeze(-1)).squeeze(-1)  # position i predicts token i+1
    padded = torch.nn.functional.pad(per_pos, (1, 0))  # index j now holds log p(token j)
    return response_view(padded, batch, offset=0)
