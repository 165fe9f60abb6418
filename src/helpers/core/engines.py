"""Engine lifecycle: vLLM settings, giving memory back, CPU thread counts, and suite-wide shared servers.

    from helpers.core import engines
    engines.configure(gpu_memory_utilization=0.85, max_model_len=4096, tensor_parallel_size=1, torch_threads=0)

    with Generator(model, backend="vllm") as gen:      # or gen.release(): the engine stops, memory comes back
        outs = gen.generate(prompts, Sampling())
    engines.release_all()                               # every vLLM engine and every cached transformers model

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
model on 127.0.0.1 and exports ``HELPERS_VLLM_SERVERS`` = ``{model path: base URL}``; a Generator,
LogProbScorer or Judge whose backend resolves to vLLM for that model talks to the server instead of
starting its own engine, so a suite pays each model's start-up once.
"""
from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import sys
import time
from dataclasses import dataclass, fields
from typing import Iterator

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
    return EngineSettings(num("HELPERS_VLLM_GPU_UTIL", float), num("HELPERS_VLLM_MAX_MODEL_LEN", int),
                          num("HELPERS_VLLM_TP", int), num(THREADS_ENV, int))


def settings() -> EngineSettings:
    """The effective settings: values given to ``configure`` win over the environment; 0 means the default."""
    env = _env_settings()
    return EngineSettings(**{f.name: getattr(_configured, f.name) or getattr(env, f.name) for f in fields(EngineSettings)})


def configure(gpu_memory_utilization: float = 0.0, max_model_len: int = 0, tensor_parallel_size: int = 0,
              torch_threads: int = 0) -> EngineSettings:
    """Set this process's engine defaults (a notebook calls it with its params) and apply the thread count."""
    global _configured
    if not 0 <= gpu_memory_utilization <= 1:
        raise ValueError(f"gpu_memory_utilization must be in [0, 1] (0: default), not {gpu_memory_utilization}")
    for name, value in (("max_model_len", max_model_len), ("tensor_parallel_size", tensor_parallel_size),
                        ("torch_threads", torch_threads)):
        if int(value) != value or value < 0:
            raise ValueError(f"{name} must be a whole number >= 0 (0: default), not {value!r}")
    _configured = EngineSettings(float(gpu_memory_utilization), int(max_model_len), int(tensor_parallel_size),
                                 int(torch_threads))
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
def release_all() -> dict:
    """Stop every in-process vLLM engine and evict every cached transformers model; returns ``memory_state()``."""
    from . import hf
    from .generation import shutdown_engines
    shutdown_engines()
    hf.evict_models()
    free_memory()
    return memory_state()


