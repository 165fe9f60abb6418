"""Per-model summaries with bootstrap CIs, per-group rewards, the task-macro WB-Reward."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...core.stats import percentile_interval, resample_counts
from .scoring import (
    check_aggregation,
    game_value,
    group_scores,
    outcome_counts,
    rescale_score,
    reward_mixture,
    task_macro,
    wb_reward,
    wb_score,
)
from .tasks import GROUP_WEIGHTS, GROUPS


# --------------------------------------------------------------------------- tables (used by the notebook)
def score_summary(
    records: Sequence[dict],
    task_groups_by_id: dict[str, list[str]],
    rounds: int = 500,
    seed: int = 0,
    aggregation: str = "upstream",
) -> list[dict]:
    """Per model: WB-Score task macro with a bootstrap CI over tasks, the plain mean, per-group scores, failures.

    ``records``: {model, task, score (1-10 or None for a parse failure)}. ``aggregation``: how a group
    without a valid score enters the macro (see ``task_macro``). The CI is the 95% percentile interval of the
    macro over ``rounds`` resamples of the model's records (drawn with replacement; rounds without any valid
    score are dropped), computed with arrays (``_score_macro``).
    """
    check_aggregation(aggregation)
    rows = []
    rng = np.random.default_rng(seed)
    for model in dict.fromkeys(r["model"] for r in records):
        mine = [r for r in records if r["model"] == model]
        items = [(task_groups_by_id[r["task"]], r["score"]) for r in mine]
        macro = task_macro(group_scores(items), aggregation=aggregation)
        C = resample_counts(len(items), rounds, rng)
        lo, hi = percentile_interval(_score_macro(C, items, aggregation))
        per = group_scores(items)
        rows.append(
            {
                "model": model,
                "wb_score": macro,
                "wb_score_lo": lo,
                "wb_score_hi": hi,
                "wb_score_plain_mean": wb_score(r["score"] for r in mine),
                "n_judged": len(mine),
                "n_failed": sum(r["score"] is None for r in mine),
                **{f"score[{g}]": per.get(g, float("nan")) for g in GROUPS},
            }
        )
    return rows


def _weighted_macro(per_group: np.ndarray, aggregation: str) -> np.ndarray:
    """``task_macro`` of each row of per-group values (rounds x GROUPS, NaN = no value) at once."""
    w = np.array([GROUP_WEIGHTS[g] for g in GROUPS])[None, :]
    have = ~np.isnan(per_group)
    wsum = np.where(have, w * np.nan_to_num(per_group), 0.0).sum(axis=1)
    total = np.full(len(per_group), w.sum()) if aggregation == "upstream" else np.where(have, w, 0.0).sum(axis=1)
    return np.where(have.any(axis=1) & (total > 0), wsum / np.where(total > 0, total, 1.0), np.nan)


def _score_macro(C: np.ndarray, items: Sequence[tuple[Sequence[str], float | None]], aggregation: str) -> np.ndarray:
    """WB-Score task macro for each row of record multiplicities ``C`` (rounds x records)."""
    G = np.array([[g in groups and s is not None for g in GROUPS] for groups, s in items], dtype=float)
    v = np.array([rescale_score(s) if s is not None else 0.0 for _, s in items])
    num, den = C @ (G * v[:, None]), C @ G
    return _weighted_macro(np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0), aggregation)


def _task_reward_arrays(
    games: Sequence[dict], tasks: Sequence[str], baselines: Sequence[str], K: float
) -> tuple[np.ndarray, np.ndarray]:
    """(sum of rewards, number of counted games) per (task, baseline); parse failures are not counted."""
    t_index = {t: i for i, t in enumerate(tasks)}
    b_index = {b: j for j, b in enumerate(baselines)}
    S = np.zeros((len(tasks), len(baselines)))
    N = np.zeros((len(tasks), len(baselines)))
    for g in games:
        v = game_value(g, K)
        if v is not None and g["baseline"] in b_index:
            S[t_index[g["task"]], b_index[g["baseline"]]] += v
            N[t_index[g["task"]], b_index[g["baseline"]]] += 1
    return S, N


def _macro_reward(C: np.ndarray, S: np.ndarray, N: np.ndarray, G: np.ndarray, aggregation: str) -> np.ndarray:
    """Task-macro WB-Reward (x100) for each row of task multiplicities ``C`` (rounds x tasks).

    Per baseline and group: the mean reward over the group's counted games; per baseline: the weighted
    macro over groups; then the mixture over baselines, missing entries treated per ``aggregation``.
    """
    num = np.einsum("rt,tg,tb->rgb", C, G, S)
    den = np.einsum("rt,tg,tb->rgb", C, G, N)
    r = 100.0 * np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)  # (rounds, groups, baselines)
    w = np.array([GROUP_WEIGHTS[g] for g in GROUPS])[None, :, None]
    have = ~np.isnan(r)
    wsum = np.where(have, w * np.nan_to_num(r), 0.0).sum(axis=1)  # (rounds, baselines)
    if aggregation == "upstream":
        per_b = np.where(have.any(axis=1), wsum / w.sum(), np.nan)
        out = (
            np.where(~np.isnan(per_b).all(axis=1), np.nansum(per_b, axis=1) / per_b.shape[1], np.nan)
            if per_b.shape[1]
            else np.full(len(C), np.nan)
        )
    else:
        wpresent = np.where(have, w, 0.0).sum(axis=1)
        per_b = np.divide(wsum, wpresent, out=np.full(wsum.shape, np.nan), where=wpresent > 0)
        counted = (~np.isnan(per_b)).sum(axis=1)
        out = np.divide(np.nansum(per_b, axis=1), counted, out=np.full(len(C), np.nan), where=counted > 0)
    return out


def _mixture_reward(C: np.ndarray, S: np.ndarray, N: np.ndarray, aggregation: str) -> np.ndarray:
    """WB-Reward mixture (x100) over baselines for each row of task multiplicities ``C`` (rounds x tasks), missing
    baselines treated per ``aggregation`` (``reward_mixture`` on arrays)."""
    num, den = C @ S, C @ N  # (rounds, baselines)
    r = 100.0 * np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)
    have = ~np.isnan(r)
    n = np.full(len(C), r.shape[1]) if aggregation == "upstream" else have.sum(axis=1)
    return np.where(have.any(axis=1), np.nan_to_num(r).sum(axis=1) / np.maximum(n, 1), np.nan)


def task_macro_reward(
    games: Sequence[dict],
    task_groups_by_id: dict[str, list[str]],
    K: float,
    baselines: Sequence[str] | None = None,
    aggregation: str = "upstream",
) -> float:
    """WildBench's task_macro_reward (x100) of one model's games: per baseline, the weighted macro over the
    five task groups of the per-group WB-Reward; then the mixture over baselines.

    ``aggregation="upstream"`` (WildBench's leaderboard scripts): the macro is divided by all five weights
    (4.75; a missing group counts 0) and the mixture by the number of ``baselines`` (a missing baseline,
    e.g. the model itself, counts 0). ``"renormalise"``: over the groups and baselines present.
    """
    check_aggregation(aggregation)
    baselines = list(baselines) if baselines is not None else list(dict.fromkeys(g["baseline"] for g in games))
    tasks = sorted({g["task"] for g in games})
    if not tasks or not baselines:
        return float("nan")
    S, N = _task_reward_arrays(games, tasks, baselines, K)
    G = np.array([[grp in task_groups_by_id[t] for grp in GROUPS] for t in tasks], dtype=float)
    return float(_macro_reward(np.ones((1, len(tasks))), S, N, G, aggregation)[0])


def reward_summary(
    games: Sequence[dict],
    Ks: Sequence[float],
    K_main: float,
    rounds: int = 500,
    seed: int = 0,
    baselines: Sequence[str] | None = None,
    aggregation: str = "upstream",
    task_groups_by_id: dict[str, list[str]] | None = None,
) -> tuple[list[dict], list[dict]]:
    """(leaderboard rows, K rows) of WB-Reward from games {model, baseline, task, label/auto_reward, ...}.

    Leaderboard rows: per model, the reward against each baseline and the mixture at ``K_main``, with a
    bootstrap CI of the mixture over tasks; with ``task_groups_by_id`` also the task-macro reward
    (``task_macro_reward``) and its CI. K rows: per model and K, each baseline, the mixture (and the task
    macro). ``baselines``: every configured baseline (default: those in each model's games); with
    ``aggregation="upstream"`` a baseline the model has no counted game against counts 0.
    """
    check_aggregation(aggregation)
    models = list(dict.fromkeys(g["model"] for g in games))
    board, by_k = [], []
    rng = np.random.default_rng(seed)
    for model in models:
        mine = [g for g in games if g["model"] == model]
        names = list(baselines) if baselines is not None else list(dict.fromkeys(g["baseline"] for g in mine))

        def mix(gs: Sequence[dict], K: float = K_main) -> float:
            return reward_mixture(
                {b: wb_reward([g for g in gs if g["baseline"] == b], K) for b in names},  # noqa: B023 (called in this iteration)
                names,  # noqa: B023
                aggregation,
            )

        tasks = sorted({g["task"] for g in mine})
        S, N = _task_reward_arrays(mine, tasks, names, K_main)
        C = resample_counts(len(tasks), rounds, rng)
        lo, hi = percentile_interval(_mixture_reward(C, S, N, aggregation))  # resamples of tasks: CI of the mixture
        counts = outcome_counts(mine, K_main)
        row = {
            "model": model,
            "wb_reward_mix": mix(mine),
            "wb_reward_lo": lo,
            "wb_reward_hi": hi,
            **{f"reward_vs[{b}]": wb_reward([g for g in mine if g["baseline"] == b], K_main) for b in names},
            "n_games": len(mine),
            "n_failed": counts["failed"],
        }
        macro_at = {}
        if task_groups_by_id is not None and tasks and names:
            G = np.array([[grp in task_groups_by_id[t] for grp in GROUPS] for t in tasks], dtype=float)
            for K in dict.fromkeys([K_main, *Ks]):
                SK, NK = _task_reward_arrays(mine, tasks, names, K)
                macro_at[K] = float(_macro_reward(np.ones((1, len(tasks))), SK, NK, G, aggregation)[0])
            mlo, mhi = percentile_interval(_macro_reward(C, S, N, G, aggregation))  # the same resamples as the mixture
            row.update(
                {
                    "wb_reward_task_macro": macro_at[K_main],
                    "wb_reward_task_macro_lo": float(mlo),
                    "wb_reward_task_macro_hi": float(mhi),
                }
            )
        board.append(row)
        for K in Ks:
            by_k.append(
                {
                    "model": model,
                    "K": K,
                    "wb_reward_mix": mix(mine, K),
                    **({"wb_reward_task_macro": macro_at[K]} if macro_at else {}),
                    **{f"vs[{b}]": wb_reward([g for g in mine if g["baseline"] == b], K) for b in names},
                }
            )
    return board, by_k


def group_rewards(
    games: Sequence[dict],
    task_groups_by_id: dict[str, list[str]],
    K: float,
    baselines: Sequence[str] | None = None,
    aggregation: str = "upstream",
) -> list[dict]:
    """Per model and task group: the WB-Reward mixture over baselines on the tasks of that group
    (WildBench's mixture_of_rewards.<group>; a missing baseline counts 0 with ``aggregation="upstream"``)."""
    check_aggregation(aggregation)
    rows = []
    for model in dict.fromkeys(g["model"] for g in games):
        mine = [g for g in games if g["model"] == model]
        names = list(baselines) if baselines is not None else list(dict.fromkeys(g["baseline"] for g in mine))
        for group in GROUPS:
            sub = [g for g in mine if group in task_groups_by_id[g["task"]]]
            if sub:
                rows.append(
                    {
                        "model": model,
                        "group": group,
                        "wb_reward_mix": reward_mixture(
                            {b: wb_reward([g for g in sub if g["baseline"] == b], K) for b in names}, names, aggregation
                        ),
                    }
                )
    return rows


def diverging_limits(*tables: Any) -> tuple[float, float, bool]:
    """(vmin, vmax, no_signal) for a diverging colour map centred at 0 over the finite values of ``tables``:
    symmetric limits +-max|value|, never degenerate (+-1 when every value is 0 or missing); ``no_signal``
    is True when there is no finite non-zero value (all zero or all missing)."""
    vals = np.concatenate([np.asarray(t, dtype=float).ravel() for t in tables]) if tables else np.zeros(0)
    vals = vals[np.isfinite(vals)]
    top = float(np.abs(vals).max()) if len(vals) else 0.0
    return (-top, top, False) if top > 0 else (-1.0, 1.0, True)
