"""Run notebooks headlessly with papermill, one folder per run.

    python -m helpers.run 00_quickstart -f params/00_quickstart/quick.yaml -p max_tokens=32
    python -m helpers.run 01_magpie -f params/01_magpie/quick.yaml --report no-input   # code hidden
    python -m helpers.run suite --profile quick          # every notebook, dependency order
    python -m helpers.run suite --shared-engines auto    # one vLLM server per model for the whole suite
    python -m helpers.run suite --jobs 2                 # two notebooks at once, dependencies first

With ``--shared-engines auto``, a model that two or more notebooks of a suite would run through vLLM
(backend vllm or auto) is served once by a vLLM OpenAI-compatible server on 127.0.0.1
(``engines.suite_engines``); those notebooks' Generator, LogProbScorer and local Judge use it
(``HELPERS_VLLM_SERVERS``) instead of starting their own engine. The default is off: on this project's
2-core CPU it saved 1-17% of a 3-notebook suite, and one notebook generated more slowly through the server.

With ``--jobs N`` the suite runs up to N notebooks at once, each in its own ``helpers.run`` process
started once the notebooks whose outputs it reads have finished (``suite_jobs``); a child's console
output goes to ``outputs/<notebook>/<profile>.log``, its run folder is the one a sequential suite writes.

Before the kernel starts, params are checked against the notebook's parameters cell (unknown key,
wrong type, a value outside the range or choices its comment declares), models, data files and
endpoints are checked (helpers.core.precheck), and the run name must be a plain folder name: any of
these is one line on stderr and exit code 2. A run holds a lock on its folder, so a second run
with the same name refuses. A run writes ``outputs/<notebook>/<run-name>/``: the executed
notebook, report.html, params.yaml, metrics.json (from the notebook), environment.json and run.json
(status, timing, git commit); outputs/index.html lists every run. Re-running the same run name
resumes: the notebook's stages reuse what the killed run already finished. SIGINT or SIGTERM stop
the kernel and every engine process it started (exit code 130); a failed notebook exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from .params import PARAMS_DIR, ParamsError, list_notebooks, notebook_path, read_param_specs, resolve_params
from .precheck import precheck
from .provenance import environment_info, git_info
from .rehearsal import REHEARSAL_ENV
from .report import SUITE_RECORD, export_html, headline, write_index
from .run_guard import (
    check_outputs,
    check_run_name,
    install_signal_handlers,
    remove_stale_temporaries,
    run_lock,
    terminate_descendants,
)
from .runs import OUTPUTS, RUN_DIR_ENV, suite_needs, suite_order
from .serving import notebook_servers, servers_env, shared_engine_models, suite_engines
from .store import atomic_write_json, atomic_write_text, read_json

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class NotebookFailed(RuntimeError):
    """The notebook raised; the message names the cell and the error, the report shows the traceback."""


def _failure_message(exc: BaseException) -> str:
    ename, evalue = getattr(exc, "ename", type(exc).__name__), str(getattr(exc, "evalue", exc)).strip()
    cell = getattr(exc, "exec_count", None)
    where = f" in cell [{cell}]" if cell else ""
    return f"{ename}{where}: {evalue.splitlines()[0][:300] if evalue else ''}"


def profile_file(notebook: str, profile: str | None) -> list[str]:
    """``[params/<notebook>/<profile>.yaml]`` for ``--profile`` with one notebook (none without it)."""
    if not profile:
        return []
    path = PARAMS_DIR / Path(notebook).stem / f"{profile}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (PARAMS_DIR / Path(notebook).stem).glob("*.yaml"))
        raise ParamsError(
            f"{Path(notebook).stem} has no {profile} profile ({path}); profiles: {', '.join(known) or 'none'}"
        )
    return [str(path)]


def run_notebook(
    name: str,
    files: list[str] = (),
    overrides: list[str] = (),
    run_name: str | None = None,
    outputs: Path = OUTPUTS,
    progress: bool = True,
    report: str = "full",
    endpoint_timeout: float = 10.0,
    rehearse: bool = False,
) -> Path:
    """Validate, execute and export one notebook; returns its run folder.

    Bad params, a missing model or data file, an unreachable endpoint or a busy run folder raise
    ParamsError before the kernel starts. A failing notebook raises NotebookFailed after its report
    and run.json (status "failed") are written; an interrupt (SIGINT/SIGTERM) stops the kernel and
    its engine processes, marks the run "interrupted" and re-raises.
    """
    with _rehearsal(rehearse):
        return _run_notebook(name, files, overrides, run_name, outputs, progress, report, endpoint_timeout, rehearse)


@contextlib.contextmanager
def _rehearsal(on: bool) -> Iterator[None]:
    """Set HELPERS_REHEARSAL for the run (the kernel inherits it) and restore the environment afterwards."""
    before = os.environ.get(REHEARSAL_ENV)
    if on:
        os.environ[REHEARSAL_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(REHEARSAL_ENV, None)
        else:
            os.environ[REHEARSAL_ENV] = before


def _run_notebook(name, files, overrides, run_name, outputs, progress, report, endpoint_timeout, rehearse) -> Path:
    import papermill as pm

    nb = notebook_path(name)
    files = list(files)
    default_name = Path(files[-1]).stem if files else "default"
    if run_name is None:  # an empty --run-name is refused by check_run_name, never replaced by the default
        run_name = f"rehearse-{default_name}" if rehearse else default_name
    run_name = check_run_name(run_name)
    check_outputs(Path(outputs))
    if rehearse:  # see helpers.core.rehearsal: tiny stand-ins for hub models and data, counts cut
        cuts = PARAMS_DIR / nb.stem / "rehearse.yaml"
        files += [str(cuts)] if cuts.exists() else []
    params = resolve_params(nb, files, list(overrides))
    params = precheck(params, nb, endpoint_timeout)
    os.umask(0o022)  # run files are readable by colleagues
    outputs = Path(outputs)
    run_dir = outputs / nb.stem / run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run_dir):
        remove_stale_temporaries(run_dir)
        for stale in ("metrics.json", "report.html"):  # a failed rerun must not show the last run's results
            (run_dir / stale).unlink(missing_ok=True)
        atomic_write_text(run_dir / "params.yaml", yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
        atomic_write_json(run_dir / "environment.json", environment_info())
        status: dict[str, Any] = {
            "notebook": nb.stem,
            "run_name": run_name,
            "status": "running",
            "rehearsal": rehearse,
            "started_at": time.time(),
            "params_files": [str(f) for f in files],
            "overrides": list(overrides),
            "git": git_info(),
            "pid": os.getpid(),
        }
        atomic_write_json(run_dir / "run.json", status)
        executed = run_dir / f"{nb.stem}.ipynb"
        os.environ[RUN_DIR_ENV] = str(run_dir.resolve())
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")  # the engine's INFO lines drown papermill's progress
        failure: BaseException | None = None
        try:
            pm.execute_notebook(
                str(nb),
                str(executed),
                parameters=params,
                progress_bar=progress,
                kernel_name="python3",
                cwd=str(nb.parent),
                log_output=False,
            )
            status["status"] = "ok"
        except KeyboardInterrupt as exc:
            terminate_descendants()
            status.update(status="interrupted", error=f"interrupted ({exc or 'SIGINT'})")
            failure = exc
        except Exception as exc:  # papermill's execution error, a dead kernel, ...
            status.update(status="failed", error=_failure_message(exc))
            failure = exc
        finally:
            os.environ.pop(RUN_DIR_ENV, None)
            status.update(finished_at=time.time(), seconds=round(time.time() - status["started_at"], 1))
            if executed.exists():
                try:
                    warnings = export_html(
                        executed,
                        run_dir / "report.html",
                        params,
                        read_param_specs(nb),
                        exclude_input=report == "no-input",
                    )
                    status["warnings"] = len(warnings)
                except Exception as exc:  # a broken export must not hide the run's own status
                    status["report_error"] = f"{type(exc).__name__}: {exc}"[:300]
            atomic_write_json(run_dir / "run.json", status)
            write_index(outputs)
    if isinstance(failure, KeyboardInterrupt):
        raise failure
    if failure is not None:
        raise NotebookFailed(f"{nb.stem} failed: {status['error']} (report: {run_dir / 'report.html'})")
    return run_dir


def run_suite(
    profile: str = "quick",
    overrides: list[str] = (),
    only: list[str] = (),
    outputs: Path = OUTPUTS,
    report: str = "full",
    rehearse: bool = False,
    shared_engines: str = "off",
    jobs: int = 1,
) -> int:
    """Run every notebook's ``profile``. ``shared_engines`` "auto": a model that two or more notebooks run
    through vLLM is served once for the whole suite (``suite_engines``); "off": each notebook starts its own.
    ``jobs`` > 1: up to that many notebooks at once, each after the notebooks it reads (``suite_jobs``)."""
    check_run_name(profile)
    check_outputs(Path(outputs))
    if shared_engines not in ("auto", "off"):
        raise ParamsError(f"shared_engines must be auto or off, not {shared_engines!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParamsError(f"jobs must be a whole number >= 1, not {jobs!r}")
    with _rehearsal(rehearse):
        return _run_suite(profile, overrides, only, outputs, report, rehearse, shared_engines, jobs)


def _run_suite(profile, overrides, only, outputs, report, rehearse, shared_engines="off", jobs=1) -> int:
    started = time.time()
    notebooks = [nb for nb in list_notebooks() if not only or nb.stem in only]
    plan = []  # validate every notebook's params before running any of them
    for nb in notebooks:
        files = [PARAMS_DIR / nb.stem / f"{profile}.yaml"]
        if not files[0].exists():
            raise ParamsError(f"{nb.stem} has no {profile} profile ({files[0]})")
        cuts = (
            [PARAMS_DIR / nb.stem / "rehearse.yaml"]
            if rehearse and (PARAMS_DIR / nb.stem / "rehearse.yaml").exists()
            else []
        )
        params = resolve_params(nb, files + cuts, list(overrides))
        plan.append((nb, files, params))
    order = suite_order([(nb.stem, params) for nb, _, params in plan])  # a notebook after those whose outputs it reads
    plan.sort(key=lambda item: order.index(item[0].stem))
    shared = shared_engine_models([p for _, _, p in plan]) if shared_engines == "auto" else []
    if jobs == 1:
        with suite_engines(shared) as servers:
            results = _run_plan(plan, profile, overrides, outputs, report, rehearse, servers)
    else:
        from concurrent.futures import ThreadPoolExecutor

        from .suite_jobs import run_side_by_side

        needs = suite_needs([(nb.stem, params) for nb, _, params in plan])
        # the shared servers start in a thread (about a minute on a CPU) while the notebooks that need none run
        with contextlib.ExitStack() as servers_up, ThreadPoolExecutor(1) as boot:
            servers = boot.submit(servers_up.enter_context, suite_engines(shared))
            results = run_side_by_side(
                plan, needs, jobs, profile, list(overrides), Path(outputs), report, rehearse, servers, shared
            )
        write_index(Path(outputs))
    for r in results:
        metrics_file = r["dir"] / "metrics.json"
        r["headline"] = headline(read_json(metrics_file)) if metrics_file.exists() else {}
    total = time.time() - started  # engine start-up included
    atomic_write_json(
        Path(outputs) / SUITE_RECORD,
        {  # the index shows it: each notebook's wall time and the total
            "profile": profile,
            "rehearse": rehearse,
            "jobs": jobs,
            "shared_engines": shared_engines,
            "started_at": started,
            "seconds": round(total, 1),
            "notebooks": [
                {k: r[k] for k in ("notebook", "ok", "error")} | {"seconds": round(r["seconds"], 1)} for r in results
            ],
        },
    )
    write_index(Path(outputs))
    print(f"\nruns index: {Path(outputs) / 'index.html'}")
    for r in results:
        print(
            f"  {'ok    ' if r['ok'] else 'FAILED'} {r['notebook']:<24} {r['seconds']:6.0f} s  "
            f"{json.dumps(r['headline'], default=str)[:200]}"
        )
    how = "one after another" if jobs == 1 else f"up to {jobs} at once"
    print(f"  total {total:.0f} s wall: {len(results)} notebooks, {how}, shared engines {shared_engines}")
    return 0 if all(r["ok"] for r in results) else EXIT_FAILED


def _run_plan(plan, profile, overrides, outputs, report, rehearse, servers) -> list[dict]:
    results = []
    for nb, files, params in plan:
        print(f"\n=== {nb.stem} ({profile}) ===", flush=True)
        start = time.time()
        entry = {"notebook": nb.stem, "dir": Path(outputs) / nb.stem / profile, "ok": True, "error": ""}
        mine = notebook_servers(servers, params)
        try:
            with servers_env(mine):  # only notebooks that would run vLLM themselves use the shared engines
                run_notebook(
                    nb.stem,
                    [str(f) for f in files],
                    list(overrides),
                    run_name=profile,
                    outputs=outputs,
                    report=report,
                    rehearse=rehearse,
                )
        except (ParamsError, NotebookFailed) as exc:  # keep going: one broken notebook should not hide the others
            entry.update(ok=False, error=" ".join(str(exc).split())[:300])
            print(f"!!! {entry['error']}", file=sys.stderr)
        entry["seconds"] = time.time() - start
        results.append(entry)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m helpers.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("notebook", help="notebook name (e.g. 00_quickstart) or 'suite'")
    ap.add_argument("-f", "--file", action="append", default=[], help="params YAML (repeatable, later wins)")
    ap.add_argument("-p", "--param", action="append", default=[], help="key=value override (repeatable)")
    ap.add_argument("--run-name", help="run folder name (default: the last params file's stem)")
    ap.add_argument(
        "--profile",
        help="the params profile to run: params/<notebook>/<profile>.yaml, before any -f "
        "(suite: default quick; one notebook: default none, the parameters cell)",
    )
    ap.add_argument("--only", action="append", default=[], help="suite: run only these notebooks")
    ap.add_argument("--outputs", default=str(OUTPUTS), help="root folder for run folders")
    ap.add_argument(
        "--report",
        choices=["full", "no-input"],
        default="full",
        help="report.html with the code (full) or without it, for sharing (no-input)",
    )
    ap.add_argument(
        "--rehearse",
        action="store_true",
        help="rehearse a full profile on CPU: tiny stand-ins for hub models and data, counts cut (helpers.core.rehearsal)",
    )
    ap.add_argument(
        "--shared-engines",
        choices=["auto", "off"],
        default="off",
        help="suite: serve a model that several notebooks run through vLLM once, on 127.0.0.1 (auto), "
        "or let each notebook start its own engine (off)",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="suite: notebooks run at once, each after those whose outputs it reads (default 1: one after another)",
    )
    ap.add_argument(
        "--endpoint-timeout", type=float, default=10.0, help="seconds an endpoint has to answer the health check"
    )
    args = ap.parse_args(argv)
    install_signal_handlers()
    try:
        if args.notebook == "suite":
            return run_suite(
                args.profile or "quick",
                args.param,
                args.only,
                Path(args.outputs),
                args.report,
                args.rehearse,
                args.shared_engines,
                args.jobs,
            )
        files = [*profile_file(args.notebook, args.profile), *args.file]
        run_name = (
            args.run_name if args.run_name is not None else (args.profile if args.profile and not args.file else None)
        )
        run_dir = run_notebook(
            args.notebook,
            files,
            args.param,
            run_name,
            Path(args.outputs),
            report=args.report,
            endpoint_timeout=args.endpoint_timeout,
            rehearse=args.rehearse,
        )
    except ParamsError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except NotebookFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted: the kernel and its engine processes were stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"report: {run_dir / 'report.html'}")
    metrics = run_dir / "metrics.json"
    if metrics.exists():
        print(json.dumps(headline(read_json(metrics)), indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
