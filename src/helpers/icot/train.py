"""The training loop: explicit CoT, no CoT, or stepwise internalization; checkpointed and resumable.

    cfg = TrainConfig(task="mult:3", method="stepwise", init_from="config:gpt2-tiny", n_epochs=4, ...)
    result = train(cfg, splits["train"], splits["valid"][:64], run.dir / "checkpoints")

Checkpoints live in ``<root>/<method>/<task>-<key>/``: ``config.json`` (every field of the config that
changes the result; ``key`` is its hash) and ``last/`` (model, tokenizer, optimizer, removal schedule,
RNG states, step, history), replaced atomically every ``checkpoint_every`` steps. A rerun with the same
config resumes from ``last/`` and repeats no finished step; a changed config gets a new folder.

    python -m helpers.icot.train spec.json      # the same from a JSON spec (used by the kill test)
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from ..core.engines import on_gpu
from ..core.hf import device_name
from ..core.store import atomic_dir, atomic_write_json, read_json, stable_id
from . import model as icot_model
from .evaluate import evaluate_examples
from .schedule import INF, RemovalSchedule, removal_counts, steps_per_removed_token


@dataclass
class TrainConfig:
    task: str  # mult:N or gsm8k (names the folder; the data fingerprint is part of the key)
    method: str  # stepwise, nocot or cot
    init_from: str = "config:gpt2-tiny"
    n_epochs: int = 1
    cot_epochs: int = 0  # the explicit-CoT baseline trains this many epochs (0: n_epochs); it is a reference only
    batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01  # AdamW's default, as in the reference
    remove_per_epoch: float = 8.0
    removal_smoothing_lambda: float = 4.0  # 0: no smoothing
    remove_all_beyond: int = 0  # 0: never (inf)
    pretrain_epochs: int = 0
    keep_position: bool = False  # removed CoT tokens leave a gap in the position ids
    reset_optimizer: bool = True  # a fresh AdamW at each increase of the removal count (the reference's flag)
    max_grad_norm: float = 1.0
    max_len_train: int = 0  # drop longer training sequences (full CoT); 0: keep all
    eval_every: int = 0  # validation greedy decoding every N steps (0: only at the end)
    seed: int = 0
    data_fingerprint: str = ""  # filled by ``train`` from the training and validation examples

    def key(self) -> str:
        return stable_id(asdict(self), length=12)


@dataclass
class TrainResult:
    model: object
    tok: object
    history: list[dict]  # one row per eval interval: step, epoch, loss, removed, valid accuracy ...
    folder: Path
    steps: int
    seconds: float  # training time summed over the processes that ran it
    segments: list[list[int]]  # [start, end] steps of each process that trained (resumes add rows)
    branched_from: str | None = None  # "cot@S": the first S steps are the explicit-CoT run's (see branch_source)
    best: dict | None = None  # the selected checkpoint: step, valid_accuracy, scheduled_removed (see select_best)
    removal_start: int | None = None  # the last step trained with the whole CoT (stepwise); None: no removal


def make_config(task: str, method: str, params: dict, overrides: dict | None = None) -> TrainConfig:
    """A TrainConfig from notebook parameters (the same names), with a task's ``task_overrides`` on top."""
    fields = set(TrainConfig.__dataclass_fields__) - {"task", "method", "data_fingerprint"}
    merged = {**params, **((overrides or {}).get(task) or {})}
    unknown = sorted(set((overrides or {}).get(task) or {}) - fields)
    if unknown:
        raise ValueError(f"task_overrides[{task!r}]: unknown training parameters {unknown}; known: {sorted(fields)}")
    return TrainConfig(task=task, method=method, **{k: v for k, v in merged.items() if k in fields})


def data_fingerprint(examples) -> str:
    """A cheap id of a list of examples: count, first and last 50 (the data are generated from params)."""
    head = [[e["input"], e["cot"], e["answer"]] for e in examples[:50]]
    tail = [[e["input"], e["cot"], e["answer"]] for e in examples[-50:]]
    return stable_id(len(examples), head, tail, length=12)


def checkpoint_folder(root: str | Path, cfg: TrainConfig) -> Path:
    return Path(root) / cfg.method / f"{cfg.task.replace(':', '')}-{cfg.key()}"


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=gen).tolist()


def _optimizer(model, cfg: TrainConfig):
    return torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)


