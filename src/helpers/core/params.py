"""Notebook parameters: read the cell tagged ``parameters``, load params files, validate before compute.

The parameters cell holds flat literal assignments (``name = value  # what it is``); their
defaults are the quick profile and their types are the schema every params file is checked
against. Unknown keys and ill-typed values raise ``ParamsError`` with one line naming the fix.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import files

REPO_ROOT = Path(__file__).resolve().parents[3]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PARAMS_DIR = REPO_ROOT / "params"


class ParamsError(ValueError):
    """Bad parameters: unknown key, wrong type, unreadable params file."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its default, its comment, and the constraint the comment may open with.

    A comment may start with a bracketed constraint the runner checks before compute:
    ``[1..]`` / ``[0..1]`` / ``[..10]`` (an inclusive numeric range), ``[a|b|c]`` (choices),
    ``[non-empty]``; several are joined with ``;`` (``[non-empty; hf|vllm]``). For lists each
    element is checked against the range or the choices. Comments never hold ``=`` (papermill's
    own parameter parser reads a comment with ``=`` as part of the value).
    """

    name: str
    default: Any
    comment: str

    @property
    def type_name(self) -> str:
        return _type_name(self.default)

    @property
    def constraints(self) -> list[str]:
        m = _CONSTRAINT_RE.match(self.comment)
        return [c.strip() for c in m.group(1).split(";") if c.strip()] if m else []

    @property
    def help(self) -> str:
        """The comment without its constraint."""
        return _CONSTRAINT_RE.sub("", self.comment, count=1).strip()


_CONSTRAINT_RE = re.compile(r"^\[([^\]]*)\]")
_RANGE_RE = re.compile(r"^(-?[\d.e+-]*)\.\.(-?[\d.e+-]*)$")


def check_constraints(name: str, value: Any, spec: ParamSpec, origin: str = "params") -> None:
    """Raise ParamsError when ``value`` breaks the constraint declared in the parameter's comment."""
    for c in spec.constraints:
        if c == "non-empty":
            if value is None or (isinstance(value, (str, list, dict)) and not value):
                raise ParamsError(f"{origin}: parameter {name!r} must not be empty")
            continue
        items = value if isinstance(value, list) else [value]
        if value is None:
            continue
        m = _RANGE_RE.match(c)
        if m:
            lo, hi = (float(x) if x else None for x in m.groups())
            for v in items:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise ParamsError(f"{origin}: parameter {name!r} must be a number in [{c}], got {v!r}")
                if not math.isfinite(v):  # NaN compares False with every bound: reject it by name
                    raise ParamsError(f"{origin}: parameter {name!r} must be a finite number in [{c}], got {v!r}")
                if (lo is not None and v < lo) or (hi is not None and v > hi):
                    raise ParamsError(f"{origin}: parameter {name!r} must be in [{c}], got {v!r}")
        elif "|" in c or c.isidentifier():
            choices = [x.strip() for x in c.split("|")]
            for v in items:
                if str(v) not in choices:
                    raise ParamsError(f"{origin}: parameter {name!r} must be one of {' | '.join(choices)}, got {v!r}")
        else:
            raise ParamsError(f"{origin}: parameter {name!r} declares an unknown constraint [{c}]")


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
    comments = _line_comments(source)
    specs: dict[str, ParamSpec] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise ParamsError(
                f"{nb_path}: the parameters cell must hold only `name = literal` lines (line {node.lineno} is not one)"
            )
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            raise ParamsError(f"{nb_path}: parameter {node.targets[0].id} must have a literal default") from None
        comment = comments.get(node.end_lineno, "")
        specs[node.targets[0].id] = ParamSpec(node.targets[0].id, value, comment)
    return specs


def _line_comments(source: str) -> dict[int, str]:
    """Line number -> the comment on that line (a ``#`` inside a string literal is not a comment)."""
    import io
    import tokenize

    toks = tokenize.generate_tokens(io.StringIO(source).readline)
    return {t.start[0]: t.string.lstrip("#").strip() for t in toks if t.type == tokenize.COMMENT}


MAX_INT = 2**63 - 1  # a count or a seed beyond this is a typo (and past what torch, numpy and range() take)


