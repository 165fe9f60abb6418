"""WildBench (Lin et al. 2024, arXiv 2406.04770): tasks, judge prompts, parsers and the two scores.

    tasks = load_tasks("builtin:wildbench_tasks.jsonl")            # or "allenai/WildBench" (config v2, split test)
    msgs = score_prompt(task, answer)                                # WB-Score: one answer, checklist, 1-10
    msgs = reward_prompt(task, answer_a, answer_b)                   # WB-Reward: pairwise, A++ .. B++
    wb_score([7, 3, None])                                           # rescaled (s-5)*2, x10; None = parse failure
    game_reward("A+", model_is_a=True, len_model=900, len_baseline=300, K=500)   # -> 0.0 (length penalty)

Everything below the prompt builders is pure and tested (tests/test_wildbench.py). Parse failures
are ``None`` and are counted and left out of every aggregate, never silently scored.
"""
from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .stats import rank_agreement  # noqa: F401  (one implementation, in stats)
from .store import stable_id
from .textparse import last_json_object

# The 12 WildBench tags merged into 5 task groups; a task counts in every group its tags touch.
TAG_GROUPS = {
    "Information seeking": "Information/Advice seeking",
    "Advice seeking": "Information/Advice seeking",
    "Creative Writing": "Creative Tasks",
    "Editing": "Creative Tasks",
    "Brainstorming": "Creative Tasks",
    "Role playing": "Creative Tasks",
    "Others": "Creative Tasks",
    "Reasoning": "Planning & Reasoning",
    "Planning": "Planning & Reasoning",
    "Math": "Math & Data Analysis",
    "Data Analysis": "Math & Data Analysis",
    "Coding & Debugging": "Coding & Debugging",
}
# Weights of the WB-Score task macro average.
GROUP_WEIGHTS = {
    "Creative Tasks": 0.5,
    "Planning & Reasoning": 1.25,
    "Math & Data Analysis": 1.0,
    "Information/Advice seeking": 0.75,
    "Coding & Debugging": 1.25,
}
GROUPS = tuple(GROUP_WEIGHTS)
# Pairwise labels and their reward for the response in slot A.
LABEL_REWARD = {"A++": 1.0, "A+": 0.5, "A=B": 0.0, "B+": -0.5, "B++": -1.0}
LABELS = tuple(LABEL_REWARD)
TRUNCATION_MARKER = " ... (truncated)"


class WildBenchError(ValueError):
    """A task record is malformed; the message names the record and the field."""


# --------------------------------------------------------------------------- tasks
@dataclass
class Task:
    id: str
    history: list[dict]  # earlier turns (user/assistant), may be empty
    query: str  # the last user turn: what is answered and judged
    checklist: list[str]
    primary_tag: str
    secondary_tags: list[str] = field(default_factory=list)

    @property
    def groups(self) -> list[str]:
        return task_groups(self.primary_tag, self.secondary_tags)

    @property
    def messages(self) -> list[dict]:
        """The conversation a model answers: history plus the current query."""
        return [*self.history, {"role": "user", "content": self.query}]


def task_groups(primary_tag: str, secondary_tags: Sequence[str] = ()) -> list[str]:
    """The task groups (in GROUPS order) touched by a task's primary and secondary tags; unknown tags are ignored."""
    touched = {TAG_GROUPS[t] for t in [primary_tag, *secondary_tags] if t in TAG_GROUPS}
    return [g for g in GROUPS if g in touched]


