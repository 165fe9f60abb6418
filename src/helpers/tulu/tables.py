"""The paper's table and what it says: deltas vs the SFT start with CIs, the aspect ranking, the findings checked.

    table = delta_table(rows, results, sft_records, categories)      # one row per configuration
    ranking = aspect_ranking(rows, results, sft_records, categories)  # aspects by their largest effect
    verdicts = paper_findings(rows, results, sft_records, categories, ranking)

A cell is the mean over seeds and evaluation prompts of (correct now - correct for the SFT policy), with a
95% percentile bootstrap CI (``helpers.core.stats.bootstrap_ci``) that resamples prompts and, inside each
round, seeds: both the prompt sample and the training randomness are in the interval. The average column
is the unweighted mean of the category columns (the paper's "average").
"""
from __future__ import annotations

import random
from typing import Any, Sequence

import numpy as np

from ..core.stats import bootstrap_ci
from .grid import ASPECTS, Row

PAPER_ORDER = ("data", "algorithm", "reward model", "prompts")


def delta_matrix(row: Row, results: dict, sft: Sequence[dict], seeds: Sequence[int]) -> tuple[np.ndarray, list[str]]:
    """[seeds, prompts] of correct(row, seed, prompt) - correct(SFT, prompt), and each prompt's category."""
    base = {r["id"]: float(r["correct"]) for r in sft}
    ids = [r["id"] for r in sft]
    mat = []
    for s in seeds:
        got = {r["id"]: float(r["correct"]) for r in results[(row.slug, s)].records}
        mat.append([got[i] - base[i] for i in ids])
    return np.asarray(mat), [r["category"] for r in sft]


def _stat(values: np.ndarray, cats: np.ndarray, categories: Sequence[str] | None, rng: random.Random):
    """The bootstrap statistic: resample seeds, then the mean (per category, averaged, when ``categories``)."""
    def stat(idx: list[int]) -> float:
        seeds = [rng.randrange(values.shape[0]) for _ in range(values.shape[0])]
        sub, sub_cats = values[np.ix_(seeds, idx)], cats[idx]
        if not categories:
            return float(sub.mean())
        means = [sub[:, sub_cats == c].mean() for c in categories if (sub_cats == c).any()]
        return float(np.mean(means)) if means else float("nan")
    return stat


def mean_ci(values: np.ndarray, cats: Sequence[str], categories: Sequence[str] | None = None, rounds: int = 1000,
            seed: int = 0) -> tuple[float, float, float]:
    """(point, low, high): the mean of ``values`` [seeds, prompts] (or the mean of per-category means) with a
    two-level percentile bootstrap CI over prompts and seeds."""
    cats = np.asarray(cats)
    if categories:  # the point estimate uses every seed and prompt
        point = float(np.mean([values[:, cats == c].mean() for c in categories if (cats == c).any()]))
    else:
        point = float(values.mean())
    lo, hi = bootstrap_ci(list(range(values.shape[1])), _stat(values, cats, categories, random.Random(seed)),
                          rounds=rounds, seed=seed)
    return point, lo, hi


def cell(values: np.ndarray, cats: Sequence[str], column: str, categories: Sequence[str], rounds: int) -> dict:
    if column == "average":
        d, lo, hi = mean_ci(values, cats, categories, rounds)
    else:
        mask = np.asarray(cats) == column
        d, lo, hi = mean_ci(values[:, mask], [column] * int(mask.sum()), None, rounds)
    return {"delta": d, "low": lo, "high": hi}


def delta_table(rows: Sequence[Row], results: dict, sft: Sequence[dict], categories: Sequence[str],
                seeds: Sequence[int], rounds: int = 1000) -> list[dict[str, Any]]:
    """One record per (row, column): aspect, configuration, column, delta, low, high; columns = categories + average."""
    out = []
    for row in rows:
        values, cats = delta_matrix(row, results, sft, seeds)
        for column in [*categories, "average"]:
            out.append({"aspect": row.aspect, "configuration": row.label, "reference": row.reference,
                        "slug": row.slug, "column": column, **cell(values, cats, column, categories, rounds)})
    return out


