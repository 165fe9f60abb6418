"""Choosing each algorithm's learning rate on the development split, never on the evaluation prompts.

    result = tune(world, rows, {"dpo": [1e-4, 2e-4], "ppo": [3e-5, 1e-4]}, seeds=[100, 101], store=JsonlStore(path))
    result["chosen"]            # {"dpo_learning_rate": 0.0002, "ppo_learning_rate": 0.0001}
    write_tuning(path, result)  # params/06_tulu/tuning.json: what the notebook shows beside its table

For every algorithm of the grid, its reference row (the algorithm aspect: reference data, reference reward model,
no extra prompts) trains at each learning rate and each tuning seed from the world's SFT policy, and is scored by
the checkers on the world's ``dev_tasks`` (``tasks.split_of``: disjoint from the evaluation, SFT and preference
prompts). The rate with the best mean dev accuracy over seeds wins (a tie goes to the smaller rate). Tuning
seeds are not the notebook's seeds, so the choice is not fitted to the reported runs' data or noise either.
Each (algorithm, rate, seed) is a record in ``store`` keyed by everything it depends on: a killed tuning run
resumes, and a grid with one more rate trains only that rate.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from statistics import mean
from typing import Any

from ..core.store import JsonlStore, atomic_write_json, stable_id
from .evaluate import by_category
from .grid import Row

PARAM_OF = {
    "dpo": "dpo_learning_rate",
    "ppo": "ppo_learning_rate",
    "rloo": "rloo_learning_rate",
    "grpo": "grpo_learning_rate",
}
TUNING_FILE = Path(__file__).resolve().parents[3] / "params" / "06_tulu" / "tuning.json"


def with_learning_rate(train, algorithm: str, lr: float):
    """``train`` (TrainSettings) with ``algorithm``'s learning rate set to ``lr``."""
    if algorithm == "dpo":
        return replace(train, dpo=replace(train.dpo, learning_rate=lr))
    return replace(train, online_lrs={**train.online_lrs, algorithm: lr})


def stage_key(train, algorithm: str) -> dict:
    """The training settings ``algorithm``'s runs depend on, without the learning rate being chosen."""
    t = asdict(train)
    if algorithm == "dpo":
        return {
            "dpo": {k: v for k, v in t["dpo"].items() if k != "learning_rate"},
            "beta": t["beta"],
            "options": t["options"],
        }
    return {
        "online": {k: v for k, v in t["online"].items() if k != "learning_rate"},
        "ppo": t["ppo"],
        "rm": t["rm"],
        "num_generations": t["num_generations"],
        "options": t["options"],
    }


def reference_rows(rows: Sequence[Row], algorithms: Sequence[str]) -> dict[str, Row]:
    """The algorithm aspect's row of each algorithm (what the table's algorithm comparison trains)."""
    found = {r.algorithm: r for r in rows if r.aspect == "algorithm"}
    missing = [a for a in algorithms if a not in found]
    if missing:
        raise ValueError(f"no algorithm row for {missing}: the grid's algorithms are {sorted(found)}")
    return {a: found[a] for a in algorithms}


def tune(
    world,
    rows: Sequence[Row],
    grid: dict[str, Sequence[float]],
    seeds: Sequence[int],
    store: JsonlStore,
    progress: bool = True,
    keep_models: bool = False,
) -> dict[str, Any]:
    """Train every (algorithm, learning rate, seed) of ``grid`` that ``store`` lacks, score it on the dev split, and
    summarise: per-rate dev accuracy (mean, min, max over seeds), the chosen rate per algorithm, the SFT start's."""
    started = time.perf_counter()
    base = world.train
    world_key = world.world_fingerprint()
    refs = reference_rows(rows, list(grid))
    sft_id = stable_id("sft-dev", world_key)
    if sft_id not in store:
        store.append({"id": sft_id, "kind": "sft", "dev": by_category(world.evaluate(world.sft_dir, split="dev"))})
    try:
        for alg, rates in grid.items():
            for lr in rates:
                for seed in seeds:
                    rid = stable_id("tune", alg, float(lr), seed, refs[alg].key(), stage_key(base, alg), world_key)
                    if rid in store:
                        continue
                    t0 = time.perf_counter()
                    world.train = with_learning_rate(base, alg, float(lr))
                    res = world.train_row(refs[alg], seed, tag=f"-lr{float(lr):g}")
                    dev = by_category(world.evaluate(res.folder, split="dev"))
                    store.append(
                        {
                            "id": rid,
                            "kind": "run",
                            "algorithm": alg,
                            "learning_rate": float(lr),
                            "seed": seed,
                            "dev": dev,
                            "seconds": round(time.perf_counter() - t0, 1),
                        }
                    )
                    if not keep_models:
                        shutil.rmtree(res.folder, ignore_errors=True)
                    if progress:
                        print(
                            f"{alg} lr {lr:g} seed {seed}: dev average {dev['average']:.3f} "
                            f"({time.perf_counter() - t0:.1f} s)",
                            flush=True,
                        )
    finally:
        world.train = base
    runs = [
        store.get(stable_id("tune", a, float(lr), s, refs[a].key(), stage_key(base, a), world_key))
        for a, rates in grid.items()
        for lr in rates
        for s in seeds
    ]
    return summarise(
        runs, store.get(sft_id)["dev"], grid, seeds, len(world.dev_tasks), round(time.perf_counter() - started, 1)
    )


