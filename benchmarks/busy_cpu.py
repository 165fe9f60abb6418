"""How much a busy CPU slows the transformers paths, with torch threads fixed to all cores vs chosen from the free ones.

    .venv/bin/python benchmarks/busy_cpu.py [--load-procs N] [--prompts 8] [--max-tokens 32] [--pairs 32]

Times transformers generation (``Generator(backend="hf")``, greedy) and log-prob scoring
(``LogProbScorer(backend="hf")``) on the embedded model: first alone, then beside ``--load-procs``
busy-looping background processes (bounded: they exit when the benchmark ends or after
``--load-seconds``). Under load each path runs twice: with torch threads = all available cores (what
torch does by default) and with ``engines.choose_threads()`` (free cores, at least 1). Reports the
slowdown (busy seconds / alone seconds) of each, the load average and the thread counts, and writes
``benchmarks/results/busy_cpu.json`` for ``benchmarks/update_readme.py``.
A machine that is already busy before the benchmark starts makes "alone" a busy measurement too:
the load average before each phase is recorded; rerun on a quiet machine for the reference numbers.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def _spin(deadline: float) -> None:
    x = 0
    while time.time() < deadline:
        x += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--load-procs", type=int, default=0, help="background busy processes (0: 2 x available cores)")
    ap.add_argument("--load-seconds", type=float, default=900, help="upper bound on the background load's life")
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--pairs", type=int, default=32)
    ap.add_argument("--device", choices=["cpu"], default="cpu")
    args = ap.parse_args()

    import torch

    from helpers.core import engines
    from helpers.core.generation import Generator, Sampling
    from helpers.core.logprobs import LogProbScorer

    cores = engines.available_cores()
    n_load = args.load_procs or 2 * cores
    gen = Generator(args.model, backend="hf", batch_size=args.prompts)
    scorer = LogProbScorer(args.model, backend="hf", batch_size=16)
    prompts = [[{"role": "user", "content": f"Give one fact about the number {i}."}] for i in range(args.prompts)]
    pairs = common.pairs(args.pairs)
    sampling = Sampling(temperature=0.0, max_tokens=args.max_tokens)
    gen.generate(prompts[:1], Sampling(max_tokens=2))  # warm-up
    scorer.score(pairs[:2])

    def measure(threads: int) -> dict:
        torch.set_num_threads(threads)
        t = time.perf_counter()
        gen.generate(prompts, sampling, desc="bench")
        g = time.perf_counter() - t
        t = time.perf_counter()
        scorer.score(pairs)
        s = time.perf_counter() - t
        return {"threads": threads, "generate_s": round(g, 2), "logprobs_s": round(s, 2), "load": common.loadavg()}

    rows = []
    before = common.loadavg()
    alone_threads = engines.choose_threads(0)
    alone = {"phase": "alone", "busy_cores_seen": round(engines.busy_cores(), 1), **measure(alone_threads)}
    rows.append(alone)
    print(alone, flush=True)
    deadline = time.time() + args.load_seconds
    procs = [mp.Process(target=_spin, args=(deadline,), daemon=True) for _ in range(n_load)]
    for p in procs:
        p.start()
    try:
        time.sleep(3)
        seen = engines.busy_cores()
        chosen = engines.choose_threads(0)
        for name, threads in (("busy, threads = all cores", cores), ("busy, threads = choose_threads()", chosen)):
            row = {"phase": name, "busy_cores_seen": round(seen, 1), **measure(threads)}
            row["slowdown_generate"] = round(row["generate_s"] / alone["generate_s"], 2)
            row["slowdown_logprobs"] = round(row["logprobs_s"] / alone["logprobs_s"], 2)
            rows.append(row)
            print(row, flush=True)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(5)
    common.write(
        "busy_cpu",
        {
            "model": args.model,
            "background_procs": n_load,
            "cores": cores,
            "rows": rows,
            "load_before": before,
            "prompts": args.prompts,
            "max_tokens": args.max_tokens,
            "pairs": args.pairs,
        },
    )


if __name__ == "__main__":
    main()
