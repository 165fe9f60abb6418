"""helpers.core.executor: the same stages locally and on Ray Data replicas (issue #17).

Fast tests check the params, the WorkerSpec and the precheck. The slow ones start a REAL two-node Ray
cluster on 127.0.0.1 (a head and one worker node, one CPU each, `ray start` in subprocesses with a temp
dir, bounded by timeouts, stopped in the fixture's teardown) and run a Magpie responses stage, a CDR
log-prob stage and Culture-Gen's (07) continuation and symbol-scoring stages with 2 replicas on the embedded
model, compared with executor local; then a resume.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from helpers.core.executor import (
    EXECUTOR_SETTINGS,
    Executor,
    WorkerSpec,
    check_params,
    echo_worker,
    parse_address,
    run_stage_on,
)
from helpers.core.serving import free_port
from helpers.core.store import RETRY, JsonlStore

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- fast: params, spec, precheck
def test_executor_params_are_validated_with_the_parameter_named():
    assert Executor.from_params({}) == Executor("local")
    ex = Executor.from_params({"executor": "ray", "ray_address": "auto", "ray_replicas": 4, "ray_gpus_per_replica": 2})
    assert (ex.kind, ex.address, ex.replicas, ex.tensor_parallel_size) == ("ray", "auto", 4, 2)
    assert "4 replica(s)" in str(ex) and str(Executor()) == "locally (this process)"
    assert Executor("ray", gpus_per_replica=0.5).tensor_parallel_size == 0  # two replicas share a GPU: no TP
    for bad, name in [
        ({"executor": "spark"}, "executor"),
        ({"ray_replicas": 0}, "ray_replicas"),
        ({"ray_replicas": 1.5}, "ray_replicas"),
        ({"ray_gpus_per_replica": -1}, "ray_gpus_per_replica"),
        ({"ray_gpus_per_replica": 1.5}, "ray_gpus_per_replica"),
        ({"ray_address": "no-port"}, "ray_address"),
        ({"ray_address": "http://h:1"}, "ray_address"),
    ]:
        with pytest.raises(ValueError, match=f"parameter '{name}'"):
            Executor.from_params({"executor": "ray", **bad})
    assert parse_address("auto") == ("auto", "", None)
    assert parse_address("10.0.0.5:6379") == ("gcs", "10.0.0.5", 6379)
    assert parse_address("ray://head:10001") == ("client", "head", 10001)


def test_every_executor_param_is_in_the_notebooks_and_not_keyed():
    from helpers.cdr.stages import GRAPH as CDR
    from helpers.core.params import notebook_path, read_param_specs
    from helpers.culturegen.stages import GRAPH as CULTUREGEN
    from helpers.evaluation.stages import ARENA, BENCHBUILDER, WILDBENCH
    from helpers.magpie.stages import GRAPH as MAGPIE

    for nb, graph in (
        ("01_magpie", MAGPIE),
        ("02_wildbench", WILDBENCH),
        ("03_benchbuilder", BENCHBUILDER),
        ("04_arena_hard", ARENA),
        ("05_cdr", CDR),
        ("07_culturegen", CULTUREGEN),
    ):
        specs = read_param_specs(notebook_path(nb))
        assert {k: specs[k].default for k in EXECUTOR_SETTINGS} == {
            "executor": "local",
            "ray_address": "",
            "ray_replicas": 1,
            "ray_gpus_per_replica": 0,
        }
        assert set(EXECUTOR_SETTINGS) <= set(graph.uncached) and not set(EXECUTOR_SETTINGS) & graph.keyed_params()
        base = {k: s.default for k, s in specs.items()}
        ray = {**base, "executor": "ray", "ray_address": "auto", "ray_replicas": 8, "ray_gpus_per_replica": 2}
        assert graph.hashes(ray) == graph.hashes(base)  # same stores: a Ray run resumes a local one and back


def test_worker_spec_holds_plain_data_only():
    spec = WorkerSpec(echo_worker, {"add": {"x": 1}})
    assert spec.factory == "helpers.core.executor:echo_worker" and spec.accepts("add") and not spec.accepts("nope")
    assert spec.build()([{"id": "a"}])[0]["x"] == 1
    from helpers.core.generation import Sampling

    WorkerSpec("helpers.magpie.pipeline:response_worker", {"sampling": Sampling(max_tokens=3), "n": [1, (2, None)]})
    with pytest.raises(TypeError, match=r"kwargs\['gen'\] is a .*object.*plain data"):
        WorkerSpec(echo_worker, {"gen": object()})
    with pytest.raises(ValueError, match="module-level"):
        WorkerSpec(lambda: None)
    with pytest.raises(ValueError, match="package.module:function"):
        WorkerSpec("helpers.core.executor.echo_worker")
    import pickle

    assert pickle.loads(pickle.dumps(spec)) == spec


def test_local_executor_is_run_stage_and_builds_nothing_when_all_ids_are_stored(tmp_path, monkeypatch):
    items = [{"id": f"i{k}", "v": k} for k in range(5)]
    store = JsonlStore(tmp_path / "s.jsonl")
    out = run_stage_on(
        "local", store, items, WorkerSpec(echo_worker, {"add": {"done": True}, "retry_ids": ["i3"]}), batch_size=2
    )
    assert [r["id"] for r in out] == [it["id"] for it in items] and all(r["done"] for r in out)
    assert "i3" not in store and store.retry_pending == 1 and out[3][RETRY]
    built = []
    monkeypatch.setattr(WorkerSpec, "build", lambda self, **kw: built.append(1) or echo_worker())
    again = JsonlStore(tmp_path / "s.jsonl")
    run_stage_on(Executor(), again, [it for it in items if it["id"] != "i3"], WorkerSpec(echo_worker), batch_size=2)
    assert built == []  # every id stored: no model would have been loaded
    run_stage_on(None, again, items, lambda batch: [{**it, "plain": 1} for it in batch])  # a batch function, as before
    assert again.get("i3")["plain"] == 1
    with pytest.raises(TypeError, match="needs a WorkerSpec"):
        run_stage_on(Executor("ray"), JsonlStore(tmp_path / "t.jsonl"), items, lambda b: b)


def test_precheck_gives_one_line_for_an_unreachable_cluster_or_a_missing_ray(monkeypatch):
    check_params({"executor": "local", "ray_address": "nowhere:1"})  # local: the Ray params are not looked at
    check_params({"executor": "ray", "ray_address": ""})  # a local Ray instance: nothing to reach
    port = free_port()
    with pytest.raises(ValueError, match=rf"parameter 'ray_address': no Ray cluster answers at 127.0.0.1:{port}"):
        check_params({"executor": "ray", "ray_address": f"127.0.0.1:{port}"}, timeout=2)
    with pytest.raises(ValueError, match="tensor parallelism, which needs backend vllm"):
        check_params({"executor": "ray", "ray_gpus_per_replica": 2, "backend": "hf"})
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(ValueError, match=r"parameter 'executor': ray is not installed here \(pip install"):
        check_params({"executor": "ray"})


def test_runner_stops_before_compute_when_the_cluster_is_unreachable(tmp_path):
    port = free_port()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "helpers.run",
            "05_cdr",
            "-p",
            "executor=ray",
            "-p",
            f"ray_address=127.0.0.1:{port}",
            "--outputs",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(proc.stderr.strip().splitlines()) == 1 and "no Ray cluster answers" in proc.stderr, proc.stderr


# --------------------------------------------------------------------------- slow: a real two-node cluster
# Ray turns 127.0.0.1 into the host's address for multi-node clusters; the nodes and this driver keep it on
# loopback so that nothing listens beyond this machine.
_LOOPBACK = (
    "import sys; import ray._private.services as s; s.resolve_ip_for_localhost = lambda host: host; "
    "from ray.scripts.scripts import main; sys.argv = ['ray'] + sys.argv[1:]; main()"
)


def _ray_start(args: list[str], env: dict, groups: list[int], timeout: float = 120) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _LOOPBACK, "start", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    groups.append(proc.pid)  # the node's daemons stay in this process group: the teardown ends exactly them
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise RuntimeError(f"ray start {' '.join(args[:2])} did not finish in {timeout} s")
    if proc.returncode:
        raise RuntimeError(f"ray start failed ({proc.returncode}):\n{out[-3000:]}")


def _stop_groups(groups: list[int]) -> None:
    """End the nodes this test started (their process groups), never any other Ray on the machine."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for g in groups:
            try:
                os.killpg(g, sig)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(2 if sig == signal.SIGTERM else 0)


