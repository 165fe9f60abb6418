"""The judge layer: disk cache, request counting, concurrency and errors against a stub OpenAI-compatible
endpoint (fast), and for real against vLLM's server on loopback (slow)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers.core.judge import Judge, JudgeError, judge_identity
from helpers.core.serving import free_port


class _Stub(BaseHTTPRequestHandler):
    calls: list = []
    fail_on = "FAIL"

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append(body)
        prompt = body["messages"][-1]["content"]
        if self.fail_on in prompt:
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "bad request"}}')
            return
        reply = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": f"echo: {prompt}"}}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802  (the health check: GET /v1/models)
        data = json.dumps({"object": "list", "data": [{"id": "stub-judge", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_url():
    _Stub.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _msgs(*texts):
    return [[{"role": "user", "content": t}] for t in texts]


def test_endpoint_judge_caches_on_disk(stub_url, tmp_path):
    judge = Judge("stub-judge", base_url=stub_url, cache_dir=tmp_path, concurrency=4)
    out = judge.complete(_msgs("a", "b", "a", "c"))
    assert out == ["echo: a", "echo: b", "echo: a", "echo: c"]
    assert judge.requests == 3 and len(_Stub.calls) == 3  # the duplicate prompt is asked once
    assert all(c["temperature"] == 0.0 and c["model"] == "stub-judge" for c in _Stub.calls)
    again = Judge("stub-judge", base_url=stub_url, cache_dir=tmp_path)  # a rerun: new process, same cache
    assert again.complete(_msgs("c", "a", "d")) == ["echo: c", "echo: a", "echo: d"]
    assert again.requests == 1 and len(_Stub.calls) == 4  # only the new prompt
    # different decoding settings are a different judgement
    hot = Judge("stub-judge", base_url=stub_url, cache_dir=tmp_path, temperature=0.7)
    hot.complete(_msgs("a"))
    assert hot.requests == 1


def test_endpoint_errors_raise_or_are_counted(stub_url, tmp_path):
    with pytest.raises(JudgeError, match="stub-judge"):
        Judge("stub-judge", base_url=stub_url, cache_dir=tmp_path).complete(_msgs("ok", "FAIL now"))
    judge = Judge("stub-judge", base_url=stub_url, cache_dir=tmp_path, on_error="empty")
    assert judge.complete(_msgs("ok", "FAIL now")) == ["echo: ok", ""]
    assert judge.errors == 1
    retry = Judge("stub-judge", base_url=stub_url, cache_dir=tmp_path, on_error="empty")
    retry.complete(_msgs("ok", "FAIL now"))
    assert retry.requests == 1  # the failure was not cached: retried; the success was


def test_unreachable_endpoint_names_it(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(JudgeError, match=r"127\.0\.0\.1.*not reachable"):  # the health check, before any prompt
        Judge("nobody", base_url=url, cache_dir=tmp_path)
    judge = Judge("nobody", base_url=url, cache_dir=tmp_path, health_check=False, max_retries=0, timeout=5)
    with pytest.raises(JudgeError, match=r"127\.0\.0\.1"):
        judge.complete(_msgs("x"))


def test_loopback_identity_ignores_port():
    assert judge_identity("m", "http://127.0.0.1:8000/v1") == judge_identity("m", "http://localhost:9/v1/")
    assert judge_identity("m", "https://api.example.com/v1") == "m@https://api.example.com/v1"
    assert judge_identity("m") == "m"


def test_local_model_judge_caches(tiny_model_dir, tmp_path):
    judge = Judge(tiny_model_dir, backend="hf", cache_dir=tmp_path, max_tokens=4)
    first = judge.complete(_msgs("one", "two"))
    assert judge.requests == 2 and len(first) == 2
    again = Judge(tiny_model_dir, backend="hf", cache_dir=tmp_path, max_tokens=4)
    assert again.complete(_msgs("two", "one")) == first[::-1] and again.requests == 0


@pytest.mark.slow
@pytest.mark.vllm
def test_real_vllm_endpoint_on_loopback(embedded_model_dir, tmp_path):
    """Starts `python -m vllm.entrypoints.openai.api_server` once (about 80 s on 2 CPU cores)."""
    from helpers.core.generation import vllm_available
    from helpers.core.serving import serve_local

    if not vllm_available():
        pytest.skip("vLLM is not installed")
    with serve_local("smollm2-135m-instruct", served_name="smol-judge", timeout=400) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        judge = Judge(server.name, base_url=server.base_url, cache_dir=tmp_path, max_tokens=16, concurrency=2)
        prompts = _msgs("What is 2 + 2? Answer with a number.", "Name a colour.")
        first = judge.complete(prompts)
        assert judge.requests == 2 and all(isinstance(t, str) and t.strip() for t in first)
        assert judge.complete(prompts) == first and judge.requests == 2  # second call: cache, no request
        rerun = Judge(server.name, base_url=server.base_url, cache_dir=tmp_path, max_tokens=16)
        assert rerun.complete(prompts[::-1]) == first[::-1] and rerun.requests == 0
        # temperature 0 is deterministic on the endpoint: a fresh cache reproduces the judgements
        fresh = Judge(server.name, base_url=server.base_url, cache_dir=tmp_path / "fresh", max_tokens=16)
        assert fresh.complete(prompts) == first and fresh.requests == 2
    assert server.process.poll() is not None  # stopped on exit


def test_local_judge_overlong_prompts_fail_cleanly(tiny_model_dir, tmp_path):
    long = "word " * 600
    judge = Judge(tiny_model_dir, backend="hf", cache_dir=tmp_path, max_tokens=4, max_model_len=256, on_error="empty")
    out = judge.complete(_msgs("short", long))
    assert out[1] == "" and judge.errors == 1 and isinstance(out[0], str)
    with pytest.raises(JudgeError, match="exceed"):
        Judge(tiny_model_dir, backend="hf", cache_dir=tmp_path / "b", max_tokens=4, max_model_len=256).complete(
            _msgs(long)
        )


def test_local_judge_prefill_is_rendered_returned_and_keyed(tiny_model_dir, tmp_path):
    judge = Judge(tiny_model_dir, backend="hf", cache_dir=tmp_path, max_tokens=3)
    msgs = _msgs("rate this")
    prefill = '{"score": '
    rendered = judge.render(msgs[0], prefill)
    # chat template + generation prompt, then the prefill: the model continues the assistant turn
    assert rendered == judge._gen.render(msgs[0]) + prefill and rendered.endswith("<|im_start|>assistant\n" + prefill)
    seen = []
    real_generate = judge._gen.generate
    judge._gen.generate = lambda prompts, *a, **kw: seen.extend(prompts) or real_generate(prompts, *a, **kw)
    out = judge.complete(msgs, prefill=prefill)
    assert seen == [rendered]  # the raw prefilled string reached the generator
    assert out[0].startswith(prefill) and len(out[0]) > len(prefill)
    assert judge.key(msgs[0], prefill) != judge.key(msgs[0]) and judge.key(msgs[0], "") == judge.key(msgs[0])
    # cached under the prefilled key: a rerun with the prefill hits the cache, without it is a new judgement
    again = Judge(tiny_model_dir, backend="hf", cache_dir=tmp_path, max_tokens=3)
    assert again.complete(msgs, prefill=prefill) == out and again.requests == 0
    plain = again.complete(msgs)
    assert again.requests == 1 and not plain[0].startswith(prefill)


def test_endpoint_judge_refuses_prefill(stub_url, tmp_path):
    judge = Judge("stub-judge", base_url=stub_url, cache_dir=tmp_path)
    with pytest.raises(JudgeError, match="prefill"):
        judge.complete(_msgs("a"), prefill='{"score": ')
    assert len(_Stub.calls) == 0 and judge.complete(_msgs("a"), prefill="") == ["echo: a"]


def test_judge_worker_makes_the_local_judges_records_and_retries_failures(tiny_model_dir, tmp_path):
    """What a Ray replica runs (``judge_worker``), here in this process: the same text as the local judge,
    a retry record (never cached) where the prompt is over the length limit."""
    from helpers.core.judge import judge_worker
    from helpers.core.store import RETRY

    long = "word " * 600
    kw = dict(backend="hf", max_tokens=3, max_model_len=256, on_error="empty")
    local = Judge(tiny_model_dir, cache_dir=tmp_path / "local", **kw)
    msgs = _msgs("rate this", long)
    expected = local.complete(msgs, prefill='{"score": ')
    process = judge_worker(tiny_model_dir, **kw)
    out = process(
        [
            {"id": "a", "messages": msgs[0], "prefill": '{"score": '},
            {"id": "b", "messages": msgs[1], "prefill": '{"score": '},
        ]
    )
    assert out[0] == {"id": "a", "text": expected[0]} and expected[0].startswith('{"score": ')
    assert out[1][RETRY] and out[1]["text"] == "" == expected[1]


def test_judge_on_ray_needs_a_cache_and_loads_no_model_here(tiny_model_dir, tmp_path):
    from helpers.core.executor import Executor

    with pytest.raises(JudgeError, match="needs cache_dir"):
        Judge(tiny_model_dir, backend="hf", executor=Executor("ray"))
    judge = Judge(tiny_model_dir, backend="hf", cache_dir=tmp_path, executor=Executor("ray"))
    assert judge._gen._backend is None and judge.render(_msgs("x")[0]).endswith("assistant\n")
    # everything already judged: Ray is not even asked
    cached = Judge(tiny_model_dir, backend="hf", cache_dir=tmp_path, max_tokens=3)
    texts = cached.complete(_msgs("one"))
    judge = Judge(tiny_model_dir, backend="hf", cache_dir=tmp_path, max_tokens=3, executor=Executor("ray"))
    assert judge.complete(_msgs("one")) == texts and judge.requests == 0
