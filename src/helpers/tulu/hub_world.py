"""The full (and middle) profile's world: an SFT model from the hub, Tulu 2.5 data, English checkers and lm-eval.

    world = HubWorld(HubSettings(policy="Qwen/Qwen2.5-0.5B-Instruct", ...), TrainSettings(...), run.dir)
    world.prepare()
    results = run_grid(world, rows, seeds, run.store("results"))

The SFT start is used as it is (a Tulu 2 or an instruct model); preference data sources are splits of
``pref_data`` (``allenai/tulu-2.5-preference-data``) or an UltraFeedback-schema file binarised here; the
prompts aspect adds ``in_domain_prompts`` / ``ood_prompts`` (``hub_id:split``) to the base data's prompts.
Evaluation: the English checker tasks (``hub_eval``) always, lm-evaluation-harness tasks when installed.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import preferences as pf
from .base_world import BaseWorld, TrainSettings
from .grid import DataSpec
from .harness import harness_available, run_harness
from .hub import load_pairs, load_prompts
from .hub_eval import english_curve, english_tasks, evaluate_english


@dataclass(frozen=True)
class HubSettings:
    policy: str
    pref_data: str = "allenai/tulu-2.5-preference-data"
    pref_limit: int = 0  # pairs read per source (0: the whole split)
    n_heldout: int = 200  # pairs after the training ones: the reward models' held-out accuracy
    in_domain_prompts: str = ""
    ood_prompts: str = ""
    prompt_limit: int = 0
    n_eval: int = 64  # English checker prompts per category
    n_curve: int = 4
    eval_max_new_tokens: int = 256
    backend: str = "auto"
    harness_tasks: tuple = ()
    harness_limit: int = 0
    tensor_parallel_size: int = 1
    notes: list = field(default_factory=list, compare=False, hash=False)


class HubWorld(BaseWorld):
    def __init__(self, settings: HubSettings, train: TrainSettings, root: str | Path, base: DataSpec):
        self.s, self.train, self.root, self.base = settings, train, Path(root), base
        self.eval_tasks = english_tasks(settings.n_eval, seed=0)
        self.curve_tasks = english_tasks(settings.n_curve, seed=0)
        self._sft: Path | None = None
        self._pairs: dict = {}
        self._tok = None

    def prepare(self) -> Path:
        from ..core.models import resolve_model

        path = Path(resolve_model(self.s.policy))
        if not path.exists():  # a hub id: downloaded once into the hub cache, trained from the local snapshot
            from huggingface_hub import snapshot_download

            path = Path(snapshot_download(self.s.policy))
        self._sft = path
        if self.s.harness_tasks and not harness_available():
            self.s.notes.append("lm-evaluation-harness is not installed (pip install lm-eval): its tasks were skipped")
        return self._sft

    @property
    def sft_dir(self) -> Path:
        return self._sft

    def fingerprint(self) -> dict:
        s = {k: v for k, v in asdict(self.s).items() if k != "notes"}
        return {"settings": s, "train": asdict(self.train), "sft": str(self._sft)}

    # ------------------------------------------------------------------------------ data
    def _source(self, spec: DataSpec) -> list[dict]:
        key = (spec.source, spec.labeller)
        if key not in self._pairs:
            limit = (self.s.pref_limit + self.s.n_heldout) if self.s.pref_limit else None
            self._pairs[key] = load_pairs(self.s.pref_data, spec.source, spec.labeller, limit=limit)
        return self._pairs[key]

    def _train_part(self, spec: DataSpec) -> list[dict]:
        pairs = self._source(spec)
        return pairs[: self.s.pref_limit] if self.s.pref_limit else pairs[: max(1, len(pairs) - self.s.n_heldout)]

    def pairs(self, spec: DataSpec, seed: int) -> list[dict]:
        rng = random.Random(f"pairs-{seed}-{spec}")
        return pf.subsample(pf.inject_noise(self._train_part(spec), spec.noise, rng), spec.size, rng)

    def heldout_pairs(self) -> list[dict]:
        """The base source's pairs after the training part (never trained on)."""
        n_train = len(self._train_part(self.base))
        return self._source(self.base)[n_train : n_train + self.s.n_heldout]

    def policy_prompts(self, which: str, seed: int) -> list[str]:
        """The base data's prompts, plus ``in_domain_prompts`` or ``ood_prompts`` (the prompts aspect)."""
        base = list(dict.fromkeys(p["prompt"] for p in self._train_part(self.base)))
        limit = self.s.prompt_limit or None
        if which == "none":
            return base
        spec = {"in-domain": self.s.in_domain_prompts, "out-of-domain": self.s.ood_prompts}.get(which)
        if not spec:
            raise ValueError(f"prompt set {which!r} has no source: set in_domain_prompts / ood_prompts")
        return base + load_prompts(spec, limit)

    # ------------------------------------------------------------------------------ evaluation
    def evaluate(self, folder) -> list[dict]:
        recs = evaluate_english(str(folder), self.eval_tasks, self.s.eval_max_new_tokens, self.s.backend)
        if self.s.harness_tasks and harness_available():
            recs += run_harness(
                str(folder),
                list(self.s.harness_tasks),
                self.s.harness_limit or None,
                self.s.tensor_parallel_size,
                backend=self.s.backend,
            )
        return recs

    def curve_eval(self, model) -> dict:
        if self._tok is None:
            from transformers import AutoTokenizer

            self._tok = AutoTokenizer.from_pretrained(str(self.sft_dir))
            if self._tok.pad_token is None:
                self._tok.pad_token = self._tok.eos_token
        return english_curve(model, self._tok, self.curve_tasks)

    def curve_spec(self) -> dict:
        return {"kind": "english", "tasks": list(self.curve_tasks)}
