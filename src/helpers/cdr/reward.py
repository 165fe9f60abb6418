"""The density-ratio reward r(x, y) = log p_strong(y|x) - log p_weak(y|x), scored once per model and
subtracted per pair; a trained reward model as a baseline."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..core.hf import Prompt
from ..core.logprobs import LogProbScorer, ResponseLogProb
from ..core.store import JsonlStore, stable_id

VARIANTS = ("sum", "mean")


# ----------------------------------------------------------------------------------- the reward
def ratio(strong: ResponseLogProb, weak: ResponseLogProb, variant: str = "sum") -> float:
    """sum: sum log p_strong - sum log p_weak; mean: each model's per-token mean (own token count) differenced."""
    if variant == "sum":
        return strong.sum - weak.sum
    if variant == "mean":
        return strong.mean - weak.mean
    raise ValueError(f"unknown density-ratio variant {variant!r}: use one of {VARIANTS}")


@dataclass(frozen=True)
class RatioScore:
    reward: float
    strong: ResponseLogProb
    weak: ResponseLogProb


class DensityRatioReward:
    """log p_strong(y|x) - log p_weak(y|x); each model with its own template, tokenizer and truncation."""

    def __init__(
        self,
        strong: str,
        weak: str,
        variant: str = "sum",
        max_prompt_tokens: int = 2048,
        max_response_tokens: int = 1024,
        batch_size: int = 8,
        dtype: str = "auto",
        device: str | None = None,
    ):
        if variant not in VARIANTS:
            raise ValueError(f"unknown density-ratio variant {variant!r}: use one of {VARIANTS}")
        kw = dict(
            dtype=dtype,
            batch_size=batch_size,
            device=device,
            max_prompt_tokens=max_prompt_tokens,
            max_response_tokens=max_response_tokens,
        )
        self.variant = variant
        self.strong = LogProbScorer(strong, **kw)
        self.weak = LogProbScorer(weak, **kw)

    def __repr__(self) -> str:
        return f"DensityRatioReward({self.strong.model_name!r} / {self.weak.model_name!r}, {self.variant})"

    def score(self, pairs: Sequence[tuple[Prompt, str]]) -> list[RatioScore]:
        pairs = list(pairs)
        s = self.strong.score(pairs, desc=f"strong {self.strong.model_name}")
        w = self.weak.score(pairs, desc=f"weak {self.weak.model_name}")
        return [RatioScore(ratio(a, b, self.variant), a, b) for a, b in zip(s, w)]


def score_with_token_budget(
    scorer: LogProbScorer, pairs: Sequence[tuple[Prompt, str]], max_batch_tokens: int = 0, desc: str | None = None
) -> list[ResponseLogProb]:
    """``scorer.score`` with batches sized by a token budget (rows x longest row <= max_batch_tokens).

    Short pairs then go many to a batch and long ones few, which keeps a GPU's memory full without
    OOM back-offs; ``max_batch_tokens=0`` keeps the scorer's fixed batch size.
    """
    pairs = list(pairs)
    if max_batch_tokens <= 0 or not pairs:
        return scorer.score(pairs, desc=desc)
    lengths = [sum(map(len, scorer.encode_pair(p, r))) for p, r in pairs]
    order = sorted(range(len(pairs)), key=lambda i: -lengths[i])
    out: list[ResponseLogProb | None] = [None] * len(pairs)
    fixed = scorer.batch_size
    start = 0
    try:
        while start < len(order):
            rows = max(1, max_batch_tokens // max(1, lengths[order[start]]))
            chunk = order[start : start + rows]
            scorer.batch_size = len(chunk)
            for i, res in zip(chunk, scorer.score([pairs[i] for i in chunk], desc=desc)):
                out[i] = res
            start += len(chunk)
    finally:
        scorer.batch_size = fixed
    return out  # type: ignore[return-value]


PLAIN_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}


def plain_chat_prompt(prompt: Prompt) -> str:
    """A chat prompt as plain text for a base model without a chat template ("User: ...", then "Assistant:"); a raw
    string unchanged. CDR's SFT-over-base and instruct-over-base pairs score the same messages with a base model."""
    if isinstance(prompt, str):
        return prompt
    return (
        "".join(f"{PLAIN_ROLES.get(m['role'], m['role'].title())}: {m['content']}\n\n" for m in prompt) + "Assistant:"
    )


def model_prompts(scorer: LogProbScorer, prompts: Sequence[Prompt]) -> list[Prompt]:
    """The prompts as ``scorer``'s model takes them: chat messages through its own template, or as plain text
    (``plain_chat_prompt``) when its tokenizer has none (a base model)."""
    from ..core import hf

    tok = getattr(scorer, "tokenizer", None)  # a scorer without one (a test's stand-in) takes the prompts as they are
    return list(prompts) if tok is None or hf.has_chat_template(tok) else [plain_chat_prompt(p) for p in prompts]


