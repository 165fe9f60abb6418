"""Checks of what an annotator types: each refusal is one clear sentence (``InputError``), nothing is stored.

Text fields are plain text: markup (an HTML tag, a ``javascript:`` URL, an event-handler attribute) is refused,
and every view escapes text anyway (``escape``), so a stored string can never run in an annotator's browser.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import asdict, dataclass

LETTERS = "ABCD"
MAX_QUESTION_CHARS = 600
MAX_SCENARIO_CHARS = 1200
MAX_OPTION_CHARS = 200
MAX_CULTURE_CHARS = 60
MAX_FREE_TEXT_CHARS = 2000
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!?][^>]*>|javascript\s*:|\bon[a-z]+\s*=\s*['\"]|&#x?[0-9a-fA-F]+;", re.I)


class InputError(ValueError):
    """A draft, survey answer or request the tool refuses; the message says what to change."""


@dataclass(frozen=True)
class Draft:
    """One version of an annotator's question: ``answer`` is the index (0-3) of the correct option."""

    culture: str
    question: str
    options: tuple[str, ...]
    answer: int
    scenario: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["options"] = list(self.options)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Draft:
        return check_draft(
            d.get("culture", ""), d.get("question", ""), d.get("options", []), d.get("answer"), d.get("scenario", "")
        )

    @property
    def prompt_question(self) -> str:
        """The text a model answers: the scenario (if any) followed by the question."""
        return f"{self.scenario} {self.question}".strip() if self.scenario else self.question


def escape(text) -> str:
    """HTML-escaped text for any view (quotes included)."""
    return html.escape("" if text is None else str(text), quote=True)


def clean_text(value, what: str, limit: int, required: bool = True) -> str:
    """``value`` as stripped, NFC-normalised plain text, or InputError (empty, too long, markup, control chars)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InputError(f"the {what} must be text, not {type(value).__name__}")
    text = unicodedata.normalize("NFC", value).strip()
    if required and not text:
        raise InputError(f"the {what} is empty: write it before going on")
    if len(text) > limit:
        raise InputError(f"the {what} is {len(text)} characters long: keep it to {limit} or fewer")
    if _MARKUP.search(text):
        raise InputError(
            f"the {what} contains markup ({_MARKUP.search(text).group(0)[:30]!r}): write plain text, "
            f"without HTML tags, scripts or character references"
        )
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise InputError(f"the {what} contains control characters: write plain text")
    return text


def parse_answer(answer) -> int:
    """The correct option as an index 0-3, from an index or a letter A-D; InputError when none is marked."""
    if answer is None or answer == "" or isinstance(answer, bool):
        raise InputError("no correct option is marked: choose which of A-D is the right answer")
    if isinstance(answer, int):
        if 0 <= answer < 4:
            return answer
    elif isinstance(answer, str) and answer.strip().upper() in tuple(LETTERS):
        return LETTERS.index(answer.strip().upper())
    raise InputError(f"the correct option must be one of A, B, C, D (or 0-3), not {answer!r}")


def check_draft(culture, question, options, answer, scenario="") -> Draft:
    """A valid ``Draft`` or InputError: a culture, a question, four distinct options, one marked correct."""
    culture = clean_text(culture, "culture", MAX_CULTURE_CHARS)
    question = clean_text(question, "question", MAX_QUESTION_CHARS)
    scenario = clean_text(scenario, "scenario", MAX_SCENARIO_CHARS, required=False)
    if not isinstance(options, (list, tuple)):
        raise InputError("the options must be a list of four texts")
    if len(options) != 4:
        raise InputError(f"a question needs exactly four options (A-D), not {len(options)}")
    opts = tuple(clean_text(o, f"option {LETTERS[i]}", MAX_OPTION_CHARS) for i, o in enumerate(options))
    seen: dict[str, int] = {}
    for i, o in enumerate(opts):
        key = " ".join(o.casefold().split()).rstrip(".")
        if key in seen:
            raise InputError(
                f"options {LETTERS[seen[key]]} and {LETTERS[i]} are the same ({o!r}): write four distinct options"
            )
        seen[key] = i
    return Draft(culture=culture, question=question, options=opts, answer=parse_answer(answer), scenario=scenario)


SURVEY = {  # the feedback step of the paper: familiarity, how common the scenario is, usability and creativity
    "familiarity": ("How familiar are you with this culture? (1 not at all - 5 I live it)", 1, 5),
    "commonness": ("How common is the scenario in this culture? (1 rare - 5 everyday)", 1, 5),
    "usability": ("How easy was the tool to use? (1 hard - 5 easy)", 1, 5),
    "creativity": ("How creative did writing the question feel? (1 not at all - 5 very)", 1, 5),
}


def check_survey(answers: dict) -> dict:
    """Survey answers: every item an integer in its range, an optional plain-text comment."""
    if not isinstance(answers, dict):
        raise InputError("the survey answers must be a mapping of item -> rating")
    out = {}
    for key, (_, lo, hi) in SURVEY.items():
        v = answers.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise InputError(f"survey item {key!r} needs a whole number from {lo} to {hi}, not {v!r}")
        out[key] = v
    unknown = set(answers) - set(SURVEY) - {"comment"}
    if unknown:
        raise InputError(f"unknown survey item(s): {sorted(unknown)} (items: {sorted(SURVEY)} and comment)")
    out["comment"] = clean_text(answers.get("comment", ""), "comment", MAX_FREE_TEXT_CHARS, required=False)
    return out
