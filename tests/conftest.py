"""Shared fixtures: tiny random models built from a config (no download), the embedded model, one
vLLM engine per test session."""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")

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
    from helpers.core.generation import shutdown_engines
    yield Generator(DEFAULT_MODEL, backend="vllm")
    shutdown_engines()