def _logprob_process(scorer: LogProbScorer, max_batch_tokens: int = 0):
    def process(batch: list[dict]) -> list[dict]:
        prompts = model_prompts(scorer, [b["prompt"] for b in batch])
        res = score_with_token_budget(scorer, list(zip(prompts, [b["response"] for b in batch])), max_batch_tokens)
        return [
            {"id": b["id"], "item": b["item"], "sum": r.sum, "mean": r.mean, "n_tokens": r.n_tokens}
            for b, r in zip(batch, res)
        ]

    return process


def logprob_worker(
    model: str,
    batch_size: int = 8,
    max_prompt_tokens: int = 2048,
    max_response_tokens: int = 1024,
    max_batch_tokens: int = 0,
    backend: str = "auto",
    tensor_parallel_size: int = 0,
):
    """The log-prob stage's batch function with its scorer built here (``logprob_spec`` names this factory);
    a tensor-parallel replica (``tensor_parallel_size`` > 1) scores through vLLM."""
    if tensor_parallel_size > 1 and backend == "auto":
        backend = "vllm"
    scorer = LogProbScorer(
        model,
        batch_size=batch_size,
        max_prompt_tokens=max_prompt_tokens,
        max_response_tokens=max_response_tokens,
        backend=backend,
        tensor_parallel_size=tensor_parallel_size,
    )
    return _logprob_process(scorer, max_batch_tokens)


def logprob_spec(
    model: str,
    batch_size: int = 8,
    max_prompt_tokens: int = 2048,
    max_response_tokens: int = 1024,
    max_batch_tokens: int = 0,
    backend: str = "auto",
):
    """One model's log-prob scoring as a WorkerSpec (plain data: a replica loads the model itself)."""
    from ..core.executor import WorkerSpec

    return WorkerSpec(
        logprob_worker,
        {
            "model": model,
            "batch_size": batch_size,
            "max_prompt_tokens": max_prompt_tokens,
            "max_response_tokens": max_response_tokens,
            "max_batch_tokens": max_batch_tokens,
            "backend": backend,
        },
    )


@functools.lru_cache(maxsize=1024)
def end_of_turn(model: str) -> str | None:
    """The end-of-turn token a LogProbScorer of ``model`` appends (part of the log-prob store's key), from the
    tokenizer alone: no weights are loaded in the driver when replicas score. Remembered per model, so reopening a
    sweep's stores (more pairs, the same models) loads no tokenizer again."""
    from ..core import hf
    from ..core.models import resolve_model

    return hf.end_of_turn_token(hf.load_tokenizer(resolve_model(model)))


def score_responses(
    store: JsonlStore,
    scorer,
    items: Sequence[dict],
    batch_size: int = 64,
    max_batch_tokens: int = 0,
    desc: str | None = None,
    executor=None,
) -> dict[str, ResponseLogProb]:
    """Log-probs of ``items`` ({"id", "prompt", "response"}) under one model, as a resumable stage.

    ``scorer``: a LogProbScorer (scored in this process), or a ``logprob_spec`` run through ``executor``
    (``helpers.core.executor``: local, or Ray replicas that each load the model once; the spec carries its
    own ``max_batch_tokens``).
    Records are keyed by ``stable_id(model, id, prompt, response)`` in ``store``, so a killed sweep
    resumes and a model shared by many pairs is scored once. Returns item id -> ResponseLogProb.
    """
    from ..core.executor import WorkerSpec, run_stage_on

    is_spec = isinstance(scorer, WorkerSpec)
    name = scorer.kwargs["model"] if is_spec else scorer.model_name
    keyed = [
        {
            "id": stable_id(name, it["id"], it["prompt"], it["response"]),
            "item": it["id"],
            "prompt": it["prompt"],
            "response": it["response"],
        }
        for it in items
    ]
    work = scorer if is_spec else _logprob_process(scorer, max_batch_tokens)
    recs = run_stage_on(executor, store, keyed, work, batch_size=batch_size, desc=desc or f"score {name}")
    return {k["item"]: ResponseLogProb(r["sum"], r["mean"], r["n_tokens"]) for k, r in zip(keyed, recs)}


def ratio_rewards(
    strong: dict[str, ResponseLogProb], weak: dict[str, ResponseLogProb], ids: Sequence[str], variant: str = "sum"
) -> list[float]:
    """Density-ratio rewards for item ids from two models' cached log-probs."""
    return [ratio(strong[i], weak[i], variant) for i in ids]


def response_items(examples: Sequence[dict], prompt_of: Callable[[dict], Prompt]) -> list[dict]:
    """Two scoring items per preference example: ``<id>/chosen`` and ``<id>/rejected``."""
    return [
        {"id": f"{ex['id']}/{side}", "prompt": prompt_of(ex), "response": ex[side]}
        for ex in examples
        for side in ("chosen", "rejected")
    ]


# ----------------------------------------------------------------------------------- baselines
def reward_model_scores(
    model: str,
    pairs: Sequence[tuple[Prompt, str]],
    batch_size: int = 8,
    max_length: int = 2048,
    device: str | None = None,
) -> list[float]:
    """Scalar scores from a trained reward model (``core.reward.RewardScorer``: the first logit of a
    sequence classifier on the conversation in the reward model's own chat template)."""
    from ..core.reward import RewardScorer

    return RewardScorer(model, batch_size=batch_size, max_length=max_length, device=device).score(pairs)