def task_from_record(rec: dict[str, Any]) -> Task:
    """A Task from a record with WildBench's fields (session_id, conversation_input, checklist, primary_tag,
    secondary_tags): the hub data set allenai/WildBench and our local JSONL share them."""
    rid = rec.get("session_id") or rec.get("id")
    if not rid:
        raise WildBenchError(f"task record without session_id/id: {str(rec)[:120]}")
    conv = rec.get("conversation_input")
    if not isinstance(conv, list) or not conv:
        raise WildBenchError(f"task {rid}: conversation_input must be a non-empty list of {{role, content}} turns")
    turns = []
    for turn in conv:
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant") or not isinstance(turn.get("content"), str):
            raise WildBenchError(f"task {rid}: every turn of conversation_input needs role user/assistant and text content")
        turns.append({"role": turn["role"], "content": turn["content"]})
    if turns[-1]["role"] != "user":
        raise WildBenchError(f"task {rid}: the last turn of conversation_input must be the user's query")
    checklist = rec.get("checklist") or []
    if isinstance(checklist, str):
        checklist = [checklist]
    primary = rec.get("primary_tag") or "Others"
    secondary = rec.get("secondary_tags") or []
    if isinstance(secondary, str):
        secondary = [secondary]
    return Task(id=str(rid), history=turns[:-1], query=turns[-1]["content"], checklist=[str(c) for c in checklist],
                primary_tag=str(primary), secondary_tags=[str(t) for t in secondary])


def load_tasks(source: str, split: str = "test", config: str | None = "v2", limit: int | None = None) -> tuple[list[Task], list[str]]:
    """Tasks from a builtin set, a local JSONL/JSON/parquet file or the hub set; returns (tasks, skipped reasons).

    Malformed records are skipped with a reason (not fatal); no valid task at all is an error.
    """
    from pathlib import Path
    from .data import load_records

    if not source.startswith("builtin:") and not Path(source).expanduser().exists() and Path(resolve_repo_path(source)).exists():
        source = resolve_repo_path(source)  # a repo-relative path given to a notebook running in notebooks/
    hub = (not source.startswith("builtin:") and not Path(source).expanduser().exists() and source.count("/") == 1
           and not source.endswith((".jsonl", ".json", ".csv", ".parquet")))
    records = load_records(source, split=split, config=config if hub else None)
    tasks, skipped = [], []
    for rec in records:
        try:
            tasks.append(task_from_record(rec))
        except WildBenchError as exc:
            skipped.append(str(exc))
    if not tasks:
        raise WildBenchError(f"no valid WildBench task in {source}: {skipped[:3]}")
    return (tasks[:limit] if limit else tasks), skipped


def select_tasks(tasks: Sequence[Task], n: int, seed: int = 0) -> list[Task]:
    """``n`` tasks that cover every group present, in a deterministic order (round-robin over groups)."""
    if n <= 0 or n >= len(tasks):
        return list(tasks)
    rng = random.Random(seed)
    by_group = {g: [t for t in tasks if t.primary_tag in TAG_GROUPS and TAG_GROUPS[t.primary_tag] == g] for g in GROUPS}
    for pool in by_group.values():
        rng.shuffle(pool)
    chosen, seen = [], set()
    while len(chosen) < n and any(by_group.values()):
        for g in GROUPS:
            if by_group[g] and len(chosen) < n:
                t = by_group[g].pop()
                if t.id not in seen:
                    chosen.append(t)
                    seen.add(t.id)
    rest = [t for t in tasks if t.id not in seen]
    rng.shuffle(rest)
    chosen += rest[: n - len(chosen)]
    return chosen


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
_SCORE_RE = re.compile(r'"?score"?\s*[:=]\s*("?)\s*(\d+(?:\.\d+)?)\s*(?:(?:/|out of)\s*10)?\s*\1'
                       r'(?=\s*(?:[,}\]\n]|\.(?:\s|$)|$))', re.IGNORECASE)
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
_CHOICE_RE = re.compile(r'"?choice"?\s*[:=]\s*(?:"\s*(' + _LABEL_ALT + r')\s*"|(' + _LABEL_ALT + r')(?![+=\w"]))',
                        re.IGNORECASE)


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
    if len(text.strip()) <= SHORT_REPLY and not re.search(r"choice", text, re.IGNORECASE):  # a malformed choice field is a failure
        bare = set(re.findall(r"(?<![\w+=])(" + _LABEL_ALT + r")(?![\w+=])", text, re.IGNORECASE))
        if len(bare) == 1:
            return bare.pop().upper()
    return None