def summarise(
    runs: Sequence[dict],
    sft_dev: dict,
    grid: dict[str, Sequence[float]],
    seeds: Sequence[int],
    n_dev: int,
    seconds: float = 0.0,
) -> dict[str, Any]:
    """Per (algorithm, rate): mean / min / max dev average over seeds; the best rate per algorithm."""
    summary, chosen = [], {}
    for alg, rates in grid.items():
        best = None
        for lr in sorted(float(x) for x in rates):
            vals = [r["dev"]["average"] for r in runs if r["algorithm"] == alg and r["learning_rate"] == lr]
            row = {
                "algorithm": alg,
                "learning_rate": lr,
                "dev_mean": round(mean(vals), 4),
                "dev_min": round(min(vals), 4),
                "dev_max": round(max(vals), 4),
                "seeds": len(vals),
            }
            summary.append(row)
            if best is None or row["dev_mean"] > best["dev_mean"]:  # strictly better: a tie keeps the smaller rate
                best = row
        chosen[PARAM_OF[alg]] = best["learning_rate"]
    return {
        "split": "dev",
        "n_dev_prompts": n_dev,
        "seeds": list(seeds),
        "grid": {a: [float(x) for x in r] for a, r in grid.items()},
        "sft_dev": sft_dev,
        "summary": summary,
        "chosen": chosen,
        "runs": [{k: r[k] for k in ("algorithm", "learning_rate", "seed", "dev", "seconds")} for r in runs],
        "seconds": seconds,
    }


def write_tuning(path: str | Path, result: dict, **context: Any) -> None:
    """The tuning result and what it was run on (profile, command, world fingerprint, date) as JSON."""
    atomic_write_json(Path(path), {**context, **result})


def load_tuning(path: str | Path = TUNING_FILE) -> dict | None:
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def tuning_report(tuned: dict | None, params: dict, world_key: dict | None = None) -> tuple[list[dict], str]:
    """(the dev scores per algorithm and rate, a sentence on where this run's learning rates come from)."""
    if tuned is None:
        return [], "No dev-split tuning file (run `python tools/tune_tulu.py`): this run's learning rates are unchosen."
    rows = [
        {**r, "chosen": tuned["chosen"].get(PARAM_OF[r["algorithm"]]) == r["learning_rate"]} for r in tuned["summary"]
    ]
    same, differ = [], []
    for name, value in tuned["chosen"].items():
        here = params.get(name) or (params.get("online_learning_rate") if name != "dpo_learning_rate" else None)
        if here is not None and math.isclose(float(here), value, rel_tol=1e-9):
            same.append(f"{name} = {value:g}")
        else:
            differ.append(f"{name} = {here} (dev chose {value:g})")
    world_note = ""
    if world_key is not None and tuned.get("world") is not None and stable_id(world_key) != tuned["world"]:
        world_note = (
            " This run's world (SFT start, data or splits) differs from the one tuned, so the choice was made "
            "for another world."
        )
    text = (
        f"Learning rates chosen on the **dev split** ({tuned['n_dev_prompts']} prompts disjoint from the evaluation, "
        f"SFT and preference prompts; tuning seeds {tuned['seeds']}, not this run's) by `{tuned.get('command', 'tools/tune_tulu.py')}`"
        f" on {tuned.get('date', '?')}. "
        + (f"This run uses the dev choice for {', '.join(same)}. " if same else "")
        + (f"It departs from it for {', '.join(differ)}. " if differ else "")
        + world_note
    )
    return rows, text.strip()
