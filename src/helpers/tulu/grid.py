"""The ablation grid: one aspect at a time from the same SFT policy, each (row, seed) cached by all its inputs.

    rows = ablation_rows(Levels(noise=[0, .2, .4], sources=["on-policy", "off-policy"], ...))
    results = run_grid(world, rows, seeds=[0, 1, 2], store=run.store("results"), settings=settings)

The reference configuration takes the first level of every aspect (the paper: DPO on the best data; PPO
with the base reward model and no extra prompts). Rows:

* data (DPO): every other level of label noise, source, labeller, size, each alone;
* algorithm: DPO, PPO, RLOO, GRPO on the reference data (online ones with the reference RM and prompts);
* reward model (PPO): every other RM size and RM training data;
* prompts (PPO): every other extra-prompt set (none / in-domain / out-of-domain).

A row's result is one record per seed: the evaluated answers per prompt (correct or not) plus the training
history. Its id hashes the row, the seed, the world (SFT policy, evaluation set) and every training setting,
so a rerun reuses finished rows and a new row is the only one computed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from ..core.store import JsonlStore, stable_id

ASPECTS = ("data", "algorithm", "reward model", "prompts")
ALGORITHMS = ("dpo", "ppo", "rloo", "grpo")
PROMPT_SETS = ("none", "in-domain", "out-of-domain")


@dataclass(frozen=True)
class DataSpec:
    """A preference data set: its source (quick world: on-policy / off-policy; hub: a split name), labeller
    (fine / overall), injected label noise and size (0: all pairs)."""

    source: str
    labeller: str = "fine"
    noise: float = 0.0
    size: int = 0

    def label(self) -> str:
        parts = [self.source] + ([self.labeller] if self.labeller != "fine" else [])
        parts += [f"{self.noise:.0%} noise"] if self.noise else []
        parts += [f"{self.size} pairs"] if self.size else []
        return ", ".join(parts)


@dataclass(frozen=True)
class RMSpec:
    """A reward model: its size (a preset or a model to initialise from) and its training data."""

    init: str
    data: DataSpec

    def label(self) -> str:
        name = self.init.split(":")[-1].split("/")[-1]
        if self.init.startswith("sft:"):  # a model of another size SFT'd on the policy's SFT data
            name = f"sft-{name}"
        return f"{name} on {self.data.label()}"


@dataclass(frozen=True)
class Row:
    aspect: str
    label: str
    algorithm: str
    data: DataSpec
    rm: RMSpec | None = None
    prompts: str = "none"
    reference: bool = False  # the aspect's reference configuration
    kind: str = (
        ""  # which kind of level this row changes (source, labeller, noise, size, algorithm, rm size, rm data, prompts)
    )

    def key(self) -> dict:
        return {
            "algorithm": self.algorithm,
            "data": asdict(self.data),
            "rm": asdict(self.rm) if self.rm else None,
            "prompts": self.prompts,
        }

    @property
    def slug(self) -> str:
        return f"{self.algorithm}-{stable_id(self.key(), length=8)}"


@dataclass(frozen=True)
class Levels:
    """The levels of each aspect; the first of each list is the reference."""

    sources: Sequence[str]
    labellers: Sequence[str] = ("fine",)
    noise: Sequence[float] = (0.0,)
    sizes: Sequence[int] = (0,)
    algorithms: Sequence[str] = ALGORITHMS
    rm_inits: Sequence[str] = ()
    rm_data: Sequence[str] = ("reference",)  # "reference" or "noise:<rate>" or a source name
    prompt_sets: Sequence[str] = PROMPT_SETS

    def base_data(self) -> DataSpec:
        return DataSpec(self.sources[0], self.labellers[0], float(self.noise[0]), int(self.sizes[0]))

    def rm_data_spec(self, level: str) -> DataSpec:
        base = self.base_data()
        if level == "reference":
            return base
        if level.startswith("noise:"):
            return replace(base, noise=float(level.split(":", 1)[1]))
        return replace(base, source=level)


def ablation_rows(levels: Levels) -> list[Row]:
    """The rows of the paper's table: the reference configuration, then one aspect changed at a time."""
    base = levels.base_data()
    rm_base = RMSpec(levels.rm_inits[0], base) if levels.rm_inits else None
    rows = [Row("data", f"DPO on {base.label()}", "dpo", base, reference=True)]
    for field_, values in (
        ("source", levels.sources),
        ("labeller", levels.labellers),
        ("noise", levels.noise),
        ("size", levels.sizes),
    ):
        for v in list(values)[1:]:
            spec = replace(base, **{field_: type(getattr(base, field_))(v)})
            rows.append(Row("data", f"DPO on {spec.label()}", "dpo", spec, kind=field_))
    online_base = None
    for alg in levels.algorithms:
        if alg == "dpo":
            rows.append(replace(rows[0], aspect="algorithm", label="DPO", reference=True, kind="algorithm"))
            continue
        if rm_base is None:
            raise ValueError(f"algorithm {alg!r} needs a reward model: give at least one in rm_inits")
        row = Row(
            "algorithm",
            f"{alg.upper()} with RM {rm_base.label()}",
            alg,
            base,
            rm_base,
            levels.prompt_sets[0],
            kind="algorithm",
        )
        rows.append(row)
        online_base = online_base or (row if alg == "ppo" else None)
    if online_base is None and rm_base is not None:  # the RM and prompt aspects are measured with PPO
        online_base = Row("algorithm", f"PPO with RM {rm_base.label()}", "ppo", base, rm_base, levels.prompt_sets[0])
    if online_base is not None:
        rows.append(
            replace(
                online_base, aspect="reward model", label=f"PPO, RM {rm_base.label()}", reference=True, kind="rm size"
            )
        )
        for init in levels.rm_inits[1:]:
            rm = RMSpec(init, base)
            rows.append(
                replace(
                    online_base,
                    aspect="reward model",
                    label=f"PPO, RM {rm.label()}",
                    rm=rm,
                    reference=False,
                    kind="rm size",
                )
            )
        for level in list(levels.rm_data)[1:]:
            rm = RMSpec(levels.rm_inits[0], levels.rm_data_spec(level))
            rows.append(
                replace(
                    online_base,
                    aspect="reward model",
                    label=f"PPO, RM {rm.label()}",
                    rm=rm,
                    reference=False,
                    kind="rm data",
                )
            )
        for i, p in enumerate(levels.prompt_sets):
            rows.append(
                replace(
                    online_base,
                    aspect="prompts",
                    label=f"PPO, extra prompts: {p}",
                    prompts=p,
                    reference=i == 0,
                    kind="prompts",
                )
            )
    return rows


