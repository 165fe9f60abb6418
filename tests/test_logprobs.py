import math

import pytest

from helpers.core import hf
from helpers.core.logprobs import LogProbScorer, token_logprobs_unbatched

CHAT = [{"role": "user", "content": "What is the capital of France?"}]
PAIRS = [
    (CHAT, "Paris."),
    (CHAT, "The capital of France is Paris, a large city."),
    ([{"role": "user", "content": "hi"}], "Hello! How can I help you today?"),
    ("Raw prompt without a template:", " a continuation"),
]


def _reference(scorer, prompt, response):
    p_ids, r_ids = scorer.encode_pair(prompt, response)
    return sum(token_logprobs_unbatched(scorer.model, p_ids, r_ids)), len(r_ids)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_batched_scores_match_direct_computation(tiny_model_dir, batch_size):
    scorer = LogProbScorer(tiny_model_dir, batch_size=batch_size)
    for (prompt, response), got in zip(PAIRS, scorer.score(PAIRS)):
        ref_sum, n = _reference(scorer, prompt, response)
        assert got.n_tokens == n and math.isclose(got.sum, ref_sum, rel_tol=1e-4, abs_tol=1e-3)
        assert math.isclose(got.mean, got.sum / n, rel_tol=1e-6)


def test_chat_response_is_closed_with_end_of_turn_and_truncated(tiny_model_dir):
    scorer = LogProbScorer(tiny_model_dir, max_prompt_tokens=5, max_response_tokens=3)
    p_ids, r_ids = scorer.encode_pair(CHAT, "Paris is the capital")
    assert len(p_ids) == 5 and len(r_ids) == 3
    full = LogProbScorer(tiny_model_dir)
    _, r_ids = full.encode_pair(CHAT, "Paris.")
    assert scorer.tokenizer.decode(r_ids).endswith("<|im_end|>")
    # the left-truncated prompt keeps its END (the generation prompt), not its start
    assert scorer.tokenizer.decode(p_ids).endswith("assistant\n")


def test_no_template_with_messages_is_a_clear_error(tiny_base_model_dir):
    with pytest.raises(hf.ChatTemplateError):
        LogProbScorer(tiny_base_model_dir).score([(CHAT, "x")])


@pytest.mark.slow
def test_embedded_model_prefers_the_true_answer(embedded_model_dir):
    scorer = LogProbScorer("smollm2-135m-instruct", batch_size=4, backend="hf")  # the reference needs the HF model
    good, bad = scorer.score([(CHAT, "The capital of France is Paris."), (CHAT, "The capital of France is Berlin.")])
    assert good.sum > bad.sum
    ref_sum, _ = _reference(scorer, CHAT, "The capital of France is Paris.")
    assert math.isclose(good.sum, ref_sum, rel_tol=1e-4)


def test_choice_logprobs_match_scoring_each_pair(tiny_model_dir):
    from helpers.core.logprobs import choice_logprobs

    scorer = LogProbScorer(tiny_model_dir)
    raws = ["The answer is: ", "Pick one of the labels and say it: "]
    choices = ['good"', 'very poor"', "A>>B]]"]
    got = choice_logprobs(scorer, raws, choices)
    for raw, row in zip(raws, got):
        want = [s.sum for s in scorer.score([(raw, c) for c in choices])]  # raw prompts: no end-of-turn appended
        assert row == pytest.approx(want, rel=1e-4, abs=1e-3)


def test_auto_backend_uses_vllm_on_a_gpu_only():
    from helpers.core.logprobs import auto_backend

    assert auto_backend(served=True, engine_running=False, device="cuda") == "vllm"  # a suite's server
    assert auto_backend(served=False, engine_running=True, device="cuda") == "vllm"  # the Generator's engine
    assert auto_backend(served=False, engine_running=False, device="cuda") == "hf"
    assert auto_backend(served=True, engine_running=True, device="cpu") == "hf"  # CPU: prompt once, choices share it


def test_batched_choice_logprobs_match_one_prompt_at_a_time(tiny_model_dir):
    """The left-padded batch path (a GPU's) gives the per-prompt numbers for prompts of different lengths."""
    from helpers.core import logprobs

    scorer = LogProbScorer(tiny_model_dir)
    raws = ["A: ", "The answer, in one word, is: ", "Pick one of the labels and say it now please: ", "x"]
    choices = ['good"', 'very poor"', "A>>B]]"]
    one = logprobs.choice_logprobs(scorer, raws, choices, batch_size=1)
    batched = logprobs.choice_logprobs(scorer, raws, choices, batch_size=3)
    for a, b in zip(one, batched):
        assert b == pytest.approx(a, abs=1e-4)


def test_a_shared_template_is_encoded_once_with_the_same_numbers(tiny_model_dir, monkeypatch):
    """Prompts that start with the same long template: the prefix's cache is shared (one forward of it), and every
    prompt's choice log-probs equal scoring each (prompt, choice) whole, one prompt at a time or batched."""
    from helpers.core import logprobs

    scorer = LogProbScorer(tiny_model_dir)
    template = "Rate how clear, specific and well-formed the user query below is, as one of: poor, good.\n## Query\n"
    raws = [template + q + "\nAnswer: " for q in ["hi", "what is the capital of France, and why?", "2+2", "x"]]
    prompts = [logprobs.hf.encode(scorer.tokenizer, r)[-scorer.max_prompt_tokens :] for r in raws]
    n = logprobs.shared_prefix_length(prompts)
    assert n >= logprobs.MIN_SHARED_PREFIX and all(len(p) > n for p in prompts)
    assert logprobs.shared_prefix_length(prompts[:1]) == 0 and logprobs.shared_prefix_length([[1, 2], [1, 3]]) == 0
    choices = ['good"', 'very poor"', "A>>B]]"]
    seen = []
    real = scorer.model.forward
    monkeypatch.setattr(scorer.model, "forward", lambda *a, **kw: seen.append(kw["input_ids"].shape) or real(*a, **kw))
    got = {bs: logprobs.choice_logprobs(scorer, raws, choices, batch_size=bs) for bs in (1, 3)}
    assert seen[0] == (1, n)  # the template, once
    assert all(shape[1] < len(p) for shape, p in zip(seen[1::2], sorted(prompts, key=len, reverse=True)))
    for raw, a, b in zip(raws, got[1], got[3]):
        want = [s.sum for s in scorer.score([(raw, c) for c in choices])]
        assert a == pytest.approx(want, rel=1e-4, abs=1e-3) and b == pytest.approx(a, abs=1e-4)
