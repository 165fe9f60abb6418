"""The suite runs a notebook after every notebook whose outputs it reads (helpers.core.runs.suite_order)."""

import pytest

from helpers.core.params import ParamsError
from helpers.core.runs import suite_order

ROOT = "/repo/outputs"


def test_no_dependencies_keeps_file_name_order():
    plan = [("00_a", {"x": 1}), ("01_b", {"m": "smollm2"}), ("02_c", {"l": ["a", "b"]})]
    assert suite_order(plan) == ["00_a", "01_b", "02_c"]


def test_a_notebook_runs_after_the_one_whose_outputs_it_reads():
    plan = [
        ("00_a", {}),
        ("04_arena", {"extra_checkpoints": ["hub/model", f"{ROOT}/06_tulu/full-gpu/checkpoints/dpo-1-s0"], "n": 3}),
        ("05_cdr", {}),
        ("06_tulu", {"policy": "Qwen/Qwen2.5-0.5B-Instruct"}),
    ]
    assert suite_order(plan) == ["00_a", "05_cdr", "06_tulu", "04_arena"]


def test_string_params_and_run_sources_count_and_ties_keep_file_name_order():
    plan = [
        ("02_w", {"ckpt": f"{ROOT}/01_m/quick/checkpoints/sft"}),
        ("01_m", {}),
        ("03_b", {}),
        ("04_a", {"prompts_data": "run:03_b"}),
    ]
    assert suite_order(plan) == ["01_m", "02_w", "03_b", "04_a"]


def test_outputs_of_a_notebook_outside_the_plan_and_of_itself_are_ignored():
    plan = [("01_a", {"p": f"{ROOT}/09_z/run/x", "q": f"{ROOT}/01_a/run/y"}), ("02_b", {})]
    assert suite_order(plan) == ["01_a", "02_b"]
    # a prefix of another name is not that notebook
    assert suite_order([("01_a", {"p": f"{ROOT}/02_bb/run/x"}), ("02_b", {})]) == ["01_a", "02_b"]


def test_a_chain_moves_every_dependant():
    plan = [("01_a", {"p": f"{ROOT}/03_c/r/x"}), ("02_b", {"p": [f"{ROOT}/01_a/r/x"]}), ("03_c", {})]
    assert suite_order(plan) == ["03_c", "01_a", "02_b"]


def test_a_cycle_is_a_params_error_naming_the_notebooks():
    plan = [("01_a", {"p": f"{ROOT}/02_b/r/x"}), ("02_b", {"p": [f"{ROOT}/01_a/r/y"]}), ("03_c", {})]
    with pytest.raises(ParamsError, match="cycle.*01_a reads 02_b.*02_b reads 01_a"):
        suite_order(plan)


def test_the_suite_runs_nothing_when_the_plan_has_a_cycle(monkeypatch, tmp_path):
    from helpers.core import run as runner

    calls = []
    monkeypatch.setattr(runner, "run_notebook", lambda *a, **k: calls.append(a))
    fake = {"00_quickstart": {"m": f"{ROOT}/01_magpie/quick/x"}, "01_magpie": {"m": f"{ROOT}/00_quickstart/quick/y"}}
    monkeypatch.setattr(runner, "resolve_params", lambda nb, files, overrides: fake[nb.stem])
    with pytest.raises(ParamsError, match="cycle"):
        runner.run_suite("quick", only=["00_quickstart", "01_magpie"], outputs=tmp_path)
    assert calls == []


def test_the_suite_runs_the_plan_in_dependency_order(monkeypatch, tmp_path):
    from helpers.core import run as runner

    calls = []
    monkeypatch.setattr(runner, "run_notebook", lambda name, *a, **k: calls.append(name))
    fake = {
        "04_arena_hard": {"extra_checkpoints": [f"{ROOT}/06_tulu/quick/checkpoints/x-s0"]},
        "05_cdr": {},
        "06_tulu": {},
    }
    monkeypatch.setattr(runner, "resolve_params", lambda nb, files, overrides: fake[nb.stem])
    runner.run_suite("quick", only=list(fake), outputs=tmp_path)
    assert calls == ["05_cdr", "06_tulu", "04_arena_hard"]


