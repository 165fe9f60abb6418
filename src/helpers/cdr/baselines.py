"""The notebook's default pair against its baselines (05_cdr): the density ratio next to each model alone and a
trained reward model, their table, and how much of each ranking is response length."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .reward import ratio
from .verdicts import degenerate_note


# --------------------------------------------------------------------------- the default pair and its baselines
def both_sides(ids: Sequence[str], f: Callable[[str], float]) -> tuple[list[float], list[float]]:
    """(rewards of the chosen responses, rewards of the rejected ones) for ``f`` of each item id."""
    return [f(i + "/chosen") for i in ids], [f(i + "/rejected") for i in ids]


def baseline_methods(S: dict, W: dict, ids: Sequence[str], strong: str, weak: str) -> dict[str, tuple[list, list]]:
    """The density ratio (sum and mean) of the default pair next to each model alone."""
    return {
        f"ratio sum ({strong} / {weak})": both_sides(ids, lambda k: ratio(S[k], W[k], "sum")),
        f"ratio mean ({strong} / {weak})": both_sides(ids, lambda k: ratio(S[k], W[k], "mean")),
        "strong alone, mean log-prob": both_sides(ids, lambda k: S[k].mean),
        "strong alone, sum log-prob": both_sides(ids, lambda k: S[k].sum),
        "weak alone, mean log-prob": both_sides(ids, lambda k: W[k].mean),
    }


def reward_model_method(
    reward_model: str, items: Sequence[dict], ids: Sequence[str], batch_size: int
) -> tuple[list, list]:
    """A trained reward model's (chosen, rejected) scores, as a baseline method."""
    from .reward import reward_model_scores

    rm = dict(
        zip(
            [it["id"] for it in items],
            reward_model_scores(reward_model, [(it["prompt"], it["response"]) for it in items], batch_size=batch_size),
        )
    )
    return both_sides(ids, lambda k: rm[k])


def baseline_table(reports: dict, method_tied: dict[str, float | None]):
    """One row per method: RewardBench-style scores (%), the headline's interval, tied share, degeneracy."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "method": m,
                **{k: round(100 * v, 1) for k, v in r.flat().items()},
                "headline_ci": (
                    f"[{100 * r.headline_ci[0]:.1f}, {100 * r.headline_ci[1]:.1f}]" if r.headline_ci else ""
                ),
                "tied_share": None if method_tied[m] is None else round(method_tied[m], 3),
                "reward": degenerate_note(method_tied[m]) or "ok",
            }
            for m, r in reports.items()
        ]
    )


def length_preference(S: dict, ids: Sequence[str], methods: dict) -> tuple[dict[str, float], list[str]]:
    """How much of the ranking is response length: per method, the share of examples (with unequal token counts
    under the strong model's tokenizer) where it prefers the longer response; and the lines the notebook prints."""
    import pandas as pd

    longer = np.array([S[i + "/chosen"].n_tokens > S[i + "/rejected"].n_tokens for i in ids])
    unequal = np.array([S[i + "/chosen"].n_tokens != S[i + "/rejected"].n_tokens for i in ids])
    prefers = {
        m: float(np.mean((np.array(ch) > np.array(rj))[unequal] == longer[unequal])) for m, (ch, rj) in methods.items()
    }
    return prefers, [
        f"chosen is the longer response in {longer[unequal].mean():.0%} of {unequal.sum()} examples with "
        "unequal lengths",
        "share of those where each method prefers the longer response:",
        pd.Series(prefers).round(2).to_string(),
    ]
