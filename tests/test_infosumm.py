"""Unit tests of helpers.infosumm: critics against hand-computed values on a tiny model, fragments on a worked
example, thresholds, controls, ROUGE, data loaders, the student's seq2seq path."""

from __future__ import annotations

import json
import random

import pytest

from helpers.infosumm import controls as isk
from helpers.infosumm import critics as isc
from helpers.infosumm import data as isd
from helpers.infosumm import evaluate as ise
from helpers.infosumm import pipeline as isp

DOC = "The city council voted on Tuesday to build a new bridge over the river. Work starts in May."
SUMMARY = "The council voted to build a new bridge."


# --------------------------------------------------------------------------- fragments (worked example)
def test_fragments_coverage_density_worked_example():
    # article: the cat sat on the mat today; summary: the cat sat on a mat
    # greedy fragments: "the cat sat on" (4), "a" has no match (skipped), "mat" (1)
    a, s = "The cat sat on the mat today.", "The cat sat on a mat"
    assert isc.extractive_fragments(a, s) == [["the", "cat", "sat", "on"], ["mat"]]
    cd = isc.coverage_density(a, s)
    assert cd["coverage"] == pytest.approx(5 / 6)
    assert cd["density"] == pytest.approx((16 + 1) / 6)
    assert cd["compression"] == pytest.approx(7 / 6)


def test_fragments_take_the_longest_match_and_handle_empty():
    # "b c" appears twice in the article; the longer run "a b c d" must win over the first "b c"
    assert isc.extractive_fragments("b c x a b c d", "a b c d") == [["a", "b", "c", "d"]]
    assert isc.coverage_density("a b", "") == {"coverage": 0.0, "density": 0.0, "compression": 0.0}
    assert isc.coverage_density("a b", "x y")["coverage"] == 0.0


def test_rouge_l_precision_flags_copies():
    assert isc.rouge_l_precision(DOC, "Work starts in May.") == pytest.approx(1.0)
    assert isc.rouge_l_precision(DOC, "Fish swim quietly") == 0.0
    assert isc.rouge_l_precision(DOC, "") == 0.0


# --------------------------------------------------------------------------- PMI critics on a tiny model
def _direct_sum(scorer, prompt: str, cont: str) -> float:
    from helpers.core import hf
    from helpers.core.logprobs import token_logprobs_unbatched

    p = hf.encode(scorer.tokenizer, prompt)
    r = scorer.tokenizer(cont, add_special_tokens=False).input_ids
    return sum(token_logprobs_unbatched(scorer.model, p, r))


def test_pmi_critics_match_hand_computed_logprobs(tiny_model_dir):
    from helpers.core.logprobs import LogProbScorer

    scorer = LogProbScorer(tiny_model_dir, batch_size=3)
    cands = [
        {"doc_id": "d", "document": DOC, "summary": SUMMARY},
        {"doc_id": "d", "document": DOC, "summary": "Work starts in May."},
        {"doc_id": "d", "document": DOC, "summary": "   "},
    ]
    got = isc.pmi_scores(scorer, cands)
    n_doc = len(scorer.tokenizer(DOC, add_special_tokens=False).input_ids)
    for c, g in zip(cands[:2], got[:2]):
        lp_doc = _direct_sum(scorer, "Summary: \n\nArticle:\n", DOC)  # the empty-summary baseline
        lp_doc_s = _direct_sum(scorer, f"Summary: {c['summary']}\n\nArticle:\n", DOC)
        lp_s_doc = _direct_sum(scorer, f"Article:\n{DOC}\n\nSummary:", " " + c["summary"])
        lp_s = _direct_sum(scorer, "Article:\n\n\nSummary:", " " + c["summary"])  # the empty-document baseline
        n_s = len(scorer.tokenizer(" " + c["summary"], add_special_tokens=False).input_ids)
        assert g["saliency_sum"] == pytest.approx(lp_doc_s - lp_doc, abs=1e-3)
        assert g["faithfulness_sum"] == pytest.approx(lp_s_doc - lp_s, abs=1e-3)
        assert g["saliency"] == pytest.approx((lp_doc_s - lp_doc) / n_doc, abs=1e-4)  # nats per document token
        assert g["faithfulness"] == pytest.approx((lp_s_doc - lp_s) / n_s, abs=1e-4)  # nats per summary token
        assert g["doc_tokens"] == n_doc and g["summary_tokens"] == n_s
    assert got[2]["saliency"] is None and got[2]["faithfulness"] is None


