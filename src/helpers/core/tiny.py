"""Tiny random models built from a config: what tests, rehearsals and toy worlds run in place of a real model.

    model = tiny_model(tok, seed=1)                                  # a 2-layer random Llama for tok's vocabulary
    rm = tiny_model(tok, head="classifier", num_labels=1, hidden_size=64)
    tiny_model(tok, family="t5", d_model=32, num_layers=2)           # an encoder-decoder (t5, pegasus)
    tiny_model(tok, family="gpt2", n_layer=4, n_embd=128, n_head=4)  # a GPT-2 (its own shape names)
    save_model(model, tok, folder)                                   # atomically, with the tokenizer

The vocabulary and the special ids come from the tokenizer (``len(tok)``, its bos / eos / pad), so the model
generates with the tokenizer's chat template and stops at its end-of-turn token. A decoder family (llama, qwen2,
mistral) defaults to 2 layers of width 32 (MLP twice as wide), 4 attention heads over 2 key/value heads, 4096
positions and tied embeddings; a GPT-2 to 2 layers of width 32 with 4 heads (``n_layer``, ``n_embd``, ``n_head``);
every keyword overrides the config. The weights are drawn after
``torch.manual_seed(seed)``: the same (tokenizer, family, seed, shape) gives the same model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .store import atomic_dir

# family -> config class, and the model class of each head (all in transformers)
FAMILIES = {
    "llama": ("LlamaConfig", {"causal": "LlamaForCausalLM", "classifier": "LlamaForSequenceClassification"}),
    "qwen2": ("Qwen2Config", {"causal": "Qwen2ForCausalLM", "classifier": "Qwen2ForSequenceClassification"}),
    "mistral": ("MistralConfig", {"causal": "MistralForCausalLM", "classifier": "MistralForSequenceClassification"}),
    "t5": ("T5Config", {"seq2seq": "T5ForConditionalGeneration"}),
    "pegasus": ("PegasusConfig", {"seq2seq": "PegasusForConditionalGeneration"}),
    "gpt2": ("GPT2Config", {"causal": "GPT2LMHeadModel"}),
}
ENCODER_DECODER = ("t5", "pegasus")
DECODER_SHAPE = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 4096,
    "tie_word_embeddings": True,
}
GPT2_SHAPE = {"n_layer": 2, "n_embd": 32, "n_head": 4}


def tiny_config(tok, family: str = "llama", **shape: Any):
    """The config of a tiny ``family`` model for ``tok``'s vocabulary and special ids; ``shape`` overrides any of
    them (e.g. ``bos_token_id`` for a tokenizer that names its sequence start otherwise)."""
    import transformers

    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}: use one of {', '.join(FAMILIES)}")
    config_cls = getattr(transformers, FAMILIES[family][0])
    if family in ENCODER_DECODER:  # an encoder-decoder starts decoding from the pad token and has no bos
        ids = {
            "pad_token_id": tok.pad_token_id,
            "eos_token_id": tok.eos_token_id,
            "decoder_start_token_id": tok.pad_token_id,
        }
        return config_cls(vocab_size=len(tok), **{**ids, **shape})
    if family == "gpt2":
        shape = {**GPT2_SHAPE, **shape}
    else:
        shape = {**DECODER_SHAPE, **shape}
        shape.setdefault("intermediate_size", 2 * shape["hidden_size"])
    ids = {"bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id}
    return config_cls(vocab_size=len(tok), **{**ids, **shape})


def tiny_model(tok, family: str = "llama", seed: int = 0, head: str = "", **shape: Any):
    """A tiny random ``family`` model for ``tok`` (``head``: causal, classifier or seq2seq; "" picks the family's
    first), its weights drawn after ``torch.manual_seed(seed)``; a generating model stops at its config's eos (``tok``'s
    unless ``shape`` names another)."""
    import torch
    import transformers

    config = tiny_config(tok, family, **shape)
    heads = FAMILIES[family][1]
    head = head or next(iter(heads))
    if head not in heads:
        raise ValueError(f"{family} has no {head!r} head: use one of {', '.join(heads)}")
    torch.manual_seed(seed)
    model = getattr(transformers, heads[head])(config)
    if head != "classifier":
        model.generation_config.eos_token_id = config.eos_token_id
    return model


def save_model(model, tok, target: str | Path, keep_existing: bool = False) -> str:
    """Save ``model`` and ``tok`` into ``target`` atomically (``store.atomic_dir``); returns the folder."""
    with atomic_dir(target, keep_existing=keep_existing) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    return str(target)
