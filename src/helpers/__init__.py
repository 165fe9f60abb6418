"""Helpers shared by the alignment-research notebooks.

`helpers.core` knows no paper (models, generation, log-probs, judge, embeddings, stores, params and
the runner, statistics, text parsing, plotting); each experiment family is a sub-package that uses
the core (`magpie`, `evaluation`, `cdr`, `culturegen`, `icot`, ...). The names below are the few a
notebook needs most.
"""

from .core.generation import Completion, Generator, Sampling
from .core.logprobs import LogProbScorer, ResponseLogProb
from .core.models import DEFAULT_EMBEDDER, DEFAULT_MODEL, ModelNotFoundError, resolve_embedder, resolve_model
from .core.runs import Run
from .core.store import JsonlStore, atomic_write_json, cached_json, run_stage, stable_id

__all__ = [
    "Completion",
    "Generator",
    "Sampling",
    "LogProbScorer",
    "ResponseLogProb",
    "DEFAULT_MODEL",
    "DEFAULT_EMBEDDER",
    "ModelNotFoundError",
    "resolve_embedder",
    "resolve_model",
    "Run",
    "JsonlStore",
    "atomic_write_json",
    "cached_json",
    "run_stage",
    "stable_id",
]
