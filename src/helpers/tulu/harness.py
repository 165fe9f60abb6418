"""lm-evaluation-harness for the hub world: the ``simple_evaluate`` call built from the params, its per-sample
results as the notebook's records, and local tasks written by us.

    records = run_harness(model_dir, ["gsm8k", "ifeval"], limit=200)          # vLLM on a GPU, transformers (hf) on CPU
    task = write_local_task(folder)                                           # a GSM8k-schema jsonl + its task YAML
    records = run_harness(model_dir, [str(task)], limit=8, backend="hf")      # a YAML path: its folder is included

A task named by a path to a YAML file is loaded from that file's folder (``TaskManager(include_path=...)``), so a
task whose data is local runs where the hub is unreachable. Each record is ``{id, category, correct}``: the task's
primary metric on one document under its first filter (GSM8k: exact match after the ``strict-match`` regex), so
harness tasks join the delta table, with CIs over documents, beside the checker categories.
"""

from __future__ import annotations

import importlib.util
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.engines import on_gpu

HARNESS_CATEGORIES = {
    "gsm8k": "reasoning (GSM8k)",
    "ifeval": "instruction (IFEval)",
    "truthfulqa_mc2": "truthfulness (TruthfulQA)",
    "mmlu": "factuality (MMLU)",
    "bbh": "reasoning (BBH)",
    "toxigen": "safety (ToxiGen)",
    "tulu_arith": "reasoning (local arithmetic)",
}
PRIMARY = ("exact_match", "prompt_level_strict_acc", "acc", "acc_norm")


def harness_available() -> bool:
    return importlib.util.find_spec("lm_eval") is not None


def harness_backend(backend: str = "auto") -> str:
    """``vllm`` when asked for, or (``auto``) when vLLM is installed and a GPU is there; else ``hf`` (transformers)."""
    if backend in ("vllm", "hf"):
        return backend
    return "vllm" if importlib.util.find_spec("vllm") is not None and on_gpu() else "hf"


def _task_names(tasks: Sequence[str]) -> tuple[list[str], list[str]]:
    """(task names, include paths): a ``.yaml`` path is its ``task:`` name, its folder an include path."""
    names, include = [], []
    for t in tasks:
        if str(t).endswith((".yaml", ".yml")):
            import yaml

            path = Path(t).expanduser().resolve()
            names.append(yaml.safe_load(path.read_text(encoding="utf-8"))["task"])
            include.append(str(path.parent))
        else:
            names.append(str(t))
    return names, list(dict.fromkeys(include))


def harness_args(
    model: str,
    tasks: Sequence[str],
    limit: int | None = None,
    tensor_parallel_size: int = 1,
    backend: str = "auto",
    batch_size: int = 8,
) -> dict[str, Any]:
    """The keyword arguments of ``lm_eval.simple_evaluate`` for ``model`` (plus ``include_path`` for the task manager):
    the vLLM backend on a GPU (``gpu_memory_utilization`` 0.8, ``tensor_parallel_size``), transformers on CPU (float32);
    the chat template on, per-sample logging on."""
    kind = harness_backend(backend)
    if kind == "vllm":
        model_args = {
            "pretrained": model,
            "dtype": "auto",
            "gpu_memory_utilization": 0.8,
            "tensor_parallel_size": tensor_parallel_size,
        }
    else:
        gpu = on_gpu()
        model_args = {"pretrained": model, "dtype": "auto" if gpu else "float32", "device": "cuda" if gpu else "cpu"}
    names, include = _task_names(tasks)
    return {
        "model": kind,
        "model_args": model_args,
        "tasks": names,
        "limit": limit,
        "apply_chat_template": True,
        "log_samples": True,
        "batch_size": "auto" if kind == "vllm" else batch_size,
        "include_path": include,
    }


def evaluate_harness(
    model: str, tasks: Sequence[str], limit: int | None = None, tensor_parallel_size: int = 1, backend: str = "auto"
) -> dict:
    """``lm_eval.simple_evaluate``'s result for ``model`` on ``tasks`` (names or task YAML paths)."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    args = harness_args(model, tasks, limit, tensor_parallel_size, backend)
    include = args.pop("include_path")
    local_only = len(include) > 0 and all(str(t).endswith((".yaml", ".yml")) for t in tasks)
    manager = TaskManager(include_path=include or None, include_defaults=not local_only)
    return lm_eval.simple_evaluate(**args, task_manager=manager)


def run_harness(
    model: str, tasks: Sequence[str], limit: int | None = None, tensor_parallel_size: int = 1, backend: str = "auto"
) -> list[dict]:
    """Run lm-evaluation-harness on ``model`` and return one record per (task, document): {id, category, correct}."""
    return harness_records(evaluate_harness(model, tasks, limit, tensor_parallel_size, backend))


def harness_records(result: dict) -> list[dict]:
    """Per-document records from a ``simple_evaluate`` result logged with samples (the first filter of each task)."""
    out = []
    for task, samples in (result.get("samples") or {}).items():
        first = next((s.get("filter") for s in samples), None)
        for s in samples:
            if s.get("filter", first) != first:
                continue
            value = _primary(s)
            if value is not None:
                out.append(
                    {
                        "id": f"{task}-{s.get('doc_id')}",
                        "category": HARNESS_CATEGORIES.get(task, task),
                        "correct": value >= 0.5,
                    }
                )
    return out


def _primary(sample: dict) -> float | None:
    for key in PRIMARY:
        if key in sample:
            value = sample[key]
            return float(value[0] if isinstance(value, (list, tuple)) else value)
    return None


# --------------------------------------------------------------------------------------------- a local task
TASK_YAML = """task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
output_type: generate_until
test_split: test
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{answer}}}}"
num_fewshot: 0
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: false
    regexes_to_ignore: [",", "\\\\$", "(?s).*#### ", "\\\\.$"]
generation_kwargs:
  until: ["Question:", "</s>", "<|im_end|>"]
  do_sample: false
  max_gen_toks: {max_gen_toks}
filter_list:
  - name: strict-match
    filter:
      - function: regex
        regex_pattern: "#### (\\\\-?[0-9\\\\.\\\\,]+)"
      - function: take_first
metadata:
  version: 1.0
"""


def arithmetic_rows(n: int, seed: int = 0) -> list[dict]:
    """GSM8k-schema rows (``question``, ``answer`` ending in ``#### N``) of two-step word problems."""
    rng = random.Random(f"tulu-arith-{seed}")
    rows = []
    for _ in range(n):
        a, b, c = rng.randint(2, 30), rng.randint(2, 20), rng.randint(2, 9)
        rows.append(
            {
                "question": f"A shop has {a} apples, gets {b} more, then sells {c}. How many apples are left?",
                "answer": f"{a} + {b} = {a + b}, and {a + b} - {c} = {a + b - c}.\n#### {a + b - c}",
            }
        )
    return rows


def write_local_task(
    folder: str | Path, name: str = "tulu_arith", rows: Sequence[dict] | None = None, max_gen_toks: int = 64
) -> Path:
    """A harness task whose data is a local jsonl (GSM8k's schema, exact match after GSM8k's strict regex);
    returns the task YAML's path (give it to ``run_harness`` or ``harness_tasks``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"{name}.jsonl"
    data.write_text(
        "".join(json.dumps(r) + "\n" for r in (rows if rows is not None else arithmetic_rows(32))), encoding="utf-8"
    )
    path = folder / f"{name}.yaml"
    path.write_text(
        TASK_YAML.format(name=name, data=json.dumps(str(data.resolve())), max_gen_toks=max_gen_toks), encoding="utf-8"
    )
    return path
