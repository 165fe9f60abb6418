import json

import pytest

from helpers.core.params import PARAMS_DIR
from helpers.core.run import run_notebook, run_suite

TINY = ["backends=[hf]", "n_prompts=3", "n_samples=1", "max_tokens=8"]


@pytest.mark.slow
def test_quickstart_runs_and_writes_a_full_run_folder(tmp_path):
    run_dir = run_notebook("00_quickstart", [str(PARAMS_DIR / "00_quickstart" / "quick.yaml")], TINY, outputs=tmp_path)
    for name in (
        "00_quickstart.ipynb",
        "report.html",
        "params.yaml",
        "metrics.json",
        "environment.json",
        "figures/quickstart.png",
    ):
        assert (run_dir / name).exists(), name
    assert len(list((run_dir / "data").glob("answers_hf-*.jsonl"))) == 1  # keyed by model, data and sampling
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


@pytest.mark.slow
def test_the_finding_is_computed_from_the_run_and_flips_with_the_data(tmp_path):
    from helpers.core.data import load_records

    swapped = tmp_path / "swapped.jsonl"
    swapped.write_text(
        "".join(
            json.dumps({**r, "correct": r["wrong"], "wrong": r["correct"]}) + "\n"
            for r in load_records("builtin:quickstart_facts.jsonl")
        )
    )
    tiny = ["backends=[hf]", "n_samples=1", "max_tokens=4"]
    quick = [str(PARAMS_DIR / "00_quickstart" / "quick.yaml")]
    right = run_notebook("00_quickstart", quick, tiny, run_name="right", outputs=tmp_path)
    wrong = run_notebook("00_quickstart", quick, [*tiny, f"prompts_data={swapped}"], run_name="wrong", outputs=tmp_path)
    m_right, m_wrong = (json.loads((d / "metrics.json").read_text()) for d in (right, wrong))
    assert m_right["signal"] == "log-prob preference above chance", m_right["finding"]
    assert m_wrong["signal"] == "log-prob preference below chance", m_wrong["finding"]
    n = m_right["n_questions"]
    k = round(m_right["logprob_accuracy"] * n)
    assert f"{k}/{n} questions" in m_right["finding"] and f"{n - k}/{n} questions" in m_wrong["finding"]
    for d, m in ((right, m_right), (wrong, m_wrong)):
        html = (d / "report.html").read_text()
        assert m["finding"].split(":")[0] in html  # the report states this run's finding
        assert "it/s]" not in html and "%|" not in html  # no progress bars in the shared report
        assert "<title>00 · Quickstart: the stack end to end</title>" in html
        assert "n_prompts = " not in html and html.count("<td>n_prompts</td>") == 1  # parameters shown once, as a table
    import html as html_lib

    index = (tmp_path / "index.html").read_text()
    assert "right" in index and "wrong" in index and html_lib.escape(m_wrong["finding"]) in index


@pytest.mark.vllm
@pytest.mark.slow
def test_quickstart_runs_through_the_vllm_backend(tmp_path):
    from helpers.core.generation import vllm_available

    if not vllm_available():
        pytest.skip("vLLM is not installed")
    run_dir = run_notebook(
        "00_quickstart",
        [str(PARAMS_DIR / "00_quickstart" / "quick.yaml")],
        ["backends=[vllm]", "n_prompts=3", "n_samples=2", "max_tokens=8", "max_model_len=512"],
        outputs=tmp_path,
    )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["tokens_per_s_vllm"] > 0 and "tokens_per_s_hf" not in metrics
    assert metrics["n_questions"] == 3 and 0 <= metrics["logprob_accuracy"] <= 1
    (answers_file,) = (run_dir / "data").glob("answers_vllm-*.jsonl")  # the store's name carries its config hash
    answers = [json.loads(line) for line in answers_file.read_text().splitlines()]
    assert len(answers) == 3 and all(len(a["answers"]) == 2 and min(a["tokens"]) >= 1 for a in answers)
    assert "Traceback" not in (run_dir / "report.html").read_text()