def free_memory() -> None:
    gc.collect()
    try:
        import torch
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def memory_state() -> dict:
    """What this process holds: vLLM engines, cached transformers models, child processes, RSS (MiB)."""
    import psutil
    from . import hf
    from .generation import _ENGINES
    proc = psutil.Process()
    children = [p for p in proc.children(recursive=True) if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    state = {"vllm_engines": len(_ENGINES), "hf_models": len(hf.cached_models()), "child_processes": len(children),
             "rss_mib": round(proc.memory_info().rss / 2**20, 1)}
    try:
        import torch
        if torch.cuda.is_available():
            state["cuda_allocated_mib"] = round(torch.cuda.memory_allocated() / 2**20, 1)
    except ImportError:
        pass
    return state


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


__all__ = ["EngineSettings", "configure", "settings", "reset", "vllm_kwargs", "pick", "available_cores",
           "choose_threads", "apply_threads", "ensure_threads", "release_all", "free_memory", "memory_state",
           "shared_servers", "server_for"]


# --------------------------------------------------------------------------- suite-wide shared servers
VLLM_BACKEND_KEYS = ("backend", "backends", "generation_backend")


def wants_vllm(params: dict) -> bool:
    """Whether a notebook's params let it generate through vLLM (a backend of vllm or auto, vLLM installed)."""
    from .generation import vllm_available
    values = []
    for key in VLLM_BACKEND_KEYS:
        v = params.get(key)
        values += v if isinstance(v, list) else [v]
    return vllm_available() and any(v in ("vllm", "auto") for v in values)


def local_models(params: dict) -> set[str]:
    """Resolved paths of the models a notebook runs itself: ``*model`` params without an endpoint ``*base_url``."""
    from .models import ModelNotFoundError, resolve_model
    out = set()
    for key, value in params.items():
        if not key.endswith("model") or not isinstance(value, str) or not value.strip():
            continue
        if params.get(key[: -len("model")] + "base_url"):
            continue  # served elsewhere
        try:
            out.add(resolve_model(value))
        except ModelNotFoundError:
            pass
    return out


def notebook_servers(servers: dict[str, str], params: dict) -> dict[str, str]:
    """The suite's shared servers a notebook with ``params`` uses: those of models it would run through vLLM."""
    return {m: u for m, u in servers.items() if wants_vllm(params) and m in local_models(params)}


def shared_engine_models(plan_params: list[dict], min_notebooks: int = 2) -> list[str]:
    """Models that at least ``min_notebooks`` notebooks of the plan would run through vLLM."""
    from collections import Counter
    counts = Counter(m for p in plan_params if wants_vllm(p) for m in local_models(p))
    return sorted(m for m, n in counts.items() if n >= min_notebooks)


@contextlib.contextmanager
def suite_engines(models: list[str]) -> Iterator[dict[str, str]]:
    """One vLLM OpenAI-compatible server per model on 127.0.0.1 for the block: ``{model path: base URL}``.

    The servers get the engine settings of the environment (``engines.settings``) and no model
    generation defaults (``--generation-config vllm``), so requests carry exactly the sampling the
    in-process engine would get. A server that fails to start is reported and skipped: its notebooks
    start their own engines as when run alone.
    """
    import helpers.core.engines as engines
    from .judge import JudgeError, serve_local
    servers: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        for path in models:
            try:
                import torch
                on_gpu = torch.cuda.is_available()
            except ImportError:
                on_gpu = False
            extra = ["--generation-config", "vllm", "--seed", "0", "--enable-prefix-caching",
                     "--tensor-parallel-size", str(engines.pick(0, "tensor_parallel_size", 1))]
            # vLLM gives its API server half the batch of its offline LLM class (CPU: 2048 tokens / 128
            # sequences vs 4096 / 256): ask for the offline values, so a shared engine batches like a notebook's own.
            tp = engines.pick(0, "tensor_parallel_size", 1)
            extra += ["--max-num-batched-tokens", str((16384 if on_gpu else 4096) * (1 if on_gpu else tp))]
            if not on_gpu:
                extra += ["--max-num-seqs", str(256 * tp)]
            if on_gpu:
                extra += ["--gpu-memory-utilization", str(engines.vllm_kwargs(True)["gpu_memory_utilization"])]
            start = time.time()
            try:
                server = stack.enter_context(serve_local(path, served_name=path, timeout=900, extra_args=extra,
                                                         max_model_len=engines.pick(0, "max_model_len", 2048)))
            except JudgeError as exc:
                print(f"!!! shared engine for {path} did not start; its notebooks start their own: "
                      f"{str(exc).splitlines()[0]}", file=sys.stderr)
                continue
            servers[path] = server.base_url
            print(f"shared vLLM engine for {path}: {server.base_url} (ready in {time.time() - start:.0f} s)", flush=True)
        yield servers


@contextlib.contextmanager
def servers_env(servers: dict[str, str]) -> Iterator[None]:
    before = os.environ.get(SERVERS_ENV)
    if servers:
        os.environ[SERVERS_ENV] = json.dumps(servers)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(SERVERS_ENV, None)
        else:
            os.environ[SERVERS_ENV] = before
