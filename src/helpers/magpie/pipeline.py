"""The notebook's resumable stages: instruction sampling calls, responses (multi-turn), their WorkerSpecs (so
the stages run locally or on Ray replicas, ``helpers.core.executor``), engine hand-off."""

from __future__ import annotations

from collections.abc import Sequence

from .templates import MULTI_TURN_SYSTEM_PROMPT, CleanRules, clean_instruction, next_turn_template


# --------------------------------------------------------------------------- pipeline stages
# Each ``*_process`` returns a function for ``store.run_stage``: a batch of items in, one record per
# item out (same id), with the batch's generation seconds shared out by tokens so throughput can be
# recomputed from the stored records after a resumed run.
def _share_seconds(records: list[dict], seconds: float, tokens_key: str = "tokens") -> list[dict]:
    total = sum(r.get(tokens_key) or 0 for r in records) or len(records)
    for r in records:
        r["seconds"] = seconds * ((r.get(tokens_key) or 0) if total != len(records) else 1) / total
    return records


def instruction_calls(n_calls: int, system_names: Sequence[str], seed: int, config_key: str) -> list[dict]:
    """One item per sampling call (one prompt, many samples); ids depend on the config, not on order."""
    return [
        {"id": f"call-{i:05d}-{config_key}", "call": i, "system": system_names[i], "seed": seed + i}
        for i in range(n_calls)
    ]


def instruction_process(gen, templates: dict[str, str], sampling):
    """Sample ``sampling.n`` queries per call from the call's pre-query template (raw prompt)."""
    import time

    def process(batch: list[dict]) -> list[dict]:
        t0 = time.perf_counter()
        outs = gen.generate(
            [templates[it["system"]] for it in batch], sampling, desc="instructions", seeds=[it["seed"] for it in batch]
        )
        took = time.perf_counter() - t0
        recs = [
            {
                **it,
                "samples": [{"text": c.text, "n_tokens": c.n_tokens, "finish_reason": c.finish_reason} for c in o],
                "tokens": sum(c.n_tokens for c in o),
            }
            for it, o in zip(batch, outs)
        ]
        return _share_seconds(recs, took)

    return process


def flatten_samples(
    calls: Sequence[dict], rules: CleanRules, templates: dict[str, str], gen_config: dict
) -> list[dict]:
    """One row per sample: raw text, cleaned instruction, status, and the reference's generation fields."""
    rows = []
    for c in calls:
        for j, s in enumerate(c["samples"]):
            text, status = clean_instruction(s["text"], s["finish_reason"], rules)
            rows.append(
                {
                    "id": f"{c['id']}-{j:03d}",
                    "raw": s["text"],
                    "instruction": text,
                    "status": status,
                    "n_tokens": s["n_tokens"],
                    "finish_reason": s["finish_reason"],
                    "system": c["system"],
                    "pre_query_template": templates[c["system"]],
                    "gen_input_configs": {**gen_config, "seed": c["seed"], "system_prompt": c["system"]},
                }
            )
    return rows


def response_process(
    gen,
    tokenizer,
    system_prompts: dict[str, str | None],
    sampling,
    n_turns: int = 1,
    query_sampling=None,
    mt_system_prompt: str = MULTI_TURN_SYSTEM_PROMPT,
    rules: CleanRules = CleanRules(),
    model_name: str = "model",
):
    """Answer each instruction with the normal chat template; with ``n_turns`` > 1, sample follow-up
    queries from the rendered history + the next user-turn opening (with the multi-turn system prompt)
    and answer them too. A follow-up that fails cleaning ends the conversation early (counted)."""
    import time

    def chat(item_system: str | None, turns: list[dict]) -> list[dict]:
        sys_text = system_prompts.get(item_system) if item_system else None
        msgs = [{"role": "system", "content": sys_text}] if sys_text else []
        for t in turns:
            msgs.append({"role": "user", "content": t["instruction"]})
            if t.get("response") is not None:
                msgs.append({"role": "assistant", "content": t["response"]})
        return msgs

    def process(batch: list[dict]) -> list[dict]:
        t0 = time.perf_counter()
        convs = [[{"instruction": it["instruction"]}] for it in batch]
        tokens = [0] * len(batch)
        stopped = [None] * len(batch)
        for turn in range(n_turns):
            live = [i for i in range(len(batch)) if stopped[i] is None]
            if turn > 0:  # follow-up queries
                prompts = [
                    next_turn_template(
                        tokenizer, [{"role": "system", "content": mt_system_prompt}] + chat(None, convs[i]), model_name
                    )
                    for i in live
                ]
                outs = gen.generate(
                    prompts,
                    query_sampling,
                    desc=f"turn {turn + 1} queries",
                    seeds=[query_sampling.seed + 7919 * turn + i for i in live],
                )
                for i, o in zip(live, outs):
                    text, status = clean_instruction(o[0].text, o[0].finish_reason, rules)
                    if status != "ok":
                        stopped[i] = f"turn {turn + 1} query {status}"
                    else:
                        convs[i].append({"instruction": text})
                live = [i for i in live if stopped[i] is None]
            if not live:
                break
            outs = gen.generate(
                [chat(batch[i]["system"], convs[i]) for i in live], sampling, desc=f"turn {turn + 1} responses"
            )
            for i, o in zip(live, outs):
                c = o[0]
                convs[i][-1].update(response=c.text, response_tokens=c.n_tokens, response_finish=c.finish_reason)
                tokens[i] += c.n_tokens
        took = time.perf_counter() - t0
        recs = []
        for it, conv, ntok, why in zip(batch, convs, tokens, stopped):
            conv = [t for t in conv if t.get("response") is not None]
            recs.append(
                {
                    "id": it["id"],
                    "turns": conv,
                    "response": conv[0]["response"],
                    "response_tokens": conv[0]["response_tokens"],
                    "response_finish": conv[0]["response_finish"],
                    "n_turns": len(conv),
                    "early_stop": why,
                    "tokens": ntok,
                }
            )
        return _share_seconds(recs, took)

    return process


