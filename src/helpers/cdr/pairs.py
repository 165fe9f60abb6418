"""Which (strong, weak) pairs the sweep computes: ``sweep_pairs`` is "all" (every pair of zoo models once, strong = the
higher gap score, the paper's sweep), an explicit list of [strong, weak] pairs, or a pairs file (YAML, JSONL or CSV
with ``strong`` and ``weak``, optionally ``type``). Pair rewards come from each model's cached log-probs, so adding
pairs after the models are scored costs subtractions only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

PAIR_TYPES = ("dpo-over-sft", "sft-over-base", "instruct-over-base")  # the paper's pair types (+ instruct over base)
ALL = "all"


class PairsError(ValueError):
    """A ``sweep_pairs`` value that names no valid pairs; the message starts with the parameter's name."""


def _where(source: str) -> Path:
    from ..core.data import builtin_path

    return builtin_path(source.split(":", 1)[1]) if source.startswith("builtin:") else Path(source)


def load_pair_file(source: str) -> list[dict[str, Any]]:
    """Rows {strong, weak, ...} of a pairs file: YAML (a list of mappings or of [strong, weak], or a mapping with a
    ``pairs`` list), JSONL or CSV (``#`` lines are comments). ``builtin:NAME`` reads ``src/helpers/data/NAME``."""
    import yaml

    from ..core.data import DataError, load_records, read_local_text

    path = _where(source)
    try:
        if path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(read_local_text(path))
            rows = data.get("pairs") if isinstance(data, dict) else data
        elif path.suffix == ".csv":
            import io

            import pandas as pd

            rows = pd.read_csv(io.StringIO(read_local_text(path)), comment="#", dtype=str).to_dict(orient="records")
        else:
            rows = load_records(str(path))
    except (DataError, OSError, ValueError, yaml.YAMLError) as exc:
        raise PairsError(
            f"parameter 'sweep_pairs': {source} is not a readable pairs file ({exc})".splitlines()[0]
        ) from None
    if not isinstance(rows, list) or not rows:
        raise PairsError(f"parameter 'sweep_pairs': {source} holds no list of pairs")
    return [r if isinstance(r, dict) else {"strong": r[0], "weak": r[1]} if _is_pair(r) else {"bad": r} for r in rows]


def _is_pair(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, str) and v for v in value)


def parse_sweep_pairs(spec: Any, models: Sequence[str]) -> str | list[tuple[str, str]]:
    """``ALL`` or the explicit (strong, weak) pairs of ``spec``, in order, duplicates dropped. PairsError (one line)
    for a malformed pair, a pair of a model with itself, or a model that is not in ``models`` (the zoo)."""
    if spec is None or spec == ALL:
        return ALL
    if isinstance(spec, str):
        if not spec:
            raise PairsError("parameter 'sweep_pairs' is empty: use \"all\", a list of [strong, weak] or a pairs file")
        rows = load_pair_file(spec)
        raw = [(r.get("strong"), r.get("weak")) for r in rows]
    elif isinstance(spec, (list, tuple)):
        raw = [tuple(p) if isinstance(p, (list, tuple)) else (p,) for p in spec]
    else:
        raise PairsError(
            f"parameter 'sweep_pairs' must be \"all\", a list of [strong, weak] or a pairs file, "
            f"got {type(spec).__name__}"
        )
    bad = [p for p in raw if not _is_pair(p)]
    if bad or not raw:
        raise PairsError(
            f"parameter 'sweep_pairs': {'no pairs' if not raw else repr(bad[0])}: each pair is "
            "[strong, weak], two model names"
        )
    same = [p for p in raw if p[0] == p[1]]
    if same:
        raise PairsError(f"parameter 'sweep_pairs': {list(same[0])} pairs a model with itself (its reward is 0)")
    known = set(models)
    unknown = sorted({m for p in raw for m in p if m not in known})
    if unknown:
        import difflib

        hint = difflib.get_close_matches(unknown[0], list(known), n=1)
        raise PairsError(
            f"parameter 'sweep_pairs': {len(unknown)} model(s) not in the zoo: "
            f"{', '.join(map(repr, unknown[:5]))}"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + " (add them to zoo_models or derived_zoo)"
        )
    return list(dict.fromkeys((str(s), str(w)) for s, w in raw))


def sweep_pair_list(
    spec: Any, models: Sequence[str], gap_scores: dict[str, float]
) -> tuple[list[tuple[str, str, float]], list[tuple[str, str]]]:
    """((strong, weak, gap) of every pair the sweep computes, pairs left out with equal gap scores). ``all``: every
    pair once, strong = the higher score (``unordered_pairs``); explicit pairs keep their orientation, gap =
    score(strong) - score(weak), which may be 0 or negative (a pair named the other way round)."""
    from .sweep import unordered_pairs

    pairs = parse_sweep_pairs(spec, models)
    if pairs == ALL:
        return unordered_pairs(list(models), gap_scores)
    missing = sorted({m for p in pairs for m in p if m not in gap_scores})
    if missing:
        raise KeyError(f"no gap score for {', '.join(missing)}")
    return [(s, w, gap_scores[s] - gap_scores[w]) for s, w in pairs], []


def check_pair_types(rows: Sequence[dict]) -> list[str]:
    """The problems of a typed pairs file: a type outside ``PAIR_TYPES``, a duplicate pair (none: an empty list)."""
    problems, seen = [], set()
    for n, r in enumerate(rows, 1):
        key = (r.get("strong"), r.get("weak"))
        if r.get("type") not in PAIR_TYPES:
            problems.append(f"row {n} {key}: type {r.get('type')!r} is not one of {PAIR_TYPES}")
        if key in seen:
            problems.append(f"row {n} {key}: duplicate pair")
        seen.add(key)
    return problems
