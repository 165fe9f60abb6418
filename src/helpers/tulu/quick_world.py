"""The quick world: a small policy SFT'd on checkable tasks, preferences from checkers, every grid row trained.

    world = QuickWorld(settings, run.dir)
    world.prepare()                              # tokenizer, SFT data, SFT policy (TRL SFTTrainer), eval set
    results = run_grid(world, rows, seeds, run.store("results"))

Everything is cached in the run folder by its inputs: the SFT policy (``models/sft``), the on-policy samples
per seed (``data/candidates_<key>_s<seed>.jsonl``, keyed by the SFT policy and the sampling settings), reward models (``models/rm-*``), and each row's policy
(``models/<row>-s<seed>``); a killed stage resumes from its last checkpoint (``helpers.core.training``).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from pathlib import Path

from ..core.store import JsonlStore, stable_id
from . import preferences as pf
from .base_world import BaseWorld, TrainSettings
from .evaluate import by_category, evaluate_tasks, generate
from .grid import DataSpec
from .tasks import CATEGORIES, World
from .trainers import Stage, StageResult, train_sft


@dataclass(frozen=True)
class QuickSettings:
    world_seed: int = 0
    n_entities: int = 24
    policy: str = "config:llama-xs"
    sft_examples: int = 4000
    sft_flaw_rate: float = 0.65
    sft: Stage = Stage(steps=500, learning_rate=8e-3, batch_size=32, scheduler="cosine", warmup_ratio=0.02)
    pref_prompts: int = 128  # per category
    samples_per_prompt: int = 4
    sample_temperature: float = 0.7
    extra_prompts: int = 256
    n_eval: int = 48  # per category
    n_heldout: int = (
        0  # per category: prompts whose SFT samples make the RMs' held-out pairs (0: the evaluation prompts)
    )
    n_dev: int = 32  # per category: the development prompts hyperparameters are chosen on (tools/tune_tulu.py)
    n_curve: int = 8  # per category, decoded every eval_every steps for the training curves


class QuickWorld(BaseWorld):
    def __init__(self, settings: QuickSettings, train: TrainSettings, root: str | Path):
        self.s, self.train = settings, train
        self.root = Path(root)
        self.world = World(settings.world_seed, settings.n_entities)
        self.eval_tasks = self.world.eval_set(settings.n_eval)
        self.dev_tasks = self.world.dev_set(settings.n_dev)
        self.curve_tasks = self.world.dev_set(settings.n_curve)  # validation curves: dev prompts, not evaluation ones
        self.tok = None
        self.sft: StageResult | None = None

    # --------------------------------------------------------------------------------- the SFT start
    def sft_rows(self) -> list[dict]:
        rng = random.Random(f"sft-{self.s.world_seed}")
        rows = []
        for i in range(self.s.sft_examples):
            t = self.world.sample(CATEGORIES[i % len(CATEGORIES)], rng)
            rows.append({"prompt": t.prompt, "completion": self.world.sft_response(t, rng, self.s.sft_flaw_rate)})
        return rows

    def prepare(self) -> StageResult:
        """The tokenizer and the SFT policy (trained once per settings, then reused)."""
        from .toy_model import word_tokenizer

        self.tok = word_tokenizer(self.world.vocabulary())
        rows = self.sft_rows()
        self.sft = train_sft(
            self.s.policy,
            rows,
            self.root / "models" / "sft",
            self.s.sft,
            tok=self.tok,
            eval_fn=self.curve_eval,
            data_id=stable_id(rows),
        )
        return self.sft

    @property
    def sft_dir(self) -> Path:
        return self.sft.folder

    def reward_init(self, init: str):
        """``sft``: the SFT policy; ``sft:config:<preset>``: a model of that preset SFT'd here on the same SFT data (the
        reward-model size ablation: every RM starts from an SFT model, as in the paper)."""
        if init.startswith("sft:"):
            preset = init.split(":", 1)[1]
            rows = self.sft_rows()
            return train_sft(
                preset,
                rows,
                self.root / "models" / f"sft-{preset.split(':')[-1]}",
                self.s.sft,
                tok=self.tok,
                data_id=stable_id(rows),
            ).folder
        return super().reward_init(init)

    def fingerprint(self) -> dict:
        return {
            "settings": asdict(self.s),
            "train": asdict(self.train),
            "eval": stable_id([t.id for t in self.eval_tasks]),
        }

    def world_fingerprint(self) -> dict:
        """The world without its preference-learning settings (the SFT start, data and prompt splits)."""
        settings = {k: v for k, v in asdict(self.s).items() if k != "n_heldout"}  # RM held-out pairs: not the world
        return {
            "settings": settings,
            "eval": stable_id([t.id for t in self.eval_tasks]),
            "dev": stable_id([t.id for t in self.dev_tasks]),
        }

    # --------------------------------------------------------------------------------- evaluation
    def evaluate(self, folder, split: str = "eval") -> list[dict]:
        """Greedy answers of the model in ``folder`` graded on the evaluation (or ``dev``) prompts."""
        model, tok = _load(str(folder))
        return evaluate_tasks(model, tok, self.dev_tasks if split == "dev" else self.eval_tasks)

    def curve_eval(self, model) -> dict:
        tok = self.tok
        return by_category(evaluate_tasks(model, tok, self.curve_tasks))

    def curve_spec(self) -> dict:
        return {"kind": "quick", "tasks": [t.as_dict() for t in self.curve_tasks]}

    # --------------------------------------------------------------------------------- data
    def pref_tasks(self, seed: int):
        n = self.s.pref_prompts
        return [t for c in CATEGORIES for t in self.world.tasks(c, n, seed=1000 + seed)]

    def candidates(self, seed: int) -> dict[str, list[str]]:
        """``samples_per_prompt`` SFT samples per preference prompt (on-policy), stored per seed."""
        tasks = self.pref_tasks(seed)
        store = JsonlStore(self.root / "data" / f"candidates_{self._sampling_key()}_s{seed}.jsonl")
        todo = [t for t in tasks if t.id not in store]
        if todo:
            model, tok = _load(str(self.sft_dir))
            samples = generate(
                model,
                tok,
                [t.prompt for t in todo],
                do_sample=True,
                temperature=self.s.sample_temperature,
                num_return_sequences=self.s.samples_per_prompt,
                seed=seed,
            )
            store.extend({"id": t.id, "samples": s} for t, s in zip(todo, samples))
        return {t.id: store.get(t.id)["samples"] for t in tasks}

    def _sampling_key(self) -> str:
        """Samples depend on the SFT policy (its training key) and the sampling settings."""
        from ..core.training import TRAIN_MARKER

        sft_key = (self.sft_dir / TRAIN_MARKER).read_text(encoding="utf-8")
        return stable_id(sft_key, self.s.sample_temperature, self.s.samples_per_prompt, length=8)

    def pairs(self, spec: DataSpec, seed: int) -> list[dict]:
        """The preference pairs of ``spec`` for ``seed`` (labelled by the checkers, then the defects applied)."""
        rng = random.Random(f"pairs-{seed}-{spec}")
        tasks = self.pref_tasks(seed)
        if spec.source == "on-policy":  # every labeller labels the same prompts: equal data size (fine vs overall)
            labelled = {
                lab: pf.label_pairs(tasks, self.candidates(seed), lab, random.Random(f"labels-{seed}-{lab}"))
                for lab in pf.LABELLERS
            }
            pairs = same_prompts(labelled)[spec.labeller]
        elif spec.source == "off-policy":
            pairs = pf.off_policy_pairs(self.world, tasks, rng)
        else:
            raise ValueError(f"unknown quick-world data source {spec.source!r} (on-policy or off-policy)")
        return pf.subsample(pf.inject_noise(pairs, spec.noise, rng), spec.size, rng)

    def heldout_pairs(self, seed: int = 0) -> list[dict]:
        """Clean on-policy pairs on prompts nothing trains on: up to ``n_heldout`` per category from each of the
        evaluation and dev splits (0: the evaluation prompts alone): the RMs' held-out accuracy."""
        n = self.s.n_heldout
        tasks = self.world.eval_set(n) + self.world.dev_set(n) if n else self.eval_tasks
        store = JsonlStore(self.root / "data" / f"heldout_candidates_{self._sampling_key()}.jsonl")
        todo = [t for t in tasks if t.id not in store]
        if todo:
            model, tok = _load(str(self.sft_dir))
            samples = generate(
                model,
                tok,
                [t.prompt for t in todo],
                do_sample=True,
                temperature=self.s.sample_temperature,
                num_return_sequences=self.s.samples_per_prompt,
                seed=10_000 + seed,
            )
            store.extend({"id": t.id, "samples": s} for t, s in zip(todo, samples))
        cands = {t.id: store.get(t.id)["samples"] for t in tasks}
        return pf.label_pairs(tasks, cands, "fine", random.Random(f"heldout-{seed}"), source="held-out")

    def kl_prompts(self) -> list[str]:
        """The prompts each policy's KL from the SFT policy is measured on (the evaluation prompts)."""
        return [t.prompt for t in self.eval_tasks]

    def policy_prompts(self, which: str, seed: int) -> list[str]:
        """PPO / RLOO / GRPO prompts: the preference prompts, plus extra unlabelled ones (the prompts aspect)."""
        base = [t.prompt for t in self.pref_tasks(seed)]
        if which == "none":
            return base
        if which == "in-domain":  # targeted: more of the hardest reasoning prompts
            extra = [t for t in self.world.tasks("reasoning", 4 * self.s.extra_prompts, seed=2000 + seed) if t.tricky]
            return base + [t.prompt for t in extra[: self.s.extra_prompts]]
        if which == "out-of-domain":
            return base + [t.prompt for t in self.world.ood_tasks(self.s.extra_prompts, seed)]
        raise ValueError(f"unknown prompt set {which!r} (none, in-domain, out-of-domain)")


def same_prompts(labelled: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Each labeller's pairs cut to the prompts every labeller gave a pair for, as many times as each gave one (a
    prompt drawn twice counts twice): equal data size on the same prompts, only the labels differ."""
    from collections import Counter

    counts = [Counter(p["task_id"] for p in ps) for ps in labelled.values()]
    keep = {tid: min(c[tid] for c in counts) for tid in counts[0]}
    out = {}
    for lab, ps in labelled.items():
        seen: Counter = Counter()
        out[lab] = []
        for p in ps:
            seen[p["task_id"]] += 1
            if seen[p["task_id"]] <= keep.get(p["task_id"], 0):
                out[lab].append(p)
    return out


def _load(folder: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return AutoModelForCausalLM.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)
