"""One annotator's session: start -> draft -> verify -> (hint | draft | verify | targets)* -> finalize -> survey.

Every step is an event in the session's ``EventLog``; the session's state is the fold of its events (``fold``), so
``Session.open`` resumes exactly where a closed tab or a killed kernel stopped. A step the state does not allow
(finalize before the current draft was verified, a hint in a verifier-only session, ...) is refused with
``InputError`` before anything is written; an illegal sequence found in a log is a ``SessionLogError``.
"""

from __future__ import annotations

from pathlib import Path

from .log import EventLog, SessionLogError, check_session_id
from .validate import Draft, InputError, check_draft, check_survey, clean_text

ASSISTANCE = ("verifier-only", "ai-assisted")
# event kind -> (states it may follow, state after it; None keeps the state)
TRANSITIONS = {
    "start": ({"new"}, "draft"),
    "draft": ({"draft", "verified"}, "draft"),
    "verify": ({"draft", "verified"}, "verified"),
    "verify_failed": ({"draft", "verified"}, None),
    "hint": ({"draft", "verified"}, None),
    "targets": ({"verified"}, None),
    "finalize": ({"verified"}, "finalized"),
    "survey": ({"finalized"}, "done"),
}


def empty_state() -> dict:
    return {
        "state": "new",
        "session_id": None,
        "annotator": None,
        "culture": None,
        "assistance": None,
        "drafts": [],
        "verdicts": [],
        "hints": [],
        "targets": [],
        "final": None,
        "survey_answers": None,
        "verify_failures": 0,
    }


def allowed(state: str, kind: str) -> str | None:
    """None when ``kind`` may follow ``state``, else the reason it may not."""
    if kind not in TRANSITIONS:
        return f"unknown step {kind!r}"
    if state in TRANSITIONS[kind][0]:
        return None
    if state in ("finalized", "done") and kind != "survey":
        return f"this session is {'finished' if state == 'done' else 'finalized'}: start a new one for a new question"
    if state == "new":
        return "start a session first"
    if kind == "survey":
        return "finalize the question first" if state != "done" else "the survey is already answered"
    return "verify the current draft first"


def fold(st: dict, ev: dict) -> dict:
    """The state after event ``ev`` (pure; used live and when a log is read back)."""
    kind = ev["kind"]
    reason = allowed(st["state"], kind)
    if reason:
        raise SessionLogError(f"event {ev.get('seq')} ({kind}) cannot follow state {st['state']}: {reason}")
    st = {**st}
    if kind == "start":
        st.update(
            session_id=ev["session_id"], annotator=ev["annotator"], culture=ev["culture"], assistance=ev["assistance"]
        )
    elif kind == "draft":
        st["drafts"] = st["drafts"] + [ev["draft"]]
    elif kind == "verify":
        st["verdicts"] = st["verdicts"] + [ev]
    elif kind == "verify_failed":
        st["verify_failures"] += 1
    elif kind == "hint":
        st["hints"] = st["hints"] + [ev]
    elif kind == "targets":
        st["targets"] = st["targets"] + [ev]
    elif kind == "finalize":
        st["final"] = ev["draft"]
    elif kind == "survey":
        st["survey_answers"] = ev["answers"]
    after = TRANSITIONS[kind][1]
    if after:
        st["state"] = after
    return st


