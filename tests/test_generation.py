import pytest

from helpers.core.generation import Generator, Sampling, pick_backend
from helpers.core.hf import ChatTemplateError

Q = [{"role": "user", "content": "What is the capital of France?"}]


def test_hf_backend_shapes_counts_and_length_finish(tiny_model_dir):
    gen = Generator(tiny_model_dir, backend="hf", batch_size=3)
    prompts = [Q, "raw prompt text", [{"role": "user", "content": "a much longer question " * 5}]]
    outs = gen.generate(prompts, Sampling(n=2, temperature=1.0, max_tokens=6, seed=1))
    assert [len(o) for o in outs] == [2, 2, 2]
    for group in outs:
        for c in group:
            assert 1 <= c.n_tokens <= 6 and c.finish_reason in {"stop", "length"}
    assert any(c.finish_reason == "length" for g in outs for c in g)
    assert gen.stats.completions == 6 and gen.stats.tokens == sum(c.n_tokens for g in outs for c in g)


def test_hf_sampling_is_reproducible_and_seed_sensitive(tiny_model_dir):
    gen = Generator(tiny_model_dir, backend="hf")
    s = Sampling(n=2, temperature=1.0, max_tokens=8, seed=3)
    a, b = gen.generate([Q], s), gen.generate([Q], s)
    c = gen.generate([Q], Sampling(n=2, temperature=1.0, max_tokens=8, seed=4))
    assert [x.text for x in a[0]] == [x.text for x in b[0]]
    assert [x.text for x in a[0]] != [x.text for x in c[0]]


def test_bad_input_is_rejected_before_compute(tiny_base_model_dir, tiny_model_dir):
    with pytest.raises(ChatTemplateError, match="no chat template"):
        Generator(tiny_base_model_dir, backend="hf").generate([Q])
    with pytest.raises(ValueError, match="empty"):
        Generator(tiny_model_dir, backend="hf").generate([])
    with pytest.raises(ValueError, match="unknown backend"):
        pick_backend("tgi")
    with pytest.raises(ValueError, match="max_tokens"):
        Sampling(max_tokens=0)


@pytest.mark.slow
def test_embedded_model_answers_and_stops(embedded_model_dir):
    gen = Generator("smollm2-135m-instruct", backend="hf")
    out = gen.generate([Q], Sampling(max_tokens=32))[0][0]
    assert "Paris" in out.text and out.finish_reason == "stop" and "<|im_end|>" not in out.text
    cut = gen.generate([Q], Sampling(max_tokens=32, stop=["France"]))[0][0]
    assert cut.finish_reason == "stop" and "France" not in cut.text and out.text.startswith(cut.text)


@pytest.mark.slow
def test_batched_greedy_matches_one_at_a_time(embedded_model_dir):
    prompts = [
        Q,
        [{"role": "user", "content": "Name a primary colour."}],
        [{"role": "user", "content": "Give me one word that rhymes with cat, and explain why it rhymes."}],
    ]
    batched = Generator("smollm2-135m-instruct", backend="hf", batch_size=8).generate(prompts, Sampling(max_tokens=12))
    single = [
        Generator("smollm2-135m-instruct", backend="hf", batch_size=1).generate([p], Sampling(max_tokens=12))[0]
        for p in prompts
    ]
    assert [b[0].text for b in batched] == [s[0].text for s in single]


@pytest.mark.vllm
@pytest.mark.slow
def test_vllm_backend_on_cpu(vllm_generator):
    gen = vllm_generator
    greedy = gen.generate([Q], Sampling(max_tokens=32))[0][0]
    assert "Paris" in greedy.text and greedy.finish_reason == "stop"
    hf_text = Generator("smollm2-135m-instruct", backend="hf").generate([Q], Sampling(max_tokens=32))[0][0].text
    assert greedy.text == hf_text, "both backends see the same token ids and decode greedily"
    pre_query = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\n"
    outs = gen.generate([pre_query], Sampling(n=8, temperature=1.0, max_tokens=8, stop=["<|im_end|>"], seed=0))[0]
    assert len(outs) == 8 and len({o.text for o in outs}) > 1
    assert all(o.n_tokens <= 8 for o in outs) and any(o.finish_reason == "length" for o in outs)
    again = gen.generate([pre_query], Sampling(n=8, temperature=1.0, max_tokens=8, stop=["<|im_end|>"], seed=0))[0]
    assert [o.text for o in outs] == [o.text for o in again]


@pytest.mark.vllm
@pytest.mark.slow
def test_vllm_consecutive_seeds_do_not_share_samples(vllm_generator):
    """vLLM seeds the k-th of n samples with seed + k; the helper must keep requests apart."""
    pre_query = "<|im_start|>user\n"
    outs = vllm_generator.generate([pre_query] * 3, Sampling(n=6, temperature=1.0, max_tokens=12, seed=0))
    texts = [c.text for g in outs for c in g]
    assert len(set(texts)) >= len(texts) - 2, "samples repeat across prompts with consecutive seeds"
    stop = vllm_generator.generate(
        ["<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"],
        Sampling(max_tokens=40, stop=["<|im_end|>", "<|im_start|>"]),
    )[0][0]
    assert "<|im_" not in stop.text


def test_auto_takes_transformers_for_a_small_cpu_job_no_server_serves(monkeypatch):
    from helpers.core import engines, generation

    monkeypatch.setattr(generation, "vllm_available", lambda: True)
    monkeypatch.setattr(engines, "on_gpu", lambda: False)
    monkeypatch.setattr(engines, "server_for", lambda path: None)
    few, many = 8, generation.CPU_ENGINE_MIN_PROMPTS
    assert pick_backend("auto", "m", few) == "hf" and pick_backend("auto", "m", many) == "vllm"
    assert pick_backend("auto") == "vllm" and pick_backend("auto", "m", 0) == "vllm"  # size unknown: as before
    assert pick_backend("vllm", "m", few) == "vllm"  # asked for by name: kept
    monkeypatch.setattr(engines, "server_for", lambda path: "http://127.0.0.1:8000/v1")
    assert pick_backend("auto", "m", few) == "vllm"  # a suite server serves it: no start-up to pay
    monkeypatch.setattr(engines, "server_for", lambda path: None)
    monkeypatch.setattr(engines, "on_gpu", lambda: True)
    assert pick_backend("auto", "m", few) == "vllm"
