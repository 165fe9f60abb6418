from pathlib import Path

import pytest

from helpers.core.models import ModelNotFoundError, resolve_embedder, resolve_model


def test_embedded_alias_resolves_to_a_converted_folder(embedded_model_dir):
    path = Path(embedded_model_dir)
    assert (path / "config.json").exists() and list(path.glob("*.safetensors"))
    assert "quantization_config" not in (path / "config.json").read_text()
    assert resolve_model("SmolLM2-135M-Instruct") == embedded_model_dir  # case-insensitive, converted once


def test_embedder_ships_offline():
    assert (Path(resolve_embedder()) / "config.json").exists()


def test_local_folder_and_hub_id(tiny_model_dir, monkeypatch):
    assert resolve_model(tiny_model_dir) == tiny_model_dir
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert resolve_model("meta-llama/Meta-Llama-3-8B-Instruct") == "meta-llama/Meta-Llama-3-8B-Instruct"


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "empty"),
        ("./no-such-model", "not found"),
        ("not-a-model", "not an embedded alias"),
    ],
)
def test_missing_models_get_one_clear_error(name, message):
    with pytest.raises(ModelNotFoundError, match=message):
        resolve_model(name)


def test_uncached_hub_id_offline_says_how_to_get_it(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="huggingface-cli download org/never-downloaded"):
        resolve_model("org/never-downloaded")


def test_folder_without_config_is_explained(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        resolve_model(str(tmp_path / "empty"))
