"""WildBench scoring: pure functions checked against hand-computed values."""

import math

import pytest

from helpers.evaluation.wildbench import (
    GROUP_WEIGHTS,
    GROUPS,
    Task,
    WildBenchError,
    bootstrap_ci,
    empty_game_reward,
    game_reward,
    group_scores,
    length_penalty,
    load_tasks,
    model_is_a,
    outcome_counts,
    parse_contestant,
    parse_label,
    parse_score,
    position_consistency,
    rescale_score,
    reward_mixture,
    reward_prompt,
    score_prompt,
    select_tasks,
    task_from_record,
    task_groups,
    task_macro,
    truncate_words,
    wb_reward,
    wb_score,
)


# ----------------------------------------------------------------- WB-Score
def test_rescale_maps_5_to_0_and_10_to_100():
    assert rescale_score(5) == 0
    assert rescale_score(10) == 100
    assert rescale_score(1) == -80
    assert rescale_score(7.5) == pytest.approx(50)


def test_wb_score_excludes_parse_failures():
    assert wb_score([7, 3, None]) == pytest.approx((40 + -40) / 2)
    assert wb_score([8, None]) == pytest.approx(60)
    assert math.isnan(wb_score([None, None]))


def test_group_scores_count_a_task_in_every_group_it_touches():
    items = [
        (["Creative Tasks", "Planning & Reasoning"], 9),
        (["Planning & Reasoning"], 5),
        (["Coding & Debugging"], None),
    ]
    per = group_scores(items)
    assert per == {"Creative Tasks": pytest.approx(80), "Planning & Reasoning": pytest.approx(40)}  # (80 + 0) / 2


def test_task_macro_uses_paper_weights():
    assert GROUP_WEIGHTS == {
        "Creative Tasks": 0.5,
        "Planning & Reasoning": 1.25,
        "Math & Data Analysis": 1.0,
        "Information/Advice seeking": 0.75,
        "Coding & Debugging": 1.25,
    }
    per = {
        "Creative Tasks": 100.0,
        "Planning & Reasoning": 0.0,
        "Math & Data Analysis": 20.0,
        "Information/Advice seeking": 40.0,
        "Coding & Debugging": -20.0,
    }
    expected = (0.5 * 100 + 1.25 * 0 + 1.0 * 20 + 0.75 * 40 + 1.25 * -20) / 4.75
    assert task_macro(per) == pytest.approx(expected)
    # upstream (default): a missing or NaN group counts 0, the sum is divided by all five weights (4.75)
    assert task_macro({"Creative Tasks": 100.0, "Coding & Debugging": 0.0}) == pytest.approx(50 / 4.75)
    assert task_macro({"Creative Tasks": float("nan"), "Coding & Debugging": 10.0}) == pytest.approx(12.5 / 4.75)
    # ours: groups with no valid score are left out and the weights renormalised over the rest
    assert task_macro({"Creative Tasks": 100.0, "Coding & Debugging": 0.0}, aggregation="renormalise") == pytest.approx(
        50 / 1.75
    )
    assert task_macro(
        {"Creative Tasks": float("nan"), "Coding & Debugging": 10.0}, aggregation="renormalise"
    ) == pytest.approx(10.0)
    # with every group present both give the same number
    assert task_macro(per, aggregation="renormalise") == pytest.approx(expected)
    # nothing measured is NaN either way, not 0
    assert math.isnan(task_macro({})) and math.isnan(task_macro({"Math & Data Analysis": float("nan")}))
    assert math.isnan(task_macro({}, aggregation="renormalise"))
    with pytest.raises(ValueError):
        task_macro(per, aggregation="mean")


def test_macro_differs_from_plain_mean():
    per = {"Creative Tasks": 100.0, "Coding & Debugging": 0.0}
    assert task_macro(per) != pytest.approx(50.0)


def test_task_groups_merge_tags():
    assert task_groups("Math", ["Reasoning", "Unknown tag"]) == ["Planning & Reasoning", "Math & Data Analysis"]
    assert task_groups("Others") == ["Creative Tasks"]
    assert task_groups("Advice seeking", ["Information seeking"]) == ["Information/Advice seeking"]
    assert set(GROUPS) == set(GROUP_WEIGHTS)


# ----------------------------------------------------------------- WB-Reward
def test_game_reward_from_both_slots():
    assert game_reward("A++", True, 10, 10) == 1.0
    assert game_reward("A++", False, 10, 10) == -1.0
    assert game_reward("B+", True, 10, 10) == -0.5
    assert game_reward("B+", False, 10, 10) == 0.5
    assert game_reward("A=B", False, 10, 10) == 0.0
    assert game_reward(None, True, 10, 10) is None
    assert game_reward("A>B", True, 10, 10) is None


