"""The helpers behind notebooks/07_culturegen.py's cells: set-up line, extraction examples, top symbols and the
findings contract (issue #23: cells tell the story, helpers hold the logic). The stages run in the smoke test."""

from __future__ import annotations

import pandas as pd

from helpers.culturegen import analyses as cga
from helpers.culturegen import data as cgd
from helpers.culturegen import steps as cgst
from helpers.culturegen import summary as cgsm


def test_setup_line_names_the_plan():
    chosen = [cgd.culture("Japanese"), cgd.culture("Kenyan")]
    line = cgst.setup_line(chosen, ["food"], ["neutral"], 3, 2, "locally")
    assert line.startswith("2 cultures x 1 topics x 1 gender form(s) + the culture-agnostic baseline = 3 prompts x 2 ")
    assert line.endswith("generation and scoring run locally")


def test_extraction_examples_show_the_truth_rules_and_llm_with_fixed_columns():
    gold = cgd.extraction_gold()[:3]
    agreement = cga.extractor_agreement(gold, {gold[2]["gen_id"]: ["x"]})
    shown = cgst.extraction_examples(agreement)
    assert list(shown.columns) == ["id", "sentence", "truth", "rule_items", "rule_exact", "llm_items", "llm_exact"]
    assert shown.id.iloc[0] == gold[2]["id"] and len(shown) == 3  # what the LLM read comes first
    empty = cgst.extraction_examples({"rows": []})
    assert empty.empty and list(empty.columns)[0] == "id"


def test_top_symbols_are_the_most_specific_in_a_fixed_order():
    df = pd.DataFrame(
        {
            "symbol": [True, True, False, True],
            "p_culture": [0.5, 0.9, 0.99, 0.5],
            "nationality": ["B", "A", "A", "A"],
            "candidate": ["x", "y", "z", "w"],
        }
    )
    assert list(cgst.top_symbols(df).candidate) == ["y", "w", "x"]


def test_findings_read_the_metrics(monkeypatch):
    seen = {}
    monkeypatch.setattr(cgsm, "_findings", lambda *args: seen.setdefault("args", args) and {"signal": "s"})
    m = {"model": "m", "n_cultures": 4, "symbols_found": 7, "n_generations": 40, "frequency_source": "fs"}
    out = cgsm.findings(
        m,
        n_samples=2,
        mk="mk",
        val="val",
        div_corr="dc",
        div="div",
        pres="pres",
        agreement="ag",
        cb="cb",
        mk_corr={"vocabulary": {}},
    )
    assert out == {"signal": "s"}
    assert seen["args"] == ("m", 4, 2, "mk", "val", "dc", "div", "pres", "ag", "cb", 7, 40, {"vocabulary": {}}, "fs")
