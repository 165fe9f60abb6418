"""05_cdr's pair sweep: ``sweep_pairs`` parsing (list, file, all) and its precheck, one scoring per model whatever the
number of pairs, pair rewards from cached scores against a hand computation, the full-gpu-sweep pair file, and the
default pair against its members (paired bootstrap, computed finding)."""

from __future__ import annotations

import json

import pytest

from helpers import cdr
from helpers.cdr import rewardbench as rb
from helpers.cdr.pairs import ALL, PAIR_TYPES, PairsError, load_pair_file, parse_sweep_pairs, sweep_pair_list
from helpers.core.logprobs import ResponseLogProb
from helpers.core.params import PARAMS_DIR, load_params_file

ZOO = ["big", "mid", "small"]


# --------------------------------------------------------------------------- parsing and the precheck
def test_all_and_none_mean_every_pair_once_oriented_by_the_gap():
    assert parse_sweep_pairs("all", ZOO) == ALL and parse_sweep_pairs(None, ZOO) == ALL
    pairs, tied = sweep_pair_list("all", ZOO, {"big": 0.9, "mid": 0.5, "small": 0.1})
    assert [(s, w) for s, w, _ in pairs] == [("big", "small"), ("big", "mid"), ("mid", "small")] and tied == []
    assert [round(g, 6) for *_, g in pairs] == [0.8, 0.4, 0.4]


def test_explicit_list_keeps_order_and_orientation_and_drops_duplicates():
    got = parse_sweep_pairs([["small", "big"], ["big", "mid"], ("small", "big")], ZOO)
    assert got == [("small", "big"), ("big", "mid")]
    pairs, tied = sweep_pair_list(got, ZOO, {"big": 0.9, "mid": 0.5, "small": 0.1})
    assert [(s, w, round(g, 6)) for s, w, g in pairs] == [("small", "big", -0.8), ("big", "mid", 0.4)] and tied == []


@pytest.mark.parametrize(
    "suffix, text",
    [
        (".yaml", "# a comment\npairs:\n  - {strong: big, weak: mid, type: dpo-over-sft}\n  - [mid, small]\n"),
        (".csv", "# a comment\nstrong,weak,type\nbig,mid,dpo-over-sft\nmid,small,sft-over-base\n"),
        (".jsonl", '{"strong": "big", "weak": "mid"}\n{"strong": "mid", "weak": "small"}\n'),
    ],
)
def test_pair_files(tmp_path, suffix, text):
    path = tmp_path / f"pairs{suffix}"
    path.write_text(text)
    assert parse_sweep_pairs(str(path), ZOO) == [("big", "mid"), ("mid", "small")]


@pytest.mark.parametrize(
    "spec, message",
    [
        ([["big", "bigg"]], r"1 model\(s\) not in the zoo: 'bigg' \(did you mean 'big'\?\)"),
        ([["big", "big"]], "pairs a model with itself"),
        ([["big"]], r"each pair is \[strong, weak\]"),
        ([], "no pairs"),
        ("", "is empty"),
        (3, 'must be "all"'),
    ],
)
def test_bad_pairs_are_one_line_errors_naming_the_parameter(spec, message):
    with pytest.raises(PairsError, match=message) as err:
        parse_sweep_pairs(spec, ZOO)
    assert str(err.value).startswith("parameter 'sweep_pairs'") and "\n" not in str(err.value)


def test_unreadable_pair_file(tmp_path):
    with pytest.raises(PairsError, match="not a readable pairs file"):
        parse_sweep_pairs(str(tmp_path / "missing.yaml"), ZOO)


def test_precheck_refuses_a_pair_outside_the_zoo():
    params = load_params_file(PARAMS_DIR / "05_cdr" / "quick.yaml")
    cdr.check_params(params)  # the quick profile passes
    with pytest.raises(ValueError, match="sweep_pairs.*'layers:9'"):
        cdr.check_params({**params, "sweep_pairs": [["smollm2-135m-instruct", "layers:9"]]})


# --------------------------------------------------------------------------- rewards from cached scores
def test_pair_reward_from_cached_scores_matches_a_hand_computation():
    lp = {
        "s": {"e/chosen": ResponseLogProb(-10.0, -2.0, 5), "e/rejected": ResponseLogProb(-12.0, -3.0, 4)},
        "w": {"e/chosen": ResponseLogProb(-14.0, -3.5, 4), "e/rejected": ResponseLogProb(-11.0, -2.2, 5)},
    }
    # sum: chosen -10 - (-14) = 4, rejected -12 - (-11) = -1; mean: chosen -2 - (-3.5) = 1.5, rejected -3 + 2.2 = -0.8
    assert cdr.pair_rewards(lp, "s", "w", ["e"], "sum") == ([4.0], [-1.0])
    ch, rj = cdr.pair_rewards(lp, "s", "w", ["e"], "mean")
    assert ch == pytest.approx([1.5]) and rj == pytest.approx([-0.8])
    assert cdr.pair_rewards(lp, "w", "s", ["e"], "sum") == ([-4.0], [1.0])  # the other way round: minus


