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
    _write_run(tmp_path, "02_wildbench", "quick", {"finding": "judge degenerate", "signal": "no ranking",
                                                   "controlled_finding": "order recovered 5/5",
                                                   "controlled_signal": "recovers truth"})
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
