"""Culture-symbol scoring: P(culture | n-gram) from the model's own log-probs of the sentence
'{topic reference} {n-gram}. My neighbor is {nationality}', softmaxed over the cultures.

The paper's score is the sentence's average token log-prob (``sentence_mean``). Every culture's sentence shares
the part before the nationality, so it is computed in two pieces that add up exactly: the shared part once per
n-gram (``LogProbScorer.score``, batched) and the nationality tails together on that part's key/value cache
(``choice_logprobs``); tests/test_culturegen.py checks the pieces against scoring each whole sentence.
``culture_logprob`` keeps only the tail: log p(nationality | sentence so far). With ``calibrate`` each culture's
score in the topic's culture-agnostic sentence is subtracted first (the paper does so for Mistral-7B).
An n-gram is a symbol of culture c when P(c | n-gram) > 1/N over the N cultures scored.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..core.stats import chance_verdict, wilson_interval
from ..core.store import stable_id
from .data import Culture, Topic
from .prompts import culture_tail, reference_sentence

MEASURES = ("sentence_mean", "culture_logprob")
SYMBOL_COLUMNS = ["gen_id", "nationality", "region", "topic", "gender", "phrase", "candidate", "p_culture", "symbol"]
GENERIC = None  # the n-gram of a topic's culture-agnostic calibration sentence
CALIBRATION_RULES = ("paper", "always", "never")


def calibrates(model: str, rule: str = "paper") -> bool:
    """Whether ``model``'s scores are calibrated (the culture's score in the topic's culture-agnostic sentence
    subtracted). ``paper``: as the paper, for Mistral models only (it calibrates Mistral-7B, not Llama-2-13B);
    ``always`` / ``never``: every model or none (the validity check shows both variants for the run's model)."""
    if rule not in CALIBRATION_RULES:
        raise ValueError(f"calibrate must be one of {', '.join(CALIBRATION_RULES)}, not {rule!r}")
    return rule == "always" or (rule == "paper" and "mistral" in str(model).lower())


def start_text(tokenizer) -> str:
    """What every scored sentence is conditioned on: the tokenizer's BOS text (EOS where it has none)."""
    return tokenizer.bos_token or tokenizer.eos_token or ""


def score_items(
    topics: Sequence[Topic], ngrams_by_topic: dict[str, Sequence[str]], with_generic: bool = True
) -> list[dict]:
    """One item per (topic, n-gram) to score, plus each topic's generic sentence (for calibration and the prior)."""
    items = []
    for t in topics:
        grams = [GENERIC] if with_generic else []
        grams += list(dict.fromkeys(ngrams_by_topic.get(t.key, ())))
        for g in grams:
            items.append({"id": stable_id("culturegen-score", t.key, g), "topic": t.key, "ngram": g, "_topic": t})
    return list({it["id"]: it for it in items}.values())


def scores_store_name(model: str, cultures: Sequence[Culture]) -> str:
    return "scores-" + stable_id(model, [c.nationality for c in cultures], "v1", length=10)


def splits_cleanly(tokenizer, start: str, head: str, tails: Sequence[str]) -> bool:
    """Whether scoring in two pieces sees the same tokens as the whole sentence (BPE at a word boundary does;
    some SentencePiece tokenizers add a space marker to a piece tokenised on its own)."""
    from ..core import hf

    piece = lambda t: tokenizer(t, add_special_tokens=False).input_ids  # noqa: E731
    head_alone = hf.encode(tokenizer, start) + piece(head)
    if hf.encode(tokenizer, start + head) != head_alone:
        return False
    return all(hf.encode(tokenizer, start + head + t) == head_alone + piece(t) for t in tails)


def _score_process(scorer, tails: Sequence[str], speed: dict):
    """The scoring stage's batch function on a loaded ``scorer`` (``speed`` collects its timings)."""
    from ..core.logprobs import choice_logprobs
    from .generate import topic_of

    start = start_text(scorer.tokenizer)
    tails = list(tails)
    tail_n = [len(scorer.tokenizer(t, add_special_tokens=False).input_ids) for t in tails]

    def process(batch: list[dict]) -> list[dict]:
        t0 = time.perf_counter()
        heads = [reference_sentence(topic_of(it["_topic"]), it["ngram"]) for it in batch]
        pre = scorer.score([(start, h) for h in heads], desc="shared parts")
        clean = [splits_cleanly(scorer.tokenizer, start, h, tails) for h in heads]
        two = [h for h, ok in zip(heads, clean) if ok]
        tail_rows = iter(choice_logprobs(scorer, [start + h for h in two], tails, desc="culture tails") if two else [])
        out = []
        for it, h, p, ok in zip(batch, heads, pre, clean):
            if ok:
                t_sum, t_n = next(tail_rows), tail_n
            else:
                whole = scorer.score([(start, h + t) for t in tails], desc="whole sentences")
                t_sum, t_n = [w.sum - p.sum for w in whole], [w.n_tokens - p.n_tokens for w in whole]
                speed["whole_sentence_items"] += 1
            out.append(
                {
                    "id": it["id"],
                    "topic": it["topic"],
                    "ngram": it["ngram"],
                    "head": h,
                    "head_sum": p.sum,
                    "head_n": p.n_tokens,
                    "tail_sum": list(t_sum),
                    "tail_n": list(t_n),
                }
            )
        speed["seconds"] += time.perf_counter() - t0
        speed["sentences"] += len(batch) * len(tails)
        return out

    return process


def score_worker(model: str, tails: Sequence[str], batch_size: int = 32):
    """The scoring stage's batch function with the model's LogProbScorer built here (``score_spec`` names this
    factory; a Ray replica calls it once). ``tails``: ``culture_tail`` of each culture, in order."""
    from ..core.logprobs import LogProbScorer

    speed = {"sentences": 0, "seconds": 0.0, "whole_sentence_items": 0}
    process = _score_process(LogProbScorer(model, batch_size=batch_size), tails, speed)
    process.speed = speed
    return process


def score_spec(model: str, cultures: Sequence[Culture], batch_size: int = 32):
    """The scoring stage as a WorkerSpec (plain data: a replica loads the model as ``LogProbScorer(model,
    batch_size=batch_size)``, the notebook's scorer)."""
    from ..core.executor import WorkerSpec

    return WorkerSpec(
        score_worker, {"model": model, "tails": [culture_tail(c) for c in cultures], "batch_size": batch_size}
    )


def score_stage(
    run,
    scorer,
    items: Sequence[dict],
    cultures: Sequence[Culture],
    model: str,
    batch_size: int = 32,
    store=None,
    executor=None,
) -> tuple[dict[tuple, dict], dict]:
    """Score every item for every culture (resumable); returns ({(topic, ngram): record}, speed of the fresh work).

    Where the two pieces would not tokenise like the whole sentence, that item's sentences are scored whole
    (``LogProbScorer.score``, one per culture; the tail is then the whole minus the shared part).
    ``scorer``: a LogProbScorer (scored in this process), or a ``score_spec`` run through ``executor``
    (``helpers.core.executor``: local, or Ray replicas that each load the model once; same records). On Ray the
    seconds are the driver's wall time (start-up included) and ``whole_sentence_items`` is None.
    """
    from ..core.executor import WorkerSpec, as_executor, run_stage_on

    executor = as_executor(executor)
    speed = {"sentences": 0, "seconds": 0.0, "whole_sentence_items": 0}
    if store is None:  # the notebook passes a store keyed by its stage graph (model, cultures, scorer settings)
        store = run.store(scores_store_name(model, cultures))
    todo = [it for it in items if it["id"] not in store]
    if not isinstance(scorer, WorkerSpec):
        work = _score_process(scorer, [culture_tail(c) for c in cultures], speed)
    elif todo and executor.kind == "local":
        work = scorer.build()
        speed = work.speed
    else:
        work = scorer
    plain = [{**it, "_topic": dataclasses.asdict(it["_topic"])} for it in items]
    records = run_stage_on(executor, store, plain, work, batch_size=batch_size, desc="association scores")
    if todo and executor.kind == "ray":
        speed = {
            "sentences": len(todo) * len(cultures),
            "seconds": float(executor.last.get("seconds") or 0.0),
            "whole_sentence_items": None,
        }
    speed["sentences_per_s"] = speed["sentences"] / speed["seconds"] if speed["seconds"] else None
    return {(r["topic"], r["ngram"]): r for r in records}, speed


def measure(record: dict, how: str = "sentence_mean") -> np.ndarray:
    """One score per culture from a scored record (see the module docstring)."""
    tail_sum, tail_n = np.asarray(record["tail_sum"], float), np.asarray(record["tail_n"], float)
    if how == "sentence_mean":
        return (record["head_sum"] + tail_sum) / (record["head_n"] + tail_n)
    if how == "culture_logprob":
        return tail_sum
    raise ValueError(f"score_measure must be one of {', '.join(MEASURES)}, not {how!r}")


def association(scores: np.ndarray, baseline: np.ndarray | None = None) -> np.ndarray:
    """P(culture | n-gram): softmax over cultures of the (calibrated) scores."""
    from scipy.special import softmax

    x = np.asarray(scores, float) - (np.asarray(baseline, float) if baseline is not None else 0.0)
    return softmax(x)


class Associations:
    """P(culture | topic, n-gram) for scored records, with the chosen measure and calibration."""

    def __init__(
        self,
        records: dict[tuple, dict],
        cultures: Sequence[Culture],
        how: str = "sentence_mean",
        calibrate: bool = True,
    ):
        self.records, self.how, self.calibrate = records, how, calibrate
        self.names = [c.nationality for c in cultures]
        self.index = {n: i for i, n in enumerate(self.names)}

    def raw(self, topic: str, ngram: str | None) -> np.ndarray | None:
        rec = self.records.get((topic, ngram))
        return None if rec is None else measure(rec, self.how)

    def probs(self, topic: str, ngram: str) -> np.ndarray | None:
        raw = self.raw(topic, ngram)
        if raw is None:
            return None
        base = self.raw(topic, GENERIC) if self.calibrate else None
        if self.calibrate and base is None:
            raise KeyError(f"calibration needs the generic sentence of topic {topic!r} scored")
        return association(raw, base)

    def is_symbol(self, topic: str, ngram: str, nationality: str) -> bool | None:
        p = self.probs(topic, ngram)
        return None if p is None else bool(p[self.index[nationality]] > 1.0 / len(self.names))

    def prior(self) -> dict[str, float]:
        """Each culture's mean log-prob as the tail of the topics' generic sentences: the model's prior for the name."""
        rows = [np.asarray(r["tail_sum"], float) for (t, g), r in self.records.items() if g is GENERIC]
        mean = np.mean(rows, axis=0) if rows else np.full(len(self.names), np.nan)
        return dict(zip(self.names, map(float, mean)))


def select_ngrams(rows: Sequence[dict], n_per_topic: int = 0) -> dict[str, list[str]]:
    """The candidate n-grams of culture-conditioned generations, per topic; the ``n_per_topic`` most frequent (0: all)."""
    counts: dict[str, Counter] = {}
    for r in rows:
        if not r["nationality"]:
            continue
        c = counts.setdefault(r["topic"], Counter())
        for grams in r["ngrams"]:
            c.update(grams)
    return {
        t: [g for g, _ in (c.most_common(n_per_topic) if n_per_topic else c.most_common())] for t, c in counts.items()
    }


def plan_scoring(rows: Sequence[dict], pairs: Sequence[dict], n_per_topic: int = 0) -> list[dict]:
    """Everything to score: the candidate n-grams per topic, the known pairs' symbols, each topic's generic sentence."""
    from .data import topic as topic_of

    grams = select_ngrams(rows, n_per_topic)
    for p in pairs:
        grams.setdefault(p["topic"], []).append(p["symbol"])
    return score_items([topic_of(t) for t in grams], grams)


def choose_symbols(rows: Sequence[dict], assoc: Associations) -> list[dict]:
    """The paper's choice: per kept phrase, the scored n-gram most likely for the generation's own culture, and
    whether it is a symbol of that culture (P > 1/N). Phrases with no scored n-gram are returned unscored."""
    out = []
    for r in rows:
        if not r["nationality"] or r["nationality"] not in assoc.index:
            continue
        i = assoc.index[r["nationality"]]
        for phrase, grams in zip(r["phrases"], r["ngrams"]):
            scored = [(g, assoc.raw(r["topic"], g)) for g in grams]
            scored = [(g, s) for g, s in scored if s is not None]
            row = {
                "gen_id": r["gen_id"],
                "nationality": r["nationality"],
                "region": r["region"],
                "topic": r["topic"],
                "gender": r["gender"],
                "phrase": phrase,
                "candidate": None,
                "p_culture": None,
                "symbol": None,
            }
            if scored:
                g = max(scored, key=lambda gs: gs[1][i])[0]
                p = assoc.probs(r["topic"], g)
                row.update(candidate=g, p_culture=float(p[i]), symbol=bool(p[i] > 1.0 / len(assoc.names)))
            out.append(row)
    return out


def validity_items(pairs: Sequence[dict], cultures: Sequence[Culture]) -> tuple[list[dict], int]:
    """The known pairs whose culture is among those scored (and how many were left out)."""
    names = {c.nationality for c in cultures}
    kept = [p for p in pairs if p["nationality"] in names]
    return kept, len(pairs) - len(kept)


def validity(pairs: Sequence[dict], assoc: Associations) -> dict:
    """How the scoring method does on known pairs: precision and recall of 'symbol' (P > 1/N), top-1 accuracy.

    Top-1 counts a pair only when its culture is strictly first: a tie at the top is not a hit, whatever the
    order of the cultures, and is counted (``top1_ties``; per row ``top_tied``). ``top_culture`` names the
    first of the tied cultures by name."""
    n_cult = len(assoc.names)
    flagged = hits = top1 = top1_ties = 0
    rows = []
    for p in pairs:
        probs = assoc.probs(p["topic"], p["symbol"])
        i = assoc.index[p["nationality"]]
        flags = probs > 1.0 / n_cult
        flagged += int(flags.sum())
        hits += int(flags[i])
        at_top = np.flatnonzero(probs == np.nanmax(probs)) if np.isfinite(probs).any() else np.zeros(0, dtype=int)
        top1 += int(len(at_top) == 1 and at_top[0] == i)
        tied = bool(len(at_top) > 1 and i in at_top)
        top1_ties += int(tied)
        rows.append(
            {
                "topic": p["topic"],
                "symbol": p["symbol"],
                "nationality": p["nationality"],
                "p_true": float(probs[i]),
                "rank_true": int((probs > probs[i]).sum()) + 1,
                "top_tied": tied,
                "top_culture": min((assoc.names[k] for k in at_top), default=None),
                "flagged": int(flags.sum()),
                "hit": bool(flags[i]),
            }
        )
    n = len(pairs)
    return {
        "n_pairs": n,
        "n_cultures": n_cult,
        "measure": assoc.how,
        "calibrated": assoc.calibrate,
        "precision": hits / flagged if flagged else None,
        "precision_ci": list(wilson_interval(hits, flagged)),
        "recall": hits / n if n else None,
        "recall_ci": list(wilson_interval(hits, n)),
        "top1": top1 / n if n else None,
        "top1_ci": list(wilson_interval(top1, n)),
        "top1_verdict": chance_verdict(top1, n, chance=1.0 / n_cult, what="pairs ranked their culture first"),
        "top1_ties": top1_ties,
        "precision_chance": 1.0 / n_cult,
        "flagged_per_pair": flagged / n if n else None,
        "rows": rows,
    }
