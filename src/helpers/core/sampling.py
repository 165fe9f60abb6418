"""What every generation backend shares: the sampling settings (``Sampling``), one generated text (``Completion``)
and the cut at the first stop string (``cut_at_stop``); ``helpers.core.generation`` re-exports the first two."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
