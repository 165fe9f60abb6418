"""The README's results table is computed from the runs' metrics: the quick finding, the controlled setting's
finding beside it, and the cpu-demo run where a notebook has that profile."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("readme_results", ROOT / "tools" / "readme_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_run(outputs: Path, stem: str, profile: str, metrics: dict) -> None:
    run = outputs / stem / profile
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "run.json").write_text(json.dumps({"status": "ok", "git": {"commit": "abcdef0123"}}))


def test_the_table_shows_the_real_and_the_controlled_finding_side_by_side(tmp_path):
    tool = _tool()
    _write_run(
        tmp_path,
        "02_wildbench",
        "quick",
        {
            "finding": "judge degenerate",
            "signal": "no ranking",
            "controlled_finding": "order recovered 5/5",
            "controlled_signal": "recovers truth",
        },
    )
    table = tool.render(tmp_path)
    row = next(line for line in table.splitlines() if line.startswith("| `02_wildbench`"))
    assert "**no ranking**: judge degenerate" in row
    assert "*Controlled setting*: **recovers truth**: order recovered 5/5" in row
    assert "commit abcdef0" in row
    other = next(line for line in table.splitlines() if line.startswith("| `00_quickstart`"))
    assert "no run yet" in other and "Controlled" not in other


def test_a_cpu_demo_column_reads_its_own_run(tmp_path, monkeypatch):
    tool = _tool()
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    (root / "notebooks" / "09_icot.ipynb").write_text("{}")
    (root / "notebooks" / "10_wildchat.ipynb").write_text("{}")
    (root / "params" / "09_icot").mkdir(parents=True)
    (root / "params" / "09_icot" / "cpu-demo.yaml").write_text("seed: 0\n")
    monkeypatch.setattr(tool, "ROOT", root)
    outputs = tmp_path / "outputs"
    _write_run(outputs, "09_icot", "quick", {"finding": "untestable: CoT 22%", "signal": "untestable"})
    first = tool.render(outputs)
    assert "profile exists, no run yet" in first
    _write_run(outputs, "09_icot", "cpu-demo", {"finding": "stepwise 95% vs no-CoT 30%", "signal": "reproduces"})
    rows = {line.split("|")[1].strip(): line for line in tool.render(outputs).splitlines()[2:]}
    assert "**reproduces**: stepwise 95% vs no-CoT 30%" in rows["`09_icot`"]
    cells = [c.strip() for c in rows["`10_wildchat`"].split("|")]
    assert cells[4:6] == ["-", "-"]  # no cpu-demo profile, no paper number


def test_the_outputs_index_shows_the_controlled_finding_under_the_real_one(tmp_path):
    from helpers.core.report import write_index
    from helpers.core.store import atomic_write_json

    run = tmp_path / "04_arena_hard" / "quick"
    atomic_write_json(
        run / "run.json",
        {"notebook": "04_arena_hard", "run_name": "quick", "status": "ok", "started_at": 1.0, "finished_at": 2.0},
    )
    atomic_write_json(
        run / "metrics.json",
        {
            "finding": "judge degenerate",
            "signal": "no ranking",
            "controlled_finding": "order recovered <5/5>",
            "controlled_signal": "2/4 checks pass",
        },
    )
    page = write_index(tmp_path).read_text()
    assert "judge degenerate<br><br><i>Controlled setting:</i> order recovered &lt;5/5&gt;" in page
    assert "no ranking<br><br><i>Controlled setting:</i> 2/4 checks pass" in page
