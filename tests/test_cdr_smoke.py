"""Smoke run of notebooks/05_cdr.ipynb on the quick profile with tiny sizes."""

from pathlib import Path

import pytest

from helpers.core.params import PARAMS_DIR
from helpers.core.store import read_json

pytestmark = pytest.mark.slow


def test_05_cdr_smoke(tmp_path):
    from helpers.core.run import run_notebook

    overrides = [
        "per_subset=1",
        'derived_zoo=["random", "dpo-offline", "simpo"]',
        "offline_pairs_per_subset=1",
        "gap_per_subset=3",
        'default_pair=["smollm2-135m-instruct", "random"]',
        "custom_per_subset=1",
        "onpolicy_prompts=2",
        "onpolicy_samples=2",
        "onpolicy_max_tokens=8",
        "train_steps=1",
        "train_batch_size=1",
    ]
    run_dir = run_notebook(
        "05_cdr",
        files=[str(Path(PARAMS_DIR) / "05_cdr" / "quick.yaml")],
        overrides=overrides,
        outputs=tmp_path,
        progress=False,
    )
    m = read_json(run_dir / "metrics.json")
    assert m["n_examples"] == 8 and m["n_pairs"] + m["pairs_tied"] == 6  # 4 models -> 6 unordered pairs
    assert 0 <= m["ratio_headline"] <= 100
    lo, hi = m["ratio_headline_ci"]
    assert lo <= m["ratio_headline"] <= hi
    assert set(m["section_ci"]) == {"Chat", "Chat Hard", "Safety", "Reasoning"}
    assert m["pairs_per_s"] is None or m["pairs_per_s"] > 0
    assert 0 <= m["router_accuracy"] <= 1
    assert set(m["customisation"]) == {"plain", "criteria + exemplar"}  # custom_criteria_only is off in quick
    assert all(k in m for k in m["headline"])
    assert 0 <= m["strong_alone_mean_headline"] <= 100
    comp = m["default_pair_comparison"]  # the ratio vs its strong and weak members alone, on the same examples
    assert comp["ratio"] == pytest.approx(m["ratio_headline"]) and comp["strong"] == pytest.approx(
        m["strong_alone_mean_headline"]
    )
    assert comp["ratio_minus_weak"] == pytest.approx(comp["ratio"] - comp["weak"])
    assert m["finding"] in m["findings"] or not m["reward_reliable"]
    assert (run_dir / "figures" / "gap_vs_accuracy.png").exists()
    import pandas as pd

    sweep = pd.read_csv(run_dir / "data" / "pair_sweep.csv")  # the headline numbers, recomputed from the stored table
    assert len(sweep) == m["n_pairs"] and (sweep.gap > 0).all()
    assert list(sweep.gap) == sorted(sweep.gap, reverse=True) and "gap_ties" in sweep  # largest gap first, ties counted
    rated = sweep[~sweep.reward_degenerate.astype(bool)]  # a degenerate reward's headline is left out
    assert len(rated) == m["pairs_rated"] and m["pairs_reward_degenerate"] == len(sweep) - len(rated)
    if m["gap_accuracy_pearson"] is not None:
        from helpers.core.stats import correlation_ci

        assert abs(correlation_ci(rated.gap, rated.headline)["pearson"] - m["gap_accuracy_pearson"]) < 1e-9
    assert 0 <= m["ratio_tied_share"] <= 1 and set(m["customisation_tied_share"]) == set(m["customisation"])
    assert m["reward_reliable"] == (m["ratio_tied_share"] < 0.9)
    assert m["ratio_headline_reported"].startswith("n/a: reward degenerate") != m["reward_reliable"]
    assert m["signal"] and m["finding"]
    if m["onpolicy_pairs"]:
        from datasets import load_from_disk

        ds = load_from_disk(str(run_dir / "data" / "onpolicy_preferences"))
        assert ds.column_names == ["prompt", "chosen", "rejected"] and len(ds) == m["onpolicy_pairs"]
