"""The notebook's steps (08_infosumm): set-up, documents, expert iteration (sample, criticise, fine-tune), the
student's base and examples, evaluation against references, tables and metrics.json. One function per cell's
work; the stages, critics, controls and training live in ``pipeline``, ``critics``, ``controls`` and ``train``."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import controls as isk
from . import critics as isc
from . import data as isd
from . import pipeline as isp
from . import train as ist
from .results import rouge_caption, rouge_frame, run_metrics  # noqa: F401  (the notebook calls them as steps.*)


# --------------------------------------------------------------------------- set-up and documents
def train_options(save_steps: int, report_to: str, lora_r: int):
    """The training options every SFT of the run shares, checked now (an uninstalled tracker, LoRA without peft)."""
    from ..core.training import TrainOptions

    opts = TrainOptions(save_steps=save_steps, report_to=report_to, lora_r=lora_r)
    opts.check()
    return opts


def setup_line(teacher_model: str, n_rounds: int, n_documents_per_round: int) -> str:
    """What the notebook prints first: the plan, torch threads and the machine's load."""
    import torch

    return (
        f"teacher {teacher_model}; {n_rounds} round(s) of expert iteration + a final sampling round, "
        f"{n_documents_per_round} documents each; torch threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def documents(
    run: Any,
    teacher_gen: Any,
    documents_data: str,
    prefixes: str,
    n_docs: int,
    doc_max_tokens: int,
    doc_temperature: float,
    top_p: float,
    seed: int,
    doc_min_words: int,
    eval_max_words: int,
) -> tuple[list[dict], dict[str, Any]]:
    """(documents, info): read from ``documents_data`` when given, else written by the teacher from news-style
    ``prefixes`` (a resumable stage; documents shorter than ``doc_min_words`` are dropped and counted)."""
    if documents_data:
        docs = isd.load_pairs(documents_data, limit=n_docs, min_words=doc_min_words, max_words=eval_max_words or 0)
        return docs, {"generated": 0, "dropped_short": 0, "seconds": 0.0, "source": documents_data}
    docs, info = isp.documents_stage(
        run,
        teacher_gen,
        isd.load_prefixes(prefixes),
        n_docs,
        doc_max_tokens,
        doc_temperature,
        top_p,
        seed,
        doc_min_words,
    )
    return docs, {**info, "source": prefixes}


def round_document_sets(docs: Sequence[dict], n_rounds: int) -> list[list[dict]]:
    """One disjoint document set per sampling round (``n_rounds`` + 1 of them); RuntimeError when too few."""
    if len(docs) < n_rounds + 1:
        raise RuntimeError(
            f"only {len(docs)} usable documents for {n_rounds + 1} sampling rounds: raise "
            "n_documents_per_round or lower doc_min_words"
        )
    per_round = max(1, len(docs) // (n_rounds + 1))
    return [list(docs[r * per_round : (r + 1) * per_round]) for r in range(n_rounds + 1)]


# --------------------------------------------------------------------------- expert iteration
def expert_iteration(
    run: Any,
    teacher_model: str,
    teacher_gen: Any,
    doc_sets: Sequence[list[dict]],
    scorer: Any,
    nli: Any,
    thresholds: Any,
    opts: Any,
    timings: dict,
    *,
    n_rounds: int,
    backend: str,
    tensor_parallel_size: int,
    prompt_formats: Sequence[str],
    n_samples: int,
    sampling: dict,
    min_pairs: int,
    sft_steps: int,
    sft_learning_rate: float,
    sft_batch_size: int,
    max_length: int,
    seed: int,
    keep_per_doc: int = 0,
    log: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Round r: the current teacher samples candidates, every critic scores them, the best ``keep_per_doc`` passing
    candidates of each document (0: all that pass; plus a counted fallback up to ``min_pairs``) fine-tune the next
    teacher; a final round samples without training. Returns teacher_paths, rounds (pass rates and counts),
    all_rows, train_logs, survivors and control (by round: the control arm's random candidates of the same
    documents, as many as survived); ``timings`` gains one entry per round."""
    from ..core.generation import Generator, shutdown_engines

    out: dict[str, Any] = {
        "teacher_paths": [teacher_model],
        "rounds": [],
        "all_rows": [],
        "train_logs": {},
        "survivors": {},
        "control": {},
    }
    for r in range(n_rounds + 1):
        t0 = time.perf_counter()
        path = out["teacher_paths"][-1]
        gen = teacher_gen if r == 0 else Generator(path, backend=backend, tensor_parallel_size=tensor_parallel_size)
        cands = isp.candidates_stage(run, r, gen, isp.model_key(path), doc_sets[r], prompt_formats, n_samples, sampling)
        shutdown_engines()  # a vLLM engine gives the GPU back before scoring and training
        rows = isp.judge(isp.critic_stage(run, f"round{r}", scorer, cands, nli), thresholds, nli is not None)
        kept, fallback = isp.survivors(rows, min_pairs, keep_per_doc)
        out["survivors"][r] = kept
        out["control"][r] = isp.control_sample(rows, kept, seed)
        out["all_rows"] += rows
        out["rounds"].append(
            {
                "round": r,
                "n_documents": len(doc_sets[r]),
                "n_candidates": len(rows),
                "n_kept": len(kept),
                "fallback": fallback,
                "pass_rates": isc.pass_rates(rows),
                "teacher": str(path),
            }
        )
        if r < n_rounds:
            if not kept:
                raise RuntimeError(
                    f"round {r}: no candidate meets even the hard constraints (brevity, not a copy); "
                    f"loosen ratio_min/ratio_max/copy_max or raise summary_max_tokens"
                )
            examples = [
                {"prompt": isd.summary_prompt(k["document"], "tldr"), "completion": " " + k["summary"]} for k in kept
            ]
            trained, hist = ist.sft(
                path,
                examples,
                run.dir / "checkpoints" / f"teacher_round{r + 1}",
                {"stage": "teacher", "round": r + 1},
                opts,
                max_steps=sft_steps,
                learning_rate=sft_learning_rate,
                batch_size=sft_batch_size,
                max_length=max_length,
                seed=seed,
            )
            out["teacher_paths"].append(trained)
            out["train_logs"][f"teacher_round{r + 1}"] = hist
        timings[f"round{r}"] = time.perf_counter() - t0
        pr = out["rounds"][-1]["pass_rates"].get("all", {})
        log(
            f"round {r}: {len(rows)} candidates, {pr.get('passed', 0)} pass every critic, {fallback} fallback, "
            f"{len(kept)} kept; {timings[f'round{r}']:.0f} s"
        )
    return out


def pass_rate_table(rounds: Sequence[dict]):
    """Per round: passed/n (rate) for each critic, and the fallback count."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "round": rd["round"],
                **{k: f"{v['passed']}/{v['n']} ({100 * v['rate']:.0f}%)" for k, v in rd["pass_rates"].items()},
                "fallback": rd["fallback"],
            }
            for rd in rounds
        ]
    )


