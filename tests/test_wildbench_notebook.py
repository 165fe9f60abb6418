"""The helpers behind notebooks/02_wildbench.py's cells: precheck, contestants, leaderboard, reliability, the one
judge verdict, metrics and figures (issue #23: cells tell the story, helpers hold the logic)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.core.notebook import engine_settings  # noqa: E402
from helpers.evaluation import wildbench as wb  # noqa: E402
from helpers.evaluation.wildbench import plots as wbp  # noqa: E402

PARAMS = {
    "models": ["m-a"],
    "model_variants": ["m-a; name: hot; temperature: 1.0"],
    "optional_checkpoints": [],
    "baselines": ["m-a", "hot"],
}


def test_precheck_accepts_contestant_baselines_and_names_the_parameter_otherwise():
    wb.check_params(PARAMS)
    with pytest.raises(ValueError, match="parameter 'baselines'"):
        wb.check_params({**PARAMS, "baselines": ["m-a", "cold"]})
    with pytest.raises(ValueError, match="parameter 'baselines'"):
        wb.check_params({**PARAMS, "baselines": []})
    with pytest.raises(ValueError, match="parameter 'model_variants': contestant names must be unique"):
        wb.check_params({**PARAMS, "model_variants": ["m-a; temperature: 1.0"]})


def test_a_missing_optional_checkpoint_is_a_note_not_a_contestant(tmp_path):
    contestants, notes = wb.contestants_from(["m-a"], [], [str(tmp_path / "nothing-here")])
    assert [c.name for c in contestants] == ["m-a"]
    assert len(notes) == 1 and notes[0].startswith("note: optional checkpoint") and "skipped" in notes[0]


def test_the_judges_model_is_answered_last():
    cs = [wb.parse_contestant(s) for s in ("judge", "other", "judge; name: j2", "zzz")]
    assert [c.name for c in wb.answer_order(cs, "judge")][-2:] in (["judge", "j2"], ["j2", "judge"])


BASE = {"judge": "j", "score_parse_failure_rate": 0.0, "reward_parse_failure_rate": 0.0, "top_score_share": 0.3}


@pytest.mark.parametrize("tie_share, reliable", [(0.85, True), (0.9, False), (0.95, False)])
def test_one_function_decides_the_judge_verdict_for_the_cell_and_the_findings(tie_share, reliable):
    m = {**BASE, "tie_share": tie_share}
    ok, reason = wb.judge_check(m)
    assert ok is reliable
    assert wb.findings(m)["judge_reliable"] is ok  # the findings use the same decision
    line = wb.judge_verdict(m)
    assert line.startswith("VERDICT:") and reason in line
    assert ("degenerate" in line) is (not reliable)


def test_judge_verdict_counts_parse_failures_over_half():
    assert not wb.judge_check({**BASE, "tie_share": 0.1, "reward_parse_failure_rate": 0.6})[0]
    assert wb.judge_check({**BASE, "tie_share": 0.1, "reward_parse_failure_rate": 0.5})[0]


def _tables():
    score_table = pd.DataFrame(
        [
            {
                "model": "a",
                "wb_score": 10.0,
                "wb_score_lo": 5.0,
                "wb_score_hi": 15.0,
                "wb_score_plain_mean": 9.0,
                **{f"score[{g}]": 1.0 for g in wb.GROUPS},
            },
            {
                "model": "b",
                "wb_score": 30.0,
                "wb_score_lo": 25.0,
                "wb_score_hi": 35.0,
                "wb_score_plain_mean": 29.0,
                **{f"score[{g}]": -2.0 for g in wb.GROUPS},
            },
        ]
    )
    reward_table = pd.DataFrame(
        [
            {
                "model": m,
                "wb_reward_task_macro": v,
                "wb_reward_task_macro_lo": v - 1,
                "wb_reward_task_macro_hi": v + 1,
                "wb_reward_mix": v,
                "wb_reward_lo": v - 2,
                "wb_reward_hi": v + 2,
            }
            for m, v in (("a", 0.0), ("b", 5.0))
        ]
    )
    lengths = pd.DataFrame([{"model": "a", "mean_chars": 10.0}, {"model": "b", "mean_chars": 20.0}])
    return score_table, reward_table, lengths


def test_leaderboard_is_best_first_with_k_and_aggregation():
    board = wb.leaderboard(*_tables(), K=500, aggregation="upstream")
    assert list(board.model) == ["b", "a"] and set(board.K) == {500} and set(board.aggregation) == {"upstream"}
    assert list(board.mean_chars) == [20.0, 10.0] and "ties" in board


GAMES = [  # (model, baseline, task) judged in both orders once: the same slot (A) wins both times
    {"model": "a", "baseline": "b", "task": "t1", "model_is_a": True, "auto_reward": None, "label": "A+"},
    {"model": "a", "baseline": "b", "task": "t1", "model_is_a": False, "auto_reward": None, "label": "A+"},
    {"model": "a", "baseline": "b", "task": "t2", "model_is_a": True, "auto_reward": None, "label": "A=B"},
    {"model": "a", "baseline": "b", "task": "t3", "model_is_a": True, "auto_reward": -1.0, "label": None},
    {
        "model": "a",
        "baseline": "b",
        "task": "t4",
        "model_is_a": True,
        "auto_reward": None,
        "label": None,
        "raw": "no label here",
    },
]


def test_reliability_checks_from_games_and_scores():
    assert wb.swapped_pairs(GAMES) == [("A+", "A+")]
    score_df, fail = wb.score_frame(
        [
            {"id": "1", "model": "a", "task": "t1", "score": 7.0, "auto": False, "raw": "x"},
            {"id": "2", "model": "a", "task": "t2", "score": 7.0, "auto": False, "raw": "y"},
            {"id": "3", "model": "a", "task": "t3", "score": None, "auto": False, "raw": "z"},
            {"id": "4", "model": "b", "task": "t1", "score": 1.0, "auto": True, "raw": ""},
        ]
    )
    assert fail == pytest.approx(1 / 3)
    board = wb.leaderboard(*_tables(), K=500, aggregation="upstream")
    rel, table = wb.reliability_checks(GAMES, score_df, board, fail, 0.25)
    assert rel["tie_share"] == pytest.approx(1 / 3)  # A=B among the three parsed judged labels
    assert rel["top_score_share"] == 1.0 and rel["position"]["pairs"] == 1
    assert (
        rel["position"]["same_slot_rate"] == 1.0 and rel["kendall_tau"] is None
    )  # two models: too few for a rank correlation
    assert table.set_index("check").loc["distinct 1-10 scores used", "value"] == 1
    assert wb.reward_parse_failure_rate([g for g in GAMES if g["auto_reward"] is None]) == 0.25
    assert math.isnan(wb.reward_parse_failure_rate([]))
    assert wb.unparsed_examples([{"score": None, "auto": False, "raw": "s"}], GAMES) == ["s", "no label here"]


def test_run_metrics_hold_the_findings_and_hide_consistency_for_a_degenerate_judge():
    score_df, _ = wb.score_frame([{"id": "1", "model": "a", "task": "t1", "score": 7.0, "auto": False, "raw": "x"}])
    board = wb.leaderboard(*_tables(), K=500, aggregation="upstream")
    rel, _ = wb.reliability_checks(GAMES, score_df, board, 0.0, 0.25)  # one score value only: degenerate judge
    counts = {
        "judge": "j",
        "score_parse_failure_rate": 0.0,
        "reward_parse_failure_rate": 0.25,
        "score_endpoint_errors": 0,
        "reward_endpoint_errors": 2,
        "tasks_skipped_malformed": 0,
    }
    m = wb.run_metrics(board, rel, counts, {"malformed_store_lines": 0, "records_to_retry": 0})
    assert m["judge_reliable"] is False and m["position_consistency"] is None
    assert m["position_consistency_raw"] == rel["position"]["consistent_rate"]
    assert m["best_by_wb_score"].startswith("n/a: judge degenerate") and set(m["headline"]) <= set(m)
    assert m["wb_score"] == {"b": 30.0, "a": 10.0} and any("WB-Reward endpoint errors 2" in f for f in m["findings"])


def test_figures_and_their_captions_follow_the_data():
    score_table, reward_table, lengths = _tables()
    board = wb.leaderboard(score_table, reward_table, lengths, K=500, aggregation="upstream")
    fig, cap = wbp.leaderboard_figure(board, 500, ["a"], "upstream", 8)
    assert "2 of 2 models have a valid WB-Score" in cap and len(fig.axes) == 2
    k_table = pd.DataFrame([{"model": "a", "K": k, "wb_reward_mix": v} for k, v in ((-1, 1.0), (500, -3.0))])
    assert "span -3.0 to 1.0" in wbp.k_sensitivity_figure(k_table, ["a"], ["b"])[1]
    empty = k_table.assign(wb_reward_mix=float("nan"))
    assert "nothing (no valid judgement)" in wbp.k_sensitivity_figure(empty, ["a"], ["b"])[1]
    group_reward = pd.DataFrame(0.0, index=["a", "b"], columns=list(wb.GROUPS))
    cap = wbp.task_groups_figure(score_table, group_reward, ["b", "a"], 500, ["a"])[1]
    assert "WB-Reward (x100): no signal: every value is 0." in cap
    assert "no valid score" in wbp.judge_scores_figure(pd.Series([], dtype=float), float("nan"))[1]
    assert "2 distinct scores" in wbp.judge_scores_figure(pd.Series([3.0, 3.0, 7.0]), 2 / 3)[1]


def test_engine_settings_take_only_the_engine_params():
    assert engine_settings({"torch_threads": 2, "max_model_len": 0, "seed": 1}) == {
        "torch_threads": 2,
        "max_model_len": 0,
    }
