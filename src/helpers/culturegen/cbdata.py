"""CulturalBench's loader (Chiu et al. 2024, kellycyy/CulturalBench): Easy questions and Hard true/false items from
the hub (both configs, at a pinned revision ``HUB_REVISION``) or from a file in the Easy schema (Hard by construction),
their countries in Culture-Gen's region groups; unusable rows skipped and counted. Scoring: ``culturalbench``."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence

from ..core.data import DataError, builtin_path, load_records
from .data import region_of

LETTERS = "ABCD"
HUB_ID = "kellycyy/CulturalBench"
# the dataset repository's commit of the 1,227-question release (its README then: 1,227 questions, 45 regions)
HUB_REVISION = "2d5acf9fde133b9607c26a3de8d34390a169d29a"
REGIONS_FILE = "culturalbench_regions.json"  # its 45 countries / regions in Culture-Gen's 12 region groups (ours)


@functools.lru_cache(maxsize=1)
def culturalbench_regions() -> dict[str, str]:
    """{CulturalBench country or region: Culture-Gen region group} for the benchmark's 45 (a data file of ours)."""
    return json.loads(builtin_path(REGIONS_FILE).read_text(encoding="utf-8"))["regions"]


def cb_region(country: str) -> str:
    """The region group of a CulturalBench country (its 45 first), else of any country Culture-Gen knows; 'unmapped'."""
    name = str(country or "").strip()
    return culturalbench_regions().get(name) or region_of(name) or "unmapped"


class BadRow(ValueError):
    """A CulturalBench row that cannot be used; the loader skips and counts it (by its reason)."""


EASY_CONFIG, HARD_CONFIG, SPLIT = "CulturalBench-Easy", "CulturalBench-Hard", "test"
CHANCE = {"easy": 0.25, "hard_item": 0.5, "hard_question": 1 / 16}


def _truth(v) -> bool:
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("true", "1", "yes", "t")


def normalize_easy(rec: dict, i: int) -> dict:
    """One Easy record (hub schema: prompt_question, prompt_option_a..d, answer letter, country)."""
    try:
        options = [_text(rec[f"prompt_option_{l}"]) for l in "abcd"]
        answer = _text(rec["answer"]).upper()
        question = _text(rec["prompt_question"])
    except KeyError as exc:
        raise BadRow(f"missing field {exc.args[0]}") from None
    if not answer:
        raise BadRow("empty answer")
    if answer not in LETTERS:
        raise BadRow("answer not one of A-D")
    if not question or not all(options):
        raise BadRow("empty question or option")
    country = _text(rec.get("country"))
    return {
        "qid": _qid(rec, i),
        "question": question,
        "options": options,
        "answer": LETTERS.index(answer),
        "country": country,
        "region": cb_region(country),
    }


def _text(v) -> str:
    """A field as stripped text; None and NaN (an empty CSV cell) as ''."""
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return str(v).strip()


def _qid(rec: dict, i: int) -> str:
    v = _text(rec.get("question_idx"))
    return v[:-2] if v.endswith(".0") else (v or f"row{i}")


def normalize_hard(rec: dict, i: int) -> dict:
    """One Hard record (hub schema: prompt_question, prompt_option, answer True/False, country)."""
    try:
        question, option, answer = _text(rec["prompt_question"]), _text(rec["prompt_option"]), _text(rec["answer"])
    except KeyError as exc:
        raise BadRow(f"missing field {exc.args[0]}") from None
    if not answer:
        raise BadRow("empty answer")
    if answer.lower() not in ("true", "false", "1", "0", "yes", "no", "t", "f"):
        raise BadRow("answer not true/false")
    if not question or not option:
        raise BadRow("empty question or option")
    country = _text(rec.get("country"))
    did = _text(rec.get("data_idx"))
    return {
        "id": (did[:-2] if did.endswith(".0") else did) or f"row{i}",
        "qid": _qid(rec, i),
        "question": question,
        "option": option,
        "label": _truth(answer),
        "country": country,
        "region": cb_region(country),
    }


def hard_from_easy(easy: Sequence[dict]) -> list[dict]:
    """The Hard form of Easy questions: each option becomes a true/false item (as CulturalBench builds it)."""
    return [
        {
            "id": f"{q['qid']}-{k}",
            "qid": q["qid"],
            "question": q["question"],
            "option": opt,
            "label": k == q["answer"],
            "country": q["country"],
            "region": q["region"],
        }
        for q in easy
        for k, opt in enumerate(q["options"])
    ]


def _normalized(records: Sequence[dict], normalize, key: str, form: str, skipped: dict) -> list[dict]:
    """The usable rows of ``records``; each skipped one counted in ``skipped`` as '{form}: {reason}'."""
    out, seen = [], set()
    for i, rec in enumerate(records):
        try:
            row = normalize(rec, i)
            if row[key] in seen:
                raise BadRow(f"repeated {key}")
        except BadRow as exc:
            skipped[f"{form}: {exc}"] = skipped.get(f"{form}: {exc}", 0) + 1
            continue
        seen.add(row[key])
        out.append(row)
    return out


def _hub_records(source: str, config: str, revision: str) -> list[dict]:
    """One config's test split of a hub data set at ``revision`` (a DataError naming the source when it fails)."""
    try:
        from datasets import load_dataset

        return load_dataset(source, config, split=SPLIT, revision=revision or None).to_list()
    except Exception as exc:  # network, auth, unknown revision: say which source failed and why
        raise DataError(
            f"could not load hub data set {source!r} (config={config}, revision={revision or 'latest'}): "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}. Offline, use a local "
            f"file or a builtin: set"
        ) from None


def _is_hub(source: str) -> bool:
    from pathlib import Path

    return (
        not source.startswith("builtin:")
        and source.count("/") == 1
        and not source.endswith((".jsonl", ".json", ".csv"))
        and not Path(source).exists()
    )


def load_culturalbench_counted(
    source: str, limit: int = 0, revision: str = HUB_REVISION
) -> tuple[list[dict], list[dict], dict[str, int]]:
    """(Easy questions, Hard items, skipped rows by reason). A hub id loads both configs at ``revision``; a file in
    the Easy schema gives Hard by construction. Unusable rows are skipped and counted, never fatal."""
    skipped: dict[str, int] = {}
    if _is_hub(source):
        easy = _normalized(_hub_records(source, EASY_CONFIG, revision), normalize_easy, "qid", "easy", skipped)
        hard = _normalized(_hub_records(source, HARD_CONFIG, revision), normalize_hard, "id", "hard", skipped)
    else:
        easy = _normalized(load_records(source), normalize_easy, "qid", "easy", skipped)
        hard = hard_from_easy(easy)
    if not easy:
        raise DataError(f"{source}: no usable CulturalBench question ({sum(skipped.values())} rows skipped: {skipped})")
    if limit:
        easy = easy[:limit]
        keep = {q["qid"] for q in easy}
        hard = [h for h in hard if h["qid"] in keep]
    return easy, hard, skipped


def load_culturalbench(source: str, limit: int = 0, revision: str = HUB_REVISION) -> tuple[list[dict], list[dict]]:
    """(Easy questions, Hard items): ``load_culturalbench_counted`` without the skipped-row counts."""
    easy, hard, _ = load_culturalbench_counted(source, limit, revision)
    return easy, hard
