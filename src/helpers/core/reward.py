"""A reward model as a scorer of (prompt, response) pairs: a sequence-classification model, or the density ratio
of two chat models.

    rm = RewardScorer("outputs/06_tulu/quick/models/rm-l-s0")   # a folder, an alias or a hub id
    rm.score([("list 2 animals", "cat dog")])                   # [1.7]: the first logit on the chat-formatted exchange
    rm.pairwise_accuracy(pairs)                                 # share of {prompt, chosen, rejected} won by chosen
    trainer = RLOOTrainer(..., reward_funcs=rm.trl_reward())    # TRL's reward-function signature
    RewardScorer(strong, weak).score(pairs)                     # log p_strong(r | p) - log p_weak(r | p)

The text a classifier scores is the (user, assistant) exchange through the tokenizer's chat template (what TRL's
``RewardTrainer`` trains on), or ``User: ...\\nAssistant: ...`` for a tokenizer without one. A prompt is the user
turn's text or a list of chat messages (a system turn, earlier turns).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from . import hf


def _messages(prompt: hf.Prompt) -> list[dict]:
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)


class RewardLoadError(RuntimeError):
    """A configured reward model could not be loaded; the message names it and the fix."""


class RewardScorer:
    """Rewards of (prompt, response) pairs.

    * ``ref_model`` empty: ``model`` is a sequence-classification reward model; the reward is its first logit.
    * ``ref_model`` set: a density ratio, log p_model(response | prompt) - log p_ref_model(response | prompt), under
      two chat models sharing a tokenizer (``LogProbScorer``; no trained reward model).

    ``batch_size``: pairs per forward pass; ``max_length``: tokens kept per text (None: no truncation); ``device``:
    default the GPU when there is one; ``dtype``: ``hf.resolve_dtype``'s names, None for the checkpoint's own.
    """

    def __init__(
        self,
        model: str | Path,
        ref_model: str | Path = "",
        batch_size: int = 8,
        max_length: int | None = 1024,
        device: str | None = None,
        dtype: str | None = "auto",
    ):
        from .models import resolve_model

        model, ref_model = str(model), str(ref_model)
        self.name = f"{model} / {ref_model}" if ref_model else model
        self.kind = "density_ratio" if ref_model else "classifier"
        self.batch_size, self.max_length = batch_size, max_length
        try:
            if self.kind == "density_ratio":
                from .logprobs import LogProbScorer

                self.strong = LogProbScorer(model, batch_size=batch_size)
                self.weak = LogProbScorer(ref_model, batch_size=batch_size)
            else:
                from transformers import AutoModelForSequenceClassification

                path = resolve_model(model)
                self.device = device or hf.device_name()
                self.tokenizer = hf.load_tokenizer(path)
                kw = {} if dtype is None else {"dtype": hf.resolve_dtype(dtype, self.device)}
                self.model = AutoModelForSequenceClassification.from_pretrained(path, **kw).to(self.device).eval()
                self.model.config.pad_token_id = self.tokenizer.pad_token_id  # the padding the batches use
        except Exception as exc:
            raise RewardLoadError(
                f"reward model {self.name!r} could not be loaded ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); give a sequence-classification reward model, "
                "or a model and a reference model (two chat models) for a density ratio"
            ) from None

    def _text(self, prompt: hf.Prompt, response: str) -> str:
        chat = _messages(prompt) + [{"role": "assistant", "content": response}]
        if not hf.has_chat_template(self.tokenizer):
            return "\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in chat)
        return hf.render(self.tokenizer, chat, add_generation_prompt=False)

    def score(self, pairs: Sequence[tuple[hf.Prompt, str]]) -> list[float]:
        """One reward per (prompt, response) pair, in order; a prompt is a user turn's text or chat messages."""
        pairs = list(pairs)
        if not pairs:
            return []
        if self.kind == "density_ratio":
            chats = [(_messages(p), r) for p, r in pairs]
            return [s.sum - w.sum for s, w in zip(self.strong.score(chats), self.weak.score(chats))]
        import torch

        scores: list[float] = []
        for start in range(0, len(pairs), self.batch_size):
            enc = self.tokenizer(
                [self._text(p, r) for p, r in pairs[start : start + self.batch_size]],
                return_tensors="pt",
                padding=True,
                truncation=self.max_length is not None,
                max_length=self.max_length,
                add_special_tokens=False,
            )
            with torch.inference_mode():
                logits = self.model(**{k: v.to(self.model.device) for k, v in enc.items()}).logits
            scores += [float(x) for x in logits[:, 0].float().cpu()]
        return scores

    def pairwise_accuracy(self, pairs: Sequence[dict]) -> float | None:
        """The share of ``pairs`` ({prompt, chosen, rejected}) whose chosen answer scores higher (ties count half)."""
        if not pairs:
            return None
        rc = self.score([(p["prompt"], p["chosen"]) for p in pairs])
        rr = self.score([(p["prompt"], p["rejected"]) for p in pairs])
        return sum(1.0 if c > r else 0.5 if c == r else 0.0 for c, r in zip(rc, rr)) / len(pairs)

    def trl_reward(self):
        """A reward function with TRL's signature (conversational or plain prompts and completions)."""

        def rm(prompts, completions, **_):
            text = lambda m: m if isinstance(m, str) else m[-1]["content"]  # noqa: E731
            return self.score([(text(p), text(c)) for p, c in zip(prompts, completions)])

        rm.__name__ = f"rm:{Path(self.name).name}"
        return rm
