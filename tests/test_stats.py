"""The bootstrap section of helpers.core.stats: one draw for every resampling, and how it relates to scipy's."""

import math

import numpy as np
import pytest
from scipy.stats import bootstrap

from helpers.core.stats import (
    bootstrap_ci,
    paired_by_id,
    percentile_interval,
    resample_counts,
    resample_indices,
    resample_successes,
)


@pytest.mark.parametrize("level", [0.9, 0.95])
def test_resample_indices_is_scipys_draw_and_interval(level):
    x = np.random.default_rng(1).normal(size=23)
    rounds = x[resample_indices(len(x), 200, 4)].mean(axis=1)
    res = bootstrap((x,), np.mean, n_resamples=200, method="percentile", confidence_level=level, rng=4)
    assert np.array_equal(rounds, res.bootstrap_distribution)  # the same resamples, in the same order
    ci = res.confidence_interval  # scipy's quantile arithmetic differs from numpy's percentile in the last bit
    assert percentile_interval(rounds, level) == pytest.approx((ci.low, ci.high), rel=1e-12)


def test_a_shared_generator_continues_its_stream():
    rng = np.random.default_rng(7)
    a, b = resample_indices(5, 3, rng), resample_indices(5, 3, rng)
    assert np.array_equal(np.vstack([a, b]), resample_indices(5, 6, 7))  # two draws in a row = one longer draw
    assert a.shape == (3, 5) and a.min() >= 0 and a.max() < 5


def test_counts_and_successes_are_resamples():
    c = resample_counts(6, 50, 0)
    assert c.shape == (50, 6) and (c.sum(axis=1) == 6).all() and c.dtype == float
    s = resample_successes(3, 10, 2000, 0)
    assert s.min() >= 0 and s.max() <= 10 and abs(s.mean() - 3) < 0.2
    assert (resample_successes(10, 10, 5, 0) == 10).all() and (resample_successes(0, 10, 5, 0) == 0).all()


def test_percentile_interval_drops_non_finite_values():
    assert percentile_interval([1.0, 2.0, 3.0, float("nan"), float("inf")], 0.5) == (1.5, 2.5)
    assert all(math.isnan(v) for v in percentile_interval([float("nan")]))
    assert all(math.isnan(v) for v in percentile_interval([]))


def test_bootstrap_ci_and_paired_by_id():
    xs = [0.0, 1.0, 2.0, 3.0, 10.0]
    lo, hi = bootstrap_ci(xs, lambda v: sum(v) / len(v), rounds=300, seed=2)
    assert lo < 3.2 < hi and bootstrap_ci(xs, lambda v: sum(v) / len(v), rounds=300, seed=2) == (lo, hi)
    d = paired_by_id({"a": 2.0, "b": 3.0, "c": 9.0}, {"b": 1.0, "a": 1.0}, rounds=100)
    assert d["n"] == 2 and d["mean"] == 1.5 and d["ci"][0] <= 1.5 <= d["ci"][1]
    assert paired_by_id({"a": 1.0}, {"b": 1.0}) == {"mean": None, "ci": [None, None], "n": 0}
