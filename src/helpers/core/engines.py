"""Engine settings: vLLM settings, CPU thread counts, giving memory back, and finding a suite's shared servers.

    from helpers.core import engines
    engines.configure(gpu_memory_utilization=0.85, max_model_len=4096, tensor_parallel_size=1, torch_threads=0)

    with Generator(model, backend="vllm") as gen:      # or gen.release(): the engine stops, memory comes back
        outs = gen.generate(prompts, Sampling())
    vllm_engines.release_all()                          # every vLLM engine and every cached transformers model

**Settings** (``configure``; 0 = the default): the vLLM engine's ``gpu_memory_utilization`` (on a CPU
build: the fraction of RAM for the KV cache), ``max_model_len`` and ``tensor_parallel_size`` are used by
every Generator, LogProbScorer and local Judge built afterwards without explicit values. Environment
variables give the same defaults to processes nobody configures: ``HELPERS_VLLM_GPU_UTIL``,
``HELPERS_VLLM_MAX_MODEL_LEN``, ``HELPERS_VLLM_TP``, ``HELPERS_TORCH_THREADS``.

**Threads**: torch's OpenMP pool with as many threads as cores stalls at its barriers when other
processes hold the cores (each barrier waits for the slowest, descheduled thread). ``torch_threads``
0 picks the count from the cores this process may actually use (``os.sched_getaffinity`` and the
cgroup quota) minus the run queue other processes keep busy (the 1-minute load average).

**Shared servers** (``helpers.run suite``): the runner starts one vLLM OpenAI-compatible server per
model on 127.0.0.1 (``serving.suite_engines``) and exports ``HELPERS_VLLM_SERVERS`` = ``{model path: base
URL}``; a Generator, LogProbScorer or Judge whose backend resolves to vLLM for that model talks to the server instead of
starting its own engine, so a suite pays each model's start-up once.
"""

from __future__ import annotations

import gc
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, fields

SERVERS_ENV = "HELPERS_VLLM_SERVERS"
THREADS_ENV = "HELPERS_TORCH_THREADS"


class Releasable:
    """``with Helper(...) as h:`` gives the memory back at the end: the Generator, LogProbScorer and local
    Judge define ``release()``; this mixin makes each of them a context manager that calls it."""

    def release(self) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.release()


@dataclass(frozen=True)
class EngineSettings:
    gpu_memory_utilization: float = 0.0  # 0: 0.85 on a GPU, 0.3 of RAM for the KV cache on a CPU build
    max_model_len: int = 0  # 0: each helper's own default (2048)
    tensor_parallel_size: int = 0  # 0: 1
    torch_threads: int = 0  # 0: chosen from the cores actually available (``choose_threads``)


_configured = EngineSettings()


def _env_settings() -> EngineSettings:
    def num(name, cast):
        raw = os.environ.get(name, "").strip()
        try:
            return cast(raw) if raw else 0
        except ValueError:
            raise ValueError(f"environment variable {name}={raw!r} is not a number") from None

    return EngineSettings(
        num("HELPERS_VLLM_GPU_UTIL", float),
        num("HELPERS_VLLM_MAX_MODEL_LEN", int),
        num("HELPERS_VLLM_TP", int),
        num(THREADS_ENV, int),
    )


def settings() -> EngineSettings:
    """The effective settings: values given to ``configure`` win over the environment; 0 means the default."""
    env = _env_settings()
    return EngineSettings(
        **{f.name: getattr(_configured, f.name) or getattr(env, f.name) for f in fields(EngineSettings)}
    )


def configure(
    gpu_memory_utilization: float = 0.0, max_model_len: int = 0, tensor_parallel_size: int = 0, torch_threads: int = 0
) -> EngineSettings:
    """Set this process's engine defaults (a notebook calls it with its params) and apply the thread count."""
    global _configured
    if not 0 <= gpu_memory_utilization <= 1:
        raise ValueError(f"gpu_memory_utilization must be in [0, 1] (0: default), not {gpu_memory_utilization}")
    for name, value in (
        ("max_model_len", max_model_len),
        ("tensor_parallel_size", tensor_parallel_size),
        ("torch_threads", torch_threads),
    ):
        if int(value) != value or value < 0:
            raise ValueError(f"{name} must be a whole number >= 0 (0: default), not {value!r}")
    _configured = EngineSettings(
        float(gpu_memory_utilization), int(max_model_len), int(tensor_parallel_size), int(torch_threads)
    )
    apply_threads(torch_threads)
    return settings()


def reset() -> None:
    """Forget ``configure``'s values (tests)."""
    global _configured
    _configured = EngineSettings()


