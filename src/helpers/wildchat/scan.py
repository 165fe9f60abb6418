"""The one streaming pass of the notebook: every count and the samples the later stages read.

    out = scan_corpus(iter_records(src, columns=SCAN_COLUMNS), tokenizer, prompts_path, n_lang_sample=2000)

Besides the counts (``counts.CorpusCounter``, ``safety.SafetyCounter``), the pass keeps fixed-size uniform samples
(reservoirs: memory independent of the corpus size) of user turns for the language-detector check and of first
prompts for the categories and the diversity analysis, and streams the cleaned-prompt candidates (first user
turns of non-toxic conversations, exact duplicates dropped) to a JSONL file.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..core.store import stable_id
from .counts import COLUMNS as COUNT_COLUMNS
from .counts import CorpusCounter
from .phrases import rule_category
from .safety import COLUMNS as SAFETY_COLUMNS
from .safety import SafetyCounter

SCAN_COLUMNS = sorted(set(COUNT_COLUMNS) | set(SAFETY_COLUMNS) | {"conversation_hash"})


class Reservoir:
    """A uniform sample of at most ``k`` items from a stream (Algorithm R), reproducible from ``seed``;
    ``k`` 0 keeps everything."""

    def __init__(self, k: int, seed: int = 0):
        self.k, self.rng, self.seen, self.items = k, random.Random(seed), 0, []

    def add(self, item: Any) -> None:
        self.seen += 1
        if not self.k or len(self.items) < self.k:
            self.items.append(item)
            return
        j = self.rng.randrange(self.seen)
        if j < self.k:
            self.items[j] = item


def first_user_turn(conv: list) -> tuple[str, str] | None:
    """(text, stored language) of the first user turn, None when there is none."""
    for t in conv:
        if t.get("role") == "user":
            return (t.get("content") or "", t.get("language") or "")
    return None


def normalise(text: str) -> str:
    return " ".join((text or "").lower().split())


def prompt_record(conv_hash: str, text: str, language: str, category: str) -> dict:
    """A cleaned prompt in WildChat's record format (one user turn), so BenchBuilder (03) reads it unchanged."""
    return {
        "id": stable_id("wildchat", conv_hash),
        "conversation_hash": conv_hash,
        "language": language,
        "toxic": False,
        "category": category,
        "turn": 1,
        "conversation": [{"role": "user", "content": text, "language": language}],
    }


def scan_corpus(
    records: Iterable[dict],
    tokenizer=None,
    prompts_path: str | Path | None = None,
    n_lang_sample: int = 0,
    n_prompt_sample: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Counts, safety, rule categories of first prompts, the two samples and the prompt candidates file."""
    counts, safety = CorpusCounter(tokenizer), SafetyCounter()
    lang_sample, prompt_sample = Reservoir(n_lang_sample, seed), Reservoir(n_prompt_sample, seed + 1)
    categories: dict[str, int] = {}
    seen: set[int] = set()
    dup = written = 0
    out = open(prompts_path, "w", encoding="utf-8") if prompts_path else None
    start = time.perf_counter()
    try:
        for rec in records:
            counts.add(rec)
            toxic = safety.add(rec)
            conv = rec.get("conversation") or []
            cid = str(rec.get("conversation_hash") or stable_id(conv))
            for i, t in enumerate(conv):
                if t.get("role") == "user" and (t.get("content") or "").strip():
                    lang_sample.add({"id": f"{cid}:{i}", "text": t["content"][:1000], "label": t.get("language") or ""})
            first = first_user_turn(conv)
            if first is None or not first[0].strip():
                continue
            cat = rule_category(first[0])
            categories[cat] = categories.get(cat, 0) + 1
            prompt_sample.add({"id": cid, "prompt": first[0][:2000], "language": first[1], "rule_category": cat})
            if toxic or rec.get("toxic"):
                continue
            key = hash(normalise(first[0]))
            if key in seen:
                dup += 1
                continue
            seen.add(key)
            if out is not None:
                out.write(json.dumps(prompt_record(cid, first[0].strip(), first[1], cat), ensure_ascii=False) + "\n")
                written += 1
    finally:
        if out is not None:
            out.close()
    seconds = time.perf_counter() - start
    result = {
        "corpus": counts.result(),
        "safety": safety.result(),
        "categories": dict(sorted(categories.items())),
        "lang_sample": lang_sample.items,
        "user_turns_seen": lang_sample.seen,
        "prompt_sample": prompt_sample.items,
        "prompts_seen": prompt_sample.seen,
        "prompt_candidates": written,
        "prompt_exact_duplicates": dup,
        "seconds": seconds,
    }
    result["conversations_per_s"] = result["corpus"]["conversations"] / seconds if seconds else None
    return result
