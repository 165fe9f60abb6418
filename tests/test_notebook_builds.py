"""A notebook that has a build script (tools/build_*.py) is what its script writes: rebuilding must not drop an
edit made to the .ipynb alone (cell sources and the runner's precheck hook are compared)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILDS = sorted((ROOT / "tools").glob("build_*.py"))


@pytest.mark.parametrize("script", BUILDS, ids=[p.stem for p in BUILDS])
def test_build_script_reproduces_the_committed_notebook(script, tmp_path):
    shutil.copytree(ROOT / "tools", tmp_path / "tools")
    (tmp_path / "notebooks").mkdir()
    subprocess.run([sys.executable, str(tmp_path / "tools" / script.name)], check=True, capture_output=True, cwd=tmp_path)
    built = list((tmp_path / "notebooks").glob("*.ipynb"))
    assert len(built) == 1, f"{script.name} wrote {built}"
    fresh = json.loads(built[0].read_text())
    committed = json.loads((ROOT / "notebooks" / built[0].name).read_text())
    src = lambda nb: ["".join(c["source"]) for c in nb["cells"]]  # noqa: E731
    assert src(fresh) == src(committed), f"notebooks/{built[0].name} differs from what {script.name} builds"
    assert fresh["metadata"].get("helpers") == committed["metadata"].get("helpers")
