"""Loading transformers models and tokenizers once per process, and prompt rendering/encoding."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from . import engines

Messages = list[dict[str, str]]
Prompt = str | Messages  # a raw string is used as is; messages get the chat template


class ChatTemplateError(ValueError):
    """Chat messages were given to a tokenizer that has no chat template."""


def device_name() -> str:
    """The torch device this process computes on: ``cuda`` when ``engines.on_gpu()``, else ``cpu``."""
    return "cuda" if engines.on_gpu() else "cpu"


def resolve_dtype(dtype: str = "auto", device: str | None = None):
    """'auto' -> bfloat16 on GPU, float32 on CPU (bf16 is several times slower on CPUs without bf16 units)."""
    import torch

    device = device or device_name()
    if dtype == "auto":
        return torch.bfloat16 if device == "cuda" else torch.float32
    try:
        return getattr(torch, dtype)
    except AttributeError:
        raise ValueError(f"unknown dtype {dtype!r}: use auto, float32, bfloat16 or float16") from None


@functools.lru_cache(maxsize=8)
def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


_MODELS: dict[tuple, object] = {}  # (path, dtype, device) -> model; shared by generators and scorers
_MAX_MODELS = 4


def load_causal_lm(path: str, dtype: str = "auto", device: str | None = None):
    """A causal LM in eval mode on ``device``, loaded once per (path, dtype, device) in a process.

    Kept until ``evict_models`` (``Generator.release``, ``LogProbScorer.release``, ``vllm_engines.release_all``)
    or until more than four are cached (the oldest goes first). Holders keep their own reference: eviction
    only frees the memory once no helper uses the model any more.
    """
    from transformers import AutoModelForCausalLM

    device = device or device_name()
    key = (str(path), dtype, device)
    if key not in _MODELS:
        engines.ensure_threads()
        model = AutoModelForCausalLM.from_pretrained(path, dtype=resolve_dtype(dtype, device))
        _MODELS[key] = model.to(device).eval()
        while len(_MODELS) > _MAX_MODELS:
            _MODELS.pop(next(iter(_MODELS)))
    return _MODELS[key]


def evict_models(path: str | None = None) -> int:
    """Drop cached models (those of ``path``, or all); returns how many were dropped."""
    keys = [k for k in _MODELS if path is None or k[0] == str(path)]
    for k in keys:
        del _MODELS[k]
    return len(keys)


def cached_models() -> list[tuple]:
    return list(_MODELS)


load_causal_lm.cache_clear = evict_models  # the name the lru_cache version had


def has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def check_chat_prompts(prompts: Sequence[Prompt], tokenizer, model_name: str) -> None:
    """Fail before compute when chat messages meet a tokenizer without a chat template."""
    if not prompts:
        raise ValueError("the prompt list is empty: nothing to generate or score")
    if any(not isinstance(p, str) for p in prompts) and not has_chat_template(tokenizer):
        raise ChatTemplateError(
            f"model {model_name} has no chat template, but chat messages were given: pass raw prompt "
            f"strings, or use an instruction-tuned model (e.g. smollm2-135m-instruct)"
        )


def render(tokenizer, prompt: Prompt, add_generation_prompt: bool = True) -> str:
    """Text of a prompt: raw strings unchanged, messages through the tokenizer's own chat template."""
    if isinstance(prompt, str):
        return prompt
    return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=add_generation_prompt)


@functools.lru_cache(maxsize=32)
def _adds_bos(tokenizer) -> bool:
    bos = tokenizer.bos_token_id
    if bos is None:
        return False
    ids = tokenizer("a").input_ids
    return bool(ids) and ids[0] == bos


def encode(tokenizer, text: str) -> list[int]:
    """Token ids of rendered text with exactly one BOS where the tokenizer uses one.

    Chat templates often write the BOS token themselves; encoding with special tokens on top would
    double it, so special tokens are added only when the text does not already start with BOS.
    """
    ids = tokenizer(text, add_special_tokens=False).input_ids
    if _adds_bos(tokenizer) and (not ids or ids[0] != tokenizer.bos_token_id):
        ids = [tokenizer.bos_token_id] + ids
    return ids


def end_of_turn_token(tokenizer) -> str | None:
    """The string that ends an assistant turn in this tokenizer's template (EOS as a fallback)."""
    if has_chat_template(tokenizer):
        probe = [{"role": "user", "content": "x"}, {"role": "assistant", "content": "\x00SENTINEL\x00"}]
        try:
            text = tokenizer.apply_chat_template(probe, tokenize=False)
        except Exception:
            text = ""
        tail = text.split("\x00SENTINEL\x00", 1)[-1] if "\x00SENTINEL\x00" in text else ""
        for tok in tokenizer.all_special_tokens:
            if tok and tail.lstrip().startswith(tok):
                return tok
    return tokenizer.eos_token
