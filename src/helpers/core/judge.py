"""An LLM judge: a local model through the generation helper, or any OpenAI-compatible endpoint.

    judge = Judge("smollm2-135m-instruct", cache_dir=run.path("judge_cache"))             # local
    judge = Judge("gpt-4o-mini", base_url="https://api.example/v1", api_key_env="OPENAI_API_KEY")
    texts = judge.complete([[{"role": "user", "content": "..."}], ...])
    texts = judge.complete(prompts, prefill='{"score": ')   # local judge only: the reply starts with this text

Every judgement is cached on disk keyed by (judge, messages, decoding settings), so reruns and
added models pay only for new judgements. Temperature 0 by default. ``judge.requests`` counts the
calls that actually reached the model or endpoint (cache hits do not).

**Prefill** (local judges): the prompt is rendered with the chat template and the generation prompt,
the prefill text is appended, and the model continues from there; the returned text is prefill +
continuation, so parsers see a complete reply. It forces a small model into the answer format (e.g. the
opening of a JSON object up to the score field). The prefill is part of the cache key. OpenAI-style chat
completion endpoints cannot continue an assistant message, so an endpoint judge raises JudgeError when
a prefill is given (a caller that wants a fallback passes ``prefill=""`` for endpoint judges).

**On Ray** (``executor``, ``helpers.core.executor``): a local judge's missing judgements go to the
executor's long-lived Ray replicas (``replica_pool``: each builds the same judge once, ``judge_worker``, and
serves every later call) and come back as ``{"id", "text"}`` records appended to the same cache, so a run
started locally finishes on Ray and back; failed calls come back as retries, never cached. An endpoint judge's calls are HTTP requests, already concurrent (``concurrency``): they stay in
this process whatever the executor.

A local model can also be served as an OpenAI-compatible endpoint on loopback (``serving.serve_local``):

    with serve_local("smollm2-135m-instruct", port=8011) as server:
        judge = Judge(server.name, base_url=server.base_url, cache_dir="judge_cache")
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import engines
from .generation import Generator, Sampling
from .hf import Messages
from .store import RETRY, JsonlStore, stable_id


class JudgeError(RuntimeError):
    """The judge could not be reached or configured (message says which and how to fix)."""


def judge_identity(model: str, base_url: str = "") -> str:
    """The name judgements are cached under: the model, plus the endpoint unless it is on loopback.

    A loopback server (``serve_local``, a port picked per run) serves the same model whatever its
    port, so its judgements stay cached across reruns; remote endpoints keep their URL.
    """
    if not base_url:
        return model
    from urllib.parse import urlparse

    host = (urlparse(base_url).hostname or "").lower()
    return f"{model}@local-endpoint" if host in ("127.0.0.1", "localhost", "::1") else f"{model}@{base_url.rstrip('/')}"


class Judge(engines.Releasable):
    def __init__(
        self,
        model: str = "smollm2-135m-instruct",
        base_url: str = "",
        api_key_env: str = "OPENAI_API_KEY",
        backend: str = "auto",
        cache_dir: str | Path | None = None,
        temperature: float = 0.0,
        max_tokens: int = 512,
        concurrency: int = 8,
        batch_size: int = 32,
        on_error: str = "raise",
        max_model_len: int = 0,
        timeout: float = 120.0,
        max_retries: int = 2,
        health_check: bool = True,
        tensor_parallel_size: int = 0,
        gpu_memory_utilization: float = 0.0,
        executor=None,
    ):
        """``on_error``: "raise" (an endpoint failure stops the call with JudgeError) or "empty" (the failed
        prompt gets "" -- counted in ``errors``, not cached, retried by the next call). A local judge's
        prompts longer than ``max_model_len - max_tokens`` tokens are failures of the same kind.

        Endpoints: each request is bounded by ``timeout`` seconds and retried ``max_retries`` times (so a
        hanging endpoint costs at most about ``(max_retries + 1) * timeout`` per prompt); the endpoint must
        answer ``GET /models`` at construction (``health_check``). A reply without a usable message
        (no ``choices``, an empty list, no content) is never cached: it counts in ``malformed`` and is
        retried by the next call, whatever ``on_error`` says.

        A local judge's ``max_model_len`` (default 2048), ``tensor_parallel_size`` and ``gpu_memory_utilization``
        (0: ``engines.settings()``) go to its Generator; ``release()`` or a ``with`` block frees its model.

        ``executor`` (an ``Executor``, its params dict or "local"/"ray"; None: local): where a local judge's
        calls run. On Ray the judge needs ``cache_dir`` (the replicas' records land there) and this process
        loads only the tokenizer."""
        if on_error not in ("raise", "empty"):
            raise ValueError(f"on_error must be 'raise' or 'empty', not {on_error!r}")
        self.on_error = on_error
        self.requests = 0  # calls that reached the model/endpoint (cache hits excluded)
        self.errors = 0  # endpoint calls that failed (on_error="empty")
        self.malformed = 0  # endpoint replies without a usable message (not cached, retried next time)
        self.last_failed: list[bool] = []  # per prompt of the last complete(): True where the call failed
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.concurrency = max(1, concurrency)
        self.batch_size = max(1, batch_size)
        self.name = judge_identity(model, self.base_url)
        self._lock = threading.Lock()
        self._cache = (
            JsonlStore(Path(cache_dir) / f"judge-{stable_id(self.name, length=10)}.jsonl") if cache_dir else None
        )
        from .executor import as_executor

        self.executor = as_executor(executor)
        # what a replica needs to build the same local judge (plain data; executor ray only)
        self._worker_kwargs = dict(
            model=model,
            backend=backend,
            temperature=temperature,
            max_tokens=max_tokens,
            on_error=on_error,
            max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization,
        )
        on_ray = self.executor.kind == "ray" and not self.base_url
        if on_ray and self._cache is None:
            raise JudgeError(f"judge {model} on Ray needs cache_dir: the replicas' judgements are stored there")
        if self.base_url:
            try:
                from openai import OpenAI
            except ImportError:
                raise JudgeError("an endpoint judge needs the `openai` package: pip install openai") from None
            if health_check:
                from .params import ParamsError
                from .precheck import check_endpoint

                try:
                    check_endpoint(self.base_url, api_key_env, timeout=min(timeout, 10.0))
                except ParamsError as exc:
                    raise JudgeError(f"judge {model}: {exc}") from None
            key = os.environ.get(api_key_env) or "EMPTY"  # local servers (vLLM) accept any key
            self._client = OpenAI(base_url=self.base_url, api_key=key, max_retries=max_retries, timeout=timeout)
            self._gen = None
        else:
            self._client = None
            self._gen = Generator(
                model,
                backend=backend,
                max_model_len=max_model_len,
                tensor_parallel_size=tensor_parallel_size,
                gpu_memory_utilization=gpu_memory_utilization,
                load=not on_ray,
            )  # on Ray the replicas load the model; here the template only
            max_model_len = self._gen.max_model_len
        self.max_model_len = max_model_len

    def release(self) -> None:
        """A local judge gives its model's memory back (``Generator.release``); cached judgements stay on disk."""
        if self._gen is not None:
            self._gen.release()

    def __repr__(self) -> str:
        return f"Judge({self.name!r})"

    def key(self, messages: Messages, prefill: str = "") -> str:
        extra = [{"prefill": prefill}] if prefill else []  # no prefill: the same keys as before prefills existed
        return stable_id(self.name, messages, self.temperature, self.max_tokens, *extra)

    def render(self, messages: Messages, prefill: str = "") -> str:
        """The raw text a local judge continues: chat template + generation prompt + ``prefill``."""
        if self._gen is None:
            raise JudgeError(f"judge {self.name} is an endpoint: it has no local chat template to render")
        return self._gen.render(messages) + prefill

    def complete(self, prompts: Sequence[Messages], desc: str = "judge", prefill: str = "") -> list[str]:
        """The judge's reply to each prompt (chat messages), from the cache where already judged.

        ``prefill`` (local judges only): text the assistant's reply is forced to start with; each
        returned text starts with it. An endpoint judge raises JudgeError when it is given.
        """
        if prefill and self._gen is None:
            raise JudgeError(
                f"judge {self.name} is an OpenAI-compatible endpoint: chat completions cannot "
                f"continue a prefilled assistant reply; pass prefill='' (or judge locally)"
            )
        keys = [self.key(m, prefill) for m in prompts]
        todo: dict[str, Messages] = {}
        for k, m in zip(keys, prompts):
            if (self._cache is None or k not in self._cache) and k not in todo:
                todo[k] = m
        if todo and self.executor.kind == "ray" and self._gen is not None:
            return self._complete_on_ray(keys, todo, desc, prefill)
        fresh: dict[str, str] = {}
        failed: set[str] = set()
        items = list(todo.items())
        from tqdm.auto import tqdm

        with tqdm(total=len(items), desc=f"{desc} ({self.name})", unit="call", disable=not items) as bar:
            for start in range(0, len(items), self.batch_size):
                chunk = items[start : start + self.batch_size]
                texts = self._call([m for _, m in chunk], prefill)
                self.requests += len(chunk)
                records = [{"id": k, "text": t} for (k, _), t in zip(chunk, texts) if t is not None]
                if self._cache is not None:
                    self._cache.extend(records)  # flushed per batch: a killed run keeps what it paid for
                fresh.update({r["id"]: r["text"] for r in records})
                fresh.update({k: "" for (k, _), t in zip(chunk, texts) if t is None})  # failed: not cached
                failed.update(k for (k, _), t in zip(chunk, texts) if t is None)
                bar.update(len(chunk))
        self.last_failed = [k in failed for k in keys]  # per prompt: the call failed ("" returned, not cached)
        return [fresh[k] if k in fresh else self._cache.get(k)["text"] for k in keys]

    def _complete_on_ray(self, keys: list[str], todo: dict[str, Messages], desc: str, prefill: str) -> list[str]:
        """``complete`` with the missing judgements made by the executor's long-lived Ray replicas
        (``judge_worker``, built once per replica for all calls); each batch is cached as it arrives."""
        from tqdm.auto import tqdm

        from .executor import WorkerSpec

        spec = WorkerSpec(
            judge_worker, {**self._worker_kwargs, "tensor_parallel_size": self.executor.tensor_parallel_size}
        )
        items = [{"id": k, "messages": m, "prefill": prefill} for k, m in todo.items()]  # one pool for every prefill
        failed: set[str] = set()
        with tqdm(total=len(items), desc=f"{desc} ({self.name})", unit="call") as bar:
            for records, _ in self.executor.replica_pool(spec).map(items, self.batch_size):
                self._cache.extend([r for r in records if not r.get(RETRY)])  # flushed per batch, as locally
                failed.update(r["id"] for r in records if r.get(RETRY))
                bar.update(len(records))
        self.requests += len(items)
        self.errors += len(failed)
        self.last_failed = [k in failed for k in keys]
        return ["" if k in failed else self._cache.get(k)["text"] for k in keys]

    def _call(self, prompts: list[Messages], prefill: str = "") -> list[str | None]:
        if self._gen is not None:
            from . import hf

            limit = self.max_model_len - self.max_tokens
            texts = [self.render(p, prefill) for p in prompts]  # raw strings: the generator uses them verbatim
            fits = [len(hf.encode(self._gen.tokenizer, t)) <= limit for t in texts]
            if not all(fits):
                if self.on_error == "raise":
                    raise JudgeError(
                        f"{fits.count(False)} judge prompt(s) exceed {limit} tokens (max_model_len "
                        f"{self.max_model_len} - max_tokens {self.max_tokens}): truncate the inputs"
                    )
                self.errors += fits.count(False)
            ok = [t for t, f in zip(texts, fits) if f]
            outs = iter(
                self._gen.generate(ok, Sampling(temperature=self.temperature, max_tokens=self.max_tokens), desc="judge")
                if ok
                else []
            )
            return [prefill + next(outs)[0].text if f else None for f in fits]

        def one(messages: Messages) -> str | None:
            try:
                resp = self._client.chat.completions.create(
                    model=self.model, messages=messages, temperature=self.temperature, max_tokens=self.max_tokens
                )
            except Exception as exc:  # connection refused, auth, unknown model: name the endpoint
                if self.on_error == "empty":
                    with self._lock:
                        self.errors += 1
                    return None
                raise JudgeError(
                    f"judge endpoint {self.base_url} (model {self.model}) failed: "
                    f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                ) from None
            text = reply_text(resp)
            if text is None:
                with self._lock:
                    self.malformed += 1
            return text

        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(one, prompts))


