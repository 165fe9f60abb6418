"""Ray executor scaling: a small generation stage with 1 and 2 Ray replicas, beside the local executor (not a test).

    .venv/bin/python benchmarks/ray_scaling.py [--rows 24] [--max-tokens 48] [--batch-size 4] [--replicas 1 2]

Runs the Magpie responses stage (greedy, the embedded model, transformers backend) through
``helpers.core.executor.run_stage_on`` on a fresh store each time: once with ``executor local`` (this
process, torch threads chosen from the free cores) and once per replica count with ``executor ray`` on a
Ray instance started on this machine (each replica reserves one CPU and runs one torch thread). Reports
rows per second end to end (replica start-up and model loading included) and after the first batch came
back (steady state), the scaling ratio of the largest replica count over 1, and whether every run wrote the
same greedy text. Writes ``benchmarks/results/ray_scaling.json`` for ``benchmarks/update_readme.py``.
On a machine with as many cores as replicas x CPUs per replica there is nothing to gain from more replicas.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

QUERIES = [
    "What is the capital of France?",
    "Give me three tips for better sleep.",
    "Explain what a prime number is.",
    "Write a haiku about autumn.",
    "How do I boil an egg?",
    "Name two uses of copper.",
    "Why is the sky blue?",
    "Suggest a name for a black cat.",
    "What does a compiler do?",
    "How many legs does a spider have?",
    "Describe a rainbow to a child.",
    "What is photosynthesis?",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--rows", type=int, default=24)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--batch-size", type=int, default=4, help="rows per stage batch (what one replica gets at a time)")
    ap.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cpus-per-replica", type=float, default=1)
    args = ap.parse_args()

    import importlib.metadata as md

    from helpers import magpie as mp
    from helpers.core.executor import Executor, run_stage_on
    from helpers.core.generation import Sampling
    from helpers.core.ray_exec import shutdown
    from helpers.core.store import JsonlStore

    items = [
        {
            "id": f"q{k:03d}",
            "instruction": f"{QUERIES[k % len(QUERIES)]} ({k // len(QUERIES) + 1})",
            "system": "default",
        }
        for k in range(args.rows)
    ]
    writer = {"model": args.model, "backend": "hf", "tensor_parallel_size": 1, "batch_size": 16}
    spec = mp.response_spec(writer, {"default": None}, Sampling(temperature=0.0, max_tokens=args.max_tokens))
    work = Path(tempfile.mkdtemp(prefix="ray-scaling-"))
    rows, texts, load_before = [], {}, common.loadavg()
    runs = [("local", Executor())] + [
        (f"ray, {n} replica(s)", Executor("ray", replicas=n, cpus_per_replica=args.cpus_per_replica))
        for n in args.replicas
    ]
    try:
        for label, ex in runs:
            t0 = time.perf_counter()
            recs = run_stage_on(
                ex,
                JsonlStore(work / f"{label.replace(' ', '_').replace(',', '')}.jsonl"),
                items,
                spec,
                batch_size=args.batch_size,
                desc=label,
            )
            took = time.perf_counter() - t0
            tokens = sum(r["tokens"] for r in recs)
            texts[label] = [r["response"] for r in recs]
            row = {
                "path": label,
                "rows": len(recs),
                "tokens": tokens,
                "seconds": round(took, 2),
                "rows_per_s": round(len(recs) / took, 3),
                "load": common.loadavg(),
            }
            if ex.kind == "ray":
                first = ex.last["first_batch_s"]
                steady = (len(recs) - args.batch_size) / max(ex.last["seconds"] - first, 1e-9)
                row.update(
                    replicas=ex.replicas,
                    replicas_used=len(ex.last["replicas_used"]),
                    first_batch_s=first,
                    steady_rows_per_s=round(steady, 3),
                )
            rows.append(row)
            print(row)
    finally:
        shutdown()
        shutil.rmtree(work, ignore_errors=True)
    ray_rows = [r for r in rows if r.get("replicas")]
    base = next((r for r in ray_rows if r["replicas"] == 1), None)
    top = max(ray_rows, key=lambda r: r["replicas"], default=None)
    scaling = None
    if base and top and top is not base:
        scaling = {
            "replicas": top["replicas"],
            "end_to_end": round(top["rows_per_s"] / base["rows_per_s"], 2),
            "steady_state": round(top["steady_rows_per_s"] / base["steady_rows_per_s"], 2),
        }
        print(
            f"scaling {top['replicas']} replicas over 1: {scaling['end_to_end']}x end to end, "
            f"{scaling['steady_state']}x after the first batch"
        )
    identical = len({tuple(t) for t in texts.values()}) == 1
    print("greedy text identical across all runs:", identical)
    common.write(
        "ray_scaling",
        {
            "model": args.model,
            "max_tokens": args.max_tokens,
            "batch_size": args.batch_size,
            "cpus_per_replica": args.cpus_per_replica,
            "ray": md.version("ray"),
            "load_before": load_before,
            "rows": rows,
            "scaling": scaling,
            "identical_text": identical,
        },
    )


if __name__ == "__main__":
    main()
