"""Culture-Gen's three analyses, computed from the extracted generations and the chosen symbols.

* markedness: the share of a culture's generations carrying a marker (vocabulary, its name, a parenthesis),
  per culture, region and gender, with Wilson intervals; the culture-agnostic baseline as reference;
* diversity: unique culture symbols per culture, rank-correlated with a culture-frequency proxy;
* culture-agnostic presence: the share of a culture's symbols that also appear in generations without a culture.

Intervals pool generations (or symbols) within a group; samples of one prompt are not independent, so they
are somewhat narrower than a cluster-aware interval would be.
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..core.stats import correlation_ci, ranked, wilson_interval
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


def markedness(rows: Sequence[dict]) -> dict[str, pd.DataFrame]:
    """Marked share per culture, region, gender and marker type (culture-conditioned generations), and the baseline."""
    df = pd.DataFrame(rows)
    cult, base = df[df.nationality != ""], df[df.nationality == ""]
    types = pd.concat([_rate(cult, [], f"marker_{m}").assign(marker=m) for m in ("vocabulary", "name", "parenthesis")])
    out = {"culture": _rate(cult, ["region", "nationality"], "marked"),
           "region": _rate(cult, ["region"], "marked"),
           "gender": _rate(cult, ["gender"], "marked"),
           "type": types[["marker", "k", "n", "rate", "low", "high"]].reset_index(drop=True),
           "overall": _rate(cult.assign(all="all"), ["all"], "marked"),
           # what the culture-agnostic prompts can carry too (they name no culture): the like-for-like comparison
           "overall_no_name": _rate(cult.assign(all="all", x=cult.marker_vocabulary | cult.marker_parenthesis), ["all"], "x")}
    out["baseline"] = _rate(base.assign(all="baseline"), ["all"], "marked") if len(base) else pd.DataFrame()
    return out


def diversity(symbol_rows: Sequence[dict], cultures: Sequence, prior: dict[str, float] | None = None,
              counts: dict[str, float] | None = None) -> pd.DataFrame:
    """Unique (topic, symbol) pairs per culture, with the frequency proxy beside it.

    ``counts`` (a counts file) is used when given; otherwise ``prior``, the model's own log-prob of the
    nationality word in the culture-agnostic sentences (a model-internal proxy of how often it saw the name).
    """
    df = pd.DataFrame(symbol_rows, columns=SYMBOL_COLUMNS)
    syms = df[df.symbol == True]  # noqa: E712 (None = unscored)
    uniq = syms.drop_duplicates(["nationality", "topic", "candidate"]).groupby("nationality").size()
    scored = df[df.symbol.notna()].groupby("nationality").size()
    out = pd.DataFrame({"nationality": [c.nationality for c in cultures], "region": [c.region for c in cultures]})
    out["symbols"] = out.nationality.map(uniq).fillna(0).astype(int)
    out["phrases_scored"] = out.nationality.map(scored).fillna(0).astype(int)
    if counts:
        out["frequency"] = out.nationality.map(counts)
        out["frequency_source"] = "counts file"
    else:
        out["frequency"] = out.nationality.map(prior or {})
        out["frequency_source"] = "model prior (log-prob of the name)"
    return out


def rank_correlation(x, y) -> dict:
    """Spearman rho (bootstrap CI, helpers.core.stats) and Kendall tau (scipy.stats) between two series, NaNs dropped."""
    from scipy.stats import kendalltau
    d = pd.DataFrame({"x": x, "y": y}).dropna()
    out = {"n": len(d), "spearman": None, "spearman_ci": None, "kendall": None, "kendall_p": None}
    if len(d) >= 4 and d.x.nunique() > 1 and d.y.nunique() > 1:
        c = correlation_ci(d.x, d.y)
        kt = kendalltau(d.x, d.y)
        out.update(spearman=c["spearman"], spearman_ci=[c["spearman_low"], c["spearman_high"]]
                   if c["spearman_low"] is not None else None, kendall=float(kt.statistic), kendall_p=float(kt.pvalue))
    return out


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


def agnostic_presence(symbol_rows: Sequence[dict], vocab: dict[str, set[str]]) -> dict[str, pd.DataFrame]:
    """Share of each culture's unique symbols that also occur in culture-agnostic generations, per culture and region."""
    df = pd.DataFrame(symbol_rows, columns=SYMBOL_COLUMNS)
    if not (df.symbol == True).any():  # noqa: E712
        empty = pd.DataFrame(columns=["k", "n", "rate", "low", "high"])
        return {"culture": empty, "region": empty}
    syms = df[df.symbol == True].drop_duplicates(["nationality", "topic", "candidate"]).copy()  # noqa: E712
    syms["in_agnostic"] = [c in vocab.get(t, set()) for t, c in zip(syms.topic, syms.candidate)]
    return {"culture": _rate(syms, ["region", "nationality"], "in_agnostic"), "region": _rate(syms, ["region"], "in_agnostic")}


