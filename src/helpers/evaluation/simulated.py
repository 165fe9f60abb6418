"""A controlled judge setting: contestants of known strength and a simulated judge with set biases.

    world = SimWorld()                                              # four contestants, baseline "sim-base"
    tasks = world.tasks(60, seed=0)                                 # checkable arithmetic tasks, 5 difficulty levels
    answers = world.answers(tasks, seed=0)                          # {contestant: {task id: {text, n_tokens, ...}}}
    judge = SimulatedJudge(position_bias=0.3, length_bias=0.3, noise=0.1, seed=0)
    judge.complete([wb.reward_prompt(wb_task, a, b)])               # -> ['{"choice": "A+", ...}'], as a Judge does
    world.true_win_rates(noise=0.1)                                 # what an unbiased judge gives on infinite tasks

**The world.** A task asks for the value of a chain of additions and subtractions (1 to 5 operations; more
operations = harder, ``difficulty`` in ``DIFFICULTIES``). A contestant answers correctly with probability
``sigmoid(SLOPE * (skill - difficulty))``, shows its working (the steps) at ``steps_rate`` (a small, real
advantage), and writes every answer exactly ``chars`` characters long (padding: verbosity, no quality).

**The judge** reads the judge prompts of WildBench (WB-Score, WB-Reward) and Arena-Hard, checks each answer
by program (``answer_facts``: final value right? steps shown?) and decides. The truth of a pair: the correct
answer wins strongly (``A++``); both right or both wrong, the one with steps wins slightly (``A+``); else a
tie. Biases act on the close calls (a true tie): with probability ``position_bias`` the answer in slot A wins
slightly, else with probability ``length_bias`` the longer one does. With probability ``noise`` the verdict is
a uniformly random label instead. WB-Score: 7 if right, 3 if wrong, +1 with steps; ``length_bias`` is the
chance of +``LENGTH_BONUS`` for an answer over ``LONG_CHARS``; noise draws a uniform 1-10 score. One uniform
number per prompt (a hash of the judge's seed and the prompt) picks the verdict from its distribution
(``pair_label_probs`` / ``score_probs``), so the judge is deterministic and two judges that differ only in a
bias see the same random numbers. It has ``Judge``'s face (``name``, ``complete``, ``last_failed``, counters).

**The truth** (``true_*``) is exact: the expectation of each statistic under an *unbiased* judge with the same
noise, over the task distribution (enumerated, no sampling), i.e. what the method should report on infinitely
many tasks; ``true_order`` ranks the contestants by it.
"""
from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..core.store import stable_id

DIFFICULTIES = (0.1, 0.3, 0.5, 0.7, 0.9)  # task difficulty levels (1 to 5 operations), equally likely
SLOPE = 6.0  # P(correct) = sigmoid(SLOPE * (skill - difficulty))
LABELS = ("A++", "A+", "A=B", "B+", "B++")  # WildBench's pairwise labels (Arena-Hard: ARENA_LABEL)
ARENA_LABEL = {"A++": "A>>B", "A+": "A>B", "A=B": "A=B", "B+": "B>A", "B++": "B>>A"}
SCORES = tuple(range(1, 11))
LONG_CHARS = 500  # WB-Score: an answer longer than this may get the length bonus
LENGTH_BONUS = 2  # WB-Score points a length-biased judge adds to a long answer
GROUPS = ("Creative Tasks", "Planning & Reasoning", "Math & Data Analysis", "Information/Advice seeking",
          "Coding & Debugging")  # WildBench's task groups (a task counts in one)
PRIMARY_TAG = {"Creative Tasks": "Creative Writing", "Planning & Reasoning": "Reasoning", "Math & Data Analysis": "Math",
               "Information/Advice seeking": "Information seeking", "Coding & Debugging": "Coding & Debugging"}
FILLER = "I hope this helps , and feel free to ask if anything about the calculation is unclear . "


# --------------------------------------------------------------------------- contestants and tasks
@dataclass(frozen=True)
class SimContestant:
    name: str
    skill: float  # P(correct) = sigmoid(SLOPE * (skill - difficulty))
    steps_rate: float  # share of answers that show the working
    chars: int  # every answer has exactly this many characters (verbosity)

    def p_correct(self, difficulty: float) -> float:
        return 1.0 / (1.0 + math.exp(-SLOPE * (self.skill - difficulty)))


