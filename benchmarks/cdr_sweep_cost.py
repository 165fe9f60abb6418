"""The CDR pair sweep's cost grows with the number of models, not pairs (not a test).

    .venv/bin/python benchmarks/cdr_sweep_cost.py [--models 16] [--per-subset 4] [--executor local|ray]
    .venv/bin/python benchmarks/cdr_sweep_cost.py --real smollm2-135m-instruct,layers:8   # real / derived models

Stage 1 scores the shipped offline preference set once per model (``cdr.score_zoo``: one keyed log-prob store per
model, through the executor, local or Ray replicas), stage 2 computes P (strong, weak) pairs from those cached
scores (``cdr.pair_sweep`` with an explicit pair list: rewards, RewardBench-style report with its bootstrap, ties),
for growing P up to every ordered pair of the N models. A second ``score_zoo`` call (what adding pairs to a sweep
costs in scoring) finds every record in the stores. By default the models are tiny random Llamas built from a config
with the embedded model's tokenizer (N of them in seconds, no hub); ``--real`` names zoo members instead (aliases,
folders, hub ids, or ``layers:K`` of the embedded model). Writes ``benchmarks/results/cdr_sweep_cost.json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


class Stores:
    """One JSONL log-prob store per model in ``where`` (the notebook's keyed stores, reduced to their files)."""

    def __init__(self, where: Path):
        self.where = where

    def store(self, stage, part="", **inputs):
        from helpers.core.store import JsonlStore

        return JsonlStore(self.where / f"{stage}_{part}.jsonl")


def tiny_zoo(n: int, where: Path) -> dict[str, str]:
    """``n`` tiny random Llamas (2 layers, hidden 64, different seeds) with the embedded model's tokenizer."""
    from transformers import AutoTokenizer

    from helpers.core.models import resolve_model
    from helpers.core.tiny import tiny_model

    tok = AutoTokenizer.from_pretrained(resolve_model("smollm2-135m-instruct"))
    zoo = {}
    for k in range(n):
        path = where / f"tiny-{k}"
        tiny_model(tok, seed=k, hidden_size=64, num_hidden_layers=2).save_pretrained(path)
        tok.save_pretrained(path)
        zoo[f"tiny-{k}"] = str(path)
    return zoo


def real_zoo(names: list[str], where: Path) -> dict[str, str]:
    from helpers.cdr.zoo import derive_model

    return {
        m: derive_model(m, "smollm2-135m-instruct", where / m.replace(":", "-"))
        if m.startswith(("layers:", "noise:"))
        else m
        for m in names
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=16, help="tiny random models (16 gives 240 ordered pairs)")
    ap.add_argument("--real", default="", help="comma-separated zoo members instead of tiny models")
    ap.add_argument("--per-subset", type=int, default=4, help="preference examples per subset (8 subsets)")
    ap.add_argument("--executor", default="local", choices=["local", "ray"])
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()

    from helpers import cdr
    from helpers.cdr import rewardbench as rb
    from helpers.core.executor import Executor

    load_before = common.loadavg()
    work = Path(tempfile.mkdtemp(prefix="cdr-sweep-cost-"))
    zoo = real_zoo(args.real.split(","), work) if args.real else tiny_zoo(args.models, work)
    examples = rb.load_preference_set("builtin:rewardbench_offline.jsonl", per_subset=args.per_subset)
    items, ids = cdr.response_items(examples, lambda e: rb.chat_prompt(e["prompt"])), [e["id"] for e in examples]
    scoring = dict(batch_size=args.batch_size, max_prompt_tokens=512, max_response_tokens=256, max_batch_tokens=0)
    executor = Executor.from_params({"executor": args.executor, "ray_replicas": 1})
    stores = Stores(work)
    t0 = time.perf_counter()
    logprobs, timing = cdr.score_zoo(zoo, items, stores, executor, scoring)
    score_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, again = cdr.score_zoo(zoo, items, stores, executor, scoring)
    rescore_s = time.perf_counter() - t0
    executor.close()
    names = list(zoo)
    ordered = [[s, w] for s in names for w in names if s != w]
    gaps = {m: float(k) for k, m in enumerate(names)}  # any numbers: the sweep's cost does not depend on them
    evaluate = cdr.rewardbench_evaluator(examples, seed=0)
    rows = [
        {
            "stage": "score",
            "models": len(zoo),
            "sequences": len(items) * len(zoo),
            "seconds": round(score_s, 2),
            "seconds_per_model": round(score_s / len(zoo), 3),
        },
        {
            "stage": "rescore after adding pairs",
            "models": len(zoo),
            "sequences_scored": int(again["sequences"].sum()) if len(again) else 0,
            "seconds": round(rescore_s, 2),
        },
    ]
    for p in sorted({1, len(ordered) // 8, len(ordered) // 2, len(ordered)} - {0}):
        t0 = time.perf_counter()
        table, *_ = cdr.pair_sweep(zoo, gaps, logprobs, ids, "sum", evaluate, ordered[:p])
        took = time.perf_counter() - t0
        assert len(table) == p
        rows.append(
            {
                "stage": "pairs from cached scores",
                "pairs": p,
                "seconds": round(took, 3),
                "ms_per_pair": round(1000 * took / p, 2),
            }
        )
    per_pair = rows[-1]["seconds"] / rows[-1]["pairs"]
    summary = (
        f"{len(zoo)} models scored {len(items)} sequences each in {score_s:.1f} s "
        f"({score_s / len(zoo):.2f} s per model); {rows[-1]['pairs']} pairs then took {rows[-1]['seconds']:.2f} s "
        f"({1000 * per_pair:.1f} ms per pair, {per_pair / (score_s / len(zoo)):.1%} of one model's scoring); "
        f"a rerun with more pairs scored {rows[1]['sequences_scored']} sequences ({rescore_s:.2f} s). Scoring "
        f"each pair's two models afresh would have cost about {2 * rows[-1]['pairs'] * score_s / len(zoo):.0f} s."
    )
    print(*[str(r) for r in rows], summary, sep="\n")
    common.write(
        "cdr_sweep_cost",
        {
            "args": vars(args),
            "zoo": "tiny random Llamas" if not args.real else args.real,
            "examples": len(examples),
            "loadavg_before": load_before,
            "loadavg_after": common.loadavg(),
            "rows": rows,
            "summary": summary,
        },
    )


if __name__ == "__main__":
    main()
