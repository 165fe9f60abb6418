"""Our PPO under ``accelerate launch``: which launchers suit it, the command, and the job every process runs.

    python -m accelerate.commands.launch --config_file configs/accelerate/ddp.yaml -m helpers.tulu.ppo_launch work/job.json

``train_ppo`` (``ppo_train``) calls ``launch`` when ``train_launcher`` is ``accelerate-<config>``: the job spec
goes to ``<work>/job.json``, the processes run ``ppo_train.run_job`` under an ``Accelerator``, the log goes to
``<work>/launch.log`` and the main process's result is read back. The PPO loop is data parallel (DDP: every
process holds the whole policy and samples with it), so DeepSpeed / FSDP configs are refused.

A CPU config (``use_cpu: true``) with ``num_processes`` > 1 runs that many CPU processes: ``accelerate launch``
starts several CPU processes only through ``mpirun``, so the job is launched through accelerate's torchrun path
(a MULTI_GPU config written into the work folder) and each process asks its ``Accelerator`` for the CPU
(gloo). That is how the tests run two processes on a machine without a GPU.
"""
from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

from ..core.training import TrainOptions, _load_yaml, accelerate_config, run_launched

MODULE = "helpers.tulu.ppo_launch"


def check_launcher(launcher: str) -> None:
    """ValueError when the launcher cannot run our PPO (sharded DeepSpeed / FSDP configs)."""
    cfg = _load_yaml(accelerate_config(launcher))
    if cfg.get("distributed_type") in ("DEEPSPEED", "FSDP"):
        raise ValueError(f"{launcher}: our PPO is data parallel (each process generates with the whole policy); "
                         "use accelerate-ddp on GPUs (or a CPU config), not a sharded DeepSpeed / FSDP one")


def processes(opts: TrainOptions) -> int:
    """How many processes ``opts.launcher`` starts for PPO (a CPU config: its ``num_processes``)."""
    cfg = _load_yaml(accelerate_config(opts.launcher))
    return max(1, int(cfg.get("num_processes") or 1)) if cfg.get("use_cpu") else opts.processes()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_command(spec_path: str | Path, opts: TrainOptions, work: Path) -> list[str]:
    """``accelerate launch --config_file <cfg> [--num_processes N] -m helpers.tulu.ppo_launch <spec>``."""
    cfg_path = accelerate_config(opts.launcher)
    cfg, n = _load_yaml(cfg_path), processes(opts)
    extra = []
    if cfg.get("use_cpu") and n > 1:  # several CPU processes through accelerate's torchrun path (see above)
        import yaml
        multi = {**cfg, "distributed_type": "MULTI_GPU", "use_cpu": False, "num_processes": n, "gpu_ids": "all"}
        cfg_path = work / "accelerate-multi-cpu.yaml"
        cfg_path.write_text(yaml.safe_dump(multi), encoding="utf-8")
        extra = ["--main_process_port", str(_free_port())]
    elif n != int(cfg.get("num_processes") or 1):  # fewer GPUs here than the config was written for
        extra = ["--num_processes", str(n)]
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(cfg_path), *extra,
            "-m", MODULE, str(spec_path)]


def launch(spec: dict, opts: TrainOptions, timeout: float | None = None) -> dict:
    """Run the PPO job ``spec`` under ``accelerate launch``, wait, return the main process's result."""
    check_launcher(opts.launcher)
    work = Path(spec["work"])
    cfg = _load_yaml(accelerate_config(opts.launcher))
    spec = {**spec, "use_cpu": bool(cfg.get("use_cpu"))}
    return run_launched(spec, lambda spec_path: launch_command(spec_path, opts, work),
                        f"accelerate launch of PPO ({opts.launcher})", timeout)


def curve_eval(curve: dict, tok):
    """The validation decode a launched job runs on its main process: ``{"kind": "quick", "tasks": [Task dicts]}``
    (the quick world's checkers) or ``{"kind": "english", "tasks": [...]}`` (the hub world's English checkers)."""
    if curve["kind"] == "quick":
        from .evaluate import by_category, evaluate_tasks
        from .tasks import Task
        tasks = [Task(**t) for t in curve["tasks"]]
        return lambda model: by_category(evaluate_tasks(model, tok, tasks))
    from .hub_eval import english_curve
    return lambda model: english_curve(model, tok, curve["tasks"])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(f"usage: python -m {MODULE} SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    from accelerate import Accelerator

    from .ppo_train import run_job
    acc = Accelerator(cpu=spec.get("use_cpu", False))
    try:
        run_job(spec, accelerator=acc)
    finally:
        acc.end_training()  # destroys the process group (a process that exits with one open aborts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
