"""What the cached coding stage of the Particip-AI notebook (12) depends on, and its precheck hook."""

from __future__ import annotations

from typing import Any

from ..core.stages import StageGraph

GRAPH = StageGraph(
    {
        "coding": {
            "params": [
                "release_dir",
                "coder",
                "coder_model",
                "coder_base_url",
                "coder_max_tokens",
                "n_fewshot",
                "logprob_margin",
                "max_codes",
            ]
        }
    },  # + the codebooks' fingerprint (codebook_fingerprint)
    items={
        "coding_questions": "selects answers to code (records keyed by question and response id)",
        "n_coded": "selects answers to code",
    },
    uncached={
        "backend": "engine only",
        "torch_threads": "threads only",
        "coder_timeout": "time limit only",
        "coder_batch_size": "batching only",
        "bootstrap_rounds": "analysis only",
        "seed": "analysis only",
        "show_form": "display only",
    },
)


def check_params(params: dict[str, Any]) -> None:
    """Runner hook: the release folder loads (files, columns, codebooks) and every question to code has a codebook
    and human codes; the coder is known. Raises ValueError (one line) before compute."""
    from .coding import CODERS
    from .release import check_release

    if params.get("coder") not in CODERS:
        raise ValueError(f"parameter 'coder' must be one of {CODERS}, got {params.get('coder')!r}")
    if params.get("coder") == "logprobs" and params.get("coder_base_url"):
        raise ValueError(
            "parameter 'coder_base_url': an endpoint codes through coder 'judge' (log-probs need a local model)"
        )
    check_release(str(params.get("release_dir", "")), list(params.get("coding_questions") or []))
