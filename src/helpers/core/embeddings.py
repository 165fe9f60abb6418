"""Sentence embeddings and nearest-neighbour de-duplication (generic: any list of texts).

    emb = embed(texts)                                # unit-normalised float32, offline MiniLM by default
    dist, idx = nearest_neighbors(emb, k=5)           # squared L2 to the k nearest *other* rows
    info = duplicate_info(dist, idx, threshold=0.05)  # min_neighbor_distance, repeat_count, min_similar_index

Distances are squared Euclidean distances between unit-normalised embeddings (what a FAISS
``IndexFlatL2`` reports for normalised vectors): ``d = 2 - 2 cos``, 0 for identical texts, 2 for
orthogonal ones. A threshold of 0.05 means cosine similarity above 0.975.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from .models import DEFAULT_EMBEDDER, resolve_embedder


@functools.lru_cache(maxsize=2)
def load_embedder(name: str = DEFAULT_EMBEDDER, device: str = "cpu"):
    """A SentenceTransformer loaded once per process (the offline all-MiniLM-L6-v2 by default)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_embedder(name), device=device)


def embed(
    texts: Sequence[str],
    model: str = DEFAULT_EMBEDDER,
    batch_size: int = 64,
    device: str = "cpu",
    progress: bool = False,
) -> np.ndarray:
    """Unit-normalised embeddings, one row per text (an empty list gives a (0, dim) array)."""
    texts = ["" if t is None else str(t) for t in texts]
    encoder = load_embedder(model, device)
    if not texts:
        dim = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
        return np.zeros((0, dim()), dtype=np.float32)
    emb = encoder.encode(
        texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=progress
    )
    return np.asarray(emb, dtype=np.float32)


def nearest_neighbors(emb: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Squared L2 distances and indices of the ``k`` nearest other rows, nearest first.

    Uses FAISS when installed (large sets), else scikit-learn's brute-force search. Rows with fewer
    than ``k`` others get ``inf`` distances and index -1 in the missing slots.
    """
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    n = len(emb)
    dist = np.full((n, k), np.inf, dtype=np.float32)
    idx = np.full((n, k), -1, dtype=np.int64)
    if n < 2 or k < 1:
        return dist, idx
    kk = min(k + 1, n)  # +1: each row finds itself
    try:
        import faiss  # type: ignore

        index = faiss.IndexFlatL2(emb.shape[1])
        index.add(emb)
        d, i = index.search(emb, kk)
    except ImportError:
        from sklearn.neighbors import NearestNeighbors

        nn = NearestNeighbors(n_neighbors=kk, algorithm="brute", metric="euclidean").fit(emb)
        d, i = nn.kneighbors(emb)
        d = d.astype(np.float32) ** 2
    for r in range(n):
        keep = [(dd, ii) for dd, ii in zip(d[r], i[r]) if ii != r and ii >= 0][:k]
        for c, (dd, ii) in enumerate(keep):
            dist[r, c] = max(float(dd), 0.0)
            idx[r, c] = ii
    return dist, idx


def duplicate_info(dist: np.ndarray, idx: np.ndarray, threshold: float) -> list[dict]:
    """Per row: ``min_neighbor_distance`` (to the nearest other row, None if alone), ``repeat_count``
    (neighbours among the k searched closer than ``threshold``) and ``min_similar_index`` (the
    smallest index among the row and those neighbours: the earliest copy, the one to keep)."""
    out = []
    for r in range(len(dist)):
        close = [int(j) for d, j in zip(dist[r], idx[r]) if j >= 0 and d < threshold]
        nearest = float(dist[r, 0]) if len(dist[r]) and np.isfinite(dist[r, 0]) else None
        out.append(
            {"min_neighbor_distance": nearest, "repeat_count": len(close), "min_similar_index": min([r] + close)}
        )
    return out
