"""Metrics -> the notebook's verdict and sentences (used by its cells and its report alike).

The paper's finding: in a logistic regression of the develop decision on the five ratings, the two ratings of
NOT developing (harm Q19, benefit Q22) are the strongest predictors, benefit (Q10) weaker, and the harms of
misuse (Q13) and failure (Q16) not significant: the perceived impact of not developing drives the decision.
"""

from __future__ import annotations

from typing import Any

from ..core.stats import pct
from ..core.store import fallback_lines

NOT_DEVELOPING = ("not_developing_harm", "not_developing_benefit")
HARMS = ("misuse_harm", "failure_harm")
SIGNALS = ("reproduced", "partly reproduced", "not reproduced", "too small to tell")
ALPHA = 0.05


def standardized_effects(table) -> dict[str, float]:
    """|coefficient x SD of the rating|: the change in log-odds for one standard deviation of the rating, so
    ratings with different spreads compare."""
    return {r.term: abs(float(r.coef) * float(r.sd)) for _, r in table.iterrows() if r.term != "const" and r.sd == r.sd}


def decision_verdict(fit: dict[str, Any], min_n: int = 30) -> dict[str, Any]:
    """Is the paper's finding reproduced by this fit? The signal and the checks behind it."""
    if fit["table"] is None or fit["n"] < min_n:
        return {
            "signal": "too small to tell",
            "checks": {},
            "ranking": [],
            "reason": fit["error"] or f"only {fit['n']} usable responses (at least {min_n} needed)",
        }
    t = fit["table"].set_index("term")
    sig = {k: bool(t.loc[k, "p"] < ALPHA) for k in t.index if k != "const"}
    effects = standardized_effects(fit["table"])
    ratings = [k for k in effects if k in ("benefit", *HARMS, *NOT_DEVELOPING)]
    ranking = sorted(ratings, key=lambda k: (-effects[k], k))
    checks = {
        "not_developing_harm_positive": sig["not_developing_harm"] and t.loc["not_developing_harm", "coef"] > 0,
        "not_developing_benefit_negative": sig["not_developing_benefit"]
        and t.loc["not_developing_benefit", "coef"] < 0,
        "not_developing_strongest": set(ranking[:2]) == set(NOT_DEVELOPING),
        "harms_not_significant": not any(sig[k] for k in HARMS),
    }
    checks = {k: bool(v) for k, v in checks.items()}
    core = checks["not_developing_harm_positive"] and checks["not_developing_benefit_negative"]
    signal = (
        "reproduced"
        if all(checks.values())
        else "partly reproduced"
        if core or checks["not_developing_strongest"]
        else "not reproduced"
    )
    return {"signal": signal, "checks": checks, "ranking": ranking, "reason": ""}


def truth_check(fit: dict[str, Any], truth: dict[str, Any]) -> dict[str, bool]:
    """Synthetic data only: for each term of ``fit`` the generator set, is its true coefficient inside the 95% CI?"""
    if fit["table"] is None or not truth.get("coefficients"):
        return {}
    t = fit["table"].set_index("term")
    return {
        k: bool(t.loc[k, "ci_low"] <= v <= t.loc[k, "ci_high"])
        for k, v in truth["coefficients"].items()
        if k in t.index
    }


def _or_text(fit: dict[str, Any], term: str) -> str:
    r = fit["table"].set_index("term").loc[term]
    return f"OR {r.odds_ratio:.2f} [{r.or_low:.2f}, {r.or_high:.2f}], p={r.p:.2g}"


