"""Shared fixtures: tiny random models built from a config (no download), the embedded model, one
vLLM engine per test session."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
if os.environ.get("PYTEST_XDIST_WORKER"):  # pytest -n N: each worker (and the kernels it starts) gets its share of
    # the cores, so that N workers' torch/OpenMP threads never wait at a barrier for a descheduled sibling
    _share = str(max(1, len(os.sched_getaffinity(0)) // max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))))
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "HELPERS_TORCH_THREADS"):
        os.environ.setdefault(_var, _share)

import pytest  # noqa: E402

from helpers.core.models import DEFAULT_MODEL, resolve_model  # noqa: E402


@pytest.fixture(scope="session")
def embedded_model_dir() -> str:
    """The real embedded chat model (SmolLM2-135M-Instruct), converted once into the cache."""
    return resolve_model(DEFAULT_MODEL)


def _tiny_llama(path, tokenizer, seed: int, hidden: int = 32, layers: int = 2):
    from helpers.core.tiny import tiny_model

    model = tiny_model(tokenizer, seed=seed, hidden_size=hidden, num_hidden_layers=layers, max_position_embeddings=1024)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, embedded_model_dir) -> str:
    """A 2-layer random Llama with the embedded model's tokenizer and chat template (ChatML)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(embedded_model_dir)
    return _tiny_llama(tmp_path_factory.mktemp("tiny-chat"), tok, seed=0)


@pytest.fixture(scope="session")
def tiny_model_dir_b(tmp_path_factory, embedded_model_dir) -> str:
    """A second tiny random Llama (different weights), same tokenizer: a 'weak' model for ratios."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(embedded_model_dir)
    return _tiny_llama(tmp_path_factory.mktemp("tiny-chat-b"), tok, seed=1)


@pytest.fixture(scope="session")
def tiny_base_model_dir(tmp_path_factory, embedded_model_dir) -> str:
    """A tiny random Llama whose tokenizer has NO chat template (a base model)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(embedded_model_dir)
    tok.chat_template = None
    return _tiny_llama(tmp_path_factory.mktemp("tiny-base"), tok, seed=2)


@pytest.fixture(scope="session")
def vllm_generator(embedded_model_dir):
    """The one vLLM engine of a test session (embedded model, CPU); skipped where vLLM is absent."""
    from helpers.core.generation import Generator, vllm_available

    if not vllm_available():
        pytest.skip("vLLM is not installed")
    from helpers.core.vllm_engines import shutdown_engines

    yield Generator(DEFAULT_MODEL, backend="vllm")
    shutdown_engines()


# pytest-xdist (`make test` runs `-n 2 --dist loadgroup`): tests that share one expensive or exclusive thing run on
# one worker, one after another: the session's vLLM engine, the two-node Ray cluster, the full-gpu suite rehearsal.
XDIST_GROUPS = {"vllm": "vllm", "vllm_generator": "vllm", "cluster": "ray", "full_gpu_rehearsal": "full-gpu-rehearsal"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        names = [m.name for m in item.iter_markers()] + list(getattr(item, "fixturenames", ()))
        group = next((XDIST_GROUPS[n] for n in names if n in XDIST_GROUPS), None)
        if group and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(group))
        mark = item.get_closest_marker("xdist_group")
        if mark and getattr(config.option, "loadgroup", False) and "@" not in item.nodeid:
            _suffix_group(item, mark.args[0] if mark.args else mark.kwargs.get("name", "default"))


def _suffix_group(item, group: str) -> None:
    """What xdist 3.8's loadgroup does to a grouped test's nodeid (``<nodeid>@<group>``, the scheduler's unit of
    work). xdist sets ``item._nodeid``, which pytest 9 no longer reads (it builds the nodeid from ``item._id``):
    without this every grouped test was scheduled on its own (measured: the suite rehearsal ran on both workers)."""
    from _pytest.nodeid import NodeId

    item._id = NodeId.parse(f"{item.nodeid}@{group}")


@pytest.fixture(scope="session")
def full_gpu_rehearsal(tmp_path_factory):
    """One rehearsal of the whole full-gpu suite per test session (``helpers.run suite --profile full-gpu --rehearse``):
    ``(outputs folder, exit code)``. tests/test_rehearsal.py checks the suite; a notebook's smoke test checks its own
    run folder ``<outputs>/<notebook>/full-gpu`` instead of rehearsing the same profile a second time."""
    from helpers.core.run import run_suite

    outputs = tmp_path_factory.mktemp("full-gpu-suite")
    return outputs, run_suite("full-gpu", outputs=outputs, rehearse=True)
