"""Reward scores of (instruction, response): a sequence-classification reward model or a density ratio."""

from __future__ import annotations

from collections.abc import Sequence

from ..core import hf


class RewardLoadError(RuntimeError):
    """A configured reward model could not be loaded; the message names it and the fix."""


class RewardScorer:
    """``instruct_reward`` for (instruction, response) pairs.

    * ``kind="classifier"``: a sequence-classification reward model (e.g. an ArmoRM/Skywork RM);
      the score is its first logit on the chat-formatted conversation.
    * ``kind="density_ratio"``: log p_strong(response | instruction) - log p_weak(response | instruction)
      under two chat models sharing a tokenizer (a density-ratio reward; no trained reward model).
    """

    def __init__(self, model: str, ref_model: str = "", batch_size: int = 8, max_length: int = 1024):
        from ..core.models import resolve_model

        self.name = f"{model} / {ref_model}" if ref_model else model
        self.kind = "density_ratio" if ref_model else "classifier"
        self.batch_size = batch_size
        self.max_length = max_length
        try:
            if self.kind == "density_ratio":
                from ..core.logprobs import LogProbScorer

                self.strong = LogProbScorer(model, batch_size=batch_size)
                self.weak = LogProbScorer(ref_model, batch_size=batch_size)
            else:
                import torch
                from transformers import AutoModelForSequenceClassification

                path = resolve_model(model)
                self.tokenizer = hf.load_tokenizer(path)
                self.model = (
                    AutoModelForSequenceClassification.from_pretrained(path, dtype=hf.resolve_dtype("auto"))
                    .to(hf.device_name())
                    .eval()
                )
                if self.model.config.pad_token_id is None:
                    self.model.config.pad_token_id = self.tokenizer.pad_token_id
                self._torch = torch
        except Exception as exc:
            raise RewardLoadError(
                f"reward model {self.name!r} could not be loaded ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); set reward_model to a "
                "sequence-classification reward model, or reward_model + reward_ref_model to two "
                "chat models for a density ratio, or leave it empty"
            ) from None

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        pairs = list(pairs)
        if not pairs:
            return []
        chats = [[{"role": "user", "content": q}] for q, _ in pairs]
        if self.kind == "density_ratio":
            strong = self.strong.score(list(zip(chats, [r for _, r in pairs])))
            weak = self.weak.score(list(zip(chats, [r for _, r in pairs])))
            return [s.sum - w.sum for s, w in zip(strong, weak)]
        torch = self._torch
        scores: list[float] = []
        for start in range(0, len(pairs), self.batch_size):
            chunk = pairs[start : start + self.batch_size]
            texts = [
                hf.render(
                    self.tokenizer,
                    [{"role": "user", "content": q}, {"role": "assistant", "content": r}],
                    add_generation_prompt=False,
                )
                if hf.has_chat_template(self.tokenizer)
                else f"User: {q}\nAssistant: {r}"
                for q, r in chunk
            ]
            enc = self.tokenizer(
                texts,
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=self.max_length,
                add_special_tokens=False,
            )
            with torch.inference_mode():
                logits = self.model(**{k: v.to(self.model.device) for k, v in enc.items()}).logits
            scores += [float(x) for x in logits[:, 0].float().cpu()]
        return scores
