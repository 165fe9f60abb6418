"""The helpers behind notebooks/08_infosumm.py's cells: document sets, tables, the student's examples, ROUGE
tables and captions, metrics with their findings (issue #23). Training and generation run in the smoke test."""

from __future__ import annotations

import pytest

from helpers.infosumm import results as isr
from helpers.infosumm import steps as iss


def test_round_document_sets_are_disjoint_or_refused():
    docs = [{"id": i} for i in range(7)]
    sets = iss.round_document_sets(docs, 2)
    assert [[d["id"] for d in s] for s in sets] == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(RuntimeError, match="only 2 usable documents for 3 sampling rounds"):
        iss.round_document_sets(docs[:2], 2)


ROWS = [
    {
        "id": f"c{i}",
        "round": r,
        "doc_id": "d",
        "format": "tldr",
        "summary": f"summary {i}",
        "scores": {"saliency": s, "faithfulness": None, "ratio": 0.123, "copy_rougeL_p": 0.456},
        "verdicts": {"saliency": s > 1, "all": s > 1},
    }
    for i, (r, s) in enumerate([(0, 2.0), (0, 0.5), (1, 3.0)])
]


def test_candidate_examples_and_pass_rate_tables():
    cand = iss.candidates_table(ROWS)
    assert list(cand.columns[:5]) == ["id", "round", "doc_id", "format", "summary"] and cand.pass_all.tolist() == [
        True,
        False,
        True,
    ]
    ex = iss.examples_table(ROWS)
    assert ex.saliency.tolist() == [2.0, 0.5, 3.0] and ex.faithfulness.isna().all() and ex.ratio.iloc[0] == 0.12
    rates = iss.pass_rate_table(
        [{"round": 0, "fallback": 1, "pass_rates": {"all": {"passed": 1, "n": 2, "rate": 0.5}}}]
    )
    assert rates.to_dict("records") == [{"round": 0, "all": "1/2 (50%)", "fallback": 1}]


def test_student_examples_drop_codes_with_the_seed():
    pairs = [
        {
            "document": "Doc.",
            "summary": "Sum.",
            "controls": {"length": "short", "focus": "x", "extractive": "low", "other": 1},
        }
    ] * 3
    never = iss.student_examples(pairs, 0.0, seed=0)
    always = iss.student_examples(pairs, 1.0, seed=0)
    assert all(e["completion"] == " Sum." for e in never) and never[0]["prompt"] != always[0]["prompt"]
    assert iss.student_examples(pairs, 0.5, seed=3) == iss.student_examples(pairs, 0.5, seed=3)
    assert iss.student_base("some/model", "teacher", None) == "some/model"


def test_loss_and_rouge_tables_and_caption():
    losses = iss.loss_table({"student": [3.0, 2.0], "teacher_round1": []})
    assert losses.to_dict("records")[0] == {"stage": "student", "steps": 2, "first loss": 3.0, "last loss": 2.0}
    assert losses.steps.tolist() == [2, 0] and losses["first loss"].isna().tolist() == [False, True]
    row = lambda s, r: {
        "system": s,
        "n": 3,
        **{t: r for t in ("rouge1", "rouge2", "rougeL")},  # noqa: E731
        **{f"{t}_ci": [r - 0.1, r + 0.1] for t in ("rouge1", "rouge2", "rougeL")},
    }
    main = {"refs": [{}] * 3, "rouge": [row("lead-3", 0.3), row("student", 0.1)]}
    frame = isr.rouge_frame({"set": main})
    assert frame.loc[0, "rougeL_ci"] == "0.200-0.400" and frame.loc[1, "set"] == "set"
    assert isr.rouge_caption(main, "builtin:x") == (
        "ROUGE F1 on 3 documents of builtin:x with 95% bootstrap CIs; lead-3 ROUGE-L 0.300, student 0.100."
    )


def test_train_options_are_checked_now():
    assert iss.train_options(0, "none", 0).report_to == "none"
    assert iss.setup_line("t", 1, 2).startswith("teacher t; 1 round(s) of expert iteration + a final sampling round, 2")


def test_critic_probes_and_control_overlap():
    refs = [{"id": f"r{i}", "document": f"First sentence {i}. Second one.", "summary": f"sum {i}"} for i in range(4)]
    rows = iss.critic_check_rows(refs, {"student": ["a", "b", "c", "d"]}, n_docs=2)
    by = {(r["round"], r["doc_id"]): r["summary"] for r in rows}
    assert {r["doc_id"] for r in rows} == {"r2", "r3"}  # the last documents (held out from threshold setting)
    assert by[("student", "r2")] == "c" and by[("probe: reference", "r3")] == "sum 3"
    assert by[("probe: wrong document", "r3")] == "sum 0" and by[("probe: lead-1", "r2")] == "First sentence 2."
    assert by[("probe: content-free", "r2")] == iss.CONTENT_FREE and len(rows) == 2 * 5
    pairs = [{"doc_id": "a", "summary": "x"}, {"doc_id": "b", "summary": "y"}]
    assert isr.control_overlap(pairs, [{"doc_id": "a", "summary": "x"}, {"doc_id": "b", "summary": "z"}]) == 0.5
    assert isr.control_overlap(pairs, []) is None
