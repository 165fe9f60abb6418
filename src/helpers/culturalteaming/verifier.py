"""The verifier: a probability over the four options of a draft; its answer is the most probable option.

    LocalVerifier(LogProbScorer("smollm2-135m-instruct"))   # option-letter log-probs, softmax over A-D
    EndpointVerifier(Judge(model, base_url, on_error="empty"))  # asks for JSON probabilities, parses robustly

Both return ``{"probs": [4 floats summing to 1], "pred": index, "source": how}`` or ``{"failed": True, "reason"}``;
an endpoint's failed calls and unreadable replies are counted (``failures``, ``unparsed``) and shown by the views
and the notebook, never turned into an answer.
"""

from __future__ import annotations

import math
import re

from ..core.textparse import first_json_object
from .validate import LETTERS, Draft


def mc_prompt(d: Draft) -> str:
    opts = "\n".join(f"{l}. {o}" for l, o in zip(LETTERS, d.options))
    return f"Question: {d.prompt_question}\n{opts}\nAnswer:"


def softmax(values) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def result(probs, source: str) -> dict:
    return {"probs": [float(p) for p in probs], "pred": max(range(4), key=lambda k: probs[k]), "source": source}


class LocalVerifier:
    """A local model's probability of each option letter after the lettered question (one prompt forward)."""

    def __init__(self, scorer, name: str | None = None):
        self.scorer = scorer
        self.name = name or getattr(scorer, "model_name", "local")
        self.calls = self.failures = self.unparsed = 0

    def answer_many(self, drafts) -> list[dict]:
        from ..core.logprobs import choice_logprobs

        if not drafts:
            return []
        sums = choice_logprobs(self.scorer, [mc_prompt(d) for d in drafts], [f" {l}" for l in LETTERS], desc="verifier")
        self.calls += len(drafts)
        return [result(softmax(s), "letter log-probs") for s in sums]

    def answer(self, d: Draft) -> dict:
        return self.answer_many([d])[0]


JSON_ASK = (
    "Answer the multiple-choice question about culture. Reply only with JSON giving your probability for "
    'each option, for example {"probabilities": {"A": 0.1, "B": 0.7, "C": 0.1, "D": 0.1}}.'
)


def endpoint_messages(d: Draft) -> list[dict]:
    return [{"role": "user", "content": f"{JSON_ASK}\n\n{mc_prompt(d)}"}]


def _number(v) -> float | None:
    try:
        x = float(str(v).strip().rstrip("%")) / (100 if str(v).strip().endswith("%") else 1)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) and x >= 0 else None


def parse_probabilities(text: str | None) -> tuple[list[float] | None, str]:
    """(probabilities over A-D, how they were read) from a reply; (None, why) when nothing usable is there.

    Accepted, in order: {"probabilities": {"A": .., ...}} (or the letters at the top level; percentages too,
    missing letters 0, renormalised); {"answer": "B", "confidence": 0.8} (the rest shared equally); a lone letter
    A-D in the text (probability 1).
    """
    obj = first_json_object(text)
    if isinstance(obj, dict):
        table = obj.get("probabilities", obj.get("probs", obj))
        if isinstance(table, dict):
            vals = {
                str(k).strip().upper()[:1]: _number(v)
                for k, v in table.items()
                if str(k).strip().upper()[:1] in LETTERS
            }
            if vals and all(v is not None for v in vals.values()) and sum(vals.values()) > 0:
                probs = [vals.get(l, 0.0) for l in LETTERS]
                return [p / sum(probs) for p in probs], "json probabilities"
        ans = str(obj.get("answer", "")).strip().upper()[:1]
        if ans in LETTERS:
            conf = _number(obj.get("confidence"))
            conf = conf if conf is not None and conf <= 1 else 1.0
            k = LETTERS.index(ans)
            probs = [conf if i == k else (1 - conf) / 3 for i in range(4)]
            return probs, "json answer + confidence"
    m = re.findall(r"(?<![A-Za-z])([ABCD])(?![A-Za-z])", text or "")
    if len(set(m)) == 1:
        return [1.0 if l == m[0] else 0.0 for l in LETTERS], "letter only"
    return None, "no probabilities, answer or single letter in the reply"


class EndpointVerifier:
    """A judge (``helpers.core.judge.Judge``, best with ``on_error="empty"``) asked for JSON probabilities."""

    def __init__(self, judge, name: str | None = None):
        self.judge = judge
        self.name = name or judge.name
        self.calls = self.failures = self.unparsed = 0

    def answer_many(self, drafts) -> list[dict]:
        replies = self.judge.complete([endpoint_messages(d) for d in drafts], desc="verifier")
        failed = list(getattr(self.judge, "last_failed", None) or [False] * len(replies))
        out = []
        for text, f in zip(replies, failed):
            self.calls += 1
            if f:
                self.failures += 1
                out.append({"failed": True, "reason": "the endpoint call failed"})
                continue
            probs, how = parse_probabilities(text)
            if probs is None:
                self.unparsed += 1
                out.append({"failed": True, "reason": f"unreadable reply: {how}", "reply": (text or "")[:200]})
            else:
                out.append(result(probs, how))
        return out

    def answer(self, d: Draft) -> dict:
        return self.answer_many([d])[0]
