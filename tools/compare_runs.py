"""Compare two quick-suite runs: are the metrics and stage files the same? (issue #23: behaviour unchanged)

    python tools/compare_runs.py BEFORE_OUTPUTS AFTER_OUTPUTS [--run quick] [--json out.json]

For every notebook present in both ``outputs`` folders, compares ``<nb>/<run>/metrics.json`` (numbers within a
relative 1e-6, everything else exactly; wall times, speeds and dates are skipped) and every stage file under
``<nb>/<run>/data/`` (JSONL records joined by ``id``, CSV rows as text; timing fields skipped; a file's key hash is
dropped from its name, since keys hold absolute paths and differ between clones). Prints one line per
notebook and, for what differs, the first differing keys; exit code 0 either way (it reports, it does not judge).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
from pathlib import Path

VOLATILE = (
    "seconds",
    "second",
    "_s",
    "time",
    "speed",
    "per_s",
    "elapsed",
    "started",
    "finished",
    "date",
    "commit",
    "created",
)


def volatile(key: str) -> bool:
    k = key.lower()
    return any(k.endswith(v) or k.startswith(v) or f"{v}_" in k for v in VOLATILE)


def differences(a, b, path: str = "") -> list[str]:
    """Paths where ``a`` and ``b`` differ (numbers within a relative 1e-6, volatile keys skipped)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if volatile(str(k)):
                continue
            if k not in a or k not in b:
                out.append(f"{path}.{k} only {'after' if k in b else 'before'}")
            else:
                out += differences(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path} length {len(a)} -> {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool) and not isinstance(b, bool):
        if (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12):
            return []
        return [f"{path}: {a} -> {b}"]
    return [] if a == b else [f"{path}: {str(a)[:60]!r} -> {str(b)[:60]!r}"]


def read_stage(path: Path):
    if path.suffix == ".jsonl":
        recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if recs and all(isinstance(r, dict) and "id" in r for r in recs):
            return {str(r["id"]): r for r in recs}  # joined by id, never by position
        return recs
    if path.suffix == ".csv":
        with path.open(newline="") as f:
            return list(csv.reader(f))
    if path.suffix == ".json":
        return json.loads(path.read_text())
    return None


KEY_HASH = re.compile(r"-[0-9a-f]{10}(?=[./]|$)")


def stage_files(run_dir: Path) -> dict[str, Path]:
    """{name: path} of a run's stage files; a stage file's key hash is dropped from its name when that leaves the
    name unique (keys hold absolute paths, so the same stage in another clone has another hash)."""
    files = {p.relative_to(run_dir).as_posix(): p for p in (run_dir / "data").rglob("*") if p.is_file()}
    bare: dict[str, list[str]] = {}
    for name in files:
        bare.setdefault(KEY_HASH.sub("", name), []).append(name)
    return {(b if len(names) == 1 else n): files[n] for b, names in bare.items() for n in names}


def compare_notebook(before: Path, after: Path) -> dict:
    """{metrics: [differences], stages: {file: [differences]}, only_before, only_after} for one run folder."""
    out = {"metrics": [], "stages": {}, "only_before": [], "only_after": []}
    mb, ma = before / "metrics.json", after / "metrics.json"
    if mb.exists() and ma.exists():
        out["metrics"] = differences(json.loads(mb.read_text()), json.loads(ma.read_text()))
    files_b = stage_files(before)
    files_a = stage_files(after)
    out["only_before"] = sorted(set(files_b) - set(files_a))
    out["only_after"] = sorted(set(files_a) - set(files_b))
    for name in sorted(set(files_b) & set(files_a)):
        x, y = read_stage(files_b[name]), read_stage(files_a[name])
        if x is None:
            continue
        diff = differences(x, y)
        if diff:
            out["stages"][name] = diff
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--run", default="quick", help="the run folder name under each notebook (default: quick)")
    ap.add_argument("--json", type=Path, help="also write the whole comparison here")
    args = ap.parse_args(argv)
    names = sorted(
        p.name for p in args.before.iterdir() if (p / args.run).is_dir() and (args.after / p.name / args.run).is_dir()
    )
    report = {}
    for name in names:
        r = report[name] = compare_notebook(args.before / name / args.run, args.after / name / args.run)
        same = not (r["metrics"] or r["stages"] or r["only_before"] or r["only_after"])
        n_files = len(r["stages"]) + len(r["only_before"]) + len(r["only_after"])
        print(
            f"{name:<22} "
            + ("same metrics and stage files" if same else f"{len(r['metrics'])} metrics differ, {n_files} stage files")
        )
        for d in r["metrics"][:5]:
            print(f"    metrics{d}")
        for f, diffs in list(r["stages"].items())[:3]:
            print(f"    {f}: {len(diffs)} differences, e.g. {diffs[0][:110]}")
        for f in r["only_before"][:3] + r["only_after"][:3]:
            print(f"    {f}: {'only before' if f in r['only_before'] else 'only after'}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
