"""The notebook's steps (05_cdr): the zoo, on-policy pairs and preference training, scoring every model once, gap
scores, the pair sweep and customisation (``baselines``: the default pair against its baselines; ``metrics``:
before/after and metrics.json). One function per cell's work; ``scoring`` is the log-prob settings dict (batch_size,
max_prompt_tokens, max_response_tokens, max_batch_tokens) every scorer of a run shares."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .customise import SECTION_DOMAIN, customise, route
from .reward import end_of_turn, logprob_spec, ratio_rewards, score_responses
from .sweep import load_gap_scores, load_mc_set, mc_accuracy
from .verdicts import tied_share
from .zoo import TRAINED_KINDS, best_vs_rest, derive_model, onpolicy_spec, preference_dataset, sample_items


# --------------------------------------------------------------------------- set-up and the zoo
def configure_threads(torch_threads: int) -> str:
    """Set torch's CPU threads (0: leave them) and return the line the notebook prints. On shared cores torch's
    OpenMP pool can stall at its barriers: with load average 10 on 2 cores, scoring 16 sequences took 31.6 s with
    2 threads and 11.6 s with 1 thread (measured here)."""
    import os

    import torch

    if torch_threads:
        torch.set_num_threads(torch_threads)
    return f"torch threads: {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def build_zoo(
    zoo_models: Sequence[str], derived_zoo: Sequence[str], parent_model: str, stages: Any, seed: int
) -> tuple[dict[str, str], list[str]]:
    """({name: model path} for the real models and the derived (untrained) members, the members still to train).
    Each derived model's folder is keyed by everything that makes it."""
    zoo = {m: m for m in zoo_models}
    trained = [s for s in derived_zoo if s in TRAINED_KINDS]
    for spec in derived_zoo:
        if spec not in trained:
            zoo[spec] = derive_model(spec, parent_model, stages.path("derived", "", part=spec, spec=spec), seed=seed)
    return zoo, trained


def score_model(
    stages: Any, name: str, path: str, items: Sequence[dict], executor: Any, scoring: dict, desc: str
) -> dict:
    """One model's log-probs of ``items`` through its keyed store (records keyed by model, id, prompt and response:
    the sweep, the on-policy labels and the customisation share them)."""
    store = stages.store("logprobs", part=name, model=path, end_of_turn=end_of_turn(path))
    return score_responses(store, logprob_spec(path, **scoring), items, batch_size=64, desc=desc, executor=executor)


# --------------------------------------------------------------------------- on-policy pairs and training
def onpolicy_pairs(
    pool: Sequence[dict],
    prompt_of: Callable,
    stages: Any,
    executor: Any,
    scoring: dict,
    zoo: dict[str, str],
    strong: str,
    weak: str,
    *,
    parent_model: str,
    backend: str,
    n: int,
    temperature: float,
    max_tokens: int,
    rejected: str,
    variant: str,
    seed: int,
) -> tuple[list[dict], int]:
    """The parent samples ``n`` responses per prompt (here or on Ray replicas; each prompt's seed comes from its id),
    the default pair labels every sample with its density ratio, and the best sample is paired against the rest.
    Returns (preference rows, prompts scored); a prompt whose rewards are all equal gives no pair."""
    from ..core.executor import run_stage_on
    from ..core.generation import pick_backend
    from ..core.store import run_stage, stable_id

    sampler = onpolicy_spec(parent_model, backend, n, temperature, max_tokens, seed)
    sampled = run_stage_on(
        executor,
        stages.store("onpolicy_samples", engine=pick_backend(backend), seeds="per-id"),
        [{"id": e["id"], "prompt": prompt_of(e)} for e in pool],
        sampler,
        batch_size=8,
        desc="on-policy samples",
    )
    label = {
        name: score_model(
            stages, name, zoo.get(name, name), sample_items(sampled), executor, scoring, f"on-policy {name}"
        )
        for name in (strong, weak)
    }

    def annotate(batch):
        return [
            {
                **r,
                "rewards": ratio_rewards(
                    label[strong], label[weak], [f"{r['id']}/s{k}" for k in range(len(r["samples"]))], variant
                ),
            }
            for r in batch
        ]

    scored = run_stage(
        stages.store(
            "onpolicy_rewards", strong=zoo.get(strong, strong), weak=zoo.get(weak, weak), samples=stable_id(sampled)
        ),
        sampled,
        annotate,
        batch_size=8,
    )
    rng = random.Random(seed)
    rows = []
    for r in scored:
        pair = best_vs_rest(r["samples"], r["rewards"], rejected, rng)
        if pair:
            rows.append({"prompt": r["prompt"], "chosen": pair[0], "rejected": pair[1]})
    return rows, len(scored)