# --------------------------------------------------------------------------- WB-Score
def rescale_score(score: float) -> float:
    """WildBench's rescaling of a 1-10 score: (s - 5) * 2, shown x10 (5 -> 0, 10 -> 100, 1 -> -80)."""
    return (score - 5.0) * 2.0 * 10.0


def wb_score(scores: Iterable[float | None]) -> float:
    """Mean rescaled score over valid (non-None) judgements; NaN when none is valid."""
    valid = [rescale_score(s) for s in scores if s is not None]
    return sum(valid) / len(valid) if valid else float("nan")


def group_scores(items: Iterable[tuple[Sequence[str], float | None]]) -> dict[str, float]:
    """WB-Score per task group from (groups of the task, score) pairs; a task counts in each of its groups."""
    per: dict[str, list] = {g: [] for g in GROUPS}
    for groups, score in items:
        for g in groups:
            if g in per and score is not None:
                per[g].append(score)
    return {g: wb_score(v) for g, v in per.items() if v}


# How a missing task group (or baseline) enters a macro average / mixture:
#   "upstream"    WildBench's leaderboard scripts: the weighted sum is divided by ALL five weights (4.75) and
#                 the mixture by the number of baselines, so a missing group or baseline counts 0;
#   "renormalise" ours: the average over the groups / baselines that have a value.
# Either way the result is NaN when nothing at all has a value.
AGGREGATIONS = ("upstream", "renormalise")


def _check_aggregation(aggregation: str) -> None:
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {aggregation!r}")


def task_macro(per_group: dict[str, float], weights: dict[str, float] = GROUP_WEIGHTS,
               aggregation: str = "upstream") -> float:
    """Weighted macro average over task groups (GROUP_WEIGHTS); NaN if no group has a value.

    ``aggregation="upstream"``: divided by the sum of all weights, a missing (or NaN) group counts 0;
    ``"renormalise"``: the weights are renormalised over the groups present.
    """
    _check_aggregation(aggregation)
    present = [(g, s) for g, s in per_group.items() if g in weights and s == s]
    if not present:
        return float("nan")
    total = sum(weights.values()) if aggregation == "upstream" else sum(weights[g] for g, _ in present)
    return sum(weights[g] * s for g, s in present) / total if total else float("nan")


# --------------------------------------------------------------------------- WB-Reward
def model_is_a(task_id: str, model: str, baseline: str, seed: int = 0) -> bool:
    """Randomised but reproducible A/B order per (task, model, baseline): True puts the model in slot A."""
    return int(stable_id("order", task_id, model, baseline, seed), 16) % 2 == 0


def length_penalty(reward: float, len_model: int, len_baseline: int, K: float) -> float:
    """WildBench's K penalty: a *slight* win whose winner is more than K characters longer becomes a tie.

    ``K < 0`` or ``K == inf`` disables it; strong wins (+-1) and ties are never changed.
    """
    if K is None or K < 0 or math.isinf(K) or abs(reward) != 0.5:
        return reward
    winner, loser = (len_model, len_baseline) if reward > 0 else (len_baseline, len_model)
    return 0.0 if winner - loser > K else reward


def game_reward(label: str | None, model_is_a: bool, len_model: int, len_baseline: int, K: float = -1) -> float | None:
    """Reward of one game from the model's side (+1, +0.5, 0, -0.5, -1), K penalty applied; None if unparsed."""
    if label not in LABEL_REWARD:
        return None
    reward = LABEL_REWARD[label] if model_is_a else -LABEL_REWARD[label]
    return length_penalty(reward, len_model, len_baseline, K)


def empty_game_reward(model_text: str, baseline_text: str) -> float | None:
    """Automatic result when a response is empty (no judge call): empty loses, both empty tie; None if neither is empty."""
    m_empty, b_empty = not model_text.strip(), not baseline_text.strip()
    if m_empty and b_empty:
        return 0.0
    if m_empty:
        return -1.0
    if b_empty:
        return 1.0
    return None


