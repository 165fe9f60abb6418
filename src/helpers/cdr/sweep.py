"""The strong-over-weak pair sweep: disjoint data slices, each model's gap score on a held-out two-choice set or
an external scores file, unordered (strong, weak) pairs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..core.logprobs import LogProbScorer


def data_slices(
    per_subset: int, onpolicy_prompts: int, train_per_subset: int, gap_per_subset: int
) -> dict[str, tuple[int, int]]:
    """Disjoint per-subset slices (offset, count) of one preference file: eval, on-policy pool, DPO train, gap set.

    ``load_preference_set(per_subset=count, offset=offset)`` takes examples offset..offset+count of every
    subset, so consecutive slices never share an example. ``per_subset`` 0 means "all" and leaves nothing for
    the later slices (a ValueError when they are asked for).
    """
    onpolicy = max(1, onpolicy_prompts // 8 + 1) if onpolicy_prompts else 0
    later = onpolicy + train_per_subset + gap_per_subset
    if per_subset == 0 and later:
        raise ValueError(
            "per_subset 0 evaluates every example: no examples are left for the on-policy pool, the "
            "dpo-offline train slice or the gap set from the same file (use another gap_data / gap_scores_file)"
        )
    out, at = {}, 0
    for name, count in (
        ("eval", per_subset),
        ("onpolicy", onpolicy),
        ("train", train_per_subset),
        ("gap", gap_per_subset),
    ):
        out[name] = (at, count)
        at += count
    return out


def mc_accuracy(scorer: LogProbScorer, items: Sequence[dict]) -> float:
    """Share of two-choice items (prompt, chosen, rejected) where the model's mean token log-prob prefers chosen.

    An external per-model score in the paper's sense: an accuracy, comparable across tokenizers (unlike a
    per-token log-likelihood), computed on examples disjoint from the evaluation set.
    """
    from .reward import model_prompts

    chats = model_prompts(scorer, [[{"role": "user", "content": it["prompt"]}] for it in items])  # base: plain text
    good = scorer.score(list(zip(chats, [it["chosen"] for it in items])), desc=f"gap set {scorer.model_name}")
    bad = scorer.score(list(zip(chats, [it["rejected"] for it in items])), desc=f"gap set {scorer.model_name}")
    return sum(g.mean > b.mean for g, b in zip(good, bad)) / max(1, len(items))


def load_mc_set(source: str, per_subset: int = 0, offset: int = 0) -> list[dict]:
    """Two-choice items from a preference file (prompt/chosen/rejected/subset) or a facts file (question/correct/wrong)."""
    from ..core.data import load_records
    from .rewardbench import load_preference_set

    records = load_records(source)
    if records and {"question", "correct", "wrong"} <= set(records[0]):
        return [
            {"id": str(r.get("id", i)), "prompt": r["question"], "chosen": r["correct"], "rejected": r["wrong"]}
            for i, r in enumerate(records)
        ]
    return load_preference_set(source, per_subset=per_subset or None, offset=offset)


MAX_GAP_SCORE = 1e12  # benchmark scores are percentages or Elo points; 1e308 minus -1e308 overflows to inf


def load_gap_scores(path: str | Path) -> dict[str, float]:
    """A JSON object {model name: finite number}; ValueError naming the file and what is wrong."""
    import math

    from ..core.data import DataError, read_local_text

    try:
        data = json.loads(read_local_text(path))
    except DataError as exc:
        raise ValueError(f"parameter 'gap_scores_file': {exc}") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise ValueError(f"parameter 'gap_scores_file': {path} is not readable JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or not data:
        raise ValueError(f"parameter 'gap_scores_file': {path} must hold a JSON object {{model: score}}")
    bad = [
        k
        for k, v in data.items()
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or abs(v) > MAX_GAP_SCORE
    ]
    if bad:
        raise ValueError(
            f"parameter 'gap_scores_file': {path}: scores of {', '.join(map(repr, bad[:3]))} are not "
            f"finite numbers within +-{MAX_GAP_SCORE:g} (a difference of two must stay a finite number)"
        )
    return {str(k): float(v) for k, v in data.items()}


def unordered_pairs(
    names: Sequence[str], scores: dict[str, float]
) -> tuple[list[tuple[str, str, float]], list[tuple[str, str]]]:
    """Every unordered pair of models as (strong, weak, gap) with strong = the higher external score.

    The paper's sweep: each pair counted once, its gap = score(strong) - score(weak) > 0. Pairs with equal
    scores (to 9 decimal places) have no strong side: they are returned apart (second list) so the caller can count them.
    A model without a score is an error (KeyError naming it).
    """
    missing = [n for n in names if n not in scores]
    if missing:
        raise KeyError(f"no gap score for {', '.join(missing)} (scores known for: {', '.join(scores)})")
    pairs, ties = [], []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            gap = scores[a] - scores[b]
            if round(gap, 9) == 0:  # as core.stats.ranked: summation noise is no order
                ties.append((a, b))
            else:
                pairs.append((a, b, gap) if gap > 0 else (b, a, -gap))
    return sorted(pairs, key=lambda p: (-round(p[2], 9), p[0], p[1])), ties


SWEEP_COLUMNS = ["strong", "weak", "gap", "accuracy", "headline", "tied_share", "reward_degenerate"]


def rank_sweep(rows, decimals: int = 9):
    """The sweep table (a DataFrame, or a list of row dicts with strong, weak, gap) largest gap first; equal gaps (to
    ``decimals`` places: summation noise is no order) by strong, then weak name, so the order is the same whatever
    the input order. A ``gap_ties`` column counts the other pairs with the same gap. Index reset."""
    import pandas as pd

    table = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    table = table.reindex(columns=list(dict.fromkeys([*SWEEP_COLUMNS, *table.columns])))
    key = "__gap_key"
    out = (
        table.assign(**{key: pd.to_numeric(table["gap"], errors="coerce").round(decimals)})
        .sort_values([key, "strong", "weak"], ascending=[False, True, True], kind="stable", na_position="last")
        .drop(columns=key)
        .reset_index(drop=True)
    )
    count: dict[tuple, int] = {}
    for a, b in gap_ties(out, decimals):
        for p in (a, b):
            count[p] = count.get(p, 0) + 1
    return out.assign(gap_ties=[count.get(f"{s} / {w}", 0) for s, w in zip(out.strong, out.weak)])


def gap_ties(table, decimals: int = 9) -> list[tuple[str, str]]:
    """The pairs of sweep rows with the same gap (to ``decimals`` places), as ("strong / weak", "strong / weak") in
    ranked order (``core.stats.tied_pairs``)."""
    from ..core.stats import tied_pairs

    if not len(table):
        return []
    named = table.assign(pair=[f"{s} / {w}" for s, w in zip(table.strong, table.weak)])
    return tied_pairs(named[["pair", "gap"]], "gap", name="pair", decimals=decimals)
