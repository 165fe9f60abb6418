"""An LLM judge: a local model through the generation helper, or any OpenAI-compatible endpoint.

    judge = Judge("smollm2-135m-instruct", cache_dir=run.path("judge_cache"))             # local
    judge = Judge("gpt-4o-mini", base_url="https://api.example/v1", api_key_env="OPENAI_API_KEY")
    texts = judge.complete([[{"role": "user", "content": "..."}], ...])

Every judgement is cached on disk keyed by (judge, messages, decoding settings), so reruns and
added models pay only for new judgements. Temperature 0 by default.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from .generation import Generator, Sampling
from .hf import Messages
from .store import JsonlStore, stable_id


class JudgeError(RuntimeError):
    """The judge could not be reached or configured (message says which and how to fix)."""


class Judge:
    def __init__(self, model: str = "smollm2-135m-instruct", base_url: str = "", api_key_env: str = "OPENAI_API_KEY",
                 backend: str = "auto", cache_dir: str | Path | None = None, temperature: float = 0.0,
                 max_tokens: int = 512, concurrency: int = 8, batch_size: int = 32):
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.concurrency = max(1, concurrency)
        self.batch_size = max(1, batch_size)
        self.name = f"{model}@{self.base_url}" if self.base_url else model
        self._cache = JsonlStore(Path(cache_dir) / f"judge-{stable_id(self.name, length=10)}.jsonl") if cache_dir else None
        if self.base_url:
            try:
                from openai import OpenAI
            except ImportError:
                raise JudgeError("an endpoint judge needs the `openai` package: pip install openai") from None
            key = os.environ.get(api_key_env) or "EMPTY"  # local servers (vLLM) accept any key
            self._client = OpenAI(base_url=self.base_url, api_key=key, max_retries=3, timeout=600)
            self._gen = None
        else:
            self._client = None
            self._gen = Generator(model, backend=backend)

    def __repr__(self) -> str:
        return f"Judge({self.name!r})"

    def key(self, messages: Messages) -> str:
        return stable_id(self.name, messages, self.temperature, self.max_tokens)

    def complete(self, prompts: Sequence[Messages], desc: str = "judge") -> list[str]:
        """The judge's reply to each prompt (chat messages), from the cache where already judged."""
        keys = [self.key(m) for m in prompts]
        todo: dict[str, Messages] = {}
        for k, m in zip(keys, prompts):
            if (self._cache is None or k not in self._cache) and k not in todo:
                todo[k] = m
        fresh: dict[str, str] = {}
        items = list(todo.items())
        from tqdm.auto import tqdm
        with tqdm(total=len(items), desc=f"{desc} ({self.name})", unit="call", disable=not items) as bar:
            for start in range(0, len(items), self.batch_size):
                chunk = items[start:start + self.batch_size]
                texts = self._call([m for _, m in chunk])
                records = [{"id": k, "text": t} for (k, _), t in zip(chunk, texts)]
                if self._cache is not None:
                    self._cache.extend(records)  # flushed per batch: a killed run keeps what it paid for
                fresh.update({r["id"]: r["text"] for r in records})
                bar.update(len(chunk))
        return [fresh[k] if k in fresh else self._cache.get(k)["text"] for k in keys]

    def _call(self, prompts: list[Messages]) -> list[str]:
        if self._gen is not None:
            outs = self._gen.generate(prompts, Sampling(temperature=self.temperature, max_tokens=self.max_tokens), desc="judge")
            return [o[0].text for o in outs]

        def one(messages: Messages) -> str:
            try:
                resp = self._client.chat.completions.create(model=self.model, messages=messages,
                                                            temperature=self.temperature, max_tokens=self.max_tokens)
            except Exception as exc:  # connection refused, auth, unknown model: name the endpoint
                raise JudgeError(f"judge endpoint {self.base_url} (model {self.model}) failed: "
                                 f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
            return resp.choices[0].message.content or ""

        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(one, prompts))
