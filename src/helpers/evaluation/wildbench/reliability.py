"""Judge reliability: position consistency of games judged in both orders."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...core import stats
from .tasks import LABEL_REWARD


def slot_sign(label: str | None) -> int | None:
    """A WildBench label as the sign of slot A's preference (None: no parsed label)."""
    if label not in LABEL_REWARD:
        return None
    reward = LABEL_REWARD[label]  # the reward of slot A
    return (reward > 0) - (reward < 0)


def position_consistency(pairs: Iterable[tuple[str | None, str | None]]) -> dict[str, Any]:
    """``stats.position_consistency`` of games judged in both orders: (label with the model in A, label with the
    model in B); a pair with a failed parse counts in ``failed_pairs``."""
    return stats.position_consistency((slot_sign(a), slot_sign(b)) for a, b in pairs)
