"""The Ray side of ``helpers.core.executor``: Ray Data replicas for a stage, long-lived replicas for many calls.

Imported by ``executor``; ``ray`` itself is imported only when a Ray run starts.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .store import RETRY, JsonlStore, json_default, pending_items


class Spec(Protocol):
    """What the Ray side uses of an ``executor.WorkerSpec``: it builds the batch function in each replica."""

    factory: str

    def accepts(self, name: str) -> bool: ...

    def build(self, **overrides: Any) -> Callable[[list[dict]], list[dict]]: ...


class Placement(Protocol):
    """What the Ray side reads (and records in ``last``) of an ``executor.Executor``."""

    address: str
    replicas: int
    gpus_per_replica: float
    cpus_per_replica: float
    last: dict

    @property
    def tensor_parallel_size(self) -> int: ...

    def release_replicas(self) -> None: ...


# Environment a replica gets from the driver (settings and caches; not the suite's shared servers).
_ENV_PREFIXES = ("HELPERS_", "HF_", "HUGGING_FACE_", "TRANSFORMERS_", "VLLM_", "OPENAI_")
_ENV_SKIP = ("HELPERS_VLLM_SERVERS",)
# Ray Data warns at every start that a fixed-size actor pool cannot scale, that the object store is under half
# the RAM and (before the actors are up) that resources look short; connect() checks the resources itself.
_QUIET_LOGGERS = (
    "ray.data._internal.execution.resource_manager",
    "ray.data._internal.actor_autoscaler.default_actor_autoscaler",
)


# --------------------------------------------------------------------------- replicas
class _Replica:
    """One Ray Data actor: builds the stage's processor once, then maps batches of JSON items to JSON records."""

    def __init__(self, spec: Spec, cpus: float, gpus: float):
        from . import engines

        if not gpus:  # torch threads = the CPUs Ray reserved for this replica (no oversubscription)
            engines.apply_threads(max(1, int(cpus)))
        overrides = {"tensor_parallel_size": int(gpus)} if gpus > 1 else {}
        self.process = spec.build(**overrides)
        self.where = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        items = [json.loads(s) for s in batch["item"]]
        out = self.process(items)
        if len(out) != len(items):
            raise RuntimeError(f"process returned {len(out)} records for {len(items)} items")
        return {
            "record": np.array([json.dumps(r, ensure_ascii=False, default=json_default) for r in out], dtype=object),
            "replica": np.array([self.where] * len(out), dtype=object),
        }


class _PoolReplica(_Replica):
    """A long-lived replica (a plain Ray actor): items and records travel as Python objects."""

    def run(self, items: list[dict]) -> tuple[list[dict], str]:
        out = self.process(items)
        if len(out) != len(items):
            raise RuntimeError(f"process returned {len(out)} records for {len(items)} items")
        return out, self.where


class ReplicaPool:
    """``executor.ray_replicas`` actors, each holding ``spec.build()`` once, for many calls (``map``)."""

    def __init__(self, executor: Placement, spec: Spec):
        import ray

        connect(executor)
        _check_tensor_parallel(executor, spec)
        remote = ray.remote(num_cpus=executor.cpus_per_replica, num_gpus=executor.gpus_per_replica or None)(
            _PoolReplica
        )
        self.actors = [
            remote.remote(spec, executor.cpus_per_replica, executor.gpus_per_replica) for _ in range(executor.replicas)
        ]
        self.calls = 0
        self.used: set[str] = set()  # host:pid of the replicas that returned batches

    def map(self, items: Sequence[dict], batch_size: int):
        """Yield (records, replica) per batch of ``items`` as each finishes (any order; records carry ids)."""
        from ray.util import ActorPool

        self.calls += 1
        batches = [list(items[i : i + batch_size]) for i in range(0, len(items), max(1, batch_size))]
        for records, where in ActorPool(self.actors).map_unordered(lambda actor, b: actor.run.remote(b), batches):
            self.used.add(where)
            yield records, where

    def stop(self) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors = []


def _check_tensor_parallel(executor: Placement, spec: Spec) -> None:
    if executor.tensor_parallel_size and not spec.accepts("tensor_parallel_size"):
        raise ValueError(
            f"ray_gpus_per_replica {executor.gpus_per_replica:g} needs tensor parallelism, which "
            f"{spec.factory} does not take (no tensor_parallel_size argument)"
        )


