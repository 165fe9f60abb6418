"""Filters of the released Magpie sets (Pro / Air presets), applied one at a time so each one's toll shows.

Two kinds of preset. The paper's (``pro``, ``air``) use absolute thresholds (input quality >= average, reward >= -10)
that assume a 70B-class tagger and a trained reward model. The relative ones (``pro-relative``, ``air-relative``,
``top-reward``) set each threshold at a quantile of the values of the records that reach the step, or keep the
top share by a score, so a non-empty set of tagged records never ends empty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
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
    # relative thresholds: keep a record whose value is at or above this quantile of the values of the records
    # that reach the step (ordinal levels for the tags); None = no such step
    quality_quantile: float | None = None
    difficulty_quantile: float | None = None
    reward_quantile: float | None = None
    top_n_reward: int = 0  # keep the N highest rewards; 0 = all
    top_share_reward: float = 0.0  # keep the ceil(share * n) highest rewards (at least 1); 0 = no such step
    top_share_longest: float = 0.0  # keep the ceil(share * n) longest responses (at least 1); 0 = no such step

    def __post_init__(self):
        if self.min_quality is not None and self.min_quality not in QUALITY_LEVELS:
            raise ValueError(f"min_quality must be one of {QUALITY_LEVELS}, got {self.min_quality!r}")
        if self.min_difficulty is not None and self.min_difficulty not in DIFFICULTY_LEVELS:
            raise ValueError(f"min_difficulty must be one of {DIFFICULTY_LEVELS}, got {self.min_difficulty!r}")
        for name in (*QUANTILE_FIELDS, *SHARE_FIELDS):
            v = getattr(self, name)
            if v is not None and not 0 <= v <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {v!r}")
        object.__setattr__(self, "languages", tuple(self.languages or ()))


QUANTILE_FIELDS = ("quality_quantile", "difficulty_quantile", "reward_quantile")
SHARE_FIELDS = ("top_share_reward", "top_share_longest")

PRESETS = {
    "none": FilterSpec(),
    # Magpie-Pro-300K-Filtered: input_quality >= average, instruct_reward >= -10, no repetition.
    "pro": FilterSpec(min_quality="average", min_reward=-10.0, drop_duplicates=True, drop_colon_end=True),
    # Magpie-Air-300K-Filtered: input_quality >= good, difficulty >= medium, longest responses.
    "air": FilterSpec(min_quality="good", min_difficulty="medium", drop_duplicates=True, drop_colon_end=True),
    # Pro with the run's own quantiles in place of the absolute quality and reward thresholds
    "pro-relative": FilterSpec(quality_quantile=0.5, reward_quantile=0.5, drop_duplicates=True, drop_colon_end=True),
    # Air with relative quality and difficulty thresholds, then the longest share of what is left
    "air-relative": FilterSpec(
        quality_quantile=0.5, difficulty_quantile=0.5, top_share_longest=0.3, drop_duplicates=True, drop_colon_end=True
    ),
    # the highest-reward share of the unique queries (the ranking the reference uses for its DPO data)
    "top-reward": FilterSpec(top_share_reward=0.3, drop_duplicates=True, drop_colon_end=True),
}
PAPER_PRESETS = ("pro", "air")  # absolute thresholds, as released
RELATIVE_PRESETS = ("pro-relative", "air-relative", "top-reward")


def filter_spec(
    preset: str = "none", quantile: float | None = None, top_share: float | None = None, **overrides: Any
) -> FilterSpec:
    """A preset with ``quantile`` replacing every quantile threshold it sets, ``top_share`` every top share it sets,
    and the overrides that are not None applied."""
    if preset not in PRESETS:
        raise ValueError(f"unknown filter preset {preset!r}: use one of {', '.join(PRESETS)}")
    base = PRESETS[preset]
    changes = {k: (tuple(v) if k == "languages" else v) for k, v in overrides.items() if v is not None}
    if quantile is not None:
        changes.update({f: quantile for f in QUANTILE_FIELDS if getattr(base, f) is not None and f not in changes})
    if top_share is not None:
        changes.update({f: top_share for f in SHARE_FIELDS if getattr(base, f) and f not in changes})
    return replace(base, **changes)


def _level_ok(value: str | None, minimum: str, levels: list[str]) -> bool:
    return value in levels and levels.index(value) >= levels.index(minimum)


def quantile_threshold(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of ``values`` taken as one of the values (numpy's "lower" method), so at least one value
    (and at least a 1 - q share of them) is at or above it; None for no values."""
    import numpy as np

    return float(np.quantile(np.asarray(values, dtype=float), q, method="lower")) if len(values) else None