@pytest.fixture(scope="module")
def cluster(monkeypatch_module):
    import ray._private.services as services

    monkeypatch_module.setattr(services, "resolve_ip_for_localhost", lambda host: host)
    tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's unix sockets live under it
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "TOKENIZERS_PARALLELISM": "false"}
    port, groups = free_port(), []
    common = ["--num-cpus=1", "--object-store-memory=150000000", "--disable-usage-stats", "--node-ip-address=127.0.0.1"]
    try:
        _ray_start(
            [
                "--head",
                f"--port={port}",
                "--include-dashboard=false",
                f"--temp-dir={tmp}",
                f"--ray-client-server-port={free_port()}",
                f"--dashboard-agent-listen-port={free_port()}",
                *common,
            ],
            env,
            groups,
        )
        _ray_start(
            [f"--address=127.0.0.1:{port}", f"--dashboard-agent-listen-port={free_port()}", *common], env, groups
        )
        yield f"127.0.0.1:{port}"
    finally:
        try:
            import ray

            ray.shutdown()
        finally:
            _stop_groups(groups)
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _ray(address: str) -> Executor:
    return Executor("ray", address=address, replicas=2, cpus_per_replica=1)


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


@pytest.mark.slow
def test_cluster_has_two_nodes_on_loopback_and_echo_runs_with_retries(cluster, tmp_path):
    import ray

    from helpers.core.ray_exec import connect

    ex = _ray(cluster)
    assert connect(ex)["CPU"] == 2
    assert sorted(n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]) == ["127.0.0.1", "127.0.0.1"]
    items = [{"id": f"e{k}", "nested": {"a": [k, None, "x"]}} for k in range(6)]
    store = JsonlStore(tmp_path / "echo.jsonl")
    out = run_stage_on(ex, store, items, WorkerSpec(echo_worker, {"add": {"y": 2}, "retry_ids": ["e4"]}), batch_size=2)
    assert [r["id"] for r in out] == [it["id"] for it in items] and out[0]["nested"] == {"a": [0, None, "x"]}
    assert out[4][RETRY] and "e4" not in store and store.retry_pending == 1 and len(_lines(store.path)) == 5
    assert ex.last["sent"] == 6 and ex.last["batches"] == 3
    # each batch is the consecutive slice a local run makes
    assert len({r["ran_on"] for r in out[0:2]}) == 1 and len({r["ran_on"] for r in out[2:4]}) == 1


