"""How fast and in how much memory 10_wildchat's analyses that need no LLM run over a large WildChat file.

    .venv/bin/python benchmarks/wildchat_scale.py                      # 20,000 and 100,000 conversations
    .venv/bin/python benchmarks/wildchat_scale.py --sizes 200000 --keep

For each size the generator (tools/make_wildchat_fixture.py) writes a file in WildChat's full schema; a fresh
process then makes the notebook's pass over it (``helpers.wildchat.scan.scan_corpus``: only the columns it reads,
the corpus counts with the embedded model's tokenizer, toxicity / jailbreaks / redactions / PII, rule
categories, the fixed-size samples and the prompt candidates file), and the langdetect check of a fixed
2,000-turn sample. Reported: conversations per second (wall and per CPU second), the peak resident memory of that
process, and the full release's time by extrapolation (1,039,785 conversations). Results:
``benchmarks/results/wildchat_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import loadavg, write  # noqa: E402

FULL_RELEASE = 1_039_785
LANG_SAMPLE = 2000


def measure(path: str) -> dict:
    """The pass in this process (run as a child): timings and peak memory."""
    from helpers.core.hf import load_tokenizer
    from helpers.core.models import resolve_model
    from helpers.wildchat.language import detect_sample
    from helpers.wildchat.load import iter_records
    from helpers.wildchat.scan import SCAN_COLUMNS, scan_corpus

    tok = load_tokenizer(resolve_model("smollm2-135m-instruct"))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu0, t0 = time.process_time(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = scan_corpus(
            iter_records(path, SCAN_COLUMNS),
            tok,
            Path(tmp) / "candidates.jsonl",
            n_lang_sample=LANG_SAMPLE,
            n_prompt_sample=2000,
        )
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    t1 = time.perf_counter()
    detect_sample(out["lang_sample"])
    n = out["corpus"]["conversations"]
    return {
        "conversations": n,
        "users": out["corpus"]["users"],
        "scan_seconds": round(wall, 1),
        "scan_cpu_seconds": round(cpu, 1),
        "conversations_per_s": round(n / wall),
        "conversations_per_cpu_s": round(n / cpu),
        "langdetect_seconds": round(time.perf_counter() - t1, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_before_scan_mb": round(rss_before),
        "file_mb": round(os.path.getsize(path) / 2**20),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20000, 100000])
    ap.add_argument("--dir", default=tempfile.gettempdir(), help="where the generated files go")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    from helpers.wildchat.offline_data import write_fixture

    rows, load_before = [], loadavg()
    for n in args.sizes:
        path = Path(args.dir) / f"wildchat_bench_{n}.jsonl"
        t0 = time.perf_counter()
        write_fixture(path, n=n, seed=1)
        gen = time.perf_counter() - t0
        proc = subprocess.run(
            [sys.executable, __file__, "--measure", str(path)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        row = {**json.loads(proc.stdout.strip().splitlines()[-1]), "generate_seconds": round(gen, 1)}
        row["full_release_minutes_extrapolated"] = round(FULL_RELEASE / row["conversations_per_s"] / 60, 1)
        rows.append(row)
        print(json.dumps(row))
        if not args.keep:
            path.unlink()
            path.with_suffix(".expected.json").unlink(missing_ok=True)
    write(
        "wildchat_scale",
        {
            "load_before": load_before,
            "load_after": loadavg(),
            "rows": rows,
            "note": "scan = the notebook's pass without LLM or embedder; peak_rss_mb of a fresh "
            "process "
            "(the tokenizer and imports included: rss_before_scan_mb)",
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
