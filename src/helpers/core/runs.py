"""The run folder a notebook writes into, from inside the notebook.

run = Run.current("01_magpie")          # $HELPERS_RUN_DIR (set by the runner) or outputs/01_magpie/interactive
store = run.store("instructions")        # resumable JSONL stage
run.savefig(fig, "lengths")              # figures/lengths.png
run.log_metrics(kept_fraction=0.31)      # merged into metrics.json (atomic)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .params import REPO_ROOT
from .store import JsonlStore, atomic_write_json, atomic_write_text, read_json

OUTPUTS = REPO_ROOT / "outputs"
RUN_DIR_ENV = "HELPERS_RUN_DIR"


class Run:
    def __init__(self, path: str | Path):
        self.dir = Path(path)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "figures").mkdir(exist_ok=True)
        (self.dir / "data").mkdir(exist_ok=True)

    @classmethod
    def current(cls, notebook: str) -> Run:
        env = os.environ.get(RUN_DIR_ENV)
        return cls(env if env else OUTPUTS / notebook / "interactive")

    def __repr__(self) -> str:
        return f"Run({str(self.dir)!r})"

    def path(self, name: str) -> Path:
        """A path inside the run's data folder."""
        p = self.dir / "data" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def store(self, stage: str, key: str = "id") -> JsonlStore:
        return JsonlStore(self.path(f"{stage}.jsonl"), key=key)

    # metrics --------------------------------------------------------------------------------
    @property
    def metrics_path(self) -> Path:
        return self.dir / "metrics.json"

    def metrics(self) -> dict[str, Any]:
        return read_json(self.metrics_path) if self.metrics_path.exists() else {}

    def log_metrics(self, metrics: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        merged = {**self.metrics(), **(metrics or {}), **kw}
        atomic_write_json(self.metrics_path, merged)
        return merged

    # figures and tables -----------------------------------------------------------------------
    def savefig(self, fig, name: str, dpi: int = 110) -> Path:
        path = self.dir / "figures" / f"{name}.png"
        tmp = path.with_suffix(".tmp.png")
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, path)
        return path

    def save_table(self, df, name: str) -> Path:
        path = self.path(f"{name}.csv")
        atomic_write_text(path, df.to_csv(index=False))
        return path

    def write_json(self, name: str, obj: Any) -> Path:
        return atomic_write_json(self.path(name), obj)


PUBLISHED_FILE = "prompts.jsonl"  # what ``run:<notebook>`` names in a run's data/ folder unless a file is given


def run_source(value: str, run_dir: str | Path | None = None) -> Path:
    """``run:NB`` -> ``outputs/NB/<run name>/data/prompts.jsonl`` (``run:NB/FILE``: that file in data/): the file
    another notebook's run with the same run name published. ``run_dir``: this run's folder (default: the
    runner's $HELPERS_RUN_DIR, else an interactive run)."""
    if not value.startswith("run:") or not value[4:].strip("/"):
        raise ValueError(f"{value!r} is not run:NOTEBOOK or run:NOTEBOOK/FILE")
    notebook, _, name = value[4:].partition("/")
    here = Path(run_dir or os.environ.get(RUN_DIR_ENV) or OUTPUTS / notebook / "interactive")
    return here.parent.parent / notebook / here.name / "data" / (name or PUBLISHED_FILE)


def _param_strings(params: dict[str, Any]) -> list[str]:
    out = []
    for value in params.values():
        values = value if isinstance(value, (list, tuple)) else [value]
        out += [v for v in values if isinstance(v, str) and v]
    return out


def suite_needs(plan: list[tuple[str, dict[str, Any]]]) -> dict[str, set[str]]:
    """For each notebook of a suite ``plan``, the other notebooks of the plan whose outputs its params read
    (a string, or a string in a list, pointing into ``outputs/<Y>/`` or equal to ``run:<Y>``)."""
    names = [name for name, _ in plan]
    return {
        name: {
            y
            for y in names
            if y != name
            and any(f"outputs/{y}/" in s.replace(os.sep, "/") or s == f"run:{y}" for s in _param_strings(params))
        }
        for name, params in plan
    }


def suite_order(plan: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """The notebooks of a suite ``plan`` ((name, resolved params) in file-name order) in the order they must run.

    X runs after Y when one of X's params (a string, or a string in a list) points into ``outputs/<Y>/`` or is
    ``run:<Y>``, Y being another notebook of the plan; among the notebooks that may run next, file-name order
    wins. A cycle raises ParamsError naming its notebooks (before anything runs)."""
    from .params import ParamsError

    names = [name for name, _ in plan]
    needs = suite_needs(plan)
    order: list[str] = []
    while len(order) < len(names):
        ready = [n for n in names if n not in order and needs[n] <= set(order)]
        if not ready:
            left = [n for n in names if n not in order]
            raise ParamsError(
                "suite: notebooks read each other's outputs in a cycle: "
                + "; ".join(f"{n} reads {', '.join(sorted(needs[n] - set(order)))}" for n in left)
            )
        order.append(ready[0])
    return order
