"""The data Culture-Gen runs on, written for this project: 110 nationalities in 12 region groups, the 8 topics
with their prompt suffixes, the three gender forms, and a list of well-known culture-symbol pairs.

    cultures = select_cultures(n_per_region=1)        # one culture per region (the first listed)
    topics = select_topics([])                         # all 8
    region_of("Turkey")                                # 'Middle-Eastern' (country names and aliases too)
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.data import builtin_path, load_records

NATIONALITIES_FILE = "culturegen_nationalities.json"
PROMPTS_FILE = "culturegen_prompts.json"
PAIRS_SOURCE = "builtin:culturegen_symbol_pairs.jsonl"
GENDERS = ("male", "female", "neutral")


@dataclass(frozen=True)
class Culture:
    nationality: str  # the word used in prompts ("Japanese")
    country: str  # the name pycountry finds ("Japan")
    alpha3: str
    region: str  # one of the 12 region groups
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every name that marks a generation as mentioning this culture."""
        return (self.nationality, self.country, *self.aliases)


@dataclass(frozen=True)
class Topic:
    key: str
    name: str  # as written in the instruction ("favorite music")
    suffix: str  # the sentence the generation continues; {subject} / {subject_lower}
    reference: str  # the scoring sentence's start (gender-neutral, no "probably")
    generic: str  # the culture-agnostic calibration sentence
    item: str
    item_one: str
    item_many: str
    generic_words: tuple[str, ...] = field(default=())


@functools.lru_cache(maxsize=1)
def _nationality_file() -> dict[str, Any]:
    return json.loads(builtin_path(NATIONALITIES_FILE).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def prompt_spec() -> dict[str, Any]:
    """The prompt templates (instruction, intro, gender forms, topics) as written in the data file."""
    return json.loads(builtin_path(PROMPTS_FILE).read_text(encoding="utf-8"))


def regions() -> list[str]:
    return list(_nationality_file()["regions"])


def all_cultures() -> list[Culture]:
    return [
        Culture(r["nationality"], r["country"], r["alpha3"], r["region"], tuple(r.get("aliases", ())))
        for r in _nationality_file()["nationalities"]
    ]


def all_topics() -> list[Topic]:
    return [
        Topic(
            t["key"],
            t["name"],
            t["suffix"],
            t["reference"],
            t["generic"],
            t["item"],
            t["item_one"],
            t["item_many"],
            tuple(t.get("generic_words", ())),
        )
        for t in prompt_spec()["topics"]
    ]


def culture(nationality: str) -> Culture:
    for c in all_cultures():
        if c.nationality == nationality:
            return c
    raise KeyError(f"unknown nationality {nationality!r}")


def topic(key: str) -> Topic:
    for t in all_topics():
        if t.key == key:
            return t
    raise KeyError(f"unknown topic {key!r}")


def select_cultures(names: Sequence[str] = (), n_per_region: int = 0) -> list[Culture]:
    """The cultures named (all 110 when empty), then at most ``n_per_region`` per region (0: no cap), in file order."""
    pool = all_cultures()
    if names:
        known = {c.nationality: c for c in pool}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(
                f"parameter 'cultures': unknown nationality {unknown[0]!r} (e.g. {', '.join(list(known)[:6])}, ...)"
            )
        pool = [c for c in pool if c.nationality in set(names)]
    if n_per_region:
        seen: dict[str, int] = {}
        kept = []
        for c in pool:
            if seen.get(c.region, 0) < n_per_region:
                kept.append(c)
                seen[c.region] = seen.get(c.region, 0) + 1
        pool = kept
    return pool


def select_topics(keys: Sequence[str] = ()) -> list[Topic]:
    every = all_topics()
    if not keys:
        return every
    unknown = [k for k in keys if k not in {t.key for t in every}]
    if unknown:
        raise ValueError(f"parameter 'topics': unknown topic {unknown[0]!r} (known: {', '.join(t.key for t in every)})")
    return [t for t in every if t.key in set(keys)]


def region_of(name: str) -> str | None:
    """The region group of a nationality, a country name or an alias (exact, then case-insensitive); None if unknown."""
    for exact in (True, False):
        for c in all_cultures():
            names = c.names
            if (name in names) if exact else (name.lower() in {n.lower() for n in names}):
                return c.region
    return None


def symbol_pairs(source: str = PAIRS_SOURCE) -> list[dict]:
    """Well-known (topic, symbol, nationality) pairs written by us, for the scoring method's validity check."""
    recs = load_records(source, required=["topic", "symbol", "nationality"])
    for r in recs:
        topic(r["topic"])  # raises on an unknown topic
        culture(r["nationality"])
    return recs


GOLD_SOURCE = "builtin:culturegen_extraction_gold.jsonl"  # hand-labelled generations with their true items (ours)


def extraction_gold(source: str = GOLD_SOURCE) -> list[dict]:
    """Hand-labelled continuations (topic, nationality, gender, text, items: the true items a reader finds in the
    text's first sentence), written for this project: what the extractors are checked against. Each record gets
    ``gen_id`` (its ``id``) so that the LLM extraction stage can store it beside the run's generations."""
    recs = load_records(source, required=["id", "topic", "nationality", "gender", "text", "items"])
    for r in recs:
        topic(r["topic"])  # raises on an unknown topic
        culture(r["nationality"])
        if r["gender"] not in GENDERS or not isinstance(r["items"], list):
            raise ValueError(f"{source} record {r['id']}: gender must be one of {GENDERS} and items a list")
    return [{**r, "gen_id": f"gold:{r['id']}"} for r in recs]


COUNTS_SOURCE = "builtin:culturegen_redpajama_counts.json"  # the paper's RedPajama document counts (figures)


def frequency_counts(path: str = COUNTS_SOURCE) -> dict[str, float]:
    """A culture-frequency table {nationality: count} from a JSON file: a flat object, or one with a ``documents``
    object (the builtin file of the paper's RedPajama document counts, keyed by the paper's words in lower case)."""
    import math

    from ..core.data import DataError, read_local_text

    try:
        text = (
            builtin_path(path.split(":", 1)[1]).read_text(encoding="utf-8")
            if path.startswith("builtin:")
            else read_local_text(path)
        )
        data = json.loads(text)
        if isinstance(data, dict) and isinstance(data.get("documents"), dict):
            data = data["documents"]
    except DataError:
        raise
    except (ValueError, RecursionError) as exc:
        raise DataError(f"{path} is not readable JSON ({type(exc).__name__})") from None
    if (
        not isinstance(data, dict)
        or not data
        or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
            for v in data.values()
        )
    ):
        raise DataError(f"{path}: expected a JSON object {{nationality: count}} with finite counts >= 0")
    return {str(k): float(v) for k, v in data.items()}
