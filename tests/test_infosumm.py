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
    cands = [{"doc_id": "d", "document": DOC, "summary": SUMMARY},
             {"doc_id": "d", "document": DOC, "summary": "Work starts in May."},
             {"doc_id": "d", "document": DOC, "summary": "   "}]
    got = isc.pmi_scores(scorer, cands)
    for c, g in zip(cands[:2], got[:2]):
        lp_doc = _direct_sum(scorer, "Article:\n", DOC)
        lp_doc_s = _direct_sum(scorer, f"Summary: {c['summary']}\n\nArticle:\n", DOC)
        lp_s_doc = _direct_sum(scorer, f"Article:\n{DOC}\n\nSummary:", " " + c["summary"])
        lp_s = _direct_sum(scorer, "Summary:", " " + c["summary"])
        assert g["saliency"] == pytest.approx(lp_doc_s - lp_doc, abs=1e-3)
        assert g["faithfulness"] == pytest.approx(lp_s_doc - lp_s, abs=1e-3)
    assert got[2]["saliency"] is None and got[2]["faithfulness"] is None


def test_nli_critic_reads_the_entailment_label(tmp_path, embedded_model_dir):
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification
    tok = AutoTokenizer.from_pretrained(embedded_model_dir)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4,
                      num_key_value_heads=2, num_labels=3, pad_token_id=tok.pad_token_id,
                      id2label={0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"}, label2id={"CONTRADICTION": 0, "NEUTRAL": 1, "ENTAILMENT": 2})
    model = LlamaForSequenceClassification(cfg)
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    nli = isc.NLICritic(str(tmp_path), batch_size=2)
    assert nli.entail_index == 2
    probs = nli.entailment([DOC, DOC, SUMMARY], [SUMMARY, "x", DOC])
    enc = nli.tokenizer([DOC], [SUMMARY], return_tensors="pt")
    with torch.inference_mode():
        direct = float(nli.model(**enc).logits.softmax(-1)[0, 2])
    assert len(probs) == 3 and probs[0] == pytest.approx(direct, abs=1e-4)


# --------------------------------------------------------------------------- thresholds and verdicts
def _scores(**kw):
    base = {"summary_words": 8, "doc_words": 40, "ratio": 0.2, "copy_rougeL_p": 0.3, "saliency": 2.0, "faithfulness": 1.0,
            "summary_tokens": 9, "nli_doc_to_summary": None, "nli_summary_to_doc": None}
    return {**base, **kw}


def test_verdicts_follow_each_threshold():
    t = isc.Thresholds(saliency_min=0.0, faithfulness_min=0.5, ratio_min=0.1, ratio_max=0.3, copy_max=0.75, nli_min=0.8)
    assert isc.verdicts(_scores(), t, use_nli=False) == {"saliency": True, "faithfulness": True, "brevity": True,
                                                         "not_copy": True, "nli": None, "all": True}
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
    rows = [{"id": str(i), "scores": _scores(saliency=s, faithfulness=f, copy_rougeL_p=c)} for i, (s, f, c) in
            enumerate([(1, 1, 0.1), (-1, 2, 0.1), (-2, -1, 0.1), (5, 5, 0.9)])]
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
    assert [isk.length_bucket(n, (12, 24)) for n in (0, 12, 13, 24, 25)] == ["short", "short", "medium", "medium", "long"]
    assert isk.extractive_band(2.0, 2.0) == "high" and isk.extractive_band(1.9, 2.0) == "low"
    assert isk.control_prefix({"length": "short", "focus": None, "extractive": "low"}) == "<length=short> <extractive=low>"
    assert isk.student_prompt("Doc.", None) == "Doc.\n\nTL;DR:"
    assert isk.student_prompt("Doc.", {"focus": "rain"}).startswith("<focus=rain>\nDoc.")
    dropped = [isk.drop_codes({"length": "short", "focus": "x", "extractive": "low"}, 0.5, random.Random(s)) for s in range(200)]
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
    kws = isk.pick_keywords(["Heavy rain flooded the streets.", "The team won the final."],
                            [["flooded", "streets", "final"], ["flooded", "team", "final"]], "all-minilm-l6-v2")
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
    isd.precheck({"prompt_formats": ["tldr"], "length_buckets": [12, 24], "ratio_min": 0.1, "ratio_max": 0.3,
                  "student_init": "truncate:8"})
    for bad in ({"prompt_formats": ["tldr", "x"]}, {"length_buckets": [24, 12]}, {"ratio_min": 0.5, "ratio_max": 0.1},
                {"student_init": "truncate:x"}):
        with pytest.raises(ValueError):
            isd.precheck(bad)


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
    out = small.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=3, do_sample=False)  # the cache works with the new stack
    assert out.shape == (1, 6)
    with pytest.raises(ValueError):
        ist.truncated_copy(tiny_model_dir, 5, tmp_path / "too-deep")