# True order: strong > base > verbose > weak; "sim-verbose" is behind the baseline and much longer (a length-biased
# judge lifts it toward the baseline), "sim-strong" is a little shorter than the baseline.
DEFAULT_CONTESTANTS = (SimContestant("sim-strong", 0.9, 0.6, 250), SimContestant("sim-base", 0.6, 0.5, 300),
                       SimContestant("sim-verbose", 0.5, 0.5, 1100), SimContestant("sim-weak", 0.25, 0.4, 200))
DEFAULT_BASELINE = "sim-base"


@dataclass(frozen=True)
class SimTask:
    id: str
    numbers: tuple[int, ...]
    ops: tuple[str, ...]  # "plus" / "minus"
    difficulty: float
    group: str  # WildBench task group

    @property
    def expression(self) -> str:
        return " ".join([str(self.numbers[0])] + [w for op, x in zip(self.ops, self.numbers[1:]) for w in (op, str(x))])

    @property
    def query(self) -> str:
        return f"What is {self.expression} ? Show your working and end with: answer N ."

    @property
    def value(self) -> int:
        return evaluate(self.numbers, self.ops)


def evaluate(numbers: Sequence[int], ops: Sequence[str]) -> int:
    value = numbers[0]
    for op, x in zip(ops, numbers[1:]):
        value = value + x if op == "plus" else value - x
    return value


_EXPR_RE = re.compile(r"What is (\d+(?: (?:plus|minus) \d+)+) \?")
_STEP_RE = re.compile(r"\d+ (?:plus|minus) \d+ is -?\d+")
_ANSWER_RE = re.compile(r"answer (-?\d+) \.")


