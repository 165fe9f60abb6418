"""The verifier, target panel and hinter of a notebook run or a served tool, built from parameters.

A model with a base URL is asked through an OpenAI-compatible endpoint (helpers.core.judge, failures counted);
without one it runs here (option log-probs for answering, generation for LLM hints). Local scorers are shared by
name, so the verifier model answering again as a target costs no second copy.
"""

from __future__ import annotations

from .hints import Hinter
from .targets import TargetPanel
from .verifier import EndpointVerifier, LocalVerifier


class Components:
    def __init__(
        self,
        verifier_model: str,
        verifier_base_url: str = "",
        target_models=(),
        target_base_url: str = "",
        challenge_k: int = 2,
        hint_model: str = "",
        hint_base_url: str = "",
        hint_max_tokens: int = 128,
        backend: str = "hf",
        timeout: float = 120.0,
        embedder: str = "",
        seed: int = 0,
        cache_dir=None,
    ):
        self._scorers: dict[str, object] = {}
        self._judges: dict[tuple, object] = {}
        self.backend, self.timeout, self.cache_dir = backend, timeout, cache_dir
        self.verifier = self.answerer(verifier_model, verifier_base_url)
        self.panel = TargetPanel(
            [self.answerer(m, target_base_url) for m in target_models], k=challenge_k, seed=seed, embedder=embedder
        )
        judge = self.judge(hint_model, hint_base_url, hint_max_tokens) if hint_model else None
        self.hinter = Hinter(judge)

    def answerer(self, model: str, base_url: str = ""):
        if base_url:
            return EndpointVerifier(self.judge(model, base_url, 256), name=model)
        if model not in self._scorers:
            from ..core.logprobs import LogProbScorer

            self._scorers[model] = LogProbScorer(model, backend="auto" if self.backend == "auto" else self.backend)
        return LocalVerifier(self._scorers[model], name=model)

    def judge(self, model: str, base_url: str, max_tokens: int):
        key = (model, base_url, max_tokens)
        if key not in self._judges:
            from ..core.judge import Judge

            self._judges[key] = Judge(
                model,
                base_url=base_url,
                backend=self.backend,
                on_error="empty",
                timeout=self.timeout,
                max_tokens=max_tokens,
                cache_dir=self.cache_dir,
                temperature=0.0,
            )
        return self._judges[key]

    def counts(self) -> dict:
        """Calls and failures of every model-backed part (shown by the views and logged by the notebook)."""
        parts = [self.verifier, *[t for t in self.panel.targets if hasattr(t, "failures")]]
        return {
            "verifier_failures": self.verifier.failures + self.verifier.unparsed,
            "target_failures": sum(t.failures + t.unparsed for t in parts[1:]),
            "llm_hint_calls": self.hinter.llm_calls,
            "llm_hint_failures": self.hinter.llm_failures,
        }

    def release(self) -> None:
        for s in self._scorers.values():
            s.release()
        for j in self._judges.values():
            j.release()
