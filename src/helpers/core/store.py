"""Resumable stages and atomic writes.

* ``JsonlStore``: records appended to a JSONL file with stable ids, flushed as they are produced.
  Re-opening a file left by a killed run drops a torn last line and skips ids already present,
  so a rerun loses nothing and duplicates nothing.
* ``run_stage``: apply a batch function to the items whose ids are not yet in a store.
* ``atomic_write_*`` / ``atomic_dir``: write to a temporary sibling, then rename.
* ``cached_json``: compute a JSON-able result once per run folder.
* ``keyed_store`` / ``keyed_path``: stage files named by a hash of every input that changes them, the
  configuration written beside them (``helpers.core.stages.StageGraph`` says which inputs those are).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any


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
    clean = finite_json(json.loads(json.dumps(obj, ensure_ascii=False, default=json_default)))
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


def json_default(obj: Any) -> Any:
    """``json.dumps(default=...)`` for what metrics and records carry: numpy values and arrays, paths."""
    # numpy scalars/arrays and paths show up in metrics all the time.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@contextlib.contextmanager
def atomic_dir(target: str | Path, keep_existing: bool = False) -> Iterator[Path]:
    """Yield a temporary folder next to ``target``; on success it replaces ``target`` in one rename.

    ``keep_existing``: for a cache that several processes may build at once with the same content (the converted
    embedded model, rehearsal stand-ins; two notebooks of ``suite --jobs 2`` or two pytest-xdist workers): a
    ``target`` that another process finished while this one was building is kept, never removed under its readers,
    and this build is dropped."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    existed = target.exists()
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    os.chmod(tmp, 0o755)
    try:
        yield tmp
        if keep_existing and not existed and target.exists():
            shutil.rmtree(tmp, ignore_errors=True)
            return
        if target.exists():
            shutil.rmtree(target)
        try:
            os.replace(tmp, target)
        except OSError:  # another process renamed its build into place first
            if not (keep_existing and target.exists()):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- the "stage finished" marker
MODEL_MARKER = "config.json"  # what ``save_pretrained`` writes into a model folder built inside ``atomic_dir``


def mark_finished(folder: str | Path, key: Any, marker: str) -> Path:
    """Write ``key`` (every input of the stage) as ``folder``/``marker``, the last file a stage writes into its
    ``atomic_dir`` folder: the marker then exists only once the whole result is in place."""
    return atomic_write_json(Path(folder) / marker, key)


def is_finished(folder: str | Path, marker: str = MODEL_MARKER, key: Any = None) -> bool:
    """Whether the stage whose result is ``folder`` finished, so a rerun skips it: its ``marker`` file is there
    and, when ``key`` is given, holds exactly ``key`` (compared as JSON: a result of other inputs does not count).
    Without ``key``, a model folder (``config.json``) built once under a name that covers its inputs."""
    path = Path(folder) / marker
    if not path.is_file():
        return False
    return key is None or read_json(path) == json.loads(json.dumps(key, sort_keys=True, default=str))


