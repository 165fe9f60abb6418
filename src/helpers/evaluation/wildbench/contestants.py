"""Contestants: models and same-weights variants (system prompt, temperature) named once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .tasks import Task, WildBenchError


# --------------------------------------------------------------------------- contestants
@dataclass(frozen=True)
class Contestant:
    name: str  # label in tables
    model: str  # alias, folder or hub id
    temperature: float = 0.0
    system: str = ""  # optional system prompt (a decoding/prompting variant of a model)

    def messages(self, task: Task) -> list[dict]:
        sys = [{"role": "system", "content": self.system}] if self.system else []
        return [*sys, *task.messages]


def parse_contestant(spec: str) -> Contestant:
    """``"MODEL"`` or ``"MODEL; name: LABEL; temperature: 0.7; system: Answer briefly."`` -> Contestant.

    Options are ``key: value`` (or ``key=value``) after the model, separated by ``;``.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise WildBenchError("a model entry is empty")
    head, *opts = [p.strip() for p in spec.split(";")]
    kw: dict[str, Any] = {}
    for opt in opts:
        if not opt:
            continue
        m = re.match(r"(name|temperature|system)\s*[:=]\s*(.*)$", opt, re.IGNORECASE | re.DOTALL)
        if not m:
            raise WildBenchError(
                f"model entry {spec!r}: option {opt!r} must be name: ..., temperature: ... or system: ..."
            )
        key, value = m.group(1).lower(), m.group(2).strip()
        if key == "temperature":
            try:
                kw[key] = float(value)
            except ValueError:
                raise WildBenchError(f"model entry {spec!r}: temperature {value!r} is not a number") from None
        else:
            kw[key] = value
    name = kw.pop("name", None) or _short_name(head)
    return Contestant(name=name, model=head, **kw)


def _short_name(model: str) -> str:
    parts = [p for p in re.split(r"[\\/]", model.rstrip("/\\")) if p]
    return "/".join(parts[-2:]) if len(parts) > 1 else model
