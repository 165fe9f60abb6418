"""Careless and hostile input to the runner: every bad value is one line and exit code 2 before compute,
run folders cannot be escaped or shared, a failed or interrupted run says so and leaves nothing stale."""

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.hostile_catalogue import CASES, run_case  # noqa: E402

from helpers.core.run_guard import remove_stale_temporaries, run_lock  # noqa: E402
from helpers.core.store import atomic_write_json, read_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("notebook, args, message", CASES, ids=[f"{nb}:{' '.join(a)[:40]}" for nb, a, _ in CASES])
def test_bad_input_is_one_line_and_exit_2(notebook, args, message, tmp_path):
    rc, err, seconds = run_case(notebook, args, str(tmp_path))
    assert rc == 2, err
    assert len(err.splitlines()) == 1 and message in err, err
    assert not any(tmp_path.iterdir()), "nothing may be written for a rejected run"


def test_the_run_lock_never_follows_a_symlink(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    run_dir = tmp_path / "out" / "00_quickstart" / "x"
    run_dir.mkdir(parents=True)
    (run_dir / ".lock").symlink_to(victim)
    rc, err, _ = run_case("00_quickstart", ["--run-name", "x"], str(tmp_path / "out"))
    assert rc == 2 and "lock" in err and len(err.splitlines()) == 1, err
    assert victim.read_text() == "precious\n" and sorted(p.name for p in run_dir.iterdir()) == [".lock"]


def test_a_store_line_repeating_an_id_with_other_content_is_reported(tmp_path):
    from helpers.core.store import JsonlStore

    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "a", "v": 1}\n{"id": "b", "v": 2}\n{"id": "a", "v": 1}\n{"id": "a", "v": 9}\n')
    with pytest.warns(UserWarning, match=r"id 'a' on line 4 \(line 1 is used\)"):
        store = JsonlStore(path)
    assert store.get("a") == {"id": "a", "v": 1} and store.conflicting_ids == 1  # an identical repeat is no conflict


def test_a_broken_cached_json_is_named_and_recomputed(tmp_path):
    from helpers.core.store import cached_json

    path = tmp_path / "data" / "speed_x.json"
    path.parent.mkdir()
    path.write_text('{"answers_per_s": ')
    with pytest.warns(UserWarning, match="speed_x.json: cached result is not readable JSON"):
        assert cached_json(path, lambda: {"answers_per_s": 2.0}) == {"answers_per_s": 2.0}
    assert read_json(path) == {"answers_per_s": 2.0}


def test_params_values_are_checked_element_by_element_and_finite():
    from helpers.core.params import ParamsError, ParamSpec, validate_params

    specs = {
        "xs": ParamSpec("xs", [0.1], "[0..1] shares"),
        "n": ParamSpec("n", 3, "[1..] count"),
        "names": ParamSpec("names", [], "names"),
        "lo": ParamSpec("lo", 0.0, "a threshold"),
    }
    assert validate_params({"xs": [0, 1], "names": ["a"], "lo": -2}, specs) == {
        "xs": [0.0, 1.0],
        "names": ["a"],
        "lo": -2.0,
    }
    for bad, text in [
        ({"xs": [float("nan")]}, "finite"),
        ({"xs": [[0.1]]}, "element 0 must be float"),
        ({"names": [["a"]]}, "element 0 must be str"),
        ({"n": 10**30}, "too large"),
        ({"lo": float("inf")}, "finite"),
        ({"n": float("nan")}, "must be int"),
    ]:
        with pytest.raises(ParamsError, match=text):
            validate_params(bad, specs)


def test_culturalbench_failed_calls_above_the_threshold_are_not_measured():
    from helpers.culturegen import culturalbench as cgb

    cb = {"failed_calls": {"easy": 6, "hard": 1}, "calls": {"easy": 6, "hard": 24}}
    assert "6/6 endpoint calls failed" in cgb.not_measured(cb, "easy")
    assert cgb.measured(cb, "easy", 0.0) is None
    assert cgb.not_measured(cb, "hard") is None and cgb.measured(cb, "hard", 0.5) == 0.5  # 1/24: below 10%
    assert cgb.not_measured({"failed_calls": {"easy": 0}, "calls": {"easy": 0}}, "easy") is None


