"""Other instruction corpora, read in their own schemas and turned into WildChat-shaped conversations, so the
same counters (``counts.CorpusCounter``) and the diversity analysis compare them on equal terms.

    for conv in iter_corpus("alpaca", "tatsu-lab/alpaca", limit=50000): ...      # hub (streaming)
    for conv in iter_corpus("oasst", "builtin:wildchat_oasst_style.jsonl"): ...  # our offline file, same schema

Schemas: ``alpaca`` (instruction, input, output; single turn, no users), ``dolly`` (instruction, context,
response, category), ``oasst`` (OpenAssistant message rows grouped by message_tree_id: a tree is one
conversation, prompter messages are user turns, the first prompter's user_id the user), ``sharegpt``
(conversations: [{from, value}])
and ``lmsys`` (LMSYS-Chat-1M: conversation [{role, content}], language, model).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core import rehearsal
from .files import iter_local
from .offline_corpora import FILES, OASST_LANGS

SCHEMAS = ("alpaca", "dolly", "oasst", "sharegpt", "lmsys")
HUB = {
    "alpaca": "tatsu-lab/alpaca",
    "dolly": "databricks/databricks-dolly-15k",
    "oasst": "OpenAssistant/oasst1",
    "lmsys": "lmsys/lmsys-chat-1m",
}
OFFLINE = {name: f"builtin:{f}" for name, f in FILES.items()}
_LANG_NAMES = {v: k for k, v in OASST_LANGS.items()}


def parse_spec(spec: str) -> tuple[str, str]:
    """``"alpaca"`` (our offline file) or ``"alpaca=tatsu-lab/alpaca"`` / ``"oasst=path.jsonl"`` -> (schema, source)."""
    name, _, source = spec.partition("=")
    name = name.strip()
    if name not in SCHEMAS:
        raise ValueError(f"parameter 'other_corpora': unknown corpus schema {name!r} (known: {', '.join(SCHEMAS)})")
    source = source.strip() or OFFLINE.get(name, "")
    if not source:
        raise ValueError(f"parameter 'other_corpora': {name} has no offline file; give {name}=SOURCE")
    return name, source


def _conv(
    turns: list[tuple[str, str]], user: Any = None, language: str | None = None, model: str | None = None
) -> dict:
    return {
        "conversation": [{"role": r, "content": t, "language": language} for r, t in turns],
        "turn": sum(r == "user" for r, _ in turns),
        "hashed_ip": user,
        "language": language,
        "model": model,
        "country": None,
        "state": None,
        "timestamp": None,
    }


def _rows(source: str, split: str, limit: int | None) -> Iterator[dict]:
    from ..core.data import builtin_path

    if rehearsal.active():  # the package registers its stand-ins (helpers.wildchat.__init__)
        source = rehearsal.data_source(source)
    if source.startswith("builtin:") or Path(source).expanduser().exists():
        path = builtin_path(source.split(":", 1)[1]) if source.startswith("builtin:") else Path(source).expanduser()
        it = iter_local(path, None)
    else:
        from datasets import load_dataset

        it = iter(load_dataset(source, split=split, streaming=True))
    for i, row in enumerate(it):
        if limit and i >= limit:
            return
        yield row


def iter_corpus(schema: str, source: str, split: str = "train", limit: int | None = None) -> Iterator[dict]:
    """WildChat-shaped conversations from a corpus in its own ``schema`` (``limit``: source rows read)."""
    rows = _rows(source, split, limit)
    if schema == "alpaca":
        for r in rows:
            prompt = r["instruction"] + (f"\n\n{r['input']}" if r.get("input") else "")
            yield _conv([("user", prompt), ("assistant", r.get("output") or "")], language="English")
    elif schema == "dolly":
        for r in rows:
            prompt = r["instruction"] + (f"\n\n{r['context']}" if r.get("context") else "")
            yield _conv([("user", prompt), ("assistant", r.get("response") or "")], language="English")
    elif schema == "oasst":
        tree, turns, user, lang = None, [], None, None
        for r in rows:
            if r["message_tree_id"] != tree and turns:
                yield _conv(turns, user=user, language=lang)
                turns, user = [], None
            tree = r["message_tree_id"]
            role = "user" if r["role"] == "prompter" else "assistant"
            if role == "user" and user is None and r.get("user_id"):
                user = str(r["user_id"])  # the tree's first prompter
            if not turns:
                lang = _LANG_NAMES.get(r.get("lang"), r.get("lang"))
            turns.append((role, r.get("text") or ""))
        if turns:
            yield _conv(turns, user=user, language=lang)
    elif schema == "sharegpt":
        for r in rows:
            turns = [
                ("user" if m.get("from") == "human" else "assistant", m.get("value") or "")
                for m in r.get("conversations") or []
            ]
            yield _conv(turns)
    elif schema == "lmsys":
        for r in rows:
            turns = [(m.get("role"), m.get("content") or "") for m in r.get("conversation") or []]
            yield _conv(turns, language=r.get("language"), model=r.get("model"))
    else:
        raise ValueError(f"unknown corpus schema {schema!r} (known: {', '.join(SCHEMAS)})")
