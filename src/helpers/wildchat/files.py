"""Reading a local corpus file record by record: JSONL, or Parquet with only the columns asked for."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path


def iter_local(path: Path, columns: Sequence[str] | None) -> Iterator[dict]:
    """The records of a ``.jsonl`` or ``.parquet`` file, each with only ``columns`` (all when None)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        cols = [c for c in columns if c in pf.schema_arrow.names] if columns else None
        for batch in pf.iter_batches(batch_size=2048, columns=cols):
            yield from batch.to_pylist()
        return
    keep = set(columns) if columns else None
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                yield {k: rec.get(k) for k in keep} if keep else rec
