"""Where a resumable stage runs: in this process (``local``) or on Ray Data replicas (``ray``).

    executor = Executor.from_params(globals())     # executor, ray_address, ray_replicas, ray_gpus_per_replica
    spec = WorkerSpec("helpers.magpie.pipeline:response_worker", {"model": ..., "sampling": ...})
    records = run_stage_on(executor, store, items, spec, batch_size=16, desc="responses")

A stage's batch function is described by a ``WorkerSpec``: a module-level factory named as
``"module:function"`` and its keyword arguments, plain data only (model names, backends, sampling,
templates; never a loaded model). ``spec.build()`` calls the factory, which loads what it needs and
returns ``process(batch) -> records``, the function ``store.run_stage`` takes.

* ``local``: ``run_stage(store, items, spec.build(), batch_size, desc)`` in this process, as before (models
  are cached per process); nothing is built when every id is already in the store.
* ``ray``: the missing items go to ``ray.data.from_items`` (one block per item, so each replica gets the same
  consecutive batches a local run makes), ``map_batches`` with a callable class that builds the processor
  ONCE per replica (``compute=ActorPoolStrategy(size=ray_replicas)``, ``num_gpus``, ``num_cpus``,
  ``batch_size``); records stream back through ``iter_batches`` and are appended to the same JsonlStore as
  each batch arrives, so a killed run keeps every finished batch and a rerun sends only the missing ids.
  Same ids as a local run; ``RETRY`` records are returned, not stored, as in ``run_stage``. Items and records
  travel as JSON text (no Arrow type inference on nested records). ``ray_gpus_per_replica`` above 1 reaches
  the factory as ``tensor_parallel_size`` (vLLM inside the replica); on a CPU a replica runs
  ``ray_cpus_per_replica`` torch threads.

**Long-lived replicas** (``executor.replica_pool(spec)``): a caller that sends many small calls (a judge
asked per batch of a stage) would rebuild its model at every Ray Data run; a ``ReplicaPool`` keeps
``ray_replicas`` Ray actors holding one built processor each for the executor's lifetime (``close()``
or the next Ray Data stage stops them) and spreads each call's batches over them (``ray.util.ActorPool``), records streaming back
as each batch finishes. ``helpers.core.judge`` uses it.

``ray_address``: "" starts Ray on this machine; "auto", "host:port" or "ray://host:port" join a running cluster
(``ray start --head`` / ``ray start --address=...``); every node needs this checkout and its ``.venv``.
``ray.data.llm`` (``vLLMEngineProcessorConfig`` + ``build_llm_processor``) is Ray's own vLLM path on GPUs; it
renders prompts, stops and seeds its own way (records would not be the local path's), so it is documented in
the README ("On a cluster"), not wired here.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import json
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .ray_exec import ReplicaPool, run_on_ray, shutdown
from .store import RETRY, JsonlStore, json_default, run_stage

EXECUTORS = ("local", "ray")
# Where stages run, never what they compute: StageGraphs list these as not keyed (tests/test_cache_keys.py).
EXECUTOR_SETTINGS = {
    "executor": "where stages run (local or Ray replicas): same ids, same greedy text, log-probs within 1e-4",
    "ray_address": "which Ray cluster runs the stages (results do not depend on it)",
    "ray_replicas": "data parallelism only",
    "ray_gpus_per_replica": "placement and tensor parallelism only",
}  # (a notebook that exposes ray_cpus_per_replica too classifies it the same way: placement and threads only)


# --------------------------------------------------------------------------- the worker spec
def _check_plain(value: Any, where: str) -> None:
    """Raise TypeError unless ``value`` is plain data (what a replica can rebuild a processor from)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, (list, tuple, dict)):
        for k, v in value.items() if isinstance(value, dict) else enumerate(value):
            if isinstance(value, dict) and not isinstance(k, str):
                raise TypeError(f"{where}: dict keys must be strings, got {type(k).__name__}")
            _check_plain(v, f"{where}[{k!r}]")
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _check_plain(getattr(value, f.name), f"{where}.{f.name}")
        return
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}: a WorkerSpec holds plain data "
        "only (names, numbers, strings, lists, dicts, dataclasses of those); pass the model's name and "
        "let the factory load it on the replica"
    )


def _factory_name(factory: str | Callable) -> str:
    if callable(factory):
        module, qual = getattr(factory, "__module__", None), getattr(factory, "__qualname__", "")
        if not module or "<" in qual or "." in qual or module == "__main__":
            raise ValueError(f"WorkerSpec factory {factory!r} must be a module-level function of an importable module")
        factory = f"{module}:{qual}"
    module, sep, func = str(factory).partition(":")
    if not sep or not module or not func.isidentifier() or not all(p.isidentifier() for p in module.split(".")):
        raise ValueError(f"WorkerSpec factory {factory!r} must look like 'package.module:function'")
    return f"{module}:{func}"


