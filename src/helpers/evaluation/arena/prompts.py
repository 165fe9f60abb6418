"""Prompts, answer and judge messages, and log-prob verdicts for small local judges."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...core.logprobs import choice_logprobs
from .games import VERDICTS


# --------------------------------------------------------------------------- prompts
def normalise_prompt(rec: dict, i: int = 0) -> dict | None:
    """One prompt record from any of the known shapes -> {id, prompt, category, cluster}; None if empty.

    Arena-Hard v0.1 (question_id, turns[0].content, cluster), v2 (uid, prompt, category,
    subcategory), our BenchBuilder output (id, prompt, cluster, topic), or generic
    (question / instruction / content).
    """
    pid = rec.get("question_id") or rec.get("uid") or rec.get("id") or f"p{i:05d}"
    text = rec.get("prompt")
    if text is None and isinstance(rec.get("turns"), list) and rec["turns"]:
        first = rec["turns"][0]
        text = first.get("content") if isinstance(first, dict) else first
    for key in ("question", "instruction", "content"):
        if text is None:
            text = rec.get(key)
    if not isinstance(text, str) or not text.strip():
        return None
    return {
        "id": str(pid),
        "prompt": text.strip(),
        "category": str(rec.get("category") or ""),
        "cluster": str(rec.get("cluster") or rec.get("topic") or rec.get("subcategory") or ""),
    }


def load_arena_prompts(
    source: str, split: str = "train", config: str | None = None, limit: int | None = None, category: str = ""
) -> tuple[list[dict], int]:
    """Prompts from a local file, builtin set, saved folder or hub id; returns (prompts, skipped empty)."""
    from ...core.data import load_records

    records = load_records(source, split=split, config=config)
    if category:
        records = [r for r in records if str(r.get("category", "")) == category]
    prompts, skipped = [], 0
    for i, rec in enumerate(records):
        p = normalise_prompt(rec, i)
        if p is None:
            skipped += 1
        else:
            prompts.append(p)
    return (prompts[:limit] if limit else prompts), skipped


def sibling_run_dir(run_dir: str | Path, notebook: str) -> Path:
    """The folder of another notebook's run with the same run name (outputs/<notebook>/<run-name>)."""
    run_dir = Path(run_dir)
    return run_dir.parent.parent / notebook / run_dir.name


# --------------------------------------------------------------------------- answers and judge prompts
# Offline contestants: the same model under different decoding settings / system prompts.
ANSWER_VARIANTS: dict[str, dict[str, Any]] = {
    "base-greedy": {"system": "", "temperature": 0.0},
    "sampled-t1": {"system": "", "temperature": 1.0},
    "concise-system": {"system": "Answer in at most two short sentences.", "temperature": 0.0},
    "markdown-system": {
        "system": "Format every answer in Markdown: a '## ' header, bullet lists and **bold** key terms.",
        "temperature": 0.0,
    },
    "detailed-system": {"system": "Give a thorough, detailed, step-by-step answer.", "temperature": 0.0},
}


def answer_messages(prompt: str, system: str = "") -> list[dict[str, str]]:
    """Chat messages for a contestant: optional system prompt, then the benchmark prompt."""
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]


JUDGE_SYSTEM = {
    "arena-hard": (
        "You are an impartial judge comparing two AI assistants' answers to the same user prompt.\n"
        "First write your own answer to the prompt. Then assess both answers against yours: point out mistakes "
        "or inaccurate information, and judge whether each answer is helpful (does what was asked; asks for "
        "clarification when the prompt is ambiguous), relevant, and concise. Consider creativity and novelty "
        "where it matters, and note important information missing from either answer.\n"
        "End with exactly one final verdict label:\n"
        "[[A>>B]] Assistant A is significantly better\n[[A>B]] Assistant A is slightly better\n"
        "[[A=B]] Tie, relatively the same\n[[B>A]] Assistant B is slightly better\n"
        "[[B>>A]] Assistant B is significantly better\n"
        'For example: "My final verdict is [[B>A]]".'
    ),
    # For small judges and tight token budgets: no own answer, the label straight away.
    "short": (
        "You are an impartial judge. Compare assistant A's and assistant B's answers to the user prompt "
        "(helpfulness, correctness, relevance, conciseness). Reply with only one verdict label: [[A>>B]] (A much "
        "better), [[A>B]] (A better), [[A=B]] (tie), [[B>A]] (B better), [[B>>A]] (B much better)."
    ),
}


