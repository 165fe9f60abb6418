"""Rehearse a full (GPU, hub) profile on this CPU: the same cells, tiny stand-ins for what is not here.

    python -m helpers.run suite --profile full-gpu --rehearse        # every notebook's full-gpu.yaml
    python -m helpers.run 02_wildbench -f params/02_wildbench/full-gpu.yaml --rehearse

While ``HELPERS_REHEARSAL`` is set (the runner sets it for ``--rehearse``):

* every model name that is not an embedded alias or a local folder (a hub id, an API model name) resolves
  to a tiny random model of the same family (Llama, Qwen2, Mistral by the name), built from a config with
  the embedded model's tokenizer and chat template, once per name under the cache folder;
* every hub data set id resolves to a small local file in the hub's own schema (``HUB_FIXTURES``), so the
  loaders' parsing of the real fields runs;
* the runner applies ``params/<notebook>/rehearse.yaml`` after the profile: counts cut, endpoints cleared
  (a cleared ``*_base_url`` makes the role's model run locally: a tiny model), engines on transformers.

What a rehearsal shows: the profile validates, every cell runs with its loaders, model lifecycle and
cross-notebook wiring (checkpoints, prompt files, leaderboards). What it cannot show: any number.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .store import atomic_dir

REHEARSAL_ENV = "HELPERS_REHEARSAL"
FIXTURES_DIR = Path(__file__).resolve().parents[1] / "data" / "hub_fixtures"
HUB_FIXTURES = {  # hub data set id -> local file in the same schema (written by us)
    "allenai/WildBench": "builtin:wildbench_tasks.jsonl",
    "allenai/WildChat-1M": "builtin:wildchat_sample.jsonl",
    "lmarena-ai/arena-hard-auto-v0.1": "builtin:arena_prompts_sample.jsonl",
    "allenai/reward-bench": str(FIXTURES_DIR / "allenai__reward-bench.jsonl"),
}


def active() -> bool:
    return bool(os.environ.get(REHEARSAL_ENV))


def family(name: str) -> str:
    n = name.lower()
    if "qwen" in n:
        return "qwen2"
    if "mistral" in n or "zephyr" in n:
        return "mistral"
    return "llama"


def tiny_model(name: str) -> str:
    """A tiny random causal LM standing in for ``name`` (built once, cached by name)."""
    from .models import DEFAULT_MODEL, cache_dir, resolve_model

    slug = re.sub(r"[^A-Za-z0-9._-]+", "__", name.strip())[:120]
    target = cache_dir() / "rehearsal" / slug
    if (target / "config.json").exists():
        return str(target)
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM

    tok = AutoTokenizer.from_pretrained(resolve_model(DEFAULT_MODEL))
    config_cls, model_cls = {"llama": (LlamaConfig, LlamaForCausalLM), "qwen2": (Qwen2Config, Qwen2ForCausalLM),
                             "mistral": (MistralConfig, MistralForCausalLM)}[family(name)]
    torch.manual_seed(sum(map(ord, name)))
    config = config_cls(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                        tie_word_embeddings=True)
    model = model_cls(config)
    model.generation_config.eos_token_id = tok.eos_token_id
    with atomic_dir(target) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    return str(target)


def data_source(source: str) -> str:
    """The local stand-in for a hub data set id (the id itself when it has none)."""
    return HUB_FIXTURES.get(source, source)


def published_checkpoints(notebook: str, params: dict) -> list[str]:
    """The model folders (relative to its run folder) a run of ``notebook`` with ``params`` publishes for other
    notebooks to read, e.g. 01's ``checkpoints/sft`` and 06's ``checkpoints/<slug>-s<seed>``: what the notebook's
    ``metadata.helpers.checkpoints`` function returns for those params (none when it declares none). Lets the
    rehearsal test check that every ``outputs/<nb>/<run>/checkpoints/...`` a profile reads is written by a profile."""
    from .params import notebook_path
    from .precheck import notebook_hook

    hook = notebook_hook(notebook_path(notebook), "checkpoints")
    return list(hook(params)) if hook else []
