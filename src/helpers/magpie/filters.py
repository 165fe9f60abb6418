"""Filters of the released Magpie sets (Pro / Air presets), applied one at a time so each one's toll shows."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .tagging import DIFFICULTY_LEVELS, QUALITY_LEVELS


# --------------------------------------------------------------------------- filters
@dataclass(frozen=True)
class FilterSpec:
    min_quality: str | None = None  # one of QUALITY_LEVELS
    min_difficulty: str | None = None  # one of DIFFICULTY_LEVELS
    min_reward: float | None = None
    drop_duplicates: bool = False
    min_instruction_words: int = 0
    max_instruction_words: int = 0  # 0 = no limit
    min_response_tokens: int = 0
    languages: tuple[str, ...] = ()  # ISO codes to keep; empty = any
    drop_colon_end: bool = False  # instructions ending in ":" (the reference drops them)
    top_n_longest: int = 0  # keep the N longest responses (Air); 0 = all

    def __post_init__(self):
        if self.min_quality is not None and self.min_quality not in QUALITY_LEVELS:
            raise ValueError(f"min_quality must be one of {QUALITY_LEVELS}, got {self.min_quality!r}")
        if self.min_difficulty is not None and self.min_difficulty not in DIFFICULTY_LEVELS:
            raise ValueError(f"min_difficulty must be one of {DIFFICULTY_LEVELS}, got {self.min_difficulty!r}")
        object.__setattr__(self, "languages", tuple(self.languages or ()))


PRESETS = {
    "none": FilterSpec(),
    # Magpie-Pro-300K-Filtered: input_quality >= average, instruct_reward >= -10, no repetition.
    "pro": FilterSpec(min_quality="average", min_reward=-10.0, drop_duplicates=True, drop_colon_end=True),
    # Magpie-Air-300K-Filtered: input_quality >= good, difficulty >= medium, longest responses.
    "air": FilterSpec(min_quality="good", min_difficulty="medium", drop_duplicates=True, drop_colon_end=True),
}


def filter_spec(preset: str = "none", **overrides: Any) -> FilterSpec:
    """A preset with the overrides that are not None applied."""
    if preset not in PRESETS:
        raise ValueError(f"unknown filter preset {preset!r}: use one of {', '.join(PRESETS)}")
    changes = {k: (tuple(v) if k == "languages" else v) for k, v in overrides.items() if v is not None}
    return replace(PRESETS[preset], **changes)


def _level_ok(value: str | None, minimum: str, levels: list[str]) -> bool:
    return value in levels and levels.index(value) >= levels.index(minimum)


def apply_filters(records: Sequence[dict], spec: FilterSpec) -> tuple[list[dict], list[dict]]:
    """Apply each active filter in turn; returns (kept records, one row per step: filter, dropped, remaining).

    Records missing a tag a filter needs are dropped by that filter (counted); a reward filter with
    no reward on any record is skipped and reported as such (no reward model configured).
    """
    kept = list(records)
    steps: list[dict] = [{"filter": "input", "dropped": 0, "remaining": len(kept), "note": ""}]

    def step(name: str, keep_fn, note: str = "") -> None:
        nonlocal kept
        before = len(kept)
        kept = [r for r in kept if keep_fn(r)]
        steps.append({"filter": name, "dropped": before - len(kept), "remaining": len(kept), "note": note})

    if spec.drop_duplicates:
        step("duplicates", lambda r: r.get("min_similar_conversation_id") in (None, r.get("conversation_id")))
    if spec.min_instruction_words:
        step(f"instruction >= {spec.min_instruction_words} words",
             lambda r: len(_instruction(r).split()) >= spec.min_instruction_words)
    if spec.max_instruction_words:
        step(f"instruction <= {spec.max_instruction_words} words",
             lambda r: len(_instruction(r).split()) <= spec.max_instruction_words)
    if spec.drop_colon_end:
        step("instruction ends with ':'", lambda r: not _instruction(r).rstrip().endswith(":"))
    if spec.min_response_tokens:
        step(f"response >= {spec.min_response_tokens} tokens",
             lambda r: (r.get("response_tokens") or 0) >= spec.min_response_tokens)
    if spec.languages:
        step(f"language in {list(spec.languages)}", lambda r: r.get("language") in spec.languages)
    if spec.min_quality:
        step(f"quality >= {spec.min_quality}", lambda r: _level_ok(r.get("input_quality"), spec.min_quality, QUALITY_LEVELS))
    if spec.min_difficulty:
        step(f"difficulty >= {spec.min_difficulty}",
             lambda r: _level_ok(r.get("difficulty"), spec.min_difficulty, DIFFICULTY_LEVELS))
    if spec.min_reward is not None:
        if any(r.get("instruct_reward") is not None for r in records):
            step(f"reward >= {spec.min_reward}",
                 lambda r: r.get("instruct_reward") is not None and r["instruct_reward"] >= spec.min_reward)
        else:
            steps.append({"filter": f"reward >= {spec.min_reward}", "dropped": 0, "remaining": len(kept),
                          "note": "skipped: no reward scores (no reward model configured or it failed)"})
    if spec.top_n_longest and len(kept) > spec.top_n_longest:
        longest = sorted(kept, key=lambda r: (-len(r.get("response") or ""), str(r.get("id", ""))))[: spec.top_n_longest]  # ties: by id
        ids = {id(r) for r in longest}
        step(f"top {spec.top_n_longest} longest responses", lambda r: id(r) in ids)
    return kept, steps


def _instruction(r: dict) -> str:
    return r.get("instruction") or ""
