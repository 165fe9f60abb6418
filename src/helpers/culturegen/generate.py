"""The generation stage: every (culture or baseline, topic, gender) prompt, n samples each, resumable.

    items = generation_items(cultures, topics, ["neutral"], with_baseline=True)
    records, stats = generate_stage(run, items, model="smollm2-135m-instruct", backend="hf", n_samples=4)

A record carries the prompt's culture ("" for the culture-agnostic baseline), region, topic, gender and the
list of sampled continuations. The store's name is keyed by everything that changes the samples (model,
format, sampling settings, seed), so a rerun with other settings never mixes results; items are keyed by
(culture, topic, gender), so a larger culture subset reuses what a smaller run generated.
"""
from __future__ import annotations

import time
from typing import Sequence

from ..core.store import run_stage, stable_id
from .data import Culture, Topic
from .prompts import chat_prompt, generation_prompt, max_new_tokens

BASELINE = ""  # the nationality field of culture-agnostic prompts


def generation_items(cultures: Sequence[Culture], topics: Sequence[Topic], genders: Sequence[str],
                     with_baseline: bool = True) -> list[dict]:
    """One item per prompt; the baseline (no culture) comes last for each topic and gender."""
    items = []
    for c in [*cultures, *([None] if with_baseline else [])]:
        for t in topics:
            for g in genders:
                nat = c.nationality if c else BASELINE
                items.append({"id": stable_id("culturegen-generation", nat, t.key, g), "nationality": nat,
                              "region": c.region if c else "(none)", "topic": t.key, "gender": g,
                              "_culture": c, "_topic": t})
    return items


def store_name(model: str, prompt_format: str, n_samples: int, temperature: float, top_k: int, top_p: float,
               max_tokens: int, seed: int) -> str:
    return "generations-" + stable_id(model, prompt_format, n_samples, temperature, top_k, top_p, max_tokens, seed, length=10)


def item_seed(seed: int, item_id: str) -> int:
    """A per-prompt seed from the run seed and the item id (independent of batch order)."""
    return seed * 1_000_003 + int(item_id[:7], 16)


def generate_stage(run, items: Sequence[dict], model: str, backend: str = "auto", prompt_format: str = "continuation",
                   n_samples: int = 100, temperature: float = 1.0, top_k: int = 50, top_p: float = 1.0,
                   max_tokens: int = 0, seed: int = 0, tensor_parallel_size: int = 1,
                   prompts_per_call: int = 0, store=None) -> tuple[list[dict], dict]:
    """Generate what the store lacks; returns (records in item order, speed stats of the fresh work).

    ``store``: a keyed store from the notebook's stage graph (helpers.culturegen.stages); by default one
    named by a hash of the generation settings."""
    from ..core.generation import Generator, Sampling

    new_tokens = max_new_tokens(prompt_format, max_tokens)
    if store is None:
        store = run.store(store_name(model, prompt_format, n_samples, temperature, top_k, top_p, new_tokens, seed))
    todo = [it for it in items if it["id"] not in store]
    stats = {"sequences": 0, "seconds": 0.0, "tokens": 0, "backend": None, "max_new_tokens": new_tokens}
    gen = None
    if todo:
        gen = Generator(model, backend=backend, tensor_parallel_size=tensor_parallel_size, batch_size=64)
        stats["backend"] = gen.backend_name

    def process(batch: list[dict]) -> list[dict]:
        if prompt_format == "chat":
            prompts = [chat_prompt(gen.render, it["_topic"], it["gender"], it["_culture"]) for it in batch]
        else:
            prompts = [generation_prompt(it["_topic"], it["gender"], it["_culture"]) for it in batch]
        sampling = Sampling(n=n_samples, temperature=temperature, top_k=top_k, top_p=top_p, max_tokens=new_tokens)
        start = time.perf_counter()
        outs = gen.generate(prompts, sampling, desc="culture-gen", seeds=[item_seed(seed, it["id"]) for it in batch])
        stats["seconds"] += time.perf_counter() - start
        stats["sequences"] += sum(len(o) for o in outs)
        stats["tokens"] += sum(c.n_tokens for o in outs for c in o)
        return [{**{k: v for k, v in it.items() if not k.startswith("_")}, "prompt": p,
                 "texts": [c.text for c in o], "finish": [c.finish_reason for c in o]}
                for it, p, o in zip(batch, prompts, outs)]

    per_call = prompts_per_call or max(1, (4096 if stats["backend"] == "vllm" else 256) // n_samples)
    records = run_stage(store, list(items), process, batch_size=per_call, desc="generations")
    if stats["backend"] == "vllm":
        from ..core.generation import shutdown_engines
        shutdown_engines()  # give the GPU memory back to the extractor and the log-prob scorer
    stats["sequences_per_s"] = stats["sequences"] / stats["seconds"] if stats["seconds"] else None
    stats["tokens_per_s"] = stats["tokens"] / stats["seconds"] if stats["seconds"] else None
    stats["store"] = store.path.name
    return records, stats


def samples(records: Sequence[dict]) -> list[dict]:
    """One row per sampled continuation: the record's fields with ``sample`` (its index) and ``text``."""
    rows = []
    for r in records:
        for k, text in enumerate(r["texts"]):
            rows.append({"gen_id": f"{r['id']}-{k}", "nationality": r["nationality"], "region": r["region"],
                         "topic": r["topic"], "gender": r["gender"], "sample": k, "text": text})
    return rows
