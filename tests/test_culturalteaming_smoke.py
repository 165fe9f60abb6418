"""Smoke runs of notebooks/11_culturalteaming.ipynb: the quick profile with tiny overrides, and a rehearsal of the
full profile (hub models as tiny stand-ins, 07's offline CulturalBench for the hub one)."""

from __future__ import annotations

import json

import pytest

from helpers.core.params import PARAMS_DIR
from helpers.core.run import run_notebook
from helpers.core.store import read_json

pytestmark = pytest.mark.slow
TINY = ["hint_model=''", "n_bootstrap=200"]


def _check_run(run_dir):
    from helpers.culturalteaming import findings
    from helpers.culturalteaming.replay import load_script

    m = read_json(run_dir / "metrics.json")
    assert all(k in m for k in m["headline"]) and m["signal"] in findings.SIGNALS and m["finding"]
    assert m["export_round_trip"] is True and m["refused_steps"] == 0
    n = len(load_script("builtin:culturalteaming_sessions.yaml"))
    assert m["n_questions"] == n and m["n_hard_rows"] == 4 * n
    html = (run_dir / "report.html").read_text()
    assert "Traceback" not in html and "Finding:" in html
    assert (run_dir / "figures" / "revisions.png").exists() and (run_dir / "figures" / "target_accuracy.png").exists()
    # the headline recomputed from the stored session logs
    logs = list((run_dir / "data").glob("sessions-*/*.jsonl"))
    assert len(logs) == n
    fooled = 0
    for path in logs:
        events = [json.loads(line) for line in path.read_text().splitlines()]
        final = max(e["draft_index"] for e in events if e["kind"] == "verify")
        fooled += [e for e in events if e["kind"] == "verify" and e["draft_index"] == final][-1]["fooled"]
    assert fooled / n == m["verifier_fooled_share"]
    return m


def test_11_culturalteaming_quick_smoke(tmp_path):
    quick = str(PARAMS_DIR / "11_culturalteaming" / "quick.yaml")
    run_dir = run_notebook("11_culturalteaming", [quick], TINY, outputs=tmp_path, progress=False)
    m = _check_run(run_dir)
    assert m["culturalbench"] is None and m["llm_hint_calls"] == 0 and m["hints_shown"] > 0
    easy = (run_dir / "data" / "export" / "culturalbench_easy.jsonl").read_text().splitlines()
    assert len(easy) == m["n_questions"]  # (a rerun resuming from the logs: tests/test_culturalteaming.py)


def test_11_culturalteaming_full_profile_rehearsal(full_gpu_rehearsal):
    run_dir = (
        full_gpu_rehearsal[0] / "11_culturalteaming" / "full-gpu"
    )  # the session's full-gpu suite rehearsal (conftest)
    assert read_json(run_dir / "run.json")["status"] == "ok"
    m = _check_run(run_dir)
    assert m["n_targets"] == 5 and m["k"] == 3 and m["llm_hint_calls"] > 0
    assert m["culturalbench"]["n_questions"] == 3 and 0 <= m["culturalbench"]["hard_question"] <= 1