def extractor_agreement(rows: Sequence[dict]) -> dict:
    """Rule-based vs LLM extraction on the generations both saw: exact agreement (Wilson CI), mean token F1, failures."""
    from .extract import item_agreement
    both = [r for r in rows if r.get("llm_items") is not None or r.get("llm_failed")]
    failed = sum(1 for r in both if r.get("llm_failed"))
    agree = [item_agreement(r["rule_items"], r["llm_items"]) for r in both if not r.get("llm_failed")]
    k = sum(1 for a in agree if a["exact"])
    f1 = [a["token_f1"] for a in agree]
    return {"n": len(both), "parse_failures": failed, "exact": k / len(agree) if agree else None,
            "exact_ci": list(wilson_interval(k, len(agree))), "token_f1": sum(f1) / len(f1) if f1 else None}


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _ci(lo_hi) -> str:
    return "" if not lo_hi or lo_hi[0] is None else f" (95% CI {100 * lo_hi[0]:.0f}-{100 * lo_hi[1]:.0f}%)"


def signal(validity_main: dict) -> str:
    """The run's verdict, from the scoring method's top-1 accuracy on known pairs against chance (1/N)."""
    v = validity_main["top1_verdict"]["signal"]
    return {"above chance": "symbols carry signal", "below chance": "associations below chance",
            "no data": "no known pairs scored"}.get(v, "associations indistinguishable from chance")


def _tied_with(table: pd.DataFrame, region: str, value: float, column: str = "rate") -> str:
    """', tied with X, Y' when other regions have exactly the same value (the order among them is by name)."""
    others = [str(r) for r, v in zip(table["region"], table[column]) if r != region and v == value]
    return f", tied with {', '.join(others)}" if others else ""


def findings(m: dict, *, n_samples: int, mk: dict, val: dict, div_corr: dict, div: pd.DataFrame, pres: dict,
             agreement: dict, cb: dict | None) -> dict:
    """finding / signal / findings sentences computed from the run's metrics (model, n_cultures, symbols_found,
    n_generations) and its analyses (markedness ``mk``, validity ``val``, diversity, agnostic presence, extractor
    agreement, CulturalBench ``cb``)."""
    return _findings(m["model"], m["n_cultures"], n_samples, mk, val, div_corr, div, pres, agreement, cb,
                     m["symbols_found"], m["n_generations"])


