"""Runs notebooks/03_benchbuilder.ipynb end to end with a tiny random labeler (the real embedder)."""

from __future__ import annotations

import json

import pytest

from helpers.core.params import PARAMS_DIR
from helpers.core.run import run_notebook


@pytest.mark.slow
def test_benchbuilder_notebook_smoke(tmp_path, tiny_model_dir):
    run_dir = run_notebook(
        "03_benchbuilder",
        files=[str(PARAMS_DIR / "03_benchbuilder" / "quick.yaml")],
        overrides=[
            f"labeler_model={tiny_model_dir}",
            "backend=hf",
            "max_labels=12",
            "n_clusters=3",
            "min_score=0",
            "min_cluster_mean=0",
            "per_cluster=2",
            "sim_repeats=2",
            "sim_prompts=120",
            "sim_topics=8",
            "sim_bootstrap_rounds=20",
        ],
        outputs=tmp_path,
        progress=False,
    )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["prompts_after_filters"] == 12
    assert metrics["labeler_parse_failure_rate"] == 0.0  # yes/no labeler: nothing to parse
    assert metrics["topics"] == 3 and 1 <= metrics["bench_prompts"] <= 6
    bench = [json.loads(l) for l in (run_dir / "data" / "bench_prompts.jsonl").read_text().splitlines()]
    assert len(bench) == metrics["bench_prompts"] and all(
        b["prompt"] and b["category"] == "benchbuilder" for b in bench
    )
    assert (run_dir / "figures" / "topics.png").exists() and (run_dir / "report.html").exists()
    # the controlled setting (simulated labeler, known truth) beside the real one, with its figure and table
    assert metrics["controlled_signal"] and metrics["controlled_finding"] and metrics["signal"]
    assert set(metrics["controlled"]) == {"as set", "noise only"} and metrics["controlled"]["as set"]["worlds"] == 2
    assert (run_dir / "figures" / "controlled_separability.png").exists()
    assert (run_dir / "data" / "controlled_worlds.csv").exists()
