"""Notebook parameters: read the cell tagged ``parameters``, load params files, validate before compute.

The parameters cell holds flat literal assignments (``name = value  # what it is``); their
defaults are the quick profile and their types are the schema every params file is checked
against. Unknown keys and ill-typed values raise ``ParamsError`` with one line naming the fix.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PARAMS_DIR = REPO_ROOT / "params"


class ParamsError(ValueError):
    """Bad parameters: unknown key, wrong type, unreadable params file."""


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: Any
    comment: str

    @property
    def type_name(self) -> str:
        return _type_name(self.default)


def _type_name(value: Any) -> str:
    if value is None:
        return "any"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return type(value).__name__


def notebook_path(name: str | Path) -> Path:
    """``01_magpie``, ``01_magpie.ipynb`` or a path -> the notebook file."""
    path = Path(name)
    if path.suffix != ".ipynb":
        path = path.with_suffix(".ipynb")
    for candidate in (path, NOTEBOOKS_DIR / path.name):
        if candidate.exists():
            return candidate.resolve()
    known = ", ".join(p.stem for p in list_notebooks())
    raise ParamsError(f"notebook {name!s} not found (known: {known})")


def list_notebooks() -> list[Path]:
    """Notebooks in suite order: their numeric prefixes are the dependency order."""
    return sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def parameters_cell(nb_path: str | Path) -> str:
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if "parameters" in (c.get("metadata", {}).get("tags") or [])]
    if len(cells) != 1:
        raise ParamsError(f"{nb_path}: expected exactly one cell tagged 'parameters', found {len(cells)}")
    src = cells[0]["source"]
    return "".join(src) if isinstance(src, list) else src


def read_param_specs(nb_path: str | Path) -> dict[str, ParamSpec]:
    """Names, literal defaults and comments of a notebook's parameters cell."""
    source = parameters_cell(nb_path)
    lines = source.splitlines()
    specs: dict[str, ParamSpec] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise ParamsError(f"{nb_path}: the parameters cell must hold only `name = literal` lines "
                              f"(line {node.lineno} is not one)")
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            raise ParamsError(f"{nb_path}: parameter {node.targets[0].id} must have a literal default") from None
        line = lines[node.lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line else ""
        specs[node.targets[0].id] = ParamSpec(node.targets[0].id, value, comment)
    return specs


def _check_type(name: str, value: Any, spec: ParamSpec, origin: str) -> Any:
    want = spec.type_name
    if want == "any" or value is None:
        return value
    got = _type_name(value)
    if got == want:
        return list(value) if want == "list" else value
    if want == "float" and got == "int":
        return float(value)
    raise ParamsError(f"{origin}: parameter {name!r} must be {want} (like the default {spec.default!r}), "
                      f"got {got} {value!r}")


def validate_params(values: dict[str, Any], specs: dict[str, ParamSpec], origin: str = "params") -> dict[str, Any]:
    """Check names and types against the notebook's parameters; return the coerced values."""
    unknown = sorted(set(values) - set(specs))
    if unknown:
        import difflib
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, specs, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ParamsError(f"{origin}: unknown parameter {', '.join(hints)}; known: {', '.join(specs)}")
    return {k: _check_type(k, v, specs[k], origin) for k, v in values.items()}


def load_params_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise ParamsError(f"params file {path} not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParamsError(f"params file {path} is not valid YAML: {exc}".splitlines()[0]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamsError(f"params file {path} must be a mapping of parameter names to values")
    return data


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` with the value read as YAML (``n=3`` -> 3, ``x=[a, b]`` -> list, ``s=hi`` -> 'hi')."""
    if "=" not in text:
        raise ParamsError(f"override {text!r} must look like key=value")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def resolve_params(nb_path: str | Path, files: list[str | Path] = (), overrides: list[str] = ()) -> dict[str, Any]:
    """Defaults <- each params file in order <- ``key=value`` overrides; all validated."""
    specs = read_param_specs(nb_path)
    resolved = {k: s.default for k, s in specs.items()}
    for f in files:
        resolved.update(validate_params(load_params_file(f), specs, origin=str(f)))
    for text in overrides:
        key, value = parse_override(text)
        resolved.update(validate_params({key: value}, specs, origin=f"-p {text}"))
    return resolved


def profile_files(nb_name: str) -> list[Path]:
    return sorted((PARAMS_DIR / nb_name).glob("*.yaml"))
