"""Culture-Gen's three analyses, computed from the extracted generations and the chosen symbols.

As the paper's code (huihanlhh/Culture-Gen, cultural_evaluations.py) defines them:

* markedness: the share of a culture's generations with a vocabulary marker ("traditional", "typical", its name)
  and, counted separately, with a parenthesis, per culture, region and gender (Wilson intervals); generations that
  mention "AI" skipped; the culture-agnostic baseline as reference; its rank correlation with culture frequency;
* diversity: per topic, unique culture symbols per culture in the gender-neutral generations, rank-correlated
  (Spearman, Kendall, bootstrap CIs) with the culture's frequency (the paper's RedPajama document counts);
* culture-agnostic presence: per culture, the share of its symbols that also appear in generations without a
  culture; per region, the mean of those shares.

Intervals pool generations (or symbols) within a group; samples of one prompt are not independent, so they
are somewhat narrower than a cluster-aware interval would be.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..core.stats import percentile_interval, resample_indices, wilson_interval
from .score import SYMBOL_COLUMNS


def _rate(df: pd.DataFrame, by: list[str], flag: str) -> pd.DataFrame:
    if not by:
        df, by = df.assign(_all="all"), ["_all"]
    g = df.groupby(by, sort=False)[flag].agg(["sum", "count"]).reset_index()
    g = g.rename(columns={"sum": "k", "count": "n"})
    ci = [wilson_interval(int(k), int(n)) for k, n in zip(g.k, g.n)]
    g["rate"] = g.k / g.n
    g["low"], g["high"] = [c[0] for c in ci], [c[1] for c in ci]
    return g


MARKER_TYPES = ("vocabulary", "parenthesis")  # the paper's two marker types, counted separately


def _with_types(d: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """k/n/rate/low/high of any marker, then the same per marker type (``vocabulary_rate``, ``parenthesis_k``, ...)."""
    out = _rate(d, by, "marked")
    for m in MARKER_TYPES:
        t = _rate(d, by, f"marker_{m}").rename(columns={c: f"{m}_{c}" for c in ("k", "rate", "low", "high")})
        out = out.merge(t.drop(columns="n"), on=by if by else "_all", how="left")
    return out


def markedness(rows: Sequence[dict]) -> dict[str, pd.DataFrame]:
    """The paper's markedness: per culture, region and gender, the share of generations with a vocabulary marker
    ("traditional" / "typical" / the culture's name) and, separately, with a parenthesis (``vocabulary_rate``,
    ``parenthesis_rate``; ``rate``: either). Generations that mention "AI" are skipped (``ai_skipped`` counts them,
    culture-conditioned and baseline); the culture-agnostic prompts give the baseline."""
    df = pd.DataFrame(rows)
    ai = df.mentions_ai.astype(bool) if "mentions_ai" in df else pd.Series(False, index=df.index)
    kept = df[~ai]
    cult, base = kept[kept.nationality != ""], kept[kept.nationality == ""]
    types = pd.concat([_rate(cult, [], f"marker_{m}").assign(marker=m) for m in ("vocabulary", "name", "parenthesis")])
    out = {
        "culture": _with_types(cult, ["region", "nationality"]),
        "region": _with_types(cult, ["region"]),
        "gender": _with_types(cult, ["gender"]),
        "type": types[["marker", "k", "n", "rate", "low", "high"]].reset_index(drop=True),
        "overall": _with_types(cult.assign(all="all"), ["all"]),
        # what the culture-agnostic prompts can carry too (they name no culture): the like-for-like comparison
        "overall_no_name": _rate(
            cult.assign(all="all", x=(cult.marker_vocabulary & ~cult.marker_name) | cult.marker_parenthesis),
            ["all"],
            "x",
        ),
        "ai_skipped": pd.DataFrame(
            {
                "culture_conditioned": [int(ai[df.nationality != ""].sum())],
                "baseline": [int(ai[df.nationality == ""].sum())],
            }
        ),
    }
    out["baseline"] = _with_types(base.assign(all="baseline"), ["all"]) if len(base) else pd.DataFrame()
    return out


# ----------------------------------------------------------------------------------- frequency and correlation
def culture_frequency(
    cultures: Sequence, counts: dict[str, float] | None = None, prior: dict[str, float] | None = None
) -> tuple[dict[str, float], str]:
    """({nationality: frequency}, its source): corpus counts keyed by the nationality word in any case (the paper's
    RedPajama document counts), else the model-prior proxy (the model's log-prob of the name; not a corpus count)."""
    if counts:
        low = {str(k).lower(): v for k, v in counts.items()}
        return (
            {c.nationality: low[c.nationality.lower()] for c in cultures if c.nationality.lower() in low},
            "RedPajama documents (the paper's counts)" if len(low) >= 100 else "counts file",
        )
    return dict(prior or {}), "model prior (log-prob of the name; a proxy, not a corpus count)"


def _tau_b(x, y, chunk: int = 100) -> np.ndarray:
    """Kendall tau-b of each row pair of x and y (B x n): sum of sign products over sqrt of the tie-corrected counts
    (``chunk`` rows at a time, so 110 cultures x 1000 resamples stay small in memory)."""
    out = []
    for i in range(0, len(x), chunk):
        sx = np.sign(x[i : i + chunk, :, None] - x[i : i + chunk, None, :]).astype(np.int8)
        sy = np.sign(y[i : i + chunk, :, None] - y[i : i + chunk, None, :]).astype(np.int8)
        den = np.sqrt((sx != 0).sum((1, 2)).astype(float) * (sy != 0).sum((1, 2)))
        num = (sx.astype(np.int32) * sy).sum((1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(np.where(den > 0, num / den, np.nan))
    return np.concatenate(out) if out else np.zeros(0)


def _rho(x, y) -> np.ndarray:
    """Spearman rho of each row pair (B x n): Pearson correlation of average ranks."""
    from scipy.stats import rankdata

    rx, ry = rankdata(x, axis=1), rankdata(y, axis=1)
    rx, ry = rx - rx.mean(1, keepdims=True), ry - ry.mean(1, keepdims=True)
    den = np.sqrt((rx**2).sum(1) * (ry**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rx * ry).sum(1) / den, np.nan)


def rank_correlation(x, y, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """Spearman rho and Kendall tau-b (scipy.stats, with p-values) between two series, NaNs dropped, each with a
    paired percentile bootstrap CI (``n_boot`` resamples of the pairs; resamples with a constant side are skipped).
    None where fewer than 4 pairs remain or a side is constant."""
    from scipy.stats import kendalltau, spearmanr

    d = pd.DataFrame({"x": x, "y": y}).dropna()
    out = {
        "n": len(d),
        "spearman": None,
        "spearman_p": None,
        "spearman_ci": None,
        "kendall": None,
        "kendall_p": None,
        "kendall_ci": None,
        "n_boot": 0,
        "n_boot_used": 0,
    }
    if len(d) < 4 or d.x.nunique() < 2 or d.y.nunique() < 2:
        return out
    xa, ya = d.x.to_numpy(float), d.y.to_numpy(float)
    sp, kt = spearmanr(xa, ya), kendalltau(xa, ya)
    ix = resample_indices(len(d), n_boot, seed)

    def ci(vals):
        lo, hi = percentile_interval(vals, level)
        return [lo, hi] if lo == lo else None

    rho_b = _rho(xa[ix], ya[ix])
    out.update(
        spearman=float(sp.statistic),
        spearman_p=float(sp.pvalue),
        spearman_ci=ci(rho_b),
        kendall=float(kt.statistic),
        kendall_p=float(kt.pvalue),
        kendall_ci=ci(_tau_b(xa[ix], ya[ix])),
        n_boot=n_boot,
        n_boot_used=int(np.isfinite(rho_b).sum()),
    )
    return out


def markedness_correlation(mk_culture: pd.DataFrame, frequency: dict[str, float], seed: int = 0) -> dict[str, dict]:
    """The paper's markedness-vs-frequency test: per marker type, the rank correlation over cultures of the marked
    share with the culture's frequency (the paper expects fewer markers for frequent cultures: a negative rho)."""
    f = mk_culture.nationality.map(frequency)
    return {m: rank_correlation(f, mk_culture[f"{m}_rate"], seed=seed) for m in MARKER_TYPES}


# ----------------------------------------------------------------------------------- diversity
def _symbols(symbol_rows: Sequence[dict], generic: dict[str, set[str]] | None = None) -> pd.DataFrame:
    """Unique (nationality, topic, gender, symbol) rows of the chosen symbols, generic topic words left out."""
    df = pd.DataFrame(symbol_rows, columns=SYMBOL_COLUMNS)
    df = df[df.symbol == True]  # noqa: E712 (None = unscored)
    if generic:
        df = df[
            pd.Series(
                [c not in generic.get(t, set()) for t, c in zip(df.topic, df.candidate)], index=df.index, dtype=bool
            )
        ]
    return df


def diversity(
    symbol_rows: Sequence[dict],
    cultures: Sequence,
    topics: Sequence,
    frequency: dict[str, float],
    source: str,
    gender: str = "neutral",
) -> dict[str, pd.DataFrame]:
    """The paper's diversity: per topic and culture, the number of unique culture symbols in the ``gender``
    (gender-neutral) generations, generic topic words left out. ``topic``: one row per (topic, culture), zeros
    included; ``culture``: the sum over topics per culture (ours, a summary), with the frequency beside both."""
    generic = {t.key: {w.lower() for w in t.generic_words} for t in topics}
    syms = _symbols(symbol_rows, generic)
    syms = syms[syms.gender == gender].drop_duplicates(["nationality", "topic", "candidate"])
    n = syms.groupby(["topic", "nationality"]).size()
    rows = [
        {
            "topic": t.key,
            "nationality": c.nationality,
            "region": c.region,
            "symbols": int(n.get((t.key, c.nationality), 0)),
            "frequency": frequency.get(c.nationality),
        }
        for t in topics
        for c in cultures
    ]
    by_topic = pd.DataFrame(rows, columns=["topic", "nationality", "region", "symbols", "frequency"])
    per = by_topic.groupby(["nationality", "region"], sort=False).symbols.sum().reset_index()
    per["frequency"] = per.nationality.map(frequency)
    per["frequency_source"] = source
    return {"topic": by_topic, "culture": per, "gender": gender, "n_generations_symbols": len(syms)}


def diversity_correlation(div: dict, seed: int = 0) -> pd.DataFrame:
    """Rank correlation of diversity with frequency per topic (the paper's test) and over the per-culture sums."""
    parts = [(t, g) for t, g in div["topic"].groupby("topic", sort=False)] + [("all topics (sum)", div["culture"])]
    rows = []
    for name, g in parts:
        c = rank_correlation(g.frequency, g.symbols, seed=seed)
        rows.append(
            {
                "topic": name,
                "n": c["n"],
                "spearman": c["spearman"],
                "spearman_ci": c["spearman_ci"],
                "kendall": c["kendall"],
                "kendall_ci": c["kendall_ci"],
                "kendall_p": c["kendall_p"],
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------- culture-agnostic presence
def agnostic_vocabulary(rows: Sequence[dict]) -> dict[str, set[str]]:
    """Per topic, every candidate n-gram (and whole phrase) of the culture-agnostic generations."""
    vocab: dict[str, set[str]] = {}
    for r in rows:
        if r["nationality"]:
            continue
        s = vocab.setdefault(r["topic"], set())
        s.update(r["phrases"])
        for grams in r["ngrams"]:
            s.update(grams)
    return vocab


def agnostic_presence(
    symbol_rows: Sequence[dict], vocab: dict[str, set[str]], cultures: Sequence, topics: Sequence = ()
) -> dict[str, pd.DataFrame]:
    """The paper's culture-agnostic presence: per culture, the share of its unique (topic, symbol) pairs that also
    occur in culture-agnostic generations of the topic; per region, the MEAN of its cultures' shares.

    ``share`` follows the paper (a culture without symbols counts 0); ``share_with_symbols`` (ours) leaves such
    cultures out of the region's mean, since 0/0 says nothing about presence. Both are in the region table."""
    generic = {t.key: {w.lower() for w in t.generic_words} for t in topics}
    syms = _symbols(symbol_rows, generic).drop_duplicates(["nationality", "topic", "candidate"])
    syms = syms.assign(in_agnostic=[c in vocab.get(t, set()) for t, c in zip(syms.topic, syms.candidate)])
    k, n = syms.groupby("nationality").in_agnostic.sum(), syms.groupby("nationality").size()
    cult = pd.DataFrame({"region": [c.region for c in cultures], "nationality": [c.nationality for c in cultures]})
    cult["k"] = cult.nationality.map(k).fillna(0).astype(int)
    cult["n"] = cult.nationality.map(n).fillna(0).astype(int)
    cult["share_with_symbols"] = (cult.k / cult.n.where(cult.n > 0)).astype(float)
    cult["share"] = cult.share_with_symbols.fillna(0.0)
    reg = (
        cult.groupby("region", sort=False)
        .agg(
            n_cultures=("nationality", "size"),
            cultures_with_symbols=("n", lambda v: int((v > 0).sum())),
            share=("share", "mean"),
            share_with_symbols=("share_with_symbols", "mean"),
            k=("k", "sum"),
            n=("n", "sum"),
            min_share=("share", "min"),
            max_share=("share", "max"),
        )
        .reset_index()
    )
    return {"culture": cult, "region": reg}


def extractor_agreement(gold: Sequence[dict], llm_items: dict[str, list[str] | None] | None = None) -> dict:
    """Each extractor against the truth of hand-labelled generations (``data.extraction_gold``): the share whose
    item set is exactly right (cleaned items; Wilson CI) and the mean token F1. The rule extractor reads every
    one; the LLM extractor those in ``llm_items`` ({gen_id: items, None when its reply could not be read: counted
    as a parse failure and as wrong}). ``rule_exact_llm_subset``: the rule on the LLM's subset, like for like."""
    from .extract import first_sentence, item_agreement, rule_items

    llm_items = llm_items or {}
    rows = []
    for g in gold:
        rule = rule_items(first_sentence(g["text"]))
        read = g["gen_id"] in llm_items
        llm = llm_items.get(g["gen_id"])
        a_rule, a_llm = item_agreement(rule, g["items"]), item_agreement(llm, g["items"])
        rows.append(
            {
                "id": g["id"],
                "sentence": first_sentence(g["text"]),
                "truth": g["items"],
                "rule_items": rule,
                "rule_exact": a_rule["exact"],
                "rule_f1": a_rule["token_f1"],
                "llm_read": read,
                "llm_items": llm,
                "llm_exact": bool(a_llm["exact"]) if read else None,
                "llm_f1": (a_llm["token_f1"] or 0.0) if read else None,
            }
        )

    def part(sel, col):
        k, n = sum(bool(r[f"{col}_exact"]) for r in sel), len(sel)
        return {
            f"{col}_exact": k / n if n else None,
            f"{col}_exact_ci": list(wilson_interval(k, n)),
            f"{col}_token_f1": sum(r[f"{col}_f1"] for r in sel) / n if n else None,
        }

    read = [r for r in rows if r["llm_read"]]
    rule_sub = part(read, "rule")
    return {
        "n": len(rows),
        **part(rows, "rule"),
        "llm_n": len(read),
        **part(read, "llm"),
        "rule_exact_llm_subset": rule_sub["rule_exact"],
        "parse_failures": sum(1 for r in read if r["llm_items"] is None),
        "rows": rows,
    }
