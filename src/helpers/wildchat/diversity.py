"""Diversity and coverage of first prompts across corpora with the offline sentence embedder, and near-duplicate
removal for the cleaned prompt set (``helpers.core.embeddings``).

    div = diversity(emb)                      # mean pairwise cosine distance, bootstrap CI over prompts
    cov = coverage(emb_a, emb_b, tau=0.7)     # share of b's prompts with a neighbour in a at cosine >= tau (Wilson CI)
    keep = near_duplicates(emb, 0.05)         # indices to drop: a closer earlier prompt exists
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.stats import percentile_interval, resample_indices, wilson_interval


def _mean_pairwise_distance(emb: np.ndarray, idx: np.ndarray | None = None) -> float:
    """1 - the mean cosine similarity over pairs of distinct prompts (``idx``: a resample; pairs of the same
    prompt drawn twice are left out, so resampling does not shrink the distance)."""
    idx = np.arange(len(emb)) if idx is None else idx
    mask = idx[:, None] != idx[None, :]
    if not mask.any():
        return float("nan")
    sims = emb[idx] @ emb[idx].T
    return float(1.0 - sims[mask].mean())


def diversity(emb: np.ndarray, rounds: int = 200, seed: int = 0) -> dict[str, Any]:
    """Mean pairwise cosine distance (1 - cos) of unit embeddings, with a percentile bootstrap CI over prompts."""
    value = _mean_pairwise_distance(emb)
    boots = [
        _mean_pairwise_distance(emb, idx) for idx in resample_indices(len(emb), rounds if len(emb) >= 3 else 0, seed)
    ]
    lo, hi = percentile_interval(boots)  # resamples that drew a single prompt (NaN) are dropped
    return {"n": len(emb), "diversity": value, "diversity_ci": [lo, hi] if lo == lo else [None, None]}


def coverage(a: np.ndarray, b: np.ndarray, tau: float = 0.7) -> dict[str, Any]:
    """How well corpus a covers corpus b: the share of b's prompts whose nearest prompt in a has cosine >= tau."""
    if not len(a) or not len(b):
        return {"covered": 0, "n": len(b), "rate": None, "rate_ci": [None, None]}
    best = (b @ a.T).max(axis=1)
    k = int((best >= tau).sum())
    lo, hi = wilson_interval(k, len(b))
    return {"covered": k, "n": len(b), "rate": k / len(b), "rate_ci": [lo, hi]}


def near_duplicates(emb: np.ndarray, threshold: float = 0.05, k: int = 5) -> list[int]:
    """Rows that have an earlier row within squared L2 ``threshold`` (d = 2 - 2 cos; 0.05: cos > 0.975): the
    later copy is dropped, the first kept."""
    from ..core.embeddings import nearest_neighbors

    if len(emb) < 2:
        return []
    dist, idx = nearest_neighbors(emb, k=min(k, len(emb) - 1))
    return [i for i in range(len(emb)) if any(0 <= j < i and d < threshold for d, j in zip(dist[i], idx[i]))]
