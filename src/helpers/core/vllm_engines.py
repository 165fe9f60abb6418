"""The in-process vLLM engines a process shares (its generators, scorers and judges), counted per user and stopped
with the last one (``vllm_engine``, ``release_engine``, ``find_engine``, ``shutdown_engines``, ``release_all``,
``memory_state``); ``VLLMBackend`` (one engine) and ``EndpointBackend`` (a suite's shared vLLM server), the two vLLM
backends of ``helpers.core.generation``; ``token_logprob`` reads one position of vLLM's prompt log-probs."""

from __future__ import annotations

import os

from . import engines, hf
from .sampling import Completion, Sampling, cut_at_stop

# --------------------------------------------------------------------------- vLLM backend
_ENGINES: dict[tuple, VLLMBackend] = {}  # shared by the generators, scorers and judges of a process


def vllm_engine(key: tuple) -> VLLMBackend:
    """The engine for ``key`` = (path, dtype, tp, max_model_len, gpu_memory_utilization), one more user counted."""
    if key not in _ENGINES:
        _ENGINES[key] = VLLMBackend(*key)
    _ENGINES[key].users += 1
    return _ENGINES[key]


def find_engine(path: str) -> tuple | None:
    """The key of a running engine of the model at ``path`` (any settings), or None."""
    return next((k for k in _ENGINES if k[0] == path), None)


def release_engine(key: tuple) -> None:
    backend = _ENGINES.get(key)
    if backend is None:
        return
    backend.users -= 1
    if backend.users <= 0:
        _ENGINES.pop(key).shutdown()


def shutdown_engines() -> None:
    """Free every vLLM engine of this process (they are otherwise kept for reuse)."""
    for backend in list(_ENGINES.values()):
        backend.shutdown()
    _ENGINES.clear()
    engines.free_memory()


def release_all() -> dict:
    """Stop every in-process vLLM engine and evict every cached transformers model; returns ``memory_state()``."""
    shutdown_engines()
    hf.evict_models()
    engines.free_memory()
    return memory_state()