def format_cell(d: float, lo: float, hi: float) -> str:
    return f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def wide(table: Sequence[dict]) -> "Any":
    """The paper's layout: rows = configurations (grouped by aspect), columns = categories + average."""
    import pandas as pd
    df = pd.DataFrame(table)
    df["cell"] = [format_cell(d, lo, hi) for d, lo, hi in zip(df.delta, df.low, df.high)]
    order = list(dict.fromkeys(df.column))
    out = df.pivot_table(index=["aspect", "configuration"], columns="column", values="cell", aggfunc="first", sort=False)
    return out[order]


def difference(a: Row, b: Row, results: dict, sft: Sequence[dict], categories: Sequence[str], seeds: Sequence[int],
               rounds: int = 1000) -> dict[str, dict]:
    """Row ``a`` minus row ``b`` per column (paired by seed and prompt), with CIs."""
    va, cats = delta_matrix(a, results, sft, seeds)
    vb, _ = delta_matrix(b, results, sft, seeds)
    return {c: cell(va - vb, cats, c, categories, rounds) for c in [*categories, "average"]}


def aspect_ranking(rows: Sequence[Row], results: dict, sft: Sequence[dict], categories: Sequence[str],
                   seeds: Sequence[int], rounds: int = 1000) -> list[dict[str, Any]]:
    """Each aspect's largest effect: the spread of the average score between its best and worst configuration
    (their paired difference with a CI), and the category where its configurations differ most; sorted."""
    out = []
    for aspect in ASPECTS:
        members = list({r.slug: r for r in rows if r.aspect == aspect}.values())
        if len(members) < 2:
            continue
        per_cat = {}
        for r in members:
            values, cats = delta_matrix(r, results, sft, seeds)
            per_cat[r.slug] = {c: float(values[:, np.asarray(cats) == c].mean()) for c in categories}
        avg = {slug: float(np.mean(list(v.values()))) for slug, v in per_cat.items()}
        best = max(members, key=lambda r: avg[r.slug])
        worst = min(members, key=lambda r: avg[r.slug])
        diff = difference(best, worst, results, sft, categories, seeds, rounds)
        spreads = {c: max(v[c] for v in per_cat.values()) - min(v[c] for v in per_cat.values()) for c in categories}
        top = max(spreads, key=spreads.get)
        out.append({"aspect": aspect, "effect": diff["average"]["delta"], "low": diff["average"]["low"],
                    "high": diff["average"]["high"], "best": best.label, "worst": worst.label,
                    "largest_category": top, "largest_category_spread": spreads[top], "n_configurations": len(members)})
    return sorted(out, key=lambda r: -r["effect"])


def _row(rows: Sequence[Row], aspect: str, pred) -> Row | None:
    return next((r for r in rows if r.aspect == aspect and pred(r)), None)


def _status(d: dict) -> str:
    if d["low"] > 0:
        return "reproduced"
    if d["high"] < 0:
        return "reversed"
    return "inconclusive (the CI includes 0)"


