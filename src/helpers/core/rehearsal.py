"""Rehearse a full (GPU, hub) profile on this CPU: the same cells, tiny stand-ins for what is not here.

    python -m helpers.run suite --profile full-gpu --rehearse        # every notebook's full-gpu.yaml
    python -m helpers.run 02_wildbench -f params/02_wildbench/full-gpu.yaml --rehearse

While ``HELPERS_REHEARSAL`` is set (the runner sets it for ``--rehearse``):

* every model name that is not an embedded alias or a local folder (a hub id, an API model name) resolves
  to a tiny random model of the same family (Llama, Qwen2, Mistral by the name), built from a config with
  the embedded model's tokenizer and chat template, once per name under the cache folder;
* every hub data set id an experiment registered (``register_hub_fixture``, called when its package is imported)
  resolves to a small local file in the hub's own schema, so the loaders' parsing of the real fields runs;
* the runner applies ``params/<notebook>/rehearse.yaml`` after the profile: counts cut, endpoints cleared
  (a cleared ``*_base_url`` makes the role's model run locally: a tiny model), engines on transformers.

What a rehearsal shows: the profile validates, every cell runs with its loaders, model lifecycle and
cross-notebook wiring (checkpoints, prompt files, leaderboards). What it cannot show: any number.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from . import tiny
from .store import is_finished

REHEARSAL_ENV = "HELPERS_REHEARSAL"
FIXTURES_DIR = Path(__file__).resolve().parents[1] / "data" / "hub_fixtures"
_HUB_FIXTURES: dict[str, str] = {}  # hub data set id -> local file in the same schema (written by us)


def register_hub_fixture(hub_id: str, local: str) -> None:
    """Let a rehearsal read ``local`` (``builtin:NAME`` or a path) wherever ``hub_id`` is asked for. An experiment
    package registers the stand-ins of the hub data sets its loaders read when it is imported."""
    if _HUB_FIXTURES.get(hub_id, local) != local:
        raise ValueError(f"hub data set {hub_id!r} already has the rehearsal stand-in {_HUB_FIXTURES[hub_id]!r}")
    _HUB_FIXTURES[hub_id] = local


def hub_fixtures() -> dict[str, str]:
    """The registered stand-ins: ``{hub data set id: local source}``."""
    return dict(_HUB_FIXTURES)


def active() -> bool:
    return bool(os.environ.get(REHEARSAL_ENV))


def family(name: str) -> str:
    n = name.lower()
    if "qwen" in n:
        return "qwen2"
    if "mistral" in n or "zephyr" in n:
        return "mistral"
    return "llama"


def tiny_model(name: str, tokenizer: str, cache: Path) -> str:
    """A tiny random causal LM standing in for ``name`` with the tokenizer (and chat template) of the model folder
    ``tokenizer``, built once under ``cache``/rehearsal, cached by name."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "__", name.strip())[:120]
    target = Path(cache) / "rehearsal" / slug
    if is_finished(target):
        return str(target)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer)
    model = tiny.tiny_model(tok, family(name), seed=sum(map(ord, name)))
    return tiny.save_model(model, tok, target, keep_existing=True)


def data_source(source: str) -> str:
    """The local stand-in for a hub data set id (the id itself when it has none)."""
    return _HUB_FIXTURES.get(source, source)
