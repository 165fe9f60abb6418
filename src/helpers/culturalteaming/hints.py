"""Hints for the AI-assisted level: our strategy hints, plus an LLM's hint and rewrite of the current draft.

Strategies are written by us from the paper's description (negate the question, a distractor from a neighbouring
culture, a multi-answer form, ...). ``Hinter.hint`` picks the next strategy for the draft and the verifier's last
answer, and, when it has a model, asks it for a hint and a rewrite in JSON; a failed call, an unreadable reply or
a rewrite that does not pass ``check_draft`` is counted (``llm_failures``) and the strategy hint stands alone.
"""

from __future__ import annotations

import re

from ..core.textparse import first_json_object
from .validate import LETTERS, Draft, InputError, check_draft

STRATEGIES = {
    "negate": "Ask the opposite: 'Which of these is NOT usually done ...?'. A model that matches the familiar "
    "stereotype to the culture then picks a wrong option.",
    "neighbour": "Swap a distractor for a practice of a neighbouring culture in the same region, so every option "
    "sounds plausible for {culture} and only someone who knows it can tell them apart.",
    "multi_answer": "Use a multi-answer form: make two options true in some settings and ask which one holds in a "
    "specific situation (a region, an age group, an occasion).",
    "stereotype": "Make the stereotypical answer (the one a guidebook would give for {culture}) a distractor, and "
    "the everyday practice people really follow the correct option.",
    "scenario": "Add a concrete scenario (who, where, when) that changes the right answer, for example a regional "
    "or generational variant within {culture}.",
    "everyday": "Ask about an everyday habit rather than a famous symbol: national dishes, landmarks and festivals "
    "are what models have read most about.",
}
PREFILL = '{"hint": "'
MIN_HINT_WORDS = 3
ORDER = ("negate", "stereotype", "neighbour", "multi_answer", "scenario", "everyday")


def pick_strategy(d: Draft, verdict: dict | None, n_shown: int) -> str:
    """The next strategy: negation first when the verifier was right and confident, then the others in turn."""
    confident = bool(verdict) and not verdict.get("fooled") and verdict.get("confidence", 0) >= 0.5
    order = ORDER if confident else ORDER[1:] + ORDER[:1]
    return order[n_shown % len(order)]


def llm_messages(d: Draft, strategy: str) -> list[dict]:
    opts = "; ".join(f"{l}. {o}" for l, o in zip(LETTERS, d.options))
    return [
        {
            "role": "user",
            "content": (
                f"Help a person from {d.culture} make this multiple-choice question harder for AI models while keeping it "
                f"true for people of {d.culture}.\nQuestion: {d.prompt_question}\nOptions: {opts}\n"
                f"Correct: {LETTERS[d.answer]}\nSuggested strategy: {STRATEGIES[strategy].format(culture=d.culture)}\n"
                'Reply only with JSON: {"hint": "<one sentence>", "question": "<rewritten question>", '
                '"options": ["<A>", "<B>", "<C>", "<D>"], "answer": "<letter>"}'
            ),
        }
    ]


def parse_llm_hint(text: str | None, d: Draft) -> tuple[str | None, dict | None, str]:
    """(hint text, rewrite as a draft dict or None, what went wrong or 'ok')."""
    obj = first_json_object(text)
    if not isinstance(obj, dict):  # a reply cut off by max_tokens: the hint's text may still be there
        m = re.search(r'"hint"\s*:\s*"([^"]{1,500})', text or "")
        obj = {"hint": m.group(1)} if m else None
    if not isinstance(obj, dict):
        return None, None, "no JSON object in the reply"
    hint = " ".join(str(obj.get("hint", "")).split())[:500]
    hint = hint if len(hint.split()) >= MIN_HINT_WORDS else None  # "A" or a bare letter is no hint
    rewrite, why = None, "ok"
    if obj.get("question"):
        try:
            rewrite = check_draft(
                d.culture, obj.get("question"), obj.get("options", []), obj.get("answer"), d.scenario
            ).to_dict()
        except InputError as exc:
            why = f"rewrite refused: {exc}"
    if hint is None and rewrite is None:
        return None, None, why if why != "ok" else "no hint or rewrite in the JSON"
    return hint, rewrite, why


class Hinter:
    """Strategy hints always; with ``judge`` (helpers.core.judge.Judge, local or endpoint) an LLM hint and rewrite."""

    def __init__(self, judge=None):
        self.judge = judge
        self.name = f"strategies+{judge.name}" if judge is not None else "strategies"
        self.shown = self.llm_calls = self.llm_failures = 0

    def hint(self, d: Draft, verdict: dict | None = None, n_shown: int = 0) -> dict:
        strategy = pick_strategy(d, verdict, n_shown)
        out = {
            "strategy": strategy,
            "text": STRATEGIES[strategy].format(culture=d.culture),
            "llm_hint": None,
            "rewrite": None,
            "llm_status": "no model",
        }
        self.shown += 1
        if self.judge is not None:
            self.llm_calls += 1
            # a local model is started on the JSON (endpoints cannot continue a prefilled reply)
            prefill = "" if getattr(self.judge, "base_url", "") else PREFILL
            reply = self.judge.complete([llm_messages(d, strategy)], desc="hint", prefill=prefill)[0]
            if (getattr(self.judge, "last_failed", None) or [False])[0]:
                hint, rewrite, why = None, None, "the call failed"
            else:
                hint, rewrite, why = parse_llm_hint(reply, d)
            out.update(llm_hint=hint, rewrite=rewrite, llm_status=why)
            self.llm_failures += hint is None and rewrite is None
        return out
