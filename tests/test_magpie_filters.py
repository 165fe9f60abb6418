"""Magpie filter presets (#25 item 2): the paper's absolute presets and the relative ones (quantiles of the run's
own tags and rewards, top shares), the rule in words, what every preset keeps, the data card of the kept set, and
SFT on the filtered set (joined by id). Hand-made records, no model."""

from __future__ import annotations

import random

import pytest

from helpers import magpie as mp


def _rec(
    i,
    q="good",
    d="medium",
    reward=None,
    dup_of=None,
    instr="Explain how tides work in detail",
    resp="x" * 10,
    cat="Reasoning",
):
    cid = f"c{i}"
    return {
        "conversation_id": cid,
        "instruction": instr,
        "response": resp,
        "input_quality": q,
        "difficulty": d,
        "instruct_reward": reward,
        "min_similar_conversation_id": dup_of or cid,
        "language": "en",
        "response_tokens": len(resp),
        "task_category": cat,
    }


def _ids(recs):
    return [r["conversation_id"] for r in recs]


# a 135M tagger's labels: mostly poor, none reaches the paper's "average"
POOR = [
    _rec(0, q="very poor"),
    _rec(1, q="poor"),
    _rec(2, q="poor"),
    _rec(3, q="very poor"),
    _rec(4, q="poor"),
    _rec(5, q="poor", dup_of="c1"),
    _rec(6, q="poor", instr="Complete the following:"),
]


def test_pro_relative_keeps_the_upper_half_of_the_runs_own_quality_tags():
    assert mp.apply_filters(POOR, mp.filter_spec("pro"))[0] == []  # the paper's thresholds: nothing
    kept, steps = mp.apply_filters(POOR, mp.filter_spec("pro-relative"))
    # 5 reach the quality step (a duplicate and a ':' ending are gone): levels [vp, p, p, vp, p], median = poor
    assert _ids(kept) == ["c1", "c2", "c4"]
    step = next(s for s in steps if s["filter"].startswith("quality"))
    assert step["filter"] == "quality >= run's 0.5 quantile (poor)" and step["dropped"] == 2
    assert "skipped" in steps[-1]["note"] and steps[-1]["filter"].startswith("reward")  # no reward model
    kept, _ = mp.apply_filters(POOR, mp.filter_spec("pro-relative", quantile=0.0))  # the minimum: all 5 tagged
    assert len(kept) == 5


def test_pro_relative_reward_quantile_and_records_without_tags():
    recs = [_rec(i, q="good", reward=float(r)) for i, r in enumerate([-20, -15, -12, -30, -11])]
    kept, steps = mp.apply_filters(recs, mp.filter_spec("pro-relative"))
    assert _ids(kept) == ["c1", "c2", "c4"]  # rewards >= the median, -15 (the paper's -10 keeps none)
    assert steps[-1]["filter"] == "reward >= run's 0.5 quantile (-15)"
    assert mp.apply_filters(recs, mp.filter_spec("pro"))[0] == []
    untagged = [_rec(0, q=None), _rec(1, q=None)]
    kept, steps = mp.apply_filters(untagged, mp.filter_spec("pro-relative"))
    assert len(kept) == 2 and any("no record has a quality tag" in s["note"] for s in steps)
    kept, _ = mp.apply_filters(untagged + [_rec(2, q="poor")], mp.filter_spec("pro-relative"))
    assert _ids(kept) == ["c2"]  # an untagged record fails a threshold once any record has the tag


def test_relative_quality_uses_the_taggers_expected_level_when_one_label_wins_everywhere():
    recs = [
        dict(_rec(i, q="very poor"), input_quality_score=x, difficulty_score=1.0)
        for i, x in enumerate([0.2, 0.9, 0.4, 0.1, 0.6])
    ]
    kept, steps = mp.apply_filters(recs, mp.filter_spec("pro-relative"))
    assert _ids(kept) == ["c1", "c2", "c4"]  # expected levels >= their median, 0.4; the labels alone keep all 5
    assert steps[3]["filter"] == "quality >= run's 0.5 quantile (expected level 0.4)"
    assert "5 expected levels" in steps[3]["note"]
    no_scores = [{k: v for k, v in r.items() if k != "input_quality_score"} for r in recs]
    assert len(mp.apply_filters(no_scores, mp.filter_spec("pro-relative"))[0]) == 5


