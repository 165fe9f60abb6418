"""Every full profile rehearsed on this CPU (helpers.core.rehearsal): the same cells with tiny stand-ins for hub
models and hub data sets (in the hub's schema), counts cut by params/<nb>/rehearse.yaml."""

import re

import pytest

from helpers.core.params import PARAMS_DIR, list_notebooks, notebook_path, resolve_params
from helpers.core.run import run_notebook
from helpers.core.runs import suite_order
from helpers.core.store import read_json
from helpers.core.wiring import published_checkpoints

FULL = sorted(p for p in PARAMS_DIR.glob("*/*.yaml") if p.stem.startswith("full") or p.stem == "offline-ci")


def test_every_notebook_has_a_full_gpu_profile_and_rehearsal_cuts():
    for nb in list_notebooks():
        assert (PARAMS_DIR / nb.stem / "full-gpu.yaml").exists(), f"{nb.stem} has no full-gpu profile"
        assert (PARAMS_DIR / nb.stem / "rehearse.yaml").exists(), f"{nb.stem} has no rehearse.yaml"


def _suite_plan(profile: str) -> list[tuple[str, dict]]:
    return [
        (nb.stem, resolve_params(nb, [PARAMS_DIR / nb.stem / f"{profile}.yaml"]))
        for nb in list_notebooks()
        if (PARAMS_DIR / nb.stem / f"{profile}.yaml").exists()
    ]


def test_every_checkpoint_a_profile_reads_is_written_by_a_profile_that_runs_first():
    orders = {}
    for path in FULL + sorted(PARAMS_DIR.glob("*/quick.yaml")):
        for nb, run, rest in re.findall(r"outputs/(\d\d_\w+)/([\w.-]+)/(checkpoints/[\w/.-]+)", path.read_text()):
            producer = PARAMS_DIR / nb / f"{run}.yaml"
            assert producer.exists(), f"{path}: no profile {nb}/{run} writes {rest}"
            written = published_checkpoints(nb, resolve_params(notebook_path(nb), [producer]))
            assert rest in written, f"{path}: {nb}/{run} does not publish {rest} (it publishes {written})"
            if run == path.stem:  # read inside one suite run of that profile: the suite runs the writer first
                order = orders.setdefault(run, suite_order(_suite_plan(run)))
                assert order.index(nb) < order.index(path.parent.name), f"{path}: reads {nb}, which runs after it"


def test_the_full_gpu_suite_runs_tulu_before_arena_hard_which_judges_its_policies():
    order = suite_order(_suite_plan("full-gpu"))
    assert order.index("06_tulu") < order.index("04_arena_hard")
    assert order.index("01_magpie") < order.index("02_wildbench") and order.index("03_benchbuilder") < order.index(
        "04_arena_hard"
    )
    extra = dict(_suite_plan("full-gpu"))["04_arena_hard"]["extra_checkpoints"]
    assert [c for c in extra if c.startswith("outputs/06_tulu/full-gpu/checkpoints/")], extra


@pytest.mark.slow
def test_the_full_gpu_suite_rehearses_end_to_end(full_gpu_rehearsal):
    tmp_path, code = full_gpu_rehearsal  # run once per session (conftest); smoke tests check their notebook's folder
    assert code == 0
    for nb in list_notebooks():
        status = read_json(tmp_path / nb.stem / "full-gpu" / "run.json")
        assert status["status"] == "ok" and status["rehearsal"] is True
        m = read_json(tmp_path / nb.stem / "full-gpu" / "metrics.json")
        assert m.get("finding") and m.get("signal"), nb.stem
    # cross-notebook wiring: 04 read the prompts 03 curated (or said why not), 02 found 01's SFT checkpoint
    assert (tmp_path / "01_magpie" / "full-gpu" / "run.json").exists()


OTHER = [p for p in FULL if p.stem != "full-gpu"]


@pytest.mark.slow
@pytest.mark.parametrize("profile", OTHER, ids=[f"{p.parent.name}/{p.stem}" for p in OTHER])
def test_other_full_profiles_rehearse(profile, tmp_path):
    import yaml

    params = yaml.safe_load(profile.read_text())
    for value in params.values():  # a profile that reads another notebook's run (run:NB) gets that run first
        if isinstance(value, str) and value.startswith("run:"):
            upstream = value[4:]
            run_notebook(
                upstream,
                [str(PARAMS_DIR / upstream / "full-gpu.yaml")],
                run_name=f"rehearse-{profile.stem}",
                outputs=tmp_path,
                rehearse=True,
                progress=False,
            )
    run_dir = run_notebook(profile.parent.name, [str(profile)], outputs=tmp_path, rehearse=True, progress=False)
    assert read_json(run_dir / "run.json")["status"] == "ok"


def test_rehearsal_mode_ends_with_the_run(tmp_path, monkeypatch):
    import os

    from helpers.core import run as runner
    from helpers.core.rehearsal import REHEARSAL_ENV

    monkeypatch.delenv(REHEARSAL_ENV, raising=False)
    seen = {}

    def fake(*args):
        seen["inside"] = os.environ.get(REHEARSAL_ENV)
        raise RuntimeError("stop here")

    monkeypatch.setattr(runner, "_run_notebook", fake)
    with pytest.raises(RuntimeError):
        runner.run_notebook("00_quickstart", rehearse=True, outputs=tmp_path)
    assert seen["inside"] == "1" and REHEARSAL_ENV not in os.environ


def test_experiments_register_their_hub_stand_ins_and_the_core_names_none():
    import helpers.cdr  # noqa: F401  (importing a package registers its stand-ins)
    import helpers.evaluation  # noqa: F401
    from helpers.core import rehearsal

    fixtures = rehearsal.hub_fixtures()
    assert fixtures["allenai/WildBench"] == "builtin:wildbench_tasks.jsonl"
    assert rehearsal.data_source("allenai/reward-bench").endswith("allenai__reward-bench.jsonl")
    assert rehearsal.data_source("org/unregistered") == "org/unregistered"
    rehearsal.register_hub_fixture("allenai/WildBench", "builtin:wildbench_tasks.jsonl")  # the same again: fine
    with pytest.raises(ValueError, match="already has"):
        rehearsal.register_hub_fixture("allenai/WildBench", "builtin:other.jsonl")
    core_text = rehearsal.__file__ and open(rehearsal.__file__).read()
    assert not any(hub_id in core_text for hub_id in fixtures)
