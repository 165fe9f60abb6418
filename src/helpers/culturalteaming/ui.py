"""The ipywidgets view of a CulturalTeaming session (JupyterLab, and Voila for annotators: ``serve.py``).

    view = TeamingView(folder, components)      # components: verifier, panel, hinter (components.Components)
    view.widget                                  # display it; one view = one session (one per browser tab)

Everything the view does goes through ``Session`` (so every click is in the log before the view shows it); every
text a person or a model wrote is HTML-escaped (``validate.escape``) wherever the view shows it, and a refusal
(``InputError``, ``SessionLogError``) is shown as a one-line message, with the draft left in the editor.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import ipywidgets as W

from .log import SessionLogError
from .session import ASSISTANCE, Session
from .validate import LETTERS, SURVEY, InputError, escape


def new_session_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"


def _probs_html(probs, options, answer) -> str:
    rows = "".join(
        f"<tr><td>{l}</td><td>{escape(o)}</td><td>{p:.0%}</td><td>{'correct' if k == answer else ''}</td></tr>"
        for k, (l, o, p) in enumerate(zip(LETTERS, options, probs))
    )
    return f"<table class='ct-probs'>{rows}</table>"


class TeamingView:
    def __init__(self, folder: str | Path, components, session_id: str | None = None):
        self.folder, self.comp, self.session = Path(folder), components, None
        self.session_id = session_id

        def c(w, cls):  # a stable CSS class (styling, tests); text syncs on change (blur), before any click's message
            w.add_class(cls)
            if hasattr(w, "continuous_update") and isinstance(w, (W.Text, W.Textarea)):
                w.continuous_update = False
            return w

        self.annotator = c(W.Text(description="Your name"), "ct-annotator")
        self.culture = c(W.Text(description="Culture"), "ct-culture")
        self.assistance = c(W.ToggleButtons(options=list(ASSISTANCE), value="ai-assisted"), "ct-assistance")
        self.start_btn = c(W.Button(description="Start", button_style="primary"), "ct-start")
        self.scenario = c(W.Textarea(description="Scenario", layout=W.Layout(width="95%")), "ct-scenario")
        self.question = c(W.Textarea(description="Question", layout=W.Layout(width="95%")), "ct-question")
        self.options = [
            c(W.Text(description=f"Option {l}", layout=W.Layout(width="95%")), f"ct-option-{l.lower()}")
            for l in LETTERS
        ]
        self.correct = c(
            W.RadioButtons(options=["(none)", *LETTERS], value="(none)", description="Correct"), "ct-correct"
        )
        self.buttons = {
            name: c(W.Button(description=label), f"ct-{name}")
            for name, label in [
                ("verify", "Verify"),
                ("hint", "Hint"),
                ("targets", "Check targets"),
                ("finalize", "Finalize"),
            ]
        }
        self.status = c(W.HTML(), "ct-status")
        self.result = c(W.HTML(), "ct-result")
        self.history = c(W.HTML(), "ct-history")
        self.sliders = {
            k: c(W.IntSlider(value=(lo + hi) // 2, min=lo, max=hi, description=k), f"ct-survey-{k}")
            for k, (_, lo, hi) in SURVEY.items()
        }
        self.comment = c(W.Textarea(description="Comment"), "ct-comment")
        self.survey_btn = c(W.Button(description="Submit survey", button_style="success"), "ct-submit-survey")
        self.start_btn.on_click(lambda _: self._do(self.start))
        for name, fn in [
            ("verify", self.verify),
            ("hint", self.hint),
            ("targets", self.targets),
            ("finalize", self.finalize),
        ]:
            self.buttons[name].on_click(lambda _, fn=fn: self._do(fn))
        self.survey_btn.on_click(lambda _: self._do(self.submit_survey))
        self.start_box = W.VBox(
            [
                W.HTML(
                    "<h3>CulturalTeaming</h3><p>Write a multiple-choice question about a culture"
                    " you know that AI models get wrong.</p>"
                ),
                self.annotator,
                self.culture,
                self.assistance,
                self.start_btn,
            ]
        )
        self.editor = W.VBox(
            [
                self.scenario,
                self.question,
                *self.options,
                self.correct,
                W.HBox(list(self.buttons.values())),
                self.result,
                W.HTML("<h4>History</h4>"),
                self.history,
            ]
        )
        self.survey_box = W.VBox(
            [
                W.HTML(
                    "<h4>Feedback</h4>" + "".join(f"<p>{escape(k)}: {escape(q)}</p>" for k, (q, _, _) in SURVEY.items())
                ),
                *self.sliders.values(),
                self.comment,
                self.survey_btn,
            ]
        )
        self.widget = c(W.VBox([self.start_box, self.status]), "ct-app")
        if session_id and (self.folder / f"{session_id}.jsonl").exists():
            self._do(lambda: self._attach(Session.open(self.folder, session_id)))

    # ------------------------------------------------------------------ plumbing
    def _do(self, fn) -> None:
        try:
            msg = fn()
            self.status.value = f"<p class='ct-ok'>{escape(msg)}</p>" if msg else ""
        except (InputError, SessionLogError) as exc:
            self.status.value = f"<p class='ct-error' style='color:#b00'>{escape(exc)}</p>"
        self._refresh()

    def _attach(self, session: Session) -> str:
        self.session = session
        d = session.draft
        if d:
            self.scenario.value, self.question.value = d.scenario, d.question
            for w, o in zip(self.options, d.options):
                w.value = o
            self.correct.value = LETTERS[d.answer]
        return f"session {session.session_id} resumed ({len(session.events)} events)"

    def _editor_fields(self) -> dict:
        ans = self.correct.value
        return {
            "question": self.question.value,
            "options": [w.value for w in self.options],
            "answer": None if ans == "(none)" else ans,
            "scenario": self.scenario.value,
        }

    def _sync_draft(self) -> None:
        """The editor's text becomes a draft (or a revision) when it differs from the current one."""
        f = self._editor_fields()
        d = self.session.draft
        same = (
            d
            and d.question == f["question"].strip()
            and list(d.options) == [o.strip() for o in f["options"]]
            and f["answer"] == LETTERS[d.answer]
            and d.scenario == f["scenario"].strip()
        )
        if not same:
            self.session.submit(**f)

    # ------------------------------------------------------------------ actions
    def start(self) -> str:
        self.session = Session.create(
            self.folder,
            self.session_id or new_session_id(),
            self.culture.value,
            self.assistance.value,
            annotator=self.annotator.value,
        )
        return f"session {self.session.session_id} started: write your question"

    def verify(self) -> str:
        self._sync_draft()
        v = self.session.verify(self.comp.verifier)
        d = self.session.draft
        self.result.value = (
            f"<p>The verifier answers <b>{LETTERS[v['pred']]}</b> with {v['confidence']:.0%} "
            f"confidence: {'it is fooled!' if v['fooled'] else 'it is right. Revise to fool it.'}"
            f"</p>" + _probs_html(v["probs"], d.options, d.answer)
        )
        return "verified"

    def hint(self) -> str:
        self._sync_draft()
        h = self.session.hint(self.comp.hinter)
        extra = f"<p><i>Model's hint:</i> {escape(h['llm_hint'])}</p>" if h.get("llm_hint") else ""
        if h.get("rewrite"):
            r = h["rewrite"]
            extra += (
                f"<p><i>Suggested rewrite:</i> {escape(r['question'])} "
                + "; ".join(f"{l}. {escape(o)}" for l, o in zip(LETTERS, r["options"]))
                + "</p>"
            )
        self.result.value = f"<p class='ct-hint'><b>Hint ({escape(h['strategy'])}):</b> {escape(h['text'])}</p>{extra}"
        return "hint shown"

    def targets(self) -> str:
        t = self.session.check_targets(self.comp.panel)
        rows = "".join(
            f"<tr><td>{escape(a['target'])}</td><td>{'failed' if a['failed'] else LETTERS[a['pred']]}</td>"
            f"<td>{'' if a['failed'] else ('right' if a['correct'] else 'wrong')}</td></tr>"
            for a in t["answers"]
        )
        verdict = "challenging" if t["challenging"] else "not challenging yet"
        self.result.value = (
            f"<p class='ct-targets'>{t['wrong']} of {t['n_targets']} targets wrong (k = {t['k']}): "
            f"<b>{verdict}</b></p><table>{rows}</table>"
        )
        return "targets checked"

    def finalize(self) -> str:
        self.session.finalize()
        return "question finalized: please answer the feedback survey"

    def submit_survey(self) -> str:
        if self.session is None:
            raise InputError("start a session first")
        self.session.survey({**{k: w.value for k, w in self.sliders.items()}, "comment": self.comment.value})
        return f"thank you: session {self.session.session_id} is saved"

    # ------------------------------------------------------------------ view
    def _refresh(self) -> None:
        s = self.session
        if s is None:
            self.widget.children = [self.start_box, self.status]
            return
        head = W.HTML(
            f"<p class='ct-session'>Session <code>{escape(s.session_id)}</code> · culture "
            f"<b>{escape(s.culture)}</b> · {escape(s.assistance)} · state <b>{escape(s.state)}</b></p>"
        )
        self.buttons["hint"].disabled = s.assistance != "ai-assisted"
        parts = [head, self.status]
        parts += [self.survey_box] if s.state == "finalized" else [] if s.state == "done" else [self.editor]
        self.widget.children = parts
        rows = []
        for i, d in enumerate(s.drafts):
            vs = [v for v in s.verdicts if v["draft_index"] == i]
            verdict = (
                (f"{LETTERS[vs[-1]['pred']]} ({vs[-1]['confidence']:.0%}, {'fooled' if vs[-1]['fooled'] else 'right'})")
                if vs
                else "not verified"
            )
            rows.append(
                f"<tr><td>{i}</td><td>{escape(d['question'])}</td><td>{LETTERS[d['answer']]}</td>"
                f"<td>{verdict}</td></tr>"
            )
        self.history.value = (
            "<table class='ct-history-table'><tr><th>#</th><th>question</th><th>correct</th>"
            f"<th>verifier</th></tr>{''.join(rows)}</table>"
        )