@dataclass(frozen=True)
class WorkerSpec:
    """How to build a stage's ``process(batch) -> records`` anywhere: ``factory(**kwargs)``."""

    factory: str
    kwargs: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "factory", _factory_name(self.factory))
        object.__setattr__(self, "kwargs", dict(self.kwargs))
        _check_plain(self.kwargs, f"WorkerSpec({self.factory}) kwargs")

    def resolve(self) -> Callable[..., Callable[[list[dict]], list[dict]]]:
        module, _, func = self.factory.partition(":")
        return getattr(importlib.import_module(module), func)

    def accepts(self, name: str) -> bool:
        params = inspect.signature(self.resolve()).parameters
        return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())

    def build(self, **overrides: Any) -> Callable[[list[dict]], list[dict]]:
        """Call the factory (loads the model here) and return the batch function."""
        process = self.resolve()(**{**self.kwargs, **overrides})
        if not callable(process):
            raise TypeError(
                f"WorkerSpec factory {self.factory} returned {type(process).__name__}, not a batch function"
            )
        return process


def echo_worker(add: dict | None = None, retry_ids: Sequence[str] = (), key: str = "id"):
    """A stage that loads nothing: each item back with ``add`` merged in and where it ran (``RETRY`` set for
    ``retry_ids``). Checks a cluster end to end in seconds: ``WorkerSpec(echo_worker, {"add": {...}})``."""
    where = f"{socket.gethostname()}:{os.getpid()}"

    def process(batch: list[dict]) -> list[dict]:
        return [
            {**it, **(add or {}), "ran_on": where, **({RETRY: True} if str(it[key]) in retry_ids else {})}
            for it in batch
        ]

    return process


# --------------------------------------------------------------------------- the executor
@dataclass(frozen=True)
class Executor:
    """``kind`` local or ray; the Ray fields matter only for ray. ``last`` describes the latest Ray run
    (items, sent, batches, replicas_used, first_batch_s and seconds from connecting to the last record)."""

    kind: str = "local"
    address: str = ""
    replicas: int = 1
    gpus_per_replica: float = 0
    cpus_per_replica: float = 1
    last: dict = field(default_factory=dict, compare=False, repr=False)
    _pools: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if self.kind not in EXECUTORS:
            raise ValueError(f"parameter 'executor' must be one of {' / '.join(EXECUTORS)}, got {self.kind!r}")
        if isinstance(self.replicas, bool) or not isinstance(self.replicas, int) or self.replicas < 1:
            raise ValueError(f"parameter 'ray_replicas' must be a whole number >= 1, got {self.replicas!r}")
        for name, value in (
            ("ray_gpus_per_replica", self.gpus_per_replica),
            ("ray_cpus_per_replica", self.cpus_per_replica),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"parameter {name!r} must be a number >= 0, got {value!r}")
        if self.gpus_per_replica > 1 and self.gpus_per_replica != int(self.gpus_per_replica):
            raise ValueError(
                f"parameter 'ray_gpus_per_replica' above 1 is a tensor-parallel size and must be whole, "
                f"got {self.gpus_per_replica!r}"
            )
        if self.gpus_per_replica == 0 and self.cpus_per_replica <= 0:
            raise ValueError("parameter 'ray_cpus_per_replica' must be above 0 when replicas get no GPU")
        if not isinstance(self.address, str):
            raise ValueError(f"parameter 'ray_address' must be a string, got {self.address!r}")
        if self.address:
            parse_address(self.address)

    @classmethod
    def from_params(cls, params: dict) -> Executor:
        """From a notebook's parameters (``globals()`` works): absent keys take the local defaults."""
        return cls(
            kind=params.get("executor", "local") or "local",
            address=params.get("ray_address", "") or "",
            replicas=params.get("ray_replicas", 1),
            gpus_per_replica=params.get("ray_gpus_per_replica", 0),
            cpus_per_replica=params.get("ray_cpus_per_replica", 1),
        )

    def __str__(self) -> str:
        if self.kind == "local":
            return "locally (this process)"
        where = self.address or "a Ray instance on this machine"
        return (
            f"on Ray ({where}): {self.replicas} replica(s), {self.gpus_per_replica:g} GPU(s) and "
            f"{self.cpus_per_replica:g} CPU(s) each"
        )

    @property
    def tensor_parallel_size(self) -> int:
        return int(self.gpus_per_replica) if self.gpus_per_replica > 1 else 0

    def close(self) -> None:
        """Disconnect from Ray (a Ray instance this process started stops); nothing to do for local. A notebook
        calls it last, so the kernel exits at once instead of being killed while Ray shuts down."""
        if self.kind == "ray":
            self.release_replicas()
            shutdown()

    def release_replicas(self) -> None:
        """Stop the long-lived replicas (their CPUs and GPUs go back to the cluster); a later call starts them
        again. A Ray Data stage calls it first, so held replicas never starve its actor pool."""
        for pool in self._pools.values():
            pool.stop()
        self._pools.clear()

    def replica_pool(self, spec: WorkerSpec) -> ReplicaPool:
        """The long-lived replicas for ``spec`` (started on first use, reused by every later call)."""
        if self.kind != "ray":
            raise ValueError("replica_pool needs executor ray")
        key = json.dumps([spec.factory, spec.kwargs], sort_keys=True, default=json_default)
        if key not in self._pools:
            self.release_replicas()  # one pool at a time: another's held CPUs/GPUs would keep this one waiting
            self._pools[key] = ReplicaPool(self, spec)
        return self._pools[key]

    def run(
        self,
        store: JsonlStore,
        items: Sequence[dict],
        spec: WorkerSpec | Callable,
        batch_size: int = 16,
        desc: str | None = None,
    ) -> list[dict]:
        return run_stage_on(self, store, items, spec, batch_size=batch_size, desc=desc)