def wb_reward(games: Iterable[dict], K: float = -1) -> float:
    """WB-Reward (x100) over games {label, model_is_a, len_model, len_baseline} or {reward} (automatic results).

    Unparsed judgements are left out; NaN when no game counts.
    """
    rewards = [r for r in (game_value(g, K) for g in games) if r is not None]
    return 100.0 * sum(rewards) / len(rewards) if rewards else float("nan")


def game_value(game: dict, K: float = -1) -> float | None:
    """One game's reward: an automatic result (``auto_reward``) as is, else the judged label with the K penalty."""
    if game.get("auto_reward") is not None:
        return float(game["auto_reward"])
    return game_reward(game.get("label"), game["model_is_a"], game["len_model"], game["len_baseline"], K)


def reward_mixture(per_baseline: dict[str, float], baselines: Sequence[str] | None = None,
                   aggregation: str = "upstream") -> float:
    """Mixture of WB-Rewards over baselines; NaN when no baseline has a value.

    ``aggregation="upstream"``: the sum over ``baselines`` (default: the keys given) divided by their
    number, a missing or NaN baseline (e.g. the model itself, when it is a baseline) counting 0;
    ``"renormalise"``: the mean over the baselines that have a value.
    """
    _check_aggregation(aggregation)
    names = list(baselines) if baselines is not None else list(per_baseline)
    vals = [per_baseline[b] for b in names if b in per_baseline and per_baseline[b] == per_baseline[b]]
    if not vals:
        return float("nan")
    return sum(vals) / (len(names) if aggregation == "upstream" else len(vals))


def outcome_counts(games: Iterable[dict], K: float = -1) -> dict[str, int]:
    """Counts of much better / slightly better / tie / slightly worse / much worse (model's side) and failures."""
    names = {1.0: "much_better", 0.5: "better", 0.0: "tie", -0.5: "worse", -1.0: "much_worse"}
    counts = {n: 0 for n in [*names.values(), "failed"]}
    for g in games:
        r = game_value(g, K)
        counts["failed" if r is None else names[r]] += 1
    return counts


