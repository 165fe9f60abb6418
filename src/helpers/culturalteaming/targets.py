"""The target panel: does a finished question fool several models and two baselines?

    panel = TargetPanel([LocalVerifier(scorer_a), EndpointVerifier(judge_b)], k=2)   # + random + embedding baselines
    panel.check(draft) -> {"answers": [...], "wrong": 3, "failed": 0, "n_targets": 4, "k": 2, "challenging": True}

Baselines: ``random`` (an option drawn with a seed from the question's text: the same question gets the same draw)
and ``embedding`` (the option whose sentence embedding is nearest the culture's name, helpers.core.embeddings).
A target that fails to answer is counted in ``failed``, never as wrong. Challenging: at least ``k`` targets wrong.
"""

from __future__ import annotations

import random

import numpy as np

from ..core.store import stable_id
from .validate import Draft


class RandomBaseline:
    name = "random"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def answer(self, d: Draft) -> dict:
        rng = random.Random(stable_id(self.seed, d.prompt_question, list(d.options)))
        k = rng.randrange(4)
        return {"probs": [1.0 if i == k else 0.0 for i in range(4)], "pred": k, "source": "random"}


class EmbeddingBaseline:
    """The option closest to the culture's name by cosine similarity of sentence embeddings."""

    name = "embedding"

    def __init__(self, model: str = ""):
        self.model = model

    def answer(self, d: Draft) -> dict:
        from ..core.embeddings import DEFAULT_EMBEDDER, embed

        emb = embed([d.culture, *d.options], model=self.model or DEFAULT_EMBEDDER)
        sims = (emb[1:] @ emb[0]).astype(float)
        k = int(np.argmax(sims))
        return {
            "probs": [1.0 if i == k else 0.0 for i in range(4)],
            "pred": k,
            "source": "embedding",
            "similarity": [round(float(s), 4) for s in sims],
        }


class TargetPanel:
    def __init__(self, models=(), k: int = 2, seed: int = 0, embedder: str = "", baselines: bool = True):
        self.targets = list(models) + ([RandomBaseline(seed), EmbeddingBaseline(embedder)] if baselines else [])
        names = [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError(f"target names must be distinct: {names}")
        if not 1 <= k <= len(self.targets):
            raise ValueError(f"challenge threshold k={k} must be between 1 and the {len(self.targets)} targets")
        self.k = k

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.targets]

    def check(self, d: Draft) -> dict:
        answers = []
        for t in self.targets:
            res = t.answer(d)
            if res.get("failed"):
                answers.append({"target": t.name, "pred": None, "correct": None, "failed": True})
            else:
                answers.append(
                    {
                        "target": t.name,
                        "pred": res["pred"],
                        "correct": res["pred"] == d.answer,
                        "confidence": round(float(res["probs"][res["pred"]]), 6),
                        "failed": False,
                    }
                )
        wrong = sum(a["correct"] is False for a in answers)
        return {
            "answers": answers,
            "wrong": wrong,
            "failed": sum(a["failed"] for a in answers),
            "n_targets": len(answers),
            "k": self.k,
            "challenging": wrong >= self.k,
        }