def test_length_penalty_turns_long_slight_wins_into_ties():
    # slight win by the model, model longer by 600 > K=500: tie
    assert length_penalty(0.5, 900, 300, 500) == 0.0
    # slight win, longer by exactly K: unchanged (strictly more than K needed)
    assert length_penalty(0.5, 800, 300, 500) == 0.5
    # slight win by the baseline, baseline longer by > K: tie
    assert length_penalty(-0.5, 100, 700, 500) == 0.0
    # slight win by the SHORTER response is never penalised
    assert length_penalty(0.5, 100, 900, 100) == 0.5
    # strong wins are never penalised
    assert length_penalty(1.0, 5000, 10, 100) == 1.0
    assert length_penalty(-1.0, 10, 5000, 100) == -1.0
    # K = -1 or inf: no penalty
    assert length_penalty(0.5, 5000, 10, -1) == 0.5
    assert length_penalty(0.5, 5000, 10, float("inf")) == 0.5


def test_wb_reward_with_and_without_K():
    games = [
        {"label": "A+", "model_is_a": True, "len_model": 1000, "len_baseline": 100},  # +0.5, long slight win
        {"label": "A+", "model_is_a": False, "len_model": 100, "len_baseline": 900},  # -0.5, baseline long slight win
        {"label": "B++", "model_is_a": False, "len_model": 50, "len_baseline": 50},  # +1
        {"label": "A=B", "model_is_a": True, "len_model": 50, "len_baseline": 50},  # 0
        {"label": None, "model_is_a": True, "len_model": 50, "len_baseline": 50},  # parse failure: excluded
        {"auto_reward": -1.0},  # empty model answer
    ]
    assert wb_reward(games) == pytest.approx(100 * (0.5 - 0.5 + 1 + 0 - 1) / 5)
    assert wb_reward(games, K=500) == pytest.approx(100 * (0 + 0 + 1 + 0 - 1) / 5)
    assert wb_reward(games, K=1000) == pytest.approx(100 * (0.5 - 0.5 + 1 + 0 - 1) / 5)
    counts = outcome_counts(games, K=500)
    assert counts == {"much_better": 1, "better": 0, "tie": 3, "worse": 0, "much_worse": 1, "failed": 1}


def test_reward_mixture_is_mean_over_baselines():
    assert reward_mixture({"b1": 20.0, "b2": -10.0, "b3": 50.0}) == pytest.approx(20.0)
    # upstream (default): a baseline without a value counts 0 and the mixture divides by every baseline
    assert reward_mixture({"b1": 20.0, "b2": float("nan")}) == pytest.approx(10.0)
    assert reward_mixture({"b1": 30.0}, baselines=["b1", "b2", "b3"]) == pytest.approx(10.0)
    # ours: the mean over the baselines that have a value
    assert reward_mixture({"b1": 20.0, "b2": float("nan")}, aggregation="renormalise") == pytest.approx(20.0)
    assert reward_mixture({"b1": 30.0}, baselines=["b1", "b2", "b3"], aggregation="renormalise") == pytest.approx(30.0)
    assert math.isnan(reward_mixture({})) and math.isnan(reward_mixture({"b1": float("nan")}, ["b1", "b2"]))


def test_empty_responses_are_decided_without_judge():
    assert empty_game_reward("", "text") == -1.0
    assert empty_game_reward("text", "  ") == 1.0
    assert empty_game_reward("", "") == 0.0
    assert empty_game_reward("a", "b") is None


def test_order_is_random_but_reproducible():
    orders = [model_is_a(f"t{i}", "m", "b") for i in range(200)]
    assert orders == [model_is_a(f"t{i}", "m", "b") for i in range(200)]
    assert 70 < sum(orders) < 130
    assert [model_is_a(f"t{i}", "m", "b", seed=1) for i in range(200)] != orders


