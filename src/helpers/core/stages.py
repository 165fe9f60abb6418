"""Which parameters each cached stage of a notebook depends on: ``StageGraph`` (declared once per experiment
package, e.g. ``helpers.magpie.stages.GRAPH``) and ``BoundStages`` (a graph bound to one run's params, giving each
stage its keyed store). ``ENGINE_SETTINGS`` are the params no stage is keyed on (where and how fast, never what)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .store import JsonlStore, cached_json, config_hash, keyed_path, keyed_store

# Engine settings every notebook may expose (helpers.core.engines): where and how fast, never what is computed.
ENGINE_SETTINGS = {
    "tensor_parallel_size": "engine setting only",
    "gpu_memory_utilization": "engine setting only",
    "max_model_len": "engine setting only (a judge prompt that does not fit is a counted failure)",
    "torch_threads": "engine setting only",
}


class StageGraph:
    """Which parameters each cached stage of a notebook depends on, and which stages come before it.

        GRAPH = StageGraph({
            "responses": {"params": ["model", "res_temperature"], "after": ["instructions"]},
            ...}, items={"n_responses": "selects which instructions are answered (ids)"},
            uncached={"bootstrap_rounds": "analysis only"})

    A stage's configuration is its own parameters, the hashes of the stages before it (so a change
    upstream reaches every stage downstream) and the run-time inputs the notebook passes (a resolved
    engine, a template derived from the tokenizer, a fingerprint of the training rows). ``items``
    parameters choose which records a stage computes (records are joined by id, so they need no new
    file); ``uncached`` ones change nothing that is cached (reason given). Every parameter of the
    notebook belongs to exactly one of the three (tests check this).
    """

    def __init__(
        self, stages: dict[str, dict], items: dict[str, str] | None = None, uncached: dict[str, str] | None = None
    ):
        self.stages = {
            s: {"params": list(v.get("params", [])), "after": list(v.get("after", []))} for s, v in stages.items()
        }
        for s, v in self.stages.items():
            for u in v["after"]:
                if u not in self.stages:
                    raise ValueError(f"stage {s!r} comes after unknown stage {u!r}")
        self.items = dict(items or {})
        self.uncached = {**ENGINE_SETTINGS, **dict(uncached or {})}

    def keyed_params(self) -> set[str]:
        return {p for v in self.stages.values() for p in v["params"]}

    def unclassified(self, names: Iterable[str]) -> list[str]:
        known = self.keyed_params() | set(self.items) | set(self.uncached)
        return [n for n in names if n not in known]

    def config(self, stage: str, params: dict, **inputs: Any) -> dict:
        spec = self.stages[stage]
        missing = [p for p in spec["params"] if p not in params]
        if missing:
            raise KeyError(f"stage {stage!r} needs parameters {missing}")
        cfg = {
            "params": {p: params[p] for p in spec["params"]},
            "after": {u: config_hash(self.config(u, params)) for u in spec["after"]},
        }
        if inputs:
            cfg["inputs"] = inputs
        return cfg

    def hashes(self, params: dict) -> dict[str, str]:
        """Each stage's hash from the parameters alone (what tests compare)."""
        return {s: config_hash(self.config(s, params)) for s in self.stages}

    def affected(self, param: str) -> set[str]:
        """The stages that list ``param`` and every stage after them."""
        hit = {s for s, v in self.stages.items() if param in v["params"]}
        grew = True
        while grew:
            more = {s for s, v in self.stages.items() if set(v["after"]) & hit} - hit
            hit |= more
            grew = bool(more)
        return hit

    def bind(self, where: Any, params: dict) -> BoundStages:
        return BoundStages(
            self,
            where,
            {p: params[p] for p in self.keyed_params() | set(self.items) | set(self.uncached) if p in params},
        )


class BoundStages:
    """A StageGraph with a run folder and the run's parameters: hands out keyed stores and paths,
    and counts what a notebook must report (malformed store lines, records left to retry)."""

    def __init__(self, graph: StageGraph, where: Any, params: dict):
        self.graph, self.where, self.params = graph, where, params
        self.opened: dict[str, JsonlStore] = {}

    def config(self, stage: str, **inputs: Any) -> dict:
        return self.graph.config(stage, self.params, **inputs)

    def store(self, stage: str, key: str = "id", part: str = "", **inputs: Any) -> JsonlStore:
        """The stage's keyed store; ``part`` names one of several stores of a stage (one per contestant)."""
        st = keyed_store(self.where, stage_name(stage, part), self.config(stage, **inputs), key=key)
        self.opened[st.path.name] = st
        return st

    def path(self, stage: str, suffix: str = "", part: str = "", **inputs: Any) -> Path:
        return keyed_path(self.where, stage_name(stage, part), self.config(stage, **inputs), suffix)

    def json(self, stage: str, compute: Callable[[], Any], **inputs: Any) -> Any:
        return cached_json(self.path(stage, ".json", **inputs), compute)

    def health(self) -> dict[str, int]:
        """Counts for metrics.json: malformed lines skipped in the stores opened, records left to retry."""
        counts = {
            "malformed_store_lines": sum(s.malformed_lines for s in self.opened.values()),
            "records_to_retry": sum(s.retry_pending for s in self.opened.values()),
        }
        conflicting = sum(s.conflicting_ids for s in self.opened.values())
        return {**counts, "conflicting_store_ids": conflicting} if conflicting else counts


def stage_name(stage: str, part: str = "") -> str:
    return stage + ("_" + re.sub(r"[^A-Za-z0-9._-]+", "_", part).strip("_")[:60] if part else "")
