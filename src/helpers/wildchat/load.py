"""WildChat records, streamed: a builtin file, local JSONL / Parquet files (or a folder of shards), or a hub id.

    check_source("allenai/WildChat-1M")                  # one-line ValueError for a file not in the schema, an
                                                         # empty file, an unknown release (the notebook's precheck)
    for rec in iter_records(src, columns=("conversation", "toxic"), limit=1000): ...

Only the ``columns`` a stage needs are kept (Parquet reads only those columns; ``datasets`` streaming selects
them), so memory stays bounded whatever the corpus size. During a rehearsal (``helpers.core.rehearsal``) the hub
ids resolve to the offline fixture, which has the full schema.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..core import rehearsal
from ..core.data import builtin_path
from .files import iter_local

FIXTURE = "builtin:wildchat_fixture.jsonl"
# every field of a conversation-level record (the data card's schema)
FIELDS = (
    "conversation_hash",
    "model",
    "timestamp",
    "conversation",
    "turn",
    "language",
    "openai_moderation",
    "detoxify_moderation",
    "toxic",
    "redacted",
    "state",
    "country",
    "hashed_ip",
    "header",
)
REQUIRED = ("conversation_hash", "model", "timestamp", "conversation", "turn", "language", "toxic")
TURN_FIELDS = ("content", "role")
RELEASES = {  # hub id -> what it holds (reference: the data cards and the paper)
    "allenai/WildChat-1M": "public release: toxic conversations removed (2024-07) and PII-flagged ones removed "
    "(2024-10); about 838K conversations remain of the paper's 1,039,785",
    "allenai/WildChat-1M-Full": "gated full release: keeps the toxic conversations the public one removed",
    "allenai/WildChat-4.8M": "public 4.8M release: o1-era data added, plus created, temperature, top_p, usage, "
    "system_fingerprint; toxic and PII-flagged conversations removed",
    "allenai/WildChat-4.8M-Full": "gated full 4.8M release, toxic conversations kept",
}
PAPER = {
    "conversations": 1_039_785,
    "users": 204_736,
    "turns": 2_639_415,
    "languages": 68,
    "turns_per_conversation": 2.54,
    "share_english": 0.53,
    "share_chinese": 0.13,
    "share_russian": 0.12,
}


class WildChatSourceError(ValueError):
    """The source is not WildChat data this loader can read; the message names the source and the fix."""


def is_hub_id(source: str) -> bool:
    return (
        source.count("/") == 1
        and not source.startswith(("builtin:", "/", ".", "~"))
        and not source.endswith((".jsonl", ".json", ".parquet"))
        and not Path(source).expanduser().exists()
    )


def release_name(source: str) -> str:
    """What the notebook says it loaded: the hub id, or the file (the fixture named as such)."""
    if source == FIXTURE:
        return "offline fixture (written by tools/make_wildchat_fixture.py)"
    if rehearsal.active() and resolve(source) != source:
        return f"{source} (rehearsal: {resolve(source)} read in its place)"
    return source if is_hub_id(source) else f"local file {Path(source).name}"


def local_files(source: str) -> list[Path]:
    """The JSONL / Parquet files of a builtin name, a file or a folder of shards (sorted)."""
    path = builtin_path(source.split(":", 1)[1]) if source.startswith("builtin:") else Path(source).expanduser()
    if path.is_dir():
        files = sorted([*path.rglob("*.parquet"), *path.rglob("*.jsonl")])
        if not files:
            raise WildChatSourceError(f"data folder {path} holds no .parquet or .jsonl files")
        return files
    if not path.exists():
        raise WildChatSourceError(f"data file {path} not found")
    if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or a device would hang the first read
        kind = "a FIFO" if stat.S_ISFIFO(path.stat().st_mode) else "a device or special file"
        raise WildChatSourceError(f"data file {path} is {kind}, not a regular file")
    if path.suffix not in (".jsonl", ".parquet"):
        raise WildChatSourceError(
            f"data file {path}: expected .jsonl or .parquet (WildChat's formats), got {path.suffix}"
        )
    return [path]


def resolve(source: str) -> str:
    """The source actually read: during a rehearsal a WildChat hub id is the offline fixture."""
    if rehearsal.active() and source in RELEASES:
        return FIXTURE
    return rehearsal.data_source(source) if rehearsal.active() else source


def _first_record(path: Path) -> dict | None:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        names = set(pf.schema_arrow.names)
        if pf.metadata.num_rows == 0:
            return None
        return {n: True for n in names}
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise WildChatSourceError(f"{path}: the first record is not JSON ({exc.msg})") from None
                if not isinstance(rec, dict):
                    raise WildChatSourceError(f"{path}: records must be JSON objects (WildChat conversations)")
                return rec
    return None


def check_record(rec: dict, where: str) -> None:
    """A one-line error unless ``rec`` has WildChat's required fields and a list of role/content turns."""
    missing = [f for f in REQUIRED if f not in rec]
    if missing:
        raise WildChatSourceError(
            f"{where} is not in the WildChat schema: missing {', '.join(missing)} "
            f"(has: {', '.join(sorted(rec)[:8])}{'...' if len(rec) > 8 else ''})"
        )
    conv = rec["conversation"]
    if conv is True:  # Parquet: only the column names were read
        return
    if not isinstance(conv, list) or not all(isinstance(t, dict) and all(k in t for k in TURN_FIELDS) for t in conv):
        raise WildChatSourceError(
            f"{where} is not in the WildChat schema: 'conversation' must be a list of {{role, content, ...}} turns"
        )


