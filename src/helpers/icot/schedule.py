"""Which CoT tokens a training step removes (Deng et al., arXiv 2405.14838, section 3).

The scheduled removal count starts at 0 and grows by one token every
``round(steps_per_epoch / remove_per_epoch)`` steps (counted once ``pretrain_epochs`` of explicit-CoT
training are over); each increase resets the optimizer; once the count reaches
``remove_all_beyond`` the whole CoT is removed. Removal smoothing adds a random offset o >= 0 per
example with P(o) proportional to exp(-lambda * o). Tokens are removed from the left of the CoT.

    sched = RemovalSchedule(steps_per_removed_token(1000, 8))
    for step in range(total):
        removed, increased = sched.advance(epoch)
        if increased: reset the optimizer
        per_example = removed + sample_offsets(lambda_, batch_size, generator)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

INF = math.inf
MAX_OFFSET = 100  # the smoothing distribution's support: offsets 0 .. MAX_OFFSET - 1


def steps_per_removed_token(steps_per_epoch: int, remove_per_epoch: float) -> int:
    """Steps between two increases of the removal count: round(steps_per_epoch / remove_per_epoch)."""
    if remove_per_epoch <= 0:
        raise ValueError("remove_per_epoch must be > 0")
    return int(round(steps_per_epoch / remove_per_epoch))


def smoothing_distribution(lam: float, size: int = MAX_OFFSET) -> torch.Tensor:
    """P(o) proportional to exp(-lam * o) for o = 0 .. size-1; lam = inf puts all mass on 0."""
    if lam < 0:
        raise ValueError("the smoothing lambda must be >= 0")
    if math.isinf(lam):
        probs = torch.zeros(size, dtype=torch.float64)
        probs[0] = 1.0
        return probs
    logits = -lam * torch.arange(size, dtype=torch.float64)
    return torch.softmax(logits, dim=0)


def sample_offsets(lam: float, n: int, generator: torch.Generator | None = None) -> list[int]:
    """``n`` removal offsets drawn from the smoothing distribution."""
    if math.isinf(lam):
        return [0] * n
    return torch.multinomial(smoothing_distribution(lam), n, replacement=True, generator=generator).tolist()


@dataclass
class RemovalSchedule:
    """The reference's per-step removal counter; ``state()``/``load`` make it part of a checkpoint."""

    every: int  # steps per removed token (0: one more token every step)
    remove_all_beyond: float = INF  # remove the whole CoT once the count reaches this
    pretrain_epochs: int = 0  # epochs of explicit-CoT training before the counter runs
    removed: float = 0  # scheduled removal count (INF: everything)
    counter: int = 0  # steps since the last increase

    def advance(self, epoch: int) -> tuple[float, bool]:
        """Call once before each training step; returns (scheduled count, whether it just grew)."""
        before = self.removed
        if self.counter == self.every or self.every == 0:
            self.removed += 1
            self.counter = 0
        if epoch >= self.pretrain_epochs:
            self.counter += 1
        if self.removed >= self.remove_all_beyond:
            self.removed = INF
        return self.removed, self.removed > before and not math.isinf(before)

    def state(self) -> dict:
        s = asdict(self)
        return {
            **s,
            "removed": None if math.isinf(self.removed) else self.removed,
            "remove_all_beyond": None if math.isinf(self.remove_all_beyond) else self.remove_all_beyond,
        }

    @classmethod
    def load(cls, state: dict) -> RemovalSchedule:
        fix = lambda v: INF if v is None else v  # noqa: E731
        return cls(**{**state, "removed": fix(state["removed"]), "remove_all_beyond": fix(state["remove_all_beyond"])})


def remove_left(cot_ids: list[int], k: float) -> list[int]:
    """The CoT without its first ``k`` tokens (all of them when k >= its length or k is inf)."""
    if math.isinf(k) or k >= len(cot_ids):
        return []
    return cot_ids[int(k) :]


def removal_counts(
    method: str, scheduled: float, n: int, lam: float, generator: torch.Generator | None = None
) -> list[float]:
    """Tokens to remove for each of ``n`` examples: none (explicit CoT), all (no CoT) or the schedule."""
    if method == "cot":
        return [0] * n
    if method == "nocot":
        return [INF] * n
    if method == "stepwise":
        return [scheduled + o for o in sample_offsets(lam, n, generator)]
    raise ValueError(f"unknown method {method!r}: stepwise, nocot or cot")
