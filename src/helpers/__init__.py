"""Helpers shared by the alignment-research notebooks: models, generation, log-probs, runs, stages."""
from .generation import Completion, Generator, Sampling
from .logprobs import LogProbScorer, ResponseLogProb
from .models import DEFAULT_EMBEDDER, DEFAULT_MODEL, ModelNotFoundError, resolve_embedder, resolve_model
from .runs import Run
from .store import JsonlStore, atomic_write_json, cached_json, run_stage, stable_id

__all__ = [
    "Completion", "Generator", "Sampling", "LogProbScorer", "ResponseLogProb", "DEFAULT_MODEL",
    "DEFAULT_EMBEDDER", "ModelNotFoundError", "resolve_embedder", "resolve_model", "Run", "JsonlStore",
    "atomic_write_json", "cached_json", "run_stage", "stable_id",
]
