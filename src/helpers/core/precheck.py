"""Cheap checks of what a run will need, made by the runner before the kernel starts.

Conventions every notebook follows (so the runner needs to know no notebook):

* keys ending in ``model`` name one model, ``models`` a list (alias, folder or hub id; "" = not
  configured) and ``embedder`` a sentence-embedding model: each is resolved now, except a model
  whose role has an endpoint (``tagger_model`` with ``tagger_base_url`` set is served there);
* keys ending in ``_base_url`` are OpenAI-compatible endpoints: each answers ``GET /models``
  within ``endpoint_timeout`` seconds or the run stops here (a health check, not a first failure
  an hour in);
* values starting with ``builtin:`` name shipped data, values ending in a data suffix are local files,
  keys ending in ``_file`` are local files: each must exist;
* relative paths (``./x``, ``outputs/...``, an existing repo-relative file or folder, any ``*_file`` or
  ``*checkpoints`` value) are made absolute from the repository root, because the kernel runs in
  ``notebooks/``;
* the training params (``save_steps``, ``report_to``, ``lora_r``, ``train_launcher``) are checked by
  ``helpers.core.training.check_params`` (an uninstalled tracker, LoRA without peft, an unknown launcher);
* the executor params (``executor``, ``ray_address``, ...) are checked by ``helpers.core.executor.check_params``
  (executor ray needs ``ray`` installed and, when ``ray_address`` is set, a cluster that answers there);
* a notebook may add cross-parameter checks: ``metadata.helpers.precheck = "module:function"``,
  a function that raises ValueError naming the parameter.
"""

from __future__ import annotations

import importlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .data import LOCAL_SUFFIXES, DataError, builtin_path, load_records, read_local_bytes, read_local_text
from .hub import ask_hub
from .params import REPO_ROOT, ParamsError

_PATH_KEYS = ("_file", "checkpoints", "_dir")


def _role(key: str) -> str:
    """``tagger_model`` -> ``tagger``; ``judge_model`` -> ``judge``; ``models`` -> ``""``."""
    for suffix in ("_models", "_model", "models", "model"):
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str) and v]
    return []


def _absolute(key: str, value: str) -> str:
    if value.startswith(("builtin:", "run:", "layers:", "noise:")) or os.path.isabs(value) or "://" in value:
        return value
    candidate = REPO_ROOT / value
    if key.endswith(_PATH_KEYS) or value.startswith(("./", "../", "outputs/", "~")) or candidate.exists():
        return str(Path(os.path.expanduser(value)) if value.startswith("~") else candidate.resolve())
    return value


def absolutize_paths(params: dict[str, Any]) -> dict[str, Any]:
    """The params with every repo-relative path made absolute (see the module docstring)."""
    out = {}
    for key, value in params.items():
        if isinstance(value, str) and value:
            out[key] = _absolute(key, value)
        elif isinstance(value, list):
            out[key] = [_absolute(key, v) if isinstance(v, str) and v else v for v in value]
        else:
            out[key] = value
    return out


def check_models(params: dict[str, Any]) -> None:
    from .models import ModelNotFoundError, resolve_embedder, resolve_model

    served = {_role(k[: -len("_base_url")]) for k, v in params.items() if k.endswith("_base_url") and v}
    for key, value in params.items():
        if key.endswith(("model", "models")) and _role(key) not in served:
            resolve = resolve_model
        elif key.endswith("embedder"):
            resolve = resolve_embedder
        else:
            continue
        for name in _strings(value):
            try:
                resolved = resolve(name)
            except ModelNotFoundError as exc:
                raise ParamsError(f"parameter {key!r}: {exc}") from None
            if resolved == name and resolve is resolve_model:
                check_hub_model(key, name)


def check_hub_model(key: str, repo_id: str, timeout: float = 10.0) -> None:
    """Online (no HF_HUB_OFFLINE), a hub model id that is not cached must exist on the hub: asked now (``timeout``
    seconds), not found by the kernel a minute in. Offline, ``resolve_model`` already refused an uncached id."""
    from . import rehearsal
    from .models import in_hub_cache

    if (
        os.environ.get("HF_HUB_OFFLINE") == "1"
        or rehearsal.active()
        or in_hub_cache(repo_id)
        or repo_id.count("/") != 1
    ):
        return
    answer = ask_hub(repo_id, "model", timeout)
    if answer == "missing":
        raise ParamsError(f"parameter {key!r}: hub model {repo_id!r} does not exist (or needs a token: set HF_TOKEN)")
    if answer:
        raise ParamsError(
            f"parameter {key!r}: hub model {repo_id!r} is not cached and the hub is not reachable "
            f"{answer.split(' ', 1)[1]}; download it where the hub is reachable, or set HF_HUB_OFFLINE=1 "
            f"with a cached copy"
        )


