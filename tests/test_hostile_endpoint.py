"""A hostile OpenAI-compatible endpoint (a tiny HTTP server on 127.0.0.1): the judge and the parsers never
crash on a reply, a hanging endpoint is bounded by the timeout, a refused one is a clear error up front."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import magpie
from helpers.core.judge import Judge, JudgeError
from helpers.core.serving import free_port
from helpers.core.textparse import json_objects
from helpers.evaluation import arena, benchbuilder, wildbench

HUGE = "9" * 4400  # past Python's 4,300-digit limit for int parsing
NESTED = '{"score": ' + "[" * 100_000 + "]" * 100_000 + "}"


def _chat(content):
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
    }


REPLIES = {  # prompt -> the raw JSON body the endpoint sends back
    "empty-choices": {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []},
    "no-choices": {"id": "x", "object": "chat.completion", "created": 0, "model": "m"},
    "null-content": _chat(None),
    "huge-number": _chat('{"score": ' + HUGE + ', "choice": "A+"}'),
    "deep-json": _chat(NESTED),
    "fine": _chat('{"score": 7, "choice": "A+"}'),
}


class _Hostile(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self._send({"object": "list", "data": [{"id": "m"}]})

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        if "Reply only with JSON" in prompt:  # every CulturalBench question: a dead endpoint (HTTP 500)
            self.send_error(500)
            return
        if prompt == "hang":
            time.sleep(6)
        self._send(REPLIES.get(prompt, _chat("?")))

    def _send(self, obj):
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_malformed_replies_are_counted_not_cached_and_never_raise(hostile_url, tmp_path):
    prompts = [[{"role": "user", "content": p}] for p in REPLIES]
    judge = Judge("m", base_url=hostile_url, cache_dir=tmp_path, on_error="raise")
    texts = judge.complete(prompts)
    assert judge.malformed == 3  # empty choices, no choices, null content
    assert texts[:3] == ["", "", ""]
    again = Judge("m", base_url=hostile_url, cache_dir=tmp_path)
    again.complete(prompts)
    assert again.requests == 3  # the malformed ones were not stored as judgements: asked again


@pytest.mark.parametrize(
    "text",
    [
        REPLIES["huge-number"]["choices"][0]["message"]["content"],
        NESTED,
        "{" * 200_000,
        '{"a": "' + "\\\\" * 50_000,
        "[" * 100_000 + "1" + "]" * 100_000,
    ],
)
def test_parsers_survive_hostile_text(text):
    start = time.time()
    list(json_objects(text))
    assert wildbench.parse_score(text) in (None, 7.0)
    wildbench.parse_label(text)
    arena.parse_verdict(text)
    benchbuilder.parse_criteria(text)
    for task in ("quality", "difficulty", "category"):
        magpie.parse_tag(task, text)
    assert time.time() - start < 5


def test_hanging_endpoint_is_bounded_by_the_timeout(hostile_url, tmp_path):
    judge = Judge("m", base_url=hostile_url, cache_dir=tmp_path, timeout=1.0, max_retries=0, on_error="empty")
    start = time.time()
    assert judge.complete([[{"role": "user", "content": "hang"}]]) == [""]
    assert time.time() - start < 5 and judge.errors == 1


def test_refused_endpoint_is_an_error_before_any_prompt(tmp_path):
    start = time.time()
    with pytest.raises(JudgeError, match="not reachable"):
        Judge("m", base_url=f"http://127.0.0.1:{free_port()}/v1", cache_dir=tmp_path)
    assert time.time() - start < 5


def test_culturalbench_from_failed_calls_is_not_presented_as_an_accuracy(hostile_url, tmp_path):
    from helpers.core.store import JsonlStore
    from helpers.culturegen import cbdata as cgbd
    from helpers.culturegen import culturalbench as cgb

    class FakeRun:
        def store(self, name, key="id"):
            return JsonlStore(tmp_path / f"{name}.jsonl", key=key)

    easy, hard = cgbd.load_culturalbench("builtin:culturalbench_offline.jsonl", limit=3)
    judge = Judge("m", base_url=hostile_url, cache_dir=tmp_path / "cache", timeout=2.0, max_retries=0, on_error="empty")
    cb = cgb.evaluate(FakeRun(), easy, hard, "m", judge=judge)
    assert cb["failed_calls"] == {"easy": 3, "hard": len(hard)} and cb["easy"].iloc[0].accuracy == 0.0
    assert cgb.measured(cb, "easy", cb["easy"].iloc[0].accuracy) is None
    assert "3/3 endpoint calls failed" in cgb.not_measured(cb, "easy")