MAGPIE_QUERIES = [
    "What is the capital of France?",
    "Give me three tips for better sleep.",
    "Explain what a prime number is.",
    "Write a haiku about autumn.",
    "How do I boil an egg?",
    "Name two uses of copper.",
]


@pytest.mark.slow
def test_magpie_responses_on_ray_match_local(cluster, tmp_path):
    from helpers import magpie as mp
    from helpers.core.generation import Sampling

    items = [{"id": f"q{k}", "instruction": q, "system": "default"} for k, q in enumerate(MAGPIE_QUERIES)]
    writer = {"model": "smollm2-135m-instruct", "backend": "hf", "tensor_parallel_size": 1, "batch_size": 16}
    spec = mp.response_spec(writer, {"default": None}, Sampling(temperature=0.0, max_tokens=12), rules=mp.CleanRules())
    local = run_stage_on("local", JsonlStore(tmp_path / "local.jsonl"), items, spec, batch_size=2, desc="local")
    ex = _ray(cluster)
    remote = run_stage_on(ex, JsonlStore(tmp_path / "ray.jsonl"), items, spec, batch_size=2, desc="ray")
    print("replicas used:", ex.last["replicas_used"])
    assert ex.last["sent"] == len(items) and ex.last["batches"] == 3
    assert [r["id"] for r in remote] == [r["id"] for r in local] == [it["id"] for it in items]
    for a, b in zip(local, remote):
        assert b["response"] == a["response"] and b["turns"] == a["turns"], a["id"]
        assert (b["response_tokens"], b["response_finish"], b["tokens"]) == (
            a["response_tokens"],
            a["response_finish"],
            a["tokens"],
        )
    assert sorted(r["id"] for r in _lines(tmp_path / "ray.jsonl")) == sorted(it["id"] for it in items)