def test_side_by_side_respects_dependencies_and_the_job_limit(tmp_path, monkeypatch):
    """``suite --jobs 2``: children are real processes (here a stand-in that records start and end times)."""
    import json
    import sys
    from pathlib import Path

    from helpers.core import suite_jobs
    from helpers.core.runs import suite_needs

    def fake(nb, files, overrides, profile, outputs, report, rehearse):
        code = (
            f"import json, time; t = time.time(); time.sleep(0.6); "
            f"open({str(tmp_path / nb)!r} + '.json', 'w').write(json.dumps([t, time.time()])); "
            f"raise SystemExit(3 if {nb!r} == '02_c' else 0)"
        )
        return [sys.executable, "-c", code]

    monkeypatch.setattr(suite_jobs, "child_command", fake)
    raw = [("00_a", {}), ("01_b", {"ckpt": f"{ROOT}/00_a/quick/x"}), ("02_c", {}), ("03_d", {})]
    plan = [(Path(f"{name}.ipynb"), [], params) for name, params in raw]
    results = suite_jobs.run_side_by_side(plan, suite_needs(raw), 2, "quick", [], tmp_path / "out", "full", False, {})
    assert [r["notebook"] for r in results] == ["00_a", "01_b", "02_c", "03_d"]
    assert [r["ok"] for r in results] == [True, True, False, True] and "exit code 3" in results[2]["error"]
    span = {nb: json.loads((tmp_path / f"{nb}.json").read_text()) for nb, _ in raw}
    assert span["01_b"][0] >= span["00_a"][1]  # started after the notebook whose outputs it reads had finished
    starts = sorted(t for t, _ in span.values())
    for t in starts:  # never more than 2 at once
        assert sum(s <= t < e for s, e in span.values()) <= 2
    assert span["02_c"][0] < span["00_a"][1]  # an independent notebook ran beside 00_a


def test_notebooks_that_use_no_shared_server_start_while_the_servers_boot(tmp_path, monkeypatch):
    """``suite --jobs 2``: while the shared servers start (a Future), a notebook that would use one waits and the
    others run; once the servers are up, it starts with their addresses."""
    import json
    import sys
    import threading
    import time
    from concurrent.futures import Future
    from pathlib import Path

    from helpers.core import generation, suite_jobs
    from helpers.core.engines import SERVERS_ENV
    from helpers.core.models import resolve_model

    def fake(nb, files, overrides, profile, outputs, report, rehearse):
        code = (
            f"import json, os, time; t = time.time(); time.sleep(0.3); "
            f"open({str(tmp_path / nb)!r} + '.json', 'w').write(json.dumps([t, os.environ.get('{SERVERS_ENV}')]))"
        )
        return [sys.executable, "-c", code]

    monkeypatch.setattr(suite_jobs, "child_command", fake)
    monkeypatch.setattr(generation, "vllm_available", lambda: True)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    model = str(tmp_path / "m")
    served = {resolve_model(model): "http://127.0.0.1:1/v1"}
    raw = [("00_uses", {"backend": "auto", "model": model}), ("01_free", {"backend": "hf", "model": model})]
    plan = [(Path(f"{name}.ipynb"), [], params) for name, params in raw]
    booting: Future = Future()
    up_at = {}

    def boot():
        time.sleep(1.0)
        up_at["t"] = time.time()
        booting.set_result(served)

    threading.Thread(target=boot).start()
    results = suite_jobs.run_side_by_side(
        plan, {}, 2, "quick", [], tmp_path / "out", "full", False, booting, list(served)
    )
    assert all(r["ok"] for r in results)
    uses, free = (json.loads((tmp_path / f"{nb}.json").read_text()) for nb, _ in raw)
    assert free[0] < up_at["t"] <= uses[0]  # the free one ran during the boot, the other after it
    assert json.loads(uses[1]) == served and free[1] is None
