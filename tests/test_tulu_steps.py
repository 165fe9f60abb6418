"""The helpers behind notebooks/06_tulu.py's cells: metrics with their findings and the closing notes (issue #23:
cells tell the story, helpers hold the logic). The grid itself runs in the smoke test."""

from __future__ import annotations

import os
import time

import pandas as pd

from helpers.tulu import steps
from helpers.tulu.grid import DataSpec, Row

RANKING = [
    {"aspect": "data", "effect": 0.12, "low": 0.08, "high": 0.16},
    {"aspect": "algorithm", "effect": 0.03, "low": -0.01, "high": 0.07},
    {"aspect": "prompts", "effect": 0.03, "low": 0.0, "high": 0.06},
]
CHECKED = [
    {"finding": "aspect order (data first)", "status": "reproduced", "detail": "x"},
    {"finding": "PPO beats DPO", "status": "not reproduced", "detail": "y", "point_estimate_agrees": True},
]
DPO = Row("algorithm", "DPO", "dpo", DataSpec("on-policy"))
PPO = Row("algorithm", "PPO", "ppo", DataSpec("on-policy"))
TABLE = [
    {
        "configuration": "ref",
        "reference": True,
        "aspect": "data",
        "column": "average",
        "delta": 0.1,
        "low": 0.0,
        "high": 0.2,
    },
    {
        "configuration": "DPO",
        "reference": False,
        "aspect": "algorithm",
        "column": "average",
        "delta": 0.10,
        "low": 0.0,
        "high": 0.2,
    },
    {
        "configuration": "PPO",
        "reference": False,
        "aspect": "algorithm",
        "column": "average",
        "delta": 0.05,
        "low": 0.0,
        "high": 0.1,
    },
]
RM = pd.DataFrame({"reward model": ["rm-a", "rm-a"], "held_out_accuracy": [0.7, 0.8]})


def test_run_metrics_carry_effects_ties_and_the_findings():
    m = steps.run_metrics(
        ranking=RANKING,
        table=TABLE,
        checked=CHECKED,
        rm_table=RM,
        sft_summary=pd.DataFrame({"accuracy": [0.5]}, index=["math"]),
        world="quick",
        policy="toy",
        seeds=[0, 1],
        n_rows=3,
        n_eval_prompts=8,
        started=time.perf_counter(),
    )
    assert m["data_effect"] == 0.12 and m["data_effect_ci"] == [0.08, 0.16] and m["reference_dpo_delta"] == 0.1
    assert m["aspect_order"] == ["data", "algorithm", "prompts"] and m["aspect_ranking_equal_effects"] == 1
    assert m["headline"][:2] == ["data_effect", "algorithm_effect"] and set(m["headline"]) <= set(m)
    assert m["signal"] == "reproduces 1 of 2 paper findings (1 more in the point estimate only)"
    assert m["finding"].startswith("In the quick world the aspects rank data (12.0 points) > algorithm (3.0 points) = ")
    assert m["findings"][0].startswith("aspect order (data first): reproduced (x) Ties:")
    assert m["reward_model_heldout_accuracy"] == {"rm-a": 0.75} and m["sft_accuracy"] == {"math": 0.5}
    no_rm = steps.run_metrics(
        ranking=RANKING,
        table=TABLE,
        checked=[],
        rm_table=pd.DataFrame(),
        sft_summary=pd.DataFrame({"accuracy": []}),
        world="quick",
        policy="toy",
        seeds=[0],
        n_rows=3,
        n_eval_prompts=8,
        started=0.0,
    )
    assert (
        "reward_model_heldout_accuracy" not in no_rm and no_rm["signal"] == "no paper finding testable with these rows"
    )


def test_closing_notes():
    online = steps.online_note([DPO, PPO], TABLE, RM)
    assert online.startswith(" Here PPO trails DPO by 5.0 points on the average; its reward model orders 75%")
    assert steps.online_note([DPO], TABLE, RM) == "" and steps.online_note([DPO, PPO], TABLE, pd.DataFrame()) == ""
    assert "with 2 seeds and 8 evaluation prompts" in steps.quick_note(online, 2, 8) and online in steps.quick_note(
        online, 2, 8
    )
    assert "(3 listed in `data/checkpoints.json`)" in steps.hub_note("", 3, "full-gpu")


def test_checkpoint_links_and_arena_rows(tmp_path):
    links = steps.checkpoint_links(tmp_path, [DPO, PPO], [0])
    assert set(links) == {"DPO (seed 0)", "PPO (seed 0)"} and all(v.startswith(str(tmp_path)) for v in links.values())
    run_dir = tmp_path / "06_tulu" / "full"
    rows, line = steps.arena_rows(run_dir, {})
    assert rows is None and line.startswith("no Arena-Hard leaderboard at")
    board = tmp_path / "04_arena_hard" / "full" / "data" / "leaderboard.csv"
    board.parent.mkdir(parents=True)
    pd.DataFrame({"model": ["dpo-s0", "other"], "win_rate": [0.6, 0.5]}).to_csv(board, index=False)
    rows, line = steps.arena_rows(run_dir, {"DPO (seed 0)": os.path.join("x", "dpo-s0")})
    assert list(rows.index) == ["DPO (seed 0)"] and line.startswith("1 Tulu rows in")
