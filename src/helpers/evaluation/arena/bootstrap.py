"""Bootstrap intervals of the ratings: upstream (strong verdicts expanded before resampling) or weighted."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...core.stats import percentile_interval, rank_with_ties, resample_counts
from .bradley_terry import fit_bradley_terry, fit_prepared, prepare_battles, win_rate_vs_baseline

# --------------------------------------------------------------------------- bootstrap
BOOTSTRAP_METHODS = ("upstream", "weighted")
# The interval level each method reports by default: Arena-Hard v2 prints 5th/95th percentiles.
DEFAULT_LEVEL = {"upstream": 0.90, "weighted": 0.95}


def expand_strong(battles: pd.DataFrame) -> pd.DataFrame:
    """Upstream's battle rows: a battle of weight w (1 or 3) becomes w identical rows of weight 1."""
    w = battles["weight"].to_numpy(float)
    copies = np.rint(w).astype(int)
    if len(w) and (not np.allclose(copies, w) or (copies < 0).any()):
        raise ValueError("upstream expansion needs whole, non-negative battle weights (1 or 3)")
    out = battles.loc[battles.index.repeat(copies)].reset_index(drop=True)
    out["weight"] = 1.0
    return out


def _pair_strata(battles: pd.DataFrame) -> np.ndarray:
    """One stratum per unordered pair of models (per contestant when every battle is against the baseline)."""
    keys = ["\x00".join(sorted(p)) for p in zip(battles["model_a"].astype(str), battles["model_b"].astype(str))]
    return pd.factorize(pd.Series(keys, dtype=object))[0]


def bootstrap_weights(
    battles: pd.DataFrame,
    rng: np.random.Generator,
    method: str = "upstream",
    unit: str = "battle",
    stratify: bool = True,
    strata: np.ndarray | None = None,
) -> np.ndarray:
    """One bootstrap round as per-battle multipliers of the battles' own weights.

    ``method="upstream"``: each battle of weight w counts as w unit rows (``expand_strong``); rows are
    drawn with replacement, within each pair of models when ``stratify`` (Arena-Hard v2's
    ``groupby("model").sample(frac=1, replace=True)``) or over all rows otherwise; the result is the
    number of drawn copies of each battle divided by its weight (so weight x multiplier = copies drawn).
    ``method="weighted"``: the weighted battle (``unit="battle"``) or the prompt with all its games
    (``unit="prompt"``) is the resampling unit; the multiplier is how often it was drawn. ``strata``: the battles'
    ``_pair_strata``, when the caller computed them once for many rounds. The draws are ``core.stats``'
    ``resample_counts`` from ``rng``.
    """
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"bootstrap method must be one of {', '.join(BOOTSTRAP_METHODS)}, got {method!r}")
    n = len(battles)
    if method == "weighted":
        if unit not in ("battle", "prompt"):
            raise ValueError(f"unit must be 'battle' or 'prompt', got {unit!r}")
        groups = np.arange(n) if unit == "battle" else pd.factorize(battles["prompt_id"])[0]
        n_groups = groups.max() + 1 if n else 0
        return resample_counts(n_groups, 1, rng)[0][groups]
    w = battles["weight"].to_numpy(float)
    copies = np.rint(w).astype(int)
    if n and (not np.allclose(copies, w) or (copies < 0).any()):
        raise ValueError("upstream resampling needs whole, non-negative battle weights (1 or 3)")
    owner = np.repeat(np.arange(n), copies)  # expanded row -> its battle
    strata = (
        np.repeat(_pair_strata(battles) if strata is None else strata, copies)
        if stratify
        else np.zeros(len(owner), dtype=int)
    )
    drawn = np.zeros(len(owner))
    for s in range(strata.max() + 1 if len(strata) else 0):
        rows = np.flatnonzero(strata == s)
        drawn[rows] = resample_counts(len(rows), 1, rng)[0]
    per_battle = np.bincount(owner, weights=drawn, minlength=n)
    return np.divide(per_battle, w, out=np.zeros(n), where=w > 0)


def bootstrap_ratings(
    battles: pd.DataFrame,
    baseline: str,
    rounds: int = 100,
    seed: int = 0,
    unit: str = "battle",
    style: np.ndarray | None = None,
    l2: float = 0.0,
    method: str = "upstream",
    stratify: bool | None = None,
) -> pd.DataFrame:
    """Ratings refitted on ``rounds`` resamples with replacement; one row per round, one column per model.

    ``method="upstream"`` (default): strong verdicts are expanded into 3 battles before resampling
    (see ``bootstrap_weights``); ``stratify`` defaults to True without style control and False with
    it, as Arena-Hard v2 does. ``method="weighted"``: ``unit="battle"`` resamples weighted battle rows,
    ``unit="prompt"`` resamples prompts and keeps each prompt's games together (``unit`` only applies
    to this method). Resampling is done with multinomial counts used as weights, which is the same as
    duplicating the drawn rows.
    """
    if unit not in ("battle", "prompt"):
        raise ValueError(f"unit must be 'battle' or 'prompt', got {unit!r}")
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"bootstrap method must be one of {', '.join(BOOTSTRAP_METHODS)}, got {method!r}")
    stratify = (style is None) if stratify is None else stratify
    rng = np.random.default_rng(seed)
    prep = prepare_battles(battles, baseline, style)
    strata = _pair_strata(battles) if method == "upstream" and stratify else None  # once, not every round
    out = []
    for _ in range(rounds):
        out.append(fit_prepared(prep, bootstrap_weights(battles, rng, method, unit, stratify, strata), l2)["ratings"])
    return pd.DataFrame(out)


def leaderboard(
    battles: pd.DataFrame,
    baseline: str,
    rounds: int = 100,
    seed: int = 0,
    unit: str = "battle",
    style: np.ndarray | None = None,
    l2: float = 0.0,
    level: float | None = None,
    method: str = "upstream",
) -> pd.DataFrame:
    """Rating, bootstrap interval at ``level`` and win rate vs the baseline (with its interval), best first.

    ``level`` defaults to the method's own (``DEFAULT_LEVEL``: 0.90 upstream, 0.95 weighted). The point
    rating is the fit on all battles (v2 prints the bootstrap mean or median instead: the same up to
    Monte Carlo noise). Columns: model, rating, ci_low, ci_high, win_rate, win_rate_low, win_rate_high,
    battles, level, method, ties (how many other models' intervals overlap this one's). Equal ratings are
    ordered by model name, so the order never depends on the battles' row order.
    """
    level = DEFAULT_LEVEL[method] if level is None and method in DEFAULT_LEVEL else level
    if level is None or not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    point = fit_bradley_terry(battles, baseline, style=style, l2=l2)["ratings"]
    boot = bootstrap_ratings(battles, baseline, rounds, seed, unit, style, l2, method=method)
    rows = []
    for m, r in point.items():
        col = boot[m].to_numpy(float) if m in boot else np.array([r])
        lo, hi = percentile_interval(col, level) if np.all(np.isfinite(col)) else (np.nanmin(col), np.nanmax(col))
        n = int(((battles["model_a"] == m) | (battles["model_b"] == m)).sum())
        rows.append(
            {
                "model": m,
                "rating": r,
                "ci_low": lo,
                "ci_high": hi,
                "win_rate": win_rate_vs_baseline(r, point[baseline]),
                "win_rate_low": win_rate_vs_baseline(lo, point[baseline]),
                "win_rate_high": win_rate_vs_baseline(hi, point[baseline]),
                "battles": n,
                "level": level,
                "method": method,
            }
        )
    return rank_with_ties(pd.DataFrame(rows), "rating", low="ci_low", high="ci_high")