def check_source(source: str) -> str:
    """The precheck: a known release id, or local files that exist, are not empty and are in the schema."""
    if not source:
        raise WildChatSourceError(
            "parameter 'data' is empty: give builtin:NAME, a .jsonl/.parquet file or folder, or a release id"
        )
    if is_hub_id(source):
        if source not in RELEASES:
            import difflib

            close = difflib.get_close_matches(source, RELEASES, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise WildChatSourceError(f"unknown WildChat release {source!r}{hint}; known: {', '.join(RELEASES)}")
        return source
    try:
        files = local_files(resolve(source))
    except (ValueError, OSError) as exc:
        raise WildChatSourceError(str(exc).splitlines()[0]) from None
    rec = _first_record(files[0])
    if rec is None:
        raise WildChatSourceError(f"data file {files[0]} is empty (no WildChat records)")
    check_record(rec, f"data file {files[0]}")
    return source


def iter_records(
    source: str, columns: Sequence[str] | None = None, split: str = "train", limit: int | None = None
) -> Iterator[dict[str, Any]]:
    """WildChat records from ``source`` with only ``columns`` (all when None), at most ``limit`` (0/None: all)."""
    source = resolve(source)
    it: Iterable[dict]
    if is_hub_id(source):
        from datasets import load_dataset

        try:
            ds = load_dataset(source, split=split, streaming=True)
            it = ds.select_columns(list(columns)) if columns else ds
        except Exception as exc:  # network, gate, unknown split: one line naming the source
            raise WildChatSourceError(
                f"could not stream {source!r} ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); log in with `hf auth login` "
                f"for a gated release, or use a local copy"
            ) from None
    else:
        it = (rec for path in local_files(source) for rec in iter_local(path, columns))
    for i, rec in enumerate(it):
        if limit and i >= limit:
            return
        yield rec


def check_params(params: dict[str, Any]) -> None:
    """The runner's check before anything loads (``metadata.helpers.precheck``, the hook every notebook names ``check_params``): the WildChat source (a known
    release, or files that exist, are not empty and are in the schema) and the other corpora's specs."""
    from .corpora import parse_spec

    try:
        check_source(str(params.get("data") or ""))
    except WildChatSourceError as exc:
        raise WildChatSourceError(f"parameter 'data': {exc}") from None
    for spec in params.get("other_corpora") or []:
        parse_spec(str(spec))


def read_expected(source: str) -> dict:
    """The counts a fixture's generator built in (``builtin:NAME`` or a path)."""
    path = builtin_path(source.split(":", 1)[1]) if source.startswith("builtin:") else Path(source).expanduser()
    return json.loads(path.read_text(encoding="utf-8"))