def save_checkpoint(target: Path, model, tok, optimizer, state: dict, gen: torch.Generator) -> None:
    """Model, tokenizer, optimizer, RNG states and trainer state into ``target`` (atomically replaced)."""
    with atomic_dir(target) as tmp:
        model.config.save_pretrained(tmp)
        tok.save(tmp)
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "smoothing": gen.get_state(),
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if on_gpu() else None,
            },
            tmp / "train_state.pt",
        )
        atomic_write_json(tmp / "trainer_state.json", state)


def load_checkpoint(source: Path, cfg: TrainConfig, device):
    """(model, tok, optimizer, state, smoothing generator) saved in ``source``, or None when there is none."""
    if not (source / "trainer_state.json").exists():
        return None
    from transformers import AutoConfig, AutoModelForCausalLM

    extra = torch.load(source / "train_state.pt", weights_only=False, map_location="cpu")
    model = icot_model.with_causal_lm_loss(AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(source)))
    model.load_state_dict(extra["model"])
    model.to(device)
    optimizer = _optimizer(model, cfg)
    optimizer.load_state_dict(extra["optimizer"])
    gen = torch.Generator()
    gen.set_state(extra["smoothing"])
    torch.set_rng_state(extra["torch"])
    if extra.get("cuda") is not None and on_gpu():
        torch.cuda.set_rng_state_all(extra["cuda"])
    tok = icot_model.load_tokenizer(cfg.init_from, source)
    return model, tok, optimizer, read_json(source / "trainer_state.json"), gen


def branch_step(cfg: TrainConfig, steps_per_epoch: int) -> int:
    """The step where stepwise removal starts (after ``pretrain_epochs``); 0 when there is no pretraining."""
    return cfg.pretrain_epochs * steps_per_epoch if cfg.method in ("stepwise", "cot") else 0


def branch_source(root: Path, cfg: TrainConfig, step: int) -> Path:
    """Where the explicit-CoT run of the same config keeps its state at ``step``.

    During ``pretrain_epochs`` a stepwise run is explicit-CoT training step for step (same data order,
    optimizer and RNG; no removal offsets are drawn yet), so it starts from that snapshot when the
    explicit-CoT baseline has already trained: the shared steps are not trained twice.
    """
    return checkpoint_folder(root, replace(cfg, method="cot")) / f"branch-{step}"


def removal_start_step(cfg: TrainConfig, steps_per_epoch: int) -> int:
    """The step after which the first CoT token is removed: ``pretrain_epochs`` of explicit CoT plus one
    interval of the schedule (the counter runs from the branch step; the count grows when it reaches ``every``)."""
    return branch_step(cfg, steps_per_epoch) + steps_per_removed_token(steps_per_epoch, cfg.remove_per_epoch)


def select_best(best: dict | None, row: dict, reset: bool) -> bool:
    """Best-validation selection (the reference's rule): a validation accuracy above the best so far is a new best;
    ``reset`` (a stepwise run trained on a batch that still had CoT since the last check) forgets the old best,
    so a stepwise run keeps its latest model while removing and its best one once the whole CoT is gone."""
    return row.get("valid_accuracy") is not None and (
        reset or best is None or row["valid_accuracy"] > best["valid_accuracy"]
    )


def _max_positions(encoded) -> int:
    longest = max(len(e.prompt) + len(e.cot) + len(e.answer) + 3 for e in encoded)
    return max(64, 1 << (longest - 1).bit_length())  # headroom for test inputs of other lengths


def _interval_row(state: dict, step: int, epoch: int, scheduled: float, val) -> dict:
    iv = state["interval"]
    row = {
        "step": step,
        "epoch": epoch,
        "loss": iv["loss"] / max(iv["steps"], 1),
        "scheduled_removed": None if math.isinf(scheduled) else scheduled,
        "mean_removed_tokens": iv["removed_tokens"] / max(iv["steps"], 1),
    }
    if val is not None:
        row.update(
            valid_accuracy=sum(r["correct"] for r in val) / len(val),
            valid_cot_tokens=sum(r["n_cot_tokens"] for r in val) / len(val),
        )
    state["interval"] = {"loss": 0.0, "steps": 0, "removed_tokens": 0.0}
    return row


