"""The stored language labels (WildChat: lingua, per turn) checked against an offline detector: langdetect, whose
profiles ship inside the package (no download), seeded so it is deterministic.

    rows = detect_sample(sample)          # sample: [{"id", "text", "label"}] -> + detected, agree
    summary = agreement(rows)             # rate with a Wilson interval, disagreements by (label, detected)
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..core.stats import wilson_interval

_CODE_NAMES = {"zh-cn": "Chinese", "zh-tw": "Chinese", "fa": "Persian", "ms": "Malay", "tl": "Tagalog"}


@functools.lru_cache(maxsize=256)
def code_name(code: str) -> str:
    """langdetect's code -> WildChat's language name (``zh-cn`` -> Chinese, ``ru`` -> Russian)."""
    if code in _CODE_NAMES:
        return _CODE_NAMES[code]
    import pycountry

    lang = pycountry.languages.get(alpha_2=code.split("-")[0])
    return lang.name.split(" (")[0].split(";")[0] if lang else code


def detect(text: str) -> str | None:
    """The language name langdetect finds in ``text`` (None for text it cannot read, e.g. only digits)."""
    from langdetect import DetectorFactory
    from langdetect import detect as _detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return code_name(_detect(text))
    except LangDetectException:
        return None


def detect_sample(sample: Sequence[dict]) -> list[dict[str, Any]]:
    """Each sampled turn with the detector's language and whether it agrees with the stored label."""
    out = []
    for it in sample:
        found = detect(it["text"])
        out.append({**it, "detected": found, "agree": found is not None and found == it["label"]})
    return out


def agreement(rows: Sequence[dict]) -> dict[str, Any]:
    """Agreement of stored labels and detector over the readable rows, its Wilson CI, and the confusions."""
    readable = [r for r in rows if r["detected"] is not None]
    k, n = sum(r["agree"] for r in readable), len(readable)
    lo, hi = wilson_interval(k, n)
    confusions = Counter((r["label"], r["detected"]) for r in readable if not r["agree"])
    return {
        "checked": n,
        "unreadable": len(rows) - n,
        "agree": k,
        "disagree": n - k,
        "rate": k / n if n else None,
        "rate_ci": [lo, hi],
        "confusions": [
            {"stored": a, "detected": b, "turns": v} for (a, b), v in sorted(confusions.items(), key=lambda kv: -kv[1])
        ],
    }
