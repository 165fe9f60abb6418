"""Engine lifecycle: settings, thread choice, giving memory back (transformers cache, vLLM engine process)."""

import json
import time

import pytest

from helpers.core import engines, serving, vllm_engines


def test_threads_follow_the_cores_actually_free(monkeypatch):
    monkeypatch.delenv(engines.THREADS_ENV, raising=False)
    monkeypatch.setattr(engines, "available_cores", lambda: 4)
    assert engines.choose_threads(load=0.0) == 4
    assert engines.choose_threads(load=1.2) == 3
    assert engines.choose_threads(load=9.0) == 1  # a busy machine: one thread, no barrier stalls
    assert engines.choose_threads(3, load=9.0) == 3  # an explicit count wins
    monkeypatch.setenv(engines.THREADS_ENV, "2")
    assert engines.choose_threads(load=9.0) == 2


def test_available_cores_is_within_the_machine():
    import os

    assert 1 <= engines.available_cores() <= len(os.sched_getaffinity(0))


def test_configure_wins_over_the_environment_and_rejects_bad_values(monkeypatch):
    monkeypatch.setenv("HELPERS_VLLM_GPU_UTIL", "0.5")
    monkeypatch.setenv("HELPERS_VLLM_MAX_MODEL_LEN", "1024")
    try:
        engines.reset()
        assert engines.settings().gpu_memory_utilization == 0.5 and engines.settings().max_model_len == 1024
        assert engines.vllm_kwargs(on_gpu=True) == {"gpu_memory_utilization": 0.5}
        engines.configure(gpu_memory_utilization=0.7, max_model_len=0, torch_threads=1)
        assert engines.settings().gpu_memory_utilization == 0.7 and engines.settings().max_model_len == 1024
        assert engines.pick(0, "max_model_len", 2048) == 1024 and engines.pick(512, "max_model_len", 2048) == 512
        import torch

        assert torch.get_num_threads() == 1
        with pytest.raises(ValueError, match="gpu_memory_utilization"):
            engines.configure(gpu_memory_utilization=1.5)
        with pytest.raises(ValueError, match="max_model_len"):
            engines.configure(max_model_len=-1)
    finally:
        engines.reset()


def test_shared_servers_map_model_paths(monkeypatch, tmp_path):
    monkeypatch.setenv(engines.SERVERS_ENV, json.dumps({str(tmp_path): "http://127.0.0.1:9/v1"}))
    assert engines.server_for(str(tmp_path)) == "http://127.0.0.1:9/v1"
    assert engines.server_for(str(tmp_path / ".")) == "http://127.0.0.1:9/v1"
    assert engines.server_for("/nowhere") is None
    monkeypatch.setenv(engines.SERVERS_ENV, "not json")
    with pytest.raises(ValueError, match="HELPERS_VLLM_SERVERS"):
        engines.shared_servers()


def test_release_evicts_the_transformers_model(tiny_model_dir):
    import gc
    import weakref

    from helpers.core.generation import Generator, Sampling
    from helpers.core.logprobs import LogProbScorer

    vllm_engines.release_all()
    with Generator(tiny_model_dir, backend="hf") as gen:
        gen.generate(["Hello"], Sampling(max_tokens=2))
        scorer = LogProbScorer(tiny_model_dir, backend="hf")
        assert scorer.model is gen._backend.model  # one copy of the weights, shared
        assert vllm_engines.memory_state()["hf_models"] == 1
        alive = weakref.ref(scorer.model)
    assert vllm_engines.memory_state()["hf_models"] == 0  # evicted from the cache...
    assert alive() is not None  # ...but the scorer still holds it
    scorer.score([("Hello", " there")])
    scorer.release()
    gc.collect()
    assert alive() is None  # nobody holds it: the memory is back
    with pytest.raises(RuntimeError, match="released"):
        gen.generate(["Hello"], Sampling(max_tokens=2))


def test_local_judge_releases_its_generator(tiny_model_dir, tmp_path):
    from helpers.core.judge import Judge

    vllm_engines.release_all()
    with Judge(tiny_model_dir, backend="hf", cache_dir=tmp_path, max_tokens=2) as judge:
        judge.complete([[{"role": "user", "content": "Hi"}]])
        assert vllm_engines.memory_state()["hf_models"] == 1
    assert vllm_engines.memory_state()["hf_models"] == 0


