"""Confidence intervals, one implementation each (scipy.stats underneath), the bootstrap every experiment resamples
through, and verdicts built on them.

    wilson_interval(8, 10)                      # (0.49, 0.94): a binomial proportion, 95%
    chance_verdict(8, 10)                       # {"signal": "not distinguishable from chance", ...}
    judge_reliability(tie_share=1.0)            # (False, "every pairwise judgement was a tie")
    rank_with_ties(board, "wb_score", low="wb_score_lo", high="wb_score_hi")  # best first, stable, a `ties` column

Verdicts are what a report says in words; they are computed here, from the numbers, so the same
run can never state a finding its metrics contradict.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of the proportion k/n (scipy's binomtest); (0, 1) when n is 0."""
    if n == 0:
        return (0.0, 1.0)
    from scipy.stats import binomtest

    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def chance_verdict(k: int, n: int, chance: float = 0.5, what: str = "correct") -> dict[str, Any]:
    """Whether k/n is above, below or indistinguishable from ``chance`` by its 95% Wilson interval."""
    lo, hi = wilson_interval(k, n)
    if n == 0:
        signal = "no data"
    elif lo > chance:
        signal = "above chance"
    elif hi < chance:
        signal = "below chance"
    else:
        signal = "not distinguishable from chance"
    rate = k / n if n else None
    text = (
        (
            f"{k}/{n} {what} ({100 * rate:.0f}%, 95% CI {100 * lo:.0f}-{100 * hi:.0f}%): {signal} "
            f"(chance {100 * chance:.0f}%)"
        )
        if n
        else f"0 {what}: no data"
    )
    return {"signal": signal, "rate": rate, "ci": [lo, hi], "text": text}


def position_consistency(pairs: Iterable[tuple[int | None, int | None]]) -> dict[str, Any]:
    """Position bias of a judge from games judged in both orders.

    Each pair holds the verdict of the two games of one (prompt, model) as the sign of slot A's preference: +1 slot
    A preferred, 0 a tie, -1 slot B preferred, None no verdict (the pair counts as failed). The answers swap slots
    between the two games, so the verdicts agree on the model's outcome when the signs are opposite.

    ``consistent_rate``: the model's outcome (win / tie / loss) is the same in both orders; ``same_slot_rate``: both
    verdicts favour the same slot, a pure position effect, split into ``first_slot_rate`` (A both times) and
    ``second_slot_rate`` (B both times); ``a_slot_rate``: the share of decisive verdicts that favour slot A.
    """
    n = consistent = first = second = decisive = a_wins = failed = 0
    for s1, s2 in pairs:
        if s1 is None or s2 is None:
            failed += 1
            continue
        n += 1
        consistent += s1 == -s2
        first += s1 == s2 == 1
        second += s1 == s2 == -1
        decisive += (s1 != 0) + (s2 != 0)
        a_wins += (s1 > 0) + (s2 > 0)
    rate = lambda k, total: k / total if total else float("nan")  # noqa: E731
    return {
        "pairs": n,
        "failed_pairs": failed,
        "consistent_rate": rate(consistent, n),
        "same_slot_rate": rate(first + second, n),
        "first_slot_rate": rate(first, n),
        "second_slot_rate": rate(second, n),
        "a_slot_rate": rate(a_wins, decisive),
    }


def judge_reliability(
    tie_share: float | None = None,
    top_score_share: float | None = None,
    parse_failure_rate: float | None = None,
    position_bias_rate: float | None = None,
    max_share: float = 0.9,
    max_failures: float = 0.5,
) -> tuple[bool, str]:
    """Can a ranking be read from these judgements? (False, the reason) when the judge is degenerate.

    Degenerate: (nearly) every pairwise verdict a tie, (nearly) every score the same value, (nearly)
    every verdict for the same slot, or most replies unparseable. Shares at or above ``max_share`` and
    failure rates above ``max_failures`` fail the check.
    """
    reasons = []
    if parse_failure_rate is not None and parse_failure_rate > max_failures:
        reasons.append(f"{100 * parse_failure_rate:.0f}% of judge replies could not be parsed")
    if tie_share is not None and tie_share >= max_share:
        reasons.append(f"{100 * tie_share:.0f}% of pairwise verdicts were ties")
    if top_score_share is not None and top_score_share >= max_share:
        reasons.append(f"{100 * top_score_share:.0f}% of scores had the same value")
    if position_bias_rate is not None and position_bias_rate >= max_share:
        reasons.append(f"{100 * position_bias_rate:.0f}% of swapped game pairs followed the slot, not the answer")
    return (not reasons, "; ".join(reasons) if reasons else "judge checks passed")


def correlation_pvalue(r: float | None, n: int) -> float | None:
    """Two-sided p-value of a (Pearson or Spearman) correlation r over n points (t approximation)."""
    import math

    from scipy.stats import t

    if r is None or n < 3 or not math.isfinite(r):
        return None
    if abs(r) >= 1:
        return 0.0
    stat = r * math.sqrt((n - 2) / (1 - r * r))
    return float(2 * t.sf(abs(stat), n - 2))