# ----------------------------------------------------------------- parsing
@pytest.mark.parametrize(
    "text,expected",
    [
        ('{"strengths": "ok", "weaknesses": "none", "score": 7}', 7.0),
        ('```json\n{"strengths": "a {b}", "weaknesses": "c", "score": "8"}\n```', 8.0),
        ('Strengths: fine.\n"score": 6, and more', 6.0),
        ('{"strengths": "x", "score": "9/10"}', 9.0),
        ('{"score": 11}', None),
        # prefilled replies (SCORE_PREFILL + what a small judge writes, often cut off by max_tokens)
        ('{"score": 7, "strengths": "', 7.0),
        ('{"score": 10', 10.0),
        ('{"score": 1 to 10, "streng', None),  # an echoed range, not a score
        ('{"score": "1 to 10"}', None),
        ('{"score": 75,', None),
        ('{"score": true}', None),
        ('{"score": 7 because', None),
        ('{"score": 0}', None),
        ("The response is good.", None),
        ('{"strengths": "truncated', None),
        ("", None),
        (None, None),
    ],
)
def test_parse_score(text, expected):
    assert parse_score(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ('{"analysis of A": "x", "analysis of B": "y", "choice": "A+"}', "A+"),
        ('{"choice": "B++"}', "B++"),
        ('reasoning...\n"choice": "A=B"', "A=B"),
        ("choice: b+", "B+"),
        ('"A++" = A is much better, "A+" = slightly', None),  # echoed label list, no choice key
        ('The answer is: "A=B"', "A=B"),  # short reply naming one label
        ("B++", "B++"),
        ("A+ or B+?", None),  # two labels
        ("A is much better, B is slightly better, B++ is B is much better.", None),  # long echo
        ('{"choice": "A>B"}', None),
        # prefilled replies (LABEL_PREFILL + what a small judge writes)
        ('{"choice": "A+", "analysis of A": "', "A+"),
        ('{"choice": "A=B"}\n\nThe two responses are both A+B and A=B.', "A=B"),
        ('{"choice": "B++"', "B++"),
        ('{"choice": "A", "analysis of A', None),  # "A" is not a label
        ('{"choice": "B+ or B', None),  # an unclosed label followed by more: an echo of the options
        ('{"choice": "B++, B, A+B', None),
        ('{"choice": "A++ is better', None),
        ('{"analysis of A": "cut', None),
        (None, None),
    ],
)
def test_parse_label(text, expected):
    assert parse_label(text) == expected


def test_prefills_open_the_verdict_field():
    from helpers.evaluation.wildbench import LABEL_PREFILL, SCORE_PREFILL

    assert parse_score(SCORE_PREFILL) is None and parse_label(LABEL_PREFILL) is None  # the prefill alone is no verdict
    assert parse_score(SCORE_PREFILL + "8}") == 8.0 and parse_label(LABEL_PREFILL + 'B+"}') == "B+"
    assert '"score"' in score_prompt(Task("t", [], "q", ["c"], "Math"), "a")[0]["content"]
    assert '"choice"' in reward_prompt(Task("t", [], "q", ["c"], "Math"), "a", "b")[0]["content"]


# ----------------------------------------------------------------- reliability and CIs
def test_position_consistency():
    pairs = [
        ("A+", "B+"),  # model wins in both orders: consistent
        ("A+", "A+"),  # slot A wins both times: position bias, inconsistent
        ("A=B", "A=B"),  # tie both times: consistent
        ("B++", "A+"),  # model loses in both orders: consistent
        (None, "A+"),
    ]  # failed parse
    out = position_consistency(pairs)
    assert out["pairs"] == 4 and out["failed_pairs"] == 1
    assert out["consistent_rate"] == pytest.approx(3 / 4)
    assert out["same_slot_rate"] == pytest.approx(1 / 4)
    assert out["a_slot_rate"] == pytest.approx(4 / 6)  # decisive: A,B | A,A | B,A -> A wins 4 of 6


def test_core_position_consistency_counts_slot_signs_and_failed_pairs():
    from helpers.core.stats import position_consistency as core_consistency

    out = core_consistency([(1, -1), (1, 1), (0, 0), (-1, -1), (-1, 1), (None, 1)])
    assert out["pairs"] == 5 and out["failed_pairs"] == 1
    assert out["consistent_rate"] == pytest.approx(3 / 5)
    assert (out["first_slot_rate"], out["second_slot_rate"]) == (pytest.approx(1 / 5), pytest.approx(1 / 5))
    assert out["same_slot_rate"] == pytest.approx(2 / 5) and out["a_slot_rate"] == pytest.approx(4 / 8)
    assert math.isnan(core_consistency([])["consistent_rate"])


def test_bootstrap_ci_brackets_the_mean():
    values = [float(v) for v in range(100)]
    lo, hi = bootstrap_ci(values, lambda xs: sum(xs) / len(xs), rounds=300)
    assert lo < 49.5 < hi and hi - lo < 30
    assert bootstrap_ci([5.0] * 10, lambda xs: sum(xs) / len(xs), rounds=50) == (5.0, 5.0)
    assert all(math.isnan(x) for x in bootstrap_ci([], lambda xs: 0.0))


