import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from helpers.core.store import (
    JsonlStore,
    atomic_dir,
    atomic_write_json,
    cached_json,
    is_finished,
    mark_finished,
    read_json,
    run_stage,
    stable_id,
)


def test_stable_id_is_deterministic_and_sensitive():
    assert stable_id("a", {"x": 1}) == stable_id("a", {"x": 1})
    assert stable_id("a", {"x": 1}) != stable_id("a", {"x": 2})
    assert len(stable_id("a")) == 16


def test_store_drops_torn_last_line_and_dedups(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "a", "v": 1}\n{"id": "b", "v": 2}\n{"id": "c", "v"')  # killed mid-write
    store = JsonlStore(path)
    assert [r["id"] for r in store] == ["a", "b"]
    assert path.read_text().endswith("}\n")  # torn tail truncated, appends start on a clean line
    assert store.extend([{"id": "a", "v": 9}, {"id": "c", "v": 3}]) == 1
    again = JsonlStore(path)
    assert [r["id"] for r in again] == ["a", "b", "c"] and again.get("a")["v"] == 1


def test_run_stage_skips_finished_items(tmp_path):
    items = [{"id": str(i), "x": i} for i in range(10)]
    calls = []

    def square(batch):
        calls.append([b["id"] for b in batch])
        return [{"id": b["id"], "y": b["x"] ** 2} for b in batch]

    store = JsonlStore(tmp_path / "sq.jsonl")
    store.extend([{"id": "3", "y": 9}, {"id": "7", "y": 49}])
    out = run_stage(store, items, square, batch_size=4)
    assert [r["y"] for r in out] == [i * i for i in range(10)]
    assert sorted(sum(calls, [])) == sorted(str(i) for i in range(10) if i not in (3, 7))
    calls.clear()
    run_stage(JsonlStore(tmp_path / "sq.jsonl"), items, square)
    assert calls == []


def test_run_stage_rejects_duplicate_ids_and_short_batches(tmp_path):
    store = JsonlStore(tmp_path / "d.jsonl")
    with pytest.raises(ValueError, match="duplicate"):
        run_stage(store, [{"id": "1"}, {"id": "1"}], lambda b: b)
    with pytest.raises(RuntimeError, match="returned 0 records"):
        run_stage(store, [{"id": "1"}], lambda b: [])


def test_atomic_json_and_cached_json(tmp_path):
    path = atomic_write_json(tmp_path / "a" / "m.json", {"x": 1})
    assert read_json(path) == {"x": 1}
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    calls = []
    assert cached_json(tmp_path / "c.json", lambda: calls.append(1) or {"v": 2}) == {"v": 2}
    assert cached_json(tmp_path / "c.json", lambda: calls.append(1) or {"v": 3}) == {"v": 2}
    assert calls == [1]


WORKER = textwrap.dedent("""
    import json, sys
    from helpers import Generator, JsonlStore, Sampling, run_stage
    model, store_path, log_path = sys.argv[1:4]
    gen = Generator(model, backend="hf", batch_size=2)
    items = [{"id": f"q{i}", "q": f"Question number {i}?"} for i in range(12)]
    def answer(batch):
        with open(log_path, "a") as log:  # which items this process worked on
            log.write(json.dumps([b["id"] for b in batch]) + "\\n")
        outs = gen.generate([[{"role": "user", "content": b["q"]}] for b in batch], Sampling(max_tokens=24))
        return [{"id": b["id"], "text": o[0].text} for b, o in zip(batch, outs)]
    run_stage(JsonlStore(store_path), items, answer, batch_size=2)
""")


@pytest.mark.slow
def test_killed_generation_stage_resumes_without_loss_or_duplicates(tmp_path, tiny_model_dir):
    """Kill a real generation stage mid-run with SIGKILL, rerun it, check every record exactly once."""
    store_path, log1, log2 = tmp_path / "answers.jsonl", tmp_path / "log1", tmp_path / "log2"
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen([sys.executable, str(script), tiny_model_dir, str(store_path), str(log1)], env=env)
    deadline = time.time() + 240
    while time.time() < deadline:
        if store_path.exists() and store_path.read_text().count("\n") >= 4:
            break
        if proc.poll() is not None:
            pytest.fail("worker finished before it could be killed")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = {json.loads(line)["id"] for line in store_path.read_text().splitlines() if line.endswith("}")}
    assert 4 <= len(done_before) < 12, "the kill should land mid-stage"
    subprocess.run([sys.executable, str(script), tiny_model_dir, str(store_path), str(log2)], env=env, check=True)
    lines = store_path.read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert sorted(ids) == sorted(f"q{i}" for i in range(12)), "no lost and no duplicated records"
    redone = [i for line in log2.read_text().splitlines() for i in json.loads(line)]
    assert set(redone) == {f"q{i}" for i in range(12)} - done_before, "the rerun only did the missing work"


def test_malformed_lines_are_counted_and_warned(tmp_path):
    from helpers.core.store import JsonlStore

    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "a", "v": 1}\nnot json\n{"no_id": 1}\n{"id": "b", "v": 2}\n')
    with pytest.warns(UserWarning, match="2 malformed line"):
        store = JsonlStore(path)
    assert store.malformed_lines == 2 and sorted(r["id"] for r in store) == ["a", "b"]


def test_atomic_dir_keep_existing_never_removes_a_build_another_process_finished_first(tmp_path):
    from helpers.core.store import atomic_dir

    target = tmp_path / "cache" / "model"
    with atomic_dir(target, keep_existing=True) as mine:
        (mine / "w").write_text("mine")
        with atomic_dir(target, keep_existing=True) as theirs:  # another process finishes first
            (theirs / "w").write_text("theirs")
    assert (target / "w").read_text() == "theirs" and sorted(p.name for p in target.parent.iterdir()) == ["model"]
    with atomic_dir(target, keep_existing=True) as again:  # a target there from the start is replaced, as before
        (again / "w").write_text("again")
    assert (target / "w").read_text() == "again"
    with atomic_dir(target) as plain:
        (plain / "w").write_text("plain")
        with atomic_dir(target) as other:
            (other / "w").write_text("other")
    assert (target / "w").read_text() == "plain"  # without keep_existing the last build wins


def test_the_finished_marker_is_written_last_and_holds_the_stages_inputs(tmp_path):
    out, key = tmp_path / "stage", {"model": "m", "steps": 3, "path": tmp_path}
    assert not is_finished(out, "done.json", key) and not is_finished(out)
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "config.json").write_text("{}")
        raise RuntimeError("killed before the marker")
    assert not is_finished(out) and not out.exists()
    with atomic_dir(out) as tmp:
        (tmp / "config.json").write_text("{}")
        mark_finished(tmp, key, "done.json")
    assert is_finished(out) and is_finished(out, "done.json") and is_finished(out, "done.json", dict(key))
    assert not is_finished(out, "done.json", {**key, "steps": 4})  # other inputs: not finished for these
