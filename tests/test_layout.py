"""The architecture, checked: a core that knows no paper, experiment packages that use only the core, small
modules, and docs/package.md lists every package and core module."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "helpers"
EXPERIMENTS = sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").exists() and p.name != "core")
# the house rule, counted as ruff format lays the code out (one argument per line when a call does not fit)
MAX_LINES = 450


def modules():
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def imported(path: Path) -> set[str]:
    """Absolute dotted names of the helpers modules ``path`` imports (relative imports resolved)."""
    pkg = list(path.relative_to(PKG.parent).with_suffix("").parts)[:-1]
    if path.name == "__init__.py":
        pkg = list(path.relative_to(PKG.parent).parent.parts)
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
                out |= {name} if node.module else {f"{name}.{a.name}" for a in node.names}
            elif node.module and node.module.startswith("helpers"):
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("helpers")}
    return out


def family(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "helpers" else None


def test_no_module_is_over_the_size_limit():
    big = {str(p.relative_to(PKG)): n for p in modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines (split them by concern): {big}"


def test_the_core_never_imports_an_experiment():
    for path in (PKG / "core").rglob("*.py"):
        bad = {m for m in imported(path) if family(m) in EXPERIMENTS}
        assert not bad, f"{path.relative_to(PKG)} imports {bad}"


def test_experiments_import_only_the_core_and_themselves():
    for exp in EXPERIMENTS:
        for path in (PKG / exp).rglob("*.py"):
            bad = {m for m in imported(path) if family(m) not in (None, "core", exp)}
            assert not bad, f"{path.relative_to(PKG)} imports another experiment: {bad}"


def test_readme_lists_every_package_and_core_module():
    readme = (ROOT / "docs" / "package.md").read_text()
    section = readme.split("## The helper package", 1)[1].split("\n## ", 1)[0]
    core = sorted(p.stem for p in (PKG / "core").glob("*.py") if p.stem != "__init__")
    missing = [f"core.{m}" for m in core if f"`{m}`" not in section]
    missing += [f"{e}/" for e in EXPERIMENTS if f"`{e}/`" not in section]
    assert not missing, f"docs/package.md's helper table does not list: {missing}"
