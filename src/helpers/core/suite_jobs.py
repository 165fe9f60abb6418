"""A suite's notebooks side by side (``helpers.run suite --jobs N``): each in its own ``helpers.run`` process.

A notebook starts once every notebook whose outputs it reads (``runs.suite_needs``) has finished, at most
``jobs`` at a time, in suite order; while the shared servers start, the notebooks that use none of them run. Each child gets the suite's shared vLLM servers that it would use
(``HELPERS_VLLM_SERVERS``, as in a sequential suite) and picks its torch threads from the cores free at its
start (``engines.choose_threads``), so two notebooks on two cores take one each instead of fighting over both.
A child's console output (papermill's progress, its engine logs) goes to ``<outputs>/<notebook>/<profile>.log``;
its run folder is the one a sequential suite writes. An interrupt stops every child (``terminate_descendants``
in the runner's signal handler).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

from .engines import SERVERS_ENV
from .serving import notebook_servers


def child_command(
    nb: str, files: list, overrides: list, profile: str, outputs: Path, report: str, rehearse: bool
) -> list[str]:
    """The ``helpers.run`` command line that runs one notebook of the suite exactly as the suite would."""
    cmd = [
        sys.executable,
        "-m",
        "helpers.run",
        nb,
        "--run-name",
        profile,
        "--outputs",
        str(outputs),
        "--report",
        report,
    ]
    cmd += [x for f in files for x in ("-f", str(f))] + [x for o in overrides for x in ("-p", o)]
    return cmd + (["--rehearse"] if rehearse else [])


def run_side_by_side(
    plan: list,
    needs: dict[str, set[str]],
    jobs: int,
    profile: str,
    overrides: list,
    outputs: Path,
    report: str,
    rehearse: bool,
    servers: dict[str, str] | Future,
    booting: Sequence[str] = (),
) -> list[dict]:
    """Run ``plan`` ((notebook path, params files, params) in suite order) with up to ``jobs`` at once; one
    result per notebook (notebook, dir, ok, error, seconds), in plan order. ``servers``: the shared servers, or a
    Future of them while they start (models ``booting``): a notebook that would use one of those models waits for
    it, the others start at once."""
    pending = list(plan)
    waiting_for = {m: "" for m in booting}
    running: dict[str, tuple[subprocess.Popen, float, object]] = {}
    results: dict[str, dict] = {}
    while pending or running:
        up = servers if isinstance(servers, dict) else servers.result() if servers.done() else None
        for item in list(pending):  # start what may start, in suite order
            nb, files, params = item
            if len(running) >= jobs:
                break
            if not needs.get(nb.stem, set()) <= set(results):
                continue
            if up is None and notebook_servers(waiting_for, params):
                continue  # its shared server is still starting
            pending.remove(item)
            mine = notebook_servers(up or {}, params)
            env = {k: v for k, v in os.environ.items() if k != SERVERS_ENV}
            if mine:
                env[SERVERS_ENV] = json.dumps(mine)
            log_path = Path(outputs) / nb.stem / f"{profile}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(log_path, "w")
            proc = subprocess.Popen(
                child_command(nb.stem, files, overrides, profile, outputs, report, rehearse),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=os.getcwd(),
            )
            running[nb.stem] = (proc, time.time(), log)
            print(f"=== {nb.stem} ({profile}) started; log {log_path}", flush=True)
        time.sleep(0.5)
        for name, (proc, start, log) in list(running.items()):
            if proc.poll() is None:
                continue
            log.close()
            del running[name]
            ok = proc.returncode == 0
            error = "" if ok else _last_error(Path(outputs) / name / f"{profile}.log", proc.returncode)
            results[name] = {
                "notebook": name,
                "dir": Path(outputs) / name / profile,
                "ok": ok,
                "error": error,
                "seconds": time.time() - start,
            }
            print(
                f"=== {name} {'finished' if ok else 'FAILED'} in {results[name]['seconds']:.0f} s"
                + (f": {error}" if error else ""),
                flush=True,
            )
    return [results[nb.stem] for nb, _, _ in plan]


def _last_error(log_path: Path, code: int) -> str:
    """The child's ``error:`` line (the runner prints one per failure), else its exit code."""
    lines = [x for x in log_path.read_text(errors="replace").splitlines() if x.startswith(("error:", "!!!"))]
    return " ".join(lines[-1].split())[:300] if lines else f"exit code {code} (log {log_path})"
