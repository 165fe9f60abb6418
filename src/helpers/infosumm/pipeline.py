"""The notebook's resumable stages: documents, candidate summaries, critic scores, filtering.

Every stage appends records with stable ids to a JSONL store in the run folder; ids hash every input that changes
the record (model, document, prompt format, sample index, sampling settings), so a rerun after a kill only computes
what is missing and a changed parameter never reuses a stale record.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from ..core.generation import Generator, Sampling
from ..core.store import run_stage, stable_id
from . import critics as cr
from .data import clean_summary, summary_prompt


def _cut_at_sentence(text: str) -> str:
    """Text up to its last sentence end (all of it when there is none)."""
    m = list(re.finditer(r"[.!?][\"')\]]?(?=\s|$)", text))
    return text[: m[-1].end()] if m else text


def documents_stage(
    run,
    gen: Generator,
    prefixes: Sequence[dict],
    n_documents: int,
    max_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
    min_words: int,
) -> tuple[list[dict], dict]:
    """``n_documents`` news-style documents: the teacher continues the prefixes (cycled when there are fewer).
    Returns the usable documents (at least ``min_words`` words) and counts of what was generated and dropped."""
    items = []
    for k in range(n_documents):
        p = prefixes[k % len(prefixes)]
        cfg = {
            "model": gen.model_name,
            "prefix": p["prefix"],
            "k": k // len(prefixes),
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": top_p,
            "seed": seed,
        }
        items.append({"id": stable_id("document", cfg), "prefix_id": p["id"], "prefix": p["prefix"], "k": cfg["k"]})

    def process(batch):
        outs = gen.generate(
            [it["prefix"] for it in batch],
            Sampling(temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed),
            seeds=[seed + 7919 * it["k"] + i for i, it in enumerate(batch)],
            desc="documents",
        )
        recs = []
        for it, group in zip(batch, outs):
            body = re.sub(r"\s+", " ", group[0].text.replace("<|im_end|>", " ")).strip()
            doc = _cut_at_sentence(f"{it['prefix']} {body}".strip())
            recs.append({**it, "document": doc, "n_words": len(cr.words(doc)), "finish_reason": group[0].finish_reason})
        return recs

    t0 = time.perf_counter()
    recs = run_stage(run.store("documents"), items, process, batch_size=32, desc="documents")
    good = [r for r in recs if r["n_words"] >= min_words]
    return good, {"generated": len(recs), "dropped_short": len(recs) - len(good), "seconds": time.perf_counter() - t0}


def candidates_stage(
    run,
    round_: int,
    gen: Generator,
    model_key: str,
    docs: Sequence[dict],
    formats: Sequence[str],
    n_samples: int,
    sampling: dict,
) -> list[dict]:
    """``n_samples`` candidate summaries per (document, prompt format) from the round's teacher."""
    items = [
        {
            "id": stable_id("candidate", model_key, d["id"], f, sampling, n_samples),
            "round": round_,
            "doc_id": d["id"],
            "format": f,
        }
        for d in docs
        for f in formats
    ]
    by_id = {d["id"]: d for d in docs}

    def process(batch):
        s = Sampling(
            n=n_samples,
            temperature=sampling["temperature"],
            top_p=sampling["top_p"],
            max_tokens=sampling["max_tokens"],
            seed=sampling["seed"],
        )
        outs = gen.generate(
            [summary_prompt(by_id[it["doc_id"]]["document"], it["format"]) for it in batch],
            s,
            seeds=[sampling["seed"] + i for i in range(len(batch))],
            desc=f"candidates round {round_}",
        )
        return [
            {
                **it,
                "samples": [
                    {"raw": c.text, "summary": clean_summary(c.text), "finish_reason": c.finish_reason} for c in group
                ],
            }
            for it, group in zip(batch, outs)
        ]

    recs = run_stage(
        run.store(f"candidates_round{round_}"), items, process, batch_size=64, desc=f"candidates round {round_}"
    )
    flat = []
    for r in recs:
        for j, s in enumerate(r["samples"]):
            flat.append(
                {
                    "id": f"{r['id']}-{j}",
                    "round": round_,
                    "doc_id": r["doc_id"],
                    "format": r["format"],
                    "document": by_id[r["doc_id"]]["document"],
                    "summary": s["summary"],
                    "raw": s["raw"],
                }
            )
    return flat


