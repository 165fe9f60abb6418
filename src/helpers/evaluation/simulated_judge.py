"""The simulated judge of the controlled setting (``evaluation.simulated``): what it reads in a judge prompt, its
verdict rule with position, length and noise biases, and the ``Judge``-faced class that answers WildBench and
Arena-Hard judge prompts. Pure and seeded: no model, the same prompt always gets the same reply.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

LABELS = ("A++", "A+", "A=B", "B+", "B++")  # WildBench's pairwise labels (Arena-Hard: ARENA_LABEL)
ARENA_LABEL = {"A++": "A>>B", "A+": "A>B", "A=B": "A=B", "B+": "B>A", "B++": "B>>A"}
SCORES = tuple(range(1, 11))
LONG_CHARS = 500  # WB-Score: an answer longer than this may get the length bonus
LENGTH_BONUS = 2  # WB-Score points a length-biased judge adds to a long answer
FULL_GAP = 0.5  # pairwise: the length bias acts at its full rate from this normalised gap (one answer 3x the other)


def evaluate(numbers: Sequence[int], ops: Sequence[str]) -> int:
    value = numbers[0]
    for op, x in zip(ops, numbers[1:]):
        value = value + x if op == "plus" else value - x
    return value


_EXPR_RE = re.compile(r"What is (\d+(?: (?:plus|minus) \d+)+) \?")
_STEP_RE = re.compile(r"\d+ (?:plus|minus) \d+ is -?\d+")
_ANSWER_RE = re.compile(r"answer (-?\d+) \.")


# --------------------------------------------------------------------------- what the judge sees
@dataclass(frozen=True)
class Facts:
    correct: bool
    steps: bool
    chars: int


@functools.lru_cache(maxsize=8192)
def answer_facts(query: str, text: str) -> Facts:
    """Check an answer by program: final ``answer N .`` equal to the query's value, every step shown, its length
    (memoised: the same answer is read in many prompts)."""
    m = _EXPR_RE.search(query)
    if not m:
        raise ValueError(f"not a simulated task: {query[:80]!r}")
    words = m.group(1).split()
    value = evaluate([int(w) for w in words[::2]], words[1::2])
    found = _ANSWER_RE.findall(text)
    return Facts(
        correct=bool(found) and int(found[0]) == value,
        steps=len(_STEP_RE.findall(text)) >= len(words) // 2,
        chars=len(text),
    )


def truth_label(a: Facts, b: Facts) -> str:
    """The pair's true label: the correct answer wins strongly, else the one with steps slightly, else a tie."""
    if a.correct != b.correct:
        return "A++" if a.correct else "B++"
    if a.steps != b.steps:
        return "A+" if a.steps else "B+"
    return "A=B"


@dataclass(frozen=True)
class JudgeBias:
    position: float = 0.0  # a true tie goes to slot A (slightly) at this rate
    length: float = 0.0  # else to the longer answer at this rate (x length_weight; WB-Score: +LENGTH_BONUS if long)
    noise: float = 0.0  # a uniformly random verdict at this rate

    def __post_init__(self):
        for name in ("position", "length", "noise"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"judge bias {name} must be in [0, 1], got {getattr(self, name)}")


def length_weight(len_a: int, len_b: int) -> float:
    """How much of the length bias acts on a pair: the normalised gap |a - b| / (a + b) over ``FULL_GAP``, at most 1
    (a judge swayed more by a large length difference than by a small one, nearly linearly, as style control models)."""
    total = len_a + len_b
    return min(1.0, abs(len_a - len_b) / total / FULL_GAP) if total else 0.0


def pair_label_probs(a: Facts, b: Facts, bias: JudgeBias) -> dict[str, float]:
    """P(label) for the pair (``a`` in slot A), in ``LABELS`` order."""
    probs = {lab: bias.noise / len(LABELS) for lab in LABELS}
    truth, rest = truth_label(a, b), 1.0 - bias.noise
    if truth != "A=B":
        probs[truth] += rest
        return probs
    probs["A+"] += rest * bias.position
    rest *= 1.0 - bias.position
    if a.chars != b.chars:
        rate = bias.length * length_weight(a.chars, b.chars)
        probs["A+" if a.chars > b.chars else "B+"] += rest * rate
        rest *= 1.0 - rate
    probs["A=B"] += rest
    return probs


def score_probs(f: Facts, bias: JudgeBias) -> dict[int, float]:
    """P(WB-Score) of one answer: 7 right / 3 wrong, +1 with steps, +LENGTH_BONUS (capped at 10) at rate
    ``bias.length`` when longer than LONG_CHARS; a uniform 1-10 score at rate ``bias.noise``."""
    probs = {s: bias.noise / len(SCORES) for s in SCORES}
    base = (7 if f.correct else 3) + int(f.steps)
    rest = 1.0 - bias.noise
    if f.chars > LONG_CHARS and bias.length:
        probs[min(10, base + LENGTH_BONUS)] += rest * bias.length
        rest *= 1.0 - bias.length
    probs[base] += rest
    return probs