class WordScorer:
    """A hand-computable scorer: a continuation word costs 1 nat when it occurs in the prompt, 3 nats otherwise
    (one token per word)."""

    model_name = "word-scorer"

    def score(self, pairs, desc=None):
        from helpers.core.logprobs import ResponseLogProb

        out = []
        for prompt, cont in pairs:
            seen = set(isc.words(prompt))
            lps = [-1.0 if w in seen else -3.0 for w in isc.words(cont)]
            out.append(ResponseLogProb(sum(lps), sum(lps) / max(1, len(lps)), len(lps)))
        return out


def test_per_token_pmi_by_hand_and_thresholds_reject_wrong_document_and_content_free():
    doc = "the council voted to build a bridge over the river"  # 10 words, 9 distinct
    cands = {
        "summary": "council votes new bridge",
        "wrong": "farmers protest milk prices",
        "content-free": "this is an article",
        "empty": "",
    }
    rows = [{"id": k, "doc_id": "d", "document": doc, "summary": v} for k, v in cands.items()]
    got = dict(zip(cands, isc.pmi_scores(WordScorer(), rows)))
    # saliency: the summary's words council, bridge occur in the document (the 10 document words cost 3 nats each
    # under the empty summary, 1 nat each when the summary holds them): (2 words * 2 nats) / 10 document tokens;
    # faithfulness: council and bridge cost 1 nat given the document and 3 given the empty one, "votes" and "new" 3
    # either way: (2 * 2 nats) / 4 summary tokens
    assert got["summary"]["saliency"] == pytest.approx(4 / 10)
    assert got["summary"]["faithfulness"] == pytest.approx(4 / 4)
    # another document's summary and a content-free one ("article" is in both templates) gain nothing from the
    # document: 0 nats per token, below any positive threshold
    assert got["wrong"]["saliency"] == 0 and got["wrong"]["faithfulness"] == 0
    assert got["content-free"]["faithfulness"] == 0
    t = isc.Thresholds(saliency_min=0.05, faithfulness_min=0.1, ratio_min=0.0, ratio_max=1.0)
    v = {k: isc.verdicts({**isc.surface_scores(doc, cands[k]), **got[k]}, t, use_nli=False) for k in cands}
    assert v["summary"]["all"] and not v["wrong"]["all"] and not v["content-free"]["all"] and not v["empty"]["all"]


