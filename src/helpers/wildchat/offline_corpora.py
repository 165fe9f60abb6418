"""Small instruction corpora in other data sets' own schemas, written by us for the offline comparison:
Alpaca-style (instruction / input / output), Dolly-style (instruction / context / response / category) and
OpenAssistant-style message rows (message_id, parent_id, message_tree_id, user_id, role prompter|assistant,
text, lang). Texts come from the same phrase banks as the WildChat fixture.

    write_other_corpora(DATA_DIR)     # wildchat_{alpaca,dolly,oasst}_style.jsonl
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from . import phrases as ph

FILES = {
    "alpaca": "wildchat_alpaca_style.jsonl",
    "dolly": "wildchat_dolly_style.jsonl",
    "oasst": "wildchat_oasst_style.jsonl",
}
OASST_LANGS = {"English": "en", "Spanish": "es", "Russian": "ru", "Chinese": "zh", "German": "de", "French": "fr"}
DOLLY_CATEGORY = {
    "coding": "open_qa",
    "translation": "open_qa",
    "math": "open_qa",
    "role_play": "brainstorming",
    "creative_writing": "creative_writing",
    "factual_info": "general_qa",
}


def _english(rng: random.Random) -> tuple[str, str]:
    cat = rng.choice(sorted(ph.EN_SLOTS))
    templates, slots = ph.EN_SLOTS[cat]
    return rng.choice(templates).format(x=rng.choice(slots)), cat


def alpaca_rows(n: int, rng: random.Random) -> list[dict]:
    rows = []
    for _ in range(n):
        text, _ = _english(rng)
        rows.append(
            {
                "instruction": text,
                "input": "" if rng.random() < 0.6 else "Keep it under 100 words.",
                "output": rng.choice(ph.REPLIES["English"]),
            }
        )
    return rows


def dolly_rows(n: int, rng: random.Random) -> list[dict]:
    rows = []
    for _ in range(n):
        text, cat = _english(rng)
        rows.append(
            {
                "instruction": text,
                "context": "",
                "response": rng.choice(ph.REPLIES["English"]),
                "category": DOLLY_CATEGORY[cat],
            }
        )
    return rows


def oasst_rows(n_trees: int, rng: random.Random) -> list[dict]:
    rows, mid = [], 0
    for tree in range(n_trees):
        lang = rng.choice(list(OASST_LANGS)[:1] * 3 + list(OASST_LANGS))
        bank = ph.EN_SLOTS if lang == "English" else ph.OTHER_SLOTS[lang]
        cat = rng.choice(sorted(bank))
        templates, slots = bank[cat]
        parent, tree_id = None, f"tree-{tree}"
        for depth in range(2 * rng.randint(1, 3)):
            role = "prompter" if depth % 2 == 0 else "assistant"
            text = (
                rng.choice(templates).format(x=rng.choice(slots))
                if depth == 0
                else rng.choice(ph.FOLLOW_UPS[lang])
                if role == "prompter"
                else rng.choice(ph.REPLIES[lang])
            )
            rows.append(
                {
                    "message_id": f"m{mid}",
                    "parent_id": parent,
                    "message_tree_id": tree_id,
                    "user_id": f"u{rng.randrange(max(3, n_trees // 2))}",
                    "role": role,
                    "text": text,
                    "lang": OASST_LANGS[lang],
                }
            )
            parent, mid = f"m{mid}", mid + 1
    return rows


def write_other_corpora(folder: str | Path, seed: int = 0, n: int = 80) -> dict[str, dict]:
    """Write the three corpora; returns what each holds (rows, conversations)."""
    rng = random.Random(seed)
    made = {"alpaca": alpaca_rows(n, rng), "dolly": dolly_rows(n, rng), "oasst": oasst_rows(n // 2, rng)}
    out = {}
    for name, rows in made.items():
        path = Path(folder) / FILES[name]
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        convs = len({r["message_tree_id"] for r in rows}) if name == "oasst" else len(rows)
        out[name] = {"rows": len(rows), "conversations": convs}
    return out
