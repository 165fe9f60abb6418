import json

import pytest

from helpers.params import PARAMS_DIR
from helpers.run import run_notebook, run_suite

TINY = ["backends=[hf]", "n_prompts=3", "n_samples=1", "max_tokens=8"]


@pytest.mark.slow
def test_quickstart_runs_and_writes_a_full_run_folder(tmp_path):
    run_dir = run_notebook("00_quickstart", [str(PARAMS_DIR / "00_quickstart" / "quick.yaml")], TINY, outputs=tmp_path)
    for name in ("00_quickstart.ipynb", "report.html", "params.yaml", "metrics.json", "environment.json",
                 "figures/quickstart.png", "data/answers_hf.jsonl"):
        assert (run_dir / name).exists(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["n_questions"] == 3 and 0 <= metrics["logprob_accuracy"] <= 1
    assert metrics["tokens_per_s_hf"] > 0
    assert "Traceback" not in (run_dir / "report.html").read_text()


@pytest.mark.slow
def test_suite_mode_writes_an_index(tmp_path):
    rc = run_suite("quick", TINY, only=["00_quickstart"], outputs=tmp_path)
    assert rc == 0
    index = (tmp_path / "index.html").read_text()
    assert "00_quickstart/quick/report.html" in index and "logprob_accuracy" in index
