import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.core.params import (
    PARAMS_DIR,
    ParamsError,
    list_notebooks,
    load_params_file,
    parse_override,
    read_param_specs,
    resolve_params,
    validate_params,
)
from helpers.core.run import precheck

NOTEBOOKS = list_notebooks()
PARAM_FILES = sorted(PARAMS_DIR.glob("*/*.yaml"))
QUICKSTART = [nb for nb in NOTEBOOKS if nb.stem == "00_quickstart"][0]


def test_every_notebook_has_a_quick_profile_and_clean_cells():
    assert NOTEBOOKS, "no notebooks found"
    for nb in NOTEBOOKS:
        assert (PARAMS_DIR / nb.stem / "quick.yaml").exists(), f"{nb.stem} lacks params/{nb.stem}/quick.yaml"
        cells = json.loads(nb.read_text())["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        assert not any(c.get("outputs") or c.get("execution_count") for c in code), f"{nb.name} has outputs"
        assert cells[0]["cell_type"] == "markdown", f"{nb.name} should open with a markdown header"
        specs = read_param_specs(nb)
        assert specs and all(s.comment for s in specs.values()), f"{nb.name}: every parameter needs a comment"


@pytest.mark.parametrize("path", PARAM_FILES, ids=[f"{p.parent.name}/{p.name}" for p in PARAM_FILES])
def test_params_file_is_valid_for_its_notebook(path):
    nb = [n for n in NOTEBOOKS if n.stem == path.parent.name]
    assert nb, f"{path} belongs to no notebook"
    validate_params(load_params_file(path), read_param_specs(nb[0]), origin=str(path))


def test_unknown_key_and_wrong_type_are_rejected_with_hints():
    specs = read_param_specs(QUICKSTART)
    with pytest.raises(ParamsError, match=r"unknown parameter 'n_prompt' \(did you mean 'n_prompts'\?\)"):
        validate_params({"n_prompt": 3}, specs)
    with pytest.raises(ParamsError, match="'n_prompts' must be int"):
        validate_params({"n_prompts": "three"}, specs)
    assert validate_params({"temperature": 1}, specs) == {"temperature": 1.0}  # int accepted for float


def test_overrides_are_yaml_values():
    assert parse_override("n=3") == ("n", 3)
    assert parse_override("backends=[hf, vllm]") == ("backends", ["hf", "vllm"])
    assert parse_override("model=org/name") == ("model", "org/name")
    params = resolve_params(QUICKSTART, [PARAMS_DIR / "00_quickstart" / "quick.yaml"], ["max_tokens=5"])
    assert params["max_tokens"] == 5


def test_precheck_names_missing_models_and_files(tmp_path):
    with pytest.raises(ParamsError, match="parameter 'model'.*not found"):
        precheck({"model": str(tmp_path / "nope")})
    with pytest.raises(ParamsError, match="parameter 'extra_models'"):
        precheck({"extra_models": ["./missing-checkpoint"]})
    with pytest.raises(ParamsError, match="prompts_file"):
        precheck({"prompts_file": str(tmp_path / "missing.jsonl")})
    precheck({"model": "", "prompts_file": ""})  # empty = not configured


@pytest.mark.parametrize(
    "args, message",
    [
        (["-p", "bogus=1"], "unknown parameter 'bogus'"),
        (["-p", "n_prompts=lots"], "must be int"),
        (["-p", "model=./no/such/model"], "not found"),
        (["-f", "params/00_quickstart/none.yaml"], "not found"),
        (["--profile", "nonesuch"], "00_quickstart has no nonesuch profile"),
    ],
)
def test_cli_rejects_bad_input_before_compute(args, message):
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-m", "helpers.run", "00_quickstart", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_the_parameters_cell_is_the_quick_profile(nb):
    """Opened in JupyterLab, a notebook runs what the suite runs: its defaults equal quick.yaml."""
    import yaml

    quick = yaml.safe_load((PARAMS_DIR / nb.stem / "quick.yaml").read_text()) or {}
    specs = read_param_specs(nb)
    assert {k: (specs[k].default, v) for k, v in quick.items() if specs[k].default != v} == {}


def test_profile_names_the_profile_file_for_one_notebook():
    from helpers.core.run import profile_file

    assert profile_file("00_quickstart", None) == []
    assert profile_file("00_quickstart", "quick") == [str(PARAMS_DIR / "00_quickstart" / "quick.yaml")]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_papermill_reads_every_parameter_like_we_do(nb):
    import ast

    import papermill

    ours = read_param_specs(nb)
    theirs = papermill.inspect_notebook(str(nb))
    assert list(theirs) == list(ours)
    for name, spec in ours.items():
        assert ast.literal_eval(theirs[name]["default"]) == spec.default, name
        assert theirs[name]["help"], f"{name}: papermill sees no help text"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_defaults_meet_their_own_constraints(nb):
    specs = read_param_specs(nb)
    for name, spec in specs.items():
        assert "=" not in spec.comment, f"{name}: '=' in a comment breaks papermill's parser"
        validate_params({name: spec.default}, specs, origin=nb.stem)


def test_constraints_from_comments():
    from helpers.core.params import ParamSpec, check_constraints

    spec = ParamSpec("x", 1, "[0..1] a fraction")
    check_constraints("x", 0.5, spec)
    with pytest.raises(ParamsError, match=r"must be in \[0..1\], got 1.5"):
        check_constraints("x", 1.5, spec)
    spec = ParamSpec("xs", ["a"], "[non-empty; a|b] letters")
    check_constraints("xs", ["a", "b"], spec)
    with pytest.raises(ParamsError, match="must not be empty"):
        check_constraints("xs", [], spec)
    with pytest.raises(ParamsError, match="one of a / b|one of a | b"):
        check_constraints("xs", ["c"], spec)
    assert spec.help == "letters"
    with pytest.raises(ParamsError, match="unknown constraint"):
        check_constraints("y", 1, ParamSpec("y", 1, "[positive-ish] huh"))
