"""Tokenizers and GPT-2 models for stepwise internalization.

``init_from`` names the starting point: ``config:gpt2-tiny`` (a small random GPT-2 built from a
config, with a character vocabulary fitted to the data: one token per digit and symbol, ``####`` one
token) or a pretrained model (hub id such as ``openai-community/gpt2``, or a local folder) with its own
tokenizer. Either way a training sequence is::

    [input] <eos> [cot] <eos> [#### answer] <eos>        (loss on everything after the first <eos>)

    tok, model = build(init_from, texts=[...], max_positions=64, seed=0)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from .schedule import remove_left

CONFIG_PREFIX = "config:"
PRESETS = {  # GPT-2 shapes built from a config (random init)
    "gpt2-tiny": {"n_layer": 2, "n_embd": 64, "n_head": 4},
    "gpt2-mini": {"n_layer": 4, "n_embd": 128, "n_head": 4},
    "gpt2-small": {"n_layer": 12, "n_embd": 768, "n_head": 12},
}
SPECIALS = ("<pad>", "<eos>", "<unk>", "####")
_SYMBOL = re.compile(r"####|\S")


class CharTokenizer:
    """One token per non-space character (``####`` is one token); spaces are not kept.

    For the multiplication data (single digits separated by spaces) decoding with spaces restores the
    text exactly; answers are compared without whitespace, so GSM8K works too (as a rehearsal).
    """

    def __init__(self, symbols: Iterable[str]):
        self.vocab = list(SPECIALS) + sorted(set(symbols) - set(SPECIALS))
        self.index = {s: i for i, s in enumerate(self.vocab)}
        self.pad_id, self.eos_id, self.unk_id = 0, 1, 2

    # the special ids under transformers' names (what ``core.tiny`` reads); as in GPT-2, ``<eos>`` also begins a text
    @property
    def eos_token_id(self) -> int:
        return self.eos_id

    bos_token_id = eos_token_id

    @property
    def pad_token_id(self) -> int:
        return self.pad_id

    @classmethod
    def fit(cls, texts: Iterable[str]) -> CharTokenizer:
        return cls(s for t in texts for s in _SYMBOL.findall(t))

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(s, self.unk_id) for s in _SYMBOL.findall(text)]

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.vocab[i] for i in ids if i != self.pad_id)

    def save(self, folder: str | Path) -> None:
        (Path(folder) / "char_vocab.json").write_text(json.dumps(self.vocab[len(SPECIALS) :]), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> CharTokenizer:
        return cls(json.loads((Path(folder) / "char_vocab.json").read_text(encoding="utf-8")))


class HubTokenizer:
    """A pretrained tokenizer behind the same small interface (pieces are encoded with a leading space)."""

    def __init__(self, tokenizer):
        self.tk = tokenizer
        self.eos_id = tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_id

    def __len__(self) -> int:
        return len(self.tk)

    def encode(self, text: str) -> list[int]:
        return self.tk.encode(" " + text, add_special_tokens=False)

    def decode(self, ids: Iterable[int]) -> str:
        return self.tk.decode(list(ids), skip_special_tokens=True)

    def save(self, folder: str | Path) -> None:
        self.tk.save_pretrained(folder)


@dataclass
class Encoded:
    """Token ids of one example's three parts (the ``<eos>`` separators are added when packing)."""

    prompt: list[int]
    cot: list[int]
    answer: list[int]  # "#### answer"


def encode_example(tok, example: dict) -> Encoded:
    return Encoded(
        tok.encode(example["input"]),
        tok.encode(example["cot"]) if example["cot"] else [],
        tok.encode(f"#### {example['answer']}"),
    )


def pack(enc: Encoded, cot: list[int], eos: int) -> tuple[list[int], int]:
    """The training sequence with the given (possibly shortened) CoT, and where the loss starts."""
    ids = enc.prompt + [eos] + cot + [eos] + enc.answer + [eos]
    return ids, len(enc.prompt) + 1


def make_batch(
    encoded, removed: list[float], eos: int, pad: int, keep_position: bool = False
) -> dict[str, torch.Tensor]:
    """Right-padded ids, mask and labels (-100 up to and including the first ``<eos>``).

    ``keep_position``: the reference's ``--keep_position``: every position id from the first ``<eos>`` on is
    shifted by the number of removed CoT tokens (``position_ids[first_eos:] += removed``), so the first ``<eos>``
    and the tokens after the removed ones sit where they sat with the whole CoT.
    """
    seqs = [pack(e, remove_left(e.cot, k), eos) for e, k in zip(encoded, removed)]
    width = max(len(ids) for ids, _ in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    labels = torch.full((len(seqs), width), -100, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    positions = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, ((row, loss_from), e) in enumerate(zip(seqs, encoded)):
        ids[i, : len(row)] = torch.tensor(row)
        labels[i, loss_from : len(row)] = torch.tensor(row[loss_from:])
        mask[i, : len(row)] = 1
        skipped = len(pack(e, e.cot, eos)[0]) - len(row) if keep_position else 0
        first_eos = loss_from - 1
        positions[i, : len(row)] = torch.cat([torch.arange(first_eos), torch.arange(first_eos, len(row)) + skipped])
    return {"input_ids": ids, "attention_mask": mask, "labels": labels, "position_ids": positions}


def inference_skip(method: str, keep_position: bool, encoded, scheduled: float) -> int:
    """Position ids a keep_position model jumps over after the prompt: the CoT tokens it was trained without."""
    if not keep_position or method == "cot":
        return 0
    lengths = {len(e.cot) for e in encoded}
    if len(lengths) != 1:
        raise ValueError("keep_position needs CoTs of one length (multiplication); use it off for GSM8K")
    cot_len = lengths.pop()
    return cot_len if method == "nocot" else int(min(scheduled, cot_len))


def decode_settings(
    tok, method: str, keep_position: bool, train_examples, sample: int = 2000, removed: float = float("inf")
) -> tuple[int, int]:
    """(position skip, max new tokens) for decoding a model of ``method``: the skip a keep_position model
    expects (``removed``: the CoT tokens a stepwise model was trained without at its selected checkpoint), and
    1.5x the longest CoT + answer among the first ``sample`` training examples (+8)."""
    enc = [encode_example(tok, e) for e in train_examples[:sample]]
    skip = inference_skip(method, keep_position, enc, removed)
    return skip, int(1.5 * max(len(e.cot) + len(e.answer) for e in enc)) + 8


def is_config_spec(init_from: str) -> bool:
    return init_from.startswith(CONFIG_PREFIX)


def preset(init_from: str) -> dict:
    name = init_from[len(CONFIG_PREFIX) :]
    if name not in PRESETS:
        raise ValueError(
            f"unknown model preset {init_from!r}: use one of "
            f"{', '.join(CONFIG_PREFIX + k for k in PRESETS)}, a hub id or a folder"
        )
    return PRESETS[name]


def build_tokenizer(init_from: str, texts: Iterable[str] = ()):
    """A character tokenizer fitted on ``texts`` (config models) or the pretrained model's tokenizer."""
    if is_config_spec(init_from):
        preset(init_from)
        return CharTokenizer.fit(texts)
    from transformers import AutoTokenizer

    from ..core.models import resolve_model

    return HubTokenizer(AutoTokenizer.from_pretrained(resolve_model(init_from)))


def build_model(init_from: str, tok, max_positions: int, seed: int = 0, dropout: float | None = None):
    """A GPT-2 from a preset config (``core.tiny``, random init with ``seed``) or pretrained weights."""
    if is_config_spec(init_from):
        from ..core.tiny import tiny_model

        p = dropout if dropout is not None else 0.0
        drop = {"resid_pdrop": p, "embd_pdrop": p, "attn_pdrop": p}
        model = tiny_model(tok, "gpt2", seed=seed, n_positions=max_positions, **drop, **preset(init_from))
        return with_causal_lm_loss(model)
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from ..core.models import resolve_model

    torch.manual_seed(seed)  # the training run's random state starts here as with a config model
    kw = {} if dropout is None else {"resid_pdrop": dropout, "embd_pdrop": dropout, "attn_pdrop": dropout}
    hf_logging.disable_progress_bar()  # one "Loading weights" bar per model would fill the report
    return with_causal_lm_loss(AutoModelForCausalLM.from_pretrained(resolve_model(init_from), **kw))


def with_causal_lm_loss(model):
    """Name the loss transformers should use (GPT2LMHeadModel's class name maps to none: a warning per model)."""
    model.loss_type = "ForCausalLM"
    return model


def build(init_from: str, texts: Iterable[str], max_positions: int, seed: int = 0, dropout: float | None = None):
    tok = build_tokenizer(init_from, texts)
    return tok, build_model(init_from, tok, max_positions, seed, dropout)


def load_tokenizer(init_from: str, folder: str | Path):
    if is_config_spec(init_from):
        return CharTokenizer.load(folder)
    from transformers import AutoTokenizer

    return HubTokenizer(AutoTokenizer.from_pretrained(folder))


def example_texts(examples: Iterable[dict]) -> Iterable[str]:
    for ex in examples:
        yield ex["input"]
        yield ex["cot"]
        yield ex["answer"]
