"""The vLLM prompt-log-prob path of LogProbScorer agrees with the transformers path (1e-3 per token)."""

import pytest

from helpers.core.models import DEFAULT_MODEL

PAIRS = [
    ([{"role": "user", "content": "What is the capital of France?"}], "Paris is the capital of France."),
    ([{"role": "user", "content": "Name a colour."}], "Blue."),
    ([{"role": "system", "content": "Be terse."}, {"role": "user", "content": "2+2?"}], "4"),
    ("The sky is", " blue today, and the sea is calm."),
]


@pytest.mark.vllm
@pytest.mark.slow
def test_vllm_prompt_logprobs_match_transformers_per_token(vllm_generator):
    from helpers.core.logprobs import LogProbScorer, choice_logprobs, token_logprobs_unbatched

    hf_scorer = LogProbScorer(DEFAULT_MODEL, backend="hf")
    vl = LogProbScorer(DEFAULT_MODEL, backend="vllm")  # the session's running engine is reused, no second engine
    assert vl.backend_name == "vllm" and hf_scorer.backend_name == "hf"
    encoded = [hf_scorer.encode_pair(p, r) for p, r in PAIRS]
    per_token = vl.token_logprobs(encoded)
    for (p, r), lps in zip(encoded, per_token):
        ref = token_logprobs_unbatched(hf_scorer.model, p, r)
        assert len(lps) == len(r) == len(ref)
        assert max(abs(a - b) for a, b in zip(lps, ref)) < 1e-3
    for a, b in zip(hf_scorer.score(PAIRS), vl.score(PAIRS)):
        assert a.n_tokens == b.n_tokens and abs(a.sum - b.sum) < 1e-3 * a.n_tokens
    raws, choices = ["The capital of France is", "Two plus two is"], [" Paris", " four", " a big city"]
    for row_h, row_v in zip(choice_logprobs(hf_scorer, raws, choices), choice_logprobs(vl, raws, choices)):
        assert max(abs(a - b) for a, b in zip(row_h, row_v)) < 3e-3
    vl.release()  # the session's generator still holds the engine: it keeps running
    from helpers.core.vllm_engines import find_engine

    assert find_engine(vllm_generator.path) is not None
    with pytest.raises(RuntimeError, match="released"):
        vl.score(PAIRS[:1])
