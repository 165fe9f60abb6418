"""A trained reward model as a scorer: for PPO, for TRL's RLOO / GRPO, and for its held-out pairwise accuracy.

    rm = RewardScorer(run.dir / "models" / "rm-l-s0")
    rm.score(["list 2 animals"], ["cat dog"])           # [1.7]
    rm.pairwise_accuracy(pairs)                         # share of pairs with r(chosen) > r(rejected)
    trainer = RLOOTrainer(..., reward_funcs=rm.trl_reward())

The text scored is the chat template of the (user, assistant) exchange, exactly what ``RewardTrainer``
trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class RewardScorer:
    def __init__(self, folder: str | Path, batch_size: int = 128, device: str | None = None):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.folder = str(folder)
        self.tok = AutoTokenizer.from_pretrained(self.folder)
        if self.tok.pad_token is None:
            self.tok.pad_token = self.tok.eos_token
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = AutoModelForSequenceClassification.from_pretrained(self.folder).to(self.device).eval()
        self.model.config.pad_token_id = self.tok.pad_token_id
        self.batch_size = batch_size

    def texts(self, prompts: Sequence[str], responses: Sequence[str]) -> list[str]:
        return [
            self.tok.apply_chat_template(
                [{"role": "user", "content": p}, {"role": "assistant", "content": r}], tokenize=False
            )
            for p, r in zip(prompts, responses)
        ]

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        import torch

        texts, out = self.texts(prompts, responses), []
        for start in range(0, len(texts), self.batch_size):
            enc = self.tok(
                texts[start : start + self.batch_size], return_tensors="pt", padding=True, add_special_tokens=False
            ).to(self.device)
            with torch.no_grad():
                out += self.model(**enc).logits[:, 0].float().tolist()
        return out

    def pairwise_accuracy(self, pairs: Sequence[dict]) -> float | None:
        """The share of ``pairs`` whose chosen answer the model scores higher (ties count as half)."""
        if not pairs:
            return None
        prompts = [p["prompt"] for p in pairs]
        rc = self.score(prompts, [p["chosen"] for p in pairs])
        rr = self.score(prompts, [p["rejected"] for p in pairs])
        return sum(1.0 if c > r else 0.5 if c == r else 0.0 for c, r in zip(rc, rr)) / len(pairs)

    def trl_reward(self):
        """A reward function with TRL's signature (conversational prompts and completions)."""

        def rm(prompts, completions, **_):
            text = lambda m: m if isinstance(m, str) else m[-1]["content"]  # noqa: E731
            return self.score([text(p) for p in prompts], [text(c) for c in completions])

        rm.__name__ = f"rm:{Path(self.folder).name}"
        return rm