def top_count(n: int, share: float) -> int:
    """How many of ``n`` records a top share keeps: ceil(share * n), at least 1 of a non-empty set."""
    return min(n, max(1, math.ceil(share * n - 1e-9))) if n else 0


def apply_filters(records: Sequence[dict], spec: FilterSpec) -> tuple[list[dict], list[dict]]:
    """Apply each active filter in turn; returns (kept records, one row per step: filter, dropped, remaining, note).

    Records missing a tag a filter needs are dropped by that filter (counted); a reward filter or ranking with
    no reward on any record, or a relative threshold with no tag to take a quantile of, is skipped and reported
    as such. Relative thresholds are quantiles of the records that reach the step, shown in the step's name.
    """
    kept = list(records)
    steps: list[dict] = [{"filter": "input", "dropped": 0, "remaining": len(kept), "note": ""}]

    def step(name: str, keep_fn, note: str = "") -> None:
        nonlocal kept
        before = len(kept)
        kept = [r for r in kept if keep_fn(r)]
        steps.append({"filter": name, "dropped": before - len(kept), "remaining": len(kept), "note": note})

    def skip(name: str, why: str) -> None:
        steps.append({"filter": name, "dropped": 0, "remaining": len(kept), "note": f"skipped: {why}"})

    def relative_level(key: str, levels: list[str], q: float, label: str) -> None:
        tagged, score = [r for r in kept if r.get(key) in levels], f"{key}_score"
        name = f"{label} >= run's {q:g} quantile"
        if not tagged:
            return skip(name, f"no record has a {label} tag")
        if all(isinstance(r.get(score), (int, float)) for r in tagged):  # log-prob tags: the expected level
            t = quantile_threshold([r[score] for r in tagged], q)
            return step(
                f"{name} (expected level {t:.3g})",
                lambda r: r.get(key) in levels and r[score] >= t,
                note=f"quantile of {len(tagged)} expected levels (0 = {levels[0]}, {len(levels) - 1} = {levels[-1]})",
            )
        lvl = levels[int(quantile_threshold([levels.index(r[key]) for r in tagged], q))]
        step(f"{name} ({lvl})", lambda r: _level_ok(r.get(key), lvl, levels), note=f"quantile of {len(tagged)} tags")

    def top_by(name: str, score, n: int) -> None:
        ranked = sorted((r for r in kept if score(r) is not None), key=lambda r: (-score(r), str(_id(r))))[:n]
        ids = {id(r) for r in ranked}  # ties: by id
        step(name, lambda r: id(r) in ids)

    has_reward = any(r.get("instruct_reward") is not None for r in records)
    no_reward = "no reward scores (no reward model configured or it failed)"
    if spec.drop_duplicates:
        step("duplicates", lambda r: r.get("min_similar_conversation_id") in (None, r.get("conversation_id")))
    if spec.min_instruction_words:
        step(
            f"instruction >= {spec.min_instruction_words} words",
            lambda r: len(_instruction(r).split()) >= spec.min_instruction_words,
        )
    if spec.max_instruction_words:
        step(
            f"instruction <= {spec.max_instruction_words} words",
            lambda r: len(_instruction(r).split()) <= spec.max_instruction_words,
        )
    if spec.drop_colon_end:
        step("instruction ends with ':'", lambda r: not _instruction(r).rstrip().endswith(":"))
    if spec.min_response_tokens:
        step(
            f"response >= {spec.min_response_tokens} tokens",
            lambda r: (r.get("response_tokens") or 0) >= spec.min_response_tokens,
        )
    if spec.languages:
        step(f"language in {list(spec.languages)}", lambda r: r.get("language") in spec.languages)
    if spec.min_quality:
        step(
            f"quality >= {spec.min_quality}",
            lambda r: _level_ok(r.get("input_quality"), spec.min_quality, QUALITY_LEVELS),
        )
    if spec.quality_quantile is not None:
        relative_level("input_quality", QUALITY_LEVELS, spec.quality_quantile, "quality")
    if spec.min_difficulty:
        step(
            f"difficulty >= {spec.min_difficulty}",
            lambda r: _level_ok(r.get("difficulty"), spec.min_difficulty, DIFFICULTY_LEVELS),
        )
    if spec.difficulty_quantile is not None:
        relative_level("difficulty", DIFFICULTY_LEVELS, spec.difficulty_quantile, "difficulty")
    if spec.min_reward is not None:
        if has_reward:
            step(
                f"reward >= {spec.min_reward}",
                lambda r: r.get("instruct_reward") is not None and r["instruct_reward"] >= spec.min_reward,
            )
        else:
            skip(f"reward >= {spec.min_reward}", no_reward)
    if spec.reward_quantile is not None:
        name = f"reward >= run's {spec.reward_quantile:g} quantile"
        rewards = [r["instruct_reward"] for r in kept if r.get("instruct_reward") is not None]
        if rewards:
            t = quantile_threshold(rewards, spec.reward_quantile)
            step(
                f"{name} ({t:.3g})",
                lambda r: r.get("instruct_reward") is not None and r["instruct_reward"] >= t,
                note=f"quantile of {len(rewards)} rewards",
            )
        else:
            skip(name, no_reward)
    reward = lambda r: r.get("instruct_reward")  # noqa: E731
    if spec.top_n_reward:
        name = f"top {spec.top_n_reward} by reward"
        top_by(name, reward, spec.top_n_reward) if has_reward else skip(name, no_reward)
    if spec.top_share_reward:
        name = f"top {spec.top_share_reward:.0%} by reward"
        top_by(name, reward, top_count(len(kept), spec.top_share_reward)) if has_reward else skip(name, no_reward)
    length = lambda r: len(r.get("response") or "")  # noqa: E731
    if spec.top_n_longest and len(kept) > spec.top_n_longest:
        top_by(f"top {spec.top_n_longest} longest responses", length, spec.top_n_longest)
    if spec.top_share_longest:
        top_by(
            f"top {spec.top_share_longest:.0%} longest responses", length, top_count(len(kept), spec.top_share_longest)
        )
    return kept, steps


