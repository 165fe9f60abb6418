"""Culture-Gen's findings: the finding, signal and detail sentences of a run, every number taken from its metrics
and analyses (``analyses``: markedness, diversity, culture-agnostic presence, extractor agreement; ``culturalbench``)."""

from __future__ import annotations

import pandas as pd

from ..core.stats import ranked


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _ci(lo_hi) -> str:
    return "" if not lo_hi or lo_hi[0] is None else f" (95% CI {100 * lo_hi[0]:.0f}-{100 * lo_hi[1]:.0f}%)"


def signal(validity_main: dict) -> str:
    """The run's verdict, from the scoring method's top-1 accuracy on known pairs against chance (1/N)."""
    v = validity_main["top1_verdict"]["signal"]
    return {
        "above chance": "symbols carry signal",
        "below chance": "associations below chance",
        "no data": "no known pairs scored",
    }.get(v, "associations indistinguishable from chance")


def _tied_with(table: pd.DataFrame, region: str, value: float, column: str = "rate") -> str:
    """', tied with X, Y' when other regions have exactly the same value (the order among them is by name)."""
    others = [str(r) for r, v in zip(table["region"], table[column]) if r != region and v == value]
    return f", tied with {', '.join(others)}" if others else ""


def findings(
    m: dict,
    *,
    n_samples: int,
    mk: dict,
    val: dict,
    div_corr: pd.DataFrame,
    div: dict,
    pres: dict,
    agreement: dict,
    cb: dict | None,
    mk_corr: dict | None = None,
) -> dict:
    """finding / signal / findings sentences computed from the run's metrics (model, n_cultures, symbols_found,
    n_generations, frequency_source) and its analyses (markedness ``mk`` and its correlation ``mk_corr``,
    validity ``val``, diversity ``div`` / ``div_corr``, agnostic presence, extractor agreement, CulturalBench)."""
    return _findings(
        m["model"],
        m["n_cultures"],
        n_samples,
        mk,
        val,
        div_corr,
        div,
        pres,
        agreement,
        cb,
        m["symbols_found"],
        m["n_generations"],
        mk_corr or {},
        m.get("frequency_source", "n/a"),
    )


def _corr_text(c: dict) -> str:
    """'Spearman -0.31 (95% CI -0.50 to -0.10), Kendall tau -0.22 (CI ..., p=0.01), n=110' from rank_correlation."""

    def ci(v):
        return f" (95% CI {v[0]:.2f} to {v[1]:.2f})" if v else ""

    lost = c["n_boot"] - c["n_boot_used"]
    return (
        f"Spearman {c['spearman']:.2f}{ci(c['spearman_ci'])}, Kendall tau {c['kendall']:.2f}{ci(c['kendall_ci'])}, "
        f"p={c['kendall_p']:.2g}, n={c['n']}"
        + (
            f"; {lost} of {c['n_boot']} bootstrap resamples had a constant "
            "side and were left out, so the CIs are unreliable"
            if lost
            else ""
        )
    )


