"""Asking the hub whether a repository exists: one call for models and data sets alike.

``ask_hub`` never raises: it answers ``None`` (the repository exists), ``"missing"`` (the hub says it does not,
or it needs a token), or ``"unreachable (Name)"`` (network down, proxy, timeout), and the caller turns that into
its own error naming the parameter and the fix.
"""

from __future__ import annotations


def ask_hub(repo_id: str, repo_type: str = "model", timeout: float = 10.0) -> str | None:
    """``None`` when ``repo_id`` (a ``model`` or a ``dataset``) exists on the hub, else why not."""
    try:
        from huggingface_hub import HfApi
        from huggingface_hub.utils import RepositoryNotFoundError

        info = HfApi().dataset_info if repo_type == "dataset" else HfApi().model_info
        info(repo_id, timeout=timeout)
    except RepositoryNotFoundError:
        return "missing"
    except Exception as exc:  # network down, proxy, timeout
        return f"unreachable ({type(exc).__name__})"
    return None
