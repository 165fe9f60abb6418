"""The notebook's steps (01_magpie) that are more than a call: writer set-up, de-duplication, response and tag
statistics, the reward and guard stages, the records in the reference schema, the export and the data card, the
optional SFT run. Each is one function a cell calls."""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


# --------------------------------------------------------------------------- writer
def writer_setup(model: str, backend: str) -> tuple[Any, str, bool]:
    """(the writer's tokenizer, the engine that will run it, whether a GPU is visible)."""
    from ..core.engines import on_gpu
    from ..core.generation import pick_backend
    from ..core.hf import load_tokenizer
    from ..core.models import resolve_model

    return load_tokenizer(resolve_model(model)), pick_backend(backend), on_gpu()


# --------------------------------------------------------------------------- instructions
def instruction_throughput(samples: Sequence[dict], calls: Sequence[dict]) -> tuple[collections.Counter, float, float]:
    """(status counts of the samples, seconds of generation, instructions per minute; NaN without timing)."""
    status = collections.Counter(s["status"] for s in samples)
    seconds = sum(c["seconds"] for c in calls)
    return status, seconds, (len(samples) / seconds * 60 if seconds else float("nan"))


def mark_near_duplicates(ok: list[dict], stages: Any, k: int, threshold: float):
    """Embed the clean queries (cached by their texts) and annotate each with ``min_neighbor_distance``,
    ``repeat_count`` and ``min_similar_conversation_id`` (the earliest near-duplicate: the copy that is kept).
    Returns (embeddings, number of queries that are near-duplicates of an earlier one)."""
    import numpy as np

    from ..core.embeddings import duplicate_info, embed, nearest_neighbors
    from ..core.store import stable_id

    emb_path = stages.path("embeddings", ".npy", texts=stable_id([s["instruction"] for s in ok]))
    if emb_path.exists():
        emb = np.load(emb_path)
    else:
        emb = embed([s["instruction"] for s in ok])
        np.save(emb_path, emb)
    dist, idx = nearest_neighbors(emb, k=k)
    for s, info in zip(ok, duplicate_info(dist, idx, threshold)):
        s.update(
            min_neighbor_distance=info["min_neighbor_distance"],
            repeat_count=info["repeat_count"],
            min_similar_conversation_id=ok[info["min_similar_index"]]["id"],
        )
    return emb, sum(s["min_similar_conversation_id"] != s["id"] for s in ok)


# --------------------------------------------------------------------------- responses
def unique_first(ok: Sequence[dict]) -> list[dict]:
    """The clean queries, unique ones (not near-duplicates) first, so the response budget is not spent on copies."""
    return sorted(ok, key=lambda s: s["min_similar_conversation_id"] != s["id"])


def response_stats(responses: Sequence[dict], n_turns: int = 1) -> tuple[float, list[str]]:
    """(response tokens per second, the lines the notebook prints about the responses)."""
    tokens = sum(r["tokens"] for r in responses)
    seconds = sum(r["seconds"] for r in responses)
    tok_s = tokens / seconds if seconds else float("nan")
    truncated = sum(r["response_finish"] == "length" for r in responses)
    lines = [
        f"{len(responses)} conversations, {tokens} response tokens in {seconds:.0f} s = {tok_s:.1f} tokens/s; "
        f"{truncated} responses hit res_max_tokens"
    ]
    if n_turns > 1:
        lines.append(
            f"turns per conversation: {dict(collections.Counter(r['n_turns'] for r in responses))} "
            f"| early stops: {dict(collections.Counter(r['early_stop'] for r in responses if r['early_stop']))}"
        )
    return tok_s, lines


# --------------------------------------------------------------------------- tags, reward, guard
def writer_gpu_needed_elsewhere(
    on_gpu: bool, engine_name: str, model: str, tagger_model: str, guard_model: str, reward_model: str
) -> bool:
    """True when the writer's vLLM engine must free its GPU memory for the tagger, guard or reward models."""
    return bool(on_gpu and engine_name == "vllm" and (tagger_model not in ("", model) or guard_model or reward_model))