# --------------------------------------------------------------------------- uncertainty and judge reliability
def bootstrap_ci(items: Sequence[Any], statistic: Callable[[list], float], rounds: int = 1000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of ``statistic`` over ``items`` resampled with replacement (NaN rounds dropped)."""
    if not items:
        return float("nan"), float("nan")
    rng = random.Random(seed)
    stats = []
    for _ in range(rounds):
        value = statistic([items[rng.randrange(len(items))] for _ in items])
        if value == value:
            stats.append(value)
    if not stats:
        return float("nan"), float("nan")
    stats.sort()
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    pick = lambda q: stats[min(len(stats) - 1, max(0, int(round(q * (len(stats) - 1)))))]  # noqa: E731
    return pick(lo_q), pick(hi_q)


def position_consistency(pairs: Iterable[tuple[str | None, str | None]]) -> dict[str, float]:
    """Position bias from games judged in both orders: (label with the model in A, label with the model in B).

    consistent: the model's outcome (win / tie / loss) is the same in both orders.
    same_slot: both verdicts favour the same *slot* (A both times or B both times): a pure position effect.
    a_slot_rate: share of decisive verdicts that favour slot A. Pairs with a failed parse are counted apart.
    """
    n = consistent = same_slot = decisive = a_wins = failed = 0
    sign = lambda x: (x > 0) - (x < 0)  # noqa: E731
    for first, second in pairs:
        if first not in LABEL_REWARD or second not in LABEL_REWARD:
            failed += 1
            continue
        n += 1
        a1, a2 = LABEL_REWARD[first], LABEL_REWARD[second]  # rewards of slot A
        consistent += sign(a1) == sign(-a2)
        same_slot += sign(a1) != 0 and sign(a1) == sign(a2)
        for a in (a1, a2):
            if a != 0:
                decisive += 1
                a_wins += a > 0
    return {"pairs": n, "failed_pairs": failed,
            "consistent_rate": consistent / n if n else float("nan"),
            "same_slot_rate": same_slot / n if n else float("nan"),
            "a_slot_rate": a_wins / decisive if decisive else float("nan")}


# --------------------------------------------------------------------------- contestants
@dataclass(frozen=True)
class Contestant:
    name: str  # label in tables
    model: str  # alias, folder or hub id
    temperature: float = 0.0
    system: str = ""  # optional system prompt (a decoding/prompting variant of a model)

    def messages(self, task: Task) -> list[dict]:
        sys = [{"role": "system", "content": self.system}] if self.system else []
        return [*sys, *task.messages]


def parse_contestant(spec: str) -> Contestant:
    """``"MODEL"`` or ``"MODEL; name: LABEL; temperature: 0.7; system: Answer briefly."`` -> Contestant.

    Options are ``key: value`` (or ``key=value``) after the model, separated by ``;``.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise WildBenchError("a model entry is empty")
    head, *opts = [p.strip() for p in spec.split(";")]
    kw: dict[str, Any] = {}
    for opt in opts:
        if not opt:
            continue
        m = re.match(r"(name|temperature|system)\s*[:=]\s*(.*)$", opt, re.IGNORECASE | re.DOTALL)
        if not m:
            raise WildBenchError(f"model entry {spec!r}: option {opt!r} must be name: ..., temperature: ... or system: ...")
        key, value = m.group(1).lower(), m.group(2).strip()
        if key == "temperature":
            try:
                kw[key] = float(value)
            except ValueError:
                raise WildBenchError(f"model entry {spec!r}: temperature {value!r} is not a number") from None
        else:
            kw[key] = value
    name = kw.pop("name", None) or _short_name(head)
    return Contestant(name=name, model=head, **kw)


def _short_name(model: str) -> str:
    parts = [p for p in re.split(r"[\\/]", model.rstrip("/\\")) if p]
    return "/".join(parts[-2:]) if len(parts) > 1 else model


# --------------------------------------------------------------------------- tables (used by the notebook)
def resolve_repo_path(path: str) -> str:
    """A relative path as given if it exists from here, else relative to the repository root (notebooks run in notebooks/)."""
    from pathlib import Path
    from .params import REPO_ROOT
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return str(p)
    return str(REPO_ROOT / p)


def score_summary(records: Sequence[dict], task_groups_by_id: dict[str, list[str]], rounds: int = 500,
                  seed: int = 0, aggregation: str = "upstream") -> list[dict]:
    """Per model: WB-Score task macro with a bootstrap CI over tasks, the plain mean, per-group scores, failures.

    ``records``: {model, task, score (1-10 or None for a parse failure)}. ``aggregation``: how a group
    without a valid score enters the macro (see ``task_macro``).
    """
    _check_aggregation(aggregation)
    rows = []
    for model in dict.fromkeys(r["model"] for r in records):
        mine = [r for r in records if r["model"] == model]
        items = [(task_groups_by_id[r["task"]], r["score"]) for r in mine]
        macro_of = lambda xs: task_macro(group_scores(xs), aggregation=aggregation)  # noqa: E731
        lo, hi = bootstrap_ci(items, macro_of, rounds=rounds, seed=seed)
        per = group_scores(items)
        rows.append({"model": model, "wb_score": macro_of(items), "wb_score_lo": lo, "wb_score_hi": hi,
                     "wb_score_plain_mean": wb_score(r["score"] for r in mine),
                     "n_judged": len(mine), "n_failed": sum(r["score"] is None for r in mine),
                     **{f"score[{g}]": per.get(g, float("nan")) for g in GROUPS}})
    return rows


def _task_reward_arrays(games: Sequence[dict], tasks: Sequence[str], baselines: Sequence[str],
                        K: float) -> tuple[np.ndarray, np.ndarray]:
    """(sum of rewards, number of counted games) per (task, baseline); parse failures are not counted."""
    t_index = {t: i for i, t in enumerate(tasks)}
    b_index = {b: j for j, b in enumerate(baselines)}
    S = np.zeros((len(tasks), len(baselines)))
    N = np.zeros((len(tasks), len(baselines)))
    for g in games:
        v = game_value(g, K)
        if v is not None and g["baseline"] in b_index:
            S[t_index[g["task"]], b_index[g["baseline"]]] += v
            N[t_index[g["task"]], b_index[g["baseline"]]] += 1
    return S, N


def _macro_reward(C: np.ndarray, S: np.ndarray, N: np.ndarray, G: np.ndarray, aggregation: str) -> np.ndarray:
    """Task-macro WB-Reward (x100) for each row of task multiplicities ``C`` (rounds x tasks).

    Per baseline and group: the mean reward over the group's counted games; per baseline: the weighted
    macro over groups; then the mixture over baselines, missing entries treated per ``aggregation``.
    """
    num = np.einsum("rt,tg,tb->rgb", C, G, S)
    den = np.einsum("rt,tg,tb->rgb", C, G, N)
    r = 100.0 * np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)  # (rounds, groups, baselines)
    w = np.array([GROUP_WEIGHTS[g] for g in GROUPS])[None, :, None]
    have = ~np.isnan(r)
    wsum = np.where(have, w * np.nan_to_num(r), 0.0).sum(axis=1)  # (rounds, baselines)
    if aggregation == "upstream":
        per_b = np.where(have.any(axis=1), wsum / w.sum(), np.nan)
        out = np.where(~np.isnan(per_b).all(axis=1), np.nansum(per_b, axis=1) / per_b.shape[1], np.nan) \
            if per_b.shape[1] else np.full(len(C), np.nan)
    else:
        wpresent = np.where(have, w, 0.0).sum(axis=1)
        per_b = np.divide(wsum, wpresent, out=np.full(wsum.shape, np.nan), where=wpresent > 0)
        counted = (~np.isnan(per_b)).sum(axis=1)
        out = np.divide(np.nansum(per_b, axis=1), counted, out=np.full(len(C), np.nan), where=counted > 0)
    return out


