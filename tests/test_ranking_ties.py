"""Sorts are stable and ties are reported (issue #9, item 3).

Every ranking a notebook shows is built from tied inputs here, fed in every row order: (a) the order comes out the
same whatever the input order, (b) the ties are counted and named. Then the headline rankings are withheld
("n/a: judge degenerate" with the reason) when the judge fails the reliability checks: 02 WildBench and 04 Arena-Hard
(which ranks the 03 BenchBuilder prompts).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from helpers.core.stats import rank_with_ties, ranked, tied_pairs
from helpers.culturegen import score as cgs
from helpers.evaluation import arena
from helpers.evaluation import benchbuilder as bb
from helpers.evaluation import wildbench as wb


def permutations(rows: list[dict]):
    for perm in itertools.permutations(rows):
        yield pd.DataFrame(list(perm))


# ------------------------------------------------------------------------------------------------ core
BOARD = [
    {"model": "delta", "score": 2.0, "lo": 1.5, "hi": 2.5},
    {"model": "alpha", "score": 2.0, "lo": 1.9, "hi": 2.1},  # equal to delta: ordered by name
    {"model": "charlie", "score": 1.0 + 1e-13, "lo": 0.9, "hi": 1.1},  # summation noise: equal to bravo
    {"model": "bravo", "score": 1.0, "lo": 0.95, "hi": 1.6},  # overlaps delta's interval too
    {"model": "echo", "score": float("nan"), "lo": None, "hi": None},
]


def test_ranked_order_and_ties_do_not_depend_on_the_input_order():
    seen = set()
    for df in permutations(BOARD):
        out = rank_with_ties(df, "score", low="lo", high="hi")
        seen.add((tuple(out.model), tuple(out.ties)))
        assert tied_pairs(df, "score", low="lo", high="hi") == [
            ("alpha", "delta"),
            ("delta", "bravo"),
            ("bravo", "charlie"),
        ]
    assert seen == {(("alpha", "delta", "bravo", "charlie", "echo"), (1, 2, 2, 1, 0))}


def test_ties_without_intervals_are_equal_scores_only():
    df = pd.DataFrame(BOARD)
    assert tied_pairs(df, "score") == [("alpha", "delta"), ("bravo", "charlie")]
    assert list(ranked(df, "score", ascending=True).model) == ["bravo", "charlie", "alpha", "delta", "echo"]


# ------------------------------------------------------------------------------------------------ 02 WildBench
WB_BOARD = [
    {"model": "m2", "wb_score": 40.0, "wb_score_lo": 30.0, "wb_score_hi": 50.0},
    {"model": "m1", "wb_score": 40.0, "wb_score_lo": 35.0, "wb_score_hi": 45.0},
    {"model": "m3", "wb_score": 10.0, "wb_score_lo": 5.0, "wb_score_hi": 15.0},
]
WB_METRICS = {
    "score_parse_failure_rate": 0.0,
    "reward_parse_failure_rate": 0.0,
    "tie_share": 0.2,
    "top_score_share": 0.3,
    "position_pairs": 4,
    "position_consistency_raw": 0.75,
    "position_same_slot_rate": 0.25,
}


def test_wildbench_best_is_the_same_for_every_input_order_and_its_tie_is_reported():
    outs = [wb.findings(WB_METRICS, board=list(p)) for p in itertools.permutations(WB_BOARD)]
    assert all(o == outs[0] for o in outs)
    f = outs[0]
    assert f["best_by_wb_score"] == "m1 (tied within CIs with m2)" and f["signal"] == "top not separable"
    assert f["ranking_ties"] == 1 and f["tied_with_best"] == ["m2"]
    assert any("Ties: 1 of 3 model pairs" in d for d in f["findings"])


def test_wildbench_separated_ranking_reports_zero_ties():
    board = [dict(WB_BOARD[1]), dict(WB_BOARD[2])]
    f = wb.findings(WB_METRICS, board=board)
    assert f["best_by_wb_score"] == "m1" and f["signal"] == "ranking" and f["ranking_ties"] == 0


@pytest.mark.parametrize(
    "checks, reason",
    [
        ({"tie_share": 0.95}, "95% of pairwise verdicts were ties"),
        ({"top_score_share": 1.0}, "100% of scores had the same value"),
        ({"score_parse_failure_rate": 0.8}, "80% of judge replies could not be parsed"),
    ],
)
def test_wildbench_headline_ranking_is_withheld_when_the_judge_is_degenerate(checks, reason):
    f = wb.findings({**WB_METRICS, **checks}, board=pd.DataFrame(WB_BOARD))
    assert f["best_by_wb_score"] == f"n/a: judge degenerate ({reason})"
    assert f["signal"] == "judge degenerate: no ranking" and not f["judge_reliable"]
    assert f["ranking_ties"] is None and f["tied_with_best"] == [] and "m1" not in f["finding"]


# ------------------------------------------------------------------------------------------------ 04 Arena-Hard
def _games():
    """x and y get identical verdicts (equal ratings); z's judge always names slot A (rating = the baseline's)."""
    verdicts = {0: ("B>A", "A>B"), 1: ("A>B", "B>A"), 2: ("B>>A", "A>B"), 3: ("A=B", "A=B"), 4: ("B>A", "A>>B")}
    games = [
        {"prompt_id": p, "model": m, "game": g + 1, "verdict": v[g]}
        for p, v in verdicts.items()
        for m in ("y", "x")
        for g in (0, 1)
    ]
    return games + [{"prompt_id": p, "model": "z", "game": g, "verdict": "A>B"} for p in range(5) for g in (1, 2)]


def test_arena_leaderboard_order_is_stable_under_shuffled_battles_and_counts_ties():
    battles, _ = arena.battles_from_games(_games(), baseline="base")
    orders = set()
    for seed in range(5):
        shuffled = battles.sample(frac=1, random_state=seed).reset_index(drop=True)
        board = arena.leaderboard(shuffled, "base", rounds=20, seed=0)
        orders.add(tuple(board.model))
        assert board.rating.iloc[0] == board.rating.iloc[1]  # x and y: equal ratings, ordered by name
        ties = dict(zip(board.model, board.ties))
        assert ties["x"] >= 1 and ties["y"] >= 1 and ties["base"] >= 1 and ties["z"] >= 1  # z's rating equals base's
        assert sum(ties.values()) == 2 * len(tied_pairs(board, "rating", low="ci_low", high="ci_high"))
    assert orders == {("x", "y", "base", "z")}


ARENA_METRICS = {
    "judge_parse_failure_rate": 0.0,
    "position_bias_rate": 0.1,
    "two_game_consistency": 0.9,
    "enough_valid_battles": True,
    "separability": 0.5,
    "ci_level": 0.9,
}


def test_arena_top_contestant_is_the_same_for_every_board_order_and_its_tie_is_reported():
    rows = [
        {"model": "y", "win_rate": 0.7, "ci_low": 1040, "ci_high": 1100},
        {"model": "x", "win_rate": 0.7, "ci_low": 1050, "ci_high": 1090},
        {"model": "base", "win_rate": 0.5, "ci_low": 1000, "ci_high": 1000},
    ]
    outs = [arena.findings(ARENA_METRICS, board=df) for df in permutations(rows)]
    assert all(o == outs[0] for o in outs)
    f = outs[0]
    assert f["top_contestant"] == "x (tied within CIs with y)" and f["ranking_ties"] == 1
    assert f["finding"].startswith("Top contestant: x (tied within CIs with y) with win rate 70.0%")
    assert any("Ties: 1 of 3 model pairs" in d for d in f["findings"])


@pytest.mark.parametrize(
    "checks, reason",
    [
        ({"position_bias_rate": 1.0}, "100% of swapped game pairs followed the slot, not the answer"),
        ({"judge_parse_failure_rate": 0.9}, "90% of judge replies could not be parsed"),
    ],
)
def test_arena_headline_ranking_is_withheld_when_the_judge_is_degenerate(checks, reason):
    board = pd.DataFrame(
        [
            {"model": "x", "win_rate": 0.9, "ci_low": 1100, "ci_high": 1200},
            {"model": "base", "win_rate": 0.5, "ci_low": 1000, "ci_high": 1000},
        ]
    )
    f = arena.findings({**ARENA_METRICS, **checks}, board=board)
    assert f["top_contestant"] == f"n/a: judge degenerate ({reason})" and f["ranking_ties"] is None
    assert f["signal"] == "judge degenerate: no ranking" and not f["judge_reliable"]
    assert f["finding"] == f"No ranking: the judge is degenerate ({reason})."
    f = arena.findings({**ARENA_METRICS, "enough_valid_battles": False}, board=board)
    assert f["top_contestant"] == "n/a: not enough valid battles" and f["ranking_ties"] is None


# ------------------------------------------------------------------------------------------------ 03 BenchBuilder
def test_benchbuilder_topic_names_break_equal_weights_alphabetically():
    texts = ["zebra apple", "mango kiwi"]
    for perm in itertools.permutations(range(2)):
        names = bb.cluster_keywords([texts[i] for i in perm], [perm[0], perm[1]], top=2)
        assert names == {0: "apple, zebra", 1: "kiwi, mango"}


# ------------------------------------------------------------------------------------------------ 07 Culture-Gen
class _Assoc:
    """Stands in for culturegen.score.Associations: fixed probabilities per (topic, symbol)."""

    def __init__(self, names, probs):
        self.names, self.index, self._p = list(names), {n: i for i, n in enumerate(names)}, probs
        self.how, self.calibrate = "culture_logprob", False

    def probs(self, topic, symbol):
        return np.array([self._p[symbol][n] for n in self.names])


def test_culturegen_top1_counts_a_tie_at_the_top_as_a_tie_whatever_the_culture_order():
    probs = {
        "rice": {"Japanese": 0.4, "Mexican": 0.4, "Kenyan": 0.2},
        "sushi": {"Japanese": 0.7, "Mexican": 0.2, "Kenyan": 0.1},
    }
    pairs = [
        {"topic": "food", "symbol": "rice", "nationality": "Japanese"},
        {"topic": "food", "symbol": "rice", "nationality": "Mexican"},
        {"topic": "food", "symbol": "sushi", "nationality": "Japanese"},
    ]
    for names in itertools.permutations(["Japanese", "Mexican", "Kenyan"]):
        v = cgs.validity(pairs, _Assoc(names, probs))
        assert v["top1"] == pytest.approx(1 / 3) and v["top1_ties"] == 2
        assert [r["top_tied"] for r in v["rows"]] == [True, True, False]
        assert [r["top_culture"] for r in v["rows"]] == ["Japanese", "Japanese", "Japanese"]


def test_culturegen_region_findings_name_ties():
    from helpers.culturegen.summary import _tied_with

    reg = ranked(pd.DataFrame({"region": ["b", "a", "c"], "rate": [0.5, 0.5, 0.1]}), "rate", name="region")
    assert list(reg.region) == ["a", "b", "c"]
    assert _tied_with(reg, "a", 0.5) == ", tied with b" and _tied_with(reg, "c", 0.1) == ""


# ------------------------------------------------------------------------------------------------ 08 InfoSumm
def test_infosumm_names_every_critic_tied_for_most_restrictive():
    from helpers.infosumm import evaluate as ise

    def row(system, r):
        return {"system": system, "n": 10, "rougeL": r, "rougeL_ci": [r - 0.05, r + 0.05]}

    rouge = [row("lead-3", 0.33), row("teacher round 0", 0.28), row("teacher round 1", 0.26), row("student", 0.05)]
    rates = {
        "saliency": {"passed": 8, "n": 24, "rate": 1 / 3},
        "brevity": {"passed": 8, "n": 24, "rate": 1 / 3},
        "not_copy": {"passed": 20, "n": 24, "rate": 20 / 24},
        "all": {"passed": 3, "n": 24, "rate": 3 / 24},
    }
    rounds = [
        {"round": r, "n_candidates": 24, "n_documents": 6, "n_kept": 3, "fallback": 0, "pass_rates": rates}
        for r in (0, 1)
    ]
    m = {
        "teacher_model": "m",
        "student_minus_lead3_rougeL": -0.28,
        "student_minus_lead3_rougeL_ci": [-0.32, -0.24],
        "teacher_last_minus_round0_rougeL": -0.02,
        "teacher_last_minus_round0_rougeL_ci": [-0.1, 0.05],
        "final_pairs": 15,
        "fallback_pairs": 0,
        "n_documents": 12,
    }
    f = ise.findings(m, rounds=rounds, rouge=rouge)
    assert "most restrictive critics in the last round were brevity and saliency (tied at 33% pass)" in " ".join(
        f["findings"]
    )