def _cdr_items(n_examples: int = 4):
    from helpers import cdr
    from helpers.cdr import rewardbench as rb

    examples = rb.load_preference_set("builtin:rewardbench_offline.jsonl", per_subset=1)[:n_examples]
    return cdr.response_items(examples, lambda e: rb.chat_prompt(e["prompt"]))


@pytest.mark.slow
def test_cdr_logprobs_on_ray_match_local_and_resume_sends_only_missing_ids(cluster, tmp_path):
    from helpers import cdr

    items = _cdr_items()
    spec = cdr.logprob_spec("smollm2-135m-instruct", batch_size=4, max_prompt_tokens=256, max_response_tokens=64)
    local = cdr.score_responses(JsonlStore(tmp_path / "local.jsonl"), spec, items, batch_size=3, executor="local")
    ex = _ray(cluster)
    remote = cdr.score_responses(JsonlStore(tmp_path / "ray.jsonl"), spec, items, batch_size=3, executor=ex)
    assert list(remote) == list(local) == [it["id"] for it in items]
    for k in local:
        assert remote[k].n_tokens == local[k].n_tokens
        assert remote[k].sum == pytest.approx(local[k].sum, abs=1e-4) and remote[k].mean == pytest.approx(
            local[k].mean, abs=1e-4
        )
    assert ex.last["sent"] == len(items)

    # resume: a store holding part of the records (a killed run) gets only the missing ids computed
    lines = (tmp_path / "local.jsonl").read_text().splitlines(keepends=True)
    done = lines[::2]
    (tmp_path / "resume.jsonl").write_text("".join(done))
    resumed = cdr.score_responses(JsonlStore(tmp_path / "resume.jsonl"), spec, items, batch_size=3, executor=ex)
    recs = _lines(tmp_path / "resume.jsonl")
    assert len(recs) == len(items) == len({r["id"] for r in recs})  # nothing duplicated
    assert ex.last["sent"] == len(items) - len(done)  # only the missing ids went to Ray
    assert [json.dumps(r) + "\n" for r in recs[: len(done)]] == [json.dumps(json.loads(x)) + "\n" for x in done]
    assert {r["id"] for r in recs[len(done) :]} == {json.loads(x)["id"] for x in lines[1::2]}
    for k in local:
        assert resumed[k].sum == pytest.approx(local[k].sum, abs=1e-4)
    again = cdr.score_responses(JsonlStore(tmp_path / "resume.jsonl"), spec, items, batch_size=3, executor=ex)
    assert ex.last["sent"] == 0 and again == resumed  # complete: nothing sent, Ray not even asked


