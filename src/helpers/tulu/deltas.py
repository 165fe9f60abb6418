"""The paper's cells: deltas vs the SFT start with CIs, and the paired difference of two configurations.

A cell is the mean over seeds and evaluation prompts of (correct now - correct for the SFT policy), with a
95% percentile bootstrap CI (``helpers.core.stats.bootstrap_ci``) that resamples prompts and, inside each
round, seeds: both the prompt sample and the training randomness are in the interval. The average column
is the unweighted mean of the category columns (the paper's "average").
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.stats import bootstrap_ci, resample_once
from .grid import Row

DECIMALS = 9  # values equal to this many places are equal (summation-order noise is no order)


def tops(values: dict[str, float], lowest: bool = False) -> list[str]:
    """Every key holding the largest (``lowest``: smallest) value, in name order: a tie names all its members."""
    if not values:
        return []
    best = (min if lowest else max)(round(v, DECIMALS) for v in values.values())
    return sorted(k for k, v in values.items() if round(v, DECIMALS) == best)


def delta_matrix(row: Row, results: dict, sft: Sequence[dict], seeds: Sequence[int]) -> tuple[np.ndarray, list[str]]:
    """[seeds, prompts] of correct(row, seed, prompt) - correct(SFT, prompt), and each prompt's category."""
    base = {r["id"]: float(r["correct"]) for r in sft}
    ids = [r["id"] for r in sft]
    mat = []
    for s in seeds:
        got = {r["id"]: float(r["correct"]) for r in results[(row.slug, s)].records}
        mat.append([got[i] - base[i] for i in ids])
    return np.asarray(mat), [r["category"] for r in sft]


def _stat(values: np.ndarray, cats: np.ndarray, categories: Sequence[str] | None, rng: random.Random):
    """The bootstrap statistic: resample seeds, then the mean (per category, averaged, when ``categories``)."""

    def stat(idx: list[int]) -> float:
        seeds = resample_once(values.shape[0], rng)
        sub, sub_cats = values[np.ix_(seeds, idx)], cats[idx]
        if not categories:
            return float(sub.mean())
        means = [sub[:, sub_cats == c].mean() for c in categories if (sub_cats == c).any()]
        return float(np.mean(means)) if means else float("nan")

    return stat


def mean_ci(
    values: np.ndarray, cats: Sequence[str], categories: Sequence[str] | None = None, rounds: int = 1000, seed: int = 0
) -> tuple[float, float, float]:
    """(point, low, high): the mean of ``values`` [seeds, prompts] (or the mean of per-category means) with a
    two-level percentile bootstrap CI over prompts and seeds."""
    cats = np.asarray(cats)
    if categories:  # the point estimate uses every seed and prompt
        point = float(np.mean([values[:, cats == c].mean() for c in categories if (cats == c).any()]))
    else:
        point = float(values.mean())
    lo, hi = bootstrap_ci(
        list(range(values.shape[1])), _stat(values, cats, categories, random.Random(seed)), rounds=rounds, seed=seed
    )
    return point, lo, hi


def cell(values: np.ndarray, cats: Sequence[str], column: str, categories: Sequence[str], rounds: int) -> dict:
    if column == "average":
        d, lo, hi = mean_ci(values, cats, categories, rounds)
    else:
        mask = np.asarray(cats) == column
        d, lo, hi = mean_ci(values[:, mask], [column] * int(mask.sum()), None, rounds)
    return {"delta": d, "low": lo, "high": hi}


def delta_table(
    rows: Sequence[Row],
    results: dict,
    sft: Sequence[dict],
    categories: Sequence[str],
    seeds: Sequence[int],
    rounds: int = 1000,
) -> list[dict[str, Any]]:
    """One record per (row, column): aspect, configuration, column, delta, low, high; columns = categories + average."""
    out = []
    for row in rows:
        values, cats = delta_matrix(row, results, sft, seeds)
        for column in [*categories, "average"]:
            out.append(
                {
                    "aspect": row.aspect,
                    "configuration": row.label,
                    "reference": row.reference,
                    "slug": row.slug,
                    "column": column,
                    **cell(values, cats, column, categories, rounds),
                }
            )
    return out


def format_cell(d: float, lo: float, hi: float) -> str:
    return f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def wide(table: Sequence[dict]) -> Any:
    """The paper's layout: rows = configurations (grouped by aspect), columns = categories + average."""
    import pandas as pd

    df = pd.DataFrame(table)
    df["cell"] = [format_cell(d, lo, hi) for d, lo, hi in zip(df.delta, df.low, df.high)]
    order = list(dict.fromkeys(df.column))
    out = df.pivot_table(
        index=["aspect", "configuration"], columns="column", values="cell", aggfunc="first", sort=False
    )
    return out[order]


def difference(
    a: Row,
    b: Row,
    results: dict,
    sft: Sequence[dict],
    categories: Sequence[str],
    seeds: Sequence[int],
    rounds: int = 1000,
) -> dict[str, dict]:
    """Row ``a`` minus row ``b`` per column (paired by seed and prompt), with CIs."""
    va, cats = delta_matrix(a, results, sft, seeds)
    vb, _ = delta_matrix(b, results, sft, seeds)
    return {c: cell(va - vb, cats, c, categories, rounds) for c in [*categories, "average"]}
