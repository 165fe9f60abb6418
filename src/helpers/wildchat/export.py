"""The cleaned prompt set other notebooks read: first user turns, language-labelled, toxic conversations and
exact / near duplicates removed, conversation ids kept, in WildChat's record format (one user turn), written to
the run's ``data/prompts.jsonl`` -- the file ``run:10_wildchat`` names (``helpers.core.runs.run_source``), so
BenchBuilder (03) reads it with ``conversations: run:10_wildchat``.

    counts = clean_prompts(candidates, run.path(PROMPTS_FILE), embedder, threshold=0.05, max_prompts=0)
"""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import Any

from ..core.runs import PUBLISHED_FILE
from ..core.store import atomic_write_text
from .diversity import near_duplicates

PROMPTS_FILE = PUBLISHED_FILE


def read_jsonl(path: str | Path, limit: int = 0) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        lines = (line for line in f if line.strip())
        return [json.loads(line) for line in (islice(lines, limit) if limit else lines)]


def clean_prompts(
    candidates: str | Path, out: str | Path, embedder: str, threshold: float = 0.05, max_prompts: int = 0
) -> dict[str, Any]:
    """Drop near duplicates (embedding distance below ``threshold``) among the first ``max_prompts`` candidates
    (0: all) and write the rest to ``out``; returns the counts."""
    from ..core.embeddings import embed

    rows = read_jsonl(candidates, max_prompts)
    emb = embed([r["conversation"][0]["content"] for r in rows], embedder)
    drop = set(near_duplicates(emb, threshold))
    kept = [r for i, r in enumerate(rows) if i not in drop]
    atomic_write_text(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
    langs: dict[str, int] = {}
    for r in kept:
        langs[r["language"] or "unknown"] = langs.get(r["language"] or "unknown", 0) + 1
    return {
        "candidates": len(rows),
        "near_duplicates": len(drop),
        "kept": len(kept),
        "languages": dict(sorted(langs.items(), key=lambda kv: -kv[1])),
    }
