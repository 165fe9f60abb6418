"""The notebook's parameter checks before compute (the runner's precheck hook, helpers.icot.checks:check_params):
tasks, model, task overrides, GSM8K source and keep_position, each error naming the parameter."""

from __future__ import annotations

import json
from pathlib import Path

from . import model as icot_model


def check_params(params: dict) -> None:
    """The notebook's cross-parameter checks before compute (the runner's hook; ValueError names the parameter)."""
    from .data import parse_task
    from .train import make_config

    for task in params.get("tasks", []):
        try:
            kind, size = parse_task(task)
        except ValueError as exc:
            raise ValueError(f"parameter 'tasks': {exc}") from None
        if kind == "mult":
            _check_mult(task, size, params)
    init_from = params.get("init_from", "")
    if icot_model.is_config_spec(init_from):
        try:
            icot_model.preset(init_from)
        except ValueError as exc:
            raise ValueError(f"parameter 'init_from': {exc}") from None
    else:
        from ..core.models import ModelNotFoundError, resolve_model

        try:
            resolved = resolve_model(init_from)
        except ModelNotFoundError as exc:
            raise ValueError(f"parameter 'init_from': {exc}") from None
        if resolved == init_from:  # a hub id: online, it must exist (asked now, not a minute into the kernel)
            from ..core.precheck import check_hub_model

            check_hub_model("init_from", init_from)
        from ..core import rehearsal

        kind = _model_type(resolved)
        if kind is not None and kind != "gpt2" and not rehearsal.active():  # a rehearsal's stand-in is a tiny Llama
            raise ValueError(
                f"parameter 'init_from': {init_from} is a {kind} model; stepwise internalization here "
                f"trains a GPT-2 (config:gpt2-tiny, openai-community/gpt2 or a GPT-2 folder)"
            )
    overrides = params.get("task_overrides") or {}
    for task, values in overrides.items():
        if task not in params.get("tasks", []) or not isinstance(values, dict):
            raise ValueError(
                f"parameter 'task_overrides': {task!r} is not one of the tasks or maps to no dict of parameters"
            )
        try:
            make_config(task, "stepwise", {}, overrides)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"parameter 'task_overrides': {exc}") from None
        _check_override_values(task, values)
    if "gsm8k" in params.get("tasks", []) and params.get("gsm8k_data"):
        from ..core.data import check_source
        from .data import gsm8k_split

        check_source("gsm8k_data", params["gsm8k_data"], lambda s: gsm8k_split(s, "train", None))
    if "gsm8k" in params.get("tasks", []) and (overrides.get("gsm8k") or {}).get(
        "keep_position", params.get("keep_position")
    ):
        raise ValueError(
            "parameter 'keep_position': GSM8K CoTs differ in length; set task_overrides "
            "{gsm8k: {keep_position: false}} or keep_position false"
        )


MAX_MULT_DIGITS = 20  # the paper goes to 9x9; mult:50 sequences alone take gigabytes


def _check_mult(task: str, size: int, params: dict) -> None:
    """mult:N: a size this machine can hold, a training set, and no more distinct pairs asked for than exist."""
    if size > MAX_MULT_DIGITS:
        raise ValueError(f"parameter 'tasks': {task} has more than {MAX_MULT_DIGITS} digits per operand")
    if not params.get("n_train", 1):
        raise ValueError(f"parameter 'n_train': 0 takes the whole split for gsm8k only; {task} needs a count")
    total = sum(int(params.get(k, 0)) for k in ("n_train", "n_valid", "n_test"))
    exist = (9 * 10 ** (size - 1)) ** 2
    if total > exist:
        raise ValueError(
            f"parameter 'n_train': {task} has {exist} distinct pairs; n_train + n_valid + n_test asks for {total}"
        )


def _check_override_values(task: str, values: dict) -> None:
    """task_overrides[task]: each value checked like the notebook parameter of the same name (type, range, finite)."""
    from ..core.params import NOTEBOOKS_DIR, ParamsError, read_param_specs, validate_params

    nb = NOTEBOOKS_DIR / "09_icot.ipynb"
    if not nb.exists():
        return
    specs = read_param_specs(nb)
    try:
        validate_params({k: v for k, v in values.items() if k in specs}, specs, origin=f"task_overrides[{task!r}]")
    except ParamsError as exc:
        raise ValueError(f"parameter 'task_overrides': {exc}") from None


def _model_type(folder: str) -> str | None:
    """``model_type`` in a local model's config.json (a cached hub model's too); None when it cannot be read here."""
    path = Path(folder) / "config.json"
    if not path.exists() and folder.count("/") == 1:
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(folder, "config.json")
            path = Path(cached) if isinstance(cached, str) else path
        except Exception:
            return None
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None
