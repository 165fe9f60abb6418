"""Loading records from a shipped data set, a local file, or a hub data set id.

    load_records("builtin:quickstart_facts.jsonl")       # shipped with the package (written by us)
    load_records("path/to/tasks.jsonl")                  # local JSONL / JSON / CSV / parquet
    load_records("allenai/WildBench", config="v2", split="test")   # hub (needs network or cache)
    load_records("run:10_wildchat")       # data/prompts.jsonl of 10's run with this run's name (core.runs.run_source)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
LOCAL_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


class DataError(ValueError):
    """Data could not be found or read; the message names the source and the fix."""


def builtin_path(name: str) -> Path:
    path = DATA_DIR / name
    if not path.exists():
        known = ", ".join(sorted(p.name for p in DATA_DIR.iterdir() if not p.name.startswith(".")))
        raise DataError(f"builtin data set {name!r} not found (shipped: {known})")
    return path


def _read_local(path: Path) -> list[dict]:
    try:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            return data if isinstance(data, list) else data.get("records") or data.get("data") or [data]
        import pandas as pd
        df = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
        return df.to_dict(orient="records")
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"could not read {path}: {exc}".splitlines()[0]) from None


def load_records(source: str, split: str = "train", config: str | None = None, limit: int | None = None,
                 required: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Records (dicts) from ``source``; checks that the ``required`` fields are present."""
    if not source:
        raise DataError("data source is empty: give builtin:NAME, a local file, or a hub data set id")
    from . import rehearsal
    if rehearsal.active():
        source = rehearsal.data_source(source)
    if source.startswith("run:"):  # another notebook's published file, same run name (core.runs.run_source)
        from .runs import run_source
        path = run_source(source)
        if not path.exists():
            raise DataError(f"{source}: {path} not found; run {source[4:].split('/')[0]} with the same run name first")
        records = _read_local(path)
    elif source.startswith("builtin:"):
        records = _read_local(builtin_path(source.split(":", 1)[1]))
    elif Path(source).expanduser().exists():
        path = Path(source).expanduser()
        if path.is_dir():
            from datasets import load_from_disk
            ds = load_from_disk(str(path))
            records = (ds[split] if hasattr(ds, "keys") else ds).to_list()
        else:
            records = _read_local(path)
    elif source.endswith(LOCAL_SUFFIXES) or source.count("/") != 1:
        raise DataError(f"data file {source} not found (and it is not a hub data set id of the form org/name)")
    else:
        try:
            from datasets import load_dataset
            ds = load_dataset(source, config, split=split)
        except Exception as exc:  # network, auth, unknown split: say which source failed and why
            raise DataError(f"could not load hub data set {source!r} (config={config}, split={split}): "
                            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}. Offline, "
                            f"use a local file or a builtin: set") from None
        records = ds.to_list() if limit is None else ds.select(range(min(limit, len(ds)))).to_list()
    if limit is not None:
        records = records[:limit]
    if not records:
        raise DataError(f"data source {source!r} has no records")
    missing = [f for f in required if f not in records[0]]
    if missing:
        raise DataError(f"data source {source!r} lacks the fields {missing} (has: {sorted(records[0])})")
    return records
