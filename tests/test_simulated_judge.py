"""The controlled judge setting (issue #25 item 1): the simulated judge's biases do what their parameters say, it
answers through the real judge's interface and parsers, the truths are right, and on a fixed seed the methods of
02 (WildBench) and 04 (Arena-Hard) do their jobs: the ranking recovers the true order, swapping removes the position
bias, K and style control remove the length bias, the intervals cover the truth near their level."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from helpers.evaluation import simulated as sim
from helpers.evaluation import wildbench as wb
from helpers.evaluation.arena import games as arena_games
from helpers.evaluation.arena import prompts as arena_prompts

FACTS = [sim.Facts(c, s, n) for c, s, n in itertools.product((True, False), (True, False), (300, 900))]


def tie_pairs(gap_chars: int = 0):
    """Equal-quality pairs; the second answer ``gap_chars`` longer."""
    return [(sim.Facts(c, s, 300), sim.Facts(c, s, 300 + gap_chars)) for c in (True, False) for s in (True, False)]


# --------------------------------------------------------------------------- the verdict rule
@pytest.mark.parametrize("length", [0.0, 0.4])
def test_without_position_bias_the_slots_are_interchangeable(length):
    bias = sim.JudgeBias(position=0.0, length=length, noise=0.2)
    flip = {"A++": "B++", "A+": "B+", "A=B": "A=B", "B+": "A+", "B++": "A++"}
    for a, b in itertools.product(FACTS, FACTS):
        ab, ba = sim.pair_label_probs(a, b, bias), sim.pair_label_probs(b, a, bias)
        assert all(ab[lab] == pytest.approx(ba[flip[lab]]) for lab in sim.LABELS)
        assert sum(ab.values()) == pytest.approx(1.0)


def test_position_bias_gives_close_calls_to_slot_a_at_its_rate_and_nothing_else():
    bias = sim.JudgeBias(position=0.3)
    for a, b in tie_pairs():
        assert sim.pair_label_probs(a, b, bias) == pytest.approx({"A++": 0, "A+": 0.3, "A=B": 0.7, "B+": 0, "B++": 0})
    strong = sim.pair_label_probs(sim.Facts(False, False, 300), sim.Facts(True, False, 300), bias)
    assert strong["B++"] == pytest.approx(1.0)  # a real difference is never overturned by the slot


def test_length_bias_prefers_the_longer_answer_at_its_rate_from_a_3x_ratio_and_less_below():
    bias = sim.JudgeBias(length=0.4)
    for a, b in tie_pairs(gap_chars=600):  # 300 vs 900: normalised gap 0.5
        assert sim.pair_label_probs(a, b, bias)["B+"] == pytest.approx(0.4)
        assert sim.pair_label_probs(b, a, bias)["A+"] == pytest.approx(0.4)
    a, b = tie_pairs(gap_chars=100)[0]  # gap 100/700: a seventh, so 0.4 * (1/7) / 0.5
    assert sim.pair_label_probs(a, b, bias)["B+"] == pytest.approx(0.4 * (100 / 700) / 0.5)
    assert sim.pair_label_probs(*tie_pairs()[0], bias)["A=B"] == pytest.approx(1.0)  # equal lengths: no effect


def test_noise_replaces_the_verdict_by_a_uniform_label_at_its_rate():
    bias = sim.JudgeBias(noise=0.25)
    p = sim.pair_label_probs(sim.Facts(True, False, 300), sim.Facts(False, True, 300), bias)
    assert p["A++"] == pytest.approx(0.75 + 0.05) and p["B++"] == pytest.approx(0.05)
    scores = sim.score_probs(sim.Facts(True, True, 300), bias)
    assert scores[8] == pytest.approx(0.75 + 0.025) and scores[1] == pytest.approx(0.025)
    with pytest.raises(ValueError):
        sim.JudgeBias(noise=1.5)


def test_the_score_length_bonus_goes_to_long_answers_only():
    bias = sim.JudgeBias(length=0.5)
    assert sim.score_probs(sim.Facts(False, False, 900), bias)[3 + sim.LENGTH_BONUS] == pytest.approx(0.5)
    assert sim.score_probs(sim.Facts(False, False, 300), bias)[3] == pytest.approx(1.0)


# --------------------------------------------------------------------------- the judge behind the real interface
@pytest.fixture(scope="module")
def small_world():
    world = sim.SimWorld()
    tasks = world.tasks(40, seed=3)
    return world, tasks, world.answers(tasks, seed=3)


def test_answers_are_checked_by_program(small_world):
    world, tasks, answers = small_world
    for t in tasks[:10]:
        for m in world.names:
            a = answers[m][t.id]
            f = sim.answer_facts(t.query, a["text"])
            assert (f.correct, f.steps, f.chars) == (a["correct"], a["steps"], len(a["text"]))
            assert f.chars in {round(world.by_name[m].chars * k) for k in sim.LENGTH_SCALES}


def test_replies_parse_with_the_notebooks_own_parsers_and_repeat(small_world):
    world, tasks, answers = small_world
    judge = sim.SimulatedJudge(0.3, 0.5, 0.1, seed=1)
    wt, t = sim.wildbench_tasks(tasks)[0], tasks[0]
    a, b = answers["sim-strong"][t.id]["text"], answers["sim-weak"][t.id]["text"]
    prompts = [
        wb.score_prompt(wt, a),
        wb.reward_prompt(wt, a, b),
        arena_prompts.judge_messages(t.query, a, b, "short"),
        arena_prompts.judge_messages(t.query, a, b, "arena-hard"),
    ]
    texts = judge.complete(prompts)
    assert wb.parse_score(texts[0]) in range(1, 11) and wb.parse_label(texts[1]) in sim.LABELS
    assert all(arena_games.parse_verdict(x) in arena_games.VERDICTS for x in texts[2:])
    assert judge.complete(prompts) == texts and judge.requests == 8 and judge.last_failed == [False] * 4
    assert wb.parse_score(judge.complete([prompts[0]], prefill=wb.SCORE_PREFILL)[0]) == wb.parse_score(texts[0])
    with pytest.raises(ValueError):
        judge.complete([prompts[1]], prefill=wb.SCORE_PREFILL)
    with pytest.raises(ValueError):
        judge.complete([[{"role": "user", "content": "hello"}]])


def test_the_judge_follows_its_rates_through_real_prompts(small_world):
    world, tasks, answers = small_world
    judge = sim.SimulatedJudge(position_bias=0.0, length_bias=0.0, noise=0.0, seed=0)
    items = [(t, m) for t in sim.wildbench_tasks(tasks) for m in ("sim-strong", "sim-verbose", "sim-weak")]
    prompts = [wb.reward_prompt(t, answers[m][t.id]["text"], answers["sim-base"][t.id]["text"]) for t, m in items]
    for label, rec in zip(map(wb.parse_label, judge.complete(prompts)), judge.verdicts):
        assert label == sim.truth_label(rec["a"], rec["b"])  # no bias, no noise: the truth, every time
    biased = sim.SimulatedJudge(position_bias=1.0, seed=0)
    for label, rec in zip(map(wb.parse_label, biased.complete(prompts)), biased.verdicts):
        assert label == ("A+" if sim.truth_label(rec["a"], rec["b"]) == "A=B" else sim.truth_label(rec["a"], rec["b"]))


# --------------------------------------------------------------------------- the truth
def test_truths_order_the_contestants_and_match_a_large_sample():
    world = sim.SimWorld()
    assert world.true_order() == ["sim-strong", "sim-base", "sim-verbose", "sim-weak"]
    wr = world.true_win_rates(0.1)
    assert wr["sim-base"] == pytest.approx(0.5)
    # the same weighted score, estimated from 1,200 simulated answers per contestant with the exact verdict odds
    tasks = world.tasks(1200, seed=11)
    answers = world.answers(tasks, seed=11)
    bias = sim.JudgeBias(noise=0.1)
    for m in ("sim-strong", "sim-weak"):
        num = den = 0.0
        for t in tasks:
            fm = sim.answer_facts(t.query, answers[m][t.id]["text"])
            fb = sim.answer_facts(t.query, answers["sim-base"][t.id]["text"])
            for lab, p in sim.pair_label_probs(fm, fb, bias).items():
                s, w = arena_games.verdict_score(sim.ARENA_LABEL[lab])
                num, den = num + p * s * w, den + p * w
        assert num / den == pytest.approx(wr[m], abs=0.02)
    assert sim.order_agreement({"a": 3, "b": 2, "c": 1}, {"a": 1.0, "b": 0.5, "c": 0.0}) == {
        "kendall_tau": 1.0,
        "exact_order": 1.0,
    }


def test_controlled_checks():
    assert sim.removal_check(0.3, -4.0, -0.5) == "pass" and sim.removal_check(0.3, -4.0, -2.0) == "fail"
    assert sim.removal_check(0.0, 0.0, 0.0) == "untestable"
    assert sim.coverage_check(93, 100, 0.95)[0] == "pass" and sim.coverage_check(50, 100, 0.9)[0] == "fail"
    assert sim.check_signal({"a": "pass", "b": "fail", "c": "untestable"}) == "1/2 checks pass (not: b)"


# --------------------------------------------------------------------------- the headline claims, fixed seed
def test_wildbench_in_the_controlled_setting():
    from helpers.evaluation.wildbench import controlled as wbc

    world = sim.SimWorld()
    draws = [wbc.draw(world, 0.3, 0.5, 0.1, 100, 500, seed=s, rounds=200) for s in range(8)]
    s = wbc.summarise(draws, world, position_bias=0.3, length_bias=0.5, noise=0.1, K=500, n_tasks=100)
    f = wbc.controlled_findings(s)
    assert f["controlled_checks"] == {"ranking": "pass", "position": "pass", "length": "pass", "coverage": "pass"}
    assert f["controlled_signal"] == "4/4 checks pass"
    (_, pos), (len_m, length) = wbc.headline_shifts(s)
    assert pos[0] < -2 and abs(pos[1]) < 1 and len_m == "sim-verbose" and length[0] > 3 and abs(length[1]) < 1
    assert s["ranking_exact_share"] > s["ranking_no_K_exact_share"]  # the length bias costs order without K
    assert s["K_cost_exact"]["sim-verbose"] < -3 and s["K_cost_exact"]["sim-strong"] == 0  # K's cost, exactly
    assert s["coverage_reward"]["coverage"] >= 0.85 and s["coverage_score"]["coverage"] >= 0.85


def test_arena_hard_in_the_controlled_setting():
    from helpers.evaluation.arena import controlled as ac

    world = sim.SimWorld()
    draws = [ac.draw(world, 0.3, 0.5, 0.1, 80, seed=s, rounds=40, style_method="symmetric") for s in range(3)]
    s = ac.summarise(
        draws,
        world,
        position_bias=0.3,
        length_bias=0.5,
        noise=0.1,
        n_prompts=80,
        level=0.9,
        bootstrap_method="upstream",
        style_method="symmetric",
        rounds=40,
    )
    f = ac.controlled_findings(s)
    assert f["controlled_checks"]["ranking"] == "pass" and f["controlled_checks"]["position"] == "pass"
    (_, pos), (len_m, length) = ac.headline_shifts(s)
    assert pos[0] < -1.5 and abs(pos[1]) < 0.5  # game 1 alone favours the baseline; both games do not
    assert len_m == "sim-verbose" and length[0] > 2 and abs(length[1]) < 0.25 * length[0]  # symmetric style control
    cov = s["coverage_weighted_prompt"]
    assert cov["coverage"] >= s["coverage_configured"]["coverage"] and cov["coverage"] >= 0.75
    assert f["controlled_finding"].startswith("Simulated judge (position bias 0.3, length bias 0.5, noise 0.1; 3 draws")


# --------------------------------------------------------------------------- the array bootstraps of 02's tables
def test_array_bootstraps_equal_the_record_statistics_on_the_same_resample():
    from helpers.evaluation.wildbench import tables
    from helpers.evaluation.wildbench.scoring import group_scores, reward_mixture, task_macro, wb_reward

    rng = np.random.default_rng(0)
    tasks, names = ["t1", "t2", "t3", "t4"], ["b1", "b2"]
    labels = ["A++", "A+", "A=B", "B+", "B++", "junk"]
    games = [
        {
            "model": "m",
            "baseline": b,
            "task": t,
            "label": labels[rng.integers(6)],
            "model_is_a": bool(rng.integers(2)),
            "len_model": 10,
            "len_baseline": 10,
        }
        for t in tasks
        for b in names
        if (t, b) != ("t4", "b2")
    ]
    S, N = tables._task_reward_arrays(games, tasks, names, -1)
    C = rng.multinomial(4, [0.25] * 4, size=20).astype(float)
    got = tables._mixture_reward(C, S, N, "upstream")
    for row, value in zip(C, got):
        sample = [g for t, k in zip(tasks, row) for _ in range(int(k)) for g in games if g["task"] == t]
        want = reward_mixture({b: wb_reward([g for g in sample if g["baseline"] == b]) for b in names}, names)
        assert value == pytest.approx(want, nan_ok=True)
    groups = {
        "t1": ["Creative Tasks"],
        "t2": ["Coding & Debugging"],
        "t3": ["Creative Tasks", "Math & Data Analysis"],
        "t4": ["Planning & Reasoning"],
    }
    items = [(groups[t], s) for t, s in zip(tasks, [9, 4, None, 7])]
    for agg in ("upstream", "renormalise"):
        for row, value in zip(C, tables._score_macro(C, items, agg)):
            sample = [it for it, k in zip(items, row) for _ in range(int(k))]
            assert value == pytest.approx(task_macro(group_scores(sample), aggregation=agg), nan_ok=True)