def task_macro_reward(games: Sequence[dict], task_groups_by_id: dict[str, list[str]], K: float,
                      baselines: Sequence[str] | None = None, aggregation: str = "upstream") -> float:
    """WildBench's task_macro_reward (x100) of one model's games: per baseline, the weighted macro over the
    five task groups of the per-group WB-Reward; then the mixture over baselines.

    ``aggregation="upstream"`` (WildBench's leaderboard scripts): the macro is divided by all five weights
    (4.75; a missing group counts 0) and the mixture by the number of ``baselines`` (a missing baseline,
    e.g. the model itself, counts 0). ``"renormalise"``: over the groups and baselines present.
    """
    _check_aggregation(aggregation)
    baselines = list(baselines) if baselines is not None else list(dict.fromkeys(g["baseline"] for g in games))
    tasks = sorted({g["task"] for g in games})
    if not tasks or not baselines:
        return float("nan")
    S, N = _task_reward_arrays(games, tasks, baselines, K)
    G = np.array([[grp in task_groups_by_id[t] for grp in GROUPS] for t in tasks], dtype=float)
    return float(_macro_reward(np.ones((1, len(tasks))), S, N, G, aggregation)[0])


def reward_summary(games: Sequence[dict], Ks: Sequence[float], K_main: float, rounds: int = 500,
                   seed: int = 0, baselines: Sequence[str] | None = None, aggregation: str = "upstream",
                   task_groups_by_id: dict[str, list[str]] | None = None) -> tuple[list[dict], list[dict]]:
    """(leaderboard rows, K rows) of WB-Reward from games {model, baseline, task, label/auto_reward, ...}.

    Leaderboard rows: per model, the reward against each baseline and the mixture at ``K_main``, with a
    bootstrap CI of the mixture over tasks; with ``task_groups_by_id`` also the task-macro reward
    (``task_macro_reward``) and its CI. K rows: per model and K, each baseline, the mixture (and the task
    macro). ``baselines``: every configured baseline (default: those in each model's games); with
    ``aggregation="upstream"`` a baseline the model has no counted game against counts 0.
    """
    _check_aggregation(aggregation)
    models = list(dict.fromkeys(g["model"] for g in games))
    board, by_k = [], []
    rng = np.random.default_rng(seed)
    for model in models:
        mine = [g for g in games if g["model"] == model]
        names = list(baselines) if baselines is not None else list(dict.fromkeys(g["baseline"] for g in mine))

        def mix(gs: Sequence[dict], K: float = K_main) -> float:
            return reward_mixture({b: wb_reward([g for g in gs if g["baseline"] == b], K) for b in names}, names,
                                  aggregation)

        tasks = sorted({g["task"] for g in mine})
        by_task = {t: [g for g in mine if g["task"] == t] for t in tasks}
        lo, hi = bootstrap_ci(tasks, lambda ts: mix([g for t in ts for g in by_task[t]]), rounds=rounds, seed=seed)
        counts = outcome_counts(mine, K_main)
        row = {"model": model, "wb_reward_mix": mix(mine), "wb_reward_lo": lo, "wb_reward_hi": hi,
               **{f"reward_vs[{b}]": wb_reward([g for g in mine if g["baseline"] == b], K_main) for b in names},
               "n_games": len(mine), "n_failed": counts["failed"]}
        macro_at = {}
        if task_groups_by_id is not None and tasks and names:
            G = np.array([[grp in task_groups_by_id[t] for grp in GROUPS] for t in tasks], dtype=float)
            for K in dict.fromkeys([K_main, *Ks]):
                S, N = _task_reward_arrays(mine, tasks, names, K)
                macro_at[K] = float(_macro_reward(np.ones((1, len(tasks))), S, N, G, aggregation)[0])
            S, N = _task_reward_arrays(mine, tasks, names, K_main)
            C = rng.multinomial(len(tasks), np.full(len(tasks), 1.0 / len(tasks)), size=rounds).astype(float)
            boot = _macro_reward(C, S, N, G, aggregation)
            boot = boot[~np.isnan(boot)]
            level = 0.95
            mlo, mhi = (np.percentile(boot, [100 * (1 - level) / 2, 100 * (1 + level) / 2]) if len(boot)
                        else (float("nan"), float("nan")))
            row.update({"wb_reward_task_macro": macro_at[K_main], "wb_reward_task_macro_lo": float(mlo),
                        "wb_reward_task_macro_hi": float(mhi)})
        board.append(row)
        for K in Ks:
            by_k.append({"model": model, "K": K, "wb_reward_mix": mix(mine, K),
                         **({"wb_reward_task_macro": macro_at[K]} if macro_at else {}),
                         **{f"vs[{b}]": wb_reward([g for g in mine if g["baseline"] == b], K) for b in names}})
    return board, by_k