# --------------------------------------------------------------------------- the same stages on any executor
# A WorkerSpec names a factory below and holds plain data only, so a Ray replica (or this process, with
# executor local) builds the writer's Generator from it once and runs the same batch function.
def _writer(model: str, backend: str = "auto", tensor_parallel_size: int = 0, batch_size: int = 16):
    from ..core.generation import Generator

    return Generator(model, backend=backend, tensor_parallel_size=tensor_parallel_size, batch_size=batch_size)


def instruction_worker(
    model: str,
    templates: dict[str, str],
    sampling,
    backend: str = "auto",
    tensor_parallel_size: int = 0,
    batch_size: int = 16,
):
    """``instruction_process`` with the writer built here (``instruction_spec`` names this factory)."""
    return instruction_process(_writer(model, backend, tensor_parallel_size, batch_size), templates, sampling)


def response_worker(
    model: str,
    system_prompts: dict[str, str | None],
    sampling,
    n_turns: int = 1,
    query_sampling=None,
    mt_system_prompt: str = MULTI_TURN_SYSTEM_PROMPT,
    rules: CleanRules = CleanRules(),
    backend: str = "auto",
    tensor_parallel_size: int = 0,
    batch_size: int = 16,
):
    """``response_process`` with the writer built here (``response_spec`` names this factory)."""
    gen = _writer(model, backend, tensor_parallel_size, batch_size)
    return response_process(
        gen,
        gen.tokenizer,
        system_prompts,
        sampling,
        n_turns=n_turns,
        query_sampling=query_sampling,
        mt_system_prompt=mt_system_prompt,
        rules=rules,
        model_name=model,
    )


def instruction_spec(writer: dict, templates: dict[str, str], sampling):
    """The instruction stage for ``run_stage_on``; ``writer`` = model, backend, tensor_parallel_size, batch_size."""
    from ..core.executor import WorkerSpec

    return WorkerSpec(instruction_worker, {**writer, "templates": dict(templates), "sampling": sampling})


def response_spec(
    writer: dict,
    system_prompts: dict[str, str | None],
    sampling,
    n_turns: int = 1,
    query_sampling=None,
    mt_system_prompt: str = MULTI_TURN_SYSTEM_PROMPT,
    rules: CleanRules = CleanRules(),
):
    """The response stage for ``run_stage_on`` (arguments as ``response_process``, the writer as plain data)."""
    from ..core.executor import WorkerSpec

    return WorkerSpec(
        response_worker,
        {
            **writer,
            "system_prompts": dict(system_prompts),
            "sampling": sampling,
            "n_turns": n_turns,
            "query_sampling": query_sampling,
            "mt_system_prompt": mt_system_prompt,
            "rules": rules,
        },
    )


def free_engines() -> None:
    """Release cached vLLM engines and GPU memory (callers drop their own Generator first): lets a
    tagger, guard or reward model use the GPU after the writer model is done."""
    from ..core.engines import free_memory
    from ..core.vllm_engines import shutdown_engines

    shutdown_engines()
    free_memory()