def pick(probs: dict, u: float):
    """The outcome whose cumulative probability interval holds ``u`` (in the dict's order)."""
    acc = 0.0
    for outcome, p in probs.items():
        acc += p
        if u < acc:
            return outcome
    return outcome


# --------------------------------------------------------------------------- the judge
_WB_SCORE_RE = re.compile(r"# Current user query\n(.*?)\n\n# AI assistant's response\n(.*?)\n\n# Checklist", re.S)
_WB_PAIR_RE = re.compile(
    r"# Current user query\n(.*?)\n\n# Response A\n(.*?)\n\n# Response B\n(.*?)\n\n# Checklist", re.S
)
_ARENA_RE = re.compile(
    r"<\|User Prompt\|>\n(.*?)\n\n<\|Start of Assistant A's Answer\|>\n(.*?)\n<\|End of Assistant "
    r"A's Answer\|>\n\n<\|Start of Assistant B's Answer\|>\n(.*?)\n"
    r"<\|End of Assistant B's Answer\|>",
    re.S,
)


@functools.lru_cache(maxsize=16384)
def read_prompt(text: str) -> tuple[str, tuple[Facts, ...]]:
    """(kind: "score" / "wb_pair" / "arena", the facts of the answer(s) it shows) of a judge prompt's text; memoised,
    as judges that differ only in their biases read the same prompts. ValueError for any other prompt."""
    if "# AI assistant's response\n" in text and (m := _WB_SCORE_RE.search(text)):
        return "score", (answer_facts(m.group(1), m.group(2)),)
    for kind, rx, marker in (("wb_pair", _WB_PAIR_RE, "# Response A\n"), ("arena", _ARENA_RE, "<|User Prompt|>")):
        if marker in text and (m := rx.search(text)):
            return kind, (answer_facts(m.group(1), m.group(2)), answer_facts(m.group(1), m.group(3)))
    raise ValueError(f"SimulatedJudge: not a WildBench or Arena-Hard judge prompt: {text[:120]!r}")


class SimulatedJudge:
    """A judge with ``Judge``'s interface whose verdicts follow the simulated world's truth with set biases.

    ``complete(prompts, desc, prefill)`` answers WildBench WB-Score prompts with ``{"score": N, ...}``, WB-Reward
    prompts with ``{"choice": LABEL, ...}`` and Arena-Hard prompts with ``My final verdict is [[A>B]]``; a prefill
    (local-judge style) must be how that reply starts (``SCORE_PREFILL`` / ``LABEL_PREFILL``), else ValueError.
    No model, no cache needed: the same prompt always gets the same reply.
    """

    def __init__(self, position_bias: float = 0.0, length_bias: float = 0.0, noise: float = 0.0, seed: int = 0):
        self.bias = JudgeBias(position_bias, length_bias, noise)
        self.seed = seed
        self.model = self.name = f"simulated(pos={position_bias:g},len={length_bias:g},noise={noise:g},seed={seed})"
        self.temperature, self.max_tokens, self.base_url = 0.0, 0, ""
        self.requests = self.errors = self.malformed = 0
        self.last_failed: list[bool] = []
        self.verdicts: list[dict] = []  # per prompt of the last complete(): kind, facts and the verdict

    def __repr__(self) -> str:
        return f"SimulatedJudge({self.name!r})"

    def release(self) -> None:
        """Nothing to free (``Judge.release``'s counterpart)."""

    def uniform(self, text: str) -> float:
        """The judgement's random number in [0, 1): a hash of the judge's seed and the whole prompt."""
        return int(hashlib.sha1(f"{self.seed}\x00{text}".encode()).hexdigest()[:15], 16) / 16**15

    def reply(self, messages) -> tuple[str, dict]:
        """(reply text, record of what was decided) for one judge prompt."""
        text = "\n\x00".join(f"{m['role']}\x00{m['content']}" for m in messages)
        kind, facts = read_prompt(text)
        u = self.uniform(text)
        if kind == "score":
            score = pick(score_probs(facts[0], self.bias), u)
            return (
                f'{{"score": {score}, "strengths": "checked by program", "weaknesses": "-"}}',
                {"kind": kind, "a": facts[0], "score": score},
            )
        label = pick(pair_label_probs(*facts, self.bias), u)
        out = (
            f'{{"choice": "{label}", "analysis of A": "-", "analysis of B": "-"}}'
            if kind == "wb_pair"
            else f"My final verdict is [[{ARENA_LABEL[label]}]]"
        )
        return out, {"kind": kind, "a": facts[0], "b": facts[1], "label": label}

    def complete(self, prompts: Sequence[list[dict]], desc: str = "judge", prefill: str = "") -> list[str]:
        out, self.verdicts = [], []
        for messages in prompts:
            text, record = self.reply(messages)
            if prefill and not text.startswith(prefill):
                raise ValueError(f"SimulatedJudge: its reply {text[:30]!r} does not start with the prefill {prefill!r}")
            out.append(text)
            self.verdicts.append(record)
        self.requests += len(prompts)
        self.last_failed = [False] * len(prompts)
        return out
