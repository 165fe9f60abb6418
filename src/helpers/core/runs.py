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
    def current(cls, notebook: str) -> "Run":
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
