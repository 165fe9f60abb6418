"""The per-session event log: one JSON object per line, appended atomically, never rewritten.

Each event goes down in a single ``write`` of one complete line on a file opened with O_APPEND, under an
exclusive ``flock``, then ``fsync``: a closed browser, a killed kernel or a second tab writing at the same time
leaves whole lines only. Reading refuses a corrupted log (a line that is not a JSON object, a torn last line,
a gap in the sequence numbers) with ``SessionLogError`` naming the file and line; the file is left exactly as it
was, so nothing is lost and the annotator's earlier events can be recovered by hand.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


class SessionLogError(RuntimeError):
    """A session log that cannot be read back as it was written; the file is left untouched."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def check_session_id(session_id: str) -> str:
    if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
        raise SessionLogError(f"session id {session_id!r} must be 1-80 letters, digits, '.', '_' or '-'")
    return session_id


class EventLog:
    """``log.append(kind, **data)`` -> the stored event (with ``seq`` and ``time``); ``log.read()`` -> all events."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"EventLog({str(self.path)!r})"

    def exists(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        raw = self.path.read_bytes()
        events: list[dict] = []
        lines = raw.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        elif lines:
            raise SessionLogError(
                f"session log {self.path}: the last line ({len(lines)}) is cut off (no newline; a "
                f"write was interrupted). The file is left as it is: move it aside or remove that "
                f"line to resume from the events before it"
            )
        for n, line in enumerate(lines, 1):
            try:
                ev = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise SessionLogError(
                    f"session log {self.path}: line {n} is not valid JSON ({exc.__class__.__name__}: "
                    f"{str(exc)[:80]}). The file is left as it is: repair or remove that line "
                    f"to resume"
                ) from None
            if not isinstance(ev, dict) or "kind" not in ev or ev.get("seq") != n - 1:
                raise SessionLogError(
                    f"session log {self.path}: line {n} is not event number {n - 1} (an object "
                    f"with kind and seq). The file is left as it is: repair or remove that line"
                )
            events.append(ev)
        return events

    def append(self, kind: str, expect_seq: int | None = None, **data) -> dict:
        """Append one event; ``expect_seq`` (the caller's count of events) refuses a write after someone else's."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            seq = len(self.read())  # under the lock: validates the log and numbers the event
            if expect_seq is not None and seq != expect_seq:
                raise SessionLogError(
                    f"session log {self.path} has {seq} events, this view knew {expect_seq}: "
                    f"the session was changed elsewhere (another tab?); reload it to go on"
                )
            event = {"seq": seq, "kind": kind, "time": now(), **data}
            line = (json.dumps(event, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
            os.write(fd, line)
            os.fsync(fd)
            return event
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
