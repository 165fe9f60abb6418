"""Loading records from a shipped data set, a local file, or a hub data set id.

load_records("builtin:quickstart_facts.jsonl")       # shipped with the package (written by us)
load_records("path/to/tasks.jsonl")                  # local JSONL / JSON / CSV / parquet
load_records("allenai/WildBench", config="v2", split="test")   # hub (needs network or cache)
load_records("run:10_wildchat")       # data/prompts.jsonl of 10's run with this run's name (core.runs.run_source)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import files
from .hub import ask_hub

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


MAX_DATA_BYTES = int(os.environ.get("HELPERS_MAX_DATA_BYTES", 1 << 30))  # a local data file larger than this is refused
READ_SECONDS = float(os.environ.get("HELPERS_READ_SECONDS", 120))  # a read slower than this is refused (a stuck mount)


def check_regular(path: str | Path, max_bytes: int = MAX_DATA_BYTES) -> Path:
    """``path`` if it is a regular file of at most ``max_bytes`` (a stat: never opens a FIFO or a device)."""
    return files.check_regular(
        path, max_bytes, what="data file", error=DataError, limit_hint=" (HELPERS_MAX_DATA_BYTES)"
    )


def read_local_bytes(path: str | Path, max_bytes: int = MAX_DATA_BYTES, seconds: float = READ_SECONDS) -> bytes:
    """The bytes of a local data file, bounded: regular files only (a FIFO, ``/dev/zero`` or a folder is a
    DataError, never a hang or an endless read), at most ``max_bytes``, read within ``seconds``."""
    return files.read_bounded(
        path,
        max_bytes,
        seconds=seconds,
        what="data file",
        error=DataError,
        limit_hint=" (HELPERS_MAX_DATA_BYTES)",
        time_hint=" (HELPERS_READ_SECONDS)",
    )


def read_local_text(path: str | Path) -> str:
    """``read_local_bytes`` decoded as UTF-8 (DataError naming the file and the byte otherwise)."""
    data = read_local_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"data file {path} is not UTF-8 text (byte {exc.start})") from None


def _records(rows: Any, path: Path) -> list[dict]:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        bad = next((i for i, r in enumerate(rows) if not isinstance(r, dict)), 0) if isinstance(rows, list) else 0
        raise DataError(f"data file {path}: record {bad + 1} is not a JSON object")
    return rows


def _read_local(path: Path) -> list[dict]:
    check_regular(path)
    try:
        if path.suffix == ".jsonl":
            rows = []
            for n, line in enumerate(read_local_text(path).splitlines(), 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise DataError(f"data file {path}: line {n} is not JSON ({exc.msg})") from None
            return _records(rows, path)
        if path.suffix == ".json":
            data = json.loads(read_local_text(path))
            rows = (
                data
                if isinstance(data, list)
                else (data.get("records") or data.get("data") or [data] if isinstance(data, dict) else data)
            )
            return _records(rows, path)
        if path.suffix not in LOCAL_SUFFIXES:
            raise DataError(
                f"data file {path}: unknown format {path.suffix or '(no suffix)'} (use {', '.join(LOCAL_SUFFIXES)})"
            )
        import io

        import pandas as pd

        raw = io.BytesIO(read_local_bytes(path))
        df = pd.read_csv(raw) if path.suffix == ".csv" else pd.read_parquet(raw)
        return df.to_dict(orient="records")
    except DataError:
        raise
    except RecursionError:
        raise DataError(f"could not read {path}: JSON nested too deeply") from None
    except Exception as exc:  # any parser's complaint about the file's contents (pandas, pyarrow, json) is bad input
        raise DataError(f"could not read {path}: {type(exc).__name__}: {exc}".splitlines()[0][:300]) from None


def is_hub_id(source: str) -> bool:
    """``org/name`` that is not a local path or a shipped data set."""
    return (
        isinstance(source, str)
        and not source.startswith(("builtin:", ".", "/", "~"))
        and source.count("/") == 1
        and not source.endswith(LOCAL_SUFFIXES + (".txt",))
        and not Path(source).expanduser().exists()
    )


def _in_dataset_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import scan_cache_dir

        if any(r.repo_id == repo_id and r.repo_type == "dataset" for r in scan_cache_dir().repos):
            return True
    except Exception:
        pass
    try:
        from datasets import config

        return any(Path(config.HF_DATASETS_CACHE).glob(repo_id.replace("/", "___") + "*"))
    except Exception:
        return False


def check_hub_dataset(repo_id: str, timeout: float = 10.0) -> None:
    """DataError unless the hub data set can be loaded: cached when offline, known to the hub when online."""
    from . import rehearsal

    if rehearsal.active() or _in_dataset_cache(repo_id):
        return
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        raise DataError(
            f"hub data set {repo_id!r} is not in the local cache and HF_HUB_OFFLINE=1: download it on a "
            f"machine with hub access, or give a local file or a builtin: set"
        )
    answer = ask_hub(repo_id, "dataset", timeout)
    if answer == "missing":
        raise DataError(f"hub data set {repo_id!r} does not exist (or needs a token: set HF_TOKEN)")
    if answer:
        raise DataError(
            f"hub data set {repo_id!r} cannot be checked: the hub is not reachable "
            f"{answer.split(' ', 1)[1]}; set HF_HUB_OFFLINE=1 with a cached copy, or give a local file"
        )


def check_source(param: str, source: str, load: Callable[[str], Any] | None = None) -> None:
    """Before compute: a hub id must be loadable (``check_hub_dataset``); a local or builtin source is read
    (bounded) by ``load``, the notebook's own loader, so its records meet the schema the notebook needs.
    ValueError naming ``param`` otherwise."""
    if not source:
        return
    try:
        if is_hub_id(source):
            check_hub_dataset(source)
            return
        records = (load or load_records)(source)
        if records is not None and hasattr(records, "__len__") and not len(records):
            raise DataError(f"data source {source!r} has no records")
    except Exception as exc:  # the loader's own complaint (DataError, KeyError of a missing field, ...) is bad input
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise ValueError(
            f"parameter {param!r}: {type(exc).__name__ + ': ' if not isinstance(exc, ValueError) else ''}{text}"[:400]
        ) from None


def load_records(
    source: str, split: str = "train", config: str | None = None, limit: int | None = None, required: Sequence[str] = ()
) -> list[dict[str, Any]]:
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
            raise DataError(
                f"could not load hub data set {source!r} (config={config}, split={split}): "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}. Offline, "
                f"use a local file or a builtin: set"
            ) from None
        records = ds.to_list() if limit is None else ds.select(range(min(limit, len(ds)))).to_list()
    if limit is not None:
        records = records[:limit]
    if not records:
        raise DataError(f"data source {source!r} has no records")
    for n, rec in enumerate(records):
        missing = [f for f in required if f not in rec]
        if missing:
            raise DataError(
                f"data source {source!r}: record {n + 1} lacks the fields {missing} (has: {sorted(rec)[:12]})"
            )
    return records
