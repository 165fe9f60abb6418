"""A CulturalBench-style test (Chiu et al. 2024, kellycyy/CulturalBench): Easy = 4-way multiple choice,
Hard = every option judged true or false; per-region accuracy with Wilson intervals against chance.

    easy, hard = load_culturalbench("builtin:culturalbench_offline.jsonl")     # our offline set (Easy schema)
    easy, hard = load_culturalbench("kellycyy/CulturalBench")                  # the hub set (both configs)

Local models are scored by log-prob (``cloze``: each option's mean token log-prob after the question;
``letter``: the option letter after the lettered question); endpoint models answer in JSON, parsed with
helpers.core.textparse (unreadable replies are counted and scored wrong). Regions are Culture-Gen's region groups:
CulturalBench's 45 countries and regions by ``culturalbench_regions()`` (all mapped), any other country by
Culture-Gen's nationality list ("unmapped" when neither knows it). Rows that cannot be used (an empty or invalid
answer, a missing field, a repeated id) are skipped and counted; questions are keyed by their id
(``question_idx``), never by their text. The hub set is read at a pinned revision (``HUB_REVISION``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from ..core.stats import wilson_interval
from ..core.textparse import first_json_object
from .cbdata import CHANCE, LETTERS, load_culturalbench, normalize_hard  # noqa: F401 (notebooks use them through here)

# ----------------------------------------------------------------------------------- prompts
TF_SUFFIX = "\nIs this answer true or false?"


def cloze_prompt(question: str) -> str:
    return f"Question: {question}\nAnswer:"


def mc_text(q: dict) -> str:
    opts = "\n".join(f"{l}. {o}" for l, o in zip(LETTERS, q["options"]))
    return f"Question: {q['question']}\n{opts}"


def endpoint_messages(q: dict, hard: bool) -> list[dict]:
    if hard:
        ask = (
            f"{cloze_prompt(q['question'])} {q['option']}{TF_SUFFIX}"
            + '\nReply only with JSON: {"answer": true} or {"answer": false}.'
        )
    else:
        ask = mc_text(q) + '\nReply only with JSON: {"answer": "<letter>"} where <letter> is A, B, C or D.'
    return [{"role": "user", "content": ask}]


def parse_letter(text: str | None) -> int | None:
    obj = first_json_object(text)
    cand = str(obj.get("answer", "")) if isinstance(obj, dict) else (text or "")
    m = re.search(r"\b([ABCD])\b", cand.strip().upper() if isinstance(obj, dict) else cand)
    return LETTERS.index(m.group(1)) if m else None


def parse_truth(text: str | None) -> bool | None:
    obj = first_json_object(text)
    if isinstance(obj, dict) and isinstance(obj.get("answer"), (bool, str)):
        v = obj["answer"]
        if isinstance(v, bool):
            return v
        text = v
    m = re.search(r"\b(true|false)\b", (text or "").lower())
    return None if not m else m.group(1) == "true"


# ----------------------------------------------------------------------------------- scoring
def _ntok(tokenizer, text: str) -> int:
    return max(1, len(tokenizer(text, add_special_tokens=False).input_ids))


def score_local(scorer, easy: Sequence[dict], hard: Sequence[dict], mode: str = "cloze") -> list[dict]:
    """Log-prob scores of both forms, one record per question text (``choice_logprobs``: the prompt once, options on its cache).

    The prompt is 'Question: q / Answer:'. Easy, cloze: each option's mean token log-prob as the answer. Easy, letter:
    the letter after the lettered question. Hard: an option is judged true when '{option} / Is this answer true or
    false? True' is likelier than the same ending in False (the shared part cancels: a pure True-vs-False comparison).
    Returns [{"id": question id (qid), "cloze": {option: mean}, "letter": [4 sums], "tf": {option: margin}}]: keyed
    by the question's id, so two questions with the same text never share a record.
    """
    from ..core.logprobs import choice_logprobs

    if mode not in ("cloze", "letter"):
        raise ValueError(f"cb_local_scoring must be cloze or letter, not {mode!r}")
    by_q: dict[str, dict] = {}
    for q in easy:
        by_q.setdefault(q["qid"], {"easy": None, "hard": [], "question": q["question"]})["easy"] = q
    for h in hard:
        by_q.setdefault(h["qid"], {"easy": None, "hard": [], "question": h["question"]})["hard"].append(h["option"])
    out = []
    for qid, parts in by_q.items():
        question = parts["question"]
        cloze = [f" {o}" for o in parts["easy"]["options"]] if parts["easy"] and mode == "cloze" else []
        tf = [f" {o}{TF_SUFFIX} {v}" for o in dict.fromkeys(parts["hard"]) for v in ("True", "False")]
        rec = {"id": qid, "cloze": {}, "letter": None, "tf": {}}
        if cloze or tf:
            sums = choice_logprobs(scorer, [cloze_prompt(question)], cloze + tf, desc="CulturalBench")[0]
            rec["cloze"] = {c[1:]: s_ / _ntok(scorer.tokenizer, c) for c, s_ in zip(cloze, sums)}
            tf_sums = sums[len(cloze) :]
            rec["tf"] = {o: tf_sums[2 * k] - tf_sums[2 * k + 1] for k, o in enumerate(dict.fromkeys(parts["hard"]))}
        if parts["easy"] and mode == "letter":
            rec["letter"] = choice_logprobs(scorer, [mc_text(parts["easy"]) + "\nAnswer:"], [f" {l}" for l in LETTERS])[
                0
            ]
        out.append(rec)
    return out


def local_predictions(
    records: Sequence[dict], easy: Sequence[dict], hard: Sequence[dict], mode: str
) -> tuple[list, list]:
    """(Easy predictions, Hard predictions) from the per-question log-prob records of ``score_local``."""
    by = {r["id"]: r for r in records}
    e_preds = []
    for q in easy:
        r = by[q["qid"]]
        scores = [r["cloze"][o] for o in q["options"]] if mode == "cloze" else r["letter"]
        e_preds.append({"qid": q["qid"], "pred": int(max(range(4), key=lambda k: scores[k])), "scores": scores})
    h_preds = [
        {"id": h["id"], "pred": by[h["qid"]]["tf"][h["option"]] > 0, "margin": by[h["qid"]]["tf"][h["option"]]}
        for h in hard
    ]
    return e_preds, h_preds


def score_endpoint(judge, rows: Sequence[dict], hard: bool) -> list[dict]:
    """The endpoint's answers, parsed; a failed call (``judge.last_failed``) is marked RETRY: returned as
    unparsed now, never stored, asked again by the next run."""
    from ..core.store import RETRY

    replies = judge.complete([endpoint_messages(r, hard) for r in rows], desc="CulturalBench")
    failed = list(getattr(judge, "last_failed", None) or [False] * len(replies))
    parse = parse_truth if hard else parse_letter
    key = "id" if hard else "qid"
    return [
        {key: r[key], "pred": None if f else parse(t), "reply": t, **({RETRY: True} if f else {})}
        for r, t, f in zip(rows, replies, failed)
    ]


# ----------------------------------------------------------------------------------- accuracy
MAX_FAILED_SHARE = (
    0.1  # a form whose endpoint calls failed above this share gets no accuracy (a failure counts as wrong)
)


def not_measured(cb: dict, form: str, max_share: float = MAX_FAILED_SHARE) -> str | None:
    """Why ``form`` ("easy" or "hard") of an evaluation gives no accuracy, or None when it does: more than
    ``max_share`` of its endpoint calls failed (HTTP errors, no reply, no choices), so the accuracy would
    measure the endpoint, not the model."""
    failed, calls = (cb.get("failed_calls") or {}).get(form, 0), (cb.get("calls") or {}).get(form, 0)
    if calls and failed / calls > max_share:
        return (
            f"not measured: {failed}/{calls} endpoint calls failed ({failed / calls:.0%}, above the "
            f"{max_share:.0%} threshold)"
        )
    return None


def measured(cb: dict, form: str, value):
    """``value`` (an accuracy of ``form``) as a float, or None when ``not_measured`` says the form is not."""
    return None if not_measured(cb, form) or value is None else float(value)


def accuracy_table(rows: Sequence[dict], by: str = "region") -> pd.DataFrame:
    """Accuracy per group with Wilson intervals; rows carry ``correct`` (unparsed replies count as wrong)."""
    df = pd.DataFrame(rows)
    out = []
    for name, g in [("all", df), *df.groupby(by, sort=True)]:
        k, n = int(g.correct.sum()), len(g)
        lo, hi = wilson_interval(k, n)
        out.append({by: name, "k": k, "n": n, "accuracy": k / n if n else None, "low": lo, "high": hi})
    return pd.DataFrame(out)


def join_easy(questions: Sequence[dict], preds: Sequence[dict]) -> list[dict]:
    by = {p["qid"]: p for p in preds}
    return [
        {
            **q,
            "pred": by[q["qid"]]["pred"],
            "correct": by[q["qid"]]["pred"] == q["answer"],
            "parsed": by[q["qid"]]["pred"] is not None,
        }
        for q in questions
    ]


def join_hard(items: Sequence[dict], preds: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """(item rows, question rows): a question is right when all of its true/false items are."""
    by = {p["id"]: p for p in preds}
    rows = [
        {
            **it,
            "pred": by[it["id"]]["pred"],
            "correct": by[it["id"]]["pred"] == it["label"],
            "parsed": by[it["id"]]["pred"] is not None,
        }
        for it in items
    ]
    qs: dict[str, dict] = {}
    for r in rows:
        q = qs.setdefault(r["qid"], {"qid": r["qid"], "country": r["country"], "region": r["region"], "correct": True})
        q["correct"] = q["correct"] and bool(r["correct"])
    return rows, list(qs.values())


def cache_inputs(
    easy: Sequence[dict], hard: Sequence[dict], name: str, scorer=None, judge=None, mode: str = "cloze"
) -> dict:
    """What the stored answers depend on: the model that answers (with its endpoint, as the judge cache names it),
    how it is asked (endpoint, cloze or letter) with the settings that change its answers, and the questions."""
    from ..core.judge import judge_identity
    from ..core.store import stable_id

    if judge is not None:
        how = {
            "how": "endpoint",
            "max_tokens": getattr(judge, "max_tokens", None),
            "temperature": getattr(judge, "temperature", None),
        }
    else:
        how = {
            "how": mode,
            "truncation": [getattr(scorer, "max_prompt_tokens", None), getattr(scorer, "max_response_tokens", None)],
        }
    return {
        "keyed_by": "qid",
        "answerer": judge_identity(name, (getattr(judge, "base_url", "") or "") if judge is not None else ""),
        **how,
        "questions": stable_id(
            [[q["qid"], q["question"], q["options"]] for q in easy],
            [[h["id"], h["question"], h["option"]] for h in hard],
            length=16,
        ),
    }


def evaluate(
    run,
    easy: Sequence[dict],
    hard: Sequence[dict],
    name: str,
    scorer=None,
    judge=None,
    mode: str = "cloze",
    stages=None,
) -> dict:
    """Score both forms (resumable stages); returns the tables.

    The stored answers are keyed by ``cache_inputs`` (the answering model and its endpoint, how it is asked, the
    questions): a new endpoint or answering model recomputes them. ``stages``: the notebook's bound stage graph
    (``helpers.culturegen.stages``), whose ``culturalbench`` stage adds the notebook's parameters to the key.
    """
    from ..core.store import RETRY, run_stage, stable_id

    if (scorer is None) == (judge is None):
        raise ValueError("give a local scorer or an endpoint judge, not both")
    inputs = cache_inputs(easy, hard, name, scorer, judge, mode)
    how = inputs["how"]

    def store(part: str, key: str = "id"):
        if stages is not None:
            return stages.store("culturalbench", key=key, part=part, **inputs)
        return run.store(f"cb-{part}-{stable_id(inputs, length=10)}", key=key)

    if judge is not None:
        e_preds = run_stage(
            store("easy", key="qid"),
            list(easy),
            lambda batch: score_endpoint(judge, batch, hard=False),
            batch_size=64,
            desc="CulturalBench Easy",
        )
        h_preds = run_stage(
            store("hard"),
            list(hard),
            lambda batch: score_endpoint(judge, batch, hard=True),
            batch_size=128,
            desc="CulturalBench Hard",
        )
    else:
        questions = [{"id": t} for t in dict.fromkeys([q["qid"] for q in easy] + [h["qid"] for h in hard])]
        e_by = {q["qid"]: q for q in easy}
        h_by: dict[str, list] = {}
        for h in hard:
            h_by.setdefault(h["qid"], []).append(h)

        def process(batch):
            return score_local(
                scorer,
                [e_by[b["id"]] for b in batch if b["id"] in e_by],
                [h for b in batch for h in h_by.get(b["id"], [])],
                mode,
            )

        recs = run_stage(store("local"), questions, process, batch_size=16, desc="CulturalBench")
        e_preds, h_preds = local_predictions(recs, easy, hard, mode)
    easy_rows = join_easy(easy, e_preds)
    hard_rows, hard_questions = join_hard(hard, h_preds)
    failed = {
        "easy": sum(bool(p.get(RETRY)) for p in e_preds) if judge is not None else 0,
        "hard": sum(bool(p.get(RETRY)) for p in h_preds) if judge is not None else 0,
    }
    return {
        "how": how,
        "failed_calls": failed,
        "calls": {"easy": len(e_preds), "hard": len(h_preds)},
        "easy_rows": easy_rows,
        "hard_rows": hard_rows,
        "hard_questions": hard_questions,
        "easy": accuracy_table(easy_rows),
        "hard_item": accuracy_table(hard_rows),
        "hard_question": accuracy_table(hard_questions),
        "unparsed": sum(not r["parsed"] for r in easy_rows) + sum(not r["parsed"] for r in hard_rows),
        "predicted_true_share": sum(bool(r["pred"]) for r in hard_rows) / len(hard_rows) if hard_rows else None,
    }
