"""Runs notebooks/03_benchbuilder.ipynb end to end with a tiny random labeler (the real embedder)."""
from __future__ import annotations

import json

import pytest

from helpers.core.params import PARAMS_DIR
from helpers.core.run import run_notebook


@pytest.mark.slow
def test_benchbuilder_notebook_smoke(tmp_path, tiny_model_dir):
    run_dir = run_notebook("03_benchbuilder", files=[str(PARAMS_DIR / "03_benchbuilder" / "quick.yaml")],
                           overrides=[f"labeler_model={tiny_model_dir}", "backend=hf", "max_labels=12", "n_clusters=3",
                                      "min_score=0", "min_cluster_mean=0", "per_cluster=2"],
                           outputs=tmp_path, progress=False)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["prompts_after_filters"] == 12
    assert metrics["labeler_parse_failure_rate"] == 0.0  # yes/no labeler: nothing to parse
    assert metrics["topics"] == 3 and 1 <= metrics["bench_prompts"] <= 6
    bench = [json.loads(l) for l in (run_dir / "data" / "bench_prompts.jsonl").read_text().splitlines()]
    assert len(bench) == metrics["bench_prompts"] and all(b["prompt"] and b["category"] == "benchbuilder" for b in bench)
    assert (run_dir / "figures" / "topics.png").exists() and (run_dir / "report.html").exists()
