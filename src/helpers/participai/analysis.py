"""The paper's analyses of the responses: descriptive shares and means with CIs, and the logistic regression of
the develop decision (Q23) on the five ratings, then with AI-literacy and demographic controls (statsmodels).

    frame = survey_frame(release.responses)      # numeric columns: develop, the ratings, literacy, controls
    fit = logistic(frame, RATING_TERMS)          # coefficients, odds ratios with 95% CIs, p-values
    fit_c = logistic(frame, RATING_TERMS + CONTROL_TERMS)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.stats import bootstrap_ci, wilson_interval
from .instrument import DEVELOP, LITERACY_ITEMS, RATINGS, load_instrument, scale_index

RATING_TERMS = list(RATINGS)
CONTROL_TERMS = ["literacy", "genai_use", "age", "woman", "college", "conservative"]
TERM_LABELS = {
    "benefit": "benefit (Q10)",
    "misuse_harm": "harm from misuse (Q13)",
    "failure_harm": "harm from failure (Q16)",
    "not_developing_harm": "harm of not developing (Q19)",
    "not_developing_benefit": "benefit of not developing (Q22)",
    "literacy": "AI literacy (mean of 6 items, 1-7)",
    "genai_use": "generative AI use (0-4)",
    "age": "age group (0-5)",
    "woman": "woman",
    "college": "bachelor's degree or more",
    "conservative": "political views (0 strongly liberal - 4)",
}


def _rating(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if 0 <= x <= 8 else None


def survey_frame(responses):
    """One numeric row per respondent: develop (1 = "should be developed"), the five ratings (0-8), literacy (mean
    of AI-Q1..6 on 1-7, AI-Q5 reversed), genai_use, age, woman, college, conservative; None where unreadable."""
    import pandas as pd

    scales = load_instrument()["scales"]
    rows = []
    for _, r in responses.iterrows():
        row: dict[str, Any] = {"rid": r["ResponseIdHash"]}
        q23 = str(r["Q23"]).strip().lower()
        row["develop"] = 1.0 if q23 == DEVELOP else 0.0 if q23 == "should not be developed" else None
        row.update({k: _rating(r[q]) for k, q in RATINGS.items()})
        items = [scale_index(r.get(q), scales["agree7"]) for q in LITERACY_ITEMS]
        items = [None if v is None else (7 - v if q == "AI-Q5" else v + 1) for q, v in zip(LITERACY_ITEMS, items)]
        row["literacy"] = sum(items) / len(items) if all(v is not None for v in items) else None
        row["genai_use"] = scale_index(r.get("AI-Q7"), scales["genai_use"])
        row["age"] = scale_index(r.get("D-Q1"), scales["age"])
        gender = str(r.get("D-Q4", "")).strip()
        row["woman"] = 1.0 if gender == "Woman" else 0.0 if gender else None
        edu = scale_index(r.get("D-Q8"), scales["education"])
        row["college"] = None if edu is None else float(edu >= 3)
        row["conservative"] = scale_index(r.get("D-Q7"), scales["politics"])
        for q in ("Q1", "Q4"):
            a = str(r.get(q, "")).strip().lower()
            row[q] = 1.0 if a == "yes" else 0.0 if a == "no" else None
        rows.append(row)
    return pd.DataFrame(rows)


def share(values: Sequence[float | None]) -> dict[str, Any]:
    """Share of 1s among the readable values with its 95% Wilson interval."""
    xs = [v for v in values if v is not None and v == v]
    k, n = int(sum(xs)), len(xs)
    lo, hi = wilson_interval(k, n)
    return {"k": k, "n": n, "share": k / n if n else None, "ci": [lo, hi]}


def mean_ci(values: Sequence[float | None], rounds: int = 1000, seed: int = 0) -> dict[str, Any]:
    xs = [float(v) for v in values if v is not None and v == v]
    if not xs:
        return {"n": 0, "mean": None, "ci": None}
    return {
        "n": len(xs),
        "mean": sum(xs) / len(xs),
        "ci": list(bootstrap_ci(xs, lambda s: sum(s) / len(s), rounds, seed)),
    }


def code_shares(codes: dict[str, list[str]], themes: dict[str, str] | None = None):
    """Share of answers with each code (or theme, when ``themes`` maps codes to themes), Wilson CIs, largest first;
    an answer counts once per theme."""
    import pandas as pd

    n = len(codes)
    counts: dict[str, int] = {}
    for cs in codes.values():
        for label in {(themes or {}).get(c, c) if themes else c for c in cs}:
            counts[label] = counts.get(label, 0) + 1
    rows = [
        {"label": k, "k": v, "n": n, "share": v / n, "low": wilson_interval(v, n)[0], "high": wilson_interval(v, n)[1]}
        for k, v in counts.items()
    ]
    return (
        pd.DataFrame(rows, columns=["label", "k", "n", "share", "low", "high"])
        .sort_values(["share", "label"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )


def logistic(frame, terms: Sequence[str]) -> dict[str, Any]:
    """Logit of ``develop`` on ``terms`` (rows with any missing value dropped, counted): a table of coefficients,
    standard errors, 95% CIs, odds ratios with CIs, z and p; ``error`` says why there is no fit."""
    import numpy as np
    import pandas as pd
    import statsmodels.api as sm

    data = frame[["develop", *terms]].apply(pd.to_numeric, errors="coerce")
    kept = data.dropna()
    out: dict[str, Any] = {
        "terms": list(terms),
        "n": len(kept),
        "dropped": len(data) - len(kept),
        "table": None,
        "error": None,
    }
    const = [t for t in terms if kept[t].nunique() < 2]
    if len(kept) < 2 * (len(terms) + 1) or kept.develop.nunique() < 2 or const:
        out["error"] = (
            f"too few usable rows ({len(kept)}) or no variation" + (f" in {const}" if const else "") + ": no regression"
        )
        return out
    try:
        res = sm.Logit(kept.develop, sm.add_constant(kept[list(terms)], has_constant="add")).fit(disp=0, maxiter=200)
    except Exception as exc:  # perfect separation, singular matrix: say so instead of a traceback
        out["error"] = f"the logistic regression failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        return out
    ci = res.conf_int()
    table = pd.DataFrame(
        {
            "term": res.params.index,
            "coef": res.params.values,
            "se": res.bse.values,
            "ci_low": ci[0].values,
            "ci_high": ci[1].values,
            "z": res.tvalues.values,
            "p": res.pvalues.values,
        }
    )
    table["odds_ratio"], table["or_low"], table["or_high"] = (
        np.exp(table.coef),
        np.exp(table.ci_low),
        np.exp(table.ci_high),
    )
    table["sd"] = [float(kept[t].std()) if t in kept else None for t in table.term]
    out.update(table=table, pseudo_r2=float(res.prsquared), converged=bool(res.mle_retvals.get("converged", True)))
    return out


def regression_metrics(fit: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Flat metrics of a fit: ``<prefix>_<term>_or`` (+ ``_ci``) and ``_p`` per term, n, pseudo R2."""
    m: dict[str, Any] = {f"{prefix}_n": fit["n"], f"{prefix}_error": fit["error"]}
    if fit["table"] is None:
        return m
    for _, r in fit["table"].iterrows():
        if r.term == "const":
            continue
        m[f"{prefix}_{r.term}_or"] = float(r.odds_ratio)
        m[f"{prefix}_{r.term}_or_ci"] = [float(r.or_low), float(r.or_high)]
        m[f"{prefix}_{r.term}_p"] = float(r.p)
    m[f"{prefix}_pseudo_r2"] = fit["pseudo_r2"]
    return m
