"""Runs notebooks/02_wildbench.ipynb end to end on tiny random models (answers and judge) with the HF backend.

A random judge produces no parseable judgement: the run must still finish, count the failures and
write its tables; a missing optional checkpoint must be skipped, not crash the run.
"""

import json

import pandas as pd
import pytest

from helpers.core.params import PARAMS_DIR
from helpers.core.run import run_notebook
from helpers.evaluation.wildbench import parse_contestant


@pytest.mark.slow
def test_wildbench_notebook_quick_profile_on_tiny_models(tiny_model_dir, tmp_path):
    base = parse_contestant(tiny_model_dir).name
    overrides = [
        "backend=hf",
        "n_tasks=5",
        "answer_max_tokens=8",
        "judge_max_tokens=8",
        "bootstrap_rounds=20",
        "position_check_tasks=2",
        "sim_tasks=20",
        "sim_repeats=2",
        f"models={json.dumps([tiny_model_dir])}",
        f"model_variants={json.dumps([tiny_model_dir + '; name: tiny-hot; temperature: 1.0; system: Be brief.'])}",
        f"optional_checkpoints={json.dumps(['does/not/exist/checkpoint'])}",
        f"baselines={json.dumps([base, 'tiny-hot'])}",
        f"judge_model={tiny_model_dir}",
    ]
    run_dir = run_notebook(
        "02_wildbench",
        files=[str(PARAMS_DIR / "02_wildbench" / "quick.yaml")],
        overrides=overrides,
        outputs=tmp_path,
        progress=False,
    )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["n_tasks"] == 5 and metrics["n_models"] == 2
    assert set(metrics["wb_score"]) == {base, "tiny-hot"}
    for key in ("score_parse_failure_rate", "reward_parse_failure_rate"):
        rate = metrics[key]
        assert rate is None or 0.0 <= rate <= 1.0  # null (NaN) only when every answer was empty (nothing judged)
    assert metrics["aggregation"] == "upstream" and set(metrics["wb_reward_task_macro"]) == {base, "tiny-hot"}
    # 10 WB-Score judgements + 2 pairs x (5 games + 2 swapped checks), minus those decided without the judge
    assert 0 < metrics["judge_requests_this_run"] <= 10 + 14  # the sampled variant's answers are not empty
    board = pd.read_csv(run_dir / "data" / "leaderboard.csv")
    assert set(board.model) == {base, "tiny-hot"}
    assert {
        "wb_score",
        "wb_score_lo",
        "wb_score_hi",
        "wb_reward_mix",
        "wb_reward_lo",
        "wb_reward_hi",
        "wb_reward_task_macro",
        "wb_reward_task_macro_lo",
        "wb_reward_task_macro_hi",
    } <= set(board.columns)
    k_table = pd.read_csv(run_dir / "data" / "wb_reward_by_K.csv")
    assert sorted(k_table.K.unique()) == [-1, 100, 300, 500, 1000, 1500]
    assert metrics["controlled"]["draws"] == 2 and metrics["controlled_finding"].startswith("Simulated judge")
    assert "checks pass" in metrics["controlled_signal"] and metrics["signal"]  # beside the real judge's own
    for fig in ("leaderboard", "k_sensitivity", "task_groups", "judge_scores", "controlled"):
        assert (run_dir / "figures" / f"{fig}.png").exists()
    assert (run_dir / "report.html").exists()
    # a rerun of the same run folder resumes: every answer and judgement comes from the stores / cache
    run_dir2 = run_notebook(
        "02_wildbench",
        files=[str(PARAMS_DIR / "02_wildbench" / "quick.yaml")],
        overrides=overrides,
        outputs=tmp_path,
        progress=False,
    )
    assert json.loads((run_dir2 / "metrics.json").read_text())["judge_requests_this_run"] == 0