def group_rewards(games: Sequence[dict], task_groups_by_id: dict[str, list[str]], K: float,
                  baselines: Sequence[str] | None = None, aggregation: str = "upstream") -> list[dict]:
    """Per model and task group: the WB-Reward mixture over baselines on the tasks of that group
    (WildBench's mixture_of_rewards.<group>; a missing baseline counts 0 with ``aggregation="upstream"``)."""
    _check_aggregation(aggregation)
    rows = []
    for model in dict.fromkeys(g["model"] for g in games):
        mine = [g for g in games if g["model"] == model]
        names = list(baselines) if baselines is not None else list(dict.fromkeys(g["baseline"] for g in mine))
        for group in GROUPS:
            sub = [g for g in mine if group in task_groups_by_id[g["task"]]]
            if sub:
                rows.append({"model": model, "group": group, "wb_reward_mix": reward_mixture(
                    {b: wb_reward([g for g in sub if g["baseline"] == b], K) for b in names}, names, aggregation)})
    return rows


def diverging_limits(*tables: Any) -> tuple[float, float, bool]:
    """(vmin, vmax, no_signal) for a diverging colour map centred at 0 over the finite values of ``tables``:
    symmetric limits +-max|value|, never degenerate (+-1 when every value is 0 or missing); ``no_signal``
    is True when there is no finite non-zero value (all zero or all missing)."""
    vals = np.concatenate([np.asarray(t, dtype=float).ravel() for t in tables]) if tables else np.zeros(0)
    vals = vals[np.isfinite(vals)]
    top = float(np.abs(vals).max()) if len(vals) else 0.0
    return (-top, top, False) if top > 0 else (-1.0, 1.0, True)


