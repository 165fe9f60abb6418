"""The notebook's steps (00_quickstart): answers from each backend (a keyed, resumable stage), the log-prob
preference table and metrics.json."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def generate_answers(
    run: Any,
    questions: Sequence[dict],
    model: str,
    prompts_data: str,
    backends: Sequence[str],
    batch_size: int,
    sampling: Any,
) -> tuple[dict[str, list[dict]], list[dict], list[str], list[str]]:
    """Each backend answers every question (a stage whose file name carries a hash of everything that changes the
    answers). Returns (answers per backend, throughput rows of the backends that generated now, skipped backends,
    notes to print): vLLM is skipped, and counted, where it is not installed."""
    from ..core.generation import Generator, vllm_available
    from ..core.store import keyed_store, run_stage

    answers, speed, skipped, notes = {}, [], [], []
    for backend in backends:
        if backend == "vllm" and not vllm_available():
            notes.append("vLLM is not installed here: skipping the vllm backend (counted in metrics: skipped_backends)")
            skipped.append(backend)
            continue
        gen = Generator(model, backend=backend, batch_size=batch_size)

        def answer(batch, gen=gen, backend=backend):
            outs = gen.generate([[{"role": "user", "content": q["question"]}] for q in batch], sampling, desc=backend)
            return [
                {
                    "id": q["id"],
                    "answers": [c.text for c in o],
                    "tokens": [c.n_tokens for c in o],
                    "finish": [c.finish_reason for c in o],
                }
                for q, o in zip(batch, outs)
            ]

        store = keyed_store(
            run, f"answers_{backend}", {"model": model, "prompts_data": prompts_data, "sampling": sampling.__dict__}
        )
        answers[backend] = run_stage(store, list(questions), answer, batch_size=len(questions), desc=backend)
        if gen.stats.seconds:
            speed.append(
                {
                    "backend": backend,
                    "tokens": gen.stats.tokens,
                    "seconds": gen.stats.seconds,
                    "tokens_per_s": gen.stats.tokens_per_s,
                }
            )
    return answers, speed, skipped, notes


def answer_rows(answers: dict[str, list[dict]], questions: Sequence[dict]) -> list[dict]:
    """The first answer of each backend to each question, joined by position within the stage (the stage keeps the
    questions' order)."""
    return [
        {"backend": b, "question": q["question"], "answer": r["answers"][0], "finish": r["finish"][0]}
        for b, recs in answers.items()
        for q, r in zip(questions, recs)
    ]


def logprob_table(model: str, questions: Sequence[dict]):
    """Per question: the summed log-probability of the correct and of the wrong answer, and which is preferred."""
    import pandas as pd

    from ..core.logprobs import LogProbScorer

    scorer = LogProbScorer(model)
    chats = [[{"role": "user", "content": q["question"]}] for q in questions]
    good = scorer.score(list(zip(chats, [q["correct"] for q in questions])))
    bad = scorer.score(list(zip(chats, [q["wrong"] for q in questions])))
    lp = pd.DataFrame(
        {
            "question": [q["question"] for q in questions],
            "logp_correct": [s.sum for s in good],
            "logp_wrong": [s.sum for s in bad],
        }
    )
    lp["prefers_correct"] = lp.logp_correct > lp.logp_wrong
    return lp


def run_metrics(
    lp, n_questions: int, speed: Sequence[dict], skipped: Sequence[str], backends_run: Sequence[str]
) -> dict[str, Any]:
    """metrics.json: the log-prob preference with its interval, each backend's throughput, the skipped backends and
    the findings computed from them (``verdicts.findings``)."""
    from ..core.stats import chance_verdict
    from .verdicts import findings

    verdict = chance_verdict(int(lp.prefers_correct.sum()), len(lp), what="questions")
    m = {
        "logprob_accuracy": float(lp.prefers_correct.mean()),
        "logprob_accuracy_ci": verdict["ci"],
        "n_questions": n_questions,
        **{f"tokens_per_s_{s['backend']}": round(s["tokens_per_s"], 1) for s in speed},
        "skipped_backends": list(skipped),
        "headline": ["logprob_accuracy"] + [f"tokens_per_s_{s['backend']}" for s in speed],
    }
    return {**m, **findings(m, verdict=verdict, backends_run=backends_run, speed=speed)}