class Session:
    """A session over its log. ``Session.create(folder, id, ...)`` starts one, ``Session.open(folder, id)`` resumes."""

    def __init__(self, log: EventLog):
        self.log = log
        self.meta: dict = {}  # extra fields written into every event from now on (replay: the script step)
        self.events = log.read()
        self.st = empty_state()
        for ev in self.events:
            self.st = fold(self.st, ev)

    @classmethod
    def create(cls, folder: str | Path, session_id: str, culture: str, assistance: str, annotator: str = "") -> Session:
        check_session_id(session_id)
        culture = clean_text(culture, "culture", 60)
        annotator = clean_text(annotator, "annotator name", 80, required=False)
        if assistance not in ASSISTANCE:
            raise InputError(f"assistance must be one of {', '.join(ASSISTANCE)}, not {assistance!r}")
        log = EventLog(Path(folder) / f"{session_id}.jsonl")
        if log.exists():
            raise InputError(f"session {session_id!r} already exists: open it to resume")
        s = cls(log)
        s._append("start", session_id=session_id, annotator=annotator, culture=culture, assistance=assistance)
        return s

    @classmethod
    def open(cls, folder: str | Path, session_id: str) -> Session:
        log = EventLog(Path(folder) / f"{check_session_id(session_id)}.jsonl")
        if not log.exists():
            raise InputError(f"no session {session_id!r} in {folder}")
        return cls(log)

    # ------------------------------------------------------------------ state
    def __getattr__(self, name):
        st = self.__dict__.get("st")
        if st is not None and name in st:
            return st[name]
        raise AttributeError(name)

    @property
    def draft(self) -> Draft | None:
        return Draft.from_dict(self.st["drafts"][-1]) if self.st["drafts"] else None

    @property
    def revisions(self) -> int:
        return max(0, len(self.st["drafts"]) - 1)

    @property
    def last_verdict(self) -> dict | None:
        return self.st["verdicts"][-1] if self.st["verdicts"] else None

    def _append(self, kind: str, **data) -> dict:
        reason = allowed(self.st["state"], kind)
        if reason:
            raise InputError(f"cannot {kind.replace('_', ' ')} now: {reason}")
        ev = self.log.append(kind, expect_seq=len(self.events), **self.meta, **data)
        self.st = fold(self.st, ev)
        self.events.append(ev)
        return ev

    # ------------------------------------------------------------------ steps
    def submit(self, question, options, answer, scenario="") -> Draft:
        """A first draft or a revision (validated: InputError leaves the log as it was)."""
        if self.st["state"] not in TRANSITIONS["draft"][0]:
            raise InputError(f"cannot write a draft now: {allowed(self.st['state'], 'draft')}")
        d = check_draft(self.st["culture"], question, options, answer, scenario)
        if self.st["drafts"] and self.st["drafts"][-1] == d.to_dict():
            raise InputError("this revision is identical to the current draft: change something first")
        self._append("draft", draft=d.to_dict(), revision=len(self.st["drafts"]))
        return d

    def verify(self, verifier) -> dict:
        """The verifier's answer to the current draft; a verifier failure is logged, counted and raised."""
        d = self._need_draft()
        last = self.last_verdict
        if self.st["state"] == "verified" and last and last["draft_index"] == len(self.drafts) - 1:
            return last  # this draft is verified already: the same answer, no second event
        res = verifier.answer(d)
        if res.get("failed"):
            self._append(
                "verify_failed",
                draft_index=len(self.st["drafts"]) - 1,
                verifier=verifier.name,
                reason=res.get("reason", ""),
            )
            raise InputError(f"the verifier could not answer ({res.get('reason', 'unknown error')}): try Verify again")
        return self._append(
            "verify",
            draft_index=len(self.st["drafts"]) - 1,
            verifier=verifier.name,
            probs=res["probs"],
            pred=res["pred"],
            confidence=res["probs"][res["pred"]],
            fooled=res["pred"] != d.answer,
            source=res.get("source", ""),
        )

    def hint(self, hinter) -> dict:
        if self.st["assistance"] != "ai-assisted":
            raise InputError("hints are part of the AI-assisted level; this session is verifier-only")
        d = self._need_draft()
        h = hinter.hint(d, self.last_verdict, n_shown=len(self.st["hints"]))
        return self._append("hint", draft_index=len(self.st["drafts"]) - 1, **h)

    def check_targets(self, panel) -> dict:
        d = self._need_draft()
        if self.st["state"] != "verified":
            raise InputError("cannot check targets now: verify the current draft first")
        return self._append("targets", draft_index=len(self.st["drafts"]) - 1, **panel.check(d))

    def finalize(self) -> dict:
        d = self._need_draft()
        return self._append("finalize", draft=d.to_dict(), revisions=self.revisions)

    def survey(self, answers: dict) -> dict:
        if self.st["state"] != "finalized":
            raise InputError(f"cannot answer the survey now: {allowed(self.st['state'], 'survey')}")
        return self._append("survey", answers=check_survey(answers))

    def _need_draft(self) -> Draft:
        if not self.st["drafts"]:
            raise InputError("write a question first")
        return self.draft