def critic_stage(
    run, name: str, scorer, candidates: Sequence[dict], nli: cr.NLICritic | None = None, batch_size: int = 64
) -> list[dict]:
    """Every critic's raw score for each candidate (stored under ``critics_<name>``, keyed by candidate and models);
    verdicts are computed from these scores and the thresholds afterwards (changing a threshold re-scores nothing)."""
    key = {"scorer": scorer.model_name, "nli": nli.name if nli else None, "pmi": cr.PMI_VERSION}
    items = [
        {"id": stable_id("critic", c["summary"], c["document"], key), "candidate_id": c["id"], "c": c}
        for c in candidates
    ]
    items = list({it["id"]: it for it in items}.values())  # identical (document, summary) pairs are scored once
    doc_lp: dict[str, float] = {}

    def process(batch):
        cands = [it["c"] for it in batch]
        pmi = cr.pmi_scores(scorer, cands, doc_lp, desc=f"critics {name}")
        nli_ds, nli_sd = [None] * len(cands), [None] * len(cands)
        live = [i for i, c in enumerate(cands) if cr.words(c["summary"])]
        if nli is not None and live:
            a = nli.entailment([cands[i]["document"] for i in live], [cands[i]["summary"] for i in live])
            b = nli.entailment([cands[i]["summary"] for i in live], [cands[i]["document"] for i in live])
            for k, i in enumerate(live):
                nli_ds[i], nli_sd[i] = a[k], b[k]
        return [
            {
                "id": it["id"],
                **cr.surface_scores(c["document"], c["summary"]),
                **p,
                "nli_doc_to_summary": x,
                "nli_summary_to_doc": y,
            }
            for it, c, p, x, y in zip(batch, cands, pmi, nli_ds, nli_sd)
        ]

    scored = {
        r["id"]: r
        for r in run_stage(run.store(f"critics_{name}"), items, process, batch_size=batch_size, desc=f"critics {name}")
    }
    out = []
    for c in candidates:
        s = scored[stable_id("critic", c["summary"], c["document"], key)]
        out.append({**c, "scores": {k: v for k, v in s.items() if k != "id"}})
    return out


def judge(rows: Sequence[dict], thresholds: cr.Thresholds, use_nli: bool) -> list[dict]:
    """Rows with their ``verdicts`` (per critic and ``all``) under ``thresholds``."""
    return [{**r, "verdicts": cr.verdicts(r["scores"], thresholds, use_nli)} for r in rows]


def rank_score(row: dict) -> float:
    """The order of candidates for best-of-n selection and the counted fallback: saliency in nats per document
    token (how much the summary tells about the document; faithfulness is a threshold, since per summary token it
    favours short extractive phrases), with -inf for summaries that fail a hard constraint (empty, too long, a
    copy). Ties go to ``best_per_document``'s id order."""
    s, v = row["scores"], row["verdicts"]
    if not (v["brevity"] and v["not_copy"]) or s["saliency"] is None:
        return float("-inf")
    return s["saliency"]


def best_per_document(rows: Sequence[dict], per_doc: int) -> list[dict]:
    """Best-of-n selection: the ``per_doc`` highest-ranked rows (``rank_score``) of each document, in document order
    of first appearance (0: every row). Equal scores are broken by id, never by input order."""
    if per_doc <= 0:
        return list(rows)
    by_doc: dict[str, list[dict]] = {}
    for r in rows:
        by_doc.setdefault(r["doc_id"], []).append(r)
    return [
        r for g in by_doc.values() for r in sorted(g, key=lambda r: (-rank_score(r), str(r.get("id", ""))))[:per_doc]
    ]


