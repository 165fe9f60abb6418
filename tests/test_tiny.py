"""core.tiny: the one factory of tiny random models (tests, rehearsal stand-ins, toy worlds, derived zoo models)."""

import pytest
import torch

from helpers.core.tiny import save_model, tiny_config, tiny_model


@pytest.fixture(scope="module")
def tok(embedded_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(embedded_model_dir)


def _same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_tiny_model_takes_the_tokenizers_vocabulary_and_ids_and_its_seed_decides_the_weights(tok):
    model = tiny_model(tok, seed=3)
    cfg = model.config
    assert (cfg.vocab_size, cfg.eos_token_id, cfg.pad_token_id) == (len(tok), tok.eos_token_id, tok.pad_token_id)
    assert (cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers, cfg.num_key_value_heads) == (32, 64, 2, 2)
    assert model.generation_config.eos_token_id == tok.eos_token_id
    assert _same(model, tiny_model(tok, seed=3)) and not _same(model, tiny_model(tok, seed=4))
    assert tiny_config(tok, hidden_size=48).intermediate_size == 96  # the MLP follows the width unless given
    other = tiny_model(tok, bos_token_id=5, eos_token_id=6)  # a tokenizer that names its ends otherwise (WordPiece)
    assert (other.config.bos_token_id, other.config.eos_token_id, other.generation_config.eos_token_id) == (5, 6, 6)


def test_tiny_model_heads_and_families(tok, tmp_path):
    rm = tiny_model(tok, head="classifier", num_labels=1)
    assert type(rm).__name__ == "LlamaForSequenceClassification" and rm.config.num_labels == 1
    assert type(tiny_model(tok, "qwen2")).__name__ == "Qwen2ForCausalLM"
    gpt2 = tiny_model(tok, "gpt2", n_positions=64)  # icot's config models: GPT-2's own shape names
    assert type(gpt2).__name__ == "GPT2LMHeadModel" and (gpt2.config.n_layer, gpt2.config.n_embd) == (2, 32)
    t5 = tiny_model(tok, "t5", d_model=16, d_ff=32, d_kv=4, num_layers=1, num_heads=2)
    assert t5.config.decoder_start_token_id == tok.pad_token_id
    pegasus = tiny_model(
        tok,
        "pegasus",
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
    )
    assert type(pegasus).__name__ == "PegasusForConditionalGeneration"
    assert pegasus.config.decoder_start_token_id == tok.pad_token_id and pegasus.config.vocab_size == len(tok)
    with pytest.raises(ValueError, match="unknown model family"):
        tiny_model(tok, "gpt9")
    with pytest.raises(ValueError, match="no 'classifier' head"):
        tiny_model(tok, "t5", head="classifier")
    folder = save_model(tiny_model(tok), tok, tmp_path / "m")
    assert (tmp_path / "m" / "config.json").is_file() and (tmp_path / "m" / "tokenizer_config.json").is_file()
    assert folder == str(tmp_path / "m")
