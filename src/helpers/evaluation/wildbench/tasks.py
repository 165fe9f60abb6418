"""WildBench tasks: the five task groups and their weights, loading (hub, local, builtin) and selection."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# The 12 WildBench tags merged into 5 task groups; a task counts in every group its tags touch.
TAG_GROUPS = {
    "Information seeking": "Information/Advice seeking",
    "Advice seeking": "Information/Advice seeking",
    "Creative Writing": "Creative Tasks",
    "Editing": "Creative Tasks",
    "Brainstorming": "Creative Tasks",
    "Role playing": "Creative Tasks",
    "Others": "Creative Tasks",
    "Reasoning": "Planning & Reasoning",
    "Planning": "Planning & Reasoning",
    "Math": "Math & Data Analysis",
    "Data Analysis": "Math & Data Analysis",
    "Coding & Debugging": "Coding & Debugging",
}
# Weights of the WB-Score task macro average.
GROUP_WEIGHTS = {
    "Creative Tasks": 0.5,
    "Planning & Reasoning": 1.25,
    "Math & Data Analysis": 1.0,
    "Information/Advice seeking": 0.75,
    "Coding & Debugging": 1.25,
}
GROUPS = tuple(GROUP_WEIGHTS)
# Pairwise labels and their reward for the response in slot A.
LABEL_REWARD = {"A++": 1.0, "A+": 0.5, "A=B": 0.0, "B+": -0.5, "B++": -1.0}
LABELS = tuple(LABEL_REWARD)
TRUNCATION_MARKER = " ... (truncated)"


class WildBenchError(ValueError):
    """A task record is malformed; the message names the record and the field."""


# --------------------------------------------------------------------------- tasks
@dataclass
class Task:
    id: str
    history: list[dict]  # earlier turns (user/assistant), may be empty
    query: str  # the last user turn: what is answered and judged
    checklist: list[str]
    primary_tag: str
    secondary_tags: list[str] = field(default_factory=list)

    @property
    def groups(self) -> list[str]:
        return task_groups(self.primary_tag, self.secondary_tags)

    @property
    def messages(self) -> list[dict]:
        """The conversation a model answers: history plus the current query."""
        return [*self.history, {"role": "user", "content": self.query}]


def task_groups(primary_tag: str, secondary_tags: Sequence[str] = ()) -> list[str]:
    """The task groups (in GROUPS order) touched by a task's primary and secondary tags; unknown tags are ignored."""
    touched = {TAG_GROUPS[t] for t in [primary_tag, *secondary_tags] if t in TAG_GROUPS}
    return [g for g in GROUPS if g in touched]


def task_from_record(rec: dict[str, Any]) -> Task:
    """A Task from a record with WildBench's fields (session_id, conversation_input, checklist, primary_tag,
    secondary_tags): the hub data set allenai/WildBench and our local JSONL share them."""
    rid = rec.get("session_id") or rec.get("id")
    if not rid:
        raise WildBenchError(f"task record without session_id/id: {str(rec)[:120]}")
    conv = rec.get("conversation_input")
    if not isinstance(conv, list) or not conv:
        raise WildBenchError(f"task {rid}: conversation_input must be a non-empty list of {{role, content}} turns")
    turns = []
    for turn in conv:
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in ("user", "assistant")
            or not isinstance(turn.get("content"), str)
        ):
            raise WildBenchError(
                f"task {rid}: every turn of conversation_input needs role user/assistant and text content"
            )
        turns.append({"role": turn["role"], "content": turn["content"]})
    if turns[-1]["role"] != "user":
        raise WildBenchError(f"task {rid}: the last turn of conversation_input must be the user's query")
    checklist = rec.get("checklist") or []
    if isinstance(checklist, str):
        checklist = [checklist]
    primary = rec.get("primary_tag") or "Others"
    secondary = rec.get("secondary_tags") or []
    if isinstance(secondary, str):
        secondary = [secondary]
    return Task(
        id=str(rid),
        history=turns[:-1],
        query=turns[-1]["content"],
        checklist=[str(c) for c in checklist],
        primary_tag=str(primary),
        secondary_tags=[str(t) for t in secondary],
    )


def load_tasks(
    source: str, split: str = "test", config: str | None = "v2", limit: int | None = None
) -> tuple[list[Task], list[str]]:
    """Tasks from a builtin set, a local JSONL/JSON/parquet file or the hub set; returns (tasks, skipped reasons).

    Malformed records are skipped with a reason (not fatal); no valid task at all is an error.
    """
    from pathlib import Path

    from ...core.data import load_records

    if (
        not source.startswith("builtin:")
        and not Path(source).expanduser().exists()
        and Path(resolve_repo_path(source)).exists()
    ):
        source = resolve_repo_path(source)  # a repo-relative path given to a notebook running in notebooks/
    hub = (
        not source.startswith("builtin:")
        and not Path(source).expanduser().exists()
        and source.count("/") == 1
        and not source.endswith((".jsonl", ".json", ".csv", ".parquet"))
    )
    records = load_records(source, split=split, config=config if hub else None)
    tasks, skipped = [], []
    for rec in records:
        try:
            tasks.append(task_from_record(rec))
        except WildBenchError as exc:
            skipped.append(str(exc))
    if not tasks:
        raise WildBenchError(f"no valid WildBench task in {source}: {skipped[:3]}")
    return (tasks[:limit] if limit else tasks), skipped


def select_tasks(tasks: Sequence[Task], n: int, seed: int = 0) -> list[Task]:
    """``n`` tasks that cover every group present, in a deterministic order (round-robin over groups)."""
    if n <= 0 or n >= len(tasks):
        return list(tasks)
    rng = random.Random(seed)
    by_group = {g: [t for t in tasks if t.primary_tag in TAG_GROUPS and TAG_GROUPS[t.primary_tag] == g] for g in GROUPS}
    for pool in by_group.values():
        rng.shuffle(pool)
    chosen, seen = [], set()
    while len(chosen) < n and any(by_group.values()):
        for g in GROUPS:
            if by_group[g] and len(chosen) < n:
                t = by_group[g].pop()
                if t.id not in seen:
                    chosen.append(t)
                    seen.add(t.id)
    rest = [t for t in tasks if t.id not in seen]
    rng.shuffle(rest)
    chosen += rest[: n - len(chosen)]
    return chosen


def resolve_repo_path(path: str) -> str:
    """A relative path as given if it exists from here, else relative to the repository root (notebooks run in notebooks/)."""
    from pathlib import Path

    from ...core.params import REPO_ROOT

    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return str(p)
    return str(REPO_ROOT / p)
