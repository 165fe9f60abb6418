"""TRL launches for every stage: SFT, DPO, reward model, RLOO and GRPO; resumable, cached by their inputs.

    hist = train_sft(start, rows, out / "sft", Stage(steps=600, learning_rate=8e-3, batch_size=32), tok=tok)
    hist = train_dpo(out / "sft", pairs, out / "dpo", Stage(steps=40, learning_rate=5e-4), beta=0.1)
    hist = train_reward(out / "sft", pairs, out / "rm", Stage(...), preset="config:rm-l", tok=tok)
    hist = train_online("rloo", out / "sft", prompts, reward_fn, out / "rloo", Stage(...), online=Online(...))

Each call goes through ``helpers.core.training``: checkpoints every ``save_steps`` into a work folder named
by a hash of every input (a killed run resumes from its last checkpoint; a changed input trains afresh),
the final model moved into ``out_dir`` atomically with ``history.json`` (TRL's log history plus the
checker accuracy a ``CheckerCallback`` adds every ``eval_every`` steps). A folder that already holds a
finished model of the same key is reused: adding a row to the grid trains only that row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..core.store import read_json, stable_id
from ..core.training import TrainOptions, finished, peft_config, resumable, save_final, train, trainer_kwargs
from .toy_model import build_reward_model, is_config_spec


@dataclass(frozen=True)
class Stage:
    """What every training stage takes (the paper's names; the notebook's params fill them)."""

    steps: int = 20
    learning_rate: float = 1e-6
    batch_size: int = 8
    grad_accum: int = 1
    warmup_ratio: float = 0.0
    scheduler: str = "linear"
    max_length: int = 64
    seed: int = 0
    save_steps: int = 0
    eval_every: int = 0
    gradient_checkpointing: bool = False


@dataclass(frozen=True)
class Online:
    """Rollout settings of the online algorithms (PPO, RLOO, GRPO)."""

    kl_coef: float = 0.05
    temperature: float = 0.7
    max_new_tokens: int = 24
    num_generations: int = 4  # samples per prompt (RLOO / GRPO groups; PPO: 1, as in the paper)
    clip: float = 0.2


@dataclass
class StageResult:
    folder: Path
    history: list[dict] = field(default_factory=list)
    cached: bool = False

    def logs(self, key: str) -> list[tuple[int, float]]:
        return [(h["step"], h[key]) for h in self.history if key in h and "step" in h]


def cached_stage(out_dir: Path, key: dict) -> StageResult | None:
    """The stage finished in ``out_dir`` with exactly ``key`` (``training.finished``) and its history; None: train."""
    if finished(out_dir, key) and (out_dir / "history.json").exists():
        return StageResult(out_dir, read_json(out_dir / "history.json"), cached=True)
    return None


def _args(work, stage: Stage, opts: TrainOptions, **extra) -> dict:
    base = dict(
        max_steps=stage.steps,
        learning_rate=stage.learning_rate,
        per_device_train_batch_size=stage.batch_size,
        gradient_accumulation_steps=stage.grad_accum,
        lr_scheduler_type=stage.scheduler,
        seed=stage.seed,
        warmup_steps=float(stage.warmup_ratio) if stage.warmup_ratio else 0,
        gradient_checkpointing=stage.gradient_checkpointing,
    )
    return trainer_kwargs(work, opts, **{**base, **extra})


def _opts(stage: Stage, opts: TrainOptions | None) -> TrainOptions:
    base = opts or TrainOptions()
    return TrainOptions(
        save_steps=stage.save_steps,
        save_total_limit=1,
        report_to=base.report_to,
        lora_r=base.lora_r,
        lora_alpha=base.lora_alpha,
        lora_dropout=base.lora_dropout,
    )


def _run(trainer, work) -> list[dict]:
    """Train (resuming from the work folder's last checkpoint) without TRL's per-step log lines in the cells."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    return train(trainer, work)


def _finish(trainer, tok, work, out_dir: Path, history: list[dict]) -> list[dict]:
    save_final(trainer, tok, work.final)
    clean = [{k: v for k, v in h.items() if isinstance(v, (int, float, str, dict))} for h in history]
    (Path(work.final) / "history.json").write_text(json.dumps(clean), encoding="utf-8")
    return clean


def _load_policy(start: str, tok=None, seed: int = 0):
    """A policy and its tokenizer: ``config:<preset>`` builds a random one for ``tok``; else a folder / hub id.
    Weights load in float32: on a GPU the trainer's bf16 flag trains in mixed precision over them."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..core.models import resolve_model

    if is_config_spec(start):
        from .toy_model import build_policy

        return build_policy(start, tok, seed), tok
    path = resolve_model(start)
    tok = tok or AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32), tok


def _callbacks(eval_fn: Callable | None, every: int) -> list:
    return [CheckerCallback(eval_fn, every)] if eval_fn and every else []


def train_sft(
    start: str,
    rows: Sequence[dict],
    out_dir: str | Path,
    stage: Stage,
    tok=None,
    opts: TrainOptions | None = None,
    eval_fn: Callable | None = None,
    data_id: str = "",
) -> StageResult:
    """SFT with TRL's ``SFTTrainer`` on ``rows`` of ``{"prompt": text, "completion": text}`` (loss on the
    completion only)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    out_dir = Path(out_dir)
    key = {
        "stage": "sft",
        "start": start,
        "data": data_id or stable_id(list(rows)),
        **asdict(stage),
        **_opts(stage, opts).key(),
    }
    if done := cached_stage(out_dir, key):
        return done
    model, tok = _load_policy(start, tok, stage.seed)
    ds = Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": r["prompt"]}],
                "completion": [{"role": "assistant", "content": r["completion"]}],
            }
            for r in rows
        ]
    )
    with resumable(out_dir, key) as work:
        args = SFTConfig(**_args(work, stage, _opts(stage, opts), max_length=stage.max_length))
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=ds,
            processing_class=tok,
            peft_config=peft_config(_opts(stage, opts)),
            callbacks=_callbacks(eval_fn, stage.eval_every),
        )
        history = _finish(trainer, tok, work, out_dir, _run(trainer, work))
    return StageResult(out_dir, history)