@pytest.mark.vllm
@pytest.mark.slow
def test_release_stops_the_vllm_engine_process(embedded_model_dir):
    import psutil

    from helpers.core.generation import Generator, Sampling, vllm_available

    if not vllm_available():
        pytest.skip("vLLM is not installed")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    gen = Generator(embedded_model_dir, backend="vllm", max_model_len=512)  # its own engine (not the session's)
    spawned = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert spawned, "the engine runs in worker processes"
    assert gen.generate(["Hi"], Sampling(max_tokens=2))[0][0].n_tokens >= 1
    gen.release()

    def alive():  # multiprocessing's resource tracker lives as long as this process: not the engine's
        out = []
        for p in spawned:
            try:
                if (
                    p.is_running()
                    and p.status() != psutil.STATUS_ZOMBIE
                    and "resource_tracker" not in " ".join(p.cmdline())
                ):
                    out.append(p)
            except psutil.NoSuchProcess:
                pass
        return out

    deadline = time.time() + 60
    while time.time() < deadline and alive():
        time.sleep(0.5)
    assert not alive(), [" ".join(p.cmdline())[:120] for p in alive()]
    from helpers.core.vllm_engines import _ENGINES

    assert all(k[3] != 512 for k in _ENGINES)  # its engine is gone from the process (the session's may remain)


def test_suite_serves_only_models_several_vllm_notebooks_run(monkeypatch, tiny_model_dir, tiny_model_dir_b):
    monkeypatch.setattr("helpers.core.generation.vllm_available", lambda: True)
    a, b = tiny_model_dir, tiny_model_dir_b
    plan = [
        {"model": a, "backends": ["hf", "vllm"]},
        {"model": a, "backend": "auto", "judge_model": b, "judge_base_url": ""},
        {"model": b, "backend": "hf"},  # transformers only: its model does not count
        {"judge_model": b, "judge_base_url": "http://x/v1", "backend": "vllm"},
    ]  # an endpoint: not local
    assert serving.wants_vllm(plan[0]) and not serving.wants_vllm(plan[2])
    assert serving.local_models(plan[1]) == {a, b} and serving.local_models(plan[3]) == set()
    assert serving.shared_engine_models(plan) == [a]
    monkeypatch.setattr("helpers.core.generation.vllm_available", lambda: False)
    assert serving.shared_engine_models(plan) == []


@pytest.mark.vllm
@pytest.mark.slow
def test_a_shared_server_gives_the_same_greedy_outputs_and_logprobs(vllm_generator, monkeypatch):
    """The suite's shared engine (a vLLM server on loopback) against the in-process engine: same greedy text."""
    from helpers.core.generation import Generator, Sampling
    from helpers.core.logprobs import LogProbScorer

    prompts = [
        [{"role": "user", "content": "Name three fruits."}],
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
        [{"role": "user", "content": "Say hi."}],
    ]
    # seven stop strings, as Magpie's instruction stage sends (vLLM's server takes 4 unless VLLM_MAX_STOP_STRINGS)
    sampling = Sampling(
        temperature=0.0, max_tokens=24, stop=("\n\n", "User:", "###", "Q:", "Question:", "\nA:", "<|im_end|>")
    )
    local = vllm_generator.generate(prompts, sampling)
    hf_scorer = LogProbScorer(vllm_generator.path, backend="hf")
    pairs = [(prompts[0], "Apple, banana, cherry."), (prompts[1], "4")]
    with serving.serve_local(
        vllm_generator.path, served_name=vllm_generator.path, extra_args=["--generation-config", "vllm", "--seed", "0"]
    ) as server:
        monkeypatch.setenv(engines.SERVERS_ENV, json.dumps({vllm_generator.path: server.base_url}))
        remote = Generator(vllm_generator.path, backend="vllm")
        assert type(remote._backend).__name__ == "EndpointBackend"
        served = remote.generate(prompts, sampling)
        scorer = LogProbScorer(vllm_generator.path, backend="vllm")  # the shared server
        assert scorer.backend_name == "vllm"
        via_server = scorer.score(pairs)
    for a, b in zip(local, served):
        assert [(c.text, c.n_tokens, c.finish_reason) for c in a] == [(c.text, c.n_tokens, c.finish_reason) for c in b]
    for a, b in zip(hf_scorer.score(pairs), via_server):
        assert a.n_tokens == b.n_tokens and abs(a.sum - b.sum) < 1e-3 * a.n_tokens


def test_run_in_batches_halves_a_batch_that_runs_out_of_gpu_memory():
    import torch

    seen, shrunk = [], []

    def process(start, stop):
        if stop - start > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        seen.append((start, stop))

    assert engines.run_in_batches(7, 8, process, shrunk.append) == 2
    assert shrunk == [4, 2] and seen == [(0, 2), (2, 4), (4, 6), (6, 7)]

    def always(start, stop):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(torch.cuda.OutOfMemoryError):
        engines.run_in_batches(3, 2, always)