def test_logprob_tags_carry_the_expected_level(monkeypatch):
    from helpers.core import hf, logprobs

    rows = {5: [0.0, 0.0, -60.0, -60.0, -60.0], 12: [0.0] + [-60.0] * 11}  # two halves on levels 0 and 1

    def fake(scorer, raws, choices, desc=None):
        return [rows[len(choices)] for _ in raws]

    monkeypatch.setattr(logprobs, "choice_logprobs", fake)
    monkeypatch.setattr(hf, "render", lambda tok, msgs: "prompt")
    (rec,) = mp.logprob_tag_process(type("S", (), {"tokenizer": None})(), mp.TAG_TASKS)(
        [{"id": "a", "instruction": "q"}]
    )
    assert rec["input_quality"] == "very poor" and rec["score_quality"] == pytest.approx(0.5)
    assert rec["score_difficulty"] == pytest.approx(0.5) and "score_category" not in rec
    (r,) = mp.build_records(
        [
            {
                "id": "a",
                "instruction": "q",
                "pre_query_template": "",
                "gen_input_configs": {},
                "min_neighbor_distance": 1.0,
                "repeat_count": 0,
                "min_similar_conversation_id": "a",
            }
        ],
        [{"id": "a", "response": "x", "turns": [], "response_tokens": 1, "response_finish": "stop"}],
        {"a": rec},
        {},
        {},
        None,
        {},
    )
    assert r["input_quality_score"] == pytest.approx(0.5) and mp.to_sharegpt(r)["difficulty_score"] == pytest.approx(
        0.5
    )


def test_air_relative_and_top_reward_keep_their_top_share():
    recs = [
        _rec(i, q=q, d=d, resp="r" * n)
        for i, (q, d, n) in enumerate(
            [
                ("good", "hard", 5),
                ("poor", "hard", 90),
                ("good", "easy", 80),
                ("excellent", "medium", 40),
                ("average", "hard", 30),
                ("good", "medium", 20),
                ("good", "hard", 60),
            ]
        )
    ]
    kept, steps = mp.apply_filters(recs, mp.filter_spec("air-relative", top_share=0.5))
    # quality >= median (good) -> c0 c2 c3 c5 c6; difficulty >= median of those (medium) -> c0 c3 c5 c6;
    # then the longest half, rounded up: 2 of 4
    assert _ids(kept) == ["c3", "c6"] and steps[-1]["filter"] == "top 50% longest responses"
    rewarded = [_rec(i, reward=r) for i, r in enumerate([0.1, 0.9, 0.5, 0.9, -1.0, 0.3, 0.2])]
    kept, _ = mp.apply_filters(rewarded, mp.filter_spec("top-reward", top_share=0.3))
    assert _ids(kept) == ["c1", "c2", "c3"]  # ceil(0.3 * 7) = 3 highest (the tie at 0.9 both in)
    kept, _ = mp.apply_filters(rewarded, mp.filter_spec("top-reward", top_share=0.3, top_n_reward=1))
    assert _ids(kept) == ["c1"]  # the top 1 first (ties by id), then 30% of 1 = 1
    kept, steps = mp.apply_filters(recs, mp.filter_spec("top-reward"))
    assert len(kept) == len(recs) and "no reward scores" in steps[-1]["note"]  # no reward model: skipped, said so


def test_relative_thresholds_never_keep_zero_of_a_non_empty_tagged_set():
    rng = random.Random(0)
    for trial in range(200):
        n = rng.randint(1, 12)
        recs = [
            _rec(
                i,
                q=rng.choice(mp.QUALITY_LEVELS),
                d=rng.choice(mp.DIFFICULTY_LEVELS),
                reward=rng.choice([None, rng.uniform(-30, 5)]),
                resp="r" * rng.randint(1, 50),
            )
            for i in range(n)
        ]
        q, share = rng.choice([0.0, 0.25, 0.5, 0.9, 1.0]), rng.choice([0.01, 0.3, 0.5, 1.0])
        for preset in mp.RELATIVE_PRESETS:
            kept, _ = mp.apply_filters(recs, mp.filter_spec(preset, quantile=q, top_share=share))
            assert kept, (trial, preset, q, share)
    assert [mp.top_count(n, 0.3) for n in (0, 1, 3, 10, 11)] == [0, 1, 1, 3, 4]
    assert mp.quantile_threshold([3, 1, 2, 2], 0.5) == 2 and mp.quantile_threshold([], 0.5) is None


def test_spec_overrides_and_the_rule_in_words():
    assert mp.filter_spec("pro", quantile=0.9, top_share=0.1) == mp.PRESETS["pro"]  # absolute: untouched
    spec = mp.filter_spec("air-relative", quantile=0.8, top_share=0.1)
    assert (spec.quality_quantile, spec.difficulty_quantile, spec.reward_quantile, spec.top_share_longest) == (
        0.8,
        0.8,
        None,
        0.1,
    )
    words = mp.describe_spec(spec)
    assert "0.8 quantile" in words and "longest 10%" in words and "near-duplicate" in words
    assert "median" in mp.describe_spec(mp.filter_spec("pro-relative"))
    assert "reward >= -10" in mp.describe_spec(mp.PRESETS["pro"]) and "input quality >= average" in mp.describe_spec(
        mp.PRESETS["pro"]
    )
    assert mp.describe_spec(mp.PRESETS["none"]) == "keep every answered record"
    assert mp.spec_fields(mp.filter_spec("none", min_quality="good")) == {"min_quality": "good"}
    with pytest.raises(ValueError, match="quality_quantile"):
        mp.filter_spec("pro-relative", quantile=1.5)


