"""Scripted sessions (a YAML of events, written by us) replayed through the same core as the interactive view.

    sessions:
      - id: jp-1                    # session id (file name of its log)
        culture: Japan
        assistance: verifier-only   # or ai-assisted
        events:
          - draft: {scenario: "...", question: "...", options: [a, b, c, d], answer: C}
          - verify
          - hint                    # ai-assisted only
          - draft: {question: "..."}   # a revision: fields left out carry over from the current draft
          - targets
          - finalize
          - survey: {familiarity: 5, commonness: 4, usability: 4, creativity: 3}

Each event written by a replay carries its script ``step``; replaying again into the same folder resumes after
the last logged step (a killed run loses nothing and repeats nothing). A step the core refuses is recorded in the
returned problems, as the view would show it, and the replay goes on.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..core.data import DataError, builtin_path
from ..core.params import REPO_ROOT
from .log import SessionLogError
from .session import ASSISTANCE, Session
from .validate import InputError

STEPS = ("draft", "verify", "hint", "targets", "finalize", "survey")


def load_script(source: str) -> list[dict]:
    """The scripted sessions of a YAML file (``builtin:NAME`` for one shipped with the package), checked."""
    path = builtin_path(source.split(":", 1)[1]) if source.startswith("builtin:") else Path(source).expanduser()
    if not path.is_absolute() and not path.exists():
        path = REPO_ROOT / path  # a repo-relative path, also from a kernel started in notebooks/
    if not path.is_file():
        raise DataError(f"session script {source!r} not found")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise DataError(f"session script {source}: not valid YAML ({str(exc).splitlines()[0]})") from None
    sessions = doc.get("sessions") if isinstance(doc, dict) else None
    if not isinstance(sessions, list) or not sessions:
        raise DataError(f"session script {source}: needs a non-empty list under 'sessions'")
    seen = set()
    for i, s in enumerate(sessions):
        where = f"session script {source}, session {i}"
        if not isinstance(s, dict) or not {"id", "culture", "assistance", "events"} <= set(s):
            raise DataError(f"{where}: needs id, culture, assistance and events")
        if s["assistance"] not in ASSISTANCE or s["id"] in seen:
            raise DataError(f"{where}: assistance must be one of {ASSISTANCE} and ids distinct ({s['id']!r})")
        seen.add(s["id"])
        for j, step in enumerate(s["events"]):
            kind = step if isinstance(step, str) else next(iter(step), None) if isinstance(step, dict) else None
            if kind not in STEPS or (isinstance(step, dict) and len(step) != 1):
                raise DataError(f"{where}, event {j}: {step!r} is not one of {', '.join(STEPS)}")
    return sessions


def _draft_fields(session: Session, given: dict) -> dict:
    cur = session.draft.to_dict() if session.draft else {}
    fields = {k: given.get(k, cur.get(k)) for k in ("question", "options", "answer", "scenario")}
    fields["scenario"] = fields["scenario"] or ""
    return fields


def replay(script: dict, folder: str | Path, verifier, panel, hinter=None) -> tuple[Session, list[dict]]:
    """Run (or resume) one scripted session; returns the session and the refused steps [{step, kind, message}]."""
    try:
        s = Session.open(folder, script["id"])
    except InputError:
        s = Session.create(
            folder, script["id"], script["culture"], script["assistance"], annotator=script.get("annotator", "script")
        )
    done = max((ev.get("step", -1) for ev in s.events), default=-1)
    problems = []
    for step, item in enumerate(script["events"]):
        if step <= done:
            continue
        kind, arg = (item, None) if isinstance(item, str) else next(iter(item.items()))
        s.meta = {"step": step}
        try:
            if kind == "draft":
                s.submit(**_draft_fields(s, arg or {}))
            elif kind == "verify":
                s.verify(verifier)
            elif kind == "hint":
                s.hint(hinter)
            elif kind == "targets":
                s.check_targets(panel)
            elif kind == "finalize":
                s.finalize()
            elif kind == "survey":
                s.survey(arg or {})
        except InputError as exc:
            problems.append({"session": script["id"], "step": step, "kind": kind, "message": str(exc)})
        finally:
            s.meta = {}
    return s, problems


def replay_all(scripts, folder, verifier, panel, hinter=None) -> tuple[list[Session], list[dict]]:
    sessions, problems = [], []
    for script in scripts:
        try:
            s, p = replay(script, folder, verifier, panel, hinter)
        except SessionLogError as exc:  # a corrupted log: refused, left on disk, reported
            problems.append({"session": script["id"], "step": None, "kind": "log", "message": str(exc)})
            continue
        sessions.append(s)
        problems += p
    return sessions, problems


def load_sessions(folder: str | Path) -> tuple[list[Session], list[dict]]:
    """Every session log in ``folder`` (annotators' sessions from ``serve``), in id order; a corrupted log is
    refused (left on disk) and listed in the problems."""
    sessions, problems = [], []
    for path in sorted(Path(folder).glob("*.jsonl")):
        try:
            sessions.append(Session.open(folder, path.stem))
        except (SessionLogError, InputError) as exc:
            problems.append({"session": path.stem, "step": None, "kind": "log", "message": str(exc)})
    return sessions, problems


def check_params(params: dict) -> None:
    """The notebook's cross-parameter checks before compute (the runner's hook; ValueError names the parameter)."""
    if params.get("sessions_dir"):
        if not Path(params["sessions_dir"]).is_dir():
            raise ValueError(f"parameter 'sessions_dir': {params['sessions_dir']!r} is not a folder")
    else:
        try:
            load_script(params.get("sessions_file", ""))
        except DataError as exc:
            raise ValueError(f"parameter 'sessions_file': {exc}") from None
    n_targets = len(params.get("target_models", [])) + 2
    if not 1 <= params.get("challenge_k", 1) <= n_targets:
        raise ValueError(
            f"parameter 'challenge_k': {params.get('challenge_k')} must be between 1 and the "
            f"{n_targets} targets (target_models + the random and embedding baselines)"
        )
    names = list(params.get("target_models", []))
    if len(set(names)) != len(names) or {"random", "embedding"} & set(names):
        raise ValueError(f"parameter 'target_models': names must be distinct and not 'random'/'embedding': {names}")
