"""A compact PPO for language models (TRL removed its PPOTrainer in 1.16): the paper's recipe, piece by piece.

    res = train_ppo(policy_dir, reward_dir, prompts, out_dir, Stage(steps=30, learning_rate=1e-4, batch_size=16),
                    PPOSettings(kl_coef=0.05), eval_fn=...)

One step: sample one response per prompt (temperature 0.7), score it with the reward model (-10 when the
response never ends: no EOS), turn the per-token KL to the frozen reference into a penalty in the reward
(``kl_rewards``), estimate advantages with GAE (gamma 1, lambda 0.95, ``gae``), whiten them (``whiten``), and
take one epoch of minibatch updates with the clipped policy loss (``policy_loss``, clip 0.2) and the clipped
value loss (``value_loss``, clip 0.2, weight 0.1). The value model is initialised from the reward model (as in
the paper's code); it predicts a value at every response token.

Every ``save_steps`` the policy, value model, optimizer, RNG and history go to ``<work>/last.pt`` (atomic),
and a rerun resumes there (``helpers.core.training.resumable``: the work folder is keyed by every input).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from ..core.store import stable_id
from ..core.training import resumable


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
def kl_rewards(logp: torch.Tensor, ref_logp: torch.Tensor, scores: torch.Tensor, mask: torch.Tensor,
               kl_coef: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards: ``-kl_coef * (logp - ref_logp)`` on every response token, plus the sequence score on
    the last one. Returns (rewards, per-token KL estimate), both zero on padding. Shapes [B, T]; scores [B]."""
    kl = (logp - ref_logp) * mask
    rewards = -kl_coef * kl
    last = mask.long().sum(1) - 1
    rows = torch.arange(len(scores))
    rewards[rows[last >= 0], last[last >= 0]] += scores[last >= 0]
    return rewards, kl


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0,
        lam: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
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


