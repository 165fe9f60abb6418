"""Log-probability of a response given a prompt, under a model's own chat template and tokenizer.

    scorer = LogProbScorer("smollm2-135m-instruct")
    [s.sum, s.mean, s.n_tokens] = scorer.score([(messages, "response text")])[0]

Density-ratio rewards (CDR), DPO implicit rewards, Culture-Gen association scores and InfoSumm's
PMI critics all go through ``score``. The prompt is rendered with the generation prompt; the
response is tokenised on its own and appended, so the scored tokens are exactly the response's
(plus the end-of-turn token when ``add_end_of_turn``). Prompts are left-truncated and responses
right-truncated to the limits given.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

from . import engines, hf
from .hf import Prompt
from .models import resolve_model


@dataclass(frozen=True)
class ResponseLogProb:
    sum: float  # sum of the response tokens' log-probs
    mean: float  # sum / n_tokens
    n_tokens: int


LOGPROB_BACKENDS = ("auto", "hf", "vllm")


def auto_backend(served: bool, engine_running: bool, device: str) -> str:
    """The log-prob backend ``auto`` picks: on a GPU, vLLM when a suite run serves the model or this process
    already runs an engine for it (no second copy of the weights); on a CPU, always transformers. There vLLM
    computes prompt log-probs for every (prompt, choice) sequence from scratch (requests that ask for prompt
    log-probs skip its prefix cache), while ``choice_logprobs`` on transformers encodes each prompt once:
    8 Magpie tag prompts x 12 category labels took 28.4 s through the CPU engine and 5.9 s through
    transformers, the same numbers within 5e-5 (2 cores, 2026-12-04). ``backend="vllm"`` still forces vLLM."""
    if device == "cpu":
        return "hf"
    return "vllm" if served or engine_running else "hf"


class LogProbScorer(engines.Releasable):
    """Batched response log-probs through transformers (``hf``) or vLLM's prompt log-probs (``vllm``).

    ``backend="auto"``: on a GPU, vLLM when a suite run serves the model (``engines.server_for``) or this
    process already runs a vLLM engine for it (a Generator's: no second copy of the weights), else
    transformers; on a CPU, transformers (``auto_backend`` says why).
    ``backend="vllm"`` starts (or shares) an in-process engine. Both give the same numbers within 1e-3
    per token (tests/test_logprobs_vllm.py). ``release()`` (or a ``with`` block) gives the memory back.
    """

    def __init__(
        self,
        model: str,
        dtype: str = "auto",
        batch_size: int = 8,
        device: str | None = None,
        max_prompt_tokens: int = 2048,
        max_response_tokens: int = 1024,
        add_end_of_turn: bool = True,
        backend: str = "auto",
        tensor_parallel_size: int = 0,
        max_model_len: int = 0,
        gpu_memory_utilization: float = 0.0,
    ):
        from . import engines, generation, vllm_engines

        if backend not in LOGPROB_BACKENDS:
            raise ValueError(f"unknown log-prob backend {backend!r}: use one of {', '.join(LOGPROB_BACKENDS)}")
        self.model_name = model
        self.path = resolve_model(model)
        self.device = device or hf.device_name()
        self.tokenizer = hf.load_tokenizer(self.path)
        self.batch_size = max(1, int(batch_size))
        self.max_prompt_tokens = max_prompt_tokens
        self.max_response_tokens = max_response_tokens
        self.end_of_turn = hf.end_of_turn_token(self.tokenizer) if add_end_of_turn else None
        self.truncated = 0  # vLLM path: sequences whose prompt was cut further to fit the engine's max_model_len
        self.model = None
        self._engine = self._engine_key = None
        server = engines.server_for(self.path)
        running = vllm_engines.find_engine(self.path)
        if backend == "auto":  # vLLM on a GPU only: see auto_backend
            backend = auto_backend(bool(server), bool(running), self.device)
        self.backend_name = backend
        if backend == "vllm":
            if server:
                self._engine = vllm_engines.EndpointBackend(server, self.path, self.tokenizer)
                self.max_model_len = engines.pick(max_model_len, "max_model_len", 2048)
            else:
                generation.pick_backend("vllm")  # a clear error when vLLM is not installed
                if running and not (tensor_parallel_size or max_model_len or gpu_memory_utilization):
                    self._engine_key = running
                else:
                    self._engine_key = (
                        self.path,
                        dtype,
                        engines.pick(tensor_parallel_size, "tensor_parallel_size", 1),
                        engines.pick(max_model_len, "max_model_len", 2048),
                        gpu_memory_utilization,
                    )
                self._engine = vllm_engines.vllm_engine(self._engine_key)
                self.max_model_len = self._engine_key[3]
        else:
            self.model = hf.load_causal_lm(self.path, dtype, self.device)
            import inspect

            self._keeps_logits = "logits_to_keep" in inspect.signature(self.model.forward).parameters

    def release(self) -> None:
        """Give the memory back: the vLLM engine stops once no other helper uses it; the transformers model
        leaves the process cache (freed when no other helper holds it). The scorer cannot score afterwards."""
        from . import engines, vllm_engines

        if self._engine_key is not None:
            vllm_engines.release_engine(self._engine_key)
        elif self.model is not None:
            hf.evict_models(self.path)
        self.model = self._engine = self._engine_key = None
        self.backend_name = "released"
        engines.free_memory()

    def __repr__(self) -> str:
        return f"LogProbScorer({self.model_name!r})"

    def encode_pair(self, prompt: Prompt, response: str) -> tuple[list[int], list[int]]:
        """(prompt ids, response ids) after truncation, as scored."""
        p_ids = hf.encode(self.tokenizer, hf.render(self.tokenizer, prompt))
        if isinstance(prompt, str):
            r_text = response  # raw continuation: no turn structure to close
        else:
            r_text = (
                response if not self.end_of_turn or response.endswith(self.end_of_turn) else response + self.end_of_turn
            )
        r_ids = self.tokenizer(r_text, add_special_tokens=False).input_ids
        return p_ids[-self.max_prompt_tokens :], r_ids[: self.max_response_tokens]

    def score(self, pairs: Sequence[tuple[Prompt, str]], desc: str | None = None) -> list[ResponseLogProb]:
        pairs = list(pairs)
        hf.check_chat_prompts([p for p, _ in pairs], self.tokenizer, self.model_name)
        encoded = [self.encode_pair(p, r) for p, r in pairs]
        if self.backend_name == "released":
            raise RuntimeError(f"{self!r} was released: build a new LogProbScorer to score again")
        if self.backend_name == "vllm":
            return self._score_vllm(encoded)
        return self._score_hf(encoded, desc)

    def token_logprobs(self, encoded: Sequence[tuple[list[int], list[int]]]) -> list[list[float]]:
        """Per-token log-probs of each response span of (prompt ids, response ids), through vLLM."""
        seqs, spans = [], []
        limit = self.max_model_len - 1  # vLLM needs room for the one token it generates
        for p, r in encoded:
            if len(p) + len(r) > limit:
                self.truncated += 1
                p = p[len(p) + len(r) - limit :]
            seqs.append(list(p) + list(r))
            spans.append(len(r))
        if not seqs:
            return []
        if hasattr(self._engine, "prompt_logprobs"):
            rows = self._engine.prompt_logprobs(seqs)
        else:
            rows = vllm_prompt_logprobs(self._engine, seqs)
        return [row[len(row) - n :] if n else [] for row, n in zip(rows, spans)]

    def _score_vllm(self, encoded) -> list[ResponseLogProb]:
        out = []
        for lps in self.token_logprobs(encoded):
            total = float(sum(lps))
            out.append(ResponseLogProb(total, total / len(lps), len(lps)) if lps else ResponseLogProb(0.0, 0.0, 0))
        return out

    def _score_hf(self, encoded, desc) -> list[ResponseLogProb]:
        import torch
        from tqdm.auto import tqdm

        order = sorted(range(len(encoded)), key=lambda i: -(len(encoded[i][0]) + len(encoded[i][1])))
        out: list[ResponseLogProb | None] = [None] * len(encoded)
        pad = self.tokenizer.pad_token_id or 0
        bs = self.batch_size
        bar = tqdm(
            total=len(order),
            desc=desc or f"log-probs {self.model_name}",
            unit="pair",
            leave=False,
            disable=len(order) < 2 * bs,
        )

        def run(start: int, stop: int) -> None:
            idx = order[start:stop]
            seqs = [encoded[i][0] + encoded[i][1] for i in idx]
            width = max(len(s) for s in seqs)
            keep = max(len(encoded[i][1]) for i in idx) + 1  # only the response span needs the vocab projection
            ids = torch.full((len(seqs), width), pad, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for r, s in enumerate(seqs):  # left padding: every response ends at the last position
                ids[r, width - len(s) :] = torch.tensor(s)
                mask[r, width - len(s) :] = 1
            kwargs = {"position_ids": (mask.cumsum(-1) - 1).clamp(min=0).to(self.device)}
            if self._keeps_logits:
                kwargs["logits_to_keep"] = keep
            with torch.inference_mode():
                logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device), **kwargs).logits
            offset = width - logits.shape[1]  # position of logits[:, 0] in the padded sequence
            for r, i in enumerate(idx):
                n_r = len(encoded[i][1])
                if n_r == 0:
                    out[i] = ResponseLogProb(0.0, 0.0, 0)
                    continue
                # the response token at position t is predicted by the logits at t - 1
                first = width - n_r - 1 - offset
                step = logits[r, first : first + n_r].float().log_softmax(-1)
                target = ids[r, width - n_r :].to(step.device)
                lp = step.gather(-1, target[:, None]).squeeze(-1)
                total = float(lp.sum())
                out[i] = ResponseLogProb(total, total / n_r, n_r)
            bar.update(len(idx))

        engines.run_in_batches(len(order), bs, run)
        bar.close()
        return out  # type: ignore[return-value]


def vllm_prompt_logprobs(backend, seqs: list[list[int]]) -> list[list[float | None]]:
    """Prompt log-probs of each token sequence through an in-process engine (``vllm_engines.VLLMBackend``; the first
    token has none)."""
    from vllm import SamplingParams

    from .vllm_engines import token_logprob

    params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0)
    outs = backend.llm.generate([{"prompt_token_ids": s} for s in seqs], params, use_tqdm=False)
    return [
        [None if d is None else token_logprob(d, tok) for d, tok in zip(o.prompt_logprobs, seq)]
        for o, seq in zip(outs, seqs)
    ]


def token_logprobs_unbatched(model, tokenizer_ids_prompt: list[int], response_ids: list[int]) -> list[float]:
    """Reference computation, one token at a time with a fresh forward pass each (used by tests)."""
    import torch

    values = []
    ctx = list(tokenizer_ids_prompt)
    for tok in response_ids:
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([ctx], device=model.device)).logits[0, -1].float()
        values.append(float(logits.log_softmax(-1)[tok]))
        ctx.append(tok)
    return values


MIN_SHARED_PREFIX = 16  # tokens; a shorter common start is not worth a cache of its own


def shared_prefix_length(prompts: Sequence[Sequence[int]], minimum: int = MIN_SHARED_PREFIX) -> int:
    """How many leading tokens all ``prompts`` share (0 when fewer than ``minimum`` or only one prompt), leaving
    every prompt at least one token of its own, whose logits predict the continuation."""
    if len(prompts) < 2:
        return 0
    n = min(len(p) for p in prompts) - 1
    first = prompts[0]
    for p in prompts[1:]:
        j = 0
        while j < n and p[j] == first[j]:
            j += 1
        n = j
    return n if n >= minimum else 0


def choice_logprobs(
    scorer: LogProbScorer,
    raws: Sequence[str],
    choices: Sequence[str],
    desc: str | None = None,
    batch_size: int | None = None,
) -> list[list[float]]:
    """Summed log-prob of each of ``choices`` as the continuation of each raw prompt (the prompt encoded once).

    For picking one option by likelihood (a verdict label, a tag): the prompt is tokenised as
    ``LogProbScorer.score`` does for raw strings (left-truncated to ``max_prompt_tokens``), each choice on
    its own with no end-of-turn; the prompt's key/value cache is shared by all choices, so k options cost
    about one prompt forward instead of k; the tokens all prompts start with (a tagging or judging template) are
    encoded once and their cache shared too (``shared_prefix_length``). Prompts go ``batch_size`` at a time
    (left-padded after the shared prefix, longest first; default: the scorer's batch size on a GPU, 1 on a CPU).
    """
    import torch
    from tqdm.auto import tqdm

    tok, model = scorer.tokenizer, scorer.model
    c_ids = [tok(c, add_special_tokens=False).input_ids for c in choices]
    if (
        scorer.backend_name == "vllm"
    ):  # every (prompt, choice) as one sequence (prompt log-prob requests skip the prefix cache)
        prompts = [hf.encode(tok, raw)[-scorer.max_prompt_tokens :] for raw in raws]
        lps = scorer.token_logprobs([(p, c) for p in prompts for c in c_ids])
        sums = [float(sum(x)) for x in lps]
        return [sums[i * len(c_ids) : (i + 1) * len(c_ids)] for i in range(len(prompts))]
    device, pad = model.device, tok.pad_token_id or 0
    k, width = len(c_ids), max(len(c) for c in c_ids)
    cont = torch.full((k, width), pad, dtype=torch.long)
    for r, ids in enumerate(c_ids):  # right padding: pads come after every real token, so none attends to them
        cont[r, : len(ids)] = torch.tensor(ids)
    prompts = [hf.encode(tok, raw)[-scorer.max_prompt_tokens :] for raw in raws]
    keep = {"logits_to_keep": 1} if getattr(scorer, "_keeps_logits", False) else {}
    # the tokens every prompt starts with (a tagging or judging template) are encoded once, their cache shared
    n_shared = shared_prefix_length(prompts)
    prefix_cache = None
    if n_shared:
        with torch.inference_mode():
            prefix_cache = model(input_ids=torch.tensor([prompts[0][:n_shared]], device=device), use_cache=True, **keep)
            prefix_cache = prefix_cache.past_key_values
    suffixes = [p[n_shared:] for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))  # similar lengths share a batch: little padding
    out: list[list[float] | None] = [None] * len(prompts)
    # on a CPU one prompt at a time: batching 8 prompts x 12 choices was slower there (23.5 s vs 14.7 s for 24
    # Magpie tag prompts; the repeated caches cost more than the shared matmuls save), same numbers within 4e-5
    bs = max(1, batch_size or (scorer.batch_size if str(device) != "cpu" else 1))
    for start in tqdm(
        range(0, len(order), bs), desc=desc or "choice log-probs", leave=False, disable=len(order) < 2 * bs
    ):
        idx = order[start : start + bs]
        longest = max(len(suffixes[i]) for i in idx)
        ids = torch.full((len(idx), longest), pad, dtype=torch.long)
        pmask = torch.zeros((len(idx), n_shared + longest), dtype=torch.long)
        pmask[:, :n_shared] = 1
        for r, i in enumerate(idx):  # left padding of the suffixes: every prompt ends at the last position
            ids[r, longest - len(suffixes[i]) :] = torch.tensor(suffixes[i])
            pmask[r, n_shared + longest - len(suffixes[i]) :] = 1
        past = None
        if prefix_cache is not None:
            past = copy.deepcopy(prefix_cache)
            past.batch_repeat_interleave(len(idx))
        with torch.inference_mode():
            first = model(
                input_ids=ids.to(device),
                attention_mask=pmask.to(device),
                position_ids=(pmask.cumsum(-1) - 1).clamp(min=0)[:, n_shared:].to(device),
                past_key_values=past,
                use_cache=True,
                **keep,
            )
            head = first.logits[:, -1].float().log_softmax(-1)  # predicts each choice's first token
            cache = first.past_key_values
            cache.batch_repeat_interleave(k)  # row b * k + c: prompt b, choice c
            lengths = torch.tensor([len(prompts[i]) for i in idx]).repeat_interleave(k)
            pos = lengths[:, None] + torch.arange(width)[None, :]
            mask = torch.cat([pmask.repeat_interleave(k, 0), torch.ones((len(idx) * k, width), dtype=torch.long)], 1)
            rest = (
                model(
                    input_ids=cont.repeat(len(idx), 1).to(device),
                    attention_mask=mask.to(device),
                    position_ids=pos.to(device),
                    past_key_values=cache,
                )
                .logits.float()
                .log_softmax(-1)
            )
        for b, i in enumerate(idx):
            row = []
            for c, cids in enumerate(c_ids):
                total = float(head[b, cids[0]])
                for t in range(1, len(cids)):  # token t is predicted by the choice's logits at t - 1
                    total += float(rest[b * k + c, t - 1, cids[t]])
                row.append(total)
            out[i] = row
    return out  # type: ignore[return-value]