def paper_findings(rows: Sequence[Row], results: dict, sft: Sequence[dict], categories: Sequence[str],
                   seeds: Sequence[int], ranking: Sequence[dict], rounds: int = 1000) -> list[dict[str, Any]]:
    """The paper's findings this grid can test, each with a computed status and the numbers behind it."""
    pct = lambda d: f"{100 * d['delta']:+.1f} points [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"  # noqa: E731
    out = []
    order = [r["aspect"] for r in ranking]
    if len(order) >= 2:
        paper = [a for a in PAPER_ORDER if a in order]
        from scipy.stats import kendalltau
        tau = float(kendalltau([paper.index(a) for a in order], list(range(len(order)))).statistic) if len(order) > 2 else (
            1.0 if order == paper else -1.0)
        overlap = any(a["low"] <= b["high"] for a, b in zip(ranking, ranking[1:]))
        if all(r["effect"] == 0 for r in ranking):
            status = "not testable (no configuration changed any answer)"
        elif order == paper:
            status = "matches in the point estimates (adjacent CIs overlap)" if overlap else "reproduced"
        else:
            status = "partly reproduced" if order[0] == paper[0] or tau > 0 else "not reproduced"
        out.append({"finding": "aspect order: data > algorithm > reward model > prompts", "status": status,
                    "point_estimate_agrees": order == paper and not all(r["effect"] == 0 for r in ranking),
                    "detail": "this world: " + " > ".join(f"{r['aspect']} ({100 * r['effect']:.1f} [{100 * r['low']:.1f}, "
                                                          f"{100 * r['high']:.1f}])" for r in ranking)
                    + f"; Kendall tau with the paper's order {tau:.2f}"
                    + ("; adjacent CIs overlap, so the CIs do not resolve the order" if overlap else "")})
    dpo = _row(rows, "algorithm", lambda r: r.algorithm == "dpo")
    ppo = _row(rows, "algorithm", lambda r: r.algorithm == "ppo")
    if dpo and ppo:
        d = difference(ppo, dpo, results, sft, categories, seeds, rounds)
        top = max(categories, key=lambda c: d[c]["delta"])
        status = _status(d["average"])
        if status == "reproduced" and top != "reasoning":
            status = "partly reproduced (PPO wins, but most on " + top + ")"
        out.append({"finding": "PPO beats DPO, mainly on reasoning", "status": status,
                    "point_estimate_agrees": d["average"]["delta"] > 0 and top == "reasoning",
                    "detail": f"PPO - DPO: average {pct(d['average'])}, reasoning {pct(d['reasoning'])}" if "reasoning" in d
                    else f"PPO - DPO: average {pct(d['average'])}; largest on {top}"})
    fine = _row(rows, "data", lambda r: r.reference)
    overall = _row(rows, "data", lambda r: r.data.labeller == "overall")
    if fine and overall:
        d = difference(fine, overall, results, sft, categories, seeds, rounds)["average"]
        out.append({"finding": "fine-grained mean-of-aspects labels beat a single overall rating (UltraFeedback)",
                    "status": _status(d), "point_estimate_agrees": d["delta"] > 0, "detail": f"fine - overall: average {pct(d)}"})
    rm_rows = [r for r in rows if r.aspect == "reward model" and r.rm and r.rm.data == r.data]
    if len(rm_rows) >= 2 and "reasoning" in categories:
        big, small = rm_rows[0], rm_rows[1]  # the reference RM is the first (largest) size
        d = difference(big, small, results, sft, categories, seeds, rounds)
        others = [d[c]["delta"] for c in categories if c != "reasoning"]
        status = _status(d["reasoning"])
        if status == "reproduced" and max(others) > d["reasoning"]["delta"]:
            status = "partly reproduced (helps reasoning, but helps another category more)"
        out.append({"finding": "a larger reward model helps PPO most on reasoning, marginally elsewhere", "status": status,
                    "point_estimate_agrees": d["reasoning"]["delta"] > 0 and d["reasoning"]["delta"] >= max(others),
                    "detail": f"{big.rm.label()} - {small.rm.label()}: reasoning {pct(d['reasoning'])}, average {pct(d['average'])}"})
    none = _row(rows, "prompts", lambda r: r.prompts == "none")
    targeted = _row(rows, "prompts", lambda r: r.prompts == "in-domain")
    if none and targeted and "reasoning" in categories:
        d = difference(targeted, none, results, sft, categories, seeds, rounds)
        out.append({"finding": "targeted in-domain prompts help their own domain (reasoning) in PPO", "status": _status(d["reasoning"]),
                    "point_estimate_agrees": d["reasoning"]["delta"] > 0,
                    "detail": f"in-domain - none: reasoning {pct(d['reasoning'])}, average {pct(d['average'])}"})
    return out


def signal(findings: Sequence[dict]) -> str:
    """"reproduces k of n paper findings" (CIs in the paper's direction), plus how many more agree only in the
    point estimate."""
    if not findings:
        return "no paper finding testable with these rows"
    k = sum(f["status"] == "reproduced" for f in findings)
    more = sum(f["status"] != "reproduced" and f.get("point_estimate_agrees", False) for f in findings)
    return f"reproduces {k} of {len(findings)} paper findings" + (f" ({more} more in the point estimate only)" if more else "")