def survivors(rows: Sequence[dict], min_pairs: int, per_doc: int = 0) -> tuple[list[dict], int]:
    """The candidates that pass every critic, the best ``per_doc`` of each document (0: all of them); when fewer
    than ``min_pairs`` remain, the best-ranked other candidates that meet the hard constraints are added and
    counted."""
    passed = best_per_document([r for r in rows if r["verdicts"]["all"]], per_doc)
    fallback = 0
    if len(passed) < min_pairs:
        chosen = {id(r) for r in passed}
        rest = sorted(
            (r for r in rows if id(r) not in chosen and rank_score(r) > float("-inf")),
            key=lambda r: (-rank_score(r), str(r.get("id", ""))),
        )  # equal scores: by id, not input order
        extra = rest[: min_pairs - len(passed)]
        fallback = len(extra)
        passed = passed + [{**r, "fallback": True} for r in extra]
    return passed, fallback


def control_sample(rows: Sequence[dict], kept: Sequence[dict], seed: int) -> list[dict]:
    """The control arm's training set: for every kept candidate, a random non-empty candidate of the same document
    drawn from all of that document's candidates, critics ignored (without replacement within a document). Same
    documents, same size as ``kept``; only the selection differs. The draw is seeded per document id."""
    import random

    by_doc: dict[str, list[dict]] = {}
    for r in rows:
        if cr.words(r["summary"]):
            by_doc.setdefault(r["doc_id"], []).append(r)
    need: dict[str, int] = {}
    for k in kept:
        need[k["doc_id"]] = need.get(k["doc_id"], 0) + 1
    out = []
    for doc_id, n in need.items():
        pool = sorted(by_doc.get(doc_id, []), key=lambda r: str(r["id"]))
        rng = random.Random(stable_id("control", doc_id, seed))
        out += [{**r, "control": True} for r in rng.sample(pool, min(n, len(pool)))]
    return out


def model_key(path: str) -> str:
    """What identifies a model's weights in stage ids: a fine-tuned folder's training config (so a retrained
    checkpoint under the same path never reuses stale records), else the name or path itself."""
    import json
    from pathlib import Path

    from ..core.training import TRAIN_MARKER

    cfg = Path(str(path)) / TRAIN_MARKER
    return stable_id(json.loads(cfg.read_text())) if cfg.exists() else str(path)


def summarise_stage(
    run,
    system: str,
    path: str,
    prompts: Sequence[str],
    max_tokens: int,
    backend: str = "hf",
    tensor_parallel_size: int = 1,
) -> list[str]:
    """Greedy summaries of raw prompts by a causal or seq2seq model, stored per (model, prompt, max_tokens)."""
    from ..core.models import resolve_model
    from .train import generate_seq2seq, is_seq2seq

    mk = model_key(path)
    items = [{"id": stable_id("summary", mk, p, max_tokens), "prompt": p} for p in prompts]
    uniq = list({it["id"]: it for it in items}.values())
    state = {}

    def process(batch):
        if "gen" not in state:
            real = resolve_model(path)
            state["seq2seq"] = is_seq2seq(real)
            state["gen"] = (
                None
                if state["seq2seq"]
                else Generator(str(path), backend=backend, tensor_parallel_size=tensor_parallel_size)
            )
        if state["seq2seq"]:
            texts = generate_seq2seq(resolve_model(path), [it["prompt"] for it in batch], max_tokens)
        else:
            outs = state["gen"].generate([it["prompt"] for it in batch], Sampling(max_tokens=max_tokens), desc=system)
            texts = [g[0].text for g in outs]
        return [
            {"id": it["id"], "system": system, "raw": t, "summary": clean_summary(t)} for it, t in zip(batch, texts)
        ]

    recs = {r["id"]: r for r in run_stage(run.store("summaries"), uniq, process, batch_size=64, desc=system)}
    return [recs[it["id"]]["summary"] for it in items]
