"""Greedy decoding with a KV cache, answer extraction, accuracy with Wilson CIs, speed, the verdict.

A prompt is ``[input] <eos>``; the model writes ``[cot] <eos> #### answer <eos>`` (an empty CoT when
it has internalized it) and decoding stops at the second ``<eos>``.

    gens = greedy_generate(model, [p + [eos] for p in prompts], eos, pad, max_new_tokens=40)
    answer = extract_answer(tok.decode(answer_segment(gens[0], eos)))
"""
from __future__ import annotations

import time
from typing import Any, Sequence

import torch

STOP_AFTER_EOS = 2  # end of the CoT, end of the answer


def _left_pad(rows: Sequence[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r):] = torch.tensor(r, dtype=torch.long)
        mask[i, width - len(r):] = 1
    return ids.to(device), mask.to(device)


@torch.no_grad()
def _generate_chunk(model, rows: Sequence[list[int]], eos_id: int, pad_id: int, max_new_tokens: int) -> list[list[int]]:
    device = next(model.parameters()).device
    ids, mask = _left_pad(rows, pad_id, device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
    n = len(rows)
    generated = torch.full((n, max_new_tokens), pad_id, dtype=torch.long, device=device)
    eos_seen = torch.zeros(n, dtype=torch.long, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    lengths = torch.zeros(n, dtype=torch.long, device=device)
    last_pos = positions[:, -1]
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
        out = model(input_ids=nxt[:, None], attention_mask=mask, position_ids=last_pos[:, None],
                    past_key_values=out.past_key_values, use_cache=True)
    return [generated[i, : int(lengths[i])].tolist() for i in range(n)]


def greedy_generate(model, prompts: Sequence[list[int]], eos_id: int, pad_id: int, max_new_tokens: int,
                    batch_size: int = 64) -> list[list[int]]:
    """Greedy continuations (up to and including the second ``<eos>``), batched by similar length."""
    was_training = model.training
    model.eval()
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    results: dict[int, list[int]] = {}
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        for i, gen in zip(chunk, _generate_chunk(model, [prompts[i] for i in chunk], eos_id, pad_id, max_new_tokens)):
            results[i] = gen
    model.train(was_training)
    return [results[i] for i in range(len(prompts))]


def answer_segment(generated: Sequence[int], eos_id: int) -> list[int]:
    """The tokens between the first and the second ``<eos>`` (``#### answer``); [] if there is none."""
    if eos_id not in generated:
        return []
    rest = list(generated[list(generated).index(eos_id) + 1:])
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
        records.append({"id": ex["id"], "gold": ex["answer"], "prediction": pred,
                        "correct": is_correct(pred, ex["answer"]), "n_generated": len(gen),
                        "n_cot_tokens": len(cot_segment(gen, tok.eos_id))})
    return records


def prompts_of(tok, examples: Sequence[dict]) -> list[list[int]]:
    return [tok.encode(ex["input"]) + [tok.eos_id] for ex in examples]


def evaluate_examples(model, tok, examples: Sequence[dict], max_new_tokens: int, batch_size: int = 64) -> list[dict]:
    gens = greedy_generate(model, prompts_of(tok, examples), tok.eos_id, tok.pad_id, max_new_tokens, batch_size)
    return score_generations(tok, examples, gens)


def answers_per_second(model, tok, examples: Sequence[dict], max_new_tokens: int, batch_size: int = 1) -> float:
    """Throughput of greedy answering (the paper measures it at batch size 1), after one warm-up batch."""
    prompts = prompts_of(tok, examples)
    greedy_generate(model, prompts[:batch_size], tok.eos_id, tok.pad_id, max_new_tokens, batch_size)
    if next(model.parameters()).is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    greedy_generate(model, prompts, tok.eos_id, tok.pad_id, max_new_tokens, batch_size)
    if next(model.parameters()).is_cuda:
        torch.cuda.synchronize()
    return len(prompts) / (time.perf_counter() - start)


# ------------------------------------------------------------------------------- statistics
def wilson_ci(k: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson interval of k successes in n (scipy.stats.binomtest); None when n is 0."""
    if n == 0:
        return None
    from scipy.stats import binomtest
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def paired_test(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> dict[str, Any]:
    """Exact McNemar test on the same examples: discordant counts and a two-sided p-value."""
    from scipy.stats import binomtest
    a_only = sum(1 for a, b in zip(correct_a, correct_b) if a and not b)
    b_only = sum(1 for a, b in zip(correct_a, correct_b) if b and not a)
    p = binomtest(a_only, a_only + b_only).pvalue if a_only + b_only else 1.0
    return {"a_only": a_only, "b_only": b_only, "p_value": float(p)}


def verdict(acc_icot: float, acc_nocot: float, n: int, p_value: float, alpha: float = 0.05,
            resolution: float = 0.1) -> str:
    """The signal: who wins (paired test at ``alpha``), or whether the test set could have told.

    "no difference at this budget" needs both Wilson CIs narrower than +-``resolution``; otherwise a
    non-significant result is "too small to tell".
    """
    if p_value < alpha:
        return "internalization beats no-CoT" if acc_icot > acc_nocot else "no-CoT beats internalization"
    widths = [wilson_ci(round(a * n), n) for a in (acc_icot, acc_nocot)]
    if n and all(w is not None and (w[1] - w[0]) / 2 <= resolution for w in widths):
        return "no difference at this budget"
    return "too small to tell"