def _check_scalar(name: str, value: Any, want: str, origin: str, what: str = "") -> Any:
    """``value`` coerced to ``want`` (int -> float), or ParamsError: a wrong type, a non-finite float, a huge int."""
    got = _type_name(value)
    if want == "float" and got == "int" and abs(value) <= MAX_INT:
        value, got = float(value), "float"
    if got != want and not (want == "float" and got == "int"):
        raise ParamsError(f"{origin}: parameter {name!r}{what} must be {want}, got {got} {_short(value)}")
    if got == "int" and abs(value) > MAX_INT:
        raise ParamsError(
            f"{origin}: parameter {name!r}{what} is too large ({len(str(abs(value)))} digits; at most {MAX_INT})"
        )
    if got == "float" and not math.isfinite(value):
        raise ParamsError(f"{origin}: parameter {name!r}{what} must be a finite number, got {value!r}")
    return value


def _element_type(default: list) -> str:
    """The type every element of a list parameter must have: the default's (str for an empty default)."""
    kinds = {_type_name(v) for v in default}
    if kinds <= {"int", "float"} and "float" in kinds:
        return "float"
    return kinds.pop() if len(kinds) == 1 else ("str" if not kinds else "any")


def _check_type(name: str, value: Any, spec: ParamSpec, origin: str) -> Any:
    want = spec.type_name
    if want == "any" or value is None:
        return value
    got = _type_name(value)
    if want == "list" and got == "list":
        elem = _element_type(spec.default)
        if elem == "any":
            return list(value)
        return [_check_scalar(name, v, elem, origin, f" element {i}") for i, v in enumerate(value)]
    if want in ("int", "float", "str", "bool") and got in ("int", "float", "str", "bool"):
        try:
            return _check_scalar(name, value, want, origin)
        except ParamsError as exc:
            if got == want or (want == "float" and got == "int"):
                raise
            raise ParamsError(
                f"{origin}: parameter {name!r} must be {want} (like the default {spec.default!r}), "
                f"got {got} {_short(value)}"
            ) from exc
    if got == want:
        return value
    raise ParamsError(
        f"{origin}: parameter {name!r} must be {want} (like the default {spec.default!r}), got {got} {_short(value)}"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} chars)"


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
    checked = {k: _check_type(k, v, specs[k], origin) for k, v in values.items()}
    for k, v in checked.items():
        check_constraints(k, v, specs[k], origin)
    return checked


MAX_PARAMS_BYTES = 1 << 20  # a params file is a page of settings, not data
MAX_YAML_ALIASES = 50  # a few anchors are normal; thousands are a "billion laughs" bomb
MAX_YAML_DEPTH = 20  # the deepest legitimate value is a dict of dicts of lists (task_overrides)


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader with a cap on aliases and on nesting depth (checked while composing, before any object exists)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise ParamsError(f"more than {MAX_YAML_ALIASES} YAML aliases (*name): refused (alias bomb?)")
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise ParamsError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels: refused")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def safe_yaml(text: str) -> Any:
    """``yaml.safe_load`` with the alias and depth caps of ``_BoundedLoader``; ParamsError or yaml.YAMLError."""
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except ValueError as exc:  # int("9" * 5000): past Python's digit limit
        if isinstance(exc, ParamsError):
            raise
        raise ParamsError(f"value not readable: {str(exc).splitlines()[0][:120]}") from None
    except RecursionError:
        raise ParamsError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels: refused") from None
    finally:
        loader.dispose()


def read_regular_file(path: str | Path, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (never blocks on a FIFO, never reads a device)."""
    return files.read_bounded(path, max_bytes, what=what, error=ParamsError)


def load_params_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    raw = read_regular_file(path, MAX_PARAMS_BYTES, "params file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParamsError(f"params file {path} is not UTF-8 text (byte {exc.start})") from None
    try:
        data = safe_yaml(text)
    except ParamsError as exc:
        raise ParamsError(f"params file {path}: {exc}") from None
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
    if len(raw) > MAX_PARAMS_BYTES:
        raise ParamsError(f"override {key.strip()!r}: value longer than {MAX_PARAMS_BYTES} characters")
    try:
        value = safe_yaml(raw) if raw.strip() else ""
    except ParamsError as exc:
        raise ParamsError(f"-p {key.strip()}: {exc}") from None
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
