"""One source per notebook: each notebooks/NN_name.ipynb is paired with a jupytext py:percent file
(jupytext.toml), the two hold the same cells, and the committed .ipynb carries no outputs."""

from __future__ import annotations

import json
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOURCES = sorted((ROOT / "notebooks").glob("*.py"))


def _cells(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (c["cell_type"], "".join(c["source"]).strip(), tuple(c.get("metadata", {}).get("tags", [])))
        for c in nb["cells"]
    ]


def test_every_notebook_has_exactly_one_text_source():
    assert NOTEBOOKS, "no notebooks found"
    assert [p.stem for p in NOTEBOOKS] == [p.stem for p in SOURCES]
    assert "py:percent" in (ROOT / "jupytext.toml").read_text()


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_pair_in_sync_and_without_outputs(ipynb):
    committed = json.loads(ipynb.read_text())
    source = jupytext.read(ipynb.with_suffix(".py"))
    assert _cells(source) == _cells(committed), (
        f"{ipynb.name} and {ipynb.stem}.py differ: run `jupytext --sync notebooks/{ipynb.stem}.py`"
    )
    assert source.metadata.get("helpers") == committed["metadata"].get("helpers")
    for cell in committed["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, f"{ipynb.name} carries outputs"
    tagged = [c for c in committed["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{ipynb.name}: one cell tagged 'parameters' (papermill reads it)"


def test_sync_check_fails_on_an_edit(tmp_path):
    """The check above can fail: a .py edited without syncing its .ipynb is caught."""
    ipynb = NOTEBOOKS[0]
    edited = jupytext.read(ipynb.with_suffix(".py"))
    edited.cells[-1]["source"] += "\nprint('edited')"
    assert _cells(edited) != _cells(json.loads(ipynb.read_text()))


MAX_CELL_LINES = 15  # code lines (not blank, not comments) of a cell other than the parameters cell


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_cells_tell_the_story_in_at_most_15_code_lines(source):
    """Logic lives in the experiment packages: every code cell but the parameters cell is short."""
    nb = jupytext.read(source)
    long = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        lines = [x for x in cell.source.splitlines() if x.strip() and not x.strip().startswith("#")]
        if len(lines) > MAX_CELL_LINES:
            long[i] = len(lines)
    assert not long, f"{source.name}: cells over {MAX_CELL_LINES} code lines (cell: lines): {long}"
