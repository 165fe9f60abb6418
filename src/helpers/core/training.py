"""Training stages a researcher can leave running: one way to build TRL arguments, checkpoint every N
steps, resume after a kill, log to a tracker, use LoRA, and launch through ``accelerate``.

The short way (what the notebooks' helpers call, ``helpers.core.launch``): one TRL stage, in this process or
under ``accelerate launch``, resumable, its result in ``out_dir``::

    result = run_training("dpo", model, dataset, out_dir, opts, {"max_steps": 100, "learning_rate": 1e-6, ...})

The long way, for a stage that builds its own trainer (kept for code that already uses it)::

    opts = TrainOptions(save_steps=50, report_to="none", lora_r=0)
    with resumable(out_dir, key=config_dict) as work:          # work/ survives a kill; keyed by the config
        args = trainer_kwargs(work, opts, max_steps=..., learning_rate=..., ...)
        trainer = DPOTrainer(model=net, args=DPOConfig(**args), peft_config=peft_config(opts), ...)
        history = train(trainer, work)                            # resumes from work/'s last checkpoint
        save_final(trainer, tok, work.final)                      # moved into out_dir atomically on exit

The work folder is named by a hash of ``key`` (everything that changes the weights: model, data, every
hyperparameter, LoRA, the launcher's process count), so a changed parameter never resumes a stale
checkpoint; the key is written beside it and into the finished model folder (``train_config.json``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .engines import on_gpu
from .store import atomic_dir, atomic_write_json, is_finished, mark_finished, stable_id

REPORTERS = ("none", "trackio", "wandb", "mlflow", "tensorboard")
KINDS = ("sft", "dpo", "simpo", "reward")
TRAIN_MARKER = "train_config.json"  # a finished training stage's key, in its model folder (``store.mark_finished``)
REPO_ROOT = Path(__file__).resolve().parents[3]
ACCELERATE_CONFIGS = REPO_ROOT / "configs" / "accelerate"
# the params every training notebook exposes, with the same names and meaning
PARAM_NAMES = ("save_steps", "report_to", "lora_r", "train_launcher")


class TrainingError(ValueError):
    """A training option that cannot work here (an uninstalled tracker, LoRA without peft, ...)."""


def launchers() -> list[str]:
    """``local`` plus ``accelerate-<name>`` for every shipped ``configs/accelerate/<name>.yaml``."""
    shipped = sorted(p.stem for p in ACCELERATE_CONFIGS.glob("*.yaml")) if ACCELERATE_CONFIGS.is_dir() else []
    return ["local"] + [f"accelerate-{name}" for name in shipped]


def accelerate_config(launcher: str) -> Path:
    """The config file of ``accelerate-<name>`` (a shipped name, or a path to a YAML file after the dash)."""
    name = launcher[len("accelerate-") :]
    path = ACCELERATE_CONFIGS / f"{name}.yaml"
    if not path.is_file() and name.endswith((".yaml", ".yml")):
        path = Path(name).expanduser()
    if not path.is_file():
        raise TrainingError(
            f"train_launcher={launcher!r}: no accelerate config {path}; choose one of {', '.join(launchers())}"
        )
    return path


def accelerate_settings(launcher: str) -> dict:
    """The contents of ``accelerate-<name>``'s config file (``accelerate_config``)."""
    import yaml

    with open(accelerate_config(launcher), encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


@dataclass(frozen=True)
class TrainOptions:
    """What every training stage exposes as params (the same names in every notebook)."""

    save_steps: int = 0  # a checkpoint every N optimizer steps (0: only the final model)
    save_total_limit: int = 2  # checkpoints kept on disk
    report_to: str = "none"  # none | trackio | wandb | mlflow | tensorboard
    lora_r: int = 0  # LoRA rank through peft (0: full fine-tuning)
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    launcher: str = "local"  # local | accelerate-<config name> (configs/accelerate/<name>.yaml)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TrainOptions:
        """The options from a notebook's params (``save_steps``, ``report_to``, ``lora_r``, ``train_launcher``)."""
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in params.items() if k in names and v is not None}
        if params.get("train_launcher") is not None:
            kw["launcher"] = params["train_launcher"]
        return cls(**kw)

    def check(self) -> None:
        """Raise TrainingError (one line naming the param) for options that cannot work on this machine."""
        for name in ("save_steps", "lora_r", "save_total_limit"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise TrainingError(f"{name}={value!r}: must be an integer >= 0")
        if self.report_to not in REPORTERS:
            raise TrainingError(f"report_to={self.report_to!r}: choose one of {', '.join(REPORTERS)}")
        if self.report_to != "none" and importlib.util.find_spec(self.report_to) is None:
            raise TrainingError(
                f"report_to={self.report_to!r} but the package {self.report_to!r} is not installed "
                f"(pip install {self.report_to}, or report_to: none)"
            )
        if self.lora_r and importlib.util.find_spec("peft") is None:
            raise TrainingError("lora_r > 0 needs the `peft` package (pip install peft)")
        if self.launcher != "local":
            if not self.launcher.startswith("accelerate-"):
                raise TrainingError(f"train_launcher={self.launcher!r}: choose one of {', '.join(launchers())}")
            cfg = accelerate_settings(self.launcher)
            if importlib.util.find_spec("accelerate") is None:
                raise TrainingError(f"train_launcher={self.launcher!r} needs the `accelerate` package")
            if cfg.get("distributed_type") == "DEEPSPEED" and importlib.util.find_spec("deepspeed") is None:
                raise TrainingError(
                    f"train_launcher={self.launcher!r} needs the `deepspeed` package (pip install deepspeed; GPU only)"
                )

    def processes(self) -> int:
        """How many training processes the launcher starts (1 for local)."""
        if self.launcher == "local":
            return 1
        cfg = accelerate_settings(self.launcher)
        n = int(cfg.get("num_processes") or 1)
        if cfg.get("distributed_type") in ("MULTI_GPU", "DEEPSPEED", "FSDP") and not cfg.get("use_cpu"):
            n = min(n, max(1, _gpu_count()))
        return n

    def key(self) -> dict:
        """The part of the options that changes the trained weights: LoRA, and the number of processes
        (data-parallel processes multiply the batch). Logging and checkpointing do not."""
        out: dict[str, Any] = (
            {"lora_r": self.lora_r, "lora_alpha": self.lora_alpha, "lora_dropout": self.lora_dropout}
            if self.lora_r
            else {"lora_r": 0}
        )
        if self.launcher != "local":
            out["processes"] = self.processes()
        return out


def check_params(params: dict[str, Any]) -> None:
    """The runner's precheck for any notebook that trains: bad training params stop the run before compute."""
    if not any(k in params for k in PARAM_NAMES):
        return
    try:
        opts = TrainOptions.from_params(params)
    except TypeError as exc:
        raise TrainingError(f"training params: {exc}") from None
    opts.check()


def _gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # noqa: BLE001 - no torch, no GPU
        return 0


def trainer_kwargs(work: Path, opts: TrainOptions, **kwargs: Any) -> dict:
    """Keyword arguments for any TRL ``*Config`` (a ``TrainingArguments``): checkpointing, tracker,
    device and precision filled in; ``kwargs`` (steps, learning rate, batch size, ...) win."""
    import torch

    opts.check()
    cpu = not on_gpu()
    base = dict(
        output_dir=str(Path(work) / "checkpoints"),
        save_strategy="steps" if opts.save_steps else "no",
        save_steps=opts.save_steps or 500,
        save_total_limit=max(1, opts.save_total_limit),
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

    return LoraConfig(
        r=opts.lora_r,
        lora_alpha=opts.lora_alpha,
        lora_dropout=opts.lora_dropout,
        target_modules="all-linear",
        task_type=task_type,
    )


def _complete(checkpoint: Path) -> bool:
    # the Trainer writes trainer_state.json last: a checkpoint without it was cut by a kill
    return (checkpoint / "trainer_state.json").is_file()


def last_checkpoint(work: Path) -> str | None:
    """The newest complete ``checkpoint-N`` folder under ``work/checkpoints`` (None when there is none);
    a newer, incomplete one (a kill during the save) is skipped (and overwritten when training gets there)."""
    folder = Path(work) / "checkpoints"
    if not folder.is_dir():
        return None
    found = []
    for p in folder.iterdir():
        name = p.name
        if p.is_dir() and name.startswith("checkpoint-") and name[len("checkpoint-") :].isdigit():
            found.append((int(name[len("checkpoint-") :]), p))
    for _, path in sorted(found, reverse=True):
        if _complete(path):
            return str(path)
    return None


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


def _normal(key: dict) -> Any:
    return json.loads(json.dumps(key, sort_keys=True, default=str))


def work_dir(out_dir: str | Path, key: dict) -> Path:
    """Where the checkpoints of the stage ``(out_dir, key)`` live while it trains."""
    out_dir = Path(out_dir)
    return out_dir.parent / f".{out_dir.name}.work-{stable_id(key)}"


def finished(out_dir: str | Path, key: dict) -> bool:
    """True when ``out_dir`` holds a finished model trained with exactly ``key`` (``store.is_finished`` on the
    training stage's marker, ``train_config.json``, that ``resumable`` writes last)."""
    return is_finished(out_dir, TRAIN_MARKER, key)


@contextmanager
def resumable(out_dir: str | Path, key: dict) -> Iterator[Work]:
    """A training stage whose result lands in ``out_dir`` (atomically) and whose checkpoints live in a
    sibling work folder named by a hash of ``key``. When the block ends without error the work folder is
    removed; after a kill it stays, and the next run with the same key resumes from it."""
    out_dir = Path(out_dir)
    work = work_dir(out_dir, key)
    work.mkdir(parents=True, exist_ok=True)
    atomic_write_json(work / "config.json", key)
    for stale in out_dir.parent.glob(f".{out_dir.name}.*.tmp"):  # a final folder a kill left half-written
        shutil.rmtree(stale, ignore_errors=True)
    with atomic_dir(out_dir) as tmp:
        yield Work(work, Path(tmp))
        mark_finished(tmp, key, TRAIN_MARKER)
    shutil.rmtree(work, ignore_errors=True)


def save_final(trainer, tokenizer, folder: str | Path) -> None:
    """Save the trained model (LoRA adapters merged into the base weights) and its tokenizer.
    Without LoRA ``trainer.save_model`` writes it, which gathers ZeRO-3 shards and writes once under DDP."""
    model = trainer.model
    if hasattr(model, "merge_and_unload"):
        if trainer.args.should_save:
            model.merge_and_unload().save_pretrained(str(folder))
    else:
        trainer.save_model(str(folder))
    if trainer.args.should_save:
        tokenizer.save_pretrained(str(folder))


def dataset_fingerprint(dataset) -> str:
    """A hash of every row of a ``datasets.Dataset`` (or a list of dicts): the data part of a stage key."""
    digest = hashlib.sha1()
    for row in dataset if isinstance(dataset, list) else dataset.to_list():
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def model_fingerprint(path: str | Path) -> list:
    """Name, size and mtime of a local model folder's files (a re-trained checkpoint in the same folder
    changes it); a hub id is its own fingerprint."""
    path = Path(path)
    if not path.is_dir():
        return [str(path)]
    return [str(path)] + sorted(
        [p.name, p.stat().st_size, p.stat().st_mtime_ns]
        for p in path.iterdir()
        if p.is_file() and p.suffix in (".safetensors", ".bin", ".json", ".model")
    )


def stage_key(kind: str, model: str, dataset, opts: TrainOptions, config: dict) -> dict:
    """Everything that changes the weights of a ``run_training`` stage."""
    from .models import resolve_model

    return _normal(
        {
            "kind": kind,
            "model": model_fingerprint(resolve_model(model)),
            "data": dataset_fingerprint(dataset),
            "config": config,
            "options": opts.key(),
        }
    )
