"""The helpers behind notebooks/04_arena_hard.py's cells: prompt source, answer variants, games, the judge stage,
ratings bookkeeping, WildBench agreement, metrics and figures (issue #23: cells tell the story)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.evaluation import arena  # noqa: E402
from helpers.evaluation.arena import plots as arena_plots  # noqa: E402
from helpers.evaluation.arena.quality import ModelTables  # noqa: E402


def test_prompts_source_falls_back_with_a_note_or_fails_without_a_fallback(tmp_path):
    run_dir = tmp_path / "04_arena_hard" / "quick"
    assert arena.prompts_source(run_dir, "builtin:x.jsonl") == ("builtin:x.jsonl", None)
    source, note = arena.prompts_source(run_dir, "run:03_benchbuilder", "builtin:fallback.jsonl")
    assert source == "builtin:fallback.jsonl" and note.startswith("NOTE:") and "missing or empty" in note
    with pytest.raises(FileNotFoundError, match="run 03_benchbuilder with the same run name first"):
        arena.prompts_source(run_dir, "run:03_benchbuilder", "")
    bench = tmp_path / "03_benchbuilder" / "quick" / "data" / "bench_prompts.jsonl"
    bench.parent.mkdir(parents=True)
    bench.write_text('{"id": "1", "prompt": "p"}\n')
    assert arena.prompts_source(run_dir, "run:03_benchbuilder", "builtin:fallback.jsonl") == (str(bench), None)


def test_answer_configs_name_variants_and_skip_missing_checkpoints(tmp_path):
    variants = sorted(arena.ANSWER_VARIANTS)[:2]
    configs, notes = arena.answer_configs("m", variants, [str(tmp_path / "nope")])
    assert list(configs) == variants and all(c["model"] == "m" for c in configs.values())
    assert len(notes) == 1 and notes[0].startswith("skipping extra checkpoint")


def test_precheck_refuses_logprob_mode_for_an_endpoint_judge():
    base = {"baseline": sorted(arena.ANSWER_VARIANTS)[0], "contestants": [], "ci_level": 0.9}
    arena.check_params({**base, "judge_mode": "logprob"})
    arena.check_params({**base, "judge_mode": "generate", "judge_base_url": "http://x"})
    with pytest.raises(ValueError, match="parameter 'judge_mode'"):
        arena.check_params({**base, "judge_mode": "logprob", "judge_base_url": "http://x"})


ANSWERS = {"base": {"p1": {"text": "b1"}, "p2": {"text": "b2"}}, "c": {"p1": {"text": "c1"}, "p2": {"text": "c2"}}}
PROMPTS = [{"id": "p1", "prompt": "q1"}, {"id": "p2", "prompt": "q2"}]


def test_two_games_per_prompt_with_swapped_order_and_distinct_ids():
    items, msgs = arena.game_items(
        {"base": {}, "c": {}}, "base", PROMPTS, ANSWERS, "j", "", "generate", 64, "arena-hard"
    )
    assert [(it["prompt_id"], it["game"]) for it in items] == [("p1", 1), ("p1", 2), ("p2", 1), ("p2", 2)]
    assert len({it["id"] for it in items}) == 4 and set(msgs) == {it["id"] for it in items}
    text = lambda it: " ".join(m["content"] for m in msgs[it["id"]])  # noqa: E731
    assert text(items[0]).index("b1") < text(items[0]).index("c1") and text(items[1]).index("c1") < text(
        items[1]
    ).index("b1")
    logprob_items, _ = arena.game_items(
        {"base": {}, "c": {}}, "base", PROMPTS, ANSWERS, "j", "", "logprob", 64, "arena-hard"
    )
    assert {it["id"] for it in logprob_items}.isdisjoint({it["id"] for it in items})  # the mode is in the key


class FakeJudge:
    requests = 0

    def __init__(self):
        self.last_failed = []

    def complete(self, msgs, desc=""):
        self.requests += len(msgs)
        self.last_failed = [False, True][: len(msgs)]
        return ["My final verdict is [[A>B]]", ""][: len(msgs)]


def test_generate_mode_parses_verdicts_and_marks_endpoint_errors_for_retry():
    from helpers.core.store import RETRY

    made = []
    judge_games, judges = arena.game_judge("generate", {"g1": [], "g2": []}, lambda: made.append(1) or FakeJudge(), "j")
    assert judges == {}  # loaded on first use
    out = judge_games([{"id": "g1"}, {"id": "g2"}])
    assert out[0]["verdict"] == "A>B" and "endpoint_error" not in out[0]
    assert out[1]["verdict"] is None and out[1]["endpoint_error"] and out[1][RETRY]
    judge_games([{"id": "g1"}])
    assert made == [1] and judges["judge"].requests == 3
    gdf, rate = arena.games_frame(
        [
            {"id": "g1", "model": "c", "prompt_id": "p", "game": 1, "verdict": "A>B"},
            {"id": "g2", "model": "c", "prompt_id": "p", "game": 2, "verdict": None},
        ],
        "generate",
    )
    assert rate == 0.5 and "margin" not in gdf


def test_valid_prompts_and_enough_battles():
    battles = pd.DataFrame(
        [
            {"model_a": "base", "model_b": "c", "prompt_id": "p1"},
            {"model_a": "c", "model_b": "base", "prompt_id": "p1"},
            {"model_a": "base", "model_b": "c", "prompt_id": "p2"},
        ]
    )
    valid = arena.valid_prompts(battles, ["c", "d"])
    assert valid == {"c": 2, "d": 0}
    assert not arena.enough_battles(valid, 1) and arena.enough_battles({"c": 2}, 2) and not arena.enough_battles({}, 0)
    assert arena.valid_prompts(battles.iloc[:0], ["c"]) == {"c": 0}


BOARD = pd.DataFrame(
    [
        {"model": "x", "rating": 1100.0, "win_rate": 0.7, "win_rate_low": 0.6, "win_rate_high": 0.8},
        {"model": "y", "rating": 1000.0, "win_rate": 0.5, "win_rate_low": 0.4, "win_rate_high": 0.6},
    ]
)


def test_wildbench_agreement_branches():
    assert arena.wildbench_agreement(BOARD, ModelTables(), "d")[0] == []
    assert "no WildBench per-model tables at d" in arena.wildbench_agreement(BOARD, ModelTables(), "d")[1][0]
    tables = ModelTables({"wb_score": {"z": 1.0}})
    assert arena.wildbench_agreement(None, tables)[0] == []
    rows, lines = arena.wildbench_agreement(BOARD, tables)
    assert rows[0]["wildbench_table"] == "wb_score" and lines[1].startswith("NO MODEL NAMES MATCH")
    rows, lines = arena.wildbench_agreement(BOARD, ModelTables({"wb_score": {"x": 2.0, "y": 1.0}}))
    assert lines[1].startswith("shared models: ['x', 'y']")


COUNTS = {
    "prompts": 2,
    "prompts_source": "s",
    "games": 4,
    "judge_parse_failure_rate": 1.0,
    "judge_mode": "generate",
    "enough_valid_battles": False,
    "bootstrap_method": "upstream",
    "bootstrap_rounds": 10,
    "ci_level": 0.9,
    "style_method": "upstream",
    "judge_requests": {"judge": 4},
    "judge_endpoint_errors": 1,
}
CONSISTENCY = {
    "pairs_with_both_verdicts": 0,
    "consistent_rate": float("nan"),
    "first_position_bias": float("nan"),
    "second_position_bias": float("nan"),
    "position_bias_rate": float("nan"),
}


def test_run_metrics_without_ratings_report_no_ranking_and_count_fallbacks():
    m = arena.run_metrics(
        COUNTS,
        CONSISTENCY,
        {"prompts_kept": 0, "prompts_dropped": 2},
        {},
        {"pairs": 0, "separated": 0, "separability": float("nan")},
        [],
        ModelTables(),
        {"malformed_store_lines": 0, "records_to_retry": 0},
    )
    assert m["win_rates"] == {} and m["win_rate_ci"] == {} and m["win_rate_ci_by_bootstrap"] == {}
    assert m["ci_width_ratio_weighted_over_upstream"] is None and set(m["headline"]) <= set(m)
    assert m["top_contestant"].startswith("n/a") and any("judge endpoint errors 1" in f for f in m["findings"])


def test_reliability_figure_caption_counts_unparsed_games():
    gdf = pd.DataFrame([{"game": 1, "verdict": "A>B"}, {"game": 2, "verdict": None}])
    fig, caption = arena_plots.judge_reliability_figure(gdf, {**CONSISTENCY, "pairs_with_both_verdicts": 0})
    assert "1 of 2 games had no verdict" in caption and len(fig.axes) == 2


def test_ratings_under_both_definitions_and_the_leaderboard_figure():
    verdicts = {
        "0": ("B>A", "A>B"),
        "1": ("A>B", "B>A"),
        "2": ("B>>A", "A>B"),
        "3": ("A=B", "A=B"),
        "4": ("B>A", "A>>B"),
    }
    games = [
        {"prompt_id": p, "model": m, "game": g + 1, "verdict": v[g] if m == "x" else v[(g + 1) % 2]}
        for p, v in verdicts.items()
        for m in ("x", "y")
        for g in (0, 1)
    ]
    battles, _ = arena.battles_from_games(games, baseline="base")
    answers = {
        m: {p: {"text": f"answer {m} " * (3 if m == "x" else 1) + "\n- item", "n_tokens": 5} for p in verdicts}
        for m in ("base", "x", "y")
    }
    rated = arena.ratings(battles, answers, "base", "upstream", "upstream", rounds=10, seed=0, unit="battle", level=0.9)
    assert set(rated["boards"]) == set(arena.BOOTSTRAP_METHODS) and set(rated["styled_boards"]) == set(
        arena.STYLE_METHODS
    )
    assert rated["board"] is rated["boards"]["upstream"] and set(rated["board"].model) == {"base", "x", "y"}
    assert set(rated["style_coef"]) == set(arena.STYLE_COLUMNS)
    assert {"ci_width_ratio_weighted_over_upstream", "style_methods_max_gap_points"} <= set(rated["summary"])
    fig, caption = arena_plots.leaderboard_figure(rated, "base", "upstream", "upstream", 0.9, 10)
    assert "over 10 rounds" in caption and "grey with the weighted one" in caption and len(fig.axes) == 2
    m = arena.run_metrics(
        {**COUNTS, "enough_valid_battles": True},
        CONSISTENCY,
        {"prompts_kept": 5, "prompts_dropped": 0},
        rated,
        arena.separability(rated["board"]),
        [],
        ModelTables(),
        {},
    )
    assert set(m["win_rates"]) == {"base", "x", "y"} and set(m["win_rate_ci_by_bootstrap"]) == set(
        arena.BOOTSTRAP_METHODS
    )
