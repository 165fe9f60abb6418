"""Judge prompts (WB-Score with the checklist, WB-Reward pairwise) and robust parsing of the replies."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from ...core.textparse import last_json_object
from .tasks import LABEL_REWARD, TRUNCATION_MARKER, Task


# --------------------------------------------------------------------------- prompts
def truncate_words(text: str, max_words: int = 1000) -> str:
    """Keep the first ``max_words`` words, with a marker when something was cut (WildBench truncates long inputs)."""
    words = text.split(" ")
    if max_words <= 0 or len(words) <= max_words:
        return text
    return " ".join(words[:max_words]) + TRUNCATION_MARKER


def format_history(history: Sequence[dict], max_words: int = 1000) -> str:
    if not history:
        return "(no previous turns)"
    return "\n\n".join(f"{t['role'].upper()}: {truncate_words(t['content'], max_words)}" for t in history)


def format_checklist(checklist: Sequence[str]) -> str:
    return "\n".join(f"- {c}" for c in checklist) if checklist else "- (no checklist for this task)"


def score_prompt(task: Task, response: str, max_words: int = 1000) -> list[dict]:
    """WB-Score judge prompt: history, query, one response, the checklist; asks for JSON with a 1-10 score."""
    text = f"""You are an expert evaluator of AI assistants. Evaluate the quality of the AI assistant's response to the user's query below.

# Conversation history
{format_history(task.history, max_words)}

# Current user query
{truncate_words(task.query, max_words)}

# AI assistant's response
{truncate_words(response, max_words)}

# Checklist
Use this checklist to guide, not limit, your evaluation:
{format_checklist(task.checklist)}

# Instructions
Write the strengths and the weaknesses of the response, then give a score from 1 to 10:
1-2 = irrelevant or harmful, 3-4 = major problems, 5-6 = fair with clear flaws,
7-8 = good, 9-10 = excellent and fully satisfies the query.
Answer with JSON only, in this format:
{{"strengths": "<the strengths>", "weaknesses": "<the weaknesses>", "score": <1 to 10>}}"""
    return [{"role": "user", "content": text}]


def reward_prompt(task: Task, response_a: str, response_b: str, max_words: int = 1000) -> list[dict]:
    """WB-Reward judge prompt: history, query, two responses, the checklist; asks for one of the 5 labels."""
    text = f"""You are an expert evaluator of AI assistants. Compare two responses to the user's query below.

# Conversation history
{format_history(task.history, max_words)}

# Current user query
{truncate_words(task.query, max_words)}

# Response A
{truncate_words(response_a, max_words)}

# Response B
{truncate_words(response_b, max_words)}

# Checklist
Use this checklist to guide, not limit, your comparison:
{format_checklist(task.checklist)}

# Instructions
Analyse both responses, then choose one label:
"A++" = A is much better, "A+" = A is slightly better, "A=B" = tie,
"B+" = B is slightly better, "B++" = B is much better.
Do not let the order or the length of the responses decide. Answer with JSON only, in this format:
{{"analysis of A": "...", "analysis of B": "...", "choice": "A=B"}}"""
    return [{"role": "user", "content": text}]


# --------------------------------------------------------------------------- parsing judge outputs
# Prefills for a local judge (Judge.complete(prefill=...)): the reply is forced to open the JSON object with
# the verdict's field, so even a small model writes the score / label first (the reasoning fields follow, if at
# all: with a prefill the verdict no longer comes after the analysis, unlike the paper's setting).
SCORE_PREFILL = '{"score": '
LABEL_PREFILL = '{"choice": "'
# `score: N` (N optionally quoted, optionally "/10" or "out of 10") followed by the end of the value: a comma,
# brace, bracket, line end, sentence end or the end of the text. "score": 1 to 10 (an echoed range) is no score.
_SCORE_RE = re.compile(
    r'"?score"?\s*[:=]\s*("?)\s*(\d+(?:\.\d+)?)\s*(?:(?:/|out of)\s*10)?\s*\1'
    r"(?=\s*(?:[,}\]\n]|\.(?:\s|$)|$))",
    re.IGNORECASE,
)
_SCORE_VALUE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:(?:/|out of)\s*10)?\s*$", re.IGNORECASE)


def parse_score(text: str) -> float | None:
    """The 1-10 score of a WB-Score judgement: JSON first, regex on `"score": N` as fallback; None if absent or out of range.

    The number must be the whole value ("7", 7, "7/10"); an echoed range such as ``"score": 1 to 10`` is not a score.
    A prefilled reply (``SCORE_PREFILL`` + "7, ...", possibly cut off by max_tokens) parses through the regex.
    """
    if not isinstance(text, str):
        return None
    value: Any = None
    obj = last_json_object(text)
    if obj is not None:
        for k, v in obj.items():
            if str(k).strip().lower() == "score":
                value = v
    if value is None:
        found = _SCORE_RE.findall(text)
        value = found[-1][1] if found else None
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        m = _SCORE_VALUE_RE.match(value)
        value = m.group(1) if m else None
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if 1 <= score <= 10 and math.isfinite(score) else None


_LABEL_ALT = r"A\+\+|A\+|A=B|B\+\+|B\+"
SHORT_REPLY = 40  # a reply this short that names exactly one label is taken as that verdict
# `choice: LABEL`; a quoted label must be closed right after it ("choice": "B+ or B" is an echo, not a verdict).
_CHOICE_RE = re.compile(
    r'"?choice"?\s*[:=]\s*(?:"\s*(' + _LABEL_ALT + r')\s*"|(' + _LABEL_ALT + r')(?![+=\w"]))', re.IGNORECASE
)


def parse_label(text: str) -> str | None:
    """The pairwise label (A++ / A+ / A=B / B+ / B++) of a WB-Reward judgement, or None.

    JSON ``choice`` first, then the last ``choice: LABEL`` in the text (a quoted label must be closed:
    a prefilled reply ``LABEL_PREFILL`` + 'A+", ...' parses, 'B+ or B' does not), then a *short* reply (at most
    ``SHORT_REPLY`` characters, e.g. 'The answer is: "A=B"') naming exactly one label and no ``choice`` field.
    A bare label in a longer text is not accepted: small judges often echo the label list from the prompt.
    """
    if not isinstance(text, str):
        return None
    obj = last_json_object(text)
    if obj is not None:
        for k, v in obj.items():
            if str(k).strip().lower() == "choice" and isinstance(v, str) and v.strip().upper() in LABEL_REWARD:
                return v.strip().upper()
    found = _CHOICE_RE.findall(text)
    if found:
        return "".join(found[-1]).upper()
    if len(text.strip()) <= SHORT_REPLY and not re.search(
        r"choice", text, re.IGNORECASE
    ):  # a malformed choice field is a failure
        bare = set(re.findall(r"(?<![\w+=])(" + _LABEL_ALT + r")(?![\w+=])", text, re.IGNORECASE))
        if len(bare) == 1:
            return bare.pop().upper()
    return None