class _Session:
    """One training process: the model, its optimizer and the loop state, from scratch or a checkpoint."""

    def __init__(self, cfg: TrainConfig, train_examples: list[dict], root: Path, device):
        self.cfg, self.device = cfg, device
        self.folder = checkpoint_folder(root, cfg)
        loaded = load_checkpoint(self.folder / "last", cfg, device)
        tok = (
            loaded[1] if loaded else icot_model.build_tokenizer(cfg.init_from, icot_model.example_texts(train_examples))
        )
        self.encoded = [
            e
            for e in (icot_model.encode_example(tok, ex) for ex in train_examples)
            if not cfg.max_len_train or len(e.prompt) + len(e.cot) + len(e.answer) + 3 <= cfg.max_len_train
        ]
        if not self.encoded:
            raise ValueError(f"no training example fits max_len_train={cfg.max_len_train}")
        self.steps_per_epoch = math.ceil(len(self.encoded) / cfg.batch_size)
        self.total = self.steps_per_epoch * (cfg.cot_epochs if cfg.method == "cot" and cfg.cot_epochs else cfg.n_epochs)
        self.branch_at = branch_step(cfg, self.steps_per_epoch)
        if not loaded and cfg.method == "stepwise" and 0 < self.branch_at <= self.total:
            loaded = load_checkpoint(branch_source(root, cfg, self.branch_at), cfg, device)
            if loaded:
                loaded[3]["branched_from"] = f"cot@{self.branch_at}"
        if loaded:
            self.model, self.tok, self.optimizer, self.state, self.gen = loaded
        else:
            self.tok = tok
            self.model = icot_model.build_model(cfg.init_from, tok, _max_positions(self.encoded), cfg.seed).to(device)
            self.optimizer, self.gen = _optimizer(self.model, cfg), torch.Generator().manual_seed(cfg.seed)
            every = steps_per_removed_token(self.steps_per_epoch, cfg.remove_per_epoch)
            self.state = {
                "step": 0,
                "all_removed_last": False,
                "history": [],
                "seconds": 0.0,
                "segments": [],
                "best": None,
                "cot_seen": False,
                "schedule": RemovalSchedule(every, cfg.remove_all_beyond or INF, cfg.pretrain_epochs).state(),
                "interval": {"loss": 0.0, "steps": 0, "removed_tokens": 0.0},
            }
        self.sched = RemovalSchedule.load(self.state["schedule"])

    def removal(self, epoch: int, scheduled: float, n: int) -> list[float]:
        if self.cfg.method == "stepwise" and epoch < self.cfg.pretrain_epochs:
            return [0] * n  # explicit-CoT pretraining (no offsets drawn, so the run can branch)
        lam = self.cfg.removal_smoothing_lambda if self.cfg.removal_smoothing_lambda > 0 else INF
        return removal_counts(self.cfg.method, scheduled, n, lam, self.gen)

    def step(self, step: int, order: list[int]) -> tuple[int, float]:
        """One optimizer step; returns (epoch, scheduled removal count)."""
        cfg, state = self.cfg, self.state
        epoch, pos = divmod(step, self.steps_per_epoch)
        batch_enc = [self.encoded[i] for i in order[pos * cfg.batch_size : (pos + 1) * cfg.batch_size]]
        scheduled, increased = self.sched.advance(epoch)
        if cfg.method == "stepwise" and cfg.reset_optimizer and increased and not state["all_removed_last"]:
            self.optimizer = _optimizer(self.model, cfg)  # the reference resets AdamW at each increase
        removed = self.removal(epoch, scheduled, len(batch_enc))
        batch = icot_model.make_batch(batch_enc, removed, self.tok.eos_id, self.tok.pad_id, cfg.keep_position)
        loss = self.model(**{k: v.to(self.device) for k, v in batch.items()}).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        cut = [min(len(e.cot), k) for e, k in zip(batch_enc, removed)]
        state["all_removed_last"] = all(c == len(e.cot) for c, e in zip(cut, batch_enc))
        state["cot_seen"] = state.get("cot_seen", False) or not state["all_removed_last"]
        iv = state["interval"]
        iv["loss"], iv["steps"] = iv["loss"] + loss.item(), iv["steps"] + 1
        iv["removed_tokens"] += sum(cut) / len(cut)
        state["step"] = step + 1
        return epoch, scheduled

    def keep_if_best(self, row: dict) -> None:
        """Save the model as ``best/`` when ``row`` (a validation check) is a new best (``select_best``)."""
        reset = self.cfg.method == "stepwise" and self.state.get("cot_seen", False)
        if select_best(self.state.get("best"), row, reset):
            self.state["best"] = {k: row.get(k) for k in ("step", "valid_accuracy", "scheduled_removed")}
            with atomic_dir(self.folder / "best") as tmp:
                self.model.config.save_pretrained(tmp)
                torch.save(self.model.state_dict(), tmp / "model.pt")
                atomic_write_json(tmp / "best.json", self.state["best"])
        self.state["cot_seen"] = False

    def save(self, target: Path, start_step: int, t0: float) -> float:
        self.state["schedule"] = self.sched.state()
        self.state["seconds"] += time.perf_counter() - t0
        done = self.state["step"]
        self.state["segments"] = [s for s in self.state["segments"] if s[0] != start_step] + [[start_step, done]]
        save_checkpoint(target, self.model, self.tok, self.optimizer, self.state, self.gen)
        return time.perf_counter()


