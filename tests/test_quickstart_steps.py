"""The helpers behind notebooks/00_quickstart.py's cells: the answers stage's skip path, answer rows, metrics with
their findings and the figure (issue #23: cells tell the story, helpers hold the logic)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from helpers import quickstart as qs  # noqa: E402
from helpers.quickstart import plots as qs_plots  # noqa: E402

LP = pd.DataFrame(
    {"question": ["a", "b", "c", "d"], "logp_correct": [-1.0, -2.0, -3.0, -9.0], "logp_wrong": [-5.0, -5.0, -5.0, -1.0]}
).assign(prefers_correct=lambda d: d.logp_correct > d.logp_wrong)


def test_an_uninstalled_vllm_backend_is_skipped_and_counted(monkeypatch, tmp_path):
    import helpers.core.generation as generation

    monkeypatch.setattr(generation, "vllm_available", lambda: False)
    answers, speed, skipped, notes = qs.generate_answers(None, [], "m", "builtin:x.jsonl", ["vllm"], 4, None)
    assert answers == {} and speed == [] and skipped == ["vllm"] and "skipping the vllm backend" in notes[0]


def test_answer_rows_take_each_backends_first_answer():
    answers = {"hf": [{"answers": ["x", "y"], "finish": ["stop", "length"]}]}
    assert qs.answer_rows(answers, [{"question": "q"}]) == [
        {"backend": "hf", "question": "q", "answer": "x", "finish": "stop"}
    ]


def test_metrics_and_findings_are_computed_from_the_run():
    speed = [{"backend": "hf", "tokens": 100, "seconds": 8.0, "tokens_per_s": 12.345}]
    m = qs.run_metrics(LP, 4, speed, ["vllm"], ["hf"])
    assert m["logprob_accuracy"] == 0.75 and m["n_questions"] == 4 and m["tokens_per_s_hf"] == 12.3
    assert m["skipped_backends"] == ["vllm"] and m["headline"] == ["logprob_accuracy", "tokens_per_s_hf"]
    assert m["findings"] == ["Backends run: hf; skipped (not installed): vllm.", "hf: 12.3 generated tokens/s"]
    assert m["finding"].startswith("The correct answer got the higher log-probability on 3/4 questions (75%")
    assert m["signal"].startswith("log-prob preference ") and len(m["logprob_accuracy_ci"]) == 2
    assert qs.run_metrics(LP, 4, [], [], [])["findings"] == ["Backends run: none."]


def test_figure_caption_and_the_no_timing_panel():
    fig, caption = qs_plots.quickstart_figure(LP, [])
    assert "correct preferred, 75% of 4" in caption and not fig.axes[1].axison
    fig, _ = qs_plots.quickstart_figure(LP, [{"backend": "hf", "tokens_per_s": 10.0}])
    assert fig.axes[1].get_ylabel() == "generated tokens / s"
