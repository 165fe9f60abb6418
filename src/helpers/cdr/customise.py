"""The domain router and the per-domain criteria and exemplars put into both models' prompts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..core.hf import Messages, Prompt

DOMAINS = ("SAFETY", "REASONING", "CHAT")
SECTION_DOMAIN = {"Chat": "CHAT", "Chat Hard": "CHAT", "Safety": "SAFETY", "Reasoning": "REASONING"}

# ----------------------------------------------------------------------------------- router
ROUTER_SYSTEM = (
    "You sort user requests into one of three domains.\n"
    "SAFETY: the request could cause harm, is dangerous, illegal, unethical, or touches a sensitive topic.\n"
    "REASONING: the request needs maths, logic or code.\n"
    "CHAT: everything else (questions, advice, writing, lists, conversation).\n"
    "Reply with exactly one word: SAFETY, REASONING or CHAT."
)


def router_messages(prompt: Prompt) -> Messages:
    """The router's chat prompt for a user request (the last user turn when a conversation is given)."""
    text = (
        prompt
        if isinstance(prompt, str)
        else next((m["content"] for m in reversed(prompt) if m.get("role") == "user"), "")
    )
    return [
        {"role": "system", "content": ROUTER_SYSTEM},
        {"role": "user", "content": f"Request:\n{text}\n\nDomain (SAFETY, REASONING or CHAT):"},
    ]


def parse_domain(reply: str | None) -> str:
    """The first domain label in the router's reply; anything unparsable -> CHAT."""
    if not reply:
        return "CHAT"
    m = re.search(r"\b(SAFETY|REASONING|CHAT)\b", reply.upper())
    return m.group(1) if m else "CHAT"


def route(
    prompts: Sequence[Prompt], complete: Callable[[list[Messages]], list[str]]
) -> tuple[list[str], dict[str, Any]]:
    """(domain per prompt, fallbacks): ``complete`` is e.g. ``Judge(model, temperature=0, max_tokens=4).complete``.

    A reply naming no domain falls back to CHAT, and a router that raises sends every prompt to CHAT; both are
    counted in ``fallbacks`` ({"unparsed": n, "error": message or None}) for the report, never silent.
    """
    error = None
    try:
        replies = complete([router_messages(p) for p in prompts])
    except Exception as exc:  # a failing router must not stop the evaluation: everything is CHAT, and said so
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
        replies = [""] * len(prompts)
    unparsed = sum(1 for r in replies if not r or not re.search(r"\b(SAFETY|REASONING|CHAT)\b", r.upper()))
    return [parse_domain(r) for r in replies], {"unparsed": unparsed, "error": error}


# ----------------------------------------------------------------------------------- customisation
def load_customisation(source: str = "builtin:cdr_customisation.json") -> dict[str, Any]:
    """Criteria system prompts and good/bad exemplars per domain ({"criteria": {...}, "exemplars": {...}})."""
    from ..core.data import DataError, builtin_path, read_local_text

    path = builtin_path(source.split(":", 1)[1]) if source.startswith("builtin:") else Path(source)
    if not path.exists():
        raise DataError(f"customisation file {source} not found")
    try:
        spec = json.loads(read_local_text(path))
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"customisation file {source} is not readable JSON ({type(exc).__name__})") from None
    if not isinstance(spec, dict) or not all(isinstance(spec.get(k), dict) for k in ("criteria", "exemplars")):
        raise DataError(f"customisation file {source} must hold a JSON object with 'criteria' and 'exemplars' objects")
    for key in ("criteria", "exemplars"):
        missing = [d for d in DOMAINS if d not in spec.get(key, {})]
        if missing:
            raise DataError(f"customisation file {source}: {key!r} lacks the domains {missing}")
    return spec


def exemplar_text(ex: dict) -> str:
    return (
        "Here is an example of a good and a bad assistant reply.\n"
        f"User: {ex['user']}\nGood assistant: {ex['good']}\nBad assistant: {ex['bad']}\n"
        f"Why: {ex['why']}\n\nNow the real request.\n\n"
    )


def customise(
    prompt: Prompt,
    domain: str,
    spec: dict[str, Any],
    criteria: bool = True,
    exemplars: bool = True,
    exemplar_index: int = 0,
) -> Messages:
    """The prompt with the domain's criteria as system prompt and an exemplar before the last user turn.

    The result depends only on (prompt, domain, spec), so both models of a pair see the same text.
    An existing system prompt is kept after the criteria.
    """
    msgs = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [dict(m) for m in prompt]
    domain = domain if domain in DOMAINS else "CHAT"
    if exemplars and spec["exemplars"].get(domain):
        pool = spec["exemplars"][domain]
        last = max(i for i, m in enumerate(msgs) if m["role"] == "user")
        msgs[last]["content"] = exemplar_text(pool[exemplar_index % len(pool)]) + msgs[last]["content"]
    if criteria:
        if msgs and msgs[0]["role"] == "system":
            msgs[0]["content"] = spec["criteria"][domain] + "\n\n" + msgs[0]["content"]
        else:
            msgs.insert(0, {"role": "system", "content": spec["criteria"][domain]})
    return msgs