def make_tag_process(
    tag_mode: str,
    tagger_model: str,
    tag_tasks: Sequence[str],
    *,
    base_url: str = "",
    timeout: float = 120.0,
    backend: str = "auto",
    cache_dir: Any = None,
    max_tokens: int = 64,
    label_first: bool = True,
    executor: Any = None,
):
    """The tagging function for ``run_stage``: log-prob tags from a local tagger (``tag_mode`` logprob), or the
    tagger's generated JSON answers through a Judge (local or at ``base_url``), parsed robustly."""
    from ..core.hf import load_tokenizer
    from ..core.judge import Judge
    from ..core.logprobs import LogProbScorer
    from ..core.models import resolve_model
    from .tagging import logprob_tag_process, tag_process

    if tag_mode == "logprob":
        return logprob_tag_process(LogProbScorer(tagger_model, batch_size=8), tag_tasks)
    judge = Judge(
        tagger_model,
        base_url=base_url,
        timeout=timeout,
        backend=backend,
        cache_dir=cache_dir,
        temperature=0.0,
        max_tokens=max_tokens,
        executor=executor,
    )
    tokenizer = None if base_url else load_tokenizer(resolve_model(tagger_model))
    return tag_process(judge, tag_tasks, tokenizer, label_first)


def tag_records(
    chosen: Sequence[dict], stages: Any, tag_proc, tag_reference: str = "", tag_tasks: Sequence[str] = ()
) -> tuple[dict[str, dict], list[dict]]:
    """Tag the chosen queries (cached stage ``tags``) and, with a ``tag_reference`` file, the queries labelled by us
    (stage ``tag_reference``). Returns ({id: tags}, agreement rows per tag task; [] without a reference)."""
    from ..core.data import load_records
    from ..core.store import run_stage
    from .tagging import tag_agreement

    tagged = run_stage(stages.store("tags", fields="labels+scores"), list(chosen), tag_proc, batch_size=48, desc="tags")
    agreement: list[dict] = []
    if tag_reference:  # how far can these tags be trusted? the same tagger on queries labelled by us
        ref = load_records(tag_reference, required=["id", "instruction"])
        ref_tags = run_stage(
            stages.store("tag_reference"),
            [{"id": r["id"], "instruction": r["instruction"]} for r in ref],
            tag_proc,
            batch_size=48,
            desc="tag reference",
        )
        agreement = tag_agreement({t["id"]: t for t in ref_tags}, ref, tag_tasks)
    return {t["id"]: t for t in tagged}, agreement


def tag_failure_counts(tags: dict[str, dict], tag_tasks: Sequence[str]) -> tuple[dict, dict, list[str]]:
    """(parse failures per tag task, endpoint errors per tag task, notes for the data card); {} when nothing was
    tagged. Endpoint failures are not stored and are retried by the next run."""
    fails = collections.Counter(f for t in tags.values() for f in t["tag_failures"])
    failures = {task: fails.get(task, 0) for task in tag_tasks} if tags else {}
    errs = collections.Counter(f for t in tags.values() for f in t.get("tag_errors", []))
    errors = {task: errs.get(task, 0) for task in tag_tasks} if tags else {}
    notes = []
    if tags and any(failures.values()):
        notes.append(f"tagger parse failures (tag = None): {failures} of {len(tags)} records")
    if tags and any(errors.values()):
        notes.append(f"tagger endpoint errors (not stored, retried next run): {errors} of {len(tags)} records")
    return failures, errors, notes


def _responses_key(responses: Sequence[dict]) -> str:
    from ..core.store import stable_id

    return stable_id([(r["id"], r["response"]) for r in responses])


def reward_scores(
    stages: Any, reward_model: str, reward_ref_model: str, chosen: Sequence[dict], responses: Sequence[dict]
) -> tuple[dict[str, float], str | None]:
    """({conversation id: reward}, the reward's name) from a configured reward model (cached stage ``reward``);
    ({}, None) without one. A reward model that cannot load stops the run (RewardLoadError): no silent skip."""
    if not (reward_model and responses):
        return {}, None
    from ..core.reward import RewardScorer

    scorer = RewardScorer(reward_model, reward_ref_model)
    scores = stages.json(
        "reward",
        responses=_responses_key(responses),
        compute=lambda: dict(
            zip(
                [r["id"] for r in responses],
                scorer.score([(c["instruction"], r["response"]) for c, r in zip(chosen, responses)]),
            )
        ),
    )
    return scores, scorer.name


