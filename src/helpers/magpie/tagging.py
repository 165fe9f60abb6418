"""Tags of a query (quality, difficulty, category) by an LLM tagger: prompts, robust parsing, log-prob mode,
agreement with a labelled set; language and guard parsing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..core import hf
from ..core.textparse import first_json_object

TASK_CATEGORIES = [
    "Information seeking",
    "Reasoning",
    "Planning",
    "Editing",
    "Coding & Debugging",
    "Math",
    "Role playing",
    "Data analysis",
    "Creative writing",
    "Advice seeking",
    "Brainstorming",
    "Others",
]
QUALITY_LEVELS = ["very poor", "poor", "average", "good", "excellent"]
DIFFICULTY_LEVELS = ["very easy", "easy", "medium", "hard", "very hard"]

# --------------------------------------------------------------------------- tagging
TAG_TASKS = ("quality", "difficulty", "category")
TAG_KEYS = {"quality": "input_quality", "difficulty": "difficulty", "category": "task_category"}
ORDINAL_TASKS = ("quality", "difficulty")  # labels in increasing order: an expected level is meaningful
TAG_LABELS = {"quality": QUALITY_LEVELS, "difficulty": DIFFICULTY_LEVELS, "category": TASK_CATEGORIES}

_TAG_INSTRUCTIONS = {
    "quality": (
        "Rate how clear, specific and well-formed the user query below is, as one of: {labels}.\n"
        'Answer in JSON: {{"input_quality": "<level>", "explanation": "<one sentence>"}}'
    ),
    "difficulty": (
        "Rate how hard it is to answer the user query below well, as one of: {labels}.\n"
        'Answer in JSON: {{"difficulty": "<level>", "intent": "<what the user wants>", '
        '"knowledge": "<what one needs to know>"}}'
    ),
    "category": (
        "Classify the user query below into its main task category, one of: {labels}.\n"
        'Answer in JSON: {{"task_category": "<category>", "other_task_category": ["<category>", ...]}}'
    ),
}


def tag_messages(task: str, instruction: str) -> list[dict]:
    """Chat messages asking a tagger for one tag (quality, difficulty or category) as JSON."""
    if task not in _TAG_INSTRUCTIONS:
        raise ValueError(f"unknown tag task {task!r}: use {', '.join(TAG_TASKS)}")
    text = _TAG_INSTRUCTIONS[task].format(labels=", ".join(TAG_LABELS[task]))
    return [{"role": "user", "content": f"{text}\n\n## User query\n{instruction}"}]


def tag_prefill(task: str, label_first: bool = True) -> str:
    """Start of the tagger's answer: ``{`` (the reference) or ``{"key": "`` so the label comes first."""
    return '{"' + TAG_KEYS[task] + '": "' if label_first else "{"


def normalize_label(value: Any, labels: Sequence[str]) -> str | None:
    """Map free text to one allowed label (case, dashes, extra words tolerated; longest match wins)."""
    if not isinstance(value, str):
        return None
    norm = re.sub(r"[\s_\-]+", " ", value.strip().lower()).strip(" .\"'*")
    norm = norm.replace(" and ", " & ")
    by_norm = {lab.lower(): lab for lab in labels}
    if norm in by_norm:
        return by_norm[norm]
    hits = [lab for key, lab in by_norm.items() if re.search(r"(?<![a-z])" + re.escape(key) + r"(?![a-z])", norm)]
    if not hits:
        return None
    best = max(hits, key=len)
    # two different labels with neither inside the other (e.g. "poor or good"): ambiguous
    if any(h != best and h.lower() not in best.lower() for h in hits):
        return None
    return best


