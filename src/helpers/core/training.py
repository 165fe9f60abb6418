"""Training stages a researcher can leave running: one way to build TRL arguments, checkpoint every N
steps, resume after a kill, log to a tracker, and use LoRA.

Every TRL stage of every notebook goes through here:

    opts = TrainOptions(save_steps=50, report_to="none", lora_r=0)
    with resumable(out_dir, key=config_dict) as work:          # work/ survives a kill; keyed by the config
        args = trainer_kwargs(work, opts, max_steps=..., learning_rate=..., ...)
        trainer = DPOTrainer(model=net, args=DPOConfig(**args), peft_config=peft_config(opts), ...)
        history = train(trainer, work)                            # resumes from work/'s last checkpoint
        save_final(trainer, tok, work.final)                      # moved into out_dir atomically on exit

The work folder is named by a hash of ``key`` (everything that changes the result), so a changed
parameter never resumes a stale checkpoint; the config is written beside it.
"""
from __future__ import annotations

import importlib.util
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

from .store import atomic_dir, atomic_write_json, stable_id

REPORTERS = ("none", "trackio", "wandb", "mlflow", "tensorboard")


class TrainingError(ValueError):
    """A training option that cannot work here (an uninstalled tracker, LoRA without peft, ...)."""


@dataclass(frozen=True)
class TrainOptions:
    """What every training stage exposes as params (the same names in every notebook)."""
    save_steps: int = 0          # a checkpoint every N optimizer steps (0: only the final model)
    save_total_limit: int = 2    # checkpoints kept on disk
    report_to: str = "none"      # none | trackio | wandb | mlflow | tensorboard
    lora_r: int = 0              # LoRA rank through peft (0: full fine-tuning)
    lora_alpha: int = 16
    lora_dropout: float = 0.05

    def check(self) -> None:
        if self.report_to not in REPORTERS:
            raise TrainingError(f"report_to={self.report_to!r}: choose one of {', '.join(REPORTERS)}")
        if self.report_to != "none" and importlib.util.find_spec(self.report_to) is None:
            raise TrainingError(f"report_to={self.report_to!r} but the package {self.report_to!r} is not installed "
                                f"(pip install {self.report_to})")
        if self.lora_r and importlib.util.find_spec("peft") is None:
            raise TrainingError("lora_r > 0 needs the `peft` package (pip install peft)")
        if self.save_steps < 0 or self.lora_r < 0:
            raise TrainingError("save_steps and lora_r must be >= 0")

    def key(self) -> dict:
        """The part of the options that changes the trained weights (LoRA); logging and saving do not."""
        return {"lora_r": self.lora_r, "lora_alpha": self.lora_alpha, "lora_dropout": self.lora_dropout} \
            if self.lora_r else {"lora_r": 0}


def use_cpu() -> bool:
    import torch
    return not torch.cuda.is_available()


def trainer_kwargs(work: Path, opts: TrainOptions, **kwargs: Any) -> dict:
    """Keyword arguments for any TRL ``*Config`` (a ``TrainingArguments``): checkpointing, tracker,
    device and precision filled in; ``kwargs`` (steps, learning rate, batch size, ...) win."""
    import torch
    opts.check()
    cpu = use_cpu()
    base = dict(
        output_dir=str(Path(work) / "checkpoints"),
        save_strategy="steps" if opts.save_steps else "no",
        save_steps=opts.save_steps or 500,
        save_total_limit=opts.save_total_limit,
        report_to=[] if opts.report_to == "none" else [opts.report_to],
        use_cpu=cpu,
        bf16=False if cpu else torch.cuda.is_bf16_supported(),
        logging_steps=1,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    base.update(kwargs)
    return base


def peft_config(opts: TrainOptions, task_type: str = "CAUSAL_LM"):
    """A peft ``LoraConfig`` when ``opts.lora_r > 0`` (all linear layers), else None (full fine-tuning)."""
    if not opts.lora_r:
        return None
    opts.check()
    from peft import LoraConfig
    return LoraConfig(r=opts.lora_r, lora_alpha=opts.lora_alpha, lora_dropout=opts.lora_dropout,
                      target_modules="all-linear", task_type=task_type)


def last_checkpoint(work: Path) -> str | None:
    """The newest complete ``checkpoint-N`` folder under ``work/checkpoints`` (None when there is none)."""
    from transformers.trainer_utils import get_last_checkpoint
    folder = Path(work) / "checkpoints"
    if not folder.is_dir():
        return None
    return get_last_checkpoint(str(folder))


def train(trainer, work: Path) -> list[dict]:
    """Run ``trainer.train()``, resuming from the last checkpoint in ``work`` when there is one; returns
    the log history. A kill at any point loses at most ``save_steps`` steps."""
    resume = last_checkpoint(work)
    trainer.train(resume_from_checkpoint=resume)
    history = list(trainer.state.log_history)
    if resume:
        history.insert(0, {"resumed_from": Path(resume).name})
    return history


class Work:
    """The persistent work folder of one training stage (``path``) and the folder its final model is
    written into (``final``, moved to the stage's output folder atomically when the block ends)."""

    def __init__(self, path: Path, final: Path):
        self.path, self.final = path, final

    def __fspath__(self) -> str:
        return str(self.path)

    def __truediv__(self, other: str) -> Path:
        return self.path / other


@contextmanager
def resumable(out_dir: str | Path, key: dict) -> Iterator[Work]:
    """A training stage whose result lands in ``out_dir`` (atomically) and whose checkpoints live in a
    sibling work folder named by a hash of ``key``. When the block ends without error the work folder is
    removed; after a kill it stays, and the next run with the same key resumes from it."""
    out_dir = Path(out_dir)
    work = out_dir.parent / f".{out_dir.name}.work-{stable_id(key)}"
    work.mkdir(parents=True, exist_ok=True)
    atomic_write_json(work / "config.json", key)
    with atomic_dir(out_dir) as tmp:
        yield Work(work, Path(tmp))
        atomic_write_json(Path(tmp) / "train_config.json", key)
    shutil.rmtree(work, ignore_errors=True)


def save_final(trainer, tokenizer, folder: str | Path) -> None:
    """Save the trained model (LoRA adapters merged into the base weights) and its tokenizer."""
    model = trainer.model
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))


def options_dict(opts: TrainOptions) -> dict:
    return asdict(opts)