def guard_verdicts(
    stages: Any, guard_model: str, backend: str, chosen: Sequence[dict], responses: Sequence[dict]
) -> tuple[dict[str, str | None], list[str]]:
    """({conversation id: safe / unsafe / None}, notes) from a configured guard model (cached stage ``guard``)."""
    if not (guard_model and responses):
        return {}, []
    from ..core.generation import Generator, Sampling
    from .tagging import parse_guard

    guard = Generator(guard_model, backend=backend)
    outs = stages.json(
        "guard",
        responses=_responses_key(responses),
        compute=lambda: dict(
            zip(
                [r["id"] for r in responses],
                [
                    o[0].text
                    for o in guard.generate(
                        [
                            [
                                {"role": "user", "content": c["instruction"]},
                                {"role": "assistant", "content": r["response"]},
                            ]
                            for c, r in zip(chosen, responses)
                        ],
                        Sampling(max_tokens=12),
                        desc="guard",
                    )
                ],
            )
        ),
    )
    safety = {r["id"]: parse_guard(outs[r["id"]]) for r in responses}  # joined by id
    unparsed = sum(v is None for v in safety.values())
    return safety, ([f"guard replies without a safe/unsafe verdict: {unparsed} of {len(safety)}"] if unparsed else [])


# --------------------------------------------------------------------------- records and export
TAG_FIELDS = [
    "task_category",
    "other_task_category",
    "input_quality",
    "quality_explanation",
    "difficulty",
    "intent",
    "knowledge",
]
# log-prob tags only: the tagger's expected level (0 = lowest), None for generated tags
SCORE_FIELDS = {"input_quality_score": "score_quality", "difficulty_score": "score_difficulty"}


def build_records(
    chosen: Sequence[dict],
    responses: Sequence[dict],
    tags: dict[str, dict],
    safety: dict,
    rewards: dict,
    reward_name: str | None,
    response_configs: dict,
) -> list[dict]:
    """One record per conversation in the reference (Magpie) schema."""
    from .tagging import detect_language

    created = time.strftime("%Y-%m-%dT%H:%M:%S")
    records = []
    for c, r in zip(chosen, responses):
        t = tags.get(c["id"], {})
        records.append(
            {
                "conversation_id": c["id"],
                "instruction": c["instruction"],
                "response": r["response"],
                "turns": r["turns"],
                "pre_query_template": c["pre_query_template"],
                "created": created,
                "gen_input_configs": c["gen_input_configs"],
                "gen_response_configs": response_configs,
                "response_tokens": r["response_tokens"],
                "response_finish": r["response_finish"],
                **{k: t.get(k) for k in TAG_FIELDS},
                **{k: t.get(v) for k, v in SCORE_FIELDS.items()},
                "llama_guard_2": safety.get(c["id"]),
                "instruct_reward": rewards.get(c["id"]),
                "reward_model": reward_name,
                "language": detect_language(c["instruction"]),
                "min_neighbor_distance": c["min_neighbor_distance"],
                "repeat_count": c["repeat_count"],
                "min_similar_conversation_id": c["min_similar_conversation_id"],
            }
        )
    return records


