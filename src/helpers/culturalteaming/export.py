"""Finalized questions in CulturalBench's two hub schemas (kellycyy/CulturalBench), written atomically as JSONL.

Easy: data_idx, question_idx, prompt_question, prompt_option_a..d, answer (A-D), country.
Hard: data_idx, question_idx, prompt_question, prompt_option, answer (True/False), country; four rows a question.
One extra column, ``session_id``, ties each row to its session log (the hub loaders read only their fields).
Read them back with 07's loader (``helpers.culturegen.culturalbench``: ``load_culturalbench(easy_path)`` and
``normalize_hard`` over the Hard rows).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..core.store import atomic_write_text
from .validate import LETTERS, Draft


def finalized(sessions) -> list[dict]:
    """One record per finalized session, in session-id order: id, culture, assistance and the final draft."""
    out = [
        {
            "session_id": s.session_id,
            "culture": s.culture,
            "assistance": s.assistance,
            "draft": Draft.from_dict(s.final),
        }
        for s in sessions
        if s.final
    ]
    return sorted(out, key=lambda q: q["session_id"])


def easy_records(questions) -> list[dict]:
    rows = []
    for i, q in enumerate(questions):
        d = q["draft"]
        rows.append(
            {
                "data_idx": i,
                "question_idx": i,
                "prompt_question": d.prompt_question,
                **{f"prompt_option_{l.lower()}": o for l, o in zip(LETTERS, d.options)},
                "answer": LETTERS[d.answer],
                "country": d.culture,
                "session_id": q["session_id"],
            }
        )
    return rows


def hard_records(questions) -> list[dict]:
    rows = []
    for i, q in enumerate(questions):
        d = q["draft"]
        rows += [
            {
                "data_idx": 4 * i + k,
                "question_idx": i,
                "prompt_question": d.prompt_question,
                "prompt_option": o,
                "answer": k == d.answer,
                "country": d.culture,
                "session_id": q["session_id"],
            }
            for k, o in enumerate(d.options)
        ]
    return rows


def write_jsonl(path: str | Path, rows) -> Path:
    return atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def export(sessions, folder: str | Path) -> dict[str, Path]:
    """Write ``culturalbench_easy.jsonl`` and ``culturalbench_hard.jsonl`` under ``folder``; returns both paths."""
    qs = finalized(sessions)
    folder = Path(folder)
    return {
        "easy": write_jsonl(folder / "culturalbench_easy.jsonl", easy_records(qs)),
        "hard": write_jsonl(folder / "culturalbench_hard.jsonl", hard_records(qs)),
    }
