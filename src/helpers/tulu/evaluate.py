"""Evaluation in the quick world: greedy decoding, the checkers, accuracy per category.

    records = evaluate_tasks(model, tok, world.eval_set(48))     # one record per prompt: response, correct, aspects
    by_category(records)                                          # {"reasoning": 0.52, ..., "average": 0.61}

``generate`` is the one batched decoder of the package (left padding, stop at the end-of-turn token); the
online trainers sample with it too (``do_sample=True``).
"""

from __future__ import annotations

from collections.abc import Sequence

from .checkers import grade
from .tasks import CATEGORIES, Task


def chat_prompt(tok, text: str) -> str:
    return tok.apply_chat_template([{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True)


def generate(
    model,
    tok,
    prompts: Sequence[str],
    max_new_tokens: int = 32,
    batch_size: int = 256,
    do_sample: bool = False,
    temperature: float = 1.0,
    num_return_sequences: int = 1,
    seed: int | None = None,
    return_ids: bool = False,
):
    """Responses to user ``prompts`` (rendered with the chat template): one string per prompt, or a list of
    ``num_return_sequences`` strings each. ``return_ids`` also gives (prompt ids, response ids) per sample."""
    import torch

    if seed is not None:
        torch.manual_seed(seed)
    side = tok.padding_side
    tok.padding_side = "left"
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    texts, ids = [], []
    try:
        for start in range(0, len(prompts), batch_size):
            chunk = [chat_prompt(tok, p) for p in prompts[start : start + batch_size]]
            enc = tok(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            kw = (
                dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
                if do_sample
                else dict(do_sample=False)
            )
            with torch.no_grad():
                out = model.generate(
                    **enc,
                    max_new_tokens=max_new_tokens,
                    num_return_sequences=num_return_sequences,
                    eos_token_id=tok.eos_token_id,
                    pad_token_id=tok.pad_token_id,
                    **kw,
                )
            width = enc["input_ids"].shape[1]
            for row, seq in enumerate(out):
                resp = seq[width:].tolist()
                texts.append(tok.decode(resp, skip_special_tokens=True).strip())
                if return_ids:
                    prompt_row = enc["input_ids"][row // num_return_sequences]
                    mask = enc["attention_mask"][row // num_return_sequences].bool()
                    ids.append((prompt_row[mask].tolist(), _until_eos(resp, tok.eos_token_id, tok.pad_token_id)))
    finally:
        tok.padding_side = side
        model.train(was_training)
    if num_return_sequences > 1:
        texts = [texts[i : i + num_return_sequences] for i in range(0, len(texts), num_return_sequences)]
    return (texts, ids) if return_ids else texts


def _until_eos(ids: list[int], eos: int, pad: int) -> list[int]:
    """Response ids up to and including the first EOS (padding after it dropped)."""
    out = []
    for i in ids:
        out.append(i)
        if i == eos:
            break
    while out and out[-1] == pad and pad != eos:
        out.pop()
    return out


def evaluate_tasks(model, tok, tasks: Sequence[Task], max_new_tokens: int = 32, batch_size: int = 256) -> list[dict]:
    """Greedy answers to ``tasks`` graded by the checkers: id, category, tricky, response, correct, aspects."""
    responses = generate(model, tok, [t.prompt for t in tasks], max_new_tokens, batch_size)
    out = []
    for t, r in zip(tasks, responses):
        g = grade(t, r)
        out.append(
            {
                "id": t.id,
                "category": t.category,
                "tricky": t.tricky,
                "prompt": t.prompt,
                "response": r,
                "correct": g["correct"],
                "aspects": g["aspects"],
            }
        )
    return out


def by_category(records: Sequence[dict], categories: Sequence[str] = CATEGORIES) -> dict[str, float | None]:
    """Accuracy per category and their unweighted average (the paper's "average" column)."""
    out = {}
    for c in categories:
        rs = [r["correct"] for r in records if r["category"] == c]
        out[c] = sum(rs) / len(rs) if rs else None
    vals = [v for v in out.values() if v is not None]
    out["average"] = sum(vals) / len(vals) if vals else None
    return out