def candidates_table(rows: Sequence[dict]):
    """Every scored candidate with its critic scores and verdicts (``data/candidates_scored.csv``)."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "id": x["id"],
                "round": x["round"],
                "doc_id": x["doc_id"],
                "format": x["format"],
                "summary": x["summary"],
                **x["scores"],
                **{f"pass_{k}": v for k, v in x["verdicts"].items()},
            }
            for x in rows
        ]
    )


def examples_table(rows: Sequence[dict]):
    """The best and worst candidates of each round by saliency (three each), with their scores."""
    import pandas as pd

    def r1(v):
        return round(v, 1) if v is not None else None

    ex = pd.DataFrame(
        [
            {
                "round": x["round"],
                "format": x["format"],
                "summary": x["summary"][:140],
                "saliency": r1(x["scores"]["saliency"]),
                "faithfulness": r1(x["scores"]["faithfulness"]),
                "ratio": round(x["scores"]["ratio"], 2),
                "copy": round(x["scores"]["copy_rougeL_p"], 2),
                "passes all": x["verdicts"]["all"],
            }
            for x in rows
        ]
    )
    return ex.sort_values(["round", "saliency"], ascending=[True, False]).groupby("round").head(3)


# --------------------------------------------------------------------------- student
def student_base(student_init: str, teacher_model: str, checkpoints: Path) -> str:
    """The student's starting model: ``truncate:N`` (the teacher cut to N layers), a tiny T5 stand-in for a seq2seq
    hub model during a rehearsal (core's stand-ins are causal), or ``student_init`` itself."""
    from ..core import rehearsal

    if student_init.startswith("truncate:"):
        return ist.truncated_copy(
            teacher_model,
            int(student_init.split(":", 1)[1]),
            checkpoints / f"student_init_{student_init.replace(':', '')}",
        )
    if ist.looks_seq2seq(student_init) and rehearsal.active():
        return ist.rehearsal_seq2seq(student_init)
    return student_init


def final_pairs(
    by_round: dict[int, list[dict]],
    n_rounds: int,
    student_data: str,
    length_buckets: Sequence[int],
    density_split: float,
    embedder: str,
) -> list[dict]:
    """The student's training pairs from one arm's candidates by round (``student_data``: the final round's, or
    every round's), each annotated with its control attributes. Not de-duplicated: two arms drawn to the same
    size stay the same size."""
    final = by_round[n_rounds] if student_data == "last" else [k for r in sorted(by_round) for k in by_round[r]]
    kw = isk.pick_keywords(
        [k["summary"] for k in final], [isk.candidate_keywords(k["document"], k["summary"]) for k in final], embedder
    )
    return [
        {**k, "controls": isk.annotate(k["document"], k["summary"], length_buckets, density_split, w)}
        for k, w in zip(final, kw)
    ]


def train_student(
    name: str,
    base: str,
    pairs: Sequence[dict],
    checkpoints: Path,
    opts: Any,
    *,
    code_dropout: float,
    steps: int,
    learning_rate: float,
    batch_size: int,
    max_length: int,
    seed: int,
) -> tuple[str, list]:
    """One student arm (``name``: student or student_unfiltered) fine-tuned from ``base`` on its pairs with control
    codes; both arms share every setting but the pairs. Returns (folder, log history)."""
    examples = student_examples(pairs, code_dropout, seed)
    return ist.sft(
        base,
        examples,
        checkpoints / name,
        {"stage": name},
        opts,
        max_steps=steps,
        learning_rate=learning_rate,
        batch_size=batch_size,
        max_length=max_length,
        seed=seed,
    )


def student_examples(pairs: Sequence[dict], code_dropout: float, seed: int) -> list[dict]:
    """Each final pair as a student example: the prompt carries its control codes, each dropped with probability
    ``code_dropout`` (seeded), so the student also learns to summarise without them."""
    rng = random.Random(seed)
    return [
        {
            "prompt": isk.student_prompt(
                p["document"],
                isk.drop_codes({k: p["controls"][k] for k in ("length", "focus", "extractive")}, code_dropout, rng),
            ),
            "completion": " " + p["summary"],
        }
        for p in pairs
    ]


def loss_table(losses: dict[str, list[float]]):
    """Per training stage: logged steps, first and last loss."""
    import pandas as pd

    return pd.DataFrame(
        [
            {"stage": k, "steps": len(v), "first loss": v[0] if v else None, "last loss": v[-1] if v else None}
            for k, v in losses.items()
        ]
    )


# --------------------------------------------------------------------------- evaluation
def evaluate_systems(
    run: Any,
    systems: dict[str, str],
    sources: Sequence[str],
    *,
    n_eval: int,
    eval_max_words: int,
    eval_max_tokens: int,
    backend: str,
    tensor_parallel_size: int,
    bootstrap_rounds: int,
    seed: int,
) -> dict[str, dict]:
    """Greedy summaries of every system (and lead-1, lead-3) on each reference set (``n_eval`` documents, 0: all),
    and ROUGE with bootstrap CIs: {source: {refs, outs, rouge, per_doc}} where per_doc is {system: {doc id:
    ROUGE-L}} (what paired comparisons join on). Students read the control-code prompt without codes; teachers the
    tldr one."""
    from ..core.generation import shutdown_engines
    from .evaluate import rouge_per_item, rouge_table

    sets = {}
    for src in sources:
        refs = [x for x in isd.load_pairs(src, limit=n_eval, max_words=eval_max_words) if x["summary"]]
        outs = {
            "lead-1": [isd.lead_k(x["document"], 1) for x in refs],
            "lead-3": [isd.lead_k(x["document"], 3) for x in refs],
        }
        for name, path in systems.items():
            prompts = [
                isk.student_prompt(x["document"], None)
                if name.startswith("student")
                else isd.summary_prompt(x["document"], "tldr")
                for x in refs
            ]
            outs[name] = isp.summarise_stage(run, name, path, prompts, eval_max_tokens, backend, tensor_parallel_size)
        shutdown_engines()
        gold = [x["summary"] for x in refs]
        per_doc = {
            name: {x["id"]: p["rougeL"] for x, p in zip(refs, rouge_per_item(o, gold))} for name, o in outs.items()
        }
        sets[src] = {
            "refs": refs,
            "documents_cut": sum(1 for x in refs if x.get("words_cut")),  # longer than eval_max_words
            "outs": outs,
            "per_doc": per_doc,
            "rouge": rouge_table(outs, gold, rounds=bootstrap_rounds, seed=seed),
        }
    return sets


CONTENT_FREE = "The article reports on a recent event and what the people involved said about it."


def critic_check_rows(refs: Sequence[dict], outs: dict[str, list[str]], n_docs: int) -> list[dict]:
    """Candidates whose critic scores test the critics on the last ``n_docs`` reference documents (the defaults'
    thresholds were set on probes of the first 12 of the builtin set, so these are held out): every system's
    summary, and four probes: the reference summary, lead-1 (the first sentence, a copy), the reference summary of
    another document (the next one; "wrong document") and a content-free summary (``CONTENT_FREE``). ``round``
    names the system or probe."""
    rows = []
    for i in range(max(0, len(refs) - n_docs), len(refs)):
        x, other = refs[i], (refs[(i + 1) % len(refs)] if len(refs) > 1 else None)
        probes = {
            **{name: o[i] for name, o in outs.items()},
            "probe: reference": x["summary"],
            "probe: lead-1": isd.lead_k(x["document"], 1),
            "probe: content-free": CONTENT_FREE,
        }
        if other is not None:
            probes["probe: wrong document"] = other["summary"]
        rows += [
            {
                "id": f"{name}-{x['id']}",
                "round": name,
                "doc_id": x["id"],
                "format": "tldr",
                "document": x["document"],
                "summary": text,
            }
            for name, text in probes.items()
        ]
    return rows
