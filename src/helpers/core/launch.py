"""Running a TRL stage: in this process or under ``accelerate launch`` (the launcher every trainer uses).

    result = run_training("dpo", model, dataset, out_dir, opts, {"max_steps": 100, "learning_rate": 1e-6, ...})

``run_training`` builds the job spec, resumes or reuses ``out_dir`` (``training.resumable``) and runs
``train_job`` here (``opts.launcher == "local"``) or through ``launch``; ``run_launched`` runs any job module
(ours, or an experiment's own, e.g. tulu's PPO) under a ``launch_command`` and reads its result back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from . import train_job
from .models import resolve_model
from .serving import free_port
from .store import atomic_write_json, read_json
from .training import (
    KINDS,
    REPO_ROOT,
    TrainingError,
    TrainOptions,
    accelerate_config,
    accelerate_settings,
    finished,
    resumable,
    stage_key,
)


def run_training(
    kind: str, model: str, dataset, out_dir: str | Path, opts: TrainOptions, config: dict, timeout: float | None = None
) -> dict:
    """Train ``model`` on ``dataset`` with the TRL trainer of ``kind`` (sft | dpo | simpo | reward), in this
    process (``opts.launcher == "local"``) or under ``accelerate launch`` (a subprocess that runs
    ``helpers.core.train_job``). ``config`` is passed to the TRL ``*Config`` (max_steps, learning_rate,
    per_device_train_batch_size, max_length, beta, seed, ...). The model lands in ``out_dir``; a finished
    ``out_dir`` with the same key is reused, an interrupted run resumes from its last checkpoint.

    Returns {"history", "resumed_from", "global_step", "processes" (as the job saw them), "seconds",
    "launcher", "n_examples"}.
    """
    if kind not in KINDS:
        raise TrainingError(f"unknown training kind {kind!r}: choose one of {', '.join(KINDS)}")
    opts.check()
    if len(dataset) == 0:
        raise ValueError(f"{kind}: the training set is empty, nothing to train on")
    out_dir = Path(out_dir)
    key = stage_key(kind, model, dataset, opts, config)
    if finished(out_dir, key) and (out_dir / "train_result.json").is_file():
        return read_json(out_dir / "train_result.json")
    start = time.perf_counter()
    with resumable(out_dir, key) as work:
        spec = {
            "kind": kind,
            "model": resolve_model(model),
            "work": str(work.path),
            "final": str(work.final),
            "options": asdict(opts),
            "config": config,
            "result": str(work.path / "result.json"),
        }
        if opts.launcher == "local":
            result = train_job.run(spec, dataset=dataset)
        else:
            spec["data"] = str(work.path / "data")
            if not (work.path / "data" / "dataset_info.json").is_file():
                _as_dataset(dataset).save_to_disk(spec["data"])
            result = launch(spec, opts, timeout=timeout)
        result.update(seconds=round(time.perf_counter() - start, 1), launcher=opts.launcher, n_examples=len(dataset))
        atomic_write_json(work.final / "train_result.json", result)
    return result


def _as_dataset(dataset):
    if isinstance(dataset, list):
        from datasets import Dataset

        return Dataset.from_list(dataset)
    return dataset


def launch_command(spec_path: str | Path, opts: TrainOptions, module: str = "helpers.core.train_job") -> list[str]:
    """``accelerate launch --config_file <cfg> [--num_processes N] -m <module> <spec>`` (``spec`` in the work folder).

    A CPU config (``use_cpu: true``) with ``num_processes`` > 1: ``accelerate launch`` starts several CPU processes
    only through ``mpirun``, so the job goes through accelerate's torchrun path (a MULTI_GPU config written into
    the work folder, a free loopback port) and each process asks its ``Accelerator`` for the CPU (gloo)."""
    cfg_path, cfg, n = accelerate_config(opts.launcher), accelerate_settings(opts.launcher), opts.processes()
    extra = []
    if cfg.get("use_cpu") and n > 1:  # several CPU processes through accelerate's torchrun path (see above)
        import yaml

        multi = {**cfg, "distributed_type": "MULTI_GPU", "use_cpu": False, "num_processes": n, "gpu_ids": "all"}
        cfg_path = Path(spec_path).parent / "accelerate-multi-cpu.yaml"
        cfg_path.write_text(yaml.safe_dump(multi), encoding="utf-8")
        extra = ["--main_process_port", str(free_port())]
    elif n != int(cfg.get("num_processes") or 1):  # fewer GPUs here than the config was written for
        extra = ["--num_processes", str(n)]
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(cfg_path),
        *extra,
        "-m",
        module,
        str(spec_path),
    ]


def launch(spec: dict, opts: TrainOptions, timeout: float | None = None) -> dict:
    """Write ``spec`` as JSON into its work folder, run the job under ``accelerate launch``, wait, and
    return the result the job wrote (its output goes to ``work/launch.log``; a failure raises with the
    last lines of it)."""
    return run_launched(
        spec, lambda spec_path: launch_command(spec_path, opts), f"accelerate launch ({opts.launcher})", timeout
    )


def run_launched(spec: dict, command: Callable[[Path], list[str]], what: str, timeout: float | None = None) -> dict:
    """Write ``spec`` to ``<work>/job.json``, run ``command(spec_path)`` with this checkout's ``src`` on the
    PYTHONPATH and its output in ``<work>/launch.log``, and return the result the job wrote; a failure raises
    with the log's last lines."""
    work = Path(spec["work"])
    spec_path = work / "job.json"
    atomic_write_json(spec_path, spec)
    Path(spec["result"]).unlink(missing_ok=True)
    env = dict(os.environ)
    src = str(REPO_ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    log_path = work / "launch.log"
    with open(log_path, "ab") as log:
        proc = subprocess.run(command(spec_path), stdout=log, stderr=subprocess.STDOUT, env=env, timeout=timeout)
    if proc.returncode != 0 or not Path(spec["result"]).is_file():
        tail = log_path.read_text(errors="replace").strip().splitlines()[-15:]
        raise RuntimeError(f"{what} failed with exit code {proc.returncode}; log {log_path}:\n" + "\n".join(tail))
    return read_json(spec["result"])