def memory_state() -> dict:
    """What this process holds: vLLM engines, cached transformers models, child processes, RSS (MiB)."""
    import psutil

    proc = psutil.Process()
    children = [p for p in proc.children(recursive=True) if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    state = {
        "vllm_engines": len(_ENGINES),
        "hf_models": len(hf.cached_models()),
        "child_processes": len(children),
        "rss_mib": round(proc.memory_info().rss / 2**20, 1),
    }
    if engines.on_gpu():
        import torch

        state["cuda_allocated_mib"] = round(torch.cuda.memory_allocated() / 2**20, 1)
    return state


class VLLMBackend:
    def __init__(self, path: str, dtype: str, tp: int, max_model_len: int, gpu_memory_utilization: float = 0.0):
        on_gpu = engines.on_gpu()
        if not on_gpu:
            # CPU build: KV cache size comes from this variable (GiB); keep it modest so several
            # engines (tests, notebooks) fit in the machine's memory.
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
        from vllm import LLM

        if dtype == "auto":
            dtype = "bfloat16" if on_gpu else "float32"  # float32 is ~4.6x faster on CPUs without bf16
        self.users = 0
        kwargs = dict(
            model=path,
            dtype=dtype,
            tensor_parallel_size=tp,
            max_model_len=max_model_len,
            enable_prefix_caching=True,
            seed=0,
            **engines.vllm_kwargs(on_gpu, gpu_memory_utilization),
        )
        if not on_gpu or os.environ.get("HELPERS_VLLM_ENFORCE_EAGER") == "1":
            kwargs.update(enforce_eager=True)  # compiling costs ~6 min on 2 cores (on a GPU: faster start-up)
        self.llm = LLM(**kwargs)

    def shutdown(self) -> None:
        """Stop the engine's worker processes now, not at interpreter exit."""
        llm, self.llm = getattr(self, "llm", None), None
        core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        del llm
        engines.free_memory()

    def generate_ids(self, ids: list[list[int]], sampling: Sampling, seeds: list[int], desc: str):
        from vllm import SamplingParams

        # vLLM gives the k-th of n samples the seed `seed + k`: space request seeds n apart so that
        # prompts with consecutive seeds (and calls with consecutive seeds) never share samples.
        params = [
            SamplingParams(
                n=sampling.n,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                top_k=max(sampling.top_k, 0),
                max_tokens=sampling.max_tokens,
                stop=list(sampling.stop) or None,
                seed=s * sampling.n,
                skip_special_tokens=False,
            )  # like the hf backend: special-token stops match
            for s in seeds
        ]
        outs = self.llm.generate([{"prompt_token_ids": p} for p in ids], params, use_tqdm=True)
        eos = self.llm.get_tokenizer().eos_token or ""
        results = []
        for r in outs:
            group = []
            for o in sorted(r.outputs, key=lambda o: o.index):
                text = o.text[: -len(eos)] if eos and o.text.endswith(eos) else o.text
                text, _ = cut_at_stop(text, sampling.stop)
                group.append(
                    Completion(
                        text=text,
                        n_tokens=len(o.token_ids),
                        finish_reason="length" if o.finish_reason == "length" else "stop",
                    )
                )
            results.append(group)
        return results


# --------------------------------------------------------------------------- a shared server (suite runs)
class EndpointBackend:
    """Generation through a vLLM OpenAI-compatible server on loopback (``engines.server_for``).

    Sends token ids (the same ids the in-process engine gets), one request per prompt with the same
    per-prompt seeds and ``n``; the server batches concurrent requests like ``LLM.generate`` does.
    """

    def __init__(self, base_url: str, path: str, tokenizer, concurrency: int = 32, timeout: float = 600.0):
        from openai import OpenAI

        self.base_url, self.path, self.tokenizer = base_url, path, tokenizer
        self.client = OpenAI(base_url=base_url, api_key="EMPTY", timeout=timeout, max_retries=1)
        self.served = self.client.models.list().data[0].id
        self.concurrency = concurrency
        self.llm = None  # no engine in this process

    def generate_ids(self, ids: list[list[int]], sampling: Sampling, seeds: list[int], desc: str):
        from concurrent.futures import ThreadPoolExecutor

        eos = self.tokenizer.eos_token or ""

        def one(args):
            p, s = args
            resp = self.client.completions.create(
                model=self.served,
                prompt=p,
                n=sampling.n,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                max_tokens=sampling.max_tokens,
                stop=list(sampling.stop) or None,
                seed=s * sampling.n,
                extra_body={
                    "top_k": max(sampling.top_k, 0) or -1,
                    "skip_special_tokens": False,
                    "return_token_ids": True,
                    "add_special_tokens": False,
                },
            )
            group = []
            for c in sorted(resp.choices, key=lambda c: c.index):
                text = c.text[: -len(eos)] if eos and c.text.endswith(eos) else c.text
                text, _ = cut_at_stop(text, sampling.stop)
                n_tok = len(getattr(c, "token_ids", None) or (c.model_extra or {}).get("token_ids") or [])
                group.append(
                    Completion(
                        text=text, n_tokens=n_tok, finish_reason="length" if c.finish_reason == "length" else "stop"
                    )
                )
            return group

        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(one, zip(ids, seeds)))

    def prompt_logprobs(self, seqs: list[list[int]]) -> list[list[float | None]]:
        """Log-prob of every token of each sequence given the tokens before it (None for the first)."""
        from concurrent.futures import ThreadPoolExecutor

        def one(seq):
            resp = self.client.completions.create(
                model=self.served,
                prompt=seq,
                max_tokens=1,
                temperature=0.0,
                extra_body={"prompt_logprobs": 0, "add_special_tokens": False},
            )
            raw = (resp.choices[0].model_extra or {}).get("prompt_logprobs") or (resp.model_extra or {}).get(
                "prompt_logprobs"
            )
            return [None if d is None else token_logprob(d, tok) for d, tok in zip(raw, seq)]

        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(one, seqs))


def token_logprob(entry: dict, token: int) -> float:
    """The log-prob of ``token`` from one position of vLLM's prompt log-probs (objects or JSON dicts)."""
    v = entry.get(token, entry.get(str(token)))
    if v is None:
        raise RuntimeError(f"vLLM returned no prompt log-prob for token {token}")
    return float(v["logprob"] if isinstance(v, dict) else v.logprob)
