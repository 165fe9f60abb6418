"""One TRL training job from a JSON spec: build the trainer, train (resuming from the work folder's last
checkpoint), save the final model, write the result. ``helpers.core.launch.run_training`` calls
``run`` in its own process, or launches this module under ``accelerate launch`` (one copy per process):

    accelerate launch --config_file configs/accelerate/ddp.yaml -m helpers.core.train_job work/job.json

The spec: kind (sft | dpo | simpo | reward), model (a local folder or hub id), work (checkpoints),
final (where the model goes), options (``TrainOptions`` as a dict), config (the TRL ``*Config`` keyword
arguments), result (the JSON file the main process writes), data (a ``datasets`` folder, when launched).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .store import atomic_write_json
from .training import TrainingError, TrainOptions, peft_config, save_final, train, trainer_kwargs


def _config(kind: str, args: dict[str, Any]):
    if kind == "sft":
        from trl import SFTConfig

        return SFTConfig(**args)
    if kind == "dpo":
        from trl import DPOConfig

        return DPOConfig(**args)
    if kind == "simpo":  # SimPO = CPO's simpo loss without the BC term (cpo_alpha = 0)
        from trl.experimental.cpo import CPOConfig

        return CPOConfig(**{"loss_type": "simpo", "cpo_alpha": 0.0, "beta": 2.0, "simpo_gamma": 0.5, **args})
    if kind == "reward":
        from trl import RewardConfig

        return RewardConfig(**args)
    raise TrainingError(f"unknown training kind {kind!r}")


def _trainer_class(kind: str):
    if kind == "sft":
        from trl import SFTTrainer

        return SFTTrainer
    if kind == "dpo":
        from trl import DPOTrainer

        return DPOTrainer
    if kind == "simpo":
        from trl.experimental.cpo import CPOTrainer

        return CPOTrainer
    from trl import RewardTrainer

    return RewardTrainer


def build_trainer(spec: dict, dataset=None):
    """(trainer, tokenizer) for ``spec``; ``dataset`` defaults to the ``datasets`` folder ``spec["data"]``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    kind, opts = spec["kind"], TrainOptions(**spec["options"])
    if dataset is None:
        from datasets import load_from_disk

        dataset = load_from_disk(spec["data"])
    elif isinstance(dataset, list):
        from datasets import Dataset

        dataset = Dataset.from_list(dataset)
    # the TRL config first: under DeepSpeed ZeRO-3 it must exist before the model is loaded (sharded init)
    args = _config(kind, trainer_kwargs(Path(spec["work"]), opts, **spec["config"]))
    tok = AutoTokenizer.from_pretrained(spec["model"])
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    dtype = torch.bfloat16 if args.bf16 else torch.float32
    if kind == "reward":
        net = AutoModelForSequenceClassification.from_pretrained(spec["model"], num_labels=1, dtype=dtype)
        net.config.pad_token_id = tok.pad_token_id
        lora = peft_config(opts, task_type="SEQ_CLS")
    else:
        net = AutoModelForCausalLM.from_pretrained(spec["model"], dtype=dtype)
        lora = peft_config(opts)
    trainer = _trainer_class(kind)(model=net, args=args, train_dataset=dataset, processing_class=tok, peft_config=lora)
    return trainer, tok


def run(spec: dict, dataset=None, trainer_hook=None) -> dict:
    """Build, train (resuming), save the final model into ``spec["final"]``; the main process writes and
    every process returns the result. ``trainer_hook(trainer)`` may add callbacks before training."""
    trainer, tok = build_trainer(spec, dataset)
    if trainer_hook is not None:
        trainer_hook(trainer)
    history = train(trainer, Path(spec["work"]))
    resumed = history.pop(0)["resumed_from"] if history and "resumed_from" in history[0] else None
    save_final(trainer, tok, spec["final"])
    result = {
        "kind": spec["kind"],
        "history": history,
        "resumed_from": resumed,
        "global_step": trainer.state.global_step,
        "processes": trainer.accelerator.num_processes,
        "lora_r": spec["options"].get("lora_r", 0),
    }
    if trainer.accelerator.is_main_process:
        atomic_write_json(spec["result"], result)
    trainer.accelerator.wait_for_everyone()
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m helpers.core.train_job SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    run(spec)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
