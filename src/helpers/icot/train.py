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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..store import atomic_dir, atomic_write_json, read_json, stable_id
from . import model as icot_model
from .evaluate import evaluate_examples
from .schedule import INF, RemovalSchedule, remove_left, removal_counts, steps_per_removed_token


@dataclass
class TrainConfig:
    task: str  # mult:N or gsm8k (names the folder; the data fingerprint is part of the key)
    method: str  # stepwise, nocot or cot
    init_from: str = "config:gpt2-tiny"
    n_epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01  # AdamW's default, as in the reference
    remove_per_epoch: float = 8.0
    smoothing_lambda: float = 4.0  # 0: no smoothing
    remove_all_beyond: int = 0  # 0: never (inf)
    pretrain_epochs: int = 0
    max_grad_norm: float = 1.0
    max_len_train: int = 0  # drop longer training sequences (full CoT); 0: keep all
    eval_every: int = 0  # validation greedy decoding every N steps (0: only at the end)
    seed: int = 0
    data_fingerprint: str = ""  # filled by ``train`` from the examples
    extra: dict = field(default_factory=dict)  # anything else that changes the result (e.g. data params)

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


def data_fingerprint(examples) -> str:
    head = [[e["input"], e["cot"], e["answer"]] for e in examples[:50]]
    tail = [[e["input"], e["cot"], e["answer"]] for e in examples[-50:]]
    return stable_id(len(examples), head, tail, length=12)


def checkpoint_folder(root: str | Path, cfg: TrainConfig) -> Path:
    return Path(root) / cfg.method / f"{cfg.task.replace(':', '')}-{cfg.key()}"


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=gen).tolist()