def _instruction(r: dict) -> str:
    return r.get("instruction") or ""


def _id(r: dict) -> str:
    return r.get("conversation_id") or r.get("id") or ""


# --------------------------------------------------------------------------- the rule in words, every preset's toll
def _q_words(q: float) -> str:
    return {0.5: "median", 0.25: "lower quartile", 0.75: "upper quartile"}.get(q, f"{q:g} quantile")


def describe_spec(spec: FilterSpec) -> str:
    """The filter rule in words, computed from the spec (one clause per active step, in the order they run)."""
    s, out = spec, []
    if s.drop_duplicates:
        out.append("drop near-duplicate queries (all but the earliest copy)")
    if s.min_instruction_words:
        out.append(f"instructions of at least {s.min_instruction_words} words")
    if s.max_instruction_words:
        out.append(f"instructions of at most {s.max_instruction_words} words")
    if s.drop_colon_end:
        out.append("drop instructions ending in ':'")
    if s.min_response_tokens:
        out.append(f"responses of at least {s.min_response_tokens} tokens")
    if s.languages:
        out.append(f"language in {', '.join(s.languages)}")
    for absolute, q, what in [
        (s.min_quality, s.quality_quantile, "input quality"),
        (s.min_difficulty, s.difficulty_quantile, "difficulty"),
    ]:
        if absolute:
            out.append(f"{what} >= {absolute}")
        if q is not None:
            out.append(
                f"{what} >= the run's {_q_words(q)} (of the tagger's expected {what} level when its tags come "
                f"with one, else of its labels; a {1 - q:.0%} share or more of the tagged records reaching this "
                "step pass)"
            )
    if s.min_reward is not None:
        out.append(f"reward >= {s.min_reward:g} (skipped without a reward model)")
    if s.reward_quantile is not None:
        out.append(f"reward >= the run's {_q_words(s.reward_quantile)} reward (skipped without a reward model)")
    if s.top_n_reward:
        out.append(f"the {s.top_n_reward} highest rewards (skipped without a reward model)")
    if s.top_share_reward:
        out.append(
            f"the highest-reward {s.top_share_reward:.0%} (rounded up, at least 1; skipped without a reward model)"
        )
    if s.top_n_longest:
        out.append(f"the {s.top_n_longest} longest responses")
    if s.top_share_longest:
        out.append(f"the longest {s.top_share_longest:.0%} of the responses (rounded up, at least 1)")
    return "; ".join(out) if out else "keep every answered record"


def preset_counts(
    records: Sequence[dict], quantile: float | None = None, top_share: float | None = None, **overrides: Any
) -> dict[str, int]:
    """How many records each preset keeps on these records (the same quantile / top share / overrides)."""
    return {
        name: len(apply_filters(records, filter_spec(name, quantile, top_share, **overrides))[0]) for name in PRESETS
    }


def spec_fields(spec: FilterSpec) -> dict[str, Any]:
    """The spec's active settings (those not at their default), for the data card and metrics."""
    default = FilterSpec()
    return {f.name: getattr(spec, f.name) for f in fields(spec) if getattr(spec, f.name) != getattr(default, f.name)}
