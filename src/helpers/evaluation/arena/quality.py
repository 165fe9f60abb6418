"""Benchmark quality: separability with confidence, agreement with other rankings, reading other judges' tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd


# --------------------------------------------------------------------------- benchmark quality
def separability(board: pd.DataFrame, low: str = "ci_low", high: str = "ci_high") -> dict[str, Any]:
    """Separability with confidence: the share of model pairs whose confidence intervals do not overlap."""
    rows = board[[low, high]].to_numpy(float)
    n = len(rows)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    if not pairs:
        return {"pairs": 0, "separated": 0, "separability": float("nan")}
    sep = sum(rows[i, 1] < rows[j, 0] or rows[j, 1] < rows[i, 0] for i, j in pairs)
    return {"pairs": len(pairs), "separated": int(sep), "separability": sep / len(pairs)}


def agreement_with_confidence(board: pd.DataFrame, reference: dict[str, float]) -> dict[str, Any]:
    """Among pairs the benchmark separates with confidence, the share ordered as in ``reference``.

    (Arena-Hard's "agreement with confidence" against a human ranking, without its tie penalty.)
    """
    b = board[board["model"].isin(reference)].reset_index(drop=True)
    agree = total = 0
    for i in range(len(b)):
        for j in range(i + 1, len(b)):
            ri, rj = b.loc[i], b.loc[j]
            if ri.ci_high < rj.ci_low or rj.ci_high < ri.ci_low:
                total += 1
                agree += (ri.rating > rj.rating) == (reference[ri.model] > reference[rj.model])
    return {"separated_pairs": total, "agreement": agree / total if total else float("nan")}


# --------------------------------------------------------------------------- other judges' rankings
_CI_SUFFIXES = ("_lo", "_hi", "_low", "_high", "_ci_low", "_ci_high", "_se", "_std")


class ModelTables(dict):
    """``{"<file>:<column>": {model: value}}`` plus ``unreadable``: ``{file: error}`` for tables that exist but
    could not be read (counted and shown by the notebook, never skipped in silence)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unreadable: dict[str, str] = {}


def read_model_tables(folder: str | Path, files: Sequence[str] = ("leaderboard.csv",)) -> ModelTables:
    """Per-model scores from another run's leaderboard table(s) (e.g. 02_wildbench's data/leaderboard.csv).

    Only the named ``files`` are read (not per-K or per-group tables). A table with a ``model``
    column contributes its numeric columns whose names mention score or reward, except interval
    bounds and spreads (``*_lo``, ``*_hi``, ``*_low``, ``*_high``, ``*_se``, ``*_std``), as
    ``{"<file>:<column>": {model: value}}``. Absent folder or files -> {}. A table that exists but cannot be
    parsed, or has no ``model`` column, is named in ``.unreadable`` with the reason.
    """
    folder = Path(folder)
    out = ModelTables()
    for name in files:
        path = folder / name
        if not path.is_file():
            continue
        try:
            df = pd.read_csv(path)
        except Exception as exc:  # not fatal for the Arena run, but counted and shown
            out.unreadable[name] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            continue
        if "model" not in df.columns:
            out.unreadable[name] = f"no 'model' column (columns: {', '.join(map(str, df.columns))[:200]})"
            continue
        for col in df.columns:
            low = col.lower()
            if col == "model" or low.endswith(_CI_SUFFIXES) or not ("score" in low or "reward" in low):
                continue
            if pd.api.types.is_numeric_dtype(df[col]):
                vals = df.groupby("model")[col].mean().dropna()
                if len(vals):
                    out[f"{path.stem}:{col}"] = {str(k): float(v) for k, v in vals.items()}
    return out


def model_name_overlap(ours: Iterable[str], theirs: Iterable[str]) -> dict[str, list[str]]:
    """Which model names two rankings share (exact names), and which appear in only one of them."""
    a, b = set(map(str, ours)), set(map(str, theirs))
    return {"shared": sorted(a & b), "only_ours": sorted(a - b), "only_theirs": sorted(b - a)}