def make_tasks(n: int, seed: int = 0) -> list[SimTask]:
    """``n`` tasks, difficulty levels and task groups balanced (level k % 5, group (k // 5) % 5)."""
    rng = random.Random(f"sim-tasks-{seed}")
    out = []
    for k in range(n):
        level = k % len(DIFFICULTIES)
        numbers = tuple(rng.randint(2, 30) for _ in range(level + 2))
        ops = tuple(rng.choice(("plus", "minus")) for _ in range(level + 1))
        out.append(SimTask(stable_id("sim-task", seed, k, numbers, ops, length=12), numbers, ops, DIFFICULTIES[level],
                           GROUPS[(k // len(DIFFICULTIES)) % len(GROUPS)]))
    return out


def write_answer(task: SimTask, contestant: SimContestant, correct: bool, steps: bool, rng: random.Random) -> str:
    """The contestant's answer: the steps (if shown), ``answer N .``, padded to exactly ``contestant.chars``."""
    final = task.value if correct else task.value + rng.choice((-3, -2, -1, 1, 2, 3))
    parts, value = [], task.numbers[0]
    for i, (op, x) in enumerate(zip(task.ops, task.numbers[1:])):
        new = evaluate((value, x), (op,))
        new = final if i == len(task.ops) - 1 else new  # a wrong answer slips at the last step
        parts.append(f"{value} {op} {x} is {new} ,")
        value = new
    core = (" ".join(parts) + " " if steps else "") + f"answer {final} ."
    if len(core) + 1 >= contestant.chars:
        return core
    pad = FILLER * (contestant.chars // len(FILLER) + 1)
    return core + " " + pad[:contestant.chars - len(core) - 1]


# --------------------------------------------------------------------------- what the judge sees
@dataclass(frozen=True)
class Facts:
    correct: bool
    steps: bool
    chars: int


def answer_facts(query: str, text: str) -> Facts:
    """Check an answer by program: final ``answer N .`` equal to the query's value, every step shown, its length."""
    m = _EXPR_RE.search(query)
    if not m:
        raise ValueError(f"not a simulated task: {query[:80]!r}")
    words = m.group(1).split()
    value = evaluate([int(w) for w in words[::2]], words[1::2])
    found = _ANSWER_RE.findall(text)
    return Facts(correct=bool(found) and int(found[0]) == value,
                 steps=len(_STEP_RE.findall(text)) >= len(words) // 2, chars=len(text))


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
    length: float = 0.0  # else to the longer answer at this rate (WB-Score: +LENGTH_BONUS to a long answer)
    noise: float = 0.0  # a uniformly random verdict at this rate

    def __post_init__(self):
        for name in ("position", "length", "noise"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"judge bias {name} must be in [0, 1], got {getattr(self, name)}")


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
        probs["A+" if a.chars > b.chars else "B+"] += rest * bias.length
        rest *= 1.0 - bias.length
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
_WB_PAIR_RE = re.compile(r"# Current user query\n(.*?)\n\n# Response A\n(.*?)\n\n# Response B\n(.*?)\n\n# Checklist", re.S)
_ARENA_RE = re.compile(r"<\|User Prompt\|>\n(.*?)\n\n<\|Start of Assistant A's Answer\|>\n(.*?)\n<\|End of Assistant "
                       r"A's Answer\|>\n\n<\|Start of Assistant B's Answer\|>\n(.*?)\n<\|End of Assistant B's Answer\|>", re.S)


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

    def uniform(self, messages) -> float:
        return int(stable_id(self.seed, messages), 16) / 16 ** 16

    def reply(self, messages) -> tuple[str, dict]:
        """(reply text, record of what was decided) for one judge prompt."""
        text = "\n".join(m["content"] for m in messages)
        u = self.uniform(messages)
        if m := _WB_SCORE_RE.search(text):
            f = answer_facts(m.group(1), m.group(2))
            score = pick(score_probs(f, self.bias), u)
            return (f'{{"score": {score}, "strengths": "checked by program", "weaknesses": "-"}}',
                    {"kind": "score", "a": f, "score": score})
        for kind, rx in (("wb_pair", _WB_PAIR_RE), ("arena", _ARENA_RE)):
            if m := rx.search(text):
                fa, fb = answer_facts(m.group(1), m.group(2)), answer_facts(m.group(1), m.group(3))
                label = pick(pair_label_probs(fa, fb, self.bias), u)
                out = (f'{{"choice": "{label}", "analysis of A": "-", "analysis of B": "-"}}' if kind == "wb_pair"
                       else f"My final verdict is [[{ARENA_LABEL[label]}]]")
                return out, {"kind": kind, "a": fa, "b": fb, "label": label}
        raise ValueError(f"SimulatedJudge: not a WildBench or Arena-Hard judge prompt: {text[:120]!r}")

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


# --------------------------------------------------------------------------- the world
@dataclass
class SimWorld:
    """Contestants of known strength on checkable tasks; the truth of every statistic, exactly."""
    contestants: tuple[SimContestant, ...] = DEFAULT_CONTESTANTS
    baseline: str = DEFAULT_BASELINE
    by_name: dict = field(init=False, repr=False)

    def __post_init__(self):
        self.by_name = {c.name: c for c in self.contestants}
        if self.baseline not in self.by_name:
            raise ValueError(f"baseline {self.baseline!r} is not a contestant ({list(self.by_name)})")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.contestants]

    def tasks(self, n: int, seed: int = 0) -> list[SimTask]:
        return make_tasks(n, seed)

    def answers(self, tasks: Sequence[SimTask], seed: int = 0) -> dict[str, dict[str, dict]]:
        """{contestant: {task id: {id, text, n_tokens (words), finish, correct, steps}}}; each answer drawn from its own
        seeded generator (same seed, contestant and task -> same answer, whatever else is drawn)."""
        out: dict[str, dict[str, dict]] = {}
        for c in self.contestants:
            out[c.name] = {}
            for t in tasks:
                rng = random.Random(f"sim-answer-{seed}-{c.name}-{t.id}")
                correct, steps = rng.random() < c.p_correct(t.difficulty), rng.random() < c.steps_rate
                text = write_answer(t, c, correct, steps, rng)
                out[c.name][t.id] = {"id": t.id, "text": text, "n_tokens": len(text.split()), "finish": "stop",
                                     "correct": correct, "steps": steps}
        return out

    # ----------------------------------------------------------------------- the truth, enumerated
    def answer_types(self, name: str, difficulty: float) -> list[tuple[float, Facts]]:
        c = self.by_name[name]
        p, s = c.p_correct(difficulty), c.steps_rate
        return [(pc * ps, Facts(correct, steps, c.chars)) for correct, pc in ((True, p), (False, 1 - p))
                for steps, ps in ((True, s), (False, 1 - s))]

    def expect_pair(self, a: str, b: str, value, bias: JudgeBias) -> float:
        """E[value(label, facts in slot A, facts in slot B)] over the task distribution, contestant ``a`` in slot A."""
        total = 0.0
        for d in DIFFICULTIES:
            for pa, fa in self.answer_types(a, d):
                for pb, fb in self.answer_types(b, d):
                    total += pa * pb * sum(p * value(lab, fa, fb) for lab, p in pair_label_probs(fa, fb, bias).items())
        return total / len(DIFFICULTIES)

    def expect_both_orders(self, model: str, baseline: str, value, bias: JudgeBias) -> float:
        """The mean of ``expect_pair`` over both slot orders, ``value(label from the model's side, model facts,
        baseline facts)``: what random or swapped orders give."""
        flip = {"A++": "B++", "A+": "B+", "A=B": "A=B", "B+": "A+", "B++": "A++"}
        return 0.5 * (self.expect_pair(model, baseline, value, bias)
                      + self.expect_pair(baseline, model, lambda lab, fb, fm: value(flip[lab], fm, fb), bias))

    def true_rewards(self, noise: float, K: float = -1, baselines: Sequence[str] | None = None,
                     bias: JudgeBias | None = None) -> dict[str, float]:
        """WB-Reward (x100, mixture over ``baselines``; a model's own slot counts 0, as upstream) of an unbiased judge
        with this ``noise`` (or of the judge ``bias``, in random A/B order), with WildBench's length penalty ``K``."""
        bias = bias or JudgeBias(noise=noise)
        from .wildbench.scoring import game_reward
        names = list(baselines or [self.baseline])
        return {m: 100.0 * sum(0.0 if b == m else self.expect_both_orders(
                    m, b, lambda lab, fm, fb: game_reward(lab, True, fm.chars, fb.chars, K), bias) for b in names)
                / len(names) for m in self.names}

    def true_win_rates(self, noise: float, bias: JudgeBias | None = None) -> dict[str, float]:
        """Arena-Hard's win rate against the baseline (what Bradley-Terry on both swapped games estimates: the
        weight-averaged score, strong verdicts weighing 3) of an unbiased judge with this ``noise`` (or of ``bias``)."""
        from .arena.games import verdict_score
        bias = bias or JudgeBias(noise=noise)
        score = lambda lab, fm, fb: verdict_score(ARENA_LABEL[lab])[0] * verdict_score(ARENA_LABEL[lab])[1]  # noqa: E731
        weight = lambda lab, fm, fb: verdict_score(ARENA_LABEL[lab])[1]  # noqa: E731
        return {m: self.expect_both_orders(m, self.baseline, score, bias)
                / self.expect_both_orders(m, self.baseline, weight, bias) for m in self.names}

    def true_scores(self, noise: float) -> dict[str, float]:
        """WB-Score (rescaled (s-5)*2, x10) of an unbiased judge; the same in every task group, so also the macro."""
        from .wildbench.scoring import rescale_score
        bias = JudgeBias(noise=noise)
        return {m: sum(p * sum(q * rescale_score(s) for s, q in score_probs(f, bias).items())
                       for d in DIFFICULTIES for p, f in self.answer_types(m, d)) / len(DIFFICULTIES)
                for m in self.names}

    def true_order(self) -> list[str]:
        """Contestants best first by their true (noise-free) win rate against the baseline."""
        wr = self.true_win_rates(0.0)
        return sorted(self.names, key=lambda m: -wr[m])

    def separation(self, difficulty: float) -> float:
        """How well a task of this difficulty separates the contestants: the spread (max - min) of P(correct)."""
        ps = [c.p_correct(difficulty) for c in self.contestants]
        return max(ps) - min(ps)


# --------------------------------------------------------------------------- comparing with the truth
def order_agreement(estimate: dict[str, float], truth: dict[str, float]) -> dict[str, float]:
    """Kendall's tau between an estimated and the true score of the shared contestants, and whether the estimated
    order is exactly the true one (1.0 / 0.0; ties in the estimate count as wrong)."""
    from scipy.stats import kendalltau
    names = [m for m in truth if m in estimate and estimate[m] == estimate[m]]
    est = [estimate[m] for m in names]
    tau = float(kendalltau(est, [truth[m] for m in names]).statistic) if len(names) > 1 else float("nan")
    by_truth = sorted(names, key=lambda m: -truth[m])
    exact = all(estimate[a] > estimate[b] for a, b in zip(by_truth, by_truth[1:]))
    return {"kendall_tau": tau, "exact_order": float(exact)}


def wildbench_tasks(tasks: Sequence[SimTask]) -> list:
    """The tasks as WildBench ``Task`` records (no history, a one-line checklist, the group's primary tag)."""
    from .wildbench.tasks import Task
    return [Task(id=t.id, history=[], query=t.query, checklist=["Is the final answer the correct value?",
                                                                "Does the answer show its working?"],
                 primary_tag=PRIMARY_TAG[t.group]) for t in tasks]


def arena_prompts(tasks: Sequence[SimTask]) -> list[dict]:
    """The tasks as Arena-Hard prompt records {id, prompt, category, cluster}."""
    return [{"id": t.id, "prompt": t.query, "category": "simulated", "cluster": f"difficulty {t.difficulty:g}"}
            for t in tasks]
