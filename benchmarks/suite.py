"""Quick-suite wall time with per-notebook vLLM engines (``--shared-engines off``) and with one shared engine
per model (``--shared-engines auto``), one after the other in this session; ``mode:N`` also runs N notebooks
at once (``--jobs N``).

    .venv/bin/python benchmarks/suite.py [--only 00_quickstart --only 02_wildbench ...] [--profile quick]
    .venv/bin/python benchmarks/suite.py --order off,auto:2 --name suite-quick-all   # the whole quick suite

Each run goes to a fresh outputs folder (nothing resumed). Records wall seconds and the load average
before and after each, and checks that the greedy stages agree (the metrics files' headline values of
both runs are stored side by side). Writes ``benchmarks/results/suite-<profile>.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--order", default="off,auto", help="which runs, in order: off or auto, each optionally :jobs")
    ap.add_argument("--name", default="", help="results file name (default suite-<profile>)")
    ap.add_argument(
        "--reuse",
        action="append",
        default=[],
        help="mode:jobs of --order to take from the existing results file (a run already measured this "
        "session, its outputs folder still there) instead of running it again",
    )
    args = ap.parse_args()
    name = args.name or f"suite-{args.profile}"
    old = common.read(name) if args.reuse else {}
    rows = []
    for run in args.order.split(","):
        mode, _, jobs = run.partition(":")
        jobs = int(jobs or 1)
        if f"{mode}:{jobs}" in args.reuse or (jobs == 1 and mode in args.reuse):
            rows.append(next(r for r in old["rows"] if r["shared_engines"] == mode and r.get("jobs", 1) == jobs))
            print(f"shared engines {mode}, jobs {jobs}: {rows[-1]['seconds']} s (measured earlier, reused)", flush=True)
            continue
        out = Path(tempfile.mkdtemp(prefix=f"suite-{mode}-{jobs}-"))
        cmd = [
            sys.executable,
            "-m",
            "helpers.run",
            "suite",
            "--profile",
            args.profile,
            "--outputs",
            str(out),
            "--shared-engines",
            mode,
            "--jobs",
            str(jobs),
        ] + [x for nb in args.only for x in ("--only", nb)]
        before = common.loadavg()
        t = time.perf_counter()
        rc = subprocess.call(cmd, cwd=ROOT)
        took = time.perf_counter() - t
        from helpers.core.report import headline

        heads = {
            m.parent.parent.name: headline(json.loads(m.read_text())) for m in sorted(out.glob("*/*/metrics.json"))
        }
        runs = {
            m.parent.parent.name: round(json.loads(m.read_text()).get("seconds", 0), 1)
            for m in sorted(out.glob("*/*/run.json"))
        }
        rows.append(
            {
                "shared_engines": mode,
                "jobs": jobs,
                "seconds": round(took, 1),
                "rc": rc,
                "load_before": before,
                "load_after": common.loadavg(),
                "outputs": str(out),
                "notebook_seconds": runs,
                "headlines": heads,
            }
        )
        print(
            f"shared engines {mode}, jobs {jobs}: {took:.0f} s (rc {rc}), load {before} -> {common.loadavg()}",
            flush=True,
        )
    same, differ, unpaired = [], [], []
    if len(rows) == 2:  # the stages' records (JSONL under each run's data/), file by file
        a, b = (Path(r["outputs"]) for r in rows)
        for f in sorted(a.glob("*/*/data/*.jsonl")):
            g = b / f.relative_to(a)
            if not g.exists():  # a store keyed by a model folder inside the run (05's derived models): named apart
                unpaired.append(str(f.relative_to(a)))
            else:
                (same if g.read_bytes() == f.read_bytes() else differ).append(str(f.relative_to(a)))
        print(f"identical stage files: {len(same)}; differing: {differ}; unpaired: {len(unpaired)}")
    common.write(
        name,
        {
            "notebooks": args.only or ["all"],
            "rows": rows,
            "identical_stage_files": same,
            "differing_stage_files": differ,
            "unpaired_stage_files": unpaired,
        },
    )


if __name__ == "__main__":
    main()
