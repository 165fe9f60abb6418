"""Export: ShareGPT records, chat messages, the data card; SFT on the result with TRL."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from ..core import hf
from .templates import TemplateError


# --------------------------------------------------------------------------- export
SHAREGPT_TAGS = ["task_category", "other_task_category", "input_quality", "quality_explanation", "difficulty",
                 "intent", "knowledge", "llama_guard_2", "instruct_reward", "reward_model", "language",
                 "min_neighbor_distance", "repeat_count", "min_similar_conversation_id"]


def to_sharegpt(record: dict) -> dict:
    """A record in the reference's exported schema: conversation_id, conversations[{from, value}], tags."""
    turns = record.get("turns") or [{"instruction": record.get("instruction"), "response": record.get("response")}]
    conversations = []
    for t in turns:
        conversations.append({"from": "human", "value": t.get("instruction") or ""})
        conversations.append({"from": "gpt", "value": t.get("response") or ""})
    out = {"conversation_id": record["conversation_id"], "instruction": record.get("instruction"),
           "response": record.get("response"), "conversations": conversations}
    for k in SHAREGPT_TAGS:
        out[k] = record.get(k)
    for k in ("pre_query_template", "gen_input_configs", "gen_response_configs", "created"):
        out[k] = record.get(k)
    return out


def to_messages(record: dict) -> list[dict]:
    """ShareGPT conversations -> chat messages (for SFT)."""
    role = {"human": "user", "gpt": "assistant", "system": "system"}
    return [{"role": role[c["from"]], "content": c["value"]} for c in record["conversations"]]


def data_card(name: str, stages: list[dict], kept: int, total: int, categories: dict, throughput: dict,
              params: dict, notes: Sequence[str] = ()) -> str:
    """A short markdown data card: counts at each stage, kept fraction, category mix, throughput."""
    lines = [f"# Data card: {name}", "", "Magpie data (instructions sampled from the model's pre-query template, "
             "responses with its normal chat template).", "", "## Counts", "", "| stage | records |", "|---|---|"]
    lines += [f"| {s['stage']} | {s['count']} |" for s in stages]
    frac = kept / total if total else 0.0
    lines += ["", f"Kept after filters: **{kept} / {total} ({frac:.1%})** of the records with responses.", "",
              "## Task categories (kept records; None = tagger output not parseable)", "", "| category | records |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in categories.items()] or ["| (none) | 0 |"]
    lines += ["", "## Throughput (this machine)", ""]
    lines += [f"- {k}: {v}" for k, v in throughput.items()]
    lines += ["", "## Settings", ""] + [f"- {k}: `{v}`" for k, v in params.items()]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- SFT
def train_sft(conversations: Sequence[list[dict]], model: str, output_dir: str | Path, max_steps: int = 5,
              learning_rate: float = 2e-5, batch_size: int = 4, max_length: int = 512, seed: int = 42,
              use_cpu: bool | None = None) -> list[dict]:
    """Fine-tune ``model`` on chat conversations with TRL's SFTTrainer; save the model + tokenizer to
    ``output_dir`` (atomically) and return the trainer's log history (losses per step)."""
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from ..core.models import resolve_model
    from ..core.store import atomic_dir, atomic_write_json

    if not conversations:
        raise ValueError("SFT: no conversations to train on (zero records survived the filters)")
    path = resolve_model(model)
    tok = hf.load_tokenizer(path)
    if not hf.has_chat_template(tok):
        raise TemplateError(f"SFT model {model} has no chat template: use a chat model (its template formats the data)")
    ds = Dataset.from_list([{"messages": list(c)} for c in conversations])
    use_cpu = (not torch.cuda.is_available()) if use_cpu is None else use_cpu
    output_dir = Path(output_dir)
    with atomic_dir(output_dir) as tmp:
        cfg = SFTConfig(output_dir=str(tmp / "trainer"), max_steps=max_steps, per_device_train_batch_size=batch_size,
                        learning_rate=learning_rate, lr_scheduler_type="cosine", warmup_steps=0, logging_steps=1,
                        save_strategy="no", report_to=[], use_cpu=use_cpu, max_length=max_length, seed=seed,
                        bf16=False if use_cpu else torch.cuda.is_bf16_supported(), dataloader_num_workers=0,
                        disable_tqdm=True)
        from transformers import AutoModelForCausalLM
        lm = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32 if use_cpu else hf.resolve_dtype("auto"))
        trainer = SFTTrainer(model=lm, args=cfg, train_dataset=ds, processing_class=tok)
        trainer.train()
        import shutil
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        trainer.save_model(str(tmp))
        tok.save_pretrained(str(tmp))
        history = [h for h in trainer.state.log_history]
        atomic_write_json(tmp / "sft_log.json", {"base_model": model, "max_steps": max_steps, "n_examples": len(ds),
                                                  "log_history": history})
    return history


def as_dict(obj: Any) -> dict:
    return asdict(obj)
