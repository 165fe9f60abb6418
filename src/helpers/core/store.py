"""Resumable stages and atomic writes.

* ``JsonlStore``: records appended to a JSONL file with stable ids, flushed as they are produced.
  Re-opening a file left by a killed run drops a torn last line and skips ids already present,
  so a rerun loses nothing and duplicates nothing.
* ``run_stage``: apply a batch function to the items whose ids are not yet in a store.
* ``atomic_write_*`` / ``atomic_dir``: write to a temporary sibling, then rename.
* ``cached_json``: compute a JSON-able result once per run folder.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence


def stable_id(*parts: Any, length: int = 16) -> str:
    """A deterministic id for any JSON-able parts (same input -> same id, across runs and machines)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(blob.encode("utf-8")).hexdigest()[:length]


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600 files: run files are for colleagues to read
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Strict JSON (NaN and infinities become null, so every JSON reader can load the file)."""
    clean = finite_json(json.loads(json.dumps(obj, ensure_ascii=False, default=_json_default)))
    return atomic_write_text(path, json.dumps(clean, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def finite_json(obj: Any) -> Any:
    """``obj`` with every NaN / infinite float replaced by None (recursively)."""
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [finite_json(v) for v in obj]
    return obj


def _json_default(obj: Any) -> Any:
    # numpy scalars/arrays and paths show up in metrics all the time.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder next to ``target``; on success it replaces ``target`` in one rename."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    os.chmod(tmp, 0o755)
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def cached_json(path: str | Path, compute: Callable[[], Any]) -> Any:
    """Load ``path`` if a finished earlier run wrote it, else compute, write atomically and return."""
    path = Path(path)
    if path.exists():
        return read_json(path)
    result = compute()
    atomic_write_json(path, result)
    return result


class JsonlStore:
    """Append-only JSONL records keyed by ``key``; safe to reopen after a kill."""

    def __init__(self, path: str | Path, key: str = "id"):
        self.path = Path(path)
        self.key = key
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._records: dict[str, dict] = {}
        self.malformed_lines = 0  # complete lines that were not JSON records (reported, never silent)
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        raw = self.path.read_bytes()
        good_end = raw.rfind(b"\n") + 1  # a kill mid-write leaves a torn last line: drop it
        for line in raw[:good_end].splitlines():
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                self._records.setdefault(str(rec[self.key]), rec)
            except (ValueError, KeyError, TypeError):
                self.malformed_lines += 1
        if self.malformed_lines:
            import warnings
            warnings.warn(f"{self.path}: {self.malformed_lines} malformed line(s) skipped (not JSON records with "
                          f"{self.key!r}); their items are recomputed", stacklevel=2)
        if good_end != len(raw):
            with open(self.path, "r+b") as f:
                f.truncate(good_end)

    def __contains__(self, record_id: object) -> bool:
        return str(record_id) in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[dict]:
        return iter(self._records.values())

    def get(self, record_id: str) -> dict | None:
        return self._records.get(str(record_id))

    def records(self) -> list[dict]:
        return list(self._records.values())

    def extend(self, records: Iterable[dict]) -> int:
        """Append records whose ids are new; flush and fsync once per call. Returns how many were added."""
        lines = []
        for rec in records:
            rid = str(rec[self.key])
            if rid in self._records:
                continue
            self._records[rid] = rec
            lines.append(json.dumps(rec, ensure_ascii=False, default=_json_default) + "\n")
        if lines:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write("".join(lines))
                f.flush()
                os.fsync(f.fileno())
        return len(lines)

    def append(self, record: dict) -> bool:
        return self.extend([record]) == 1


def run_stage(
    store: JsonlStore,
    items: Sequence[dict],
    process: Callable[[list[dict]], list[dict]],
    batch_size: int = 16,
    desc: str | None = None,
) -> list[dict]:
    """Process the items whose ``store.key`` is not in ``store`` yet, ``batch_size`` at a time.

    ``process`` gets a list of items and returns one record per item (carrying the same id).
    Each batch is appended (and flushed) before the next starts, so a kill loses at most the batch
    in flight. Returns the records for ``items`` in their order.
    """
    from tqdm.auto import tqdm

    key = store.key
    ids = [str(it[key]) for it in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"run_stage: duplicate {key!r} values among the items of stage {desc or store.path.name}")
    todo = [it for it in items if str(it[key]) not in store]
    if todo:
        with tqdm(total=len(items), initial=len(items) - len(todo), desc=desc or store.path.stem, unit="item") as bar:
            for start in range(0, len(todo), batch_size):
                batch = todo[start:start + batch_size]
                out = process(batch)
                if len(out) != len(batch):
                    raise RuntimeError(f"stage {desc}: process returned {len(out)} records for {len(batch)} items")
                store.extend(out)
                bar.update(len(batch))
    return [store.get(i) for i in ids]
