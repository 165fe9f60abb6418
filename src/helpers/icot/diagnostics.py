"""Where stepwise internalization's bottlenecks are, and whether a run can test the paper's claim at all.

- ``branch_point``: the validation accuracy of the explicit-CoT model at the start of removal (the last
  check before the first CoT token goes); the method needs a CoT model that already multiplies.
- ``steps_per_token``: the training steps each removed token gets, against the reference's
  (``reference_steps_per_token``: 808K products, batch 32, 8 removals per epoch: 3,156 steps).
- ``collapse_point``: along the removal schedule, the first check where validation accuracy falls
  below half of the branch-point accuracy, and which CoT token (``cot_token_labels``) went last.
- ``position_accuracy``: teacher-forced token accuracy per position of the CoT and the answer.
- ``gate``: the preconditions; ``seed_spread``: mean, sd, min and max over training seeds.

    gate(branch_accuracy=0.22, steps_per_token=12, reference=3156)   # -> {"testable": False, "reasons": [...]}
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

import torch

# The reference's budget per task family: training lines, batch size, removals per epoch (da03's README).
REFERENCE_BUDGET = {"mult": (808_000, 32, 8.0), "gsm8k": (385_000, 32, 8.0)}
MIN_BRANCH_ACCURACY = 0.9  # explicit CoT at the start of removal, below it the method has nothing to internalize
MIN_STEPS_SHARE = 0.25  # steps per removed token below this share of the reference's: far below it
FLOOR = 0.05  # test accuracy below this: the model does not answer (exact match of a whole product)


def reference_steps_per_token(task: str) -> int:
    """Steps between two removals in the reference's run of ``task``: round(lines / batch / removals per epoch)."""
    lines, batch, per_epoch = REFERENCE_BUDGET["gsm8k" if task == "gsm8k" else "mult"]
    return int(round(math.ceil(lines / batch) / per_epoch))


def branch_point(history: Sequence[dict], removal_start: int | None) -> dict[str, Any] | None:
    """The validation check at ``removal_start`` (step and accuracy of the model about to lose its first CoT
    token); None when removal never started or no check was made there."""
    if removal_start is None:
        return None
    row = next((r for r in history if r["step"] == removal_start and r.get("valid_accuracy") is not None), None)
    return None if row is None else {"step": row["step"], "valid_accuracy": row["valid_accuracy"]}


def cot_token_labels(cot: str) -> list[str]:
    """A name for each CoT token of a multiplication CoT (reference format), e.g. "partial product 1, digit 3",
    "'+'", "running sum of products 1-2, digit 4"; tokens of other CoTs are named by position."""
    labels, part, kind, digit = [], 0, "partial product", 0
    for tok in cot.split():
        if tok == "+":
            labels.append("'+'")
            kind, digit = "partial product", 0
        elif tok == "(":
            labels.append("'('")
            kind, digit = "running sum", 0
        elif tok == ")":
            labels.append("')'")
            kind, digit = "partial product", 0
        elif tok.isdigit() and len(tok) == 1:
            if digit == 0 and kind == "partial product":
                part += 1
            digit += 1
            labels.append(
                f"running sum of products 1-{part}, digit {digit}"
                if kind == "running sum"
                else f"partial product {part}, digit {digit}"
            )
        else:
            labels.append(f"token {len(labels) + 1}")
    return labels


def collapse_point(history: Sequence[dict], branch: dict | None, labels: Sequence[str] = ()) -> dict[str, Any] | None:
    """The first validation check after the branch point whose accuracy is below half the branch-point accuracy:
    its step, accuracy and scheduled removal count, the count at the check before (the collapse happened while
    tokens between the two were removed), the name of the last of them and the last check's accuracy (a recovery
    shows there). None: no collapse (or no branch)."""
    if branch is None:
        return None
    rows = [r for r in history if r["step"] > branch["step"] and r.get("valid_accuracy") is not None]
    prev = {"step": branch["step"], "scheduled_removed": 0}
    for r in rows:
        if r["valid_accuracy"] < branch["valid_accuracy"] / 2:
            removed = r["scheduled_removed"]
            k = len(labels) if removed is None else min(int(removed), len(labels))
            return {
                "step": r["step"],
                "valid_accuracy": r["valid_accuracy"],
                "removed": removed,
                "removed_before": prev["scheduled_removed"],
                "token": labels[k - 1] if k >= 1 and labels else None,
                "end_accuracy": rows[-1]["valid_accuracy"],
            }
        prev = r
    return None


