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
advantage), and writes answers of ``chars`` x 0.75, 1 or 1.25 characters (padding: verbosity, no quality; the
spread within a contestant is what lets style control tell length from the contestant).

**The judge** reads the judge prompts of WildBench (WB-Score, WB-Reward) and Arena-Hard, checks each answer
by program (``answer_facts``: final value right? steps shown?) and decides. The truth of a pair: the correct
answer wins strongly (``A++``); both right or both wrong, the one with steps wins slightly (``A+``); else a
tie. Biases act on the close calls (a true tie): with probability ``position_bias`` the answer in slot A wins
slightly, else the longer one does with probability ``length_bias`` times ``length_weight`` (the normalised length
gap over 0.5, at most 1: full rate when one answer is three times the other). With probability ``noise`` the verdict is
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
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core.store import stable_id
from .simulated_judge import (  # noqa: F401  (the judge's pieces, re-exported: one import for the controlled world)
    ARENA_LABEL,
    LABELS,
    LENGTH_BONUS,
    LONG_CHARS,
    SCORES,
    Facts,
    JudgeBias,
    SimulatedJudge,
    answer_facts,
    evaluate,
    pair_label_probs,
    pick,
    score_probs,
    truth_label,
)

DIFFICULTIES = (0.1, 0.3, 0.5, 0.7, 0.9)  # task difficulty levels (1 to 5 operations), equally likely
SLOPE = 6.0  # P(correct) = sigmoid(SLOPE * (skill - difficulty))
LENGTH_SCALES = (0.75, 1.0, 1.25)  # an answer is this times its contestant's ``chars`` long, each equally likely
GROUPS = (
    "Creative Tasks",
    "Planning & Reasoning",
    "Math & Data Analysis",
    "Information/Advice seeking",
    "Coding & Debugging",
)  # WildBench's task groups (a task counts in one)
PRIMARY_TAG = {
    "Creative Tasks": "Creative Writing",
    "Planning & Reasoning": "Reasoning",
    "Math & Data Analysis": "Math",
    "Information/Advice seeking": "Information seeking",
    "Coding & Debugging": "Coding & Debugging",
}
FILLER = "I hope this helps , and feel free to ask if anything about the calculation is unclear . "


# --------------------------------------------------------------------------- contestants and tasks
@dataclass(frozen=True)
class SimContestant:
    name: str
    skill: float  # P(correct) = sigmoid(SLOPE * (skill - difficulty))
    steps_rate: float  # share of answers that show the working
    chars: int  # typical answer length in characters (verbosity): x LENGTH_SCALES

    def p_correct(self, difficulty: float) -> float:
        return 1.0 / (1.0 + math.exp(-SLOPE * (self.skill - difficulty)))


# True order: strong > base > verbose > weak; "sim-verbose" is behind the baseline and much longer (a length-biased
# judge lifts it toward the baseline); the others write answers of the same length.
DEFAULT_CONTESTANTS = (
    SimContestant("sim-strong", 0.9, 0.6, 300),
    SimContestant("sim-base", 0.6, 0.5, 300),
    SimContestant("sim-verbose", 0.5, 0.5, 1100),
    SimContestant("sim-weak", 0.25, 0.4, 300),
)
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