def _runtime_env() -> dict:
    from . import engines

    env = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES) and k not in _ENV_SKIP}
    s = engines.settings()  # a notebook's engines.configure(...) reaches the replicas through the environment
    for name, value in (
        ("HELPERS_VLLM_GPU_UTIL", s.gpu_memory_utilization),
        ("HELPERS_VLLM_MAX_MODEL_LEN", s.max_model_len),
    ):
        if value:
            env[name] = str(value)
    env["TQDM_DISABLE"] = "1"  # replicas' progress bars would interleave in the notebook; the driver keeps one
    return {"env_vars": env}


def connect(executor: Placement) -> dict:
    """Start or join Ray for ``executor`` (once per process); check the cluster can host the replicas."""
    import warnings

    import ray

    if not ray.is_initialized():
        # replica and daemon logs stay in each node's Ray session folder (/tmp/ray/session_latest/logs): without
        # ray[default] every Ray process logs a metrics-agent error; a replica's exception still comes back here
        kwargs = dict(runtime_env=_runtime_env(), log_to_driver=False, configure_logging=True, logging_level="WARNING")
        with warnings.catch_warnings():  # a tip about Ray's future GPU-visibility default, on every init
            warnings.filterwarnings("ignore", message="Tip: In future versions of Ray", category=FutureWarning)
            if executor.address:
                ray.init(address=executor.address, **kwargs)
            else:  # no dashboard: ray[data] lacks its packages
                ray.init(address="local", include_dashboard=False, **kwargs)
    total = ray.cluster_resources()
    need = {"CPU": executor.replicas * executor.cpus_per_replica, "GPU": executor.replicas * executor.gpus_per_replica}
    short = {k: (v, total.get(k, 0)) for k, v in need.items() if v and total.get(k, 0) + 1e-9 < v}
    if short:
        raise RuntimeError(
            "the Ray cluster cannot host the replicas: "
            + "; ".join(f"{k} needed {v:g}, cluster has {have:g}" for k, (v, have) in short.items())
            + " (lower ray_replicas or the per-replica resources, or add nodes)"
        )
    return total


def run_on_ray(
    executor: Placement, store: JsonlStore, items: Sequence[dict], spec: Spec, batch_size: int, desc: str | None
) -> list[dict]:
    from tqdm.auto import tqdm

    key = store.key
    ids, todo = pending_items(store, items, desc)
    transient: dict[str, dict] = {}
    executor.last.clear()
    executor.last.update(items=len(items), sent=len(todo), replicas_used=[], batches=0)
    _check_tensor_parallel(executor, spec)
    if todo:
        import time

        import ray

        start = time.perf_counter()
        executor.release_replicas()  # a judge's held replicas would keep this stage's actors waiting
        connect(executor)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # one tqdm bar below, as a local run shows
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # no per-dataset INFO lines in the notebook
        for name in _QUIET_LOGGERS:  # start-up warnings about a fixed-size pool and the object store's size
            logging.getLogger(name).setLevel(logging.ERROR)
        rows = [{"id": str(it[key]), "item": json.dumps(it, ensure_ascii=False, default=json_default)} for it in todo]
        ds = ray.data.from_items(rows, override_num_blocks=len(rows))
        ds = ds.map_batches(
            _Replica,
            fn_constructor_kwargs={"spec": spec, "cpus": executor.cpus_per_replica, "gpus": executor.gpus_per_replica},
            compute=ray.data.ActorPoolStrategy(size=executor.replicas, max_tasks_in_flight_per_actor=1),
            num_cpus=executor.cpus_per_replica,
            num_gpus=executor.gpus_per_replica or None,
            batch_size=batch_size,
            batch_format="numpy",
        )
        used: set[str] = set()
        with tqdm(total=len(items), initial=len(items) - len(todo), desc=desc or store.path.stem, unit="item") as bar:
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=0):
                out = [json.loads(s) for s in batch["record"]]
                used.update(str(w) for w in batch["replica"])
                keep = [r for r in out if not r.get(RETRY)]
                transient.update({str(r[key]): r for r in out if r.get(RETRY)})
                store.retry_pending += len(out) - len(keep)
                store.extend(keep)
                executor.last["batches"] += 1
                executor.last.setdefault("first_batch_s", round(time.perf_counter() - start, 2))
                bar.update(len(out))
        executor.last.update(replicas_used=sorted(used), seconds=round(time.perf_counter() - start, 2))
    missing = [i for i in ids if store.get(i) is None and i not in transient]
    if missing:
        raise RuntimeError(
            f"stage {desc or store.path.stem}: Ray returned no record for {len(missing)} item(s), e.g. {missing[:3]}"
        )
    return [store.get(i) or transient[i] for i in ids]


def shutdown() -> None:
    """Disconnect from Ray (a local instance started by ``connect`` stops)."""
    import sys

    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()
