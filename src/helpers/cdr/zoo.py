"""The model zoo: weaker models derived from a parent, preference-tuned children (TRL SimPO / DPO), on-policy pairs."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.tiny import tiny_model

DERIVED_KINDS = ("layers", "noise", "random", "simpo", "dpo", "dpo-offline")
TRAINED_KINDS = ("simpo", "dpo", "dpo-offline")


# ----------------------------------------------------------------------------------- model zoo
def derive_model(spec: str, parent: str, out_dir: str | Path, seed: int = 0) -> str:
    """Build a weaker model from ``parent`` (saved once into ``out_dir``; reused when it exists).

    ``noise:S``: every weight matrix plus Gaussian noise of S x its own standard deviation;
    ``layers:K``: the first K transformer blocks only; ``random``: a 2-layer random Llama with the
    parent's tokenizer. Returns the folder.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..core.models import resolve_model
    from ..core.store import atomic_dir, is_finished

    out = Path(out_dir)
    if is_finished(out):
        return str(out)
    kind, _, arg = spec.partition(":")
    src = resolve_model(parent)
    tok = AutoTokenizer.from_pretrained(src)
    torch.manual_seed(seed)
    if kind == "noise":
        model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
        scale = float(arg or 0.1)
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() >= 2:
                    p.add_(torch.randn_like(p) * p.std() * scale)
    elif kind == "layers":
        model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
        k = int(arg)
        n = model.config.num_hidden_layers
        if not 1 <= k <= n:
            raise ValueError(f"derived model {spec!r}: the parent has {n} layers")
        model.model.layers = model.model.layers[:k]
        model.config.num_hidden_layers = k
        if getattr(model.config, "layer_types", None):
            model.config.layer_types = model.config.layer_types[:k]
    elif kind == "random":
        model = tiny_model(tok, seed=seed, hidden_size=64)
    else:
        raise ValueError(
            f"unknown derived model {spec!r}: use noise:S, layers:K or random (or dpo via train_preference)"
        )
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    return str(out)


# ----------------------------------------------------------------------------------- on-policy data
def sample_seed(seed: int, item_id: str) -> int:
    """The sampling seed of one on-policy prompt: from (seed, its id), never its place in a batch."""
    from ..core.store import stable_id

    return int(stable_id(seed, item_id, length=7), 16)


def onpolicy_worker(
    model: str,
    backend: str = "auto",
    n: int = 4,
    temperature: float = 1.0,
    max_tokens: int = 128,
    seed: int = 0,
    tensor_parallel_size: int = 0,
):
    """On-policy sampling's batch function, the policy loaded here (once per Ray replica, or once in this
    process): items {"id", "prompt"} -> {"id", "prompt", "samples"}, ``n`` samples per prompt. Each prompt
    samples with ``sample_seed(seed, id)``: vLLM gives the same samples whatever the batching; transformers
    seeds a batch from its first row, and the executor hands every replica the batches a local run makes."""
    from ..core.generation import Generator, Sampling

    if tensor_parallel_size > 1 and backend == "auto":
        backend = "vllm"
    gen = Generator(model, backend=backend, tensor_parallel_size=tensor_parallel_size)
    sampling = Sampling(n=n, temperature=temperature, max_tokens=max_tokens, seed=seed)

    def process(batch: list[dict]) -> list[dict]:
        outs = gen.generate(
            [it["prompt"] for it in batch],
            sampling,
            desc="on-policy samples",
            seeds=[sample_seed(seed, it["id"]) for it in batch],
        )
        return [{"id": it["id"], "prompt": it["prompt"], "samples": [c.text for c in o]} for it, o in zip(batch, outs)]

    return process


def onpolicy_spec(
    model: str, backend: str = "auto", n: int = 4, temperature: float = 1.0, max_tokens: int = 128, seed: int = 0
):
    """On-policy sampling as a WorkerSpec (plain data: a replica loads the policy itself)."""
    from ..core.executor import WorkerSpec

    return WorkerSpec(
        onpolicy_worker,
        {
            "model": model,
            "backend": backend,
            "n": n,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "seed": seed,
        },
    )