# --------------------------------------------------------------------------- computed findings
def findings(board: Sequence[dict], score_fail: float, reward_fail: float, tie_share: float | None,
             top_score_share: float | None, position: dict[str, Any], aggregation: str | None = None) -> dict[str, Any]:
    """Finding, signal, detail sentences and the headline ranking, computed from the run (no fixed prose).

    ``board``: rows with model, wb_score, wb_score_lo, wb_score_hi. The ranking is withheld ("n/a: judge
    degenerate") when the judge fails the reliability checks; a best model whose interval overlaps the
    runner-up's is reported as a tie with it.
    """
    from .stats import judge_reliability, pct
    ok, reason = judge_reliability(tie_share=tie_share, top_score_share=top_score_share,
                                   parse_failure_rate=max(score_fail, reward_fail))
    rows = sorted([r for r in board if r.get("wb_score") is not None and r["wb_score"] == r["wb_score"]],
                  key=lambda r: (-r["wb_score"], str(r["model"])))
    details = [f"WB-Score parse failures {pct(score_fail)}, WB-Reward parse failures {pct(reward_fail)}; "
               f"ties {pct(tie_share)} of pairwise verdicts; the most common score covers {pct(top_score_share)} of scores."]
    if position.get("pairs"):
        details.append(f"Of {position['pairs']} games judged in both orders, {pct(position.get('consistent_rate'))} gave "
                       f"the same outcome; in {pct(position.get('same_slot_rate'))} the same slot won both times.")
    if not ok:
        best, signal = f"n/a: judge degenerate ({reason})", "judge degenerate: no ranking"
        finding = f"No ranking: the judge is degenerate ({reason})."
    elif not rows:
        best, signal, finding = "n/a: no valid judgement", "no valid judgement", "No model received a valid score."
    else:
        top = rows[0]
        tied = [r["model"] for r in rows[1:] if r.get("wb_score_hi") is not None and top.get("wb_score_lo") is not None
                and r["wb_score_hi"] >= top["wb_score_lo"]]
        best = top["model"] if not tied else f"{top['model']} (tied within CIs with {', '.join(tied)})"
        signal = "ranking" if not tied else "top not separable"
        finding = (f"Best by WB-Score: {top['model']} at {top['wb_score']:.1f} "
                   f"[{top.get('wb_score_lo', float('nan')):.1f}, {top.get('wb_score_hi', float('nan')):.1f}]"
                   + (f", not separable from {', '.join(tied)}." if tied else ", ahead of every other model's interval."))
    pairs = [(r["wb_reward_task_macro"], r["wb_reward_mix"]) for r in board
             if r.get("wb_reward_task_macro") is not None and r.get("wb_reward_mix") is not None
             and r["wb_reward_task_macro"] == r["wb_reward_task_macro"] and r["wb_reward_mix"] == r["wb_reward_mix"]]
    if pairs:
        gap = max(abs(a - b) for a, b in pairs)
        details.append(f"WB-Reward task macro and plain mixture differ by up to {gap:.1f} points over {len(pairs)} "
                       f"model(s) ({aggregation or 'upstream'} treatment of missing task groups and baselines).")
    details.append(f"Reliability: {reason}.")
    return {"finding": finding, "signal": signal, "findings": details, "best_by_wb_score": best, "judge_reliable": ok}