@torch.no_grad()
def position_accuracy(
    model, tok, examples: Sequence[dict], removed: float, keep_position: bool, batch_size: int = 128
) -> list[dict[str, Any]]:
    """Teacher-forced token accuracy at each target position (the CoT the model was trained to write after
    ``removed`` tokens, its closing ``<eos>``, then ``#### answer <eos>``): one row per position with its
    segment ("cot", "eos", "answer"), index within the segment and accuracy over ``examples``."""
    from .model import encode_example, make_batch

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    encoded = [encode_example(tok, ex) for ex in examples]
    correct: dict[tuple[str, int], list[int]] = {}
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start : start + batch_size]
        batch = make_batch(chunk, [removed] * len(chunk), tok.eos_id, tok.pad_id, keep_position)
        logits = model(
            input_ids=batch["input_ids"].to(device),
            attention_mask=batch["attention_mask"].to(device),
            position_ids=batch["position_ids"].to(device),
        ).logits
        hits = logits[:, :-1].argmax(-1).cpu() == batch["labels"][:, 1:]
        for i, e in enumerate(chunk):
            n_cot = len(e.cot) - (len(e.cot) if math.isinf(removed) else min(int(removed), len(e.cot)))
            first = len(e.prompt)  # the logit at the first <eos> predicts the first target token
            segments = [("cot", j) for j in range(n_cot)] + [("eos", 0)] + [("answer", j) for j in range(len(e.answer))]
            for off, seg in enumerate(segments):
                correct.setdefault(seg, [0, 0])
                correct[seg][0] += int(hits[i, first + off])
                correct[seg][1] += 1
    model.train(was_training)
    order = {"cot": 0, "eos": 1, "answer": 2}
    return [
        {"segment": s, "index": j, "accuracy": k / n, "n": n}
        for (s, j), (k, n) in sorted(correct.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))
    ]


def weakest_answer_position(rows: Sequence[dict]) -> dict | None:
    """The answer position (after ``####``) with the lowest teacher-forced accuracy."""
    answer = [r for r in rows if r["segment"] == "answer" and r["index"] > 0]
    return min(answer, key=lambda r: (r["accuracy"], r["index"])) if answer else None


def gate(
    branch_accuracy: float | None,
    steps_per_token: int,
    reference: int,
    *,
    min_branch_accuracy: float = MIN_BRANCH_ACCURACY,
    min_steps_share: float = MIN_STEPS_SHARE,
) -> dict[str, Any]:
    """Can this run test the paper's claim? Needs an explicit-CoT model at >= ``min_branch_accuracy`` when removal
    starts and >= ``min_steps_share`` of the reference's steps per removed token; the reasons name the numbers."""
    reasons = []
    if branch_accuracy is None:
        reasons.append("CoT removal never started within the training budget")
    elif branch_accuracy < min_branch_accuracy:
        reasons.append(
            f"the explicit-CoT model is at {branch_accuracy:.0%} validation accuracy when removal starts "
            f"(needs {min_branch_accuracy:.0%}: there is no working CoT to internalize)"
        )
    if steps_per_token < min_steps_share * reference:
        reasons.append(
            f"each removed token gets {steps_per_token:,} training steps against the reference's "
            f"{reference:,} (needs {min_steps_share:.0%} of it, {math.ceil(min_steps_share * reference):,})"
        )
    return {
        "testable": not reasons,
        "reasons": reasons,
        "branch_accuracy": branch_accuracy,
        "steps_per_token": steps_per_token,
        "reference_steps_per_token": reference,
        "min_branch_accuracy": min_branch_accuracy,
        "min_steps_share": min_steps_share,
    }


def seed_spread(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean, sample sd (None for one seed), min and max of per-seed values (None values left out)."""
    vals = [v for v in values if v is not None]
    if not vals:
        return {"n_seeds": 0, "mean": None, "sd": None, "min": None, "max": None}
    return {
        "n_seeds": len(vals),
        "mean": statistics.fmean(vals),
        "sd": statistics.stdev(vals) if len(vals) > 1 else None,
        "min": min(vals),
        "max": max(vals),
    }
