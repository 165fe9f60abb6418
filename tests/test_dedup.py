"""De-duplication: neighbour search and duplicate fields on constructed data and real embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.core.embeddings import duplicate_info, embed, nearest_neighbors


def test_neighbors_on_constructed_vectors():
    e = np.array([[1, 0], [1, 0.01], [0, 1], [-1, 0]], dtype=np.float32)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    dist, idx = nearest_neighbors(e, k=2)
    assert idx[0, 0] == 1 and idx[1, 0] == 0 and idx[2, 0] in (0, 1)
    assert dist[0, 0] == pytest.approx(2 - 2 * float(e[0] @ e[1]), abs=1e-5)
    assert dist[3, 0] == pytest.approx(2.0, abs=1e-4)  # orthogonal to its nearest
    info = duplicate_info(dist, idx, threshold=0.05)
    assert [i["min_similar_index"] for i in info] == [0, 0, 2, 3]
    assert [i["repeat_count"] for i in info] == [1, 1, 0, 0]


def test_single_row_and_empty():
    dist, idx = nearest_neighbors(np.ones((1, 3), dtype=np.float32), k=3)
    info = duplicate_info(dist, idx, 0.05)
    assert info == [{"min_neighbor_distance": None, "repeat_count": 0, "min_similar_index": 0}]
    assert duplicate_info(*nearest_neighbors(np.zeros((0, 3), dtype=np.float32)), 0.05) == []


def test_three_copies_point_to_the_first():
    e = np.tile(np.array([[0.6, 0.8]], dtype=np.float32), (3, 1))
    info = duplicate_info(*nearest_neighbors(e, k=5), threshold=0.05)
    assert [i["min_similar_index"] for i in info] == [0, 0, 0]
    assert [i["repeat_count"] for i in info] == [2, 2, 2]
    assert all(i["min_neighbor_distance"] == pytest.approx(0.0, abs=1e-6) for i in info)


@pytest.mark.slow
def test_real_embeddings_find_near_duplicates():
    texts = [
        "How do I bake sourdough bread at home?",
        "Write a Python function that reverses a linked list.",
        "How do I bake sourdough bread at home ?",
        "What is the capital city of Australia?",
        "how do i bake sourdough bread at home?",
    ]
    emb = embed(texts)
    assert emb.shape == (5, 384) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)
    info = duplicate_info(*nearest_neighbors(emb, k=3), threshold=0.05)
    assert [i["min_similar_index"] for i in info] == [0, 1, 0, 3, 0]
    assert info[1]["min_neighbor_distance"] > 0.5  # unrelated texts are far apart
    assert embed([]).shape == (0, 384)