def train_dpo(
    policy: str | Path,
    pairs: Sequence[dict],
    out_dir: str | Path,
    stage: Stage,
    beta: float = 0.1,
    loss_type: str = "sigmoid",
    opts: TrainOptions | None = None,
    eval_fn: Callable | None = None,
    data_id: str = "",
) -> StageResult:
    """DPO with TRL's ``DPOTrainer`` from the policy folder ``policy`` (the reference is its frozen copy)."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    from .preferences import to_trl

    out_dir = Path(out_dir)
    key = {
        "stage": "dpo",
        "policy": str(policy),
        "data": data_id or stable_id(list(pairs)),
        "beta": beta,
        "loss_type": loss_type,
        **asdict(stage),
        **_opts(stage, opts).key(),
    }
    if done := cached_stage(out_dir, key):
        return done
    if not pairs:
        raise ValueError(f"DPO for {out_dir.name}: no preference pairs to train on")
    model, tok = _load_policy(str(policy))
    precompute = stage.steps * stage.batch_size * stage.grad_accum > len(pairs)  # the reference is read more than once
    with resumable(out_dir, key) as work:
        args = DPOConfig(
            **_args(
                work,
                stage,
                _opts(stage, opts),
                max_length=stage.max_length,
                beta=beta,
                loss_type=[loss_type],
                precompute_ref_log_probs=precompute,
            )
        )
        trainer = DPOTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(to_trl(pairs)),
            processing_class=tok,
            peft_config=peft_config(_opts(stage, opts)),
            callbacks=_callbacks(eval_fn, stage.eval_every),
        )
        history = _finish(trainer, tok, work, out_dir, _run(trainer, work))
    return StageResult(out_dir, history)


def train_reward(
    init: str | Path,
    pairs: Sequence[dict],
    out_dir: str | Path,
    stage: Stage,
    preset: str = "",
    tok=None,
    opts: TrainOptions | None = None,
    data_id: str = "",
) -> StageResult:
    """A reward model with TRL's ``RewardTrainer`` (loss -log sigmoid(r_chosen - r_rejected)): a random Llama of
    ``preset`` (``config:rm-l``) for ``tok``, or a sequence classifier initialised from the model ``init``."""
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    from .preferences import to_trl

    out_dir = Path(out_dir)
    key = {
        "stage": "reward",
        "init": preset or str(init),
        "data": data_id or stable_id(list(pairs)),
        **asdict(stage),
        **_opts(stage, opts).key(),
    }
    if done := cached_stage(out_dir, key):
        return done
    if preset:
        model = build_reward_model(preset, tok, stage.seed)
    else:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from ..core.models import resolve_model

        path = resolve_model(str(init))
        tok = tok or AutoTokenizer.from_pretrained(path)
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        import torch

        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=torch.float32)
        model.config.pad_token_id = tok.pad_token_id
    with resumable(out_dir, key) as work:
        args = RewardConfig(**_args(work, stage, _opts(stage, opts), max_length=stage.max_length))
        trainer = RewardTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(to_trl(pairs)),
            processing_class=tok,
            peft_config=peft_config(_opts(stage, opts), task_type="SEQ_CLS"),
        )
        history = _finish(trainer, tok, work, out_dir, _run(trainer, work))
    return StageResult(out_dir, history)


def train_online(
    algorithm: str,
    policy: str | Path,
    prompts: Sequence[str],
    reward_fn: Callable,
    out_dir: str | Path,
    stage: Stage,
    online: Online = Online(),
    opts: TrainOptions | None = None,
    eval_fn: Callable | None = None,
    key_extra: dict | None = None,
) -> StageResult:
    """RLOO (``RLOOTrainer``) or GRPO (``GRPOTrainer``) from ``policy`` against ``reward_fn`` (TRL's reward-function
    signature: prompts, completions -> floats); ``num_generations`` samples per prompt, KL coefficient ``kl_coef``."""
    from datasets import Dataset

    out_dir = Path(out_dir)
    key = {
        "stage": algorithm,
        "policy": str(policy),
        "prompts": stable_id(list(prompts)),
        **asdict(stage),
        **asdict(online),
        **(key_extra or {}),
        **_opts(stage, opts).key(),
    }
    if done := cached_stage(out_dir, key):
        return done
    if algorithm == "rloo":
        from trl import RLOOConfig as Config
        from trl import RLOOTrainer as Trainer
    elif algorithm == "grpo":
        from trl import GRPOConfig as Config
        from trl import GRPOTrainer as Trainer
    else:
        raise ValueError(f"online algorithm must be rloo or grpo (ppo is helpers.tulu.ppo), not {algorithm!r}")
    model, tok = _load_policy(str(policy))
    ds = Dataset.from_list([{"prompt": [{"role": "user", "content": p}]} for p in prompts])
    per_step = stage.batch_size * online.num_generations  # completions per optimizer step
    with resumable(out_dir, key) as work:
        args = Config(
            **_args(
                work,
                stage,
                _opts(stage, opts),
                per_device_train_batch_size=per_step,
                beta=online.kl_coef,
                num_generations=online.num_generations,
                max_completion_length=online.max_new_tokens,
                temperature=online.temperature,
                epsilon=online.clip,
                logging_steps=1,
            )
        )
        trainer = Trainer(
            model=model,
            reward_funcs=reward_fn,
            args=args,
            train_dataset=ds,
            processing_class=tok,
            peft_config=peft_config(_opts(stage, opts)),
            callbacks=_callbacks(eval_fn, stage.eval_every),
        )
        history = _finish(trainer, tok, work, out_dir, _run(trainer, work))
    return StageResult(out_dir, history)


def _callback_base():
    from transformers import TrainerCallback

    return TrainerCallback


class CheckerCallback(_callback_base()):
    """Every ``every`` optimizer steps, ``eval_fn(model)`` (a dict of accuracies) is added to the trainer's log
    history (``{"step": n, "eval/<name>": value}``), so it is checkpointed and survives a resume."""

    def __init__(self, eval_fn: Callable, every: int):
        self.eval_fn, self.every = eval_fn, every

    def _record(self, state, model) -> None:
        if any(h.get("step") == state.global_step and "eval_checked" in h for h in state.log_history):
            return
        scores = self.eval_fn(model)
        state.log_history.append(
            {
                "step": state.global_step,
                "eval_checked": 1,
                **{f"eval/{k}": v for k, v in scores.items() if v is not None},
            }
        )

    def on_train_begin(self, args, state, control, model=None, **kw):
        if state.global_step == 0:
            self._record(state, model)

    def on_step_end(self, args, state, control, model=None, **kw):
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            self._record(state, model)