def pct(x: float | None, digits: int = 0) -> str:
    """0.1234 -> '12%'; None or NaN -> 'n/a'."""
    return "n/a" if x is None or x != x else f"{100 * x:.{digits}f}%"


def correlation_ci(x, y, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict[str, float | None]:
    """Pearson r with its Fisher-z CI (scipy's ``pearsonr(...).confidence_interval``) and Spearman rho with a
    paired percentile bootstrap CI; None where n < 4 or a side is constant."""
    import numpy as np
    from scipy import stats

    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    empty = {
        "n": n,
        "pearson": None,
        "pearson_low": None,
        "pearson_high": None,
        "spearman": None,
        "spearman_low": None,
        "spearman_high": None,
    }
    if n < 4 or np.std(x) == 0 or np.std(y) == 0:
        return empty
    pr = stats.pearsonr(x, y)
    pci = pr.confidence_interval(confidence_level=level)
    rho = float(stats.spearmanr(x, y).statistic)

    boots = [  # paired percentile bootstrap; resamples with a constant side are skipped
        stats.spearmanr(x[ix], y[ix]).statistic
        for ix in resample_indices(n, n_boot, seed)
        if np.std(x[ix]) > 0 and np.std(y[ix]) > 0
    ]
    lo, hi = percentile_interval(boots, level)
    fin = lambda v: float(v) if np.isfinite(v) else None  # noqa: E731
    return {
        "n": n,
        "pearson": float(pr.statistic),
        "pearson_low": float(pci.low),
        "pearson_high": float(pci.high),
        "spearman": rho,
        "spearman_low": fin(lo),
        "spearman_high": fin(hi),
    }


def rank_agreement(a: dict[str, float], b: dict[str, float]) -> dict[str, Any]:
    """Spearman and Kendall rank correlation of two scorings on the models both score (finite values only);
    None for both with fewer than 3 shared models, or when a scoring gives them all one value (no ranking to
    correlate: ``constant`` True)."""
    import math

    from scipy.stats import kendalltau, spearmanr

    ok = lambda v: isinstance(v, (int, float)) and math.isfinite(v)  # noqa: E731
    shared = sorted(m for m in set(a) & set(b) if ok(a[m]) and ok(b[m]))
    if len(shared) < 3:
        return {"shared_models": len(shared), "spearman": None, "kendall": None}
    x, y = [a[m] for m in shared], [b[m] for m in shared]
    if len(set(x)) < 2 or len(set(y)) < 2:  # scipy would warn and return NaN
        return {"shared_models": len(shared), "spearman": None, "kendall": None, "constant": True}
    return {
        "shared_models": len(shared),
        "spearman": float(spearmanr(x, y).statistic),
        "kendall": float(kendalltau(x, y).statistic),
    }


# --------------------------------------------------------------------------- the bootstrap: every resample drawn here
# Every bootstrap in the package resamples through this section: ``bootstrap_ci`` for a statistic of a list, or
# the ``resample_*`` draws (a seed or a shared numpy Generator as ``rng``) with ``percentile_interval`` for an
# experiment's vectorised statistic (a refit, a weighted macro, a stratified headline): never a private loop.
# ``resample_indices`` is scipy.stats.bootstrap's own draw (the same seed gives the same resamples and, for a
# statistic that is finite on every resample, the same percentile interval: tests/test_stats.py); callers do not
# call scipy.stats.bootstrap itself where it cannot give the same thing: it keeps resamples whose statistic is
# NaN (ours drop them: a correlation with a constant side, an agreement with one category), refuses samples of
# fewer than 2 units, and has no stratified or weighted (counts) draw.


def resample_indices(n: int, rounds: int, rng) -> Any:
    """``rounds`` resamples of n units drawn with replacement, as a (rounds, n) array of unit indices.

    ``rng``: a seed, or a ``numpy.random.Generator`` that several draws share (each call continues its stream)."""
    import numpy as np

    return np.random.default_rng(rng).integers(0, n, size=(rounds, n))


def resample_counts(n: int, rounds: int, rng) -> Any:
    """``rounds`` resamples of n units drawn with replacement, as (rounds, n) float counts (how often each unit was
    drawn: a uniform multinomial): the resample as weights, for a weighted statistic or a refit with sample weights."""
    import numpy as np

    return np.random.default_rng(rng).multinomial(n, np.full(n, 1.0 / max(n, 1)), size=rounds).astype(float)


def resample_successes(k: int, n: int, rounds: int, rng) -> Any:
    """``rounds`` resamples of n binary units of which k are successes, as the number of successes in each: the
    count a resample of ``resample_indices`` would hold, drawn directly from its distribution, Binomial(n, k/n)."""
    import numpy as np

    return np.random.default_rng(rng).binomial(n, k / n, size=rounds)


def percentile_interval(values, level: float = 0.95) -> tuple[float, float]:
    """The percentile interval at ``level`` of the finite ``values`` (numpy's linear percentiles); (nan, nan) when
    none is finite."""
    import numpy as np

    values = np.asarray(values, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    lo, hi = np.percentile(values, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(lo), float(hi)


def bootstrap_ci(items, statistic, rounds: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of ``statistic`` (any function of a list) over ``items`` resampled with replacement
    (NaN rounds dropped; the interval's ends are order statistics of the rounds' values).

    Its resamples come from Python's ``random.Random(seed)``, not ``resample_indices``: the draw its callers'
    published numbers were computed with (06, 08, 11, 12); moving it onto ``resample_indices`` moves their CIs by
    Monte Carlo noise."""
    import random

    if not items:
        return float("nan"), float("nan")
    rng = random.Random(seed)
    stats = []
    for _ in range(rounds):
        value = statistic([items[i] for i in resample_once(len(items), rng)])
        if value == value:
            stats.append(value)
    if not stats:
        return float("nan"), float("nan")
    stats.sort()
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    pick = lambda q: stats[min(len(stats) - 1, max(0, int(round(q * (len(stats) - 1)))))]  # noqa: E731
    return pick(lo_q), pick(hi_q)


def resample_once(n: int, rng) -> list[int]:
    """One resample of n units with replacement, as n unit indices drawn from ``rng`` (a ``random.Random``):
    ``bootstrap_ci``'s draw, and the inner draw of a two-level bootstrap whose statistic resamples a second level."""
    return [rng.randrange(n) for _ in range(n)]


def paired_by_id(a: dict[str, float], b: dict[str, float], rounds: int = 1000, seed: int = 0) -> dict:
    """Mean per-unit difference a - b over the ids both hold (joined by id, never by position) with its paired
    bootstrap CI (``bootstrap_ci`` over the units); n is the number of joined units."""
    ids = sorted(set(a) & set(b))
    diffs = [a[i] - b[i] for i in ids]
    if not diffs:
        return {"mean": None, "ci": [None, None], "n": 0}
    lo, hi = bootstrap_ci(diffs, lambda xs: sum(xs) / len(xs), rounds=rounds, seed=seed)
    return {"mean": sum(diffs) / len(diffs), "ci": [lo, hi], "n": len(diffs)}


# --------------------------------------------------------------------------- rankings: a stable order, ties counted
_KEY = "__rank_key"


def ranked(table, score: str, name: str = "model", ascending: bool = False, decimals: int = 9):
    """``table`` (a DataFrame) best first by ``score`` (lowest first with ``ascending``), equal scores ordered by
    ``name``: the same order whatever the input's row order. Scores equal to ``decimals`` places count as equal
    (summation-order noise is no order). Rows without a score go last. Index reset."""
    import pandas as pd

    key = pd.to_numeric(table[score], errors="coerce").round(decimals)
    return (
        table.assign(**{_KEY: key})
        .sort_values([_KEY, name], ascending=[ascending, True], kind="stable", na_position="last")
        .drop(columns=_KEY)
        .reset_index(drop=True)
    )


def tied_pairs(
    table, score: str, name: str = "model", low: str | None = None, high: str | None = None, decimals: int = 9
) -> list[tuple[Any, Any]]:
    """The pairs of rows a ranking by ``score`` cannot order, as (name, name) in ranked order: equal scores (to
    ``decimals`` places), or, with ``low``/``high`` interval columns, overlapping closed intervals (the complement
    of separability). A row without a score ties with nothing; one without an interval ties only on an equal score."""
    import math
    import numbers

    fin = lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)  # noqa: E731
    rows = [r for r in ranked(table, score, name, decimals=decimals).to_dict(orient="records") if fin(r[score])]
    out = []
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            if round(a[score], decimals) == round(b[score], decimals):
                tie = True
            elif low and high and all(fin(r.get(c)) for r in (a, b) for c in (low, high)):
                tie = a[low] <= b[high] and b[low] <= a[high]
            else:
                tie = False
            if tie:
                out.append((a[name], b[name]))
    return out


def rank_with_ties(
    table,
    score: str,
    name: str = "model",
    low: str | None = None,
    high: str | None = None,
    ascending: bool = False,
    decimals: int = 9,
):
    """``ranked(table, ...)`` with a ``ties`` column: how many other rows each row is tied with (``tied_pairs``)."""
    out = ranked(table, score, name, ascending, decimals)
    count: dict[Any, int] = {}
    for a, b in tied_pairs(out, score, name, low, high, decimals):
        count[a], count[b] = count.get(a, 0) + 1, count.get(b, 0) + 1
    return out.assign(ties=[count.get(n, 0) for n in out[name]])
