"""Write the performance table of docs/performance.md from benchmarks/results/*.json (between the perf markers).

    .venv/bin/python benchmarks/update_readme.py [--check]

Every number in the table comes from a result file a benchmark script wrote (machine, versions and
load average included); nothing is typed by hand. ``--check`` exits 1 when the table is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
START, END = "<!-- perf-table:start (benchmarks/update_readme.py) -->", "<!-- perf-table:end -->"


def _machine(m: dict) -> str:
    pk = m.get("packages", {})
    vers = ", ".join(f"{k} {v}" for k, v in sorted(pk.items()))
    hw = m.get("gpu") or f"{m.get('cores')} cores of {m.get('cpu')}"
    return f"{hw}; {vers}"


def render() -> str:
    lines = ["| benchmark | path | result | load average | machine, versions | measured |", "|---|---|---|---|---|---|"]
    for f in sorted(RESULTS.glob("*.json")):
        r = json.loads(f.read_text())
        name, when, mach = r["benchmark"], r.get("when", ""), _machine(r.get("machine", {}))
        if name.startswith("logprobs"):
            for row in r["rows"]:
                lines.append(
                    f"| log-prob scoring ({r['model']}, {row['sequences']} pairs) | {row['path']} | "
                    f"{row['sequences_per_s']} sequences/s (start-up {row['startup_s']} s) | "
                    f"{r['load_before']} -> {row['load']} | {mach} | {when} |"
                )
            if not any(row["path"].startswith("vLLM") for row in r["rows"]):
                lines.append(
                    f"| log-prob scoring ({r['model']}) | vLLM prompt log-probs | not measured: vLLM is not "
                    f"installed on this machine | | {mach} | {when} |"
                )
            if r.get("max_token_diff") is not None:
                lines.append(
                    f"| log-prob agreement | vLLM vs transformers | max per-token difference "
                    f"{r['max_token_diff']:.1e} | | {mach} | {when} |"
                )
        elif name == "busy_cpu":
            alone = r["rows"][0]
            for row in r["rows"][1:]:
                lines.append(
                    f"| busy CPU, {r['background_procs']} busy processes on {r['cores']} cores | "
                    f"transformers, {row['phase']} ({row['threads']} thread(s)) | slowdown "
                    f"{row['slowdown_generate']}x generation, {row['slowdown_logprobs']}x log-probs "
                    f"(alone: {alone['generate_s']} s, {alone['logprobs_s']} s with {alone['threads']} thread(s)) | "
                    f"{alone['load']} alone, {row['load']} busy | {mach} | {when} |"
                )
        elif name.startswith("suite"):
            label = "quick suite" + (" (server with vLLM's API-server batch defaults)" if "api-server" in name else "")
            what = "all 10 notebooks" if r["notebooks"] == ["all"] else ", ".join(r["notebooks"])
            for row in r["rows"]:
                jobs = f", {row['jobs']} notebooks at once" if row.get("jobs", 1) > 1 else ""
                lines.append(
                    f"| {label} ({what}) | shared engines {row['shared_engines']}{jobs} | "
                    f"{row['seconds']} s wall | {row['load_before']} -> {row['load_after']} | {mach} | {when} |"
                )
            if len(r["rows"]) == 2:
                a, b = (row["seconds"] for row in r["rows"])
                how = (
                    "shared engines and --jobs vs one after another"
                    if r["rows"][1].get("jobs", 1) > 1
                    else "shared vs per-notebook engines"
                )
                lines.append(
                    f"| {label} ({what}) | {how} | {100 * (1 - b / a):.0f}% less wall time; "
                    f"{len(r.get('identical_stage_files', []))} stage files identical, "
                    f"{len(r.get('differing_stage_files', []))} differ | | | |"
                )
        elif name == "ray_scaling":
            for row in r["rows"]:
                extra = (
                    f" ({row['replicas_used']} of {row['replicas']} replica(s) got work; first batch after "
                    f"{row['first_batch_s']} s, then {row['steady_rows_per_s']} rows/s)"
                    if row.get("replicas")
                    else ""
                )
                lines.append(
                    f"| Ray executor, Magpie responses ({r['model']}, {row['rows']} rows, {r['max_tokens']} "
                    f"greedy tokens) | {row['path']} | {row['rows_per_s']} rows/s end to end{extra} | "
                    f"{r['load_before']} -> {row['load']} | {mach}, ray {r['ray']} | {when} |"
                )
            if r.get("scaling"):
                sc = r["scaling"]
                lines.append(
                    f"| Ray executor | {sc['replicas']} replicas over 1 | {sc['end_to_end']}x end to end, "
                    f"{sc['steady_state']}x after the first batch; same greedy text in every run: "
                    f"{'yes' if r.get('identical_text') else 'NO'} | | | |"
                )
        elif name == "cdr_sweep_cost":
            load = f"{r['loadavg_before']} -> {r['loadavg_after']}"
            lines.append(
                f"| CDR sweep cost ({r['args']['models']} {r['zoo']}, {r['examples']} examples) | "
                f"models scored once, pairs from the cached scores ({r['args']['executor']} executor) | "
                f"{r['summary']} | {load} | {mach} | {r['when']} |"
            )
        elif name.startswith("generation"):
            for row in r["rows"]:
                lines.append(
                    f"| generation | {row['path']} | {row['tokens_per_s']} tokens/s | {r.get('load_before', '')} | "
                    f"{mach} | {when} |"
                )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    readme = ROOT / "docs" / "performance.md"
    text = readme.read_text()
    if START not in text or END not in text:
        print(f"docs/performance.md has no {START} ... {END} block", file=sys.stderr)
        return 1
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{render()}\n{END}{tail}"
    if args.check:
        return 0 if new == text else 1
    readme.write_text(new)
    print(
        "docs/performance.md performance table written from", ", ".join(p.name for p in sorted(RESULTS.glob("*.json")))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
