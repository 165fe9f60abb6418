"""Runs notebooks/04_arena_hard.ipynb end to end with tiny random contestants and judge."""
from __future__ import annotations

import json
import math

import pytest

from helpers.params import PARAMS_DIR
from helpers.run import run_notebook


@pytest.mark.slow
def test_arena_notebook_smoke_counts_unparseable_judge(tmp_path, tiny_model_dir):
    # No 03_benchbuilder run exists under tmp_path: the notebook must fall back to the shipped prompts.
    run_dir = run_notebook("04_arena_hard", files=[str(PARAMS_DIR / "04_arena_hard" / "quick.yaml")],
                           overrides=[f"answer_model={tiny_model_dir}", f"judge={tiny_model_dir}", "backend=hf",
                                      "n_prompts=3", "answer_max_tokens=8", "judge_max_tokens=8",
                                      "bootstrap_rounds=10", "extra_checkpoints=[/nonexistent/ckpt]"],
                           outputs=tmp_path, progress=False)
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["prompts_source"] == "builtin:arena_prompts_sample.jsonl"
    assert m["prompts"] == 3 and m["games"] == 3 * 2 * 2
    # A random tiny judge writes no [[..]] verdicts: every prompt is dropped, no ratings are invented.
    assert m["judge_parse_failure_rate"] == 1.0
    assert m["prompts_kept"] == 0 and m["enough_valid_battles"] is False
    assert math.isnan(m["separability"]) and m["win_rates"] == {}
    assert (run_dir / "figures" / "judge_reliability.png").exists()