def parse_address(address: str) -> tuple[str, str, int | None]:
    """``ray_address`` -> (kind, host, port): kind "auto", "gcs" (host:port) or "client" (ray://host:port)."""
    if address == "auto":
        return "auto", "", None
    kind, rest = ("client", address[len("ray://") :]) if address.startswith("ray://") else ("gcs", address)
    host, sep, port = rest.rpartition(":")
    if "://" in rest or not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"parameter 'ray_address' must be empty (a Ray instance on this machine), auto, host:port or "
            f"ray://host:port, got {address!r}"
        )
    return kind, host.strip("[]"), int(port)


def as_executor(executor: Executor | dict | str | None) -> Executor:
    if executor is None:
        return Executor()
    if isinstance(executor, Executor):
        return executor
    if isinstance(executor, str):
        return Executor(kind=executor)
    return Executor.from_params(executor)


def run_stage_on(
    executor: Executor | dict | str | None,
    store: JsonlStore,
    items: Sequence[dict],
    spec: WorkerSpec | Callable[[list[dict]], list[dict]],
    batch_size: int = 16,
    desc: str | None = None,
) -> list[dict]:
    """``store.run_stage`` through ``executor``; returns the records for ``items`` in their order.

    Local: the spec is built in this process (only if something is missing) and ``run_stage`` runs as
    always; a plain batch function is accepted there too. Ray: see the module docstring.
    """
    executor = as_executor(executor)
    if executor.kind == "local":
        if not isinstance(spec, WorkerSpec):
            return run_stage(store, items, spec, batch_size=batch_size, desc=desc)
        built: list[Callable] = []

        def process(batch: list[dict]) -> list[dict]:
            if not built:
                built.append(spec.build())
            return built[0](batch)

        return run_stage(store, items, process, batch_size=batch_size, desc=desc)
    if not isinstance(spec, WorkerSpec):
        raise TypeError(
            "executor ray needs a WorkerSpec (factory name + plain kwargs), not a batch function: "
            "a replica builds its own model from the spec"
        )
    return run_on_ray(executor, store, items, spec, batch_size, desc)


# --------------------------------------------------------------------------- precheck
def check_params(params: dict, timeout: float = 5.0) -> None:
    """What the runner checks before the kernel starts (ValueError naming the parameter): the values, that
    ``ray`` imports when executor is ray, and that a cluster answers at ``ray_address``."""
    if "executor" not in params:
        return
    executor = Executor.from_params(params)
    if executor.kind != "ray":
        return
    if executor.tensor_parallel_size and params.get("backend") == "hf":
        raise ValueError(
            "parameter 'ray_gpus_per_replica': above 1 means tensor parallelism, which needs backend "
            "vllm or auto (backend is hf)"
        )
    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("pyarrow") is None:
        raise ValueError(
            "parameter 'executor': ray is not installed here (pip install 'ray[data]>=2.52,<2.53'), "
            "or use executor local"
        )
    if executor.address:
        host, port = _reachable_address(executor.address)
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as exc:
            raise ValueError(
                f"parameter 'ray_address': no Ray cluster answers at {host}:{port} "
                f"({exc.strerror or exc}); start one with `ray start --head` or fix the address"
            ) from None


def _reachable_address(address: str) -> tuple[str, int]:
    kind, host, port = parse_address(address)
    if kind != "auto":
        return host, port
    try:  # RAY_ADDRESS, the address file `ray start` writes, or a running GCS on this machine (Ray's own lookup)
        from ray._private.services import canonicalize_bootstrap_address

        found = canonicalize_bootstrap_address("auto")
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError or its own errors here
        raise ValueError(
            f"parameter 'ray_address': auto found no running Ray cluster ({str(exc).splitlines()[0]}); "
            "start one with `ray start --head` or give host:port"
        ) from None
    if not found:
        raise ValueError(
            "parameter 'ray_address': auto found no running Ray cluster; start one with "
            "`ray start --head` or give host:port"
        )
    _, host, port = parse_address(found)
    return host, port