class _Stages:
    """The notebook's keyed stores, reduced to one JSONL file per (stage, part)."""

    def __init__(self, where):
        self.where = where

    def store(self, stage, part="", **inputs):
        from helpers.core.store import JsonlStore

        return JsonlStore(self.where / f"{stage}_{part}.jsonl")


@pytest.fixture
def counted_scorers(monkeypatch):
    """Counts LogProbScorer constructions (model loads) and the sequences each model scores."""
    import helpers.cdr.reward as reward

    loads, scored = {}, {}

    class Counting(reward.LogProbScorer):
        def __init__(self, model, **kw):
            loads[model] = loads.get(model, 0) + 1
            super().__init__(model, dtype="float32", device="cpu", **kw)
            self.counted_as = model

        def score(self, pairs, desc=None):
            scored[self.counted_as] = scored.get(self.counted_as, 0) + len(pairs)
            return super().score(pairs, desc=desc)

    monkeypatch.setattr(reward, "LogProbScorer", Counting)
    return loads, scored


def test_each_model_scores_the_data_once_whatever_the_number_of_pairs(
    tmp_path, tiny_model_dir, tiny_model_dir_b, tiny_base_model_dir, counted_scorers
):
    loads, scored = counted_scorers
    examples = rb.load_preference_set("builtin:rewardbench_offline.jsonl", per_subset=1)
    items, ids = cdr.response_items(examples, lambda e: rb.chat_prompt(e["prompt"])), [e["id"] for e in examples]
    zoo = {"a": tiny_model_dir, "b": tiny_model_dir_b, "c": tiny_base_model_dir}
    scoring = dict(batch_size=8, max_prompt_tokens=64, max_response_tokens=32, max_batch_tokens=0)
    stages, gaps = _Stages(tmp_path), {"a": 0.9, "b": 0.5, "c": 0.1}
    evaluate = cdr.rewardbench_evaluator(examples, seed=0)
    logprobs, timing = cdr.score_zoo(zoo, items, stages, "local", scoring)
    assert loads == {p: 1 for p in zoo.values()} and scored == {p: len(items) for p in zoo.values()}
    assert len(timing) == 3
    few, *_ = cdr.pair_sweep(zoo, gaps, logprobs, ids, "sum", evaluate, [["a", "b"]])
    every = [[s, w] for s in zoo for w in zoo if s != w]  # all 6 ordered pairs
    many, *_ = cdr.pair_sweep(zoo, gaps, logprobs, ids, "sum", evaluate, every)
    assert len(few) == 1 and len(many) == 6 and loads == {p: 1 for p in zoo.values()}  # pairs load no model
    again, timing = cdr.score_zoo(zoo, items, stages, "local", scoring)  # a rerun: every record is in the store
    assert scored == {p: len(items) for p in zoo.values()} and len(timing) == 0
    row = many.set_index(["strong", "weak"]).loc[("a", "b")]
    ch, rj = cdr.pair_rewards(again, "a", "b", ids, "sum")
    assert row.accuracy == pytest.approx(sum(c > r for c, r in zip(ch, rj)) / len(ids))


# --------------------------------------------------------------------------- the full-gpu-sweep pair file
def test_the_sweep_pair_file_has_221_typed_pairs_of_the_profiles_models():
    rows = load_pair_file("builtin:cdr_sweep_pairs.yaml")
    unique = {(r["strong"], r["weak"]) for r in rows}
    assert len(unique) == len(rows) >= 221 and all(s != w for s, w in unique)
    assert {r["type"] for r in rows} <= set(PAIR_TYPES) and cdr.check_pair_types(rows) == []
    assert {r["type"] for r in rows} == set(PAIR_TYPES)
    assert {r["lineage"] for r in rows} == {"parent", "family", "cross"}
    profile = load_params_file(PARAMS_DIR / "05_cdr" / "full-gpu-sweep.yaml")
    assert profile["sweep_pairs"] == "builtin:cdr_sweep_pairs.yaml"
    assert {m for p in unique for m in p} <= set(profile["zoo_models"])
    assert parse_sweep_pairs(profile["sweep_pairs"], profile["zoo_models"]) == [(r["strong"], r["weak"]) for r in rows]
    assert tuple(profile["default_pair"]) in unique  # the paper's default: a DPO model over its own SFT parent
    families = {m.split("/")[0] for m in profile["zoo_models"]}
    assert len(families) >= 6