def parse_tag(task: str, text: str | None) -> dict | None:
    """The tag from a tagger's answer (prefill included), or None when no valid label is found.

    Accepts a JSON object anywhere in the text, truncated JSON (the label read with a regex) and
    labels with different case/spacing; anything else is a parse failure (None), never an exception.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    key, labels = TAG_KEYS[task], TAG_LABELS[task]
    obj = first_json_object(text) or {}
    raw = obj.get(key)
    if raw is None:  # other spellings of the key, or a truncated object
        for k in (key, "primary_tag", "quality", "input_quality", "difficulty", "category", "task_category"):
            m = re.search(r'"' + re.escape(k) + r'"\s*:\s*"([^"\n]*)', text)
            if m:
                raw = m.group(1)
                break
    label = normalize_label(raw, labels)
    if label is None:
        return None
    out: dict[str, Any] = {key: label}
    if task == "quality":
        out["quality_explanation"] = _str_or_none(obj.get("explanation"))
    elif task == "difficulty":
        out["intent"] = _str_or_none(obj.get("intent"))
        out["knowledge"] = _str_or_none(obj.get("knowledge"))
    else:
        others = obj.get("other_task_category") or obj.get("other_tags") or []
        others = others if isinstance(others, list) else [others]
        out["other_task_category"] = [x for x in (normalize_label(o, labels) for o in others) if x and x != label]
    return out


def _str_or_none(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def detect_language(text: str | None) -> str | None:
    """ISO 639-1 code from langdetect (seeded, so reruns agree), None for empty/undetectable text."""
    if not text or not text.strip():
        return None
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return detect(text).split("-")[0].lower()
    except LangDetectException:
        return None


def parse_guard(text: str | None) -> str | None:
    """A Llama-Guard-style verdict ("safe", "unsafe S1,S10") -> "safe" / "unsafe S1,S10", else None."""
    if not isinstance(text, str):
        return None
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    first = lines[0].lower()
    if first.startswith("safe"):
        return "safe"
    if first.startswith("unsafe"):
        cats = ",".join(re.findall(r"S\d+", " ".join(lines[1:]) or lines[0]))
        return f"unsafe {cats}".strip()
    return None


def tag_prompts(task: str, instructions: Sequence[str], tokenizer=None, label_first: bool = True) -> list:
    """Prompts for the tagger: raw strings with the answer prefilled when a local tokenizer is given,
    chat messages (no prefill) for an endpoint."""
    msgs = [tag_messages(task, q) for q in instructions]
    if tokenizer is None:
        return msgs
    return [hf.render(tokenizer, m) + tag_prefill(task, label_first) for m in msgs]


def tag_process(judge, tasks: Sequence[str], tokenizer=None, label_first: bool = True):
    """Tag each record with every task; unparseable answers become None tags and are counted per task.

    A record whose tagger call failed (endpoint error: ``judge.last_failed``) is not stored (``RETRY``): the
    next run asks again, and the failure is counted in ``tag_errors``, apart from the parse failures."""
    from ..core.store import RETRY

    def process(batch: list[dict]) -> list[dict]:
        recs = [{"id": it["id"], "tag_failures": [], "tag_errors": []} for it in batch]
        for task in tasks:
            prefill = tag_prefill(task, label_first) if tokenizer is not None else ""
            texts = judge.complete(
                tag_prompts(task, [it["instruction"] for it in batch], tokenizer, label_first), desc=f"tag {task}"
            )
            failed = list(getattr(judge, "last_failed", None) or [False] * len(texts))
            for rec, text, err in zip(recs, texts, failed):
                parsed = parse_tag(task, prefill + (text or ""))
                rec[f"raw_{task}"] = text
                if err:
                    rec["tag_errors"].append(task)
                    rec[RETRY] = True
                    parsed = {TAG_KEYS[task]: None}
                elif parsed is None:
                    rec["tag_failures"].append(task)
                    parsed = {TAG_KEYS[task]: None}
                rec.update(parsed)
        return recs

    return process


def logprob_tag_process(scorer, tasks: Sequence[str]):
    """Tag each record by likelihood: the tagger's chat template, the label-first prefill, then every allowed
    label scored as the continuation (``label"``); the most likely one is the tag. Never a parse failure:
    it measures which label the tagger prefers, not whether it can write JSON. The margin over the
    runner-up is kept as a confidence proxy; for the ordinal tags (quality, difficulty) ``score_<task>`` is the
    expected level (0 = lowest) under the softmax of the labels' log-probs, a finer reading of the same tagger
    that ranks records even when one label wins everywhere (the relative filter presets use it)."""
    from scipy.special import softmax

    from ..core.logprobs import choice_logprobs

    def process(batch: list[dict]) -> list[dict]:
        recs = [{"id": it["id"], "tag_failures": []} for it in batch]
        for task in tasks:
            labels = TAG_LABELS[task]
            raws = [
                hf.render(scorer.tokenizer, tag_messages(task, it["instruction"])) + tag_prefill(task, True)
                for it in batch
            ]
            sums = choice_logprobs(scorer, raws, [f'{lab}"' for lab in labels], desc=f"tag {task}")
            for rec, row in zip(recs, sums):
                order = sorted(range(len(labels)), key=lambda i: (-row[i], i))
                rec[TAG_KEYS[task]] = labels[order[0]]
                rec[f"margin_{task}"] = row[order[0]] - row[order[1]]
                if task in ORDINAL_TASKS:
                    rec[f"score_{task}"] = float(softmax(row) @ range(len(labels)))
        return recs

    return process


def tag_agreement(predicted: dict[str, dict], reference: Sequence[dict], tasks: Sequence[str]) -> list[dict]:
    """Exact agreement of the tagger with a labelled reference set, per task, with a Wilson CI and the
    rate of always answering the most common reference label (the baseline a useful tagger must beat).
    ``predicted``: id -> tag record (as ``tag_process``/``logprob_tag_process`` write them)."""
    from collections import Counter

    from ..core.stats import wilson_interval

    rows = []
    for task in tasks:
        key = TAG_KEYS[task]
        gold = [(r["id"], r[key]) for r in reference if r.get(key)]
        hits = sum(1 for rid, g in gold if (predicted.get(rid) or {}).get(key) == g)
        n = len(gold)
        lo, hi = wilson_interval(hits, n)
        majority = Counter(g for _, g in gold).most_common(1)[0][1] / n if n else None
        rows.append(
            {
                "task": task,
                "n": n,
                "agreement": hits / n if n else None,
                "ci_low": lo,
                "ci_high": hi,
                "majority_baseline": majority,
                "chance": 1 / len(TAG_LABELS[task]),
            }
        )
    return rows
