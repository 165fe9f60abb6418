"""Prompt categories: the keyword rules (``phrases.rule_category``, every first prompt) and an LLM labeler on a
sample, which picks the most likely category name after the prompt (``helpers.core.logprobs.choice_logprobs``:
never a parse failure) or, behind an endpoint, answers with a name (``helpers.core.judge``).

    spec = labeler_spec("smollm2-135m-instruct")                 # a WorkerSpec: runs local or on Ray replicas
    rows = run_stage_on(executor, store, sample, spec, batch_size=8)
    summary = label_agreement(rows)                              # LLM vs rules, Wilson CI
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..core.stats import wilson_interval
from .phrases import CATEGORIES

LABELS = {
    "coding": "coding",
    "translation": "translation",
    "math": "math",
    "role_play": "role-play",
    "creative_writing": "creative writing",
    "factual_info": "factual question",
    "other": "other",
}
assert set(LABELS) == set(CATEGORIES) | {"other"}
PREFILL = "Category:"


def labeler_messages(prompt: str, max_chars: int = 1200) -> list[dict[str, str]]:
    names = ", ".join(LABELS.values())
    return [
        {
            "role": "user",
            "content": f"Which category fits this request to a chatbot best? Categories: {names}.\n\n"
            f"Request: {prompt[:max_chars]}\n\nAnswer with the category name only.",
        }
    ]


def parse_label(text: str | None) -> str | None:
    """The first category name in an endpoint's reply (None when there is none)."""
    low = (text or "").lower()
    hits = [(low.find(name), key) for key, name in LABELS.items() if name in low]
    return min(hits)[1] if hits else None


def labeler_worker(model: str, batch_size: int = 8):
    """The labeling stage's batch function: the model's next-token preference among the category names."""
    from ..core import hf
    from ..core.logprobs import LogProbScorer, choice_logprobs

    scorer = LogProbScorer(model, batch_size=batch_size)
    keys = list(LABELS)
    choices = [f" {LABELS[k]}" for k in keys]

    def process(batch: list[dict]) -> list[dict]:
        raws = [hf.render(scorer.tokenizer, labeler_messages(it["prompt"])) + PREFILL for it in batch]
        sums = choice_logprobs(scorer, raws, choices, desc="categories")
        out = []
        for it, row in zip(batch, sums):
            order = sorted(range(len(keys)), key=lambda i: (-row[i], i))
            out.append({"id": it["id"], "llm_category": keys[order[0]], "margin": row[order[0]] - row[order[1]]})
        return out

    return process


def labeler_spec(model: str, batch_size: int = 8):
    from ..core.executor import WorkerSpec

    return WorkerSpec(labeler_worker, {"model": model, "batch_size": batch_size})


def endpoint_labels(judge, batch: Sequence[dict]) -> list[dict]:
    """Labels from a judge behind an endpoint: unparsable replies are None (counted), failed calls retried."""
    from ..core.store import RETRY

    texts = judge.complete([labeler_messages(it["prompt"]) for it in batch], desc="categories")
    return [
        {
            "id": it["id"],
            "llm_category": None if failed else parse_label(t),
            "reply": t,
            **({"endpoint_error": True, RETRY: True} if failed else {}),
        }
        for it, t, failed in zip(batch, texts, judge.last_failed)
    ]


def label_agreement(sample: Sequence[dict], labels: Sequence[dict]) -> dict[str, Any]:
    """LLM labels vs the rule labels on the same prompts (joined by id), with a Wilson CI."""
    by_id = {r["id"]: r.get("llm_category") for r in labels}
    pairs = [(it["rule_category"], by_id.get(it["id"])) for it in sample if it["id"] in by_id]
    parsed = [(a, b) for a, b in pairs if b is not None]
    k, n = sum(a == b for a, b in parsed), len(parsed)
    lo, hi = wilson_interval(k, n)
    return {
        "labelled": len(pairs),
        "unparsed": len(pairs) - n,
        "agree": k,
        "rate": k / n if n else None,
        "rate_ci": [lo, hi],
        "llm_counts": dict(Counter(b for _, b in parsed).most_common()),
        "majority_share": (Counter(b for _, b in parsed).most_common(1)[0][1] / n) if n else None,
    }
