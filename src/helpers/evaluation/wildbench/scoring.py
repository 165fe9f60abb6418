"""WB-Score (rescaled 1-10 scores, task macro) and WB-Reward (labels, length penalty K, baseline mixture)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ...core.store import stable_id
from .tasks import GROUP_WEIGHTS, GROUPS, LABEL_REWARD


# --------------------------------------------------------------------------- WB-Score
def rescale_score(score: float) -> float:
    """WildBench's rescaling of a 1-10 score: (s - 5) * 2, shown x10 (5 -> 0, 10 -> 100, 1 -> -80)."""
    return (score - 5.0) * 2.0 * 10.0


def wb_score(scores: Iterable[float | None]) -> float:
    """Mean rescaled score over valid (non-None) judgements; NaN when none is valid."""
    valid = [rescale_score(s) for s in scores if s is not None]
    return sum(valid) / len(valid) if valid else float("nan")


def group_scores(items: Iterable[tuple[Sequence[str], float | None]]) -> dict[str, float]:
    """WB-Score per task group from (groups of the task, score) pairs; a task counts in each of its groups."""
    per: dict[str, list] = {g: [] for g in GROUPS}
    for groups, score in items:
        for g in groups:
            if g in per and score is not None:
                per[g].append(score)
    return {g: wb_score(v) for g, v in per.items() if v}


# How a missing task group (or baseline) enters a macro average / mixture:
#   "upstream"    WildBench's leaderboard scripts: the weighted sum is divided by ALL five weights (4.75) and
#                 the mixture by the number of baselines, so a missing group or baseline counts 0;
#   "renormalise" ours: the average over the groups / baselines that have a value.
# Either way the result is NaN when nothing at all has a value.
AGGREGATIONS = ("upstream", "renormalise")


def check_aggregation(aggregation: str) -> None:
    """ValueError unless ``aggregation`` is one of ``AGGREGATIONS``."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {aggregation!r}")


def task_macro(
    per_group: dict[str, float], weights: dict[str, float] = GROUP_WEIGHTS, aggregation: str = "upstream"
) -> float:
    """Weighted macro average over task groups (GROUP_WEIGHTS); NaN if no group has a value.

    ``aggregation="upstream"``: divided by the sum of all weights, a missing (or NaN) group counts 0;
    ``"renormalise"``: the weights are renormalised over the groups present.
    """
    check_aggregation(aggregation)
    present = [(g, s) for g, s in per_group.items() if g in weights and s == s]
    if not present:
        return float("nan")
    total = sum(weights.values()) if aggregation == "upstream" else sum(weights[g] for g, _ in present)
    return sum(weights[g] * s for g, s in present) / total if total else float("nan")


# --------------------------------------------------------------------------- WB-Reward
def model_is_a(task_id: str, model: str, baseline: str, seed: int = 0) -> bool:
    """Randomised but reproducible A/B order per (task, model, baseline): True puts the model in slot A."""
    return int(stable_id("order", task_id, model, baseline, seed), 16) % 2 == 0


def length_penalty(reward: float, len_model: int, len_baseline: int, K: float) -> float:
    """WildBench's K penalty: a *slight* win whose winner is more than K characters longer becomes a tie.

    ``K < 0`` or ``K == inf`` disables it; strong wins (+-1) and ties are never changed.
    """
    if K is None or K < 0 or math.isinf(K) or abs(reward) != 0.5:
        return reward
    winner, loser = (len_model, len_baseline) if reward > 0 else (len_baseline, len_model)
    return 0.0 if winner - loser > K else reward


def game_reward(label: str | None, model_is_a: bool, len_model: int, len_baseline: int, K: float = -1) -> float | None:
    """Reward of one game from the model's side (+1, +0.5, 0, -0.5, -1), K penalty applied; None if unparsed."""
    if label not in LABEL_REWARD:
        return None
    reward = LABEL_REWARD[label] if model_is_a else -LABEL_REWARD[label]
    return length_penalty(reward, len_model, len_baseline, K)


def empty_game_reward(model_text: str, baseline_text: str) -> float | None:
    """Automatic result when a response is empty (no judge call): empty loses, both empty tie; None if neither is empty."""
    m_empty, b_empty = not model_text.strip(), not baseline_text.strip()
    if m_empty and b_empty:
        return 0.0
    if m_empty:
        return -1.0
    if b_empty:
        return 1.0
    return None


def wb_reward(games: Iterable[dict], K: float = -1) -> float:
    """WB-Reward (x100) over games {label, model_is_a, len_model, len_baseline} or {reward} (automatic results).

    Unparsed judgements are left out; NaN when no game counts.
    """
    rewards = [r for r in (game_value(g, K) for g in games) if r is not None]
    return 100.0 * sum(rewards) / len(rewards) if rewards else float("nan")


def game_value(game: dict, K: float = -1) -> float | None:
    """One game's reward: an automatic result (``auto_reward``) as is, else the judged label with the K penalty."""
    if game.get("auto_reward") is not None:
        return float(game["auto_reward"])
    return game_reward(game.get("label"), game["model_is_a"], game["len_model"], game["len_baseline"], K)


def reward_mixture(
    per_baseline: dict[str, float], baselines: Sequence[str] | None = None, aggregation: str = "upstream"
) -> float:
    """Mixture of WB-Rewards over baselines; NaN when no baseline has a value.

    ``aggregation="upstream"``: the sum over ``baselines`` (default: the keys given) divided by their
    number, a missing or NaN baseline (e.g. the model itself, when it is a baseline) counting 0;
    ``"renormalise"``: the mean over the baselines that have a value.
    """
    check_aggregation(aggregation)
    names = list(baselines) if baselines is not None else list(per_baseline)
    vals = [per_baseline[b] for b in names if b in per_baseline and per_baseline[b] == per_baseline[b]]
    if not vals:
        return float("nan")
    return sum(vals) / (len(names) if aggregation == "upstream" else len(vals))


def outcome_counts(games: Iterable[dict], K: float = -1) -> dict[str, int]:
    """Counts of much better / slightly better / tie / slightly worse / much worse (model's side) and failures."""
    names = {1.0: "much_better", 0.5: "better", 0.0: "tie", -0.5: "worse", -1.0: "much_worse"}
    counts = {n: 0 for n in [*names.values(), "failed"]}
    for g in games:
        r = game_value(g, K)
        counts["failed" if r is None else names[r]] += 1
    return counts
