"""The helpers behind notebooks/09_icot.py's cells: summaries, tables, captions, metrics and the closing paragraph
(issue #23: cells tell the story, helpers hold the logic). Training and decoding run in the smoke test."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from helpers.icot import plots, steps


def _method(acc, tokens, speed, cot_tokens):
    return {
        "accuracy": acc,
        "ci_low": max(acc - 0.05, 0),
        "ci_high": min(acc + 0.05, 1),
        "tokens_per_answer": tokens,
        "answers_per_s": speed,
        "cot_tokens_per_answer": cot_tokens,
    }


PER_TASK = {
    "mult:3": {
        "stepwise": _method(0.4, 9, 90.0, 0.0),
        "nocot": _method(0.1, 9, 91.0, 0.0),
        "cot": _method(0.8, 33, 30.0, 24.0),
        "a_only": 160,
        "b_only": 10,
        "p_value": 1e-30,
        "signal": "internalization beats no-CoT",
    }
}


def test_data_summary_and_significance_table():
    ex = {"input": "1 2 * 3 4", "cot": "3 6", "answer": "4 0 8"}
    summary = steps.data_summary({"mult:2": {"train": [ex, {**ex, "cot": "1"}], "valid": [ex], "test": [ex]}})
    assert summary.loc[0, "n_train"] == 2 and summary.loc[0, "CoT words (mean)"] == 1.5
    assert summary.loc[0, "example (test)"].startswith("1 2 * 3 4")
    sig = steps.significance_table(PER_TASK)
    assert sig.loc[0, "stepwise only"] == 160 and sig.loc[0, "signal"] == "internalization beats no-CoT"


def test_training_summary_names_shared_and_resumed_segments():
    training = pd.DataFrame(
        [
            {
                "task": "mult:3",
                "method": "cot",
                "steps": 10,
                "segments": [[0, 10]],
                "branched_from": None,
                "train_s": 5.0,
                "final_valid_accuracy": 0.5,
            },
            {
                "task": "mult:3",
                "method": "stepwise",
                "steps": 10,
                "segments": [[0, 4], [4, 7], [7, 10]],
                "branched_from": "cot-abc",
                "train_s": 6.0,
                "final_valid_accuracy": 0.25,
            },
            {
                "task": "mult:3",
                "method": "nocot",
                "steps": 10,
                "segments": [[0, 10]],
                "branched_from": None,
                "train_s": 1.0,
                "final_valid_accuracy": None,
            },
        ]
    )
    text = steps.training_summary(training)
    assert text.startswith("**mult:3 cot**: 10 steps in 5 s of training, final validation accuracy 50%.")
    assert "(the first 4 shared with explicit CoT), resumed 1 time(s)" in text and "nocot" not in text


def test_accuracy_table_cells_and_caption_name_ties():
    table = pd.DataFrame(
        [
            {
                "task": "mult:3",
                "method": m,
                "inference": "x",
                "accuracy": a,
                "ci_low": a - 0.1,
                "ci_high": a + 0.1,
                "n": 20,
            }
            for m, a in (("stepwise", 0.5), ("cot", 0.5), ("nocot", 0.2))
        ]
    )
    cells = steps.accuracy_cells(table)
    assert cells.loc[("stepwise", "x"), "mult:3"] == "0.50 [0.40, 0.60]"
    caption = plots.accuracy_caption(table)
    assert "the highest is explicit CoT on mult:3 at 50% (tied with 1 other bar(s)), the lowest 20%." in caption


def test_training_caption_follows_the_history():
    hist = {
        "stepwise": [
            {"step": 1, "valid_accuracy": 0.5, "scheduled_removed": 0, "valid_cot_tokens": 6},
            {"step": 2, "valid_accuracy": 0.4, "scheduled_removed": 2, "valid_cot_tokens": 3},
            {"step": 3, "valid_accuracy": 0.3, "scheduled_removed": None, "valid_cot_tokens": 0},
        ],
        "nocot": [{"valid_accuracy": 0.1}],
        "cot": [{"valid_accuracy": 0.9}],
    }
    caption = plots.training_caption("mult:3", hist)
    assert "Removal began after step 1 (validation accuracy 50% then)" in caption
    assert "stopped writing CoT by step 3 and ended at 30%, against 10% for no-CoT training and 90%" in caption
    never = {**hist, "stepwise": [dict(hist["stepwise"][0])]}
    assert "The schedule removed no token in this budget; it still wrote 6.0 CoT tokens" in plots.training_caption(
        "t", never
    )


def test_run_metrics_and_reading_it():
    results = {
        ("mult:3", m, 0): (SimpleNamespace(batch_size=4, remove_per_epoch=2.0), SimpleNamespace(steps=12, seconds=3.0))
        for m in steps.METHODS
    }
    records = {("mult:3", "stepwise", 0): [{}] * 20}
    m = steps.run_metrics(
        PER_TASK,
        "mult:3",
        records,
        results,
        init_from="config:gpt2-tiny",
        tasks=["mult:3"],
        device="cpu",
        torch_threads=1,
    )
    assert m["icot_accuracy"] == 0.4 and m["icot_speedup_over_cot"] == 3.0 and m["n_test"] == 20
    assert m["train_steps"] == 12 and m["train_seconds"]["mult:3/cot"] == 3.0 and set(m["headline"]) <= set(m)
    assert m["signal"] == "internalization beats no-CoT" and "40%" in m["finding"]
    text = steps.reading_it(PER_TASK["mult:3"], "mult:3", results[("mult:3", "stepwise", 0)][0], 40)
    assert "(80% on mult:3); the stepwise model keeps 50% of that while writing 0.0 CoT tokens" in text
    assert (
        "at 3.0x the explicit model's answers per second" in text
        and "got 5 training steps here against the reference's 3,156" in text
    )
    assert steps.speedup({"stepwise": {"answers_per_s": 1.0}, "cot": {"answers_per_s": None}}) is None