def judge_messages(prompt: str, answer_a: str, answer_b: str, style: str = "arena-hard") -> list[dict[str, str]]:
    """The pairwise judge prompt (one game): system instructions, then the prompt and both answers."""
    if style not in JUDGE_SYSTEM:
        raise ValueError(f"unknown judge prompt {style!r}: use one of {', '.join(JUDGE_SYSTEM)}")
    user = (
        f"<|User Prompt|>\n{prompt}\n\n<|Start of Assistant A's Answer|>\n{answer_a}\n<|End of Assistant A's "
        f"Answer|>\n\n<|Start of Assistant B's Answer|>\n{answer_b}\n<|End of Assistant B's Answer|>"
    )
    return [{"role": "system", "content": JUDGE_SYSTEM[style]}, {"role": "user", "content": user}]


# --------------------------------------------------------------------------- log-prob verdicts (small local judges)
VERDICT_PREFILL = "My final verdict is [["
VERDICT_CONTINUATIONS = tuple(f"{v}]]" for v in VERDICTS)


def logprob_judge_prompt(tokenizer, messages: list[dict[str, str]], prefill: str = VERDICT_PREFILL) -> str:
    """The raw text scored in log-prob mode: the judge's chat template with the generation prompt, then ``prefill``."""
    from ...core import hf

    return hf.render(tokenizer, messages, add_generation_prompt=True) + prefill


def logprob_verdicts(
    scorer, message_lists: Sequence[list[dict[str, str]]], prefill: str = VERDICT_PREFILL, desc: str | None = None
) -> list[dict[str, Any]]:
    """One verdict per judge prompt: the label whose continuation (``"A>>B]]"`` ...) has the highest summed log-prob.

    ``scorer`` is a ``helpers.core.logprobs.LogProbScorer`` (anything with ``.tokenizer`` and ``.score``).
    The prompt is rendered with the judge's chat template and ``prefill`` appended, and scored as a
    raw string, so every game yields exactly one of ``VERDICTS`` (no parse failures). The sum is the
    log-probability of the whole label string, so the five labels compete as alternative texts.
    Returns dicts with ``verdict``, ``logprobs`` ({label: sum log-prob}) and ``margin`` (best minus
    second best, a confidence proxy). Ties in the maximum go to the first label in ``VERDICTS`` order.
    """
    raws = [logprob_judge_prompt(scorer.tokenizer, m, prefill) for m in message_lists]
    k = len(VERDICTS)
    if getattr(scorer, "model", None) is not None:
        sums = choice_logprobs(scorer, raws, VERDICT_CONTINUATIONS, desc)
    else:  # a scorer without a model object: one (prompt, continuation) pair per label
        pairs = [(raw, cont) for raw in raws for cont in VERDICT_CONTINUATIONS]
        scores = scorer.score(pairs, desc=desc) if pairs else []
        sums = [[float(s.sum) for s in scores[i * k : (i + 1) * k]] for i in range(len(raws))]
    out = []
    for lp in sums:
        order = np.argsort(lp, kind="stable")[::-1]
        best = int(np.argmax(lp))
        second = int(order[1]) if order[0] == best else int(order[0])
        out.append({"verdict": VERDICTS[best], "logprobs": dict(zip(VERDICTS, lp)), "margin": lp[best] - lp[second]})
    return out
