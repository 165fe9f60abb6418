"""The generation stage: every (culture or baseline, topic, gender) prompt, n samples each, resumable.

    items = generation_items(cultures, topics, ["neutral"], with_baseline=True)
    records, stats = generate_stage(run, items, model="smollm2-135m-instruct", backend="hf", n_samples=4)
    records, stats = generate_stage(..., executor=Executor.from_params(globals()))   # or on Ray replicas

A record carries the prompt's culture ("" for the culture-agnostic baseline), region, topic, gender and the
list of sampled continuations. The store's name is keyed by everything that changes the samples (model,
format, sampling settings, seed), so a rerun with other settings never mixes results; items are keyed by
(culture, topic, gender), so a larger culture subset reuses what a smaller run generated.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..core.store import stable_id
from .data import Culture, Topic
from .prompts import chat_prompt, generation_prompt, max_new_tokens

BASELINE = ""  # the nationality field of culture-agnostic prompts


def generation_items(
    cultures: Sequence[Culture], topics: Sequence[Topic], genders: Sequence[str], with_baseline: bool = True
) -> list[dict]:
    """One item per prompt; the baseline (no culture) comes last for each topic and gender."""
    items = []
    for c in [*cultures, *([None] if with_baseline else [])]:
        for t in topics:
            for g in genders:
                nat = c.nationality if c else BASELINE
                items.append(
                    {
                        "id": stable_id("culturegen-generation", nat, t.key, g),
                        "nationality": nat,
                        "region": c.region if c else "(none)",
                        "topic": t.key,
                        "gender": g,
                        "_culture": c,
                        "_topic": t,
                    }
                )
    return items


def store_name(
    model: str,
    prompt_format: str,
    n_samples: int,
    temperature: float,
    top_k: int,
    top_p: float,
    max_tokens: int,
    seed: int,
) -> str:
    return "generations-" + stable_id(
        model, prompt_format, n_samples, temperature, top_k, top_p, max_tokens, seed, length=10
    )


def item_seed(seed: int, item_id: str) -> int:
    """A per-prompt seed from the run seed and the item id (independent of batch order)."""
    return seed * 1_000_003 + int(item_id[:7], 16)


def _culture_of(value) -> Culture | None:
    """An item's ``_culture``: the Culture itself (this process) or its fields (an item that travelled as JSON)."""
    if value is None or isinstance(value, Culture):
        return value
    return Culture(**{**value, "aliases": tuple(value.get("aliases") or ())})


def topic_of(value) -> Topic:
    """A ``Topic`` from itself or from its dict form (as items carry it)."""
    if isinstance(value, Topic):
        return value
    return Topic(**{**value, "generic_words": tuple(value.get("generic_words") or ())})


def plain_items(items: Sequence[dict]) -> list[dict]:
    """The items with ``_culture`` / ``_topic`` as plain fields, as a Ray replica receives them (JSON)."""
    import dataclasses

    return [
        {
            **it,
            "_culture": dataclasses.asdict(it["_culture"]) if it.get("_culture") else None,
            "_topic": dataclasses.asdict(it["_topic"]),
        }
        for it in items
    ]


def generation_worker(
    model: str,
    backend: str = "auto",
    tensor_parallel_size: int = 1,
    batch_size: int = 64,
    prompt_format: str = "continuation",
    n_samples: int = 100,
    temperature: float = 1.0,
    top_k: int = 50,
    top_p: float = 1.0,
    max_new_tokens: int = 30,
    seed: int = 0,
):
    """The generation stage's batch function with the model's Generator built here (``generation_spec`` names
    this factory; a Ray replica calls it once). ``process.stats`` and ``process.backend_name`` describe its work."""
    from ..core.generation import Generator, Sampling

    gen = Generator(model, backend=backend, tensor_parallel_size=tensor_parallel_size, batch_size=batch_size)
    stats = {"sequences": 0, "seconds": 0.0, "tokens": 0}
    sampling = Sampling(n=n_samples, temperature=temperature, top_k=top_k, top_p=top_p, max_tokens=max_new_tokens)

    def process(batch: list[dict]) -> list[dict]:
        parts = [(topic_of(it["_topic"]), it["gender"], _culture_of(it["_culture"])) for it in batch]
        if prompt_format == "chat":
            prompts = [chat_prompt(gen.render, *p) for p in parts]
        else:
            prompts = [generation_prompt(*p) for p in parts]
        start = time.perf_counter()
        outs = gen.generate(prompts, sampling, desc="culture-gen", seeds=[item_seed(seed, it["id"]) for it in batch])
        stats["seconds"] += time.perf_counter() - start
        stats["sequences"] += sum(len(o) for o in outs)
        stats["tokens"] += sum(c.n_tokens for o in outs for c in o)
        return [
            {
                **{k: v for k, v in it.items() if not k.startswith("_")},
                "prompt": p,
                "texts": [c.text for c in o],
                "finish": [c.finish_reason for c in o],
            }
            for it, p, o in zip(batch, prompts, outs)
        ]

    process.stats, process.backend_name = stats, gen.backend_name
    return process