@pytest.mark.slow
def test_culturegen_continuations_on_ray_match_local(cluster, tmp_path):
    from helpers.culturegen import data as cgd
    from helpers.culturegen import generate as cgg

    items = cgg.generation_items(cgd.select_cultures([], 1)[:2], cgd.select_topics([])[:2], ["neutral"])  # 6 prompts
    kw = dict(
        model="smollm2-135m-instruct",
        backend="hf",
        n_samples=1,
        temperature=0.0,
        max_tokens=10,
        seed=0,
        prompts_per_call=2,
    )
    local, local_stats = cgg.generate_stage(
        None, items, store=JsonlStore(tmp_path / "local.jsonl"), executor="local", **kw
    )
    ex = _ray(cluster)
    remote, stats = cgg.generate_stage(None, items, store=JsonlStore(tmp_path / "ray.jsonl"), executor=ex, **kw)
    print("replicas used:", ex.last["replicas_used"], cgg.speed_line(stats))
    assert ex.last["sent"] == len(items) and ex.last["batches"] == 3
    assert [r["id"] for r in remote] == [r["id"] for r in local] == [it["id"] for it in items]
    assert remote == local  # same prompts, same greedy continuations, same finish reasons
    by_id = lambda name: sorted(_lines(tmp_path / name), key=lambda r: r["id"])  # noqa: E731 (batches may land in any order)
    assert by_id("ray.jsonl") == by_id("local.jsonl")
    assert stats["sequences"] == local_stats["sequences"] == len(items) and stats["backend"] == "hf"
    again, again_stats = cgg.generate_stage(None, items, store=JsonlStore(tmp_path / "ray.jsonl"), executor=ex, **kw)
    assert again == remote and ex.last["sent"] == 0 and cgg.speed_line(again_stats) == "resumed from the store"


@pytest.mark.slow
def test_culturegen_symbol_scores_on_ray_match_local(cluster, tmp_path):
    from helpers.core.logprobs import LogProbScorer
    from helpers.culturegen import data as cgd
    from helpers.culturegen import score as cgs

    cultures = cgd.select_cultures([], 1)[:3]
    topics = cgd.select_topics([])[:2]
    items = cgs.score_items(topics, {topics[0].key: ["sushi", "rice"], topics[1].key: ["tea"]})  # + each generic
    local, _ = cgs.score_stage(
        None,
        LogProbScorer("smollm2-135m-instruct", batch_size=2),
        items,
        cultures,
        "smollm2-135m-instruct",
        batch_size=2,
        store=JsonlStore(tmp_path / "local.jsonl"),
    )
    ex = _ray(cluster)
    spec = cgs.score_spec("smollm2-135m-instruct", cultures, batch_size=2)
    remote, speed = cgs.score_stage(
        None,
        spec,
        items,
        cultures,
        "smollm2-135m-instruct",
        batch_size=2,
        store=JsonlStore(tmp_path / "ray.jsonl"),
        executor=ex,
    )
    assert ex.last["sent"] == len(items) == 5 and ex.last["batches"] == 3
    assert list(remote) == list(local) and speed["sentences"] == len(items) * len(cultures)
    for k, a in local.items():
        b = remote[k]
        assert (b["id"], b["head"], b["head_n"], b["tail_n"]) == (a["id"], a["head"], a["head_n"], a["tail_n"])
        assert b["head_sum"] == pytest.approx(a["head_sum"], abs=1e-4)
        assert b["tail_sum"] == pytest.approx(a["tail_sum"], abs=1e-4)