def test_nli_critic_reads_the_entailment_label(tmp_path, embedded_model_dir):
    import torch
    from transformers import AutoTokenizer

    from helpers.core.tiny import save_model, tiny_model

    tok = AutoTokenizer.from_pretrained(embedded_model_dir)
    labels = {0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"}
    shape = {"num_hidden_layers": 1, "max_position_embeddings": 2048, "tie_word_embeddings": False}
    nli_labels = {"id2label": labels, "label2id": {v: k for k, v in labels.items()}}
    save_model(tiny_model(tok, head="classifier", **shape, **nli_labels), tok, tmp_path)
    nli = isc.NLICritic(str(tmp_path), batch_size=2)
    assert nli.entail_index == 2
    probs = nli.entailment([DOC, DOC, SUMMARY], [SUMMARY, "x", DOC])
    enc = nli.tokenizer([DOC], [SUMMARY], return_tensors="pt")
    with torch.inference_mode():
        direct = float(nli.model(**enc).logits.softmax(-1)[0, 2])
    assert len(probs) == 3 and probs[0] == pytest.approx(direct, abs=1e-4)


# --------------------------------------------------------------------------- thresholds and verdicts
def _scores(**kw):
    base = {
        "summary_words": 8,
        "doc_words": 40,
        "ratio": 0.2,
        "copy_rougeL_p": 0.3,
        "saliency": 0.2,
        "faithfulness": 1.0,
        "summary_tokens": 9,
        "nli_doc_to_summary": None,
        "nli_summary_to_doc": None,
    }
    return {**base, **kw}


def test_verdicts_follow_each_threshold():
    t = isc.Thresholds(saliency_min=0.0, faithfulness_min=0.5, ratio_min=0.1, ratio_max=0.3, copy_max=0.75, nli_min=0.8)
    assert isc.verdicts(_scores(), t, use_nli=False) == {
        "saliency": True,
        "faithfulness": True,
        "brevity": True,
        "not_copy": True,
        "nli": None,
        "all": True,
    }
    assert not isc.verdicts(_scores(saliency=-0.1), t, False)["saliency"]
    assert not isc.verdicts(_scores(faithfulness=0.5), t, False)["faithfulness"]  # strictly above
    assert isc.verdicts(_scores(ratio=0.3), t, False)["brevity"]  # inclusive window
    assert not isc.verdicts(_scores(ratio=0.31), t, False)["brevity"]
    assert not isc.verdicts(_scores(copy_rougeL_p=0.8), t, False)["not_copy"]
    v = isc.verdicts(_scores(nli_doc_to_summary=0.9, nli_summary_to_doc=0.7), t, True)
    assert v["nli"] is False and v["all"] is False
    empty = isc.verdicts(_scores(summary_words=0, saliency=None, faithfulness=None, ratio=0.0), t, False)
    assert not any(v for k, v in empty.items() if v is not None)


def test_pass_rates_and_fallback():
    t = isc.Thresholds()
    rows = [
        {"id": str(i), "scores": _scores(saliency=s, faithfulness=f, copy_rougeL_p=c)}
        for i, (s, f, c) in enumerate([(1, 1, 0.1), (-1, 2, 0.1), (-2, -1, 0.1), (5, 5, 0.9)])
    ]
    rows = isp.judge(rows, t, False)
    pr = isc.pass_rates(rows)
    assert pr["saliency"]["passed"] == 2 and pr["all"]["passed"] == 1 and pr["all"]["n"] == 4
    assert pr["not_copy"]["rate"] == 0.75 and "nli" not in pr
    kept, fb = isp.survivors(rows, min_pairs=3)
    # the pass-all row, then the best-ranked rows meeting the hard constraints; the copy (row 3) never
    assert [k["id"] for k in kept] == ["0", "1", "2"] and fb == 2 and kept[1]["fallback"]
    kept, fb = isp.survivors(rows, min_pairs=0)
    assert [k["id"] for k in kept] == ["0"] and fb == 0


# --------------------------------------------------------------------------- controls
def test_length_buckets_bands_and_codes():
    assert [isk.length_bucket(n, (12, 24)) for n in (0, 12, 13, 24, 25)] == [
        "short",
        "short",
        "medium",
        "medium",
        "long",
    ]
    assert isk.extractive_band(2.0, 2.0) == "high" and isk.extractive_band(1.9, 2.0) == "low"
    assert (
        isk.control_prefix({"length": "short", "focus": None, "extractive": "low"}) == "<length=short> <extractive=low>"
    )
    assert isk.student_prompt("Doc.", None) == "Doc.\n\nTL;DR:"
    assert isk.student_prompt("Doc.", {"focus": "rain"}).startswith("<focus=rain>\nDoc.")
    dropped = [
        isk.drop_codes({"length": "short", "focus": "x", "extractive": "low"}, 0.5, random.Random(s))
        for s in range(200)
    ]
    share = sum(v is None for d in dropped for v in d.values()) / 600
    assert 0.4 < share < 0.6


def test_keywords_and_hits():
    cands = isk.candidate_keywords(DOC, SUMMARY)
    assert cands == ["council", "voted", "build", "bridge"]  # in document order, shared with the summary, no stop words
    assert isk.candidate_keywords(DOC)[:3] == ["city", "council", "voted"]
    h = isk.hit({"length": "short"}, SUMMARY, DOC, (12, 24), 2.0)
    assert h == {"length": True}
    assert isk.hit({"focus": "bridge"}, SUMMARY, DOC, (12, 24), 2.0) == {"focus": True}
    assert isk.hit({"extractive": "high"}, "Work starts in May.", DOC, (12, 24), 2.0) == {"extractive": True}
    reqs = isk.requests_for(DOC, "bridge", ("length", "focus", "extractive"))
    assert len(reqs) == 6 and {"focus": "bridge"} in reqs


def test_pick_keywords_uses_the_embedder():
    kws = isk.pick_keywords(
        ["Heavy rain flooded the streets.", "The team won the final."],
        [["flooded", "streets", "final"], ["flooded", "team", "final"]],
        "all-minilm-l6-v2",
    )
    assert kws[0] in ("flooded", "streets") and kws[1] in ("team", "final")
    assert isk.pick_keywords(["x"], [[]], "all-minilm-l6-v2") == [None]


# --------------------------------------------------------------------------- evaluation
def test_rouge_table_and_paired_difference():
    refs = ["the council will build a bridge", "rain flooded the town"]
    table = ise.rouge_table({"same": refs, "other": ["cats sleep", "dogs bark"]}, refs, rounds=200)
    same, other = table
    assert same["rougeL"] == pytest.approx(1.0) and same["rouge1_ci"] == [1.0, 1.0]
    assert other["rouge1"] == 0.0
    d = ise.paired_difference(refs, ["cats sleep", "dogs bark"], refs, rounds=200)
    assert d["mean"] == pytest.approx(1.0) and d["ci"][0] > 0
    ctrl = ise.controllability([{"hits": {"length": True}}, {"hits": {"length": False, "focus": True}}])
    assert ctrl["length"]["rate"] == 0.5 and ctrl["focus"]["n"] == 1


# --------------------------------------------------------------------------- data
def test_builtin_data_and_formats():
    refs = isd.load_pairs("builtin:infosumm_reference.jsonl")
    assert len(refs) == 30 and all(r["summary"] and len(r["document"].split()) > 50 for r in refs)
    assert len({r["id"] for r in refs}) == 30
    pre = isd.load_prefixes("builtin:infosumm_prefixes.jsonl")
    assert len(pre) >= 16
    assert isd.summary_prompt("Doc.", "in_summary") == "Doc.\n\nIn summary,"
    with pytest.raises(ValueError):
        isd.summary_prompt("Doc.", "nope")
    assert isd.clean_summary("\n  A short one.\nMore text") == "A short one."
    assert isd.lead_k("One. Two! Three? Four.", 3) == "One. Two! Three?"


def test_hub_fixtures_read_in_hub_schemas(monkeypatch):
    from helpers.core.rehearsal import REHEARSAL_ENV

    monkeypatch.setenv(REHEARSAL_ENV, "1")
    cnn = isd.load_pairs("abisee/cnn_dailymail", limit=3)
    xs = isd.load_pairs("EdinburghNLP/xsum", limit=2)
    assert len(cnn) == 3 and "\n" not in cnn[0]["summary"] and cnn[0]["document"].startswith("(Local Wire)")
    assert len(xs) == 2 and xs[0]["summary"]
    for name in ("abisee__cnn_dailymail.jsonl", "EdinburghNLP__xsum.jsonl"):
        first = json.loads((isd.DATA_DIR / "hub_fixtures" / name).read_text().splitlines()[0])
        assert set(first) in ({"article", "highlights", "id"}, {"document", "summary", "id"})


def test_precheck_rejects_bad_params():
    isd.check_params(
        {
            "prompt_formats": ["tldr"],
            "length_buckets": [12, 24],
            "ratio_min": 0.1,
            "ratio_max": 0.3,
            "student_init": "truncate:8",
        }
    )
    for bad in (
        {"prompt_formats": ["tldr", "x"]},
        {"length_buckets": [24, 12]},
        {"ratio_min": 0.5, "ratio_max": 0.1},
        {"student_init": "truncate:x"},
    ):
        with pytest.raises(ValueError):
            isd.check_params(bad)


# --------------------------------------------------------------------------- student builders
def test_truncated_copy_keeps_the_first_layers(tmp_path, tiny_model_dir):
    from transformers import AutoModelForCausalLM

    from helpers.infosumm import train as ist

    assert ist.kept_layers(30, 12) == list(range(10)) + [28, 29]
    assert ist.kept_layers(2, 1) == [0] and ist.kept_layers(2, 2) == [0, 1]
    path = ist.truncated_copy(tiny_model_dir, 1, tmp_path / "student")
    small, big = AutoModelForCausalLM.from_pretrained(path), AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert small.config.num_hidden_layers == 1 and len(small.model.layers) == 1
    import torch

    assert torch.equal(small.model.layers[0].self_attn.q_proj.weight, big.model.layers[0].self_attn.q_proj.weight)
    out = small.generate(
        torch.tensor([[1, 2, 3]]), max_new_tokens=3, do_sample=False
    )  # the cache works with the new stack
    assert out.shape == (1, 6)
    with pytest.raises(ValueError):
        ist.truncated_copy(tiny_model_dir, 5, tmp_path / "too-deep")


def _rouge(**vals):
    return [{"system": k, "n": 30, "rougeL": v, "rougeL_ci": [v - 0.05, v + 0.05]} for k, v in vals.items()]


ROUNDS = [
    {
        "round": 0,
        "n_candidates": 24,
        "n_documents": 6,
        "fallback": 0,
        "n_kept": 6,
        "pass_rates": {"brevity": {"passed": 8, "n": 24, "rate": 1 / 3}, "all": {"passed": 6, "n": 24, "rate": 0.25}},
    }
]


def test_findings_are_computed_from_the_numbers_and_gated_on_the_control_arm():
    rouge = _rouge(
        **{"lead-1": 0.49, "lead-3": 0.33, "teacher round 0": 0.28, "student": 0.31, "student (unfiltered)": 0.25}
    )
    checks = {
        "wrong_document": {"n": 5, "pmi_pass": 0, "all_pass": 0},
        "content_free": {"n": 5, "pmi_pass": 1, "all_pass": 0},
        "reference": {"n": 5, "pmi_pass": 5, "all_pass": 4},
        "lead1": {"n": 5, "pmi_pass": 5, "all_pass": 0},
        "lead1_beats_reference": {"docs": 4, "n": 5},
    }
    m = {
        "teacher_model": "m",
        "final_pairs": 48,
        "fallback_pairs": 0,
        "control_overlap": 0.25,
        "n_documents": 8,
        "filtered_minus_unfiltered_rougeL": 0.06,
        "filtered_minus_unfiltered_rougeL_ci": [0.01, 0.11],
        "filtered_minus_unfiltered_n": 30,
        "student_minus_teacher0_rougeL": 0.03,
        "student_minus_teacher0_rougeL_ci": [-0.01, 0.07],
        "critic_checks": checks,
        "student_init": "x",
    }
    f = ise.findings(m, rounds=ROUNDS, rouge=rouge, student_steps=8)
    assert f["signal"] == "filtered student beats unfiltered"
    assert "+0.060 ROUGE-L (95% CI +0.010 to +0.110) over 30 reference documents" in f["finding"]
    assert "lead-1 0.490" in f["finding"] and "lead-3 0.330" in f["finding"]
    text = " ".join(f["findings"])
    assert "0/5 summaries of another document, 1/5 content-free" in text and "4 of 5 documents" in text
    assert (
        "still rewarded" in text
        and "+0.030 (95% CI -0.010 to +0.070) ROUGE-L" in text
        and "25% of the control arm's pairs" in text
    )
    g = ise.findings(
        {**m, "filtered_minus_unfiltered_rougeL": None},
        rounds=ROUNDS,
        rouge=_rouge(**{"lead-1": 0.49, "lead-3": 0.33, "teacher round 0": 0.28, "student": 0.31}),
    )
    assert g["signal"] == "untestable" and g["finding"].startswith(
        "Untestable here: no student was trained on unfiltered"
    )
    assert "student 0.310" in g["finding"]
    h = ise.findings({**m, "final_pairs": 5}, rounds=ROUNDS, rouge=rouge)
    assert h["signal"] == "untestable" and "each arm trained on 5 pairs" in h["finding"]
    assert "Measured anyway: filtered minus unfiltered +0.060 ROUGE-L (95% CI +0.010 to +0.110)" in h["finding"]


def test_critic_summary_per_system():
    v = lambda a: {"saliency": a, "faithfulness": True, "brevity": a, "not_copy": True, "all": a}  # noqa: E731
    rows = [
        {"round": "lead-3", "verdicts": v(True), "scores": {"saliency": 2.0, "faithfulness": 1.0}},
        {"round": "lead-3", "verdicts": v(False), "scores": {"saliency": -1.0, "faithfulness": 3.0}},
        {"round": "student", "verdicts": v(False), "scores": {"saliency": None, "faithfulness": None}},
    ]
    df = ise.critic_summary(rows).set_index("system")
    assert (
        df.loc["lead-3", "pass_all"] == 0.5 and df.loc["lead-3", "mean_saliency"] == 0.5 and df.loc["lead-3", "n"] == 2
    )
    missing = df.loc["student", "mean_saliency"]
    assert df.loc["student", "pass_all"] == 0.0 and (missing is None or missing != missing)  # no scores: None / NaN
    assert list(ise.critic_summary([]).columns)[0] == "system"


# --------------------------------------------------------------------------- selection, control arm, paired CI, gate
def _row(i, doc, sal, fai, summary=None, copy=0.1):
    return {
        "id": f"c{i}",
        "doc_id": doc,
        "document": "d",
        "summary": summary if summary is not None else f"s{i}",
        "scores": _scores(saliency=sal, faithfulness=fai, copy_rougeL_p=copy),
    }


def test_best_of_n_keeps_the_best_passing_candidate_per_document():
    rows = isp.judge(
        [
            _row(0, "a", 0.1, 0.2),
            _row(1, "a", 0.3, 0.5),
            _row(2, "a", 0.9, 0.9, copy=0.9),
            _row(3, "b", 0.2, 0.1),
            _row(4, "b", -0.1, 2.0),
            _row(5, "c", -1.0, -1.0),
        ],
        isc.Thresholds(),
        False,
    )
    kept, fallback = isp.survivors(rows, min_pairs=0, per_doc=1)
    # a: c1 (0.8) over c0 (0.3); c2 scores higher but is a copy; b: c3, the only one passing; c: nothing passes
    assert [r["id"] for r in kept] == ["c1", "c3"] and fallback == 0
    assert [r["id"] for r in isp.survivors(rows, 0, per_doc=2)[0]] == ["c1", "c0", "c3"]
    assert len(isp.survivors(rows, 0, per_doc=0)[0]) == 3  # 0: every passing candidate
    kept, fallback = isp.survivors(rows, min_pairs=4, per_doc=1)
    assert fallback == 2 and {r["id"] for r in kept[2:]} == {"c0", "c4"}  # best-ranked of the rest that are no copies


def test_control_arm_draws_equal_size_random_candidates_of_the_same_documents():
    rows = [_row(i, doc, 0.1, 0.1) for i, doc in enumerate("aaaabbbbcc")] + [_row(10, "a", 0, 0, summary=" ")]
    kept = [rows[0], rows[1], rows[4]]  # two of a, one of b, none of c
    control = isp.control_sample(rows, kept, seed=0)
    assert len(control) == len(kept) and sorted(r["doc_id"] for r in control) == ["a", "a", "b"]
    assert all(r["control"] and r["summary"].strip() for r in control)  # never the empty candidate
    assert len({r["id"] for r in control}) == 3  # without replacement
    assert [r["id"] for r in isp.control_sample(list(reversed(rows)), kept, seed=0)] == [r["id"] for r in control]
    draws = {tuple(r["id"] for r in isp.control_sample(rows, kept, seed=s)) for s in range(8)}
    assert len(draws) > 1  # random: the seed changes the draw


def test_paired_difference_joins_documents_by_id():
    a = {"d1": 0.5, "d2": 0.3, "d3": 0.4, "only_a": 0.9}
    b = {"d3": 0.1, "d1": 0.4, "d2": 0.3, "only_b": 0.0}
    d = ise.paired_by_id(a, b, rounds=200, seed=0)
    assert d["n"] == 3 and d["mean"] == pytest.approx((0.1 + 0.0 + 0.3) / 3)
    assert d["ci"][0] <= d["mean"] <= d["ci"][1]
    shuffled = dict(reversed(list(a.items())))
    assert ise.paired_by_id(shuffled, b, rounds=200, seed=0) == d  # the order of records does not matter
    assert ise.paired_by_id({"x": 1.0}, {"y": 1.0})["n"] == 0


def test_the_control_gate():
    assert ise.control_signal(None)[0] == "untestable"
    assert ise.control_signal({"mean": None, "ci": [None, None], "n": 0})[0] == "untestable"
    diff = {"mean": 0.05, "ci": [0.01, 0.09], "n": 30}
    assert ise.control_signal(diff) == ("filtered student beats unfiltered", "")
    assert ise.control_signal(diff, overlap=1.0)[0] == "untestable"  # both arms trained on the same pairs
    assert ise.control_signal({**diff, "ci": [-0.09, -0.01]})[0] == "unfiltered student beats filtered"
    assert (
        ise.control_signal({**diff, "ci": [-0.02, 0.09]})[0] == "filtered and unfiltered students not distinguishable"
    )
    few = ise.control_signal(diff, n_pairs=5)
    assert few[0] == "untestable" and "5 pairs (fewer than 20)" in few[1]
    assert ise.control_signal(diff, n_pairs=48)[0] == "filtered student beats unfiltered"
    floor = ise.control_signal(diff, students=(0.0, 0.01))
    assert floor[0] == "untestable" and "both students are at the floor" in floor[1]
    assert ise.control_signal(diff, students=(0.2, 0.01))[0] == "filtered student beats unfiltered"