def vllm_kwargs(on_gpu: bool, gpu_memory_utilization: float | None = None) -> dict:
    """``gpu_memory_utilization`` for an engine: the argument, else the settings, else 0.85 (GPU) / 0.3 (CPU)."""
    util = gpu_memory_utilization or settings().gpu_memory_utilization or (0.85 if on_gpu else 0.3)
    return {"gpu_memory_utilization": float(util)}


def pick(value, setting_name: str, default):
    """An explicit argument, else the configured/env setting, else the helper's default."""
    if value:
        return value
    return getattr(settings(), setting_name) or default


# --------------------------------------------------------------------------- CPU threads
def available_cores() -> int:
    """Cores this process may run on: the affinity mask, capped by a cgroup v2 CPU quota when one is set."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.floor(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def choose_threads(requested: int = 0, load: float | None = None) -> int:
    """Threads for torch: ``requested`` if > 0, else ``HELPERS_TORCH_THREADS``, else the free cores.

    Free cores = available cores minus the cores other processes keep busy (``busy_cores``), at least 1. On a busy machine this is 1: one thread never waits at an OpenMP barrier for a
    descheduled sibling.
    """
    if requested and requested > 0:
        return int(requested)
    env = os.environ.get(THREADS_ENV, "").strip()
    if env and env != "0":
        return max(1, int(env))
    cores = available_cores()
    if load is None:
        load = busy_cores()
    return max(1, min(cores, cores - math.floor(load + 0.5)))


def busy_cores(samples: int = 5) -> float:
    """How many cores other processes keep busy: the larger of the 1-minute load average and the number of
    runnable tasks right now (median of a few samples of /proc/loadavg, this process's own thread excluded).
    The instantaneous count sees a load that started seconds ago, which the 1-minute average still hides."""
    try:
        avg = os.getloadavg()[0]
    except OSError:
        avg = 0.0
    now = []
    for i in range(samples):
        try:
            with open("/proc/loadavg") as f:
                now.append(max(0, int(f.read().split()[3].split("/")[0]) - 1))
        except (OSError, ValueError, IndexError):
            break
        if i + 1 < samples:
            time.sleep(0.02)
    return max(avg, sorted(now)[len(now) // 2] if now else 0.0)


_applied: int | None = None


def apply_threads(requested: int = 0) -> int:
    """Set torch's intra-op thread count (``choose_threads``); returns it."""
    global _applied
    n = choose_threads(requested or settings().torch_threads)
    import torch

    torch.set_num_threads(n)
    _applied = n
    return n


def ensure_threads() -> None:
    """Apply the thread choice once per process (the first model load calls this), unless already applied."""
    if _applied is None:
        apply_threads(0)


# --------------------------------------------------------------------------- giving memory back
def free_memory() -> None:
    gc.collect()
    if on_gpu():
        import torch

        torch.cuda.empty_cache()


def run_in_batches(
    n: int, batch_size: int, process: Callable[[int, int], None], on_shrink: Callable[[int], None] | None = None
) -> int:
    """``process(start, stop)`` over ``range(n)`` in consecutive batches of ``batch_size``; a batch that runs out of
    GPU memory is run again at half the size (``on_shrink(new size)`` is told), down to 1, where the error is raised.
    Returns the batch size that worked last (a caller keeps it for its next call)."""
    import torch

    start = 0
    while start < n:
        stop = min(n, start + batch_size)
        try:
            process(start, stop)
        except torch.cuda.OutOfMemoryError:
            if batch_size == 1:
                raise
            torch.cuda.empty_cache()
            batch_size = max(1, batch_size // 2)
            if on_shrink is not None:
                on_shrink(batch_size)
            continue
        start = stop
    return batch_size


def on_gpu() -> bool:
    """Whether this process sees a CUDA GPU (False when torch is not installed)."""
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


# --------------------------------------------------------------------------- shared servers (suite runs)
def shared_servers() -> dict[str, str]:
    """``{model path: base URL}`` of the servers a suite run started for this process (empty when none)."""
    raw = os.environ.get(SERVERS_ENV, "").strip()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(f"{SERVERS_ENV} is not JSON: {raw[:80]!r}") from None
    return {str(k): str(v) for k, v in data.items()}


def server_for(path: str) -> str | None:
    """The base URL of a shared server for the model at ``path``, if the suite started one."""
    servers = shared_servers()
    if path in servers:
        return servers[path]
    real = os.path.realpath(path) if os.path.exists(path) else path
    for key, url in servers.items():
        if (os.path.realpath(key) if os.path.exists(key) else key) == real:
            return url
    return None


__all__ = [
    "EngineSettings",
    "configure",
    "settings",
    "reset",
    "vllm_kwargs",
    "pick",
    "available_cores",
    "choose_threads",
    "apply_threads",
    "ensure_threads",
    "free_memory",
    "run_in_batches",
    "on_gpu",
    "shared_servers",
    "server_for",
]