def training_data(
    spec: str, prefs: Any, eval_data: str, eval_split: str, train_slice: tuple[int, int], prompt_of: Callable
) -> tuple[Any, str]:
    """(preference dataset, loss) for a trained zoo member: ``dpo-offline`` (the paper's pair type, a preference-tuned
    child over its parent) trains DPO on the offline pairs of ``train_slice`` (disjoint from the evaluation); simpo
    and dpo train on the on-policy pairs (ValueError without them)."""
    from .rewardbench import load_preference_set

    if spec == "dpo-offline":
        off, count = train_slice
        train = load_preference_set(eval_data, split=eval_split, per_subset=count, offset=off)
        return preference_dataset(
            [{"prompt": prompt_of(e), "chosen": e["chosen"], "rejected": e["rejected"]} for e in train]
        ), "dpo"
    if not prefs:
        raise ValueError(f"derived model {spec!r} needs on-policy pairs: set onpolicy_prompts > 0")
    return prefs, spec


def train_members(
    specs: Sequence[str],
    prefs: Any,
    zoo: dict[str, str],
    stages: Any,
    options: Any,
    *,
    parent_model: str,
    eval_data: str,
    eval_split: str,
    train_slice: tuple[int, int],
    prompt_of: Callable,
    steps: int,
    learning_rate: float,
    batch_size: int,
    max_length: int,
    seed: int,
    onpolicy_max_tokens: int = 0,
) -> dict[str, dict]:
    """Preference-tune the parent into each of ``specs`` and add the folders to ``zoo``; {spec: training log}.
    ``dpo-offline`` (the paper's pair type: a DPO child over its parent) is stage ``child``, keyed by its offline
    pairs, the parent and the training settings, so it is trained once and reused by every later run; simpo/dpo
    (stage ``trained``) are keyed by the on-policy pairs they learn from."""
    from ..core.store import stable_id
    from .zoo import train_preference

    logs = {}
    for spec in specs:
        data, loss = training_data(spec, prefs, eval_data, eval_split, train_slice, prompt_of)
        key = dict(
            part=spec,
            spec=spec,
            loss=loss,
            parent_model=parent_model,
            seed=seed,
            max_length=max_length,
            data=stable_id([data[i] for i in range(len(data))]),
        )
        out_dir = (
            stages.path("child", "", **key)
            if spec == "dpo-offline"
            else stages.path("trained", "", onpolicy_max_tokens=onpolicy_max_tokens, **key)
        )
        logs[spec] = train_preference(
            parent_model,
            data,
            out_dir,
            loss=loss,
            steps=steps,
            learning_rate=learning_rate,
            batch_size=batch_size,
            max_length=max_length,
            seed=seed,
            options=options,
        )
        zoo[spec] = str(out_dir)
    return logs


# --------------------------------------------------------------------------- scoring and gap scores
def score_zoo(zoo: dict[str, str], items: Sequence[dict], stages: Any, executor: Any, scoring: dict):
    """Every zoo model's log-probs of every item (each scorer plain data: loaded here or once per Ray replica), and
    a timing table for the models scored from scratch in this run (sequences per second)."""
    import pandas as pd

    from ..core.store import stable_id

    logprobs, timing = {}, []
    for name, path in zoo.items():
        store = stages.store("logprobs", part=name, model=path, end_of_turn=end_of_turn(path))
        fresh = len(items) - sum(1 for it in items if stable_id(path, it["id"], it["prompt"], it["response"]) in store)
        t0 = time.perf_counter()
        logprobs[name] = score_responses(
            store, logprob_spec(path, **scoring), items, batch_size=64, desc=f"score {name}", executor=executor
        )
        took = time.perf_counter() - t0
        if fresh == len(items):
            timing.append({"model": name, "sequences": fresh, "seconds": round(took, 1), "seq_per_s": fresh / took})
    return logprobs, pd.DataFrame(timing)


def zoo_gap_scores(
    zoo: dict[str, str], stages: Any, gap_scores_file: str, gap_data: str, gap_slice: tuple[int, int], batch_size: int
) -> tuple[dict[str, float], str]:
    """(gap score per zoo member, what the score is): an external file's scores, or the accuracy on a held-out
    two-choice set (comparable across tokenizers, unlike a per-token log-likelihood; cached per model)."""
    from pathlib import Path

    from ..core.logprobs import LogProbScorer
    from ..core.store import run_stage, stable_id

    if gap_scores_file:
        return load_gap_scores(gap_scores_file), f"external score ({Path(gap_scores_file).name})"
    off, count = gap_slice
    gap_items = load_mc_set(gap_data, per_subset=count, offset=off)
    store = stages.store("gap_scores", items=stable_id(count, off, [it["id"] for it in gap_items]))

    def gap(batch):
        return [
            {
                "id": b["id"],
                "path": b["path"],
                "score": mc_accuracy(LogProbScorer(b["path"], batch_size=batch_size), gap_items),
            }
            for b in batch
        ]

    recs = run_stage(
        store,
        [{"id": stable_id(n, p), "name": n, "path": p} for n, p in zoo.items()],
        gap,
        batch_size=1,
        desc="gap set",
    )
    return {n: r["score"] for n, r in zip(zoo, recs)}, f"accuracy on {len(gap_items)} held-out two-choice items"


