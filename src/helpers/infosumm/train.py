"""Fine-tuning stages: the teacher on the pairs that survive the critics (expert iteration), the student on the
final pairs with control codes. Causal LMs go through TRL's ``SFTTrainer`` (prompt-completion data, loss on the
completion); encoder-decoder students (T5, BART) through transformers' ``Seq2SeqTrainer``. Both through
``helpers.core.training``: checkpoints every ``save_steps``, resume after a kill, a stage keyed by its inputs.

    path, history = sft(base, [{"prompt": ..., "completion": ...}], out_dir, key, opts, max_steps=8, ...)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..core import hf
from ..core.models import resolve_model
from ..core.store import atomic_dir, atomic_write_json, is_finished, stable_id
from ..core.training import TrainOptions, finished, peft_config, resumable, save_final, train, trainer_kwargs

LABEL_MAX_TOKENS = 128  # a seq2seq student's summary tokens (longer ones are cut, and counted by over_length)


def is_seq2seq(path: str) -> bool:
    from transformers import AutoConfig

    return bool(getattr(AutoConfig.from_pretrained(path), "is_encoder_decoder", False))


def sft(
    base: str,
    examples: Sequence[dict],
    out_dir: str | Path,
    key: dict,
    opts: TrainOptions,
    max_steps: int,
    learning_rate: float,
    batch_size: int,
    max_length: int,
    seed: int,
) -> tuple[str, list[dict]]:
    """Fine-tune ``base`` on prompt/completion examples into ``out_dir`` (skipped when a finished stage with the same
    key is there). Returns the folder and the log history (empty when skipped: read ``train_log.json``)."""
    out_dir = Path(out_dir)
    if not examples:
        raise ValueError(f"no training examples for {out_dir.name}")
    key = {
        **key,
        "base": base,
        "examples": stable_id([[e["prompt"], e["completion"]] for e in examples]),
        "max_steps": max_steps,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "max_length": max_length,
        "seed": seed,
        "train_options": opts.key(),
    }
    if finished(out_dir, key):
        return str(out_dir), json.loads((out_dir / "train_log.json").read_text())
    path = resolve_model(base)
    seq2seq = is_seq2seq(path)
    cut = over_length(hf.load_tokenizer(path), examples, max_length, seq2seq)
    if cut:
        print(f"{out_dir.name}: {cut} of {len(examples)} examples longer than max_length {max_length} are cut")
    with resumable(out_dir, key) as work:
        fn = _train_seq2seq if seq2seq else _train_causal
        history = fn(
            path,
            examples,
            work,
            opts,
            max_steps=max_steps,
            learning_rate=learning_rate,
            batch_size=batch_size,
            max_length=max_length,
            seed=seed,
        )
        history = [*history, {"over_length": cut, "examples": len(examples), "max_length": max_length}]
        atomic_write_json(work.final / "train_log.json", history)
    return str(out_dir), history


def over_length(tok, examples: Sequence[dict], max_length: int, seq2seq: bool = False) -> int:
    """How many examples the trainer cuts: causal, prompt + completion + EOS above ``max_length`` tokens (TRL's
    SFTTrainer truncates silently, the completion's end first); seq2seq, a prompt above ``max_length`` or a
    completion above ``LABEL_MAX_TOKENS``. The count goes into the log history (``{"over_length": n, ...}``)."""
    n = 0
    for e in examples:
        p = len(tok(e["prompt"]).input_ids)
        c = len(tok(e["completion"].strip() if seq2seq else e["completion"], add_special_tokens=False).input_ids)
        n += (p > max_length or c + 1 > LABEL_MAX_TOKENS) if seq2seq else (p + c + 1 > max_length)
    return n


def _train_causal(path, examples, work, opts, max_steps, learning_rate, batch_size, max_length, seed):
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    tok = hf.load_tokenizer(path)
    args = trainer_kwargs(
        work,
        opts,
        max_steps=max_steps,
        learning_rate=learning_rate,
        per_device_train_batch_size=batch_size,
        max_length=max_length,
        seed=seed,
        lr_scheduler_type="constant",
        warmup_steps=0,
        completion_only_loss=True,
    )
    cpu = args["use_cpu"]
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32 if cpu else hf.resolve_dtype("auto"))
    ds = Dataset.from_list([{"prompt": e["prompt"], "completion": e["completion"]} for e in examples])
    trainer = SFTTrainer(
        model=model, args=SFTConfig(**args), train_dataset=ds, processing_class=tok, peft_config=peft_config(opts)
    )
    history = train(trainer, work)
    save_final(trainer, tok, work.final)
    return history


def _train_seq2seq(path, examples, work, opts, max_steps, learning_rate, batch_size, max_length, seed):
    import torch
    from datasets import Dataset
    from transformers import (
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Seq2SeqTrainer,
        Seq2SeqTrainingArguments,
    )

    tok = AutoTokenizer.from_pretrained(path)
    args = trainer_kwargs(
        work,
        opts,
        max_steps=max_steps,
        learning_rate=learning_rate,
        per_device_train_batch_size=batch_size,
        seed=seed,
        lr_scheduler_type="constant",
        warmup_steps=0,
        remove_unused_columns=True,
    )
    cpu = args["use_cpu"]
    model = AutoModelForSeq2SeqLM.from_pretrained(path, dtype=torch.float32 if cpu else hf.resolve_dtype("auto"))
    if opts.lora_r:
        from peft import get_peft_model

        model = get_peft_model(model, peft_config(opts, task_type="SEQ_2_SEQ_LM"))

    def encode(e):
        enc = tok(e["prompt"], truncation=True, max_length=max_length)
        enc["labels"] = tok(text_target=e["completion"].strip(), truncation=True, max_length=LABEL_MAX_TOKENS).input_ids
        return enc

    ds = Dataset.from_list([{"prompt": e["prompt"], "completion": e["completion"]} for e in examples]).map(
        encode, remove_columns=["prompt", "completion"]
    )
    trainer = Seq2SeqTrainer(
        model=model,
        args=Seq2SeqTrainingArguments(**args),
        train_dataset=ds,
        data_collator=DataCollatorForSeq2Seq(tok, model=model),
        processing_class=tok,
    )
    history = train(trainer, work)
    save_final(trainer, tok, work.final)
    return history


def kept_layers(total: int, n_layers: int, n_last: int = 2) -> list[int]:
    """Which of ``total`` decoder layers a truncated copy keeps: the first ``n_layers - n_last`` and the last
    ``n_last`` (the last layers map into the space the final norm and head read; dropping them hurts most)."""
    if not 1 <= n_layers <= total:
        raise ValueError(f"student_init truncate:{n_layers}: the teacher has {total} layers")
    n_last = min(n_last, n_layers - 1) if n_layers > 1 else 0
    return list(range(n_layers - n_last)) + list(range(total - n_last, total))


def truncated_copy(base: str, n_layers: int, out_dir: str | Path) -> str:
    """A causal LM made of ``base``'s embeddings, ``n_layers`` of its decoder layers (``kept_layers``) and its head
    (built once)."""
    out_dir = Path(out_dir)
    if is_finished(out_dir):
        return str(out_dir)
    import torch
    from transformers import AutoModelForCausalLM

    path = resolve_model(base)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    layers = model.model.layers
    keep = kept_layers(len(layers), n_layers)
    model.model.layers = torch.nn.ModuleList([layers[i] for i in keep])
    for new_idx, layer in enumerate(model.model.layers):  # the key/value cache is indexed by position in the stack
        if hasattr(getattr(layer, "self_attn", None), "layer_idx"):
            layer.self_attn.layer_idx = new_idx
    model.config.num_hidden_layers = n_layers
    if getattr(model.config, "layer_types", None):
        model.config.layer_types = [model.config.layer_types[i] for i in keep]
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        hf.load_tokenizer(path).save_pretrained(tmp)
    return str(out_dir)


def rehearsal_seq2seq(name: str) -> str:
    """While rehearsing, a seq2seq hub id becomes a tiny random encoder-decoder with the embedded tokenizer (a
    Pegasus for a PEGASUS id, a T5 otherwise), so the encoder-decoder path runs offline (core's stand-ins are
    causal LMs)."""
    import re

    from ..core import tiny
    from ..core.models import DEFAULT_MODEL, cache_dir

    target = cache_dir() / "rehearsal" / ("seq2seq__" + re.sub(r"[^A-Za-z0-9._-]+", "__", name)[:100])
    if is_finished(target):
        return str(target)
    tok = hf.load_tokenizer(resolve_model(DEFAULT_MODEL))
    if "pegasus" in name.lower():
        model = tiny.tiny_model(
            tok,
            "pegasus",
            seed=0,
            d_model=32,
            encoder_layers=2,
            decoder_layers=2,
            encoder_attention_heads=4,
            decoder_attention_heads=4,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            max_position_embeddings=1024,
        )
    else:
        model = tiny.tiny_model(tok, "t5", seed=0, d_model=32, d_ff=64, d_kv=8, num_layers=2, num_heads=4)
    return tiny.save_model(model, tok, target, keep_existing=True)


def looks_seq2seq(name: str) -> bool:
    n = name.lower()
    return any(k in n for k in ("t5", "bart", "pegasus"))


def generate_seq2seq(path: str, prompts: Sequence[str], max_tokens: int, batch_size: int = 16) -> list[str]:
    """Greedy summaries from an encoder-decoder model."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    device = hf.device_name()
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSeq2SeqLM.from_pretrained(path, dtype=hf.resolve_dtype("auto", device)).to(device).eval()
    out = []
    for start in range(0, len(prompts), batch_size):
        enc = tok(
            list(prompts[start : start + batch_size]),
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=1024,
        ).to(device)
        with torch.inference_mode():
            ids = model.generate(**enc, max_new_tokens=max_tokens, do_sample=False)
        out.extend(tok.batch_decode(ids, skip_special_tokens=True))
    return out
