"""The job every process of our PPO runs under ``accelerate launch`` (``ppo_train.launch`` starts it).

    python -m accelerate.commands.launch --config_file configs/accelerate/ddp.yaml -m helpers.tulu.ppo_launch work/job.json

``train_ppo`` (``ppo_train``) calls ``ppo_train.launch`` when ``train_launcher`` is ``accelerate-<config>``: the job spec
goes to ``<work>/job.json``, the processes run ``ppo_train.run_job`` under an ``Accelerator``, the log goes to
``<work>/launch.log`` and the main process's result is read back. The PPO loop is data parallel (DDP: every
process holds the whole policy and samples with it), so DeepSpeed / FSDP configs are refused.

A CPU config (``use_cpu: true``) with ``num_processes`` > 1 runs that many CPU processes (``launch.launch_command``
goes through accelerate's torchrun path, each process asks its ``Accelerator`` for the CPU): that is how the tests
run two processes on a machine without a GPU.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .ppo_train import run_job

MODULE = "helpers.tulu.ppo_launch"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(f"usage: python -m {MODULE} SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    from accelerate import Accelerator

    acc = Accelerator(cpu=spec.get("use_cpu", False))
    try:
        run_job(spec, accelerator=acc)
    finally:
        acc.end_training()  # destroys the process group (a process that exits with one open aborts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