def unique_runs(rows: Sequence[Row]) -> list[Row]:
    """The distinct trainings behind ``rows`` (a reference row appears under several aspects, trained once)."""
    seen: dict[str, Row] = {}
    for r in rows:
        seen.setdefault(r.slug, r)
    return list(seen.values())


class World(Protocol):
    """What the grid needs from a world (the quick one, or hub models and data)."""

    def fingerprint(self) -> dict: ...
    def train_row(self, row: Row, seed: int) -> Any: ...  # -> StageResult (folder, history)
    def evaluate(self, folder) -> list[dict]: ...  # one record per evaluation prompt


@dataclass
class GridResult:
    row: Row
    seed: int
    records: list[dict]
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def run_grid(
    world: World, rows: Sequence[Row], seeds: Sequence[int], store: JsonlStore, progress: bool = False
) -> dict[tuple[str, int], GridResult]:
    """Train and evaluate every distinct row for every seed that ``store`` does not hold yet."""
    out: dict[tuple[str, int], GridResult] = {}
    for row in unique_runs(rows):
        for seed in seeds:
            rid = stable_id(row.key(), seed, world.fingerprint())
            if rid not in store:
                start = time.perf_counter()
                res = world.train_row(row, seed)
                records = world.evaluate(res.folder)
                store.append(
                    {
                        "id": rid,
                        "slug": row.slug,
                        "seed": seed,
                        "row": row.key(),
                        "label": row.label,
                        "records": [
                            {"id": r["id"], "category": r["category"], "correct": bool(r["correct"])} for r in records
                        ],
                        "history": res.history,
                        "seconds": round(time.perf_counter() - start, 1),
                        "cached_model": res.cached,
                    }
                )
                if progress:
                    print(f"{row.label} (seed {seed}): {time.perf_counter() - start:.1f} s", flush=True)
            rec = store.get(rid)
            out[(row.slug, seed)] = GridResult(row, seed, rec["records"], rec["history"], rec["seconds"])
    return out