def _metrics(sl, sl_ci, lf, lf_ci, **more):
    """The metrics ``evaluate.findings`` reads (teacher "m", 15 final pairs, none from the fallback)."""
    return {"teacher_model": "m", "student_minus_lead3_rougeL": sl, "student_minus_lead3_rougeL_ci": sl_ci,
            "teacher_last_minus_round0_rougeL": lf, "teacher_last_minus_round0_rougeL_ci": lf_ci, "final_pairs": 15,
            "fallback_pairs": 0, **more}


def test_findings_are_computed_from_the_numbers():
    def row(system, r):
        return {"system": system, "n": 10, "rougeL": r, "rougeL_ci": [r - 0.05, r + 0.05]}
    rouge = [row("lead-3", 0.33), row("teacher round 0", 0.28), row("teacher round 1", 0.26), row("student", 0.05)]
    rounds = [{"round": r, "n_candidates": 24, "n_documents": 6, "fallback": 0,
               "pass_rates": {"brevity": {"passed": 8, "n": 24, "rate": 1 / 3}, "all": {"passed": k, "n": 24, "rate": k / 24}}}
              for r, k in ((0, 6), (1, 3))]
    m = _metrics(-0.28, [-0.32, -0.24], -0.02, [-0.1, 0.05], n_documents=12, student_init="truncate:12",
                 student_loss_first=15.9, student_loss_last=4.8, student_minus_teacher_last_rougeL=-0.2,
                 student_minus_teacher_last_rougeL_ci=[-0.28, -0.13])
    f = ise.findings(m, rounds=rounds, rouge=rouge, student_steps=10)
    assert f["signal"] == "lead-3 beats the student"
    assert "6/24 round-0" in f["finding"] and "0.050 for the student" in f["finding"]
    text = " ".join(f["findings"])
    assert "training loss 15.89 -> 4.80" not in text and "15.90 -> 4.80" in text
    assert "lead-3 (copying" in text and "stays below its teacher" in text and "beyond noise" in text
    assert "few candidates pass every critic (12%" in text and "most restrictive critic in the last round was brevity" in text
    g = ise.findings(_metrics(0.1, [0.02, 0.2], 0.1, [0.05, 0.15], n_documents=5000), rounds=rounds, rouge=rouge)
    assert g["signal"] == "student beats lead-3" and "needs the full profile" not in " ".join(g["findings"])


def test_critic_summary_per_system():
    v = lambda a: {"saliency": a, "faithfulness": True, "brevity": a, "not_copy": True, "all": a}  # noqa: E731
    rows = [{"round": "lead-3", "verdicts": v(True), "scores": {"saliency": 2.0, "faithfulness": 1.0}},
            {"round": "lead-3", "verdicts": v(False), "scores": {"saliency": -1.0, "faithfulness": 3.0}},
            {"round": "student", "verdicts": v(False), "scores": {"saliency": None, "faithfulness": None}}]
    df = ise.critic_summary(rows).set_index("system")
    assert df.loc["lead-3", "pass_all"] == 0.5 and df.loc["lead-3", "mean_saliency"] == 0.5 and df.loc["lead-3", "n"] == 2
    missing = df.loc["student", "mean_saliency"]
    assert df.loc["student", "pass_all"] == 0.0 and (missing is None or missing != missing)  # no scores: None / NaN
    assert list(ise.critic_summary([]).columns)[0] == "system"