def train(
    cfg: TrainConfig,
    train_examples: list[dict],
    valid_examples: list[dict],
    root: str | Path,
    checkpoint_every: int = 0,
    progress: bool = False,
    device: str | None = None,
    max_new_tokens: int = 0,
) -> TrainResult:
    """Train (or resume, or just load) the model of ``cfg``; see the module docstring."""
    from tqdm.auto import tqdm

    device = torch.device(device or device_name())
    torch.backends.cuda.matmul.allow_tf32 = True
    cfg.data_fingerprint = stable_id(data_fingerprint(train_examples), data_fingerprint(valid_examples), length=12)
    s = _Session(cfg, train_examples, Path(root), device)
    if not (s.folder / "config.json").exists():
        atomic_write_json(s.folder / "config.json", {**asdict(cfg), "key": cfg.key()})
    max_new = max_new_tokens or max(len(e.cot) + len(e.answer) for e in s.encoded) + 8
    removal_start = removal_start_step(cfg, s.steps_per_epoch) if cfg.method in ("stepwise", "cot") else None
    start_step, t0 = s.state["step"], time.perf_counter()
    s.model.train()
    bar = tqdm(total=s.total, initial=start_step, desc=f"{cfg.task} {cfg.method}", disable=not progress, unit="step")
    order, order_epoch = None, -1
    for step in range(start_step, s.total):
        if step // s.steps_per_epoch != order_epoch:
            order_epoch = step // s.steps_per_epoch
            order = epoch_order(len(s.encoded), cfg.seed, order_epoch)
        epoch, scheduled = s.step(step, order)
        done = step + 1
        if (cfg.eval_every and done % cfg.eval_every == 0) or done in (s.total, removal_start):
            skip = icot_model.inference_skip(cfg.method, cfg.keep_position, s.encoded, scheduled)
            val = evaluate_examples(s.model, s.tok, valid_examples, max_new, skip=skip) if valid_examples else None
            s.model.train()
            s.state["history"].append(_interval_row(s.state, done, epoch, scheduled, val))
            s.keep_if_best(s.state["history"][-1])
        bar.update(1)
        if cfg.method == "cot" and done == s.branch_at:
            t0 = s.save(branch_source(root, cfg, done), start_step, t0)
        if (checkpoint_every and done % checkpoint_every == 0) or done == s.total:
            t0 = s.save(s.folder / "last", start_step, t0)
    bar.close()
    best = s.state.get("best")
    if best and (s.folder / "best" / "best.json").exists() and read_json(s.folder / "best" / "best.json") == best:
        s.model.load_state_dict(torch.load(s.folder / "best" / "model.pt", map_location=device))  # the test decodes it
    elif best and best["step"] != s.state["step"]:
        best = None  # its weights were not kept (e.g. a run killed between two checkpoints): the final model
    s.model.eval()
    return TrainResult(
        s.model,
        s.tok,
        s.state["history"],
        s.folder,
        s.state["step"],
        s.state["seconds"],
        s.state["segments"],
        s.state.get("branched_from"),
        best,
        removal_start if removal_start is not None and removal_start <= s.total else None,
    )


def main(argv: list[str] | None = None) -> int:
    """Train from a JSON spec: {"config": {...TrainConfig}, "root", "checkpoint_every", "data": {...}}."""
    from .data import load_task

    spec = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    torch.set_num_threads(spec.get("threads", 1))
    cfg = TrainConfig(**spec["config"])
    splits = load_task(cfg.task, **spec["data"])
    result = train(cfg, splits["train"], splits["valid"], spec["root"], spec.get("checkpoint_every", 0))
    print(json.dumps({"steps": result.steps, "segments": result.segments, "folder": str(result.folder)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
