"""Greedy decoding with a KV cache, answer extraction, accuracy with Wilson CIs, speed, the verdict.

A prompt is ``[input] <eos>``; the model writes ``[cot] <eos> #### answer <eos>`` (an empty CoT when
it has internalized it) and decoding stops at the second ``<eos>``.

    gens = greedy_generate(model, [p + [eos] for p in prompts], eos, pad, max_new_tokens=40)
    answer = extract_answer(tok.decode(answer_segment(gens[0], eos)))
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from ..core.stats import wilson_interval

STOP_AFTER_EOS = 2  # end of the CoT, end of the answer


def _left_pad(rows: Sequence[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r) :] = torch.tensor(r, dtype=torch.long)
        mask[i, width - len(r) :] = 1
    return ids.to(device), mask.to(device)


@torch.no_grad()
def _generate_chunk(
    model, rows: Sequence[list[int]], eos_id: int, pad_id: int, max_new_tokens: int, skip: int = 0
) -> list[list[int]]:
    device = next(model.parameters()).device
    ids, mask = _left_pad(rows, pad_id, device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    positions[:, -1] += skip  # the prompt's closing <eos> sits after the removed CoT (upstream's keep_position)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
    n = len(rows)
    generated = torch.full((n, max_new_tokens), pad_id, dtype=torch.long, device=device)
    eos_seen = torch.zeros(n, dtype=torch.long, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    lengths = torch.zeros(n, dtype=torch.long, device=device)
    last_pos = positions[:, -1]
    n_positions = getattr(model.config, "n_positions", None) or model.config.max_position_embeddings
    max_new_tokens = max(1, min(max_new_tokens, n_positions - int(last_pos.max()) - 1))
    for t in range(max_new_tokens):
        nxt = out.logits[:, -1].argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, pad_id), nxt)
        generated[:, t] = nxt
        lengths += (~done).long()
        eos_seen += ((nxt == eos_id) & ~done).long()
        done |= eos_seen >= STOP_AFTER_EOS
        if bool(done.all()) or t == max_new_tokens - 1:
            break
        mask = torch.cat([mask, torch.ones((n, 1), dtype=mask.dtype, device=device)], dim=1)
        last_pos = last_pos + 1
        out = model(
            input_ids=nxt[:, None],
            attention_mask=mask,
            position_ids=last_pos[:, None],
            past_key_values=out.past_key_values,
            use_cache=True,
        )
    return [generated[i, : int(lengths[i])].tolist() for i in range(n)]


def greedy_generate(
    model,
    prompts: Sequence[list[int]],
    eos_id: int,
    pad_id: int,
    max_new_tokens: int,
    batch_size: int = 64,
    skip: int = 0,
) -> list[list[int]]:
    """Greedy continuations (up to and including the second ``<eos>``), batched by similar length.

    ``skip``: position ids to jump over after the prompt (models trained with keep_position)."""
    was_training = model.training
    model.eval()
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    results: dict[int, list[int]] = {}
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        for i, gen in zip(
            chunk, _generate_chunk(model, [prompts[i] for i in chunk], eos_id, pad_id, max_new_tokens, skip)
        ):
            results[i] = gen
    model.train(was_training)
    return [results[i] for i in range(len(prompts))]


def answer_segment(generated: Sequence[int], eos_id: int) -> list[int]:
    """The tokens between the first and the second ``<eos>`` (``#### answer``); [] if there is none."""
    if eos_id not in generated:
        return []
    rest = list(generated[list(generated).index(eos_id) + 1 :])
    return rest[: rest.index(eos_id)] if eos_id in rest else rest


def cot_segment(generated: Sequence[int], eos_id: int) -> list[int]:
    """The tokens the model wrote before its first ``<eos>`` (its CoT)."""
    generated = list(generated)
    return generated[: generated.index(eos_id)] if eos_id in generated else generated


def extract_answer(text: str) -> str | None:
    """The answer after ``####`` (the reference's rule), None when the model wrote no ``####``."""
    if "####" not in text:
        return None
    return text.split("####", 1)[1].strip()


def normalize_answer(text: str | None) -> str:
    """Whitespace-free form for comparing answers (digits may be spaced or not)."""
    return "" if text is None else "".join(text.split())


def is_correct(prediction: str | None, gold: str) -> bool:
    return prediction is not None and normalize_answer(prediction) == normalize_answer(gold)


def score_generations(tok, examples: Sequence[dict], generations: Sequence[list[int]]) -> list[dict[str, Any]]:
    """One record per example: prediction, correctness, tokens generated, CoT tokens written."""
    records = []
    for ex, gen in zip(examples, generations):
        pred = extract_answer(tok.decode(answer_segment(gen, tok.eos_id)))
        records.append(
            {
                "id": ex["id"],
                "gold": ex["answer"],
                "prediction": pred,
                "correct": is_correct(pred, ex["answer"]),
                "n_generated": len(gen),
                "n_cot_tokens": len(cot_segment(gen, tok.eos_id)),
            }
        )
    return records


def prompts_of(tok, examples: Sequence[dict]) -> list[list[int]]:
    return [tok.encode(ex["input"]) + [tok.eos_id] for ex in examples]


def evaluate_examples(
    model, tok, examples: Sequence[dict], max_new_tokens: int, batch_size: int = 64, skip: int = 0
) -> list[dict]:
    gens = greedy_generate(model, prompts_of(tok, examples), tok.eos_id, tok.pad_id, max_new_tokens, batch_size, skip)
    return score_generations(tok, examples, gens)


def evaluate_stage(
    store, model, tok, examples: Sequence[dict], max_new_tokens: int, batch_size: int = 64, skip: int = 0
) -> list[dict]:
    """``evaluate_examples`` over the examples not yet in ``store`` (a JsonlStore), one batch at a time, so a
    killed run keeps what it decoded; returns the records in the examples' order."""
    todo = [ex for ex in examples if ex["id"] not in store]
    for start in range(0, len(todo), batch_size):
        store.extend(evaluate_examples(model, tok, todo[start : start + batch_size], max_new_tokens, batch_size, skip))
    return [store.get(ex["id"]) for ex in examples]


def answers_per_second(
    model, tok, examples: Sequence[dict], max_new_tokens: int, batch_size: int = 1, skip: int = 0
) -> float:
    """Throughput of greedy answering (the paper measures it at batch size 1), after one warm-up batch."""
    prompts = prompts_of(tok, examples)
    greedy_generate(model, prompts[:batch_size], tok.eos_id, tok.pad_id, max_new_tokens, batch_size, skip)
    if next(model.parameters()).is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    greedy_generate(model, prompts, tok.eos_id, tok.pad_id, max_new_tokens, batch_size, skip)
    if next(model.parameters()).is_cuda:
        torch.cuda.synchronize()
    return len(prompts) / (time.perf_counter() - start)


# ------------------------------------------------------------------------------- statistics
def paired_test(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> dict[str, Any]:
    """Exact McNemar test on the same examples: discordant counts and a two-sided p-value."""
    from scipy.stats import binomtest

    a_only = sum(1 for a, b in zip(correct_a, correct_b) if a and not b)
    b_only = sum(1 for a, b in zip(correct_a, correct_b) if b and not a)
    p = binomtest(a_only, a_only + b_only).pvalue if a_only + b_only else 1.0
    return {"a_only": a_only, "b_only": b_only, "p_value": float(p)}


def verdict(
    acc_icot: float, acc_nocot: float, n: int, p_value: float, alpha: float = 0.05, resolution: float = 0.1
) -> str:
    """The signal: who wins (paired test at ``alpha``), or whether the test set could have told.

    "no difference at this budget" needs both Wilson CIs narrower than +-``resolution``; otherwise a
    non-significant result is "too small to tell".
    """
    if p_value < alpha:
        return "internalization beats no-CoT" if acc_icot > acc_nocot else "no-CoT beats internalization"
    widths = [wilson_interval(round(a * n), n) for a in (acc_icot, acc_nocot)]
    if n and all((hi - lo) / 2 <= resolution for lo, hi in widths):
        return "no difference at this budget"
    return "too small to tell"


def summarize(records: Sequence[dict]) -> dict[str, Any]:
    """Accuracy with its Wilson CI, mean generated tokens and CoT tokens per answer."""
    n = len(records)
    k = sum(1 for r in records if r["correct"])
    ci = wilson_interval(k, n) if n else None
    return {
        "n": n,
        "correct": k,
        "accuracy": k / n if n else None,
        "ci_low": ci[0] if ci else None,
        "ci_high": ci[1] if ci else None,
        "tokens_per_answer": sum(r["n_generated"] for r in records) / n if n else None,
        "cot_tokens_per_answer": sum(r["n_cot_tokens"] for r in records) / n if n else None,
    }


METHOD_INFERENCE = {"cot": "explicit CoT", "nocot": "no CoT", "stepwise": "no CoT"}


def task_report(records: dict[str, Sequence[dict]], speeds: dict[str, float | None]) -> dict[str, Any]:
    """Per method (cot, nocot, stepwise): ``summarize`` plus answers per second; then the paired test of
    stepwise against no-CoT on the same examples and its ``verdict``."""
    report: dict[str, Any] = {m: {**summarize(recs), "answers_per_s": speeds.get(m)} for m, recs in records.items()}
    test = paired_test([r["correct"] for r in records["stepwise"]], [r["correct"] for r in records["nocot"]])
    report.update(
        test,
        signal=verdict(
            report["stepwise"]["accuracy"], report["nocot"]["accuracy"], report["nocot"]["n"], test["p_value"]
        ),
    )
    return report


def seeds_report(
    per_seed_records: dict[int, dict[str, Sequence[dict]]], speeds: dict[str, float | None]
) -> dict[str, Any]:
    """``task_report`` over several training seeds: each seed's report under ``per_seed``; per method the records of
    all seeds pooled (accuracy, Wilson CI over seeds x examples) with the per-seed spread under ``seeds``; the paired
    test pooled over (seed, example) pairs and its ``verdict``; ``seeds_stepwise_ahead``: seeds where stepwise
    answers more test examples than no-CoT."""
    from .diagnostics import seed_spread

    seeds = sorted(per_seed_records)
    per_seed = {str(sd): task_report(per_seed_records[sd], speeds if sd == seeds[0] else {}) for sd in seeds}
    methods = list(per_seed_records[seeds[0]])
    pooled = {m: [r for sd in seeds for r in per_seed_records[sd][m]] for m in methods}
    report = task_report(pooled, speeds)
    for m in methods:
        report[m]["seeds"] = seed_spread([per_seed[str(sd)][m]["accuracy"] for sd in seeds])
        report[m]["seed_accuracies"] = [per_seed[str(sd)][m]["accuracy"] for sd in seeds]
    report["seeds"] = seeds
    report["seeds_stepwise_ahead"] = sum(
        per_seed[str(sd)]["stepwise"]["accuracy"] > per_seed[str(sd)]["nocot"]["accuracy"] for sd in seeds
    )
    report["per_seed"] = {
        sd: {m: {k: r[m][k] for k in ("accuracy", "ci_low", "ci_high", "correct", "n")} for m in methods}
        | {k: r[k] for k in ("a_only", "b_only", "p_value", "signal")}
        for sd, r in per_seed.items()
    }
    return report


def at_floor(accuracy: float | None, floor: float | None = None) -> bool:
    """A model whose test accuracy is below ``floor`` (``diagnostics.FLOOR``) does not answer."""
    from .diagnostics import FLOOR

    return accuracy is not None and accuracy < (FLOOR if floor is None else floor)


def gated_signal(report: dict[str, Any], gate: dict[str, Any] | None, floor: float | None = None) -> str:
    """The task's signal once its preconditions are checked: "untestable" when ``gate`` fails, "both fail" when
    stepwise and no-CoT are both at the floor, else the paired test's verdict."""
    if gate is not None and not gate["testable"]:
        return "untestable"
    if at_floor(report["stepwise"]["accuracy"], floor) and at_floor(report["nocot"]["accuracy"], floor):
        return "both fail"
    return report["signal"]


def table_rows(per_task: dict[str, dict]) -> list[dict[str, Any]]:
    """One row per task and method (the paper's table in long form)."""

    def flat(summary: dict) -> dict:
        spread = summary.get("seeds") or {}
        return {
            **{k: v for k, v in summary.items() if k != "seeds"},
            **(
                {"seed_sd": spread.get("sd"), "seed_min": spread.get("min"), "seed_max": spread.get("max")}
                if spread
                else {}
            ),
        }

    return [
        {"task": task, "method": m, "inference": inference, **flat(rep[m])}
        for task, rep in per_task.items()
        for m, inference in METHOD_INFERENCE.items()
        if m in rep
    ]


def headline_task(tasks: Sequence[str]) -> str:
    """The task whose numbers head the metrics: the largest multiplication, else the first task."""
    sizes = {t: int(t.split(":")[1]) for t in tasks if t.startswith("mult:") and t.split(":")[1].isdigit()}
    return max(sizes, key=sizes.get) if sizes else tasks[0]


def _pct(x: float | None) -> str:
    """0.318 -> '32%'; small shares keep a decimal (0.002 -> '0.2%') so that 1/500 is not printed as 0%."""
    if x is None:
        return "n/a"
    return f"{100 * x:.1f}%" if 0 < x < 0.1 else f"{100 * x:.0f}%"


def _seeds_text(t: dict) -> str:
    """How the seeds agree: one seed says so; several give each method's range and the seeds stepwise led."""
    seeds = t.get("seeds") or []
    if len(seeds) <= 1:
        return "one training seed, no spread"
    sw, no = t["stepwise"]["seeds"], t["nocot"]["seeds"]
    return (
        f"{len(seeds)} training seeds: stepwise {_pct(sw['min'])}-{_pct(sw['max'])} (sd {100 * sw['sd']:.1f} points), "
        f"no-CoT {_pct(no['min'])}-{_pct(no['max'])} (sd {100 * no['sd']:.1f} points); stepwise ahead in "
        f"{t['seeds_stepwise_ahead']} of {len(seeds)}"
    )


def _speed_text(t: dict, floor: float) -> str:
    sw, cot = t["stepwise"], t["cot"]
    if at_floor(sw["accuracy"], floor):
        return (
            f"; no speed-up reported: the stepwise model answers {_pct(sw['accuracy'])} (below the {_pct(floor)} "
            f"floor), so it does not answer faster, it does not answer"
        )
    if sw.get("answers_per_s") and cot.get("answers_per_s"):
        return f", {sw['answers_per_s'] / cot['answers_per_s']:.1f}x the explicit model's answers per second"
    return ""


def _diagnostics_text(task: str, d: dict) -> str:
    """The bottleneck line: branch-point accuracy, steps per removed token, where validation accuracy collapsed,
    the weakest answer digit (teacher-forced)."""
    b, c, w = d.get("branch_accuracy"), d.get("collapse"), d.get("weakest_answer_position")
    own = [o["valid_accuracy"] for o in (d.get("own_branch_per_seed") or {}).values() if o]
    text = (
        f"{task} diagnostics: explicit CoT at {_pct(b)} validation accuracy when removal starts"
        if b is not None
        else f"{task} diagnostics: CoT removal never started"
    )
    if b is not None and own and any(abs(o - b) > 1e-9 for o in own):
        text += f" (the stepwise run's own check there: {', '.join(_pct(o) for o in own)})"
    text += f"; {d['steps_per_token']:,} steps per removed token (the reference: {d['reference_steps_per_token']:,})"
    if c:
        text += (
            f"; validation accuracy fell below half of the branch point ({_pct(c['valid_accuracy'])}) at step "
            f"{c['step']}, with {'all' if c['removed'] is None else c['removed']} CoT tokens removed (after "
            f"{c['removed_before']} at the check before)"
            + (f", the last one {c['token']}" if c.get("token") else "")
            + (f", and was at {_pct(c['end_accuracy'])} at the last check" if c.get("end_accuracy") is not None else "")
        )
    elif b is not None:
        text += "; validation accuracy never fell below half of the branch point"
    if w:
        text += (
            f"; the stepwise model's weakest answer digit (teacher-forced) is digit {w['index']} at "
            f"{_pct(w['accuracy'])}"
        )
    return text + "."


def findings(m: dict[str, Any], *, floor: float | None = None) -> dict[str, Any]:
    """``finding`` (one sentence on the headline task), ``signal`` and ``findings`` (per task: the comparison, then
    its diagnostics), computed from the run's metrics: ``per_task``, ``headline_task`` and ``init_from``.

    ``per_task[task]`` holds, per method (stepwise, nocot, cot), accuracy / ci_low / ci_high / tokens_per_answer /
    answers_per_s (pooled over seeds, with ``seeds`` spread), the paired test (a_only, b_only, p_value, signal),
    and when known ``gate`` (``diagnostics.gate``) and ``diagnostics``. The signal is "untestable" when the gate
    fails, "both fail" when both methods are below ``floor`` (``diagnostics.FLOOR``), else the paired verdict.
    """
    from .diagnostics import FLOOR

    floor = FLOOR if floor is None else floor

    def line(task: str, t: dict) -> str:
        sw, no, cot = t["stepwise"], t["nocot"], t["cot"]
        return (
            f"{task}: stepwise internalization {_pct(sw['accuracy'])} [{_pct(sw['ci_low'])}, {_pct(sw['ci_high'])}] "
            f"without CoT vs no-CoT training {_pct(no['accuracy'])} [{_pct(no['ci_low'])}, {_pct(no['ci_high'])}] "
            f"(right only for stepwise {t['a_only']}, only for no-CoT {t['b_only']}, McNemar p {t['p_value']:.2g}: "
            f"{gated_signal(t, t.get('gate'), floor)}; {_seeds_text(t)}); explicit CoT {_pct(cot['accuracy'])} "
            f"with {cot['tokens_per_answer']:.0f} generated tokens per answer against "
            f"{sw['tokens_per_answer']:.0f}{_speed_text(t, floor)}."
        )

    per_task, head, init_from = m["per_task"], m["headline_task"], m["init_from"]
    h = per_task[head]
    signal = gated_signal(h, h.get("gate"), floor)
    measured = (
        f"stepwise internalization answers {_pct(h['stepwise']['accuracy'])} of test examples without CoT "
        f"against {_pct(h['nocot']['accuracy'])} for no-CoT training, explicit CoT "
        f"{_pct(h['cot']['accuracy'])} writing {h['cot']['tokens_per_answer']:.0f} tokens per answer "
        f"({_seeds_text(h)})"
    )
    if signal == "untestable":
        finding = (
            f"Untestable here: on {head} with {init_from}, {'; '.join(h['gate']['reasons'])}. Measured anyway: "
            f"{measured}"
            + (
                f"; both are at the floor (below {_pct(floor)})"
                if at_floor(h["stepwise"]["accuracy"], floor) and at_floor(h["nocot"]["accuracy"], floor)
                else ""
            )
            + "."
        )
    elif signal == "both fail":
        finding = (
            f"Both fail on {head} with {init_from}: {measured}; stepwise and no-CoT are both below the "
            f"{_pct(floor)} floor, so the budget tells the methods nothing apart and no speed-up is reported."
        )
    else:
        g = h.get("gate") or {}
        setting = (
            f" Removal started from an explicit-CoT model at {_pct(g['branch_accuracy'])} validation accuracy, "
            f"{g['steps_per_token']:,} training steps per removed token (the reference: "
            f"{g['reference_steps_per_token']:,})."
            if g.get("branch_accuracy") is not None
            else ""
        )
        finding = (
            f"On {head} with {init_from} and the same training budget, {measured}: {signal} (McNemar p "
            f"{h['p_value']:.2g}).{setting}"
        )
    lines = []
    for task, t in per_task.items():
        lines.append(line(task, t))
        if t.get("diagnostics"):
            lines.append(_diagnostics_text(task, t["diagnostics"]))
    return {"finding": finding, "signal": signal, "findings": lines}
