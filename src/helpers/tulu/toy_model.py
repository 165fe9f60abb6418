"""The quick world's models: a word-level tokenizer with a ChatML-style template, and small Llamas from a config.

    tok = word_tokenizer(world.vocabulary())        # a transformers tokenizer (save_pretrained / from_pretrained)
    tok.apply_chat_template([{"role": "user", "content": "list 2 animals"}], tokenize=False, add_generation_prompt=True)
    # '<|im_start|> user list 2 animals <|im_end|> <|im_start|> assistant'
    policy = build_policy("config:llama-s", tok, seed=0)          # random init; SFT makes it a policy
    rm = build_reward_model("config:rm-l", tok, seed=0)           # a sequence classifier with one score

Every word is one token (the world's text is space-separated words), so a few hundred tokens cover it and a
model of a few million parameters learns the tasks in seconds on a CPU. ``<|im_end|>`` ends a turn and is
the EOS token, as in ChatML.
"""

from __future__ import annotations

from ..core.tiny import tiny_model

CONFIG_PREFIX = "config:"
SPECIAL = {"pad": "<pad>", "unk": "<unk>", "bos": "<s>", "start": "<|im_start|>", "end": "<|im_end|>"}
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<|im_start|> ' + m['role'] + ' ' + m['content'] + ' <|im_end|> ' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|> assistant ' }}{% endif %}"
)
PRESETS = {  # Llama shapes built from a config (random init)
    "llama-xs": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4},
    "llama-s": {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 3, "num_attention_heads": 4},
    "llama-m": {"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 4, "num_attention_heads": 8},
    "rm-m": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4},
    "rm-s": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2},
    "rm-l": {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 3, "num_attention_heads": 4},
}


def is_config_spec(name: str) -> bool:
    return isinstance(name, str) and name.startswith(CONFIG_PREFIX)


def preset(name: str) -> dict:
    key = name[len(CONFIG_PREFIX) :] if is_config_spec(name) else name
    if key not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}: use one of {', '.join(CONFIG_PREFIX + k for k in PRESETS)}")
    return PRESETS[key]


def word_tokenizer(vocabulary: list[str]):
    """A ``PreTrainedTokenizerFast``: one id per word (whitespace split), ChatML-style specials and template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = list(SPECIAL.values())
    vocab = {w: i for i, w in enumerate(specials + [w for w in vocabulary if w not in specials])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=SPECIAL["unk"]))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with single spaces
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token=SPECIAL["pad"],
        unk_token=SPECIAL["unk"],
        bos_token=SPECIAL["bos"],
        eos_token=SPECIAL["end"],
        additional_special_tokens=[SPECIAL["start"]],
    )
    tok.chat_template = CHAT_TEMPLATE
    tok.padding_side = "left"
    return tok


def _shape(name: str, max_positions: int) -> dict:
    """The preset ``name`` as ``tiny_model`` keywords (multi-head attention: as many key/value heads as heads)."""
    shape = dict(preset(name))
    return {**shape, "num_key_value_heads": shape["num_attention_heads"], "max_position_embeddings": max_positions}


def build_policy(name: str, tok, seed: int = 0, max_positions: int = 128):
    """A random causal Llama of the preset ``name`` (``config:llama-s``) for ``tok``'s vocabulary."""
    model = tiny_model(tok, seed=seed, **_shape(name, max_positions))
    model.generation_config.pad_token_id = tok.pad_token_id
    return model


def build_reward_model(name: str, tok, seed: int = 0, max_positions: int = 128):
    """A random Llama sequence classifier with one output (a reward model) of the preset ``name``."""
    return tiny_model(tok, seed=seed, head="classifier", num_labels=1, **_shape(name, max_positions))
