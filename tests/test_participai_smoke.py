"""Smoke runs of notebooks/12_participai.ipynb: the quick profile with tiny counts (our synthetic data, option
log-probs of the embedded model), and a rehearsal of the full profile on a tiny stand-in release folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.core.params import PARAMS_DIR
from helpers.core.run import run_notebook
from helpers.core.store import read_json
from helpers.participai import agreement as ag
from helpers.participai.findings import SIGNALS
from helpers.participai.offline_data import write_release
from helpers.participai.release import load_release

pytestmark = pytest.mark.slow


def _check(run_dir: Path) -> dict:
    assert read_json(run_dir / "run.json")["status"] == "ok"
    m = read_json(run_dir / "metrics.json")
    assert m["signal"] in SIGNALS and m["finding"] and all(k in m for k in m["headline"])
    assert "NaN" not in (run_dir / "metrics.json").read_text()
    html = (run_dir / "report.html").read_text()
    assert "Traceback" not in html and "Finding:" in html and "AI-Q5" in html  # the instrument is rendered
    for fig in ("descriptives", "odds_ratios", "agreement"):
        assert (run_dir / "figures" / f"{fig}.png").exists(), fig
    return m


def _coded(run_dir: Path) -> list[dict]:
    files = list((run_dir / "data").glob("coding-*.jsonl"))
    assert len(files) == 1
    return [json.loads(line) for line in files[0].read_text().splitlines()]


def test_12_participai_quick_smoke(tmp_path):
    quick = str(PARAMS_DIR / "12_participai" / "quick.yaml")
    tiny = ["n_coded=4", "coding_questions=[Q11_4]", "bootstrap_rounds=50"]
    run_dir = run_notebook("12_participai", [quick], tiny, outputs=tmp_path, progress=False)
    m = _check(run_dir)
    assert m["n_responses"] == 300 and m["coded_answers"] == 4 and m["coding_parse_failures"] == 0
    assert m["signal"] == "reproduced"  # the synthetic truth: Q19 and Q22 drive the decision
    records = _coded(run_dir)
    rel = load_release(str(PARAMS_DIR.parent / "src" / "helpers" / "data" / "participai_synthetic"))
    again = ag.micro_f1([(set(rel.human_codes["Q11_4"][r["rid"]]), set(r["codes"])) for r in records])
    assert again == m["coding_micro_f1"]  # the headline recomputed from the stored codes
    rerun = run_notebook("12_participai", [quick], tiny, outputs=tmp_path, progress=False)  # resumes: nothing recoded
    assert _coded(rerun) == records and read_json(rerun / "metrics.json")["coding_micro_f1"] == m["coding_micro_f1"]


def test_12_participai_full_profile_rehearsal(tmp_path):
    """full-gpu.yaml rehearsed on a tiny stand-in release folder (our data in the release's layout): the hub coder
    becomes a tiny random model, the release's loaders, codebooks and every cell run."""
    standin = tmp_path / "Particip-AI"
    write_release(standin, n=60, seed=1, n_human=10)
    full = str(PARAMS_DIR / "12_participai" / "full-gpu.yaml")
    run_dir = run_notebook(
        "12_participai", [full], [f"release_dir={standin}"], outputs=tmp_path, progress=False, rehearse=True
    )
    m = _check(run_dir)
    assert m["n_responses"] == 60 and m["coder"] == "logprobs:Qwen/Qwen2.5-7B-Instruct"
    assert m["coded_answers"] == 8 and set(m["agreement"]) >= {
        "Q11_4|release LLM codes",
        "Q12|logprobs:Qwen/Qwen2.5-7B-Instruct",
    }