@pytest.mark.slow
def test_judge_calls_on_ray_match_local_and_failures_are_retried_not_cached(cluster, tmp_path):
    """A local judge (WildBench-style prefill) on 2 replicas: same judgements and cache records as a local
    judge; an over-long prompt is a counted failure, not cached; a second call sends nothing."""
    from helpers.core.judge import Judge

    msgs = [[{"role": "user", "content": q}] for q in MAGPIE_QUERIES[:4]] + [
        [{"role": "user", "content": "word " * 600}]
    ]
    kw = dict(backend="hf", max_tokens=6, max_model_len=256, on_error="empty", batch_size=2)
    local = Judge("smollm2-135m-instruct", cache_dir=tmp_path / "local", **kw)
    expected = local.complete(msgs, prefill='{"score": ')
    ex = _ray(cluster)
    judge = Judge("smollm2-135m-instruct", cache_dir=tmp_path / "ray", executor=ex, **kw)
    got = judge.complete(msgs, prefill='{"score": ')
    pool = next(iter(ex._pools.values()))
    print("replicas used:", pool.used)
    assert len(pool.used) == 2  # 3 batches over 2 replicas on 2 nodes
    assert got == expected and got[-1] == "" and judge.last_failed == [False] * 4 + [True]
    assert (judge.requests, judge.errors) == (5, 1)
    by_id = lambda d: sorted(_lines(next(d.glob("judge-*.jsonl"))), key=lambda r: r["id"])  # noqa: E731
    assert by_id(tmp_path / "ray") == by_id(tmp_path / "local") and len(by_id(tmp_path / "ray")) == 4
    assert len(ex._pools) == 1 and pool.calls == 1
    again = Judge("smollm2-135m-instruct", cache_dir=tmp_path / "ray", executor=ex, **kw)
    assert again.complete(msgs[:4], prefill='{"score": ') == expected[:4] and again.requests == 0
    # a later call (a judge asked per batch of a stage) reuses the same replicas: no model is loaded again
    more = [[{"role": "user", "content": q}] for q in MAGPIE_QUERIES[4:]]
    assert again.complete(more, prefill='{"score": ') == local.complete(more, prefill='{"score": ')
    assert next(iter(ex._pools.values())) is pool and pool.calls == 2 and len(pool.used) == 2
    # another prefill (WB-Score, then WB-Reward) is the same judge: the same replicas again, none left waiting
    plain = again.complete(more)
    assert plain == local.complete(more) and next(iter(ex._pools.values())) is pool and pool.calls == 3
    # another judge replaces the pool (one pool at a time: held CPUs would leave a second one waiting forever)
    other = Judge("smollm2-135m-instruct", cache_dir=tmp_path / "other", executor=ex, **{**kw, "max_tokens": 3})
    assert len(other.complete(more)) == 2 and other.requests == 2 and len(ex._pools) == 1
    assert next(iter(ex._pools.values())) is not pool and pool.actors == []
    # a Ray Data stage on the same executor first gives the held replicas' CPUs back (else it would wait forever)
    out = run_stage_on(
        ex, JsonlStore(tmp_path / "echo.jsonl"), [{"id": "e0"}, {"id": "e1"}], WorkerSpec(echo_worker), batch_size=1
    )
    assert [r["id"] for r in out] == ["e0", "e1"] and not ex._pools and pool.actors == []


@pytest.mark.slow
def test_cdr_onpolicy_samples_on_ray_match_local(cluster, tmp_path):
    """05's on-policy sampling (temperature 0.8, 2 samples per prompt, seeds from the ids) on 2 replicas."""
    from helpers import cdr

    items = [{"id": f"p{k}", "prompt": [{"role": "user", "content": q}]} for k, q in enumerate(MAGPIE_QUERIES[:3])]
    spec = cdr.onpolicy_spec("smollm2-135m-instruct", "hf", n=2, temperature=0.8, max_tokens=8, seed=3)
    local = run_stage_on("local", JsonlStore(tmp_path / "local.jsonl"), items, spec, batch_size=2, desc="local")
    ex = _ray(cluster)
    remote = run_stage_on(ex, JsonlStore(tmp_path / "ray.jsonl"), items, spec, batch_size=2, desc="ray")
    assert ex.last["sent"] == 3 and ex.last["batches"] == 2
    assert remote == local and all(len(r["samples"]) == 2 for r in remote)
    assert [i["id"] for i in cdr.sample_items(remote)] == ["p0/s0", "p0/s1", "p1/s0", "p1/s1", "p2/s0", "p2/s1"]