def judge_worker(model: str, **judge_kwargs):
    """A local judge's batch function for Ray replicas (``Judge(executor=...)`` builds the spec): the judge is
    built once per replica without a cache; each item {"id", "messages", "prefill"} -> {"id", "text"}, or a
    retry record (``RETRY``, not stored) where the call failed (a prompt over the length limit, on_error
    "empty"). A batch shares one prefill (a ``complete`` call's)."""
    judge = Judge(model, **judge_kwargs)

    def process(batch: list[dict]) -> list[dict]:
        prefills = {it.get("prefill", "") for it in batch}
        if len(prefills) > 1:
            raise ValueError(f"judge_worker: one prefill per batch, got {sorted(prefills)}")
        texts = judge._call([it["messages"] for it in batch], prefills.pop() if prefills else "")
        return [
            {"id": it["id"], "text": t} if t is not None else {"id": it["id"], "text": "", RETRY: True}
            for it, t in zip(batch, texts)
        ]

    return process


def reply_text(resp) -> str | None:
    """The message text of a chat-completion reply, or None when the reply carries none (never raises)."""
    try:
        choices = getattr(resp, "choices", None)
        if not choices:
            return None
        content = choices[0].message.content
    except (AttributeError, IndexError, KeyError, TypeError):
        return None
    return content if isinstance(content, str) else None