# ----------------------------------------------------------------- tasks, prompts, contestants
HUB_LIKE = {
    "session_id": "s1",
    "conversation_input": [
        {"role": "user", "content": "hi", "language": "English"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "sum 2+2"},
    ],
    "checklist": ["Is it 4?"],
    "primary_tag": "Math",
    "secondary_tags": ["Reasoning"],
    "intent": "x",
    "references": {"gpt-4": "4"},
}


def test_task_from_hub_record():
    t = task_from_record(HUB_LIKE)
    assert t.id == "s1" and t.query == "sum 2+2" and len(t.history) == 2
    assert t.messages[-1] == {"role": "user", "content": "sum 2+2"}
    assert t.groups == ["Planning & Reasoning", "Math & Data Analysis"]


@pytest.mark.parametrize(
    "bad",
    [
        {"conversation_input": [{"role": "user", "content": "x"}]},
        {"session_id": "a", "conversation_input": []},
        {
            "session_id": "a",
            "conversation_input": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}],
        },
        {"session_id": "a", "conversation_input": [{"role": "robot", "content": "x"}]},
    ],
)
def test_bad_task_records_raise_clear_errors(bad):
    with pytest.raises(WildBenchError):
        task_from_record(bad)


def test_load_tasks_skips_bad_records(tmp_path):
    import json

    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(HUB_LIKE) + "\n" + json.dumps({"session_id": "bad", "conversation_input": []}) + "\n")
    tasks, skipped = load_tasks(str(path))
    assert [t.id for t in tasks] == ["s1"] and len(skipped) == 1


def test_builtin_task_set_covers_all_groups_with_checklists():
    tasks, skipped = load_tasks("builtin:wildbench_tasks.jsonl")
    assert not skipped and len(tasks) >= 15
    assert all(len(t.checklist) >= 5 for t in tasks)
    assert any(t.history for t in tasks)
    chosen = select_tasks(tasks, 10)
    assert len(chosen) == 10 and len({t.id for t in chosen}) == 10
    assert {g for t in chosen for g in t.groups} == set(GROUPS)


def test_prompts_carry_history_checklist_and_truncate():
    t = Task("x", [{"role": "user", "content": "earlier"}], "now " * 2000, ["check one"], "Math")
    msgs = score_prompt(t, "answer")
    text = msgs[0]["content"]
    assert "USER: earlier" in text and "- check one" in text and "answer" in text and "(truncated)" in text
    rp = reward_prompt(t, "first", "second")[0]["content"]
    assert rp.index("first") < rp.index("second") and '"choice"' in rp
    assert truncate_words("a b c", 2) == "a b ... (truncated)" and truncate_words("a b", 2) == "a b"


def test_parse_contestant():
    c = parse_contestant("smollm2-135m-instruct; name: terse; system: Answer in one sentence.; temperature=0.7")
    assert (c.name, c.model, c.temperature, c.system) == (
        "terse",
        "smollm2-135m-instruct",
        0.7,
        "Answer in one sentence.",
    )
    assert parse_contestant("outputs/01_magpie/quick/checkpoints/sft").name == "checkpoints/sft"
    t = Task("x", [], "q", [], "Math")
    assert c.messages(t)[0] == {"role": "system", "content": "Answer in one sentence."}
    assert parse_contestant("m").messages(t) == [{"role": "user", "content": "q"}]
    with pytest.raises(WildBenchError):
        parse_contestant("m; colour=red")
    with pytest.raises(WildBenchError):
        parse_contestant("m; temperature=hot")


