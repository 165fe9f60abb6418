"""Judge reliability: position consistency of games judged in both orders."""
from __future__ import annotations

from typing import Iterable


from .tasks import LABEL_REWARD


def position_consistency(pairs: Iterable[tuple[str | None, str | None]]) -> dict[str, float]:
    """Position bias from games judged in both orders: (label with the model in A, label with the model in B).

    consistent: the model's outcome (win / tie / loss) is the same in both orders.
    same_slot: both verdicts favour the same *slot* (A both times or B both times): a pure position effect.
    a_slot_rate: share of decisive verdicts that favour slot A. Pairs with a failed parse are counted apart.
    """
    n = consistent = same_slot = decisive = a_wins = failed = 0
    sign = lambda x: (x > 0) - (x < 0)  # noqa: E731
    for first, second in pairs:
        if first not in LABEL_REWARD or second not in LABEL_REWARD:
            failed += 1
            continue
        n += 1
        a1, a2 = LABEL_REWARD[first], LABEL_REWARD[second]  # rewards of slot A
        consistent += sign(a1) == sign(-a2)
        same_slot += sign(a1) != 0 and sign(a1) == sign(a2)
        for a in (a1, a2):
            if a != 0:
                decisive += 1
                a_wins += a > 0
    return {"pairs": n, "failed_pairs": failed,
            "consistent_rate": consistent / n if n else float("nan"),
            "same_slot_rate": same_slot / n if n else float("nan"),
            "a_slot_rate": a_wins / decisive if decisive else float("nan")}