def run_metrics(
    source: str,
    n_responses: int,
    develop: dict,
    fit: dict,
    fit_controls: dict,
    verdict: dict,
    agreement_rows: list[dict],
    coder: str,
    n_coded: int,
    n_parse_failures: int,
) -> dict[str, Any]:
    """metrics.json of a run: the develop share, both regressions' odds ratios, the coder's agreement (the first
    question it coded is the headline), every agreement row, parse failures, and the headline keys."""
    from .analysis import regression_metrics

    m: dict[str, Any] = {
        "data_source": source,
        "n_responses": n_responses,
        "develop_share": develop["share"],
        "develop_share_ci": develop["ci"],
        "coder": coder,
        "coded_answers": n_coded,
        "coding_parse_failures": n_parse_failures,
        "verdict_checks": verdict["checks"],
        "verdict_ranking": verdict["ranking"],
    }
    m.update(regression_metrics(fit, "ratings"), **regression_metrics(fit_controls, "controls"))
    own = [a for a in agreement_rows if a["coder"] == coder] or [{}]
    m.update(
        coding_question=own[0].get("question"),
        coding_micro_f1=own[0].get("micro_f1"),
        coding_micro_f1_ci=own[0].get("micro_f1_ci"),
        coding_jaccard=own[0].get("jaccard"),
        coding_alpha=own[0].get("alpha"),
        coding_alpha_ci=own[0].get("alpha_ci"),
        coding_majority_f1=own[0].get("majority_f1"),
        coding_majority_f1_ci=own[0].get("majority_f1_ci"),
    )
    release = [a for a in agreement_rows if a["coder"] == "release LLM codes"]
    if release:
        m.update(release_llm_micro_f1=release[0]["micro_f1"], release_llm_micro_f1_ci=release[0]["micro_f1_ci"])
    m["agreement"] = {
        f"{a['question']}|{a['coder']}": {
            k: a[k] for k in ("n", "micro_f1", "micro_f1_ci", "jaccard", "alpha", "majority_code", "majority_f1")
        }
        for a in agreement_rows
    }
    m["headline"] = [
        "develop_share",
        "ratings_not_developing_harm_or",
        "ratings_not_developing_benefit_or",
        "ratings_benefit_or",
        "coding_micro_f1",
        "coding_majority_f1",
        "release_llm_micro_f1",
        "coding_parse_failures",
    ]
    return m


def findings(
    m: dict[str, Any],
    *,
    fit: dict[str, Any],
    fit_controls: dict[str, Any],
    verdict: dict[str, Any],
    agreement_rows: list[dict],
    data_source: str,
) -> dict[str, Any]:
    """The signal, the one-line finding and the detail sentences, all from this run's numbers."""
    lines = [
        f"Data: {data_source}; {m['n_responses']} responses, {pct(m['develop_share'], 1)} say the application "
        f"should be developed (95% CI {pct(m['develop_share_ci'][0], 1)}-{pct(m['develop_share_ci'][1], 1)}); "
        f"paper: 82.7% of 295."
    ]
    if verdict["signal"] == "too small to tell":
        finding = f"The develop-decision regression could not be read: {verdict['reason']}."
    else:
        from .analysis import TERM_LABELS

        finding = (
            f"Develop decision vs the five ratings (n={fit['n']}): strongest by standardized effect "
            f"{TERM_LABELS[verdict['ranking'][0]]} then {TERM_LABELS[verdict['ranking'][1]]}; the paper's finding "
            f"(the impact of NOT developing drives the decision) is {verdict['signal']}."
        )
        for term in fit["terms"]:
            lines.append(f"{TERM_LABELS[term]}: {_or_text(fit, term)} per rating point.")
        failed = [k.replace("_", " ") for k, ok in verdict["checks"].items() if not ok]
        if failed:
            lines.append("Checks that did not hold: " + "; ".join(failed) + ".")
        if fit_controls["table"] is not None:
            kept = [TERM_LABELS[t] for t in fit["terms"] if fit_controls["table"].set_index("term").loc[t, "p"] < ALPHA]
            lines.append(
                f"With literacy and demographic controls (n={fit_controls['n']}), significant ratings: "
                f"{', '.join(kept) or 'none'}; AI literacy {_or_text(fit_controls, 'literacy')}."
            )
        else:
            lines.append(f"Regression with controls: {fit_controls['error']}.")
    if m.get("truth_in_ci"):
        inside = m["truth_in_ci"]
        lines.append(
            f"Synthetic data: the generator's true coefficient lies inside the 95% CI for {sum(inside.values())} "
            f"of {len(inside)} terms of the model with controls"
            + (
                f" (outside: {', '.join(k for k, ok in inside.items() if not ok)})."
                if not all(inside.values())
                else "."
            )
        )
    for a in agreement_rows:
        if a["micro_f1"] is None:
            lines.append(f"{a['question']} ({a['coder']}): no answers coded by both sides.")
            continue
        lines.append(
            f"Coding {a['question']} ({a['coder']}, n={a['n']}): micro-F1 {a['micro_f1']:.2f} "
            f"[{a['micro_f1_ci'][0]:.2f}, {a['micro_f1_ci'][1]:.2f}] vs the majority-code baseline "
            f"{a['majority_f1']:.2f}; paper: 0.65-0.69 vs 0.04-0.15."
        )
    if m.get("coding_parse_failures"):
        lines.append(
            f"{m['coding_parse_failures']} of {m['coded_answers']} coder replies could not be parsed "
            f"(counted as answers with no code, so they lower the coder's agreement)."
        )
    lines += fallback_lines(
        {
            "codings to retry (endpoint errors)": m.get("records_to_retry", 0),
            "malformed store lines": m.get("malformed_store_lines", 0),
        }
    )
    return {"signal": verdict["signal"], "finding": finding, "findings": lines}