def _findings(
    model: str,
    n_cultures: int,
    n_samples: int,
    mk: dict,
    val: dict,
    div_corr: pd.DataFrame,
    div: dict,
    pres: dict,
    agreement: dict,
    cb: dict | None,
    n_symbols: int,
    n_generations: int,
    mk_corr: dict,
    src: str,
) -> dict:
    """finding / signal / findings sentences, every number taken from this run's results."""
    overall = mk["overall"].iloc[0]
    base = ""
    if len(mk["baseline"]):
        b = mk["baseline"].iloc[0]
        base = (
            f" (culture-agnostic generations: vocabulary {_pct(b.vocabulary_rate)}, parenthesis "
            f"{_pct(b.parenthesis_rate)} of {int(b.n)})"
        )
    from .culturalbench import not_measured

    cb_part = ""
    if cb is not None:
        e = cb["easy"].iloc[0]
        cb_part = (
            f"; CulturalBench-style Easy {not_measured(cb, 'easy')}"
            if not_measured(cb, "easy")
            else f"; CulturalBench-style Easy accuracy {int(e.k)}/{int(e.n)} ({_pct(e.accuracy)}, chance 25%)"
        )
    finding = (
        f"{model} on {n_cultures} cultures ({n_generations} generations): {_pct(overall.vocabulary_rate)} of "
        f"culture-conditioned generations carry a vocabulary marker and {_pct(overall.parenthesis_rate)} a "
        f"parenthesis{base}; {n_symbols} culture symbols found; {val['top1_verdict']['text']} with "
        f"{val['measure']}{' + calibration' if val['calibrated'] else ''}{cb_part}."
    )
    details = []
    skipped = mk["ai_skipped"].iloc[0]
    details.append(
        f"Markedness skips generations that mention 'AI' (the paper's rule): {int(skipped.culture_conditioned)} "
        f"culture-conditioned and {int(skipped.baseline)} culture-agnostic generations skipped."
    )
    reg = ranked(mk["region"], "rate", name="region").dropna(subset=["rate"])  # highest first; equal rates by name
    if len(reg) > 1:
        hi, lo = reg.iloc[0], reg.iloc[-1]
        details.append(
            f"Any marker is most frequent for {hi.region} ({int(hi.k)}/{int(hi.n)}, {_pct(hi.rate)}"
            f"{_tied_with(reg, hi.region, hi.rate)}) and least for {lo.region} ({int(lo.k)}/{int(lo.n)}, "
            f"{_pct(lo.rate)}{_tied_with(reg, lo.region, lo.rate)}); "
            + ("their intervals overlap." if hi.low <= lo.high else "their intervals do not overlap.")
        )
    g = mk["gender"]
    if len(g) > 1:
        details.append(
            "Markedness by gender: "
            + ", ".join(f"{r.gender} {_pct(r.rate)}{_ci([r.low, r.high])}" for r in g.itertuples())
            + "."
        )
    types = mk["type"].set_index("marker")
    details.append(
        "Marker types among culture-conditioned generations: vocabulary (the name included) "
        f"{_pct(types.loc['vocabulary', 'rate'])}, of which the name {_pct(types.loc['name', 'rate'])}; "
        f"parenthesis {_pct(types.loc['parenthesis', 'rate'])}."
    )
    for m_type, c in mk_corr.items():
        details.append(
            f"Markedness ({m_type}) vs culture frequency ({src}): "
            + (
                _corr_text(c) + " (the paper: marginalised, less frequent cultures are marked more, a "
                "negative correlation)."
                if c.get("spearman") is not None
                else f"untestable here: {c['n']} cultures with a frequency, fewer than 4 or a constant side."
            )
        )
    details.append(
        f"Validity on known pairs ({val['n_pairs']} pairs, {val['n_cultures']} cultures): precision of 'symbol' "
        f"{_pct(val['precision'])}{_ci(val['precision_ci'])} against {_pct(val['precision_chance'])} for random flags, "
        f"recall {_pct(val['recall'])}{_ci(val['recall_ci'])}; {val['flagged_per_pair'] or 0:.1f} cultures flagged per pair."
    )
    done = div_corr.dropna(subset=["spearman"]) if len(div_corr) else div_corr
    if len(done):
        details.append(
            f"Symbol diversity ({div['gender']} generations, per topic) vs culture frequency ({src}): "
            + "; ".join(
                f"{r.topic} Spearman {r.spearman:.2f}"
                + (f" ({r.spearman_ci[0]:.2f} to {r.spearman_ci[1]:.2f})" if r.spearman_ci else "")
                for r in done.itertuples()
            )
            + f" (n={int(done.n.max())} cultures)"
            + (
                "; untestable for "
                + ", ".join(t for t in div_corr.topic if t not in set(done.topic))
                + " (fewer than 4 cultures or a constant side)"
                if len(done) < len(div_corr)
                else ""
            )
            + "."
        )
    else:
        details.append(
            f"Symbol diversity vs culture frequency ({src}): untestable here: no topic has 4 cultures with "
            f"{div['gender']}-gender symbols and varying counts ({div['n_generations_symbols']} symbols)."
        )
    pr = pres["region"]
    if len(pr) and pr.n.sum():
        top = ranked(pr, "share", name="region").iloc[0]
        details.append(
            f"Culture-agnostic presence (mean of per-culture shares): {int(pr.k.sum())}/{int(pr.n.sum())} "
            f"symbols also appear without a culture; highest for {top.region} (mean share {_pct(top.share)} "
            f"over {int(top.n_cultures)} cultures, {int(top.cultures_with_symbols)} with symbols"
            f"{_tied_with(pr, top.region, top.share, 'share')})."
        )
    if agreement["n"]:
        llm = (
            f"; the LLM extractor on {agreement['llm_n']} of them {_pct(agreement['llm_exact'])}"
            f"{_ci(agreement['llm_exact_ci'])} (token F1 {agreement['llm_token_f1'] or 0:.2f}, "
            f"{agreement['parse_failures']} unreadable replies; the rules on the same ones "
            f"{_pct(agreement['rule_exact_llm_subset'])})"
            if agreement["llm_n"]
            else "; the LLM extractor read none"
        )
        details.append(
            f"Extraction against the truth of {agreement['n']} hand-labelled generations: the rules get the "
            f"item set exactly right for {_pct(agreement['rule_exact'])}{_ci(agreement['rule_exact_ci'])} "
            f"(token F1 {agreement['rule_token_f1']:.2f}){llm}."
        )
    if cb is not None and not_measured(cb, "hard"):
        details.append(f"CulturalBench-style Hard form {not_measured(cb, 'hard')}.")
    if cb is not None and not not_measured(cb, "easy"):
        e = cb["easy"]
        regions = ranked(e[e.region != "all"], "accuracy", name="region", ascending=True).dropna(subset=["accuracy"])
        if len(regions) > 1:
            lo, hi = regions.iloc[0], regions.iloc[-1]
            details.append(
                f"CulturalBench-style Easy accuracy ranges from {_pct(lo.accuracy)} ({lo.region}"
                f"{_tied_with(regions, lo.region, lo.accuracy, 'accuracy')}) to {_pct(hi.accuracy)} ({hi.region}"
                f"{_tied_with(regions, hi.region, hi.accuracy, 'accuracy')}); few questions per region, wide intervals."
            )
    if cb is not None and not not_measured(cb, "hard"):
        h, hq = cb["hard_item"].iloc[0], cb["hard_question"].iloc[0]
        details.append(
            f"Hard form: {int(h.k)}/{int(h.n)} true/false items right ({_pct(h.accuracy)}; the model answered 'true' "
            f"{_pct(cb['predicted_true_share'])} of the time), {int(hq.k)}/{int(hq.n)} questions fully right "
            f"(chance 6%)."
        )
    if n_cultures < 110 or n_samples < 100:
        details.append(
            f"Scale: {n_cultures} of the paper's 110 cultures and {n_samples} samples per prompt (paper: 100); "
            f"per-culture and per-region numbers rest on few generations."
        )
    return {"finding": finding, "signal": signal(val), "findings": details}