def cached_json(path: str | Path, compute: Callable[[], Any]) -> Any:
    """Load ``path`` if a finished earlier run wrote it, else compute, write atomically and return.
    A cached file that is not readable JSON (garbage, a torn copy) is named in a warning and recomputed."""
    path = Path(path)
    if path.exists():
        try:
            return read_json(path)
        except (ValueError, OSError, RecursionError) as exc:
            import warnings

            warnings.warn(
                f"{path}: cached result is not readable JSON ({type(exc).__name__}); recomputed", stacklevel=2
            )
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
        self.conflicting_ids = 0  # ids on two lines with different content (the first line is used; reported)
        self.retry_pending = 0  # records run_stage returned but did not store (failed calls: retried next run)
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        raw = self.path.read_bytes()
        good_end = raw.rfind(b"\n") + 1  # a kill mid-write leaves a torn last line: drop it
        first_line: dict[str, int] = {}
        conflicts: list[str] = []
        for n, line in enumerate(raw[:good_end].splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                rid = str(rec[self.key])
            except (ValueError, KeyError, TypeError, RecursionError):
                self.malformed_lines += 1
                continue
            if rid not in self._records:
                self._records[rid], first_line[rid] = rec, n
            elif rec != self._records[rid]:
                self.conflicting_ids += 1
                conflicts.append(f"{self.key} {rid!r} on line {n} (line {first_line[rid]} is used)")
        import warnings

        if self.malformed_lines:
            warnings.warn(
                f"{self.path}: {self.malformed_lines} malformed line(s) skipped (not JSON records with "
                f"{self.key!r}); their items are recomputed",
                stacklevel=2,
            )
        if conflicts:
            warnings.warn(
                f"{self.path}: {len(conflicts)} line(s) repeat an id with other content, the first line of "
                f"each id wins: {'; '.join(conflicts[:3])}{' ...' if len(conflicts) > 3 else ''}",
                stacklevel=2,
            )
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
            lines.append(json.dumps(rec, ensure_ascii=False, default=json_default) + "\n")
        if lines:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write("".join(lines))
                f.flush()
                os.fsync(f.fileno())
        return len(lines)

    def append(self, record: dict) -> bool:
        return self.extend([record]) == 1


def pending_items(store: JsonlStore, items: Sequence[dict], desc: str | None = None) -> tuple[list[str], list[dict]]:
    """(Every item's id, the items not in ``store`` yet); duplicate ids are an error."""
    ids = [str(it[store.key]) for it in items]
    if len(set(ids)) != len(ids):
        raise ValueError(
            f"run_stage: duplicate {store.key!r} values among the items of stage {desc or store.path.name}"
        )
    return ids, [it for it in items if str(it[store.key]) not in store]


def run_stage(
    store: JsonlStore,
    items: Sequence[dict],
    process: Callable[[list[dict]], list[dict]],
    batch_size: int = 16,
    desc: str | None = None,
) -> list[dict]:
    """Process the items whose ``store.key`` is not in ``store`` yet, ``batch_size`` at a time.

    ``process`` gets a list of items and returns one record per item (carrying the same id).
    A record with ``RETRY`` set (a failed endpoint call, say) is returned but not stored, so the next
    run computes it again; ``store.retry_pending`` counts them.
    Each batch is appended (and flushed) before the next starts, so a kill loses at most the batch
    in flight. Returns the records for ``items`` in their order.
    """
    from tqdm.auto import tqdm

    key = store.key
    ids, todo = pending_items(store, items, desc)
    transient: dict[str, dict] = {}
    if todo:
        with tqdm(total=len(items), initial=len(items) - len(todo), desc=desc or store.path.stem, unit="item") as bar:
            for start in range(0, len(todo), batch_size):
                batch = todo[start : start + batch_size]
                out = process(batch)
                if len(out) != len(batch):
                    raise RuntimeError(f"stage {desc}: process returned {len(out)} records for {len(batch)} items")
                keep = [r for r in out if not r.get(RETRY)]
                transient.update({str(r[key]): r for r in out if r.get(RETRY)})
                store.retry_pending += len(out) - len(keep)
                store.extend(keep)
                bar.update(len(batch))
    return [store.get(i) or transient[i] for i in ids]


# --------------------------------------------------------------------------- keyed stages
# A cached artefact lives in a file whose name carries a short hash of everything that changes it,
# with that configuration written beside it (``<stage>-<hash>.config.json``): a changed parameter
# writes a new file, and the old one is never read.

RETRY = "_retry"  # a record with this field set truthy is returned by run_stage but never stored


def config_hash(config: Any, length: int = 10) -> str:
    """A short, stable hash of a JSON-able configuration (dict order does not matter)."""
    return stable_id(config, length=length)


def _data_dir(where: Any) -> Path:
    """The folder stage files go in: a Run's data folder, or a path."""
    if hasattr(where, "dir") and hasattr(where, "path"):
        return Path(where.dir) / "data"
    return Path(where)


def keyed_path(where: Any, stage: str, config: Any, suffix: str = "") -> Path:
    """``<data>/<stage>-<hash><suffix>``, with ``<stage>-<hash>.config.json`` written beside it.

    ``suffix`` is ".jsonl", ".json", ".npy", or "" for a folder (a derived or trained model).
    """
    name = f"{stage}-{config_hash(config)}"
    folder = _data_dir(where)
    target = folder / f"{name}{suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    cfg = target.parent / f"{Path(name).name}.config.json"
    blob = {"stage": stage, "hash": config_hash(config), "config": config}
    if not cfg.exists() or read_json(cfg) != finite_json(json.loads(json.dumps(blob, default=json_default))):
        atomic_write_json(cfg, blob)
    return target


def keyed_store(where: Any, stage: str, config: Any, key: str = "id") -> JsonlStore:
    """A JsonlStore whose file name carries the hash of ``config`` (see ``keyed_path``)."""
    return JsonlStore(keyed_path(where, stage, config, ".jsonl"), key=key)


def fallback_lines(counts: dict[str, Any]) -> list[str]:
    """One findings line naming every fallback that happened (non-zero counts), so the report shows them."""
    hit = {k: v for k, v in counts.items() if v}
    return (
        [
            (
                "Fallbacks counted in this run: "
                + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in hit.items())
                + " (endpoint errors are not stored and are retried by the next run)."
            )
        ]
        if hit
        else []
    )


def point_to(link, target) -> None:
    """Make ``link`` (e.g. 01's checkpoints/sft, the path other notebooks read) a symlink to ``target``, atomically.

    An older real folder at ``link`` (trained under a configuration nobody recorded) is removed."""
    link, target = Path(link), Path(target)
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)
    tmp = link.parent / f".{link.name}.link.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(target, link.parent))
    os.replace(tmp, link)