def test_check_pair_types_names_bad_rows():
    rows = [
        {"strong": "a", "weak": "b", "type": "dpo-over-sft"},
        {"strong": "a", "weak": "b", "type": "dpo-over-sft"},
        {"strong": "c", "weak": "b", "type": "rlhf-over-sft"},
    ]
    assert cdr.check_pair_types(rows) == [
        "row 2 ('a', 'b'): duplicate pair",
        "row 3 ('c', 'b'): type 'rlhf-over-sft' is not one of " + str(PAIR_TYPES),
    ]


# --------------------------------------------------------------------------- the default pair vs its members
EVAL = rb.load_preference_set("builtin:rewardbench_offline.jsonl", per_subset=4)


def _methods(right: dict[str, float]) -> dict[str, tuple[list, list]]:
    """Per method, rewards that are right on the first ``share`` of every subset's examples."""
    seen: dict[str, int] = {}
    out = {m: ([], []) for m in right}
    for e in EVAL:
        k = seen[e["subset"]] = seen.get(e["subset"], 0) + 1
        for m, share in right.items():
            good = k <= share * 4
            out[m][0].append(1.0 if good else 0.0)
            out[m][1].append(0.0 if good else 1.0)
    return out


def test_paired_bootstrap_headlines_equal_rewardbench_and_resolve_clear_differences():
    methods = _methods({"ratio": 1.0, "child": 0.5, "parent": 0.25})
    c = cdr.member_comparison(EVAL, methods, "ratio", "child", "parent", seed=0)
    for k, m in (("ratio", "ratio"), ("strong", "child"), ("weak", "parent")):
        want = rb.rewardbench_report(EVAL, rb.pairwise_correct(*methods[m])).headline
        assert c[k] == pytest.approx(100 * want)
    assert c["ratio"] == 100 and c["strong"] == 50 and c["weak"] == 25
    assert c["ratio_minus_strong"] == pytest.approx(50) and c["ratio_minus_weak"] == pytest.approx(75)
    assert c["ratio_minus_strong_ci"][0] > 0 and c["ratio_minus_weak_ci"][0] > 0
    sentence, signal = cdr.comparison_sentence(c, "child", "parent")
    assert signal == "ratio beats both members" and "highest: the density ratio child / parent" in sentence
    assert "ratio - strong alone +50.0" in sentence and "resolved" in sentence


def test_equal_methods_are_not_resolved_and_a_missing_section_is_untestable():
    methods = _methods({"ratio": 0.5, "child": 0.5, "parent": 0.5})
    c = cdr.member_comparison(EVAL, methods, "ratio", "child", "parent", seed=0)
    assert c["ratio_minus_strong"] == 0 and c["ratio_minus_strong_ci"] == [0.0, 0.0]
    sentence, signal = cdr.comparison_sentence(c, "child", "parent")
    assert signal == "no resolved difference" and sentence.count("not resolved (CI covers 0)") == 2
    chat = [e for e in EVAL if e["section"] == "Chat"]
    c2 = cdr.member_comparison(
        chat, {m: (v[0][: len(chat)], v[1][: len(chat)]) for m, v in methods.items()}, "ratio", "child", "parent"
    )
    assert c2["ratio"] is None and cdr.comparison_sentence(c2, "child", "parent")[1] == "untestable"


def test_findings_lead_with_the_member_comparison():
    methods = _methods({"ratio": 0.25, "child": 1.0, "parent": 0.5})
    c = cdr.member_comparison(EVAL, methods, "ratio", "child", "parent", seed=0)
    m = {
        "ratio_headline": 25.0,
        "ratio_headline_ci": [10.0, 40.0],
        "ratio_tied_share": 0.0,
        "n_examples": len(EVAL),
        "default_pair": "child / parent",
        "variant": "sum",
        "default_pair_comparison": c,
    }
    out = cdr.findings(m)
    assert out["signal"] == "both members beat the ratio" and out["finding"].startswith(
        "The density ratio child / parent"
    )
    assert out["findings"][0] == out["finding"] and "highest: child alone" in out["finding"]
    json.dumps(out)


def test_a_base_model_without_template_scores_the_messages_as_plain_text(tiny_base_model_dir):
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]
    assert cdr.plain_chat_prompt(msgs) == "System: Be brief.\n\nUser: Hi?\n\nAssistant:"
    assert cdr.plain_chat_prompt("raw text") == "raw text"
    from helpers.core.logprobs import LogProbScorer

    scorer = LogProbScorer(tiny_base_model_dir, dtype="float32", device="cpu")
    assert cdr.model_prompts(scorer, [msgs]) == [cdr.plain_chat_prompt(msgs)]
    direct = scorer.score([(cdr.plain_chat_prompt(msgs), "Hello.")])[0]
    via_stage = cdr.reward._logprob_process(scorer)([{"id": "x", "item": "x", "prompt": msgs, "response": "Hello."}])
    assert via_stage[0]["sum"] == pytest.approx(direct.sum) and via_stage[0]["n_tokens"] == direct.n_tokens
