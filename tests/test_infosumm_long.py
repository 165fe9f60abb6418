"""InfoSumm on longer documents: the long reference set, and inputs cut to fit counted and reported."""

import json
import re

import pytest

from helpers.infosumm import controls as isk
from helpers.infosumm import data as isd
from helpers.infosumm import evaluate as ise
from helpers.infosumm import results as isr
from helpers.infosumm import train as ist
from helpers.infosumm.critics import rouge_scorer

LONG = "builtin:infosumm_reference_long.jsonl"


def test_long_reference_set_is_long_multi_paragraph_and_not_lead_1():
    raw = [json.loads(line) for line in (isd.DATA_DIR / "infosumm_reference_long.jsonl").read_text().splitlines()]
    short = json.loads((isd.DATA_DIR / "infosumm_reference.jsonl").read_text().splitlines()[0])
    assert len(raw) == 30 and all(set(r) == set(short) for r in raw)  # the short set's schema
    assert len({r["id"] for r in raw}) == 30 and all(re.fullmatch(r"l\d\d", r["id"]) for r in raw)
    assert len({r["topic"] for r in raw}) >= 20
    assert all(r["document"].count("\n\n") >= 3 for r in raw)  # several paragraphs
    refs = isd.load_pairs(LONG, max_words=400)
    assert [r["id"] for r in refs] == [r["id"] for r in raw] and not any(r["words_cut"] for r in refs)
    for r in refs:
        assert 220 <= len(r["document"].split()) <= 320, r["id"]
        assert 18 <= len(r["summary"].split()) <= 32, r["id"]
        lead = isd.lead_k(r["document"], 1)
        assert r["summary"] != lead and rouge_scorer(("rougeL",)).score(lead, r["summary"])["rougeL"].fmeasure < 0.5


def test_load_pairs_counts_the_words_it_cuts():
    refs = isd.load_pairs(LONG, limit=3, max_words=100)
    raw = isd.load_pairs(LONG, limit=3)
    assert all(len(r["document"].split()) == 100 for r in refs)
    assert [r["words_cut"] for r in refs] == [len(r["document"].split()) - 100 for r in raw]
    assert [r["words_cut"] for r in raw] == [0, 0, 0]


def test_over_length_counts_the_examples_a_trainer_cuts(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    ex = [{"prompt": "one two three four", "completion": " five six"}, {"prompt": "a " * 40, "completion": " b"}]
    lens = [len(tok(e["prompt"]).input_ids) + len(tok(e["completion"], add_special_tokens=False).input_ids) for e in ex]
    assert ist.over_length(tok, ex, max(lens) + 1) == 0  # + EOS fits
    assert ist.over_length(tok, ex, max(lens)) == 1
    assert ist.over_length(tok, ex, min(lens)) == 2
    # seq2seq: the prompt alone against max_length, the summary against LABEL_MAX_TOKENS
    prompts = [len(tok(e["prompt"]).input_ids) for e in ex]
    assert ist.over_length(tok, ex, max(prompts), seq2seq=True) == 0
    assert ist.over_length(tok, ex, max(prompts) - 1, seq2seq=True) == 1
    long_summary = [{"prompt": "p", "completion": " word" * ist.LABEL_MAX_TOKENS}]
    assert ist.over_length(tok, long_summary, 512, seq2seq=True) == 1


def test_cut_inputs_are_a_finding_detail_only_when_there_are_some():
    logs = {"student": [{"loss": 2.0}, {"over_length": 3, "examples": 48, "max_length": 320}], "old": [{"loss": 1.0}]}
    counts = isr.over_length_counts(logs)
    assert counts == {"student": {"over_length": 3, "examples": 48, "max_length": 320}}
    detail = ise._cut_inputs({"training_over_length": counts, "eval_documents_cut": {LONG: 2}})
    assert detail == [
        f"Inputs cut to fit: 3 of 48 student training examples (max_length 320); 2 reference documents of {LONG} "
        "(eval_max_words)."
    ]
    none = {"training_over_length": {"student": {"over_length": 0, "examples": 48, "max_length": 512}}}
    assert ise._cut_inputs(none) == [] and ise._cut_inputs({}) == []


@pytest.mark.parametrize("profile", ["cpu-demo", "quick"])
def test_profile_lengths_fit_without_cutting(profile, embedded_model_dir):
    """The longest student example the profile can make (longest prefix + doc_max_tokens + every control code +
    TL;DR + summary_max_tokens + EOS) fits max_length, and every evaluation document fits eval_max_words."""
    from transformers import AutoTokenizer

    from helpers.core.params import notebook_path, resolve_params

    p = resolve_params(notebook_path("08_infosumm"), [f"params/08_infosumm/{profile}.yaml"])
    tok = AutoTokenizer.from_pretrained(embedded_model_dir)
    prefix = max(len(tok(x["prefix"]).input_ids) for x in isd.load_prefixes(p["prefixes"]))
    codes = isk.student_prompt("", {"length": "medium", "focus": "reintroduction", "extractive": "high"})
    worst = prefix + p["doc_max_tokens"] + len(tok(codes).input_ids) + 8 + p["summary_max_tokens"] + 1
    assert worst <= p["max_length"], (profile, worst)
    refs = isd.load_pairs(p["eval_data"], limit=p["n_eval"], max_words=p["eval_max_words"])
    assert not any(r["words_cut"] for r in refs)
    if profile == "cpu-demo":
        assert p["eval_data"] == LONG and p["n_eval"] == 0 and p["doc_max_tokens"] >= 256
    else:  # the quick profile keeps the short set
        assert p["eval_data"] == "builtin:infosumm_reference.jsonl"