def test_a_second_run_with_the_same_name_refuses(tmp_path):
    run_dir = tmp_path / "00_quickstart" / "busy"
    run_dir.mkdir(parents=True)
    with run_lock(run_dir):
        rc, err, _ = run_case("00_quickstart", ["--run-name", "busy"], str(tmp_path))
    assert rc == 2 and "in use by another run" in err and len(err.splitlines()) == 1, err


def test_metrics_are_strict_json(tmp_path):
    path = atomic_write_json(tmp_path / "m.json", {"a": float("nan"), "b": [1.0, float("inf")], "c": {"d": -math.inf}})
    assert json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in metrics")) == {
        "a": None,
        "b": [1.0, None],
        "c": {"d": None},
    }
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_stale_temporaries_are_removed(tmp_path):
    (tmp_path / "data" / ".stage.jsonl.abc.tmp").mkdir(parents=True)
    (tmp_path / "data" / ".stage.jsonl.abc.tmp" / "part").write_text("x")
    (tmp_path / ".metrics.json.xyz.tmp").write_text("{")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "plot.tmp.png").write_text("")
    (tmp_path / "data" / "keep.jsonl").write_text("{}\n")
    assert remove_stale_temporaries(tmp_path) == 3
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["data", "data/keep.jsonl", "figures"]


def _notebook(path: Path, body: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("out_path = ''  # where the cell writes its process ids")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A test notebook"), params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_a_failed_rerun_is_marked_failed_and_leaves_no_stale_results(tmp_path):
    nb = _notebook(tmp_path / "fails.ipynb", "raise ValueError('the data is bad')")
    run_dir = tmp_path / "out" / "fails" / "r1"
    (run_dir / "data" / ".stage.jsonl.x.tmp").mkdir(parents=True)
    (run_dir / "metrics.json").write_text('{"accuracy": 0.99}')  # the previous, successful run's result
    proc = subprocess.run(
        [sys.executable, "-m", "helpers.run", str(nb), "--run-name", "r1", "--outputs", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert "ValueError" in proc.stderr and "the data is bad" in proc.stderr
    status = read_json(run_dir / "run.json")
    assert status["status"] == "failed" and "the data is bad" in status["error"]
    assert not (run_dir / "metrics.json").exists()
    assert (run_dir / "report.html").exists() and not (run_dir / "data" / ".stage.jsonl.x.tmp").exists()
    assert status["git"]["commit"] and "dirty" in status["git"]
    assert "the data is bad" in (tmp_path / "out" / "index.html").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_killing_the_runner_stops_the_kernel_and_its_children(tmp_path, sig):
    import psutil

    body = (
        "import os, subprocess, time\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        "grandchild = subprocess.Popen(['bash', '-c', 'sleep 300 & wait'])\n"
        "open(out_path, 'w').write(' '.join(map(str, [os.getpid(), child.pid, grandchild.pid])))\n"
        "time.sleep(300)"
    )
    nb = _notebook(tmp_path / "hangs.ipynb", body)
    pids_file = tmp_path / "pids"
    runner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "helpers.run",
            str(nb),
            "-p",
            f"out_path={pids_file}",
            "--run-name",
            "r1",
            "--outputs",
            str(tmp_path / "out"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while (
        not (pids_file.exists() and pids_file.read_text().strip()) and time.time() < deadline and runner.poll() is None
    ):
        time.sleep(0.5)
    assert runner.poll() is None, runner.communicate()[1]
    pids = [int(p) for p in pids_file.read_text().split()]
    pids += [c.pid for c in psutil.Process(pids[2]).children(recursive=True)]  # the bash's own sleep
    runner.send_signal(sig)
    _, err = runner.communicate(timeout=60)
    assert runner.returncode == 130, err
    time.sleep(1)
    alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"orphans left running: {alive}"
    assert read_json(tmp_path / "out" / "hangs" / "r1" / "run.json")["status"] == "interrupted"