def _findings(model: str, n_cultures: int, n_samples: int, mk: dict, val: dict, div_corr: dict, div: pd.DataFrame,
              pres: dict, agreement: dict, cb: dict | None, n_symbols: int, n_generations: int) -> dict:
    """finding / signal / findings sentences, every number taken from this run's results."""
    overall = mk["overall"].iloc[0]
    base = ""
    if len(mk["baseline"]):
        nn, b = mk["overall_no_name"].iloc[0], mk["baseline"].iloc[0]
        base = (f" ({_pct(nn.rate)} by vocabulary or parenthesis markers alone, against {int(b.k)}/{int(b.n)} = "
                f"{_pct(b.rate)} of culture-agnostic generations)")
    from .culturalbench import not_measured
    cb_part = ""
    if cb is not None:
        e = cb["easy"].iloc[0]
        cb_part = (f"; CulturalBench-style Easy {not_measured(cb, 'easy')}" if not_measured(cb, "easy") else
                   f"; CulturalBench-style Easy accuracy {int(e.k)}/{int(e.n)} ({_pct(e.accuracy)}, chance 25%)")
    finding = (f"{model} on {n_cultures} cultures ({n_generations} generations): {_pct(overall.rate)} of culture-conditioned "
               f"generations are marked{base}; {n_symbols} culture symbols found; "
               f"{val['top1_verdict']['text']} with {val['measure']}{' + calibration' if val['calibrated'] else ''}{cb_part}.")
    details = []
    reg = ranked(mk["region"], "rate", name="region").dropna(subset=["rate"])  # highest first; equal rates by name
    if len(reg) > 1:
        hi, lo = reg.iloc[0], reg.iloc[-1]
        details.append(f"Markedness is highest for {hi.region} ({int(hi.k)}/{int(hi.n)}, {_pct(hi.rate)}"
                       f"{_tied_with(reg, hi.region, hi.rate)}) and lowest for {lo.region} ({int(lo.k)}/{int(lo.n)}, "
                       f"{_pct(lo.rate)}{_tied_with(reg, lo.region, lo.rate)}); "
                       + ("their intervals overlap." if hi.low <= lo.high else "their intervals do not overlap."))
    g = mk["gender"]
    if len(g) > 1:
        details.append("Markedness by gender: " + ", ".join(f"{r.gender} {_pct(r.rate)}{_ci([r.low, r.high])}" for r in g.itertuples()) + ".")
    types = mk["type"].set_index("marker")
    details.append("Marker types among culture-conditioned generations: " + ", ".join(
        f"{m} {_pct(types.loc[m, 'rate'])}" for m in ("vocabulary", "name", "parenthesis")) + ".")
    details.append(f"Validity on known pairs ({val['n_pairs']} pairs, {val['n_cultures']} cultures): precision of 'symbol' "
                   f"{_pct(val['precision'])}{_ci(val['precision_ci'])} against {_pct(val['precision_chance'])} for random flags, "
                   f"recall {_pct(val['recall'])}{_ci(val['recall_ci'])}; {val['flagged_per_pair'] or 0:.1f} cultures flagged per pair.")
    src = str(div["frequency_source"].iloc[0]) if len(div) else "n/a"
    if div_corr.get("spearman") is not None:
        details.append(f"Symbol diversity vs culture frequency ({src}, n={div_corr['n']}): Spearman {div_corr['spearman']:.2f}"
                       + (f" (95% CI {div_corr['spearman_ci'][0]:.2f} to {div_corr['spearman_ci'][1]:.2f})" if div_corr.get("spearman_ci") else "")
                       + f", Kendall tau {div_corr['kendall']:.2f} (p={div_corr['kendall_p']:.2f}).")
    else:
        details.append(f"Symbol diversity vs culture frequency ({src}): no correlation computed (fewer than 4 cultures "
                       f"with symbols, or a constant side).")
    pr = pres["region"]
    if len(pr):
        top = ranked(pr, "rate", name="region").iloc[0]
        details.append(f"Culture-agnostic presence: {int(pr.k.sum())}/{int(pr.n.sum())} symbols also appear without a culture; "
                       f"highest for {top.region} ({int(top.k)}/{int(top.n)}{_tied_with(pr, top.region, top.rate)}).")
    if agreement["n"]:
        details.append(f"Rule-based vs LLM extraction on {agreement['n']} generations: exact agreement {_pct(agreement['exact'])}"
                       f"{_ci(agreement['exact_ci'])}, token F1 {agreement['token_f1'] or 0:.2f}, {agreement['parse_failures']} "
                       f"unparseable LLM replies.")
    if cb is not None and not_measured(cb, "hard"):
        details.append(f"CulturalBench-style Hard form {not_measured(cb, 'hard')}.")
    if cb is not None and not not_measured(cb, "easy"):
        e = cb["easy"]
        regions = ranked(e[e.region != "all"], "accuracy", name="region", ascending=True).dropna(subset=["accuracy"])
        if len(regions) > 1:
            lo, hi = regions.iloc[0], regions.iloc[-1]
            details.append(f"CulturalBench-style Easy accuracy ranges from {_pct(lo.accuracy)} ({lo.region}"
                           f"{_tied_with(regions, lo.region, lo.accuracy, 'accuracy')}) to {_pct(hi.accuracy)} ({hi.region}"
                           f"{_tied_with(regions, hi.region, hi.accuracy, 'accuracy')}); few questions per region, wide intervals.")
    if cb is not None and not not_measured(cb, "hard"):
        h, hq = cb["hard_item"].iloc[0], cb["hard_question"].iloc[0]
        details.append(f"Hard form: {int(h.k)}/{int(h.n)} true/false items right ({_pct(h.accuracy)}; the model answered 'true' "
                       f"{_pct(cb['predicted_true_share'])} of the time), {int(hq.k)}/{int(hq.n)} questions fully right "
                       f"(chance 6%).")
    if n_cultures < 110 or n_samples < 100:
        details.append(f"Scale: {n_cultures} of the paper's 110 cultures and {n_samples} samples per prompt (paper: 100); "
                       f"per-culture and per-region numbers rest on few generations.")
    return {"finding": finding, "signal": signal(val), "findings": details}
