"""The sweep's table: every (strong, weak) pair of ``sweep_pairs`` scored from the models' cached log-probs (each model
scored the data once; a pair is two subtractions per example), with RewardBench-style scores and tie checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .pairs import sweep_pair_list
from .reward import ratio_rewards
from .sweep import gap_ties, rank_sweep
from .verdicts import MAX_TIED_SHARE, reward_reliability, tied_share


def pair_sweep(
    zoo: dict[str, str],
    gap_scores: dict[str, float],
    logprobs: dict,
    ids: Sequence[str],
    variant: str,
    evaluate: Callable,
    sweep_pairs: Any = "all",
):
    """The sweep's (strong, weak) pairs (``sweep_pairs``: "all", every unordered pair of the zoo with strong = the
    higher gap score; or explicit pairs, see ``pairs``) with each ratio reward's accuracy, RewardBench-style scores,
    tied share and degeneracy, computed from the models' cached log-probs (no model runs here); largest gap first,
    equal gaps by name. Returns (pairs table, pairs left out with equal gap scores, pairs of pairs with the same gap)."""
    from .rewardbench import pairwise_correct

    pair_list, tied_pairs = sweep_pair_list(sweep_pairs, list(zoo), gap_scores)
    rows = []
    for s, w, gap in pair_list:
        ch, rj = pair_rewards(logprobs, s, w, ids, variant)
        rep, acc = evaluate(ch, rj), float(np.mean(pairwise_correct(ch, rj)))
        share = tied_share(ch, rj)  # pairs the reward cannot order (|chosen - rejected| <= TIE_TOLERANCE)
        rows.append(
            {
                "strong": s,
                "weak": w,
                "gap": gap,
                "accuracy": acc,
                **{k: 100 * v for k, v in rep.flat().items()},
                "headline": 100 * rep.headline if rep.headline is not None else None,
                "tied_share": share,
                "reward_degenerate": not reward_reliability(share)[0],
            }
        )
    pairs = rank_sweep(rows)  # largest gap first; equal gaps by strong, weak name (stable)
    pairs["reward_degenerate"] = pairs["reward_degenerate"].astype(bool)
    return pairs, tied_pairs, gap_ties(pairs)


def pair_rewards(
    logprobs: dict, strong: str, weak: str, ids: Sequence[str], variant: str
) -> tuple[list[float], list[float]]:
    """(rewards of the chosen responses, of the rejected ones) of the pair (strong, weak), from the two models'
    cached log-probs ({model: {item id: ResponseLogProb}}): subtractions only."""
    return (
        ratio_rewards(logprobs[strong], logprobs[weak], [i + "/chosen" for i in ids], variant),
        ratio_rewards(logprobs[strong], logprobs[weak], [i + "/rejected" for i in ids], variant),
    )


def sweep_lines(pairs, tied_pairs: Sequence, gap_tied: Sequence, corr: dict, gap_metric: str) -> list[str]:
    """What the notebook prints about the sweep: pairs, left-out pairs, same gaps, the correlation."""
    lines = [
        f"{len(pairs)} pairs (strong = the higher {gap_metric} unless named); {len(tied_pairs)} left out with "
        "equal scores" + (f": {tied_pairs}" if tied_pairs else "")
    ]
    if pairs.reward_degenerate.any():
        bad = pairs[pairs.reward_degenerate][["strong", "weak"]].values
        lines.append(
            f"{int(pairs.reward_degenerate.sum())} pair(s) left out of the correlation, reward degenerate "
            f"(>= {MAX_TIED_SHARE:.0%} of pairs tied): " + ", ".join(f"{s} / {w}" for s, w in bad)
        )
    if gap_tied:
        lines.append(
            f"{len(gap_tied)} pair(s) of pairs with the same gap (ordered by name): "
            + "; ".join(f"{a} = {b}" for a, b in gap_tied)
        )
    lines.append(
        f"gap vs RewardBench-style headline: "
        f"{ {k: (round(v, 3) if isinstance(v, float) else v) for k, v in corr.items()} }"
    )
    return lines
