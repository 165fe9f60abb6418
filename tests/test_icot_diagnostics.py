"""09_icot's gates, diagnostics, seeds and best-validation selection (issue #24 items 1 and 4): a verdict is
"untestable" when the explicit-CoT model is below 90% when removal starts or a removed token gets far fewer steps
than the reference's; both methods at the floor is "both fail"; no speed-up for a model that does not answer."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.icot import data, diagnostics, evaluate, steps
from helpers.icot.model import build
from helpers.icot.train import TrainConfig, select_best, train


def _method(acc, speed=50.0, tokens=9):
    return {
        "accuracy": acc,
        "ci_low": max(acc - 0.03, 0),
        "ci_high": min(acc + 0.03, 1),
        "tokens_per_answer": tokens,
        "answers_per_s": speed,
        "cot_tokens_per_answer": 0.0,
    }


def _task(sw, no, cot=0.99, gate=None, signal="internalization beats no-CoT", p=1e-9):
    return {
        "stepwise": _method(sw, 90.0),
        "nocot": _method(no, 91.0),
        "cot": _method(cot, 30.0, 21),
        "a_only": 40,
        "b_only": 2,
        "p_value": p,
        "signal": signal,
        **({"gate": gate} if gate else {}),
    }


def _findings(task):
    return evaluate.findings({"per_task": {"mult:2": task}, "headline_task": "mult:2", "init_from": "config:gpt2-tiny"})


def test_reference_steps_per_removed_token():
    assert diagnostics.reference_steps_per_token("mult:4") == 3156  # 808K / 32 = 25,250 steps per epoch, 8 removals
    assert (
        diagnostics.reference_steps_per_token("mult:9") == 3156
        and diagnostics.reference_steps_per_token("gsm8k") == 1504
    )


def test_gate_is_untestable_below_90_percent_cot_accuracy():
    g = diagnostics.gate(0.22, 1000, 3156)
    assert not g["testable"] and len(g["reasons"]) == 1 and "22%" in g["reasons"][0] and "90%" in g["reasons"][0]
    f = _findings(_task(0.0, 0.002, cot=0.3, gate=g))
    assert f["signal"] == "untestable" and f["finding"].startswith("Untestable here")
    assert "22% validation accuracy when removal starts" in f["finding"] and "both are at the floor" in f["finding"]
    assert diagnostics.gate(0.95, 1000, 3156)["testable"]
    assert not diagnostics.gate(None, 1000, 3156)["testable"]  # removal never started


def test_gate_is_untestable_when_steps_per_token_are_far_below_the_reference():
    g = diagnostics.gate(0.99, 12, 3156)
    assert not g["testable"] and "12 training steps" in g["reasons"][0] and "3,156" in g["reasons"][0]
    assert diagnostics.gate(0.99, 789, 3156)["testable"] and not diagnostics.gate(0.99, 788, 3156)["testable"]
    assert diagnostics.gate(0.99, 100, 3156, min_steps_share=0.01)["testable"]


def test_both_methods_at_the_floor_is_both_fail_not_no_difference():
    ok = diagnostics.gate(0.99, 1000, 3156)
    f = _findings(_task(0.0, 0.002, gate=ok, signal="no difference at this budget", p=1.0))
    assert f["signal"] == "both fail" and f["finding"].startswith("Both fail") and "no difference" not in f["finding"]
    # one of them above the floor: the paired verdict stands, with the setting that made it testable
    f = _findings(_task(0.30, 0.002, gate=ok))
    assert (
        f["signal"] == "internalization beats no-CoT"
        and "internalization beats no-CoT (McNemar p 1e-09)" in f["finding"]
    )
    assert "explicit-CoT model at 99% validation accuracy, 1,000 training steps per removed token" in f["finding"]


def test_no_speed_up_is_reported_for_a_model_at_the_floor():
    h = _task(0.01, 0.0)
    assert steps.speedup(h) is None
    line = _findings(h)["findings"][0]
    assert "no speed-up reported" in line and "x the explicit model's answers per second" not in line
    assert steps.speedup(_task(0.5, 0.1)) == pytest.approx(3.0)
    assert "3.0x the explicit model's answers per second" in _findings(_task(0.5, 0.1))["findings"][0]


def _records(pattern):
    return [{"id": str(i), "correct": c, "n_generated": 9, "n_cot_tokens": 0} for i, c in enumerate(pattern)]


def test_seeds_report_pools_and_spreads_over_seeds():
    per_seed = {
        0: {
            "cot": _records([True] * 10),
            "nocot": _records([False] * 10),
            "stepwise": _records([True] * 6 + [False] * 4),
        },
        1: {
            "cot": _records([True] * 10),
            "nocot": _records([True] * 2 + [False] * 8),
            "stepwise": _records([True] * 2 + [False] * 8),
        },
    }
    r = evaluate.seeds_report(per_seed, {"cot": 10.0, "nocot": 20.0, "stepwise": 20.0})
    assert r["stepwise"]["accuracy"] == pytest.approx(0.4) and r["stepwise"]["n"] == 20  # pooled
    assert r["stepwise"]["seed_accuracies"] == [0.6, 0.2] and r["stepwise"]["seeds"]["min"] == 0.2
    assert r["stepwise"]["seeds"]["sd"] == pytest.approx(math.sqrt(0.08))
    assert r["seeds"] == [0, 1] and r["seeds_stepwise_ahead"] == 1 and r["per_seed"]["1"]["nocot"]["correct"] == 2
    assert r["a_only"] == 6 and r["b_only"] == 0  # the paired test over (seed, example) pairs
    text = _findings({**r, "gate": diagnostics.gate(0.99, 1000, 3156)})["finding"]
    assert "2 training seeds: stepwise 20%-60% (sd 28.3 points)" in text and "stepwise ahead in 1 of 2" in text
    rows = evaluate.table_rows({"mult:2": r})
    assert rows[2]["seed_min"] == 0.2 and "seeds" not in rows[2]
    one = diagnostics.seed_spread([0.5])
    assert one["sd"] is None and one["mean"] == 0.5 and steps.training_seeds(3, 3) == [3, 4, 5]


def test_branch_point_and_collapse_name_the_removed_token():
    labels = diagnostics.cot_token_labels("2 2 5 + 0 2 2 5")
    assert labels[:4] == [
        "partial product 1, digit 1",
        "partial product 1, digit 2",
        "partial product 1, digit 3",
        "'+'",
    ]
    assert diagnostics.cot_token_labels("1 7 4 3 3 + 0 6 7 8 4 1 ( 1 3")[-2:] == [
        "running sum of products 1-2, digit 1"
    ] * 1 + ["running sum of products 1-2, digit 2"]
    hist = [
        {"step": 500, "valid_accuracy": 0.8, "scheduled_removed": 0},
        {"step": 1500, "valid_accuracy": 0.97, "scheduled_removed": 0},
        {"step": 2500, "valid_accuracy": 0.9, "scheduled_removed": 1},
        {"step": 3500, "valid_accuracy": 0.6, "scheduled_removed": 2},
        {"step": 4500, "valid_accuracy": 0.3, "scheduled_removed": 3},
        {"step": 9000, "valid_accuracy": 0.1, "scheduled_removed": None},
    ]
    b = diagnostics.branch_point(hist, 1500)
    assert b == {"step": 1500, "valid_accuracy": 0.97} and diagnostics.branch_point(hist, None) is None
    c = diagnostics.collapse_point(hist, b, labels)
    assert (
        c["step"] == 4500
        and c["removed"] == 3
        and c["removed_before"] == 2
        and c["token"] == "partial product 1, digit 3"
    )
    assert c["end_accuracy"] == 0.1
    assert diagnostics.collapse_point(hist[:3], b, labels) is None
    text = evaluate._diagnostics_text(
        "mult:2",
        {
            "branch_accuracy": 0.97,
            "steps_per_token": 1000,
            "reference_steps_per_token": 3156,
            "collapse": c,
            "weakest_answer_position": {"index": 3, "accuracy": 0.4},
        },
    )
    assert (
        "explicit CoT at 97%" in text and "at step 4500, with 3 CoT tokens removed" in text and "digit 3 at 40%" in text
    )
    assert "was at 10% at the last check" in text


def test_position_accuracy_rows_follow_the_target():
    tok, model = build("config:gpt2-tiny", ["0 1 2 3 4 5 6 7 8 9 * + ( )"], max_positions=64, seed=1)
    exs = [data.multiplication_example(a, b, 2) for a, b in ((12, 34), (56, 78), (90, 11))]
    full = diagnostics.position_accuracy(model, tok, exs, 0, keep_position=False)
    assert [r["segment"] for r in full] == ["cot"] * 8 + ["eos"] + ["answer"] * 5 and all(r["n"] == 3 for r in full)
    none = diagnostics.position_accuracy(model, tok, exs, math.inf, keep_position=True)
    assert [r["segment"] for r in none] == ["eos"] + ["answer"] * 5
    assert diagnostics.position_accuracy(model, tok, exs, 3, keep_position=True)[0]["segment"] == "cot"
    # against a direct count on one example with teacher forcing
    from helpers.icot.model import encode_example, make_batch

    e = encode_example(tok, exs[0])
    b = make_batch([e], [0], tok.eos_id, tok.pad_id)
    with torch.no_grad():
        pred = model(input_ids=b["input_ids"]).logits[0].argmax(-1)
    first = len(e.prompt)
    one = diagnostics.position_accuracy(model, tok, exs[:1], 0, keep_position=False)
    assert [r["accuracy"] for r in one] == [
        float(pred[first + k] == b["input_ids"][0, first + k + 1]) for k in range(len(one))
    ]
    assert diagnostics.weakest_answer_position(one)["segment"] == "answer"


def test_select_best_follows_the_references_rule():
    assert select_best(None, {"valid_accuracy": 0.1}, reset=False)
    best = {"valid_accuracy": 0.5}
    assert not select_best(best, {"valid_accuracy": 0.5}, reset=False) and select_best(
        best, {"valid_accuracy": 0.6}, reset=False
    )
    assert select_best(best, {"valid_accuracy": 0.1}, reset=True)  # CoT was still being removed: the latest counts
    assert not select_best(best, {"valid_accuracy": None}, reset=True)


def test_training_tests_the_best_validation_checkpoint(tmp_path):
    torch.set_num_threads(1)
    s = data.load_task("mult:2", 96, 8, 4, seed=0)
    cfg = TrainConfig(
        task="mult:2", method="nocot", n_epochs=4, batch_size=16, learning_rate=3e-3, eval_every=3, seed=0
    )
    res = train(cfg, s["train"], s["valid"], tmp_path)
    accs = [(r["valid_accuracy"], -r["step"]) for r in res.history]
    best_acc, neg_step = max(accs)
    assert res.best["step"] == -neg_step and res.best["valid_accuracy"] == best_acc
    saved = torch.load(res.folder / "best" / "model.pt")
    assert all(torch.equal(saved[k], v) for k, v in res.model.state_dict().items())
    again = train(cfg, s["train"], s["valid"], tmp_path)  # loading a finished run gives the same selection
    assert again.best == res.best


def test_branch_accuracy_is_the_explicit_cot_runs_at_the_removal_start():
    from types import SimpleNamespace as NS

    cfg = NS(batch_size=64, remove_per_epoch=0.1)
    sw = NS(
        history=[
            {"step": 1250, "valid_accuracy": 1.0, "scheduled_removed": 0},
            {"step": 1500, "valid_accuracy": 0.815, "scheduled_removed": 0},
            {"step": 2500, "valid_accuracy": 0.2, "scheduled_removed": 1},
        ],
        removal_start=1500,
    )
    cot = NS(history=[{"step": 1500, "valid_accuracy": 1.0, "scheduled_removed": 0}])
    pos = [{"segment": "answer", "index": 1, "accuracy": 0.5, "n": 4}]
    train_ex = [{"cot": "2 2 5 + 0 2 2 5"}] * 6400
    d = steps.task_diagnostics("mult:2", {0: (cfg, sw)}, {0: pos}, train_ex, {0: (cfg, cot)})
    assert d["branch_accuracy"] == 1.0 and d["own_branch_per_seed"]["0"]["valid_accuracy"] == 0.815
    assert (
        d["steps_per_token"] == 1000
        and d["collapse"]["step"] == 2500
        and d["collapse"]["token"].startswith("partial product 1")
    )
    assert "(the stepwise run's own check there: 82%)" in evaluate._diagnostics_text("mult:2", d)
    alone = steps.task_diagnostics("mult:2", {0: (cfg, sw)}, {0: pos}, train_ex)  # no explicit-CoT run: its own
    assert alone["branch_accuracy"] == 0.815
