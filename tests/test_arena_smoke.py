"""Runs notebooks/04_arena_hard.ipynb end to end with tiny random contestants and judge, in both judge modes."""

from __future__ import annotations

import json
import math

import pytest

from helpers.core.params import PARAMS_DIR
from helpers.core.run import run_notebook

_COMMON = [
    "backend=hf",
    "n_prompts=3",
    "answer_max_tokens=8",
    "judge_max_tokens=8",
    "bootstrap_rounds=10",
    "extra_checkpoints=[/nonexistent/ckpt]",
    "sim_prompts=20",
    "sim_repeats=1",
]


@pytest.mark.slow
def test_arena_notebook_smoke_logprob_judge(tmp_path, tiny_model_dir):
    # No 03_benchbuilder run exists under tmp_path: the notebook must fall back to the shipped prompts.
    # quick.yaml's default judge_mode is logprob: every game gets one of the five labels.
    run_dir = run_notebook(
        "04_arena_hard",
        files=[str(PARAMS_DIR / "04_arena_hard" / "quick.yaml")],
        overrides=[f"answer_model={tiny_model_dir}", f"judge_model={tiny_model_dir}", *_COMMON],
        outputs=tmp_path,
        progress=False,
    )
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["prompts_source"] == "builtin:arena_prompts_sample.jsonl"
    assert m["judge_mode"] == "logprob"
    assert m["prompts"] == 3 and m["games"] == 3 * 2 * 2
    assert m["judge_parse_failure_rate"] == 0.0 and m["prompts_kept"] == 3 * 2  # (prompt, contestant) pairs
    assert m["enough_valid_battles"] is True
    assert set(m["win_rates"]) == {"base-greedy", "concise-system", "markdown-system"}
    assert all(0.0 <= v <= 1.0 for v in m["win_rates"].values())
    assert 0.0 <= m["position_bias_rate"] <= 1.0
    (games_file,) = (run_dir / "data").glob("games-*.jsonl")  # the store's name carries its config hash
    games = [json.loads(l) for l in games_file.read_text().splitlines()]
    assert len(games) == 12 and all(g["verdict"] in ("A>>B", "A>B", "A=B", "B>A", "B>>A") for g in games)
    assert all(g["verdict"] == max(g["label_logprobs"], key=g["label_logprobs"].get) for g in games)
    assert (run_dir / "data" / "leaderboard.csv").exists()
    # upstream definitions by default, ours computed beside them on the same battles
    assert m["bootstrap_method"] == "upstream" and m["ci_level"] == 0.9 and m["style_method"] == "upstream"
    assert set(m["win_rate_ci"]) == set(m["win_rates"])
    assert all(
        lo <= m["win_rates"][k] + 1e-9 and m["win_rates"][k] <= hi + 1e-9 for k, (lo, hi) in m["win_rate_ci"].items()
    )
    assert set(m["win_rate_ci_by_bootstrap"]) == {"upstream", "weighted"}
    assert set(m["win_rates_style_controlled_by_method"]) == {"upstream", "symmetric"}
    assert "ci_level" in m["headline"]
    for table in ("bootstrap_upstream_vs_weighted", "style_control_upstream_vs_symmetric"):
        assert (run_dir / "data" / f"{table}.csv").exists()
    assert m["controlled"]["draws"] == 1 and m["controlled_finding"].startswith("Simulated judge")
    assert "checks pass" in m["controlled_signal"] and m["signal"]  # beside the real judge's own
    for fig in ("judge_reliability", "leaderboard", "controlled"):
        assert (run_dir / "figures" / f"{fig}.png").exists()


@pytest.mark.slow
def test_arena_notebook_smoke_generate_counts_unparseable_judge(tmp_path, tiny_model_dir):
    run_dir = run_notebook(
        "04_arena_hard",
        files=[str(PARAMS_DIR / "04_arena_hard" / "quick.yaml")],
        overrides=[f"answer_model={tiny_model_dir}", f"judge_model={tiny_model_dir}", "judge_mode=generate", *_COMMON],
        outputs=tmp_path,
        progress=False,
    )
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["judge_mode"] == "generate" and m["games"] == 3 * 2 * 2
    # A random tiny judge writes no [[..]] verdicts: every prompt is dropped, no ratings are invented.
    assert m["judge_parse_failure_rate"] == 1.0
    assert m["prompts_kept"] == 0 and m["enough_valid_battles"] is False
    # metrics.json is strict JSON: NaN is written as null
    assert (m["separability"] is None or math.isnan(m["separability"])) and m["win_rates"] == {}
    assert m["win_rate_ci"] == {} and m["ci_width_ratio_weighted_over_upstream"] is None
    assert (run_dir / "figures" / "judge_reliability.png").exists()
    assert not (run_dir / "figures" / "leaderboard.png").exists()  # no ratings, no leaderboard figure
