"""06 Tulu: sorts are stable and ties are reported (issue #9, item 3).

Tied inputs, fed in every order: the aspect ranking, the best / worst configurations and the largest category come
out the same, every tied member is named and the ties are counted; a tied aspect order is "tied", never "reproduced",
and "PPO beats DPO mainly on reasoning" is not reproduced when reasoning is tied with another category.
"""

from __future__ import annotations

import itertools

import pytest

from helpers.tulu import tables
from helpers.tulu.grid import DataSpec, GridResult, RMSpec, Row

CATS = ["reasoning", "safety"]
N = 40  # prompts per category
SEEDS = [0, 1]


def _sft():
    return [{"id": f"{c}{i}", "category": c, "correct": False} for c in CATS for i in range(N)]


def _results(rows_right: dict[Row, dict[str, int]]):
    """Every seed of row r answers the first ``k[c]`` prompts of category c right (SFT: all wrong): exact deltas."""
    out = {}
    for row, k in rows_right.items():
        recs = [{"id": f"{c}{i}", "category": c, "correct": i < k.get(c, 0)} for c in CATS for i in range(N)]
        for s in SEEDS:
            out[(row.slug, s)] = GridResult(None, s, recs)
    return out


RM = RMSpec("config:rm-m", DataSpec("on-policy"))
DPO_REF = Row("data", "DPO", "dpo", DataSpec("on-policy"), reference=True)
DPO_NOISY = Row("data", "DPO noisy", "dpo", DataSpec("on-policy", noise=0.4))
DPO_OVERALL = Row("data", "DPO overall", "dpo", DataSpec("on-policy", labeller="overall"))
ALG_DPO = Row("algorithm", "DPO", "dpo", DataSpec("on-policy"), reference=True)  # the same run as DPO_REF
ALG_PPO = Row("algorithm", "PPO", "ppo", DataSpec("on-policy"), rm=RM)


def _tied_world():
    """data and algorithm have the same effect (25 points on the average); in data, DPO and DPO overall tie for
    the best configuration; PPO - DPO gains 10 points on reasoning and 10 on safety."""
    right = {
        DPO_REF: {"reasoning": 10, "safety": 10},
        DPO_OVERALL: {"reasoning": 10, "safety": 10},
        DPO_NOISY: {},
        ALG_PPO: {"reasoning": 20, "safety": 20},
    }
    rows = [DPO_REF, DPO_NOISY, DPO_OVERALL, ALG_DPO, ALG_PPO]
    return rows, _results(right), _sft()


def test_aspect_ranking_is_the_same_for_every_row_order_and_names_every_tie():
    rows, results, sft = _tied_world()
    outs = []
    for perm in itertools.permutations(rows):
        for cats in (CATS, CATS[::-1]):
            outs.append(tables.aspect_ranking(list(perm), results, sft, cats, SEEDS, rounds=50))
    key = lambda ranking: [{k: v for k, v in r.items() if k != "largest_category_spread"} for r in ranking]  # noqa: E731
    assert all(key(o) == key(outs[0]) for o in outs)
    ranking = {r["aspect"]: r for r in outs[0]}
    # equal effects: by aspect name (algorithm before data), not the paper's order (data first)
    assert [r["aspect"] for r in outs[0]] == ["algorithm", "data"]
    assert ranking["data"]["effect"] == pytest.approx(ranking["algorithm"]["effect"]) == pytest.approx(0.25)
    assert ranking["data"]["ties"] == ranking["algorithm"]["ties"] == 1
    assert ranking["data"]["equal_effect_with"] == "algorithm" and ranking["algorithm"]["tied_with"] == "data"
    # a tied best configuration names both; the worst is alone
    assert ranking["data"]["best"] == "DPO = DPO overall" and ranking["data"]["best_ties"] == 1
    assert ranking["data"]["worst"] == "DPO noisy" and ranking["data"]["worst_ties"] == 0
    # the spread is the same on both categories: both named, whatever the category order
    assert ranking["data"]["largest_category"] == "reasoning = safety" and ranking["data"]["largest_category_ties"] == 1
    assert tables.order_text(outs[0]) == "algorithm (25.0 points) = data (25.0 points)"


