"""Export: ShareGPT records, chat messages, the data card; SFT on the result with TRL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..core import hf
from ..core.launch import run_training
from ..core.training import TrainOptions
from .templates import TemplateError

# --------------------------------------------------------------------------- export
SHAREGPT_TAGS = [
    "task_category",
    "other_task_category",
    "input_quality",
    "quality_explanation",
    "difficulty",
    "intent",
    "knowledge",
    "llama_guard_2",
    "instruct_reward",
    "reward_model",
    "language",
    "min_neighbor_distance",
    "repeat_count",
    "min_similar_conversation_id",
    "input_quality_score",
    "difficulty_score",
]


def to_sharegpt(record: dict) -> dict:
    """A record in the reference's exported schema: conversation_id, conversations[{from, value}], tags."""
    turns = record.get("turns") or [{"instruction": record.get("instruction"), "response": record.get("response")}]
    conversations = []
    for t in turns:
        conversations.append({"from": "human", "value": t.get("instruction") or ""})
        conversations.append({"from": "gpt", "value": t.get("response") or ""})
    out = {
        "conversation_id": record["conversation_id"],
        "instruction": record.get("instruction"),
        "response": record.get("response"),
        "conversations": conversations,
    }
    for k in SHAREGPT_TAGS:
        out[k] = record.get(k)
    for k in ("pre_query_template", "gen_input_configs", "gen_response_configs", "created"):
        out[k] = record.get(k)
    return out


def to_messages(record: dict) -> list[dict]:
    """ShareGPT conversations -> chat messages (for SFT)."""
    role = {"human": "user", "gpt": "assistant", "system": "system"}
    return [{"role": role[c["from"]], "content": c["value"]} for c in record["conversations"]]


def data_card(
    name: str,
    stages: list[dict],
    kept: int,
    total: int,
    categories: dict,
    throughput: dict,
    params: dict,
    notes: Sequence[str] = (),
    kept_section: str = "",
) -> str:
    """A short markdown data card: counts at each stage, then what was kept (``kept_section``, from
    ``card.kept_markdown``; without it the kept fraction and category mix), throughput, settings, notes."""
    lines = [
        f"# Data card: {name}",
        "",
        "Magpie data (instructions sampled from the model's pre-query template, "
        "responses with its normal chat template).",
        "",
        "## Counts",
        "",
        "| stage | records |",
        "|---|---|",
    ]
    lines += [f"| {s['stage']} | {s['count']} |" for s in stages]
    if kept_section:
        lines += ["", kept_section.rstrip("\n")]
    else:
        frac = kept / total if total else 0.0
        lines += [
            "",
            f"Kept after filters: **{kept} / {total} ({frac:.1%})** of the records with responses.",
            "",
            "## Task categories (kept records; None = tagger output not parseable)",
            "",
            "| category | records |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v} |" for k, v in categories.items()] or ["| (none) | 0 |"]
    lines += ["", "## Throughput (this machine)", ""]
    lines += [f"- {k}: {v}" for k, v in throughput.items()]
    lines += ["", "## Settings", ""] + [f"- {k}: `{v}`" for k, v in params.items()]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- SFT
def train_sft(
    conversations: Sequence[list[dict]],
    model: str,
    output_dir: str | Path,
    max_steps: int = 5,
    learning_rate: float = 2e-5,
    batch_size: int = 4,
    max_length: int = 512,
    seed: int = 42,
    use_cpu: bool | None = None,
    options: TrainOptions | None = None,
) -> list[dict]:
    """Fine-tune ``model`` on chat conversations with TRL's SFTTrainer through ``helpers.core.training``
    (checkpoints every ``options.save_steps``, resume after a kill, ``report_to``, LoRA, accelerate launch);
    the model + tokenizer land in ``output_dir`` (atomically) with ``sft_log.json``. Returns the trainer's
    log history (losses per step). A finished ``output_dir`` trained with the same inputs is reused."""
    from ..core.models import resolve_model
    from ..core.store import atomic_write_json, read_json

    if not conversations:
        raise ValueError("SFT: no conversations to train on (zero records survived the filters)")
    options = options or TrainOptions()
    options.check()
    tok = hf.load_tokenizer(resolve_model(model))
    if not hf.has_chat_template(tok):
        raise TemplateError(f"SFT model {model} has no chat template: use a chat model (its template formats the data)")
    rows = [{"messages": list(c)} for c in conversations]
    config = {
        "max_steps": max_steps,
        "per_device_train_batch_size": batch_size,
        "learning_rate": learning_rate,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 0,
        "max_length": max_length,
        "seed": seed,
    }
    if use_cpu is not None:
        config["use_cpu"] = use_cpu
    output_dir = Path(output_dir)
    log_path = output_dir / "sft_log.json"
    result = run_training("sft", model, rows, output_dir, options, config)
    if not log_path.is_file() or read_json(log_path).get("log_history") != result["history"]:
        atomic_write_json(
            log_path,
            {
                "base_model": model,
                "max_steps": max_steps,
                "n_examples": len(rows),
                "log_history": result["history"],
                "resumed_from": result.get("resumed_from"),
                "lora_r": options.lora_r,
                "launcher": options.launcher,
                "processes": result.get("processes"),
                "seconds": result.get("seconds"),
            },
        )
    return result["history"]


def as_dict(obj: Any) -> dict:
    return asdict(obj)