def export_sets(run: Any, records: Sequence[dict], kept: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """Write every answered record and the kept ones as ShareGPT JSONL (``magpie_all``, ``magpie_filtered``) and as
    `datasets` folders (the filtered one only when not empty); returns (all rows, kept rows)."""
    from datasets import Dataset

    from ..core.store import atomic_write_text
    from .export import to_sharegpt

    rows_all = [to_sharegpt(r) for r in records]
    rows = [to_sharegpt(r) for r in kept]
    for name, rr in [("magpie_all", rows_all), ("magpie_filtered", rows)]:
        atomic_write_text(run.path(f"{name}.jsonl"), "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rr))
    ds_dir = run.path("magpie_filtered_dataset")
    Dataset.from_list(rows_all).save_to_disk(str(run.path("magpie_all_dataset")))
    if rows:
        Dataset.from_list(rows).save_to_disk(str(ds_dir))
    return rows_all, rows


def stage_counts(
    samples: Sequence[dict],
    status: dict,
    n_ok: int,
    n_dup: int,
    records: Sequence[dict],
    tags: dict[str, dict],
    n_kept: int,
    filter_preset: str,
) -> list[dict]:
    """How many items each step left (the data card's table)."""
    return [
        {"stage": "query samples", "count": len(samples)},
        *[{"stage": f"  {k}", "count": v} for k, v in sorted(status.items())],
        {"stage": "clean queries", "count": n_ok},
        {"stage": "unique queries (not near-duplicates)", "count": n_ok - n_dup},
        {"stage": "with responses", "count": len(records)},
        {"stage": "tagged (all tags parsed)", "count": sum(1 for t in tags.values() if not t["tag_failures"])},
        {"stage": f"kept by filters ({filter_preset})", "count": n_kept},
    ]


def category_mix(kept: Sequence[dict]) -> dict[str, int]:
    """Task categories of the kept records, most common first (None as "None")."""
    return dict(collections.Counter(str(r["task_category"]) for r in kept).most_common())


def embedding_labels(ok: Sequence[dict], records: Sequence[dict]) -> list[str]:
    """Per clean query, its record's task category ("unparsed" when the tagger gave none, "no response" without
    a record)."""
    cat = {r["conversation_id"]: r["task_category"] for r in records}
    labels = [cat.get(s["id"], "no response") if s["id"] in cat else "no response" for s in ok]
    return [("unparsed" if label is None else label) for label in labels]


# --------------------------------------------------------------------------- SFT
def sft_status(sft: bool, sft_rows: Sequence[dict], sft_data: str) -> str | None:
    """Why the SFT step does not train (None when it does)."""
    if not sft:
        return "SFT disabled (sft = False)"
    if not sft_rows:
        return f"SFT skipped: no records in the {sft_data!r} set, nothing to train on"
    return None


def sft_rows_for(sft_data: str, rows_all: Sequence[dict], kept: Sequence[dict]) -> list[dict]:
    """The exported rows SFT trains on: ``filtered``, the rows whose ``conversation_id`` is a kept record's (joined
    by id, in export order); ``all``, every answered record's row."""
    if sft_data == "all":
        return list(rows_all)
    if sft_data != "filtered":
        raise ValueError(f"sft_data must be filtered or all, got {sft_data!r}")
    ids = {r["conversation_id"] for r in kept}
    return [x for x in rows_all if x["conversation_id"] in ids]


def sft_metrics(
    sft_rows: Sequence[dict], history: Sequence[dict], sft_data: str, skip: str | None, checkpoint: Any
) -> dict[str, Any]:
    """The SFT run in metrics: checkpoint, data, first and last loss, how many rows it trained on and their key
    (``sft_rows_key``, so a reader can check them against the exported filtered set), or why it was skipped."""
    losses = [h["loss"] for h in history if "loss" in h]
    return {
        "sft_checkpoint": str(checkpoint) if losses else None,
        "sft_data": sft_data,
        "sft_loss_first": losses[0] if losses else None,
        "sft_loss_last": losses[-1] if losses else None,
        "sft_n_examples": len(sft_rows) if losses else 0,
        "sft_rows_key": sft_rows_key(sft_rows) if losses else None,
        "sft_skipped": skip,
    }


def sft_card_line(m: dict[str, Any], steps: int) -> str:
    """The data card's line on the SFT run, from its metrics."""
    if m.get("sft_loss_first") is None:
        return m.get("sft_skipped") or "no training loss was logged"
    return (
        f"{m['sft_n_examples']} {m['sft_data']} conversations, {steps} steps, loss {m['sft_loss_first']:.3f} -> "
        f"{m['sft_loss_last']:.3f}"
    )


def sft_rows_key(sft_rows: Sequence[dict]) -> str:
    """The SFT checkpoint's key: what it trains on (each row's id and messages), never when the rows were written
    (``created``), so a rerun in another minute reuses the finished checkpoint."""
    from ..core.store import stable_id
    from .export import to_messages

    return stable_id([(x["conversation_id"], to_messages(x)) for x in sft_rows])


def run_sft(
    sft_rows: Sequence[dict], sft_model: str, sft_dir: Path, options: Any, **train: Any
) -> tuple[list[dict], str]:
    """Train (or reuse a finished checkpoint trained on the same inputs, inside ``train_sft``); returns (the log
    history, a line naming the run). ``train``: max_steps, learning_rate, batch_size, max_length, seed."""
    from .export import to_messages, train_sft

    t0 = time.perf_counter()
    history = train_sft([to_messages(x) for x in sft_rows], sft_model, sft_dir, options=options, **train)
    info = json.loads((Path(sft_dir) / "sft_log.json").read_text())
    return history, (
        f"{train.get('max_steps')} steps, {time.perf_counter() - t0:.0f} s here, resumed from "
        f"{info.get('resumed_from')} -> {sft_dir}"
    )