def test_a_tied_aspect_order_is_not_reproduced():
    rows, results, sft = _tied_world()
    ranking = tables.aspect_ranking(rows, results, sft, CATS, SEEDS, rounds=50)
    found = {f["finding"]: f for f in tables.paper_findings(rows, results, sft, CATS, SEEDS, ranking, rounds=50)}
    order = found["aspect order: data > algorithm > reward model > prompts"]
    assert order.get("status_ungated", order["status"]).startswith("tied (equal effects: algorithm = data")
    assert order["point_estimate_agrees"] is False and order["ties"] == 1
    assert "Kendall tau-b with the paper's order 0.00" in order["detail"] and "algorithm (25.0" in order["detail"]
    assert "= data" in order["detail"]
    ungated = {**order, "testable": True}  # the signal's count, the gate aside
    assert "1 more" not in tables.signal([ungated]) and tables.signal([ungated]) == "reproduces 0 of 1 paper findings"
    assert tables.signal([order]) == "untestable"  # 60 prompts cannot resolve the paper's effects


def test_mainly_on_reasoning_is_not_claimed_when_reasoning_ties_with_another_category():
    rows, results, sft = _tied_world()
    for cats in (CATS, CATS[::-1]):
        ranking = tables.aspect_ranking(rows, results, sft, cats, SEEDS, rounds=50)
        found = {f["finding"]: f for f in tables.paper_findings(rows, results, sft, cats, SEEDS, ranking, rounds=50)}
        ppo = found["PPO beats DPO, mainly on reasoning"]
        assert (
            ppo.get("status_ungated", ppo["status"])
            == "partly reproduced (PPO wins, but reasoning is tied with safety)"
        )
        assert ppo["point_estimate_agrees"] is False and ppo["ties"] == 1
        assert "largest on reasoning = safety (tied)" in ppo["detail"]


def _rank(*rows):
    return [{"aspect": a, "effect": e, "low": lo, "high": hi} for a, e, lo, hi in rows]


@pytest.mark.parametrize(
    "ranking, status, agrees, ties",
    [
        (_rank(("data", 0.3, 0.25, 0.35), ("algorithm", 0.1, 0.05, 0.15)), "reproduced", True, 0),
        (_rank(("data", 0.3, 0.1, 0.5), ("algorithm", 0.2, 0.0, 0.4)), "tied within CIs", True, 1),
        (
            _rank(("data", 0.2, 0.2, 0.2), ("algorithm", 0.2, 0.2, 0.2)),
            "tied (equal effects: algorithm = data",
            False,
            1,
        ),
        (
            _rank(("algorithm", 0.2, 0.15, 0.25), ("data", 0.2 + 1e-13, 0.15, 0.25)),
            "tied (equal effects: algorithm = data",
            False,
            1,
        ),
        (_rank(("algorithm", 0.3, 0.25, 0.35), ("data", 0.1, 0.05, 0.15)), "not reproduced", False, 0),
    ],
)
def test_order_verdict_from_handmade_rankings(ranking, status, agrees, ties):
    ranked = sorted(ranking, key=lambda r: (-round(r["effect"], 9), r["aspect"]))
    (f,) = tables.paper_findings([], {}, [], CATS, SEEDS, ranked)
    assert (
        f.get("status_ungated", f["status"]).startswith(status)
        and f["point_estimate_agrees"] is agrees
        and f["ties"] == ties
    )
    assert tables.ranking_ties(ranked)["aspect_ranking_ties"] == ties


def test_equal_effects_listed_in_the_papers_order_are_still_tied():
    """The old sort kept equal effects in ASPECTS order (= the paper's): such a ranking must not read as reproduced."""
    ranking = _rank(
        ("data", 0.2, 0.19, 0.21),
        ("algorithm", 0.2, 0.19, 0.21),
        ("reward model", 0.1, 0.09, 0.11),
        ("prompts", 0.1, 0.09, 0.11),
    )
    (f,) = tables.paper_findings([], {}, [], CATS, SEEDS, ranking)
    assert f.get("status_ungated", f["status"]) == (
        "tied (equal effects: algorithm = data, prompts = reward model; the order matches the "
        "paper's only up to the ties)"
    )
    assert f["point_estimate_agrees"] is False and tables.signal([f]) == "reproduces 0 of 1 paper findings"
    assert f["detail"].startswith("this world: data (20.0 [19.0, 21.0]) = algorithm (20.0 [19.0, 21.0]) > reward model")