def test_preset_counts_and_the_kept_card():
    counts = mp.preset_counts(POOR)
    assert counts == {"none": 7, "pro": 0, "air": 0, "pro-relative": 3, "air-relative": 1, "top-reward": 5}
    kept, steps = mp.apply_filters(POOR, mp.filter_spec("pro-relative"))
    s = mp.kept_summary(POOR, kept, steps, "pro-relative", mp.filter_spec("pro-relative"), counts)
    assert (s["n_kept"], s["n_records"], s["kept_share"]) == (3, 7, pytest.approx(3 / 7))
    assert [(x["entering"], x["passed"]) for x in s["filter_steps"]] == [(7, 6), (6, 5), (5, 3), (3, 3)]
    assert s["categories"] == {"Reasoning": 3} and s["response_tokens"] == {"min": 10, "median": 10, "max": 10}
    assert [e["conversation_id"] for e in s["examples"]] == ["c1", "c2", "c4"]
    md = mp.kept_markdown(s, "3 filtered conversations")
    assert "Kept **3 of 7 (42.9%)**" in md and "| pro | 0 of 7 |" in md and "SFT: 3 filtered" in md
    assert s["rule"] in md
    card = mp.data_card("x", [{"stage": "samples", "count": 7}], 3, 7, {}, {}, {}, kept_section=md)
    assert "## What was kept" in card and "## Task categories" not in card
    empty = mp.kept_summary(POOR, [], steps, "pro", mp.PRESETS["pro"], counts)
    assert empty["n_kept"] == 0 and empty["examples"] == [] and empty["instruction_words"] is None
    assert "Kept **0 of 7" in mp.kept_markdown(empty)


def test_sft_trains_on_the_filtered_set_joined_by_id():
    rows_all = [mp.to_sharegpt(r) for r in POOR]
    kept = [dict(POOR[4]), dict(POOR[1])]  # another order, other dict objects: the join is by id
    rows = mp.sft_rows_for("filtered", rows_all, kept)
    assert [x["conversation_id"] for x in rows] == ["c1", "c4"]
    assert mp.sft_rows_for("all", rows_all, kept) == rows_all
    assert mp.sft_rows_for("filtered", rows_all, []) == []
    with pytest.raises(ValueError, match="sft_data"):
        mp.sft_rows_for("kept", rows_all, kept)
    m = mp.sft_metrics(rows, [{"loss": 2.0}, {"loss": 1.5}, {"train_runtime": 1}], "filtered", None, "ck")
    assert m["sft_n_examples"] == 2 and m["sft_rows_key"] == mp.sft_rows_key(rows) and m["sft_loss_last"] == 1.5
    assert mp.sft_card_line(m, 4) == "2 filtered conversations, 4 steps, loss 2.000 -> 1.500"
    skipped = mp.sft_metrics([], [], "filtered", "SFT skipped: no records", "ck")
    assert skipped["sft_n_examples"] == 0 and mp.sft_card_line(skipped, 4) == "SFT skipped: no records"


def _m(**kw):
    return {"n_samples": 10, "n_clean": 8, "near_duplicate_fraction": 0.1, "n_with_response": 7, **kw}


def test_findings_say_what_was_kept_and_what_the_paper_presets_would_keep():
    counts = {"none": 7, "pro": 0, "air": 0, "pro-relative": 3}
    out = mp.findings(
        _m(
            n_kept=3,
            preset_counts=counts,
            filter_rule="quality >= the run's median",
            sft_loss_first=2.0,
            sft_loss_last=1.0,
            sft_data="filtered",
            sft_n_examples=3,
        ),
        filter_preset="pro-relative",
    )
    assert out["signal"] == "3 records kept"
    assert "kept 3/7" in out["finding"] and "pro 0/7" in out["finding"] and "air 0/7" in out["finding"]
    assert any("SFT on 3 filtered records" in d for d in out["findings"])
    assert any("none at this tagger's labels" in d for d in out["findings"])
    out = mp.findings(_m(n_kept=0, preset_counts=counts), filter_preset="pro")
    assert out["signal"] == "filters removed every record" and "kept 0/7" in out["finding"]
    assert any("removed all 7" in d for d in out["findings"])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"filter_preset": "ultra"}, "filter_preset"),
        ({"min_quality": "great"}, "min_quality"),
        ({"min_difficulty": "medium-ish"}, "min_difficulty"),
        ({"filter_quantile": 1.2}, "filter_quantile"),
        ({"filter_preset": "top-reward", "filter_top_share": 0.0}, "filter_top_share"),
        ({"top_n_reward": 0}, "top_n_reward"),
        ({"top_n_longest": -3}, "top_n_longest"),
    ],
)
def test_precheck_refuses_bad_filter_params(params, match):
    with pytest.raises(ValueError, match=match):
        mp.check_params({"filter_preset": "pro-relative", **params})


def test_precheck_accepts_every_profile():
    from helpers.core.params import PARAMS_DIR, load_params_file

    for path in sorted((PARAMS_DIR / "01_magpie").glob("*.yaml")):
        params = load_params_file(path)
        mp.check_params(params)
        assert {"filter_preset", "filter_quantile", "filter_top_share", "sft_data"} <= set(params), path.name
        assert params["sft_data"] == "filtered", path.name