def generation_spec(
    model: str,
    backend: str = "auto",
    prompt_format: str = "continuation",
    n_samples: int = 100,
    temperature: float = 1.0,
    top_k: int = 50,
    top_p: float = 1.0,
    max_tokens: int = 0,
    seed: int = 0,
    tensor_parallel_size: int = 1,
):
    """The generation stage as a WorkerSpec (plain data: a replica loads the model itself)."""
    from ..core.executor import WorkerSpec

    return WorkerSpec(
        generation_worker,
        {
            "model": model,
            "backend": backend,
            "tensor_parallel_size": tensor_parallel_size,
            "batch_size": 64,
            "prompt_format": prompt_format,
            "n_samples": n_samples,
            "temperature": temperature,
            "top_k": top_k,
            "top_p": top_p,
            "max_new_tokens": max_new_tokens(prompt_format, max_tokens),
            "seed": seed,
        },
    )


def _ray_engine(backend: str, executor) -> str:
    """The engine replicas will use (decides the prompts per call), guessed in the driver without loading."""
    from ..core.generation import vllm_available

    if backend != "auto":
        return backend
    return "vllm" if executor.gpus_per_replica or vllm_available() else "hf"


def generate_stage(
    run,
    items: Sequence[dict],
    model: str,
    backend: str = "auto",
    prompt_format: str = "continuation",
    n_samples: int = 100,
    temperature: float = 1.0,
    top_k: int = 50,
    top_p: float = 1.0,
    max_tokens: int = 0,
    seed: int = 0,
    tensor_parallel_size: int = 1,
    prompts_per_call: int = 0,
    store=None,
    executor=None,
) -> tuple[list[dict], dict]:
    """Generate what the store lacks; returns (records in item order, speed stats of the fresh work).

    ``store``: a keyed store from the notebook's stage graph (helpers.culturegen.stages); by default one
    named by a hash of the generation settings. ``executor`` (``helpers.core.executor``; None: local): where
    the stage runs, this process or Ray replicas that each build the model once from ``generation_spec``;
    the records are the same. On Ray the seconds are the driver's wall time (start-up included) and the
    token counts stay with the replicas (``tokens`` None)."""
    from ..core.executor import as_executor, run_stage_on

    executor = as_executor(executor)
    spec = generation_spec(
        model, backend, prompt_format, n_samples, temperature, top_k, top_p, max_tokens, seed, tensor_parallel_size
    )
    new_tokens = spec.kwargs["max_new_tokens"]
    if store is None:
        store = run.store(store_name(model, prompt_format, n_samples, temperature, top_k, top_p, new_tokens, seed))
    todo = [it for it in items if it["id"] not in store]
    stats = {"sequences": 0, "seconds": 0.0, "tokens": 0, "backend": None, "max_new_tokens": new_tokens}
    work = spec
    if todo and executor.kind == "local":
        work = spec.build()  # built here only when something is missing, as before
        stats["backend"] = work.backend_name
    elif todo:
        stats["backend"] = _ray_engine(backend, executor)

    per_call = prompts_per_call or max(1, (4096 if stats["backend"] == "vllm" else 256) // n_samples)
    records = run_stage_on(executor, store, plain_items(items), work, batch_size=per_call, desc="generations")
    if todo and executor.kind == "local":
        stats.update({k: work.stats[k] for k in ("sequences", "seconds", "tokens")})
    elif todo:
        fresh = {it["id"] for it in todo}
        stats.update(
            sequences=sum(len(r["texts"]) for r in records if r["id"] in fresh),
            seconds=float(executor.last.get("seconds") or 0.0),
            tokens=None,
        )
    if stats["backend"] == "vllm" and executor.kind == "local":
        from ..core.vllm_engines import shutdown_engines

        shutdown_engines()  # give the GPU memory back to the extractor and the log-prob scorer
    stats["sequences_per_s"] = stats["sequences"] / stats["seconds"] if stats["seconds"] else None
    stats["tokens_per_s"] = (
        stats["tokens"] / stats["seconds"] if stats["seconds"] and stats["tokens"] is not None else None
    )
    stats["store"] = store.path.name
    return records, stats


def speed_line(stats: dict) -> str:
    """The notebook's one line on the generation stage's speed."""
    if not stats["sequences"]:
        return "resumed from the store"
    tokens = f"{stats['tokens_per_s']:.0f} tokens/s, " if stats.get("tokens_per_s") is not None else ""
    return (
        f"{stats['sequences']} sequences in {stats['seconds']:.0f} s ({stats['sequences_per_s']:.2f} seq/s, "
        f"{tokens}{stats['backend']} backend)"
    )


def samples(records: Sequence[dict]) -> list[dict]:
    """One row per sampled continuation: the record's fields with ``sample`` (its index) and ``text``."""
    rows = []
    for r in records:
        for k, text in enumerate(r["texts"]):
            rows.append(
                {
                    "gen_id": f"{r['id']}-{k}",
                    "nationality": r["nationality"],
                    "region": r["region"],
                    "topic": r["topic"],
                    "gender": r["gender"],
                    "sample": k,
                    "text": text,
                }
            )
    return rows
