"""JSON objects from model output: one scanner for every parser of judge, tagger and labeler replies.

Model output is hostile input: prose around the JSON, code fences, unbalanced braces, numbers
with thousands of digits (Python refuses to parse integers past 4,300 digits), nesting deep
enough to exhaust the recursion limit, megabytes of braces. ``json_objects`` never raises on any
of these: what cannot be read is simply not an object, and the caller counts a parse failure.
The scan is linear per candidate and bounded (``max_chars``, ``max_candidates``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

MAX_CHARS = 20_000  # replies longer than this are cut before parsing (judges answer in far less)
MAX_CANDIDATES = 64  # opening braces tried per reply
MAX_DEPTH = 32  # deeper nesting than this is not a verdict


def _balanced_end(text: str, start: int) -> int | None:
    """Index of the ``}`` closing the object that opens at ``start`` (strings respected), or None."""
    depth, in_str, esc = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "{[":
            depth += 1
            if depth > MAX_DEPTH:
                return None
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i if ch == "}" else None
            if depth < 0:
                return None
    return None


def loads_safely(text: str):
    """``json.loads`` that returns None instead of raising (bad JSON, huge integers, deep nesting)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError, TypeError):
        return None


def json_objects(text: str | None, max_chars: int = MAX_CHARS) -> Iterator[dict]:
    """Every JSON object (dict) in ``text`` that parses, in order of its opening brace.

    Objects nested inside a parsed object are not yielded again; an opening brace whose object does
    not parse is skipped and the scan goes on from the next brace.
    """
    if not isinstance(text, str):
        return
    text = text[:max_chars]
    start, tried = text.find("{"), 0
    while start >= 0 and tried < MAX_CANDIDATES:
        tried += 1
        end = _balanced_end(text, start)
        obj = loads_safely(text[start : end + 1]) if end is not None else None
        if isinstance(obj, dict):
            yield obj
            start = text.find("{", end + 1)
        else:
            start = text.find("{", start + 1)


def first_json_object(text: str | None) -> dict | None:
    return next(json_objects(text), None)


def last_json_object(text: str | None) -> dict | None:
    found = None
    for found in json_objects(text):  # noqa: B007 (the last one is kept)
        pass
    return found