def test_summaries_on_a_small_hand_made_run():
    from helpers.core.stats import rank_agreement
    from helpers.evaluation.wildbench import group_rewards, reward_summary, score_summary

    groups = {"t1": ["Creative Tasks"], "t2": ["Coding & Debugging"]}
    recs = [
        {"model": "m", "task": "t1", "score": 9},
        {"model": "m", "task": "t2", "score": 5},
        {"model": "m", "task": "t2", "score": None},
    ]
    row = score_summary(recs, groups, rounds=50, aggregation="renormalise")[0]
    assert row["wb_score"] == pytest.approx((0.5 * 80 + 1.25 * 0) / 1.75)
    assert score_summary(recs, groups, rounds=50)[0]["wb_score"] == pytest.approx((0.5 * 80 + 1.25 * 0) / 4.75)
    assert row["wb_score_plain_mean"] == pytest.approx(40) and row["n_failed"] == 1
    assert row["wb_score_lo"] <= row["wb_score"] <= row["wb_score_hi"]
    games = [
        {
            "model": "m",
            "baseline": "b1",
            "task": "t1",
            "label": "A+",
            "model_is_a": True,
            "len_model": 900,
            "len_baseline": 100,
        },
        {
            "model": "m",
            "baseline": "b1",
            "task": "t2",
            "label": "A++",
            "model_is_a": False,
            "len_model": 10,
            "len_baseline": 10,
        },
        {
            "model": "m",
            "baseline": "b2",
            "task": "t1",
            "label": "A=B",
            "model_is_a": True,
            "len_model": 10,
            "len_baseline": 10,
        },
        {
            "model": "m",
            "baseline": "b2",
            "task": "t2",
            "label": "junk",
            "model_is_a": True,
            "len_model": 10,
            "len_baseline": 10,
        },
    ]
    board, by_k = reward_summary(games, Ks=[-1, 500], K_main=500, rounds=50)
    # vs b1: K=500 -> (0 + -1)/2 = -50 ; vs b2: 0 (one valid game); mixture -25
    assert board[0]["reward_vs[b1]"] == pytest.approx(-50) and board[0]["reward_vs[b2]"] == pytest.approx(0)
    assert board[0]["wb_reward_mix"] == pytest.approx(-25) and board[0]["n_failed"] == 1
    no_k = [r for r in by_k if r["K"] == -1][0]
    assert no_k["vs[b1]"] == pytest.approx(-25) and no_k["wb_reward_mix"] == pytest.approx(-12.5)
    per_group = {r["group"]: r["wb_reward_mix"] for r in group_rewards(games, groups, K=-1, aggregation="renormalise")}
    assert per_group == {"Creative Tasks": pytest.approx(25.0), "Coding & Debugging": pytest.approx(-100.0)}
    # upstream: the coding game against b2 failed to parse, so b2 has no coding reward and counts 0
    per_group = {r["group"]: r["wb_reward_mix"] for r in group_rewards(games, groups, K=-1)}
    assert per_group == {"Creative Tasks": pytest.approx(25.0), "Coding & Debugging": pytest.approx(-50.0)}
    assert rank_agreement({"a": 1, "b": 2, "c": 3}, {"a": 10, "b": 20, "c": 30})["kendall"] == pytest.approx(1.0)
    assert rank_agreement({"a": 1, "b": 2}, {"a": 1, "b": 2})["kendall"] is None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a degenerate judge's constant scores: no warning in the report, None
        same = rank_agreement({"a": 5, "b": 5, "c": 5}, {"a": 1, "b": 2, "c": 3})
    assert same["spearman"] is None and same["kendall"] is None and same["constant"]


# ----------------------------------------------------------------- task-macro WB-Reward (upstream and ours)
_GROUPS3 = {"t1": ["Creative Tasks"], "t2": ["Coding & Debugging"], "t3": ["Creative Tasks", "Planning & Reasoning"]}


def _g(baseline, task, label, model_is_a):
    return {
        "model": "m",
        "baseline": baseline,
        "task": task,
        "label": label,
        "model_is_a": model_is_a,
        "len_model": 10,
        "len_baseline": 10,
    }


_GAMES3 = [
    _g("b1", "t1", "A++", True),  # +1
    _g("b1", "t2", "B+", True),  # -0.5
    _g("b1", "t3", "A=B", True),  # 0
    _g("b2", "t1", "A+", False),  # -0.5
    _g("b2", "t3", "B++", False),  # +1
    _g("b2", "t2", "junk", True),
]  # parse failure: b2 has no coding reward; b3 has no game at all