def whiten(x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """(x - mean) / std over the unmasked entries (mean kept when ``shift_mean`` is False)."""
    m = mask.bool()
    mean, var = x[m].mean(), x[m].var(unbiased=False)
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        out = out + mean
    return out * mask


def policy_loss(logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor, mask: torch.Tensor,
                clip: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """The clipped surrogate: mean over tokens of max(-A r, -A clip(r, 1-clip, 1+clip)), r = exp(logp - old_logp).
    Returns (loss, share of tokens where the clip was active)."""
    ratio = torch.exp(logp - old_logp)
    unclipped, clipped = -adv * ratio, -adv * torch.clamp(ratio, 1 - clip, 1 + clip)
    loss = _masked_mean(torch.maximum(unclipped, clipped), mask)
    return loss, _masked_mean((clipped > unclipped).float(), mask)


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor,
               clip: float = 0.2) -> torch.Tensor:
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
        ids[i, :len(p) + len(r)] = torch.tensor(p + r)
        attn[i, :len(p) + len(r)] = 1
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


# ------------------------------------------------------------------------------------------- the loop
def train_ppo(policy: str | Path, reward: str | Path, prompts: Sequence[str], out_dir: str | Path, stage,
              settings: PPOSettings = PPOSettings(), eval_fn: Callable | None = None,
              key_extra: dict | None = None):
    """PPO from the policy folder against the reward-model folder; the final policy lands in ``out_dir``."""
    import random

    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    from .evaluate import generate
    from .rewards import RewardScorer
    from .trainers import StageResult, _done

    out_dir = Path(out_dir)
    key = {"stage": "ppo", "policy": str(policy), "reward": str(reward), "prompts": stable_id(list(prompts)),
           **asdict(stage), **asdict(settings), **(key_extra or {})}
    if (done := _done(out_dir, key)):
        return done
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tok = AutoTokenizer.from_pretrained(str(policy))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    torch.manual_seed(stage.seed)
    f32 = dict(dtype=torch.float32)  # trained in float32 (AdamW on bf16 weights loses small updates)
    model = AutoModelForCausalLM.from_pretrained(str(policy), **f32).to(device)
    ref = AutoModelForCausalLM.from_pretrained(str(policy), **f32).to(device).eval()
    value = ValueModel(AutoModelForSequenceClassification.from_pretrained(str(reward), **f32)).to(device)
    scorer = RewardScorer(reward, device=device)
    params = list(model.parameters()) + list(value.parameters())
    opt = torch.optim.AdamW(params, lr=stage.learning_rate, weight_decay=0.0)
    rng = random.Random(stage.seed)
    history: list[dict] = []
    with resumable(out_dir, key) as work:
        ckpt, start = Path(work.path) / "last.pt", 0
        if ckpt.exists():
            state = torch.load(ckpt, weights_only=False)
            model.load_state_dict(state["policy"])
            value.load_state_dict(state["value"])
            opt.load_state_dict(state["optimizer"])
            rng.setstate(state["rng"])
            torch.set_rng_state(state["torch_rng"])
            start, history = state["step"], state["history"] + [{"resumed_from": state["step"]}]
        if start == 0 and eval_fn:
            history.append({"step": 0, **{f"eval/{k}": v for k, v in eval_fn(model).items() if v is not None}})
        for step in range(start + 1, stage.steps + 1):
            batch_prompts = [prompts[rng.randrange(len(prompts))] for _ in range(stage.batch_size)]
            row = ppo_step(model, ref, value, scorer, tok, opt, batch_prompts, settings, device, generate)
            row["step"] = step
            if eval_fn and stage.eval_every and (step % stage.eval_every == 0 or step == stage.steps):
                row.update({f"eval/{k}": v for k, v in eval_fn(model).items() if v is not None})
            history.append(row)
            if stage.save_steps and step % stage.save_steps == 0 and step < stage.steps:
                _save(ckpt, {"policy": model.state_dict(), "value": value.state_dict(), "optimizer": opt.state_dict(),
                             "rng": rng.getstate(), "torch_rng": torch.get_rng_state(), "step": step, "history": history})
        model.save_pretrained(work.final)
        tok.save_pretrained(work.final)
        (Path(work.final) / "history.json").write_text(json.dumps(history), encoding="utf-8")
    return StageResult(out_dir, history)


def _save(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def ppo_step(model, ref, value, scorer, tok, opt, prompts: Sequence[str], s: PPOSettings, device: str,
             generate) -> dict:
    """One rollout and one PPO epoch; returns the step's statistics (reward, KL, losses, clip fraction)."""
    texts, ids = generate(model, tok, prompts, s.max_new_tokens, do_sample=True, temperature=s.temperature,
                          return_ids=True)
    ids = [(p, r if r else [tok.eos_token_id]) for p, r in ids]
    batch = {k: v.to(device) for k, v in pack(ids, tok.pad_token_id).items()}
    ended = torch.tensor([r[-1] == tok.eos_token_id for _, r in ids], device=device)
    with torch.no_grad():
        old_logp, mask = token_logprobs(model, batch, s.temperature)
        ref_logp, _ = token_logprobs(ref, batch, s.temperature)
        old_values, _ = response_view(value(batch["input_ids"], batch["attention_mask"]), batch)
        raw = torch.tensor(scorer.score(prompts, texts), device=device)
        scores = apply_no_eos_penalty(raw, ended, s.no_eos_penalty)
        rewards, kl = kl_rewards(old_logp, ref_logp, scores, mask, s.kl_coef)
        adv, returns = gae(rewards.cpu(), old_values.cpu(), mask.cpu(), s.gamma, s.lam)
        adv, returns = adv.to(device), returns.to(device)
        if s.whiten_advantages:
            adv = whiten(adv, mask)
    n = len(prompts)
    size = s.minibatch_size or n
    stats = {"pg_loss": 0.0, "vf_loss": 0.0, "clipfrac": 0.0}
    updates = 0
    for _ in range(s.ppo_epochs):
        for start in range(0, n, size):
            idx = torch.arange(start, min(n, start + size), device=device)
            mb = {k: v[idx] for k, v in batch.items()}
            logp, m = token_logprobs(model, mb, s.temperature)
            vals, _ = response_view(value(mb["input_ids"], mb["attention_mask"]), mb)
            T = m.shape[1]
            pg, clipfrac = policy_loss(logp, old_logp[idx][:, :T], adv[idx][:, :T], m, s.clip)
            vf = value_loss(vals, old_values[idx][:, :T], returns[idx][:, :T], m, s.value_clip)
            loss = pg + s.vf_coef * vf
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], 1.0)
            opt.step()
            stats["pg_loss"] += float(pg.detach())
            stats["vf_loss"] += float(vf.detach())
            stats["clipfrac"] += float(clipfrac.detach())
            updates += 1
    stats = {k: v / max(1, updates) for k, v in stats.items()}
    return {"reward": float(raw.mean()), "score": float(scores.mean()), "kl": float(kl.sum() / mask.sum()),
            "kl_per_response": float(kl.sum(1).mean()),
            "no_eos": float(1 - ended.float().mean()), "response_length": float(mask.sum(1).mean()), **stats}