def test_kendall_tau_b_counts_equal_effects_as_ties_like_scipy():
    from scipy.stats import kendalltau

    paper = list(tables.PAPER_ORDER)
    for effects in ([0.4, 0.3, 0.3, 0.1], [0.1, 0.1, 0.3, 0.0], [0.2, 0.1, 0.3, 0.4], [0.5, 0.5, 0.5, 0.1]):
        effect = dict(zip(paper, effects))
        expected = kendalltau([-i for i in range(4)], effects).statistic
        assert tables._kendall_tau_b(paper, effect) == pytest.approx(expected)
    assert tables._kendall_tau_b(paper[:2], {"data": 0.2, "algorithm": 0.2}) == 0.0


def test_ties_sentence_and_metrics_fields():
    none = _rank(("data", 0.3, 0.25, 0.35), ("algorithm", 0.1, 0.05, 0.15))
    t = tables.ranking_ties(none)
    assert t["aspect_ranking_ties"] == 0 and t["sentence"] is None
    checked = tables.paper_findings([], {}, [], CATS, SEEDS, none)
    assert tables.findings_lines(checked, none) == [f"{c['finding']}: {c['status']} ({c['detail']})" for c in checked]

    tied = _rank(("algorithm", 0.2, 0.1, 0.3), ("data", 0.2, 0.15, 0.25), ("prompts", 0.05, 0.0, 0.12))
    tied[1].update(best="DPO = DPO overall", best_ties=1)
    t = tables.ranking_ties(tied)
    assert t["aspect_ranking_ties"] == 2 and t["aspect_ranking_equal_effects"] == 1
    assert t["tied_pairs"] == [["algorithm", "data"], ["algorithm", "prompts"]]
    assert t["sentence"] == (
        "Ties: 2 of 3 aspect pairs cannot be ordered by their effect (= equal effects, ~ overlapping "
        "95% CIs): algorithm = data, algorithm ~ prompts; the best data configuration is tied "
        "(DPO = DPO overall)."
    )
    checked = tables.paper_findings([], {}, [], CATS, SEEDS, tied)
    lines = tables.findings_lines(checked, tied)
    assert len(lines) == len(checked) and lines[0].endswith(t["sentence"])  # one sentence, on the order's line
    # without a testable order (one aspect) the sentence is a line of its own
    single = [dict(tied[1])]
    assert tables.findings_lines([], single) == ["Ties: the best data configuration is tied (DPO = DPO overall)."]
    # every configuration of an aspect equal, and every aspect pair tied: said once, not listed member by member
    flat = _rank(("algorithm", 0.0, 0.0, 0.0), ("data", 0.0, 0.0, 0.0))
    for r in flat:
        r.update(
            best="A = B = C",
            best_ties=2,
            worst="A = B = C",
            worst_ties=2,
            n_configurations=3,
            largest_category="reasoning = safety",
            largest_category_ties=1,
        )
    assert tables.ranking_ties(flat)["sentence"] == (
        "Ties: 1 of 1 aspect pair cannot be ordered by their effect (= equal effects, ~ overlapping 95% CIs): "
        "algorithm = data; all 3 algorithm configurations score the same average; the largest algorithm category is "
        "tied (reasoning = safety); all 3 data configurations score the same average; the largest data category is "
        "tied (reasoning = safety)."
    )


def test_most_on_reasoning_for_a_larger_reward_model_is_not_claimed_on_a_tie():
    big = Row("reward model", "PPO, RM rm-m", "ppo", DataSpec("on-policy"), rm=RM, reference=True)
    small = Row(
        "reward model", "PPO, RM rm-s", "ppo", DataSpec("on-policy"), rm=RMSpec("config:rm-s", DataSpec("on-policy"))
    )
    results = _results({big: {"reasoning": 15, "safety": 15}, small: {"reasoning": 5, "safety": 5}})
    for cats in (CATS, CATS[::-1]):
        (f,) = tables.paper_findings([big, small], results, _sft(), cats, SEEDS, [], rounds=50)
        assert f.get("status_ungated", f["status"]) == "partly reproduced (helps reasoning, tied with safety)"
        assert (
            f["point_estimate_agrees"] is False
            and f["ties"] == 1
            and f["detail"].endswith("largest on reasoning = safety (tied)")
        )