def make_batch(encoded, removed: list[float], eos: int, pad: int) -> dict[str, torch.Tensor]:
    """Right-padded ids, mask and labels (-100 up to and including the first ``<eos>``)."""
    seqs = [icot_model.pack(e, remove_left(e.cot, k), eos) for e, k in zip(encoded, removed)]
    width = max(len(ids) for ids, _ in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    labels = torch.full((len(seqs), width), -100, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, (row, loss_from) in enumerate(seqs):
        ids[i, :len(row)] = torch.tensor(row)
        labels[i, loss_from:len(row)] = torch.tensor(row[loss_from:])
        mask[i, :len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _optimizer(model, cfg: TrainConfig):
    return torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)


def _fresh_state(cfg: TrainConfig, every: int) -> dict:
    sched = RemovalSchedule(every, cfg.remove_all_beyond or INF, cfg.pretrain_epochs)
    return {"step": 0, "schedule": sched.state(), "all_removed_last": False, "history": [], "seconds": 0.0,
            "segments": [], "interval": {"loss": 0.0, "steps": 0, "removed_tokens": 0.0}}


def save_checkpoint(folder: Path, model, tok, optimizer, state: dict, gen: torch.Generator) -> None:
    with atomic_dir(folder / "last") as tmp:
        model.config.save_pretrained(tmp)
        tok.save(tmp)
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "smoothing": gen.get_state(),
                    "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}, tmp / "train_state.pt")
        atomic_write_json(tmp / "trainer_state.json", state)


def load_checkpoint(folder: Path, cfg: TrainConfig, device):
    """(model, tok, optimizer, state, smoothing generator) from ``last/``, or None when there is none."""
    last = folder / "last"
    if not (last / "trainer_state.json").exists():
        return None
    from transformers import AutoConfig, AutoModelForCausalLM
    extra = torch.load(last / "train_state.pt", weights_only=False, map_location="cpu")
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(last))
    model.load_state_dict(extra["model"])
    model.to(device)
    tok = icot_model.load_tokenizer(cfg.init_from, last)
    optimizer = _optimizer(model, cfg)
    optimizer.load_state_dict(extra["optimizer"])
    gen = torch.Generator()
    gen.set_state(extra["smoothing"])
    torch.set_rng_state(extra["torch"])
    if extra.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(extra["cuda"])
    return model, tok, optimizer, read_json(last / "trainer_state.json"), gen


def _max_positions(encoded) -> int:
    longest = max(len(e.prompt) + len(e.cot) + len(e.answer) + 3 for e in encoded)
    return 1 << (longest - 1).bit_length()  # headroom for test inputs of other lengths


def _start(cfg, tok, encoded, device):
    """A fresh model (seeded), optimizer and smoothing generator."""
    model = icot_model.build_model(cfg.init_from, tok, max(_max_positions(encoded), 64), cfg.seed).to(device)
    return model, _optimizer(model, cfg), torch.Generator().manual_seed(cfg.seed)


def _interval_row(state: dict, step: int, epoch: int, scheduled: float, val) -> dict:
    iv = state["interval"]
    row = {"step": step, "epoch": epoch, "loss": iv["loss"] / max(iv["steps"], 1),
           "scheduled_removed": None if math.isinf(scheduled) else scheduled,
           "mean_removed_tokens": iv["removed_tokens"] / max(iv["steps"], 1)}
    if val is not None:
        row.update(valid_accuracy=sum(r["correct"] for r in val) / len(val),
                   valid_cot_tokens=sum(r["n_cot_tokens"] for r in val) / len(val))
    state["interval"] = {"loss": 0.0, "steps": 0, "removed_tokens": 0.0}
    return row


def train(cfg: TrainConfig, train_examples: list[dict], valid_examples: list[dict], root: str | Path,
          checkpoint_every: int = 0, progress: bool = False, device: str | None = None,
          max_new_tokens: int = 0) -> TrainResult:
    """Train (or resume, or just load) the model of ``cfg``; see the module docstring."""
    from tqdm.auto import tqdm

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.backends.cuda.matmul.allow_tf32 = True
    cfg.data_fingerprint = data_fingerprint(train_examples)
    folder = checkpoint_folder(root, cfg)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "config.json").exists():
        atomic_write_json(folder / "config.json", {**asdict(cfg), "key": cfg.key()})
    loaded = load_checkpoint(folder, cfg, device)
    tok = loaded[1] if loaded else icot_model.build_tokenizer(cfg.init_from, icot_model.example_texts(train_examples))
    encoded = [icot_model.encode_example(tok, e) for e in train_examples]
    if loaded:
        model, tok, optimizer, state, gen = loaded
    else:
        (model, optimizer, gen), state = _start(cfg, tok, encoded, device), None
    if cfg.max_len_train:
        encoded = [e for e in encoded if len(e.prompt) + len(e.cot) + len(e.answer) + 3 <= cfg.max_len_train]
    if not encoded:
        raise ValueError(f"no training example fits max_len_train={cfg.max_len_train}")
    steps_per_epoch = math.ceil(len(encoded) / cfg.batch_size)
    total = steps_per_epoch * cfg.n_epochs
    every = steps_per_removed_token(steps_per_epoch, cfg.remove_per_epoch)
    state = state or _fresh_state(cfg, every)
    sched = RemovalSchedule.load(state["schedule"])
    max_new = max_new_tokens or max(len(e.cot) + len(e.answer) for e in encoded) + 8
    start_step, t0 = state["step"], time.perf_counter()
    model.train()
    bar = tqdm(total=total, initial=start_step, desc=f"{cfg.task} {cfg.method}", disable=not progress, unit="step")
    order, order_epoch = None, -1
    for step in range(start_step, total):
        epoch, pos = divmod(step, steps_per_epoch)
        if epoch != order_epoch:
            order, order_epoch = epoch_order(len(encoded), cfg.seed, epoch), epoch
        batch_enc = [encoded[i] for i in order[pos * cfg.batch_size:(pos + 1) * cfg.batch_size]]
        scheduled, increased = sched.advance(epoch)
        if cfg.method == "stepwise" and increased and not state["all_removed_last"]:
            optimizer = _optimizer(model, cfg)  # the reference resets AdamW at each increase
        lam = cfg.smoothing_lambda if cfg.smoothing_lambda > 0 else INF
        removed = removal_counts(cfg.method, scheduled, len(batch_enc), lam, gen)
        batch = {k: v.to(device) for k, v in make_batch(batch_enc, removed, tok.eos_id, tok.pad_id).items()}
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        cut = [min(len(e.cot), k) for e, k in zip(batch_enc, removed)]
        state["all_removed_last"] = all(c == len(e.cot) for c, e in zip(cut, batch_enc))
        iv = state["interval"]
        iv["loss"] += loss.item()
        iv["steps"] += 1
        iv["removed_tokens"] += sum(cut) / len(cut)
        state["step"] = done = step + 1
        if (cfg.eval_every and done % cfg.eval_every == 0) or done == total:
            val = evaluate_examples(model, tok, valid_examples, max_new) if valid_examples else None
            model.train()
            state["history"].append(_interval_row(state, done, epoch, scheduled, val))
        bar.update(1)
        if (checkpoint_every and done % checkpoint_every == 0) or done == total:
            state["schedule"] = sched.state()
            state["seconds"] += time.perf_counter() - t0
            state["segments"] = [s for s in state["segments"] if s[0] != start_step] + [[start_step, done]]
            t0 = time.perf_counter()
            save_checkpoint(folder, model, tok, optimizer, state, gen)
    bar.close()
    model.eval()
    return TrainResult(model, tok, state["history"], folder, state["step"], state["seconds"], state["segments"])


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