# --------------------------------------------------------------------------- the sweep
def rewardbench_evaluator(eval_set: Sequence[dict], seed: int) -> Callable:
    """``evaluate(chosen_rewards, rejected_rewards)``: the RewardBench-style report on ``eval_set``."""
    from .rewardbench import pairwise_correct, rewardbench_report

    return lambda chosen, rejected: rewardbench_report(eval_set, pairwise_correct(chosen, rejected), seed=seed)


# --------------------------------------------------------------------------- customisation
def route_examples(cset: Sequence[dict], prompt_of: Callable, router: Any = None) -> tuple[list[str], dict, list[str]]:
    """(domain per example, router fallbacks, lines to print): the router judge's domains (CHAT when it names none),
    or CHAT for every example without a router."""
    if router is None:
        return ["CHAT"] * len(cset), {"unparsed": 0, "error": None}, []
    domains, fallbacks = route([prompt_of(e) for e in cset], router.complete)
    lines = []
    if fallbacks["unparsed"] or fallbacks["error"]:
        lines.append(
            f"router fallbacks to CHAT: {fallbacks['unparsed']} of {len(cset)} replies named no domain"
            + (f"; the router failed: {fallbacks['error']}" if fallbacks["error"] else "")
        )
    return domains, fallbacks, lines


def router_accuracy(cset: Sequence[dict], domains: Sequence[str]) -> tuple[float, dict[str, int], str]:
    """(share routed to the domain of the example's section, examples per domain, the line to print)."""
    import pandas as pd

    gold = [SECTION_DOMAIN[e["section"]] for e in cset]
    acc = float(np.mean([d == g for d, g in zip(domains, gold)]))
    counts = {k: int(v) for k, v in pd.Series(domains).value_counts().items()}
    return (
        acc,
        counts,
        (
            f"router accuracy {acc:.0%} (all-CHAT would score {np.mean([g == 'CHAT' for g in gold]):.0%}); "
            f"routed: {pd.Series(domains).value_counts().to_dict()}"
        ),
    )


def customisation_reports(
    cset: Sequence[dict],
    domains: Sequence[str],
    spec: dict,
    prompt_of: Callable,
    stages: Any,
    executor: Any,
    scoring: dict,
    zoo: dict[str, str],
    strong: str,
    weak: str,
    variant: str,
    seed: int,
    criteria_only: bool = False,
) -> tuple[dict, dict]:
    """The default pair's ratio with plain prompts, (optionally) with the domain's criteria, and with criteria and an
    exemplar: (report per prompting, tied share per prompting). Scored through the main log-prob stores (keyed by
    model, id, prompt, response), so the plain prompts of examples scored already cost nothing."""
    from .rewardbench import pairwise_correct, rewardbench_report

    cids = [e["id"] for e in cset]
    variants = {"plain": lambda e, d: prompt_of(e)}
    if criteria_only:
        variants["criteria"] = lambda e, d: customise(prompt_of(e), d, spec, exemplars=False)
    variants["criteria + exemplar"] = lambda e, d: customise(prompt_of(e), d, spec)
    reports, tied = {}, {}
    for label, make in variants.items():
        citems = [
            {"id": f"{e['id']}/{side}", "prompt": make(e, d), "response": e[side]}
            for e, d in zip(cset, domains)
            for side in ("chosen", "rejected")
        ]
        lp = {
            name: score_model(stages, name, zoo.get(name, name), citems, executor, scoring, f"{label}: {name}")
            for name in (strong, weak)
        }
        ch = ratio_rewards(lp[strong], lp[weak], [i + "/chosen" for i in cids], variant)
        rj = ratio_rewards(lp[strong], lp[weak], [i + "/rejected" for i in cids], variant)
        reports[label] = rewardbench_report(cset, pairwise_correct(ch, rj), seed=seed)
        tied[label] = tied_share(ch, rj)
    return reports, tied


def customisation_table(reports: dict, tied: dict):
    """One row per prompting: RewardBench-style scores (%) and the tied share."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "prompting": k,
                **{m: round(100 * v, 1) for m, v in r.flat().items()},
                "tied_share": None if tied[k] is None else round(tied[k], 3),
            }
            for k, r in reports.items()
        ]
    )