def sample_items(scored_prompts: Sequence[dict]) -> list[dict]:
    """One log-prob item per on-policy sample (``<prompt id>/s<k>``), for ``score_responses``."""
    return [
        {"id": f"{r['id']}/s{k}", "prompt": r["prompt"], "response": s}
        for r in scored_prompts
        for k, s in enumerate(r["samples"])
    ]


def best_vs_rest(
    samples: Sequence[str], rewards: Sequence[float], rejected: str = "random", rng: random.Random | None = None
) -> tuple[str, str] | None:
    """(chosen, rejected): the best-rewarded sample vs the worst or a random non-best one.

    None when all rewards are equal (nothing to learn from that prompt).
    """
    if len(samples) != len(rewards) or len(samples) < 2:
        return None
    if max(rewards) == min(rewards):
        return None
    best = max(range(len(rewards)), key=lambda i: rewards[i])
    if rejected == "worst":
        other = min(range(len(rewards)), key=lambda i: rewards[i])
    elif rejected == "random":
        pool = [i for i in range(len(rewards)) if rewards[i] < rewards[best]]
        other = (rng or random.Random(0)).choice(pool)
    else:
        raise ValueError(f"rejected must be 'worst' or 'random', not {rejected!r}")
    return samples[best], samples[other]


def preference_dataset(rows: Sequence[dict]):
    """A ``datasets.Dataset`` in TRL's conversational preference format (prompt / chosen / rejected)."""
    from datasets import Dataset

    return Dataset.from_list(
        [
            {
                "prompt": r["prompt"],
                "chosen": [{"role": "assistant", "content": r["chosen"]}],
                "rejected": [{"role": "assistant", "content": r["rejected"]}],
            }
            for r in rows
        ]
    )


def train_preference(
    model: str,
    dataset,
    out_dir: str | Path,
    loss: str = "simpo",
    steps: int = 4,
    learning_rate: float = 1e-5,
    batch_size: int = 4,
    max_length: int = 256,
    beta: float | None = None,
    simpo_gamma: float = 0.5,
    seed: int = 0,
    options=None,
) -> dict[str, Any]:
    """Preference-tune ``model`` on ``dataset`` with TRL through ``helpers.core.training``: ``simpo``
    (CPOTrainer, loss_type="simpo", cpo_alpha=0) or ``dpo`` (DPOTrainer); ``options`` (a
    ``TrainOptions``) adds checkpoints every N steps with resume after a kill, ``report_to``, LoRA and the
    accelerate launcher. Saves to ``out_dir``; a finished ``out_dir`` trained with the same inputs is
    reused, a changed input retrains. Returns the training log (loss per step, seconds)."""
    from ..core.launch import run_training
    from ..core.store import atomic_write_json, read_json
    from ..core.training import TrainOptions

    if loss not in ("simpo", "dpo"):
        raise ValueError(f"loss must be 'simpo' or 'dpo', not {loss!r}")
    if len(dataset) == 0:
        raise ValueError("the preference data set is empty: nothing to train on")
    options = options or TrainOptions()
    config = {
        "max_steps": steps,
        "per_device_train_batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
        "max_length": max_length,
        "lr_scheduler_type": "constant",
        "warmup_steps": 0,
    }
    config.update({"beta": beta or 2.0, "simpo_gamma": simpo_gamma} if loss == "simpo" else {"beta": beta or 0.1})
    out = Path(out_dir)
    result = run_training(loss, model, dataset, out, options, config)
    history = [{k: v for k, v in h.items() if isinstance(v, (int, float))} for h in result["history"] if "loss" in h]
    took = result["seconds"]
    log = {
        "loss": loss,
        "steps": steps,
        "seconds": took,
        "seconds_per_step": round(took / max(1, steps), 2),
        "history": history,
        "n_pairs": len(dataset),
        "resumed_from": result.get("resumed_from"),
        "lora_r": options.lora_r,
        "launcher": options.launcher,
        "processes": result.get("processes"),
    }
    if not (out / "train_log.json").is_file() or read_json(out / "train_log.json") != log:
        atomic_write_json(out / "train_log.json", log)
    return log