def check_data(params: dict[str, Any]) -> None:
    """Every shipped or local data file a param names exists and parses as records (bounded reads: regular files
    only, a size and a time limit); a ``*_file`` of another kind is at least a readable regular file. The schema a
    notebook needs (its fields) is checked by its precheck hook, through its own loader."""
    for key, value in params.items():
        for text in _strings(value):
            try:
                if text.startswith("builtin:"):
                    _parse(builtin_path(text.split(":", 1)[1]))
                elif text.endswith(LOCAL_SUFFIXES) and not Path(text).expanduser().is_dir():
                    if not Path(text).expanduser().exists():
                        raise ParamsError(f"parameter {key!r}: file {text} not found")
                    _parse(Path(text).expanduser())
                elif key.endswith("_file"):
                    if not Path(text).expanduser().exists():
                        raise ParamsError(f"parameter {key!r}: file {text} not found")
                    read_local_bytes(text)
            except DataError as exc:
                raise ParamsError(f"parameter {key!r}: {exc}") from None


def _parse(path: Path) -> None:
    """A data file parses: JSON Lines, CSV and parquet as records; a .json file as any JSON value (a table of
    scores, a configuration); DataError naming the file otherwise."""
    if path.suffix == ".json":
        try:
            json.loads(read_local_text(path))
        except (ValueError, RecursionError) as exc:
            if isinstance(exc, DataError):
                raise
            raise DataError(f"{path} is not readable JSON ({type(exc).__name__})") from None
    elif path.suffix in LOCAL_SUFFIXES:
        load_records(str(path))
    else:
        read_local_bytes(path)


def check_endpoint(base_url: str, api_key_env: str = "OPENAI_API_KEY", timeout: float = 10.0) -> None:
    """Raise ParamsError unless ``{base_url}/models`` answers 200 within ``timeout`` seconds."""
    request = urllib.request.Request(f"{base_url.rstrip('/')}/models")
    key = os.environ.get(api_key_env)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            resp.read(1 << 20)
    except urllib.error.HTTPError as exc:
        hint = f" (is ${api_key_env} set to a valid key?)" if exc.code in (401, 403) else ""
        raise ParamsError(f"endpoint {base_url} answered HTTP {exc.code} to GET /models{hint}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ParamsError(f"endpoint {base_url} is not reachable ({reason}); start the server or fix the URL") from None


def check_endpoints(params: dict[str, Any], timeout: float = 10.0) -> None:
    for key, value in params.items():
        if key.endswith("_base_url") and isinstance(value, str) and value:
            key_env = params.get(f"{key[: -len('_base_url')]}_api_key_env") or "OPENAI_API_KEY"
            try:
                check_endpoint(value, key_env, timeout)
            except ParamsError as exc:
                raise ParamsError(f"parameter {key!r}: {exc}") from None


def check_training(params: dict[str, Any]) -> None:
    """``save_steps``, ``report_to``, ``lora_r``, ``train_launcher`` (any notebook that trains): a tracker or
    launcher that cannot work here stops the run now (helpers.core.training.check_params)."""
    from .training import TrainingError, check_params

    try:
        check_params(params)
    except TrainingError as exc:
        raise ParamsError(f"training parameters: {exc}") from None


def check_executor(params: dict[str, Any], timeout: float = 5.0) -> None:
    """``executor`` ray: ``ray`` importable and ``ray_address`` reachable (helpers.core.executor.check_params)."""
    from .executor import check_params

    try:
        check_params(params, timeout)
    except ValueError as exc:
        raise ParamsError(str(exc)) from None


def notebook_hook(nb_path: str | Path, name: str = "precheck") -> Callable[[dict[str, Any]], Any] | None:
    """The function a notebook declares in ``metadata.helpers.<name>`` ("module:function"), if it declares one:
    ``precheck`` (its cross-parameter check) or ``checkpoints`` (see ``rehearsal.published_checkpoints``)."""
    meta = json.loads(Path(nb_path).read_text(encoding="utf-8")).get("metadata", {})
    target = (meta.get("helpers") or {}).get(name)
    if not target:
        return None
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


def precheck(
    params: dict[str, Any], nb_path: str | Path | None = None, endpoint_timeout: float = 10.0
) -> dict[str, Any]:
    """All checks above, in order of cost; returns the params with absolute paths."""
    params = absolutize_paths(params)
    check_data(params)  # first: a FIFO or /dev/zero must be refused before a notebook hook opens it
    hook = notebook_hook(nb_path) if nb_path else None
    if hook is not None:
        try:
            hook(params)
        except ValueError as exc:
            raise ParamsError(str(exc)) from None
        except (
            TypeError,
            KeyError,
            AttributeError,
            OSError,
            RecursionError,
        ) as exc:  # a value the hook did not foresee
            raise ParamsError(
                f"{Path(nb_path).stem} precheck: {type(exc).__name__}: {exc}".splitlines()[0][:300]
            ) from None
    check_training(params)
    check_executor(params, endpoint_timeout)
    check_models(params)
    check_endpoints(params, endpoint_timeout)
    return params