def make_tasks(n: int, seed: int = 0) -> list[SimTask]:
    """``n`` tasks, difficulty levels and task groups balanced (level k % 5, group (k // 5) % 5)."""
    rng = random.Random(f"sim-tasks-{seed}")
    out = []
    for k in range(n):
        level = k % len(DIFFICULTIES)
        numbers = tuple(rng.randint(2, 30) for _ in range(level + 2))
        ops = tuple(rng.choice(("plus", "minus")) for _ in range(level + 1))
        out.append(
            SimTask(
                stable_id("sim-task", seed, k, numbers, ops, length=12),
                numbers,
                ops,
                DIFFICULTIES[level],
                GROUPS[(k // len(DIFFICULTIES)) % len(GROUPS)],
            )
        )
    return out


def write_answer(task: SimTask, chars: int, correct: bool, steps: bool, rng: random.Random) -> str:
    """An answer: the steps (if shown), ``answer N .`` (a wrong one slips at the last step), padded to ``chars``."""
    final = task.value if correct else task.value + rng.choice((-3, -2, -1, 1, 2, 3))
    parts, value = [], task.numbers[0]
    for i, (op, x) in enumerate(zip(task.ops, task.numbers[1:])):
        new = evaluate((value, x), (op,))
        new = final if i == len(task.ops) - 1 else new  # a wrong answer slips at the last step
        parts.append(f"{value} {op} {x} is {new} ,")
        value = new
    core = (" ".join(parts) + " " if steps else "") + f"answer {final} ."
    if len(core) + 1 >= chars:
        return core
    pad = FILLER * (chars // len(FILLER) + 1)
    return core + " " + pad[: chars - len(core) - 1]


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
                text = write_answer(t, round(c.chars * rng.choice(LENGTH_SCALES)), correct, steps, rng)
                out[c.name][t.id] = {
                    "id": t.id,
                    "text": text,
                    "n_tokens": len(text.split()),
                    "finish": "stop",
                    "correct": correct,
                    "steps": steps,
                }
        return out

    # ----------------------------------------------------------------------- the truth, enumerated
    def answer_types(self, name: str, difficulty: float) -> list[tuple[float, Facts]]:
        c = self.by_name[name]
        p, s, n = c.p_correct(difficulty), c.steps_rate, len(LENGTH_SCALES)
        return [
            (pc * ps / n, Facts(correct, steps, round(c.chars * k)))
            for correct, pc in ((True, p), (False, 1 - p))
            for steps, ps in ((True, s), (False, 1 - s))
            for k in LENGTH_SCALES
        ]

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
        return 0.5 * (
            self.expect_pair(model, baseline, value, bias)
            + self.expect_pair(baseline, model, lambda lab, fb, fm: value(flip[lab], fm, fb), bias)
        )

    def true_rewards(
        self, noise: float, K: float = -1, baselines: Sequence[str] | None = None, bias: JudgeBias | None = None
    ) -> dict[str, float]:
        """WB-Reward (x100, mixture over ``baselines``; a model's own slot counts 0, as upstream) of an unbiased judge
        with this ``noise`` (or of the judge ``bias``, in random A/B order), with WildBench's length penalty ``K``."""
        bias = bias or JudgeBias(noise=noise)
        from .wildbench.scoring import game_reward

        names = list(baselines or [self.baseline])
        return {
            m: 100.0
            * sum(
                0.0
                if b == m
                else self.expect_both_orders(
                    m, b, lambda lab, fm, fb: game_reward(lab, True, fm.chars, fb.chars, K), bias
                )
                for b in names
            )
            / len(names)
            for m in self.names
        }

    def true_win_rates(self, noise: float, bias: JudgeBias | None = None) -> dict[str, float]:
        """Arena-Hard's win rate against the baseline (what Bradley-Terry on both swapped games estimates: the
        weight-averaged score, strong verdicts weighing 3) of an unbiased judge with this ``noise`` (or of ``bias``)."""
        from .arena.games import verdict_score

        bias = bias or JudgeBias(noise=noise)
        score = lambda lab, fm, fb: np.prod(verdict_score(ARENA_LABEL[lab]))  # noqa: E731  (score x weight)
        weight = lambda lab, fm, fb: verdict_score(ARENA_LABEL[lab])[1]  # noqa: E731
        return {
            m: self.expect_both_orders(m, self.baseline, score, bias)
            / self.expect_both_orders(m, self.baseline, weight, bias)
            for m in self.names
        }

    def true_scores(self, noise: float) -> dict[str, float]:
        """WB-Score (rescaled (s-5)*2, x10) of an unbiased judge; the same in every task group, so also the macro."""
        from .wildbench.scoring import rescale_score

        bias = JudgeBias(noise=noise)
        return {
            m: sum(
                p * sum(q * rescale_score(s) for s, q in score_probs(f, bias).items())
                for d in DIFFICULTIES
                for p, f in self.answer_types(m, d)
            )
            / len(DIFFICULTIES)
            for m in self.names
        }

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

    return [
        Task(
            id=t.id,
            history=[],
            query=t.query,
            checklist=["Is the final answer the correct value?", "Does the answer show its working?"],
            primary_tag=PRIMARY_TAG[t.group],
        )
        for t in tasks
    ]


def arena_prompts(tasks: Sequence[SimTask]) -> list[dict]:
    """The tasks as Arena-Hard prompt records {id, prompt, category, cluster}."""
    return [
        {"id": t.id, "prompt": t.query, "category": "simulated", "cluster": f"difficulty {t.difficulty:g}"}
        for t in tasks
    ]


# --------------------------------------------------------------------------- the controlled checks (02, 03, 04)
REMOVED_SHARE = 0.25  # a correction "removes" a bias when at most this share of its shift is left


def removal_check(injected: float, before: float, after: float, share: float = REMOVED_SHARE) -> str:
    """ "pass" when a correction leaves at most ``share`` of a bias shift (``before`` / ``after``, signed, in points),
    "fail" otherwise, "untestable" when no bias was ``injected`` (or it moved nothing)."""
    if not injected or not before:
        return "untestable"
    return "pass" if abs(after) <= share * abs(before) else "fail"


def coverage_check(hits: int, n: int, nominal: float) -> tuple[str, tuple[float, float]]:
    """("pass" when the nominal level lies in the 95% Wilson interval of the observed coverage hits/n, else "fail";
    "untestable" without intervals), the Wilson interval."""
    from ..core.stats import wilson_interval

    if not n:
        return "untestable", (float("nan"), float("nan"))
    lo, hi = wilson_interval(hits, n)
    return ("pass" if lo <= nominal <= hi else "fail"), (lo, hi)


def check_signal(checks: dict[str, str]) -> str:
    """The controlled setting's short signal: "N/M checks pass" over the testable checks, naming those that fail."""
    testable = {k: v for k, v in checks.items() if v != "untestable"}
    if not testable:
        return "untestable"
    failed = [k for k, v in testable.items() if v != "pass"]
    tail = f" (not: {', '.join(failed)})" if failed else ""
    return f"{len(testable) - len(failed)}/{len(testable)} checks pass{tail}"


def controlled_markdown(m: dict) -> str:
    """The controlled setting's signal, finding and lines from metrics.json, as Markdown ("" when absent)."""
    if not m.get("controlled_finding"):
        return ""
    lines = [
        "**Controlled setting (simulated judge, known truth):** " + str(m.get("controlled_signal", "")),
        "",
        str(m["controlled_finding"]),
    ]
    return "\n".join(lines + ([""] + [f"- {x}" for x in m.get("controlled_findings", [])]))
