"""The shareable report: no progress bars or engine logs in cells, warnings collected, parameters once, a title."""

import nbformat

from helpers.core.params import ParamSpec
from helpers.core.report import clean_notebook, findings_markdown, headline, notebook_title


def _nb():
    params = nbformat.v4.new_code_cell("n = 3  # [1..] how many")
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell("n = 5")
    injected.metadata["tags"] = ["injected-parameters"]
    work = nbformat.v4.new_code_cell("work()")
    work.outputs = [
        nbformat.v4.new_output(
            "stream",
            name="stderr",
            text="answers:  50%|#####     | 1/2 [00:01<00:01, 1.0it/s]\r"
            "answers: 100%|##########| 2/2 [00:02<00:00, 1.0it/s]\nUserWarning: the tokenizer has no pad token\n"
            "[2026-12-05 01:05:29,709 E 12545 12856] core_worker_process.cc:837: Failed to establish "
            "connection to the metrics exporter agent. Metrics will not be exported. RpcError\n",
        ),
        nbformat.v4.new_output(
            "stream",
            name="stdout",
            text="\x1b[36m(EngineCore pid=123)\x1b[0m INFO 11-25 16:07:12 [core.py:1] "
            "starting\n(VllmWorker-0 pid=9) WARNING 11-25 16:07:44 [vllm.py:725] Triton missing\n8 questions\n",
        ),
        nbformat.v4.new_output(
            "display_data",
            data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "HBox(children=(...))"},
        ),
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 09 · A *test* notebook\ntext"), params, injected, work]
    return nb


def test_clean_notebook_keeps_what_a_reader_needs():
    clean, warnings = clean_notebook(_nb(), {"n": 5}, {"n": ParamSpec("n", 3, "[1..] how many")})
    sources = [c.source for c in clean.cells]
    assert not any(s.startswith("n = ") for s in sources)  # neither the defaults nor papermill's injected cell
    table = [s for s in sources if s.startswith("## Parameters of this run")][0]
    assert "| **n** | **`5`** | how many | `3` |" in table and "1 differ" in table
    outputs = clean.cells[2].outputs
    assert [o["text"] for o in outputs] == ["8 questions\n"]
    assert "UserWarning: the tokenizer has no pad token" in warnings and "Triton missing" in warnings
    assert not any("metrics exporter" in w for w in warnings)  # Ray's known-harmless line: not even a warning
    assert clean.cells[-1].source.startswith("## Warnings")
    assert notebook_title(clean) == "09 · A test notebook"


def test_headline_carries_intervals_and_findings_render():
    m = {"headline": ["acc", "speed"], "acc": 0.75, "acc_ci": [0.5, 0.9], "speed": 3}
    assert headline(m) == {"acc": "0.75 [0.5, 0.9]", "speed": "3"}
    text = findings_markdown({"signal": "above chance", "finding": "8/8 right.", "findings": ["one", "two"]})
    assert text.startswith("**Signal:** above chance") and "- two" in text


def test_a_suite_run_records_each_notebooks_wall_time_and_the_index_shows_them(tmp_path, monkeypatch, capsys):
    from helpers.core import run as runner
    from helpers.core.store import read_json

    def fake_plan(plan, profile, *args):
        return [
            {
                "notebook": nb.stem,
                "dir": tmp_path / nb.stem / profile,
                "ok": nb.stem == "00_quickstart",
                "error": "" if nb.stem == "00_quickstart" else "boom",
                "seconds": 100.4 + 10 * i,
            }
            for i, (nb, _, _) in enumerate(plan)
        ]

    monkeypatch.setattr(runner, "_run_plan", fake_plan)
    assert runner.run_suite("quick", only=["00_quickstart", "03_benchbuilder"], outputs=tmp_path) == runner.EXIT_FAILED
    record = read_json(tmp_path / "suite.json")
    assert record["jobs"] == 1 and record["shared_engines"] == "off" and record["profile"] == "quick"
    assert [(n["notebook"], n["ok"], n["seconds"]) for n in record["notebooks"]] == [
        ("00_quickstart", True, 100.4),
        ("03_benchbuilder", False, 110.4),
    ]
    assert record["seconds"] >= 0 and record["started_at"] > 0  # the suite's own wall clock, engine start-up included
    index = (tmp_path / "index.html").read_text()
    assert "Last suite run" in index and "one after another" in index and "add up to 211 s" in index
    assert "<td>03_benchbuilder</td><td>FAILED</td><td>110 s</td>" in index
    out = capsys.readouterr().out
    assert "  total " in out and "2 notebooks, one after another, shared engines off" in out
