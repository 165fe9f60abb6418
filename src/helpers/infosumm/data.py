"""InfoSumm's inputs: news-style prefixes, document sets, reference summaries, prompt formats.

    prefixes = load_prefixes("builtin:infosumm_prefixes.jsonl")
    docs = load_documents("abisee/cnn_dailymail", limit=100)        # or a local JSONL with a "document" field
    refs = load_reference("builtin:infosumm_reference.jsonl")      # [{"id", "document", "summary"}]

Hub sets are read in their own schemas (CNN/DailyMail: article / highlights, config 3.0.0; XSum: document / summary).
When a full profile is rehearsed offline, the hub ids map to small fixtures in those schemas (written by us).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..core.data import DATA_DIR, DataError, load_records

FORMATS = {  # prompt format name -> the text after the document that asks for a summary
    "tldr": "TL;DR:",
    "in_summary": "In summary,",
    "to_summarize": "To summarize:",
    "summary": "Summary:",
}
HUB_SCHEMAS = {  # hub id -> (config, split, document field, summary field)
    "abisee/cnn_dailymail": ("3.0.0", "test", "article", "highlights"),
    "cnn_dailymail": ("3.0.0", "test", "article", "highlights"),
    "EdinburghNLP/xsum": (None, "test", "document", "summary"),
    "xsum": (None, "test", "document", "summary"),
}
FIXTURES = {
    "abisee/cnn_dailymail": "abisee__cnn_dailymail.jsonl",
    "cnn_dailymail": "abisee__cnn_dailymail.jsonl",
    "EdinburghNLP/xsum": "EdinburghNLP__xsum.jsonl",
    "xsum": "EdinburghNLP__xsum.jsonl",
}


def summary_prompt(document: str, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown prompt format {fmt!r}: use one of {', '.join(FORMATS)}")
    return f"{document.strip()}\n\n{FORMATS[fmt]}"


def clean_summary(text: str) -> str:
    """A sampled continuation cut at its first blank line or new line, whitespace squeezed."""
    text = (text or "").strip().split("\n")[0]
    return re.sub(r"\s+", " ", text).strip()


def lead_k(document: str, k: int = 3) -> str:
    """The first k sentences (the lead-3 baseline)."""
    sents = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", document.strip())
    return " ".join(sents[:k])


def load_prefixes(source: str) -> list[dict]:
    recs = load_records(source, required=("prefix",))
    return [
        {"id": str(r.get("id", i)), "prefix": str(r["prefix"]), "topic": r.get("topic", "")} for i, r in enumerate(recs)
    ]


def _source(source: str) -> tuple[str, tuple | None]:
    from ..core import rehearsal

    schema = HUB_SCHEMAS.get(source)
    if schema and rehearsal.active() and rehearsal.data_source(source) == source:
        return str(DATA_DIR / "hub_fixtures" / FIXTURES[source]), schema
    return source, schema


def load_pairs(source: str, limit: int = 0, min_words: int = 20, max_words: int = 0) -> list[dict]:
    """{"id", "document", "summary", "words_cut"} records from builtin/local files (fields document + summary, or a
    hub schema) or a hub id; documents shorter than ``min_words`` are skipped, longer than ``max_words`` cut (0: no
    cut; ``words_cut`` counts the words removed, so a caller can report the cut documents)."""
    src, schema = _source(source)
    if schema and not Path(src).exists():
        config, split, dfield, sfield = schema
        recs = load_records(src, split=split, config=config, limit=(limit * 3 if limit else None))
    else:
        recs = load_records(src)
    if not recs:
        raise DataError(f"{source}: no records")
    first = recs[0]
    dfield = next((f for f in ("document", "article", "text") if f in first), None)
    sfield = next((f for f in ("summary", "highlights", "reference") if f in first), None)
    if dfield is None:
        raise DataError(f"{source}: records need a document field (document, article or text); found {sorted(first)}")
    out = []
    for i, r in enumerate(recs):
        doc = re.sub(r"\s+", " ", str(r[dfield])).strip()
        n = len(doc.split())
        if n < min_words:
            continue
        cut = max(0, n - max_words) if max_words else 0
        if cut:
            doc = " ".join(doc.split()[:max_words])
        summ = re.sub(r"\s*\n\s*", " ", str(r[sfield])).strip() if sfield and r.get(sfield) is not None else None
        out.append({"id": str(r.get("id", i)), "document": doc, "summary": summ, "words_cut": cut})
        if limit and len(out) >= limit:
            break
    if not out:
        raise DataError(f"{source}: no document has at least {min_words} words")
    return out


def check_params(params: dict) -> None:
    """The runner's cross-parameter check (raises ValueError naming the parameter, before anything loads)."""
    for f in params.get("prompt_formats") or []:
        if f not in FORMATS:
            raise ValueError(f"parameter 'prompt_formats': unknown format {f!r} (known: {', '.join(FORMATS)})")
    b = params.get("length_buckets")
    if b is not None and (len(b) != 2 or not b[0] < b[1]):
        raise ValueError(f"parameter 'length_buckets': two increasing word counts, got {b}")
    if params.get("ratio_min", 0) > params.get("ratio_max", 1):
        raise ValueError("parameter 'ratio_min' must not exceed 'ratio_max'")
    init = str(params.get("student_init", ""))
    if init.startswith("truncate:") and not init.split(":", 1)[1].isdigit():
        raise ValueError(f"parameter 'student_init': truncate:N needs a layer count, got {init!r}")
    if init.startswith("truncate:"):
        total = teacher_layers(params.get("teacher_model", ""))
        n = int(init.split(":", 1)[1])
        if n < 1 or (total is not None and n > total):
            raise ValueError(
                f"parameter 'student_init': truncate:{n} must keep 1 to {total or 'all'} of the teacher's "
                f"layers" + (f" ({params.get('teacher_model')} has {total})" if total else "")
            )
    from ..core.data import check_source

    check_source("prefixes", params.get("prefixes", ""), load_prefixes)
    for key in ("eval_data", "documents_data"):
        check_source(key, params.get(key, ""), load_pairs)
    for source in params.get("extra_eval_data") or []:
        check_source("extra_eval_data", source, load_pairs)


def teacher_layers(model: str) -> int | None:
    """The decoder layer count in a local model's config.json (no weights loaded); None when it cannot be read here."""
    from ..core.models import ModelNotFoundError, resolve_model

    try:
        folder = Path(resolve_model(model))
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (ModelNotFoundError, OSError, ValueError):
        return None
    n = cfg.get("num_hidden_layers", cfg.get("n_layer"))
    return n if isinstance(n, int) else None