def test_task_macro_reward_hand_computed():
    from helpers.evaluation.wildbench import group_rewards, reward_summary, task_macro_reward

    # per group (x100): b1 Creative (1+0)/2=50, Coding -50, Planning 0; b2 Creative (-0.5+1)/2=25, Planning 100
    up = ((0.5 * 50 + 1.25 * -50 + 1.25 * 0) / 4.75 + (0.5 * 25 + 1.25 * 100) / 4.75 + 0) / 3
    ours = ((0.5 * 50 + 1.25 * -50 + 1.25 * 0) / 3.0 + (0.5 * 25 + 1.25 * 100) / 1.75) / 2
    bl = ["b1", "b2", "b3"]
    assert task_macro_reward(_GAMES3, _GROUPS3, K=-1, baselines=bl) == pytest.approx(up)  # 7.02
    assert task_macro_reward(_GAMES3, _GROUPS3, K=-1, baselines=bl, aggregation="renormalise") == pytest.approx(
        ours
    )  # 33.04
    # upstream's macro is linear: it equals the weighted macro (/4.75) of the per-group mixtures (missing = 0)
    per_group = {r["group"]: r["wb_reward_mix"] for r in group_rewards(_GAMES3, _GROUPS3, K=-1, baselines=bl)}
    assert per_group == pytest.approx(
        {"Creative Tasks": 25.0, "Coding & Debugging": -50 / 3, "Planning & Reasoning": 100 / 3}
    )
    assert task_macro(per_group) == pytest.approx(up)
    board, by_k = reward_summary(_GAMES3, Ks=[-1], K_main=-1, rounds=200, baselines=bl, task_groups_by_id=_GROUPS3)
    row = board[0]
    assert row["wb_reward_task_macro"] == pytest.approx(up)
    assert row["wb_reward_task_macro_lo"] <= row["wb_reward_task_macro"] <= row["wb_reward_task_macro_hi"]
    # the plain mixture: b1 (1-0.5+0)/3, b2 (-0.5+1)/2, b3 missing -> 0, divided by 3
    assert row["wb_reward_mix"] == pytest.approx(100 * (1 / 6 + 1 / 4) / 3)
    assert by_k[0]["wb_reward_task_macro"] == pytest.approx(up)
    board_r, _ = reward_summary(
        _GAMES3, Ks=[-1], K_main=-1, rounds=20, baselines=bl, aggregation="renormalise", task_groups_by_id=_GROUPS3
    )
    assert board_r[0]["wb_reward_task_macro"] == pytest.approx(ours)
    assert board_r[0]["wb_reward_mix"] == pytest.approx(100 * (1 / 6 + 1 / 4) / 2)


def test_a_baseline_counts_its_self_comparison_as_zero_upstream():
    from helpers.evaluation.wildbench import reward_summary

    # "b1" is a baseline and a contestant: it has no games against itself
    games = [{**_g("b2", "t1", "A++", True), "model": "b1"}]
    up, _ = reward_summary(games, Ks=[-1], K_main=-1, rounds=10, baselines=["b1", "b2"], task_groups_by_id=_GROUPS3)
    ours, _ = reward_summary(
        games,
        Ks=[-1],
        K_main=-1,
        rounds=10,
        baselines=["b1", "b2"],
        aggregation="renormalise",
        task_groups_by_id=_GROUPS3,
    )
    assert up[0]["wb_reward_mix"] == pytest.approx(50.0) and ours[0]["wb_reward_mix"] == pytest.approx(100.0)
    assert up[0]["wb_reward_task_macro"] == pytest.approx(0.5 * 100 / 4.75 / 2)
    assert ours[0]["wb_reward_task_macro"] == pytest.approx(100.0)


def test_diverging_limits_are_symmetric_and_never_degenerate():
    import numpy as np

    from helpers.evaluation.wildbench import diverging_limits

    assert diverging_limits([[1.0, -30.0], [np.nan, 12.0]]) == (-30.0, 30.0, False)
    assert diverging_limits([[0.0, 0.0]], [[5.0]]) == (-5.0, 5.0, False)
    assert diverging_limits([[0.0, 0.0], [0.0, np.nan]]) == (-1.0, 1.0, True)  # all zero: no signal
    assert diverging_limits([[np.nan]]) == (-1.0, 1.0, True)


def test_the_leaderboard_figure_draws_an_interval_that_misses_its_estimate():
    """A percentile interval need not contain its estimate (few resamples, parse failures): the bars are cut at
    the point instead of failing with negative error lengths (a full-profile rehearsal hit this)."""
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    from helpers.evaluation.wildbench import plots

    board = pd.DataFrame(
        [
            {
                "model": "a",
                "wb_score": 10.0,
                "wb_score_lo": 12.0,
                "wb_score_hi": 20.0,
                "wb_reward_task_macro": 5.0,
                "wb_reward_task_macro_lo": 6.0,
                "wb_reward_task_macro_hi": 9.0,
                "wb_reward_mix": 1.0,
                "wb_reward_lo": -3.0,
                "wb_reward_hi": 0.5,
            }
        ]
    )
    fig = plots.leaderboard_figure(board, 500, ["b"], "upstream", 4)
    assert fig is not None
