"""The paper's table and what it says: deltas vs the SFT start with CIs, the aspect ranking, the findings checked.

    table = delta_table(rows, results, sft_records, categories)      # one row per configuration
    ranking = aspect_ranking(rows, results, sft_records, categories)  # aspects by their largest effect, ties counted
    verdicts = paper_findings(rows, results, sft_records, categories, ranking)
    ties = ranking_ties(ranking)                                      # aspect_ranking_ties and the findings sentence

A cell is the mean over seeds and evaluation prompts of (correct now - correct for the SFT policy), with a
95% percentile bootstrap CI (``helpers.core.stats.bootstrap_ci``) that resamples prompts and, inside each
round, seeds: both the prompt sample and the training randomness are in the interval. The average column
is the unweighted mean of the category columns (the paper's "average").

Ties are never broken silently (issue #9 item 3): values equal to ``DECIMALS`` places are equal; equal aspect
effects are ordered by aspect name (the same order whatever the input order, and never the paper's order by
construction), and two aspects whose effect CIs overlap are tied too (``core.stats.tied_pairs``). A tied best or
worst configuration or largest category names every tied member, and a finding "mainly on X" is not reproduced
when X is tied with another category.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.stats import rank_with_ties, tied_pairs
from .deltas import DECIMALS, delta_matrix, delta_table, difference, tops, wide  # noqa: F401
from .gate import PAPER_EFFECTS, PPO_VS_DPO, SMALLEST_PAPER_EFFECT, gate, gated, minimum_detectable_effect  # noqa: F401
from .grid import ASPECTS, Row

PAPER_ORDER = ("data", "algorithm", "reward model", "prompts")


def _eq(a: float, b: float) -> bool:
    return round(a, DECIMALS) == round(b, DECIMALS)


RANKED_KIND = {"data": "source", "reward model": "rm size"}  # the one kind of level each aspect's effect compares


def ranked(row: Row) -> bool:
    """Whether ``row`` enters its aspect's effect: the reference, or a level of the aspect's one kind (data: the
    preference source; reward model: its size), so an effect never mixes kinds of levels (labelling, label
    noise, data size and reward-model data are compared by their own findings or rows, not in the ranking)."""
    return row.reference or not row.kind or row.kind == RANKED_KIND.get(row.aspect, row.kind)


def aspect_ranking(
    rows: Sequence[Row],
    results: dict,
    sft: Sequence[dict],
    categories: Sequence[str],
    seeds: Sequence[int],
    rounds: int = 1000,
) -> list[dict[str, Any]]:
    """Each aspect's largest effect: the spread of the average score between its best and worst configuration
    (their paired difference with a CI), and the category where its configurations differ most; largest effect
    first, equal effects by aspect name (never by the paper's order), the same whatever the order of ``rows``.

    Ties are reported, not broken silently: ``best`` / ``worst`` / ``largest_category`` name every tied member
    (joined by " = "; ``*_ties`` counts the others), and ``ties`` / ``tied_with`` say which other aspects this
    one cannot be ordered against (equal effects or overlapping CIs). ``equal_effect_with`` keeps the equal ones."""
    import pandas as pd

    out = []
    for aspect in ASPECTS:
        members = sorted(
            {r.slug: r for r in rows if r.aspect == aspect and ranked(r)}.values(), key=lambda r: (r.label, r.slug)
        )
        if len(members) < 2:
            continue
        per_cat = {}
        for r in members:
            values, cats = delta_matrix(r, results, sft, seeds)
            per_cat[r.slug] = {c: float(values[:, np.asarray(cats) == c].mean()) for c in categories}
        unique = len({r.label for r in members}) == len(members)
        name = {r.slug: r.label if unique else f"{r.label} ({r.slug})" for r in members}
        avg = {name[r.slug]: float(np.mean(list(per_cat[r.slug].values()))) for r in members}
        by_name = {name[r.slug]: r for r in members}
        best_all, worst_all = tops(avg), tops(avg, lowest=True)
        best, worst = by_name[best_all[0]], by_name[worst_all[0]]  # any tied pick gives the same point effect
        diff = difference(best, worst, results, sft, categories, seeds, rounds)
        spreads = {c: max(v[c] for v in per_cat.values()) - min(v[c] for v in per_cat.values()) for c in categories}
        top_all = tops(spreads)
        out.append(
            {
                "aspect": aspect,
                "effect": diff["average"]["delta"],
                "low": diff["average"]["low"],
                "high": diff["average"]["high"],
                "best": " = ".join(best_all),
                "best_ties": len(best_all) - 1,
                "worst": " = ".join(worst_all),
                "worst_ties": len(worst_all) - 1,
                "largest_category": " = ".join(top_all),
                "largest_category_ties": len(top_all) - 1,
                "largest_category_spread": spreads[top_all[0]],
                "n_configurations": len(members),
                **{
                    k: v
                    for k, v in gate(diff["average"]["low"], diff["average"]["high"], aspect).items()
                    if k in ("mde", "paper_effect", "testable")
                },
            }
        )
    if not out:
        return out
    table = pd.DataFrame(out)
    order = rank_with_ties(table, "effect", name="aspect", low="low", high="high", decimals=DECIMALS)
    pairs = tied_pairs(table, "effect", name="aspect", low="low", high="high", decimals=DECIMALS)
    equal = tied_pairs(table, "effect", name="aspect", decimals=DECIMALS)
    by_aspect = {r["aspect"]: r for r in out}
    ranked_out = []
    for aspect, n in zip(order.aspect, order.ties):
        others = [b if a == aspect else a for a, b in pairs if aspect in (a, b)]
        same = [b if a == aspect else a for a, b in equal if aspect in (a, b)]
        ranked_out.append(
            {**by_aspect[aspect], "ties": int(n), "tied_with": ", ".join(others), "equal_effect_with": ", ".join(same)}
        )
    return ranked_out


def ranking_ties(ranking: Sequence[dict]) -> dict[str, Any]:
    """The ties in an ``aspect_ranking``: ``aspect_ranking_ties`` (aspect pairs it cannot order: equal effects or
    overlapping CIs), ``aspect_ranking_equal_effects`` (of those, equal effects), the pairs, the tied best/worst
    configurations and largest categories, and ``sentence``: one line for the findings (None without ties)."""
    table = [{k: r[k] for k in ("aspect", "effect", "low", "high")} for r in ranking]
    pairs = equal = []
    if table:
        import pandas as pd

        df = pd.DataFrame(table)
        pairs = tied_pairs(df, "effect", name="aspect", low="low", high="high", decimals=DECIMALS)
        equal = tied_pairs(df, "effect", name="aspect", decimals=DECIMALS)
    within = []
    for r in ranking:
        a, n = r["aspect"], r.get("n_configurations")
        if r.get("best_ties") and n and r["best_ties"] + 1 == n:
            within.append(f"all {n} {a} configurations score the same average")
        else:
            within += [
                f"the {w} {a} configuration is tied ({r[k]})"
                for k, w in (("best", "best"), ("worst", "worst"))
                if r.get(f"{k}_ties")
            ]
        if r.get("largest_category_ties"):
            within.append(f"the largest {a} category is tied ({r['largest_category']})")
    n_pairs = len(ranking) * (len(ranking) - 1) // 2
    parts = []
    if pairs:
        parts.append(
            f"{len(pairs)} of {n_pairs} aspect pair{'s' if n_pairs > 1 else ''} cannot be "
            "ordered by their effect (= equal effects, ~ overlapping 95% CIs): "
            + ", ".join(f"{a} {'=' if (a, b) in equal else '~'} {b}" for a, b in pairs)
        )
    parts += within
    return {
        "aspect_ranking_ties": len(pairs),
        "aspect_ranking_equal_effects": len(equal),
        "tied_pairs": [list(p) for p in pairs],
        "equal_pairs": [list(p) for p in equal],
        "tied_within_aspects": within,
        "sentence": ("Ties: " + "; ".join(parts) + ".") if parts else None,
    }


def findings_lines(checked: Sequence[dict], ranking: Sequence[dict]) -> list[str]:
    """One line per checked finding; the ties sentence (``ranking_ties``), when there are ties, closes the
    aspect-order line (its own line when the order was not testable)."""
    lines = [f"{c['finding']}: {c['status']} ({c['detail']})" for c in checked]
    sentence = ranking_ties(ranking)["sentence"]
    if sentence:
        at = next((i for i, c in enumerate(checked) if c["finding"].startswith("aspect order")), None)
        if at is None:
            lines.append(sentence)
        else:
            lines[at] += " " + sentence
    return lines


def order_text(ranking: Sequence[dict], points: bool = True) -> str:
    """ "data (12.0 points) > algorithm (3.0 points) = prompts (3.0 points)": equal effects joined by "=", not ">"."""
    text = ""
    for i, r in enumerate(ranking):
        if i:
            text += " = " if _eq(r["effect"], ranking[i - 1]["effect"]) else " > "
        text += r["aspect"] + (f" ({100 * r['effect']:.1f} points)" if points else "")
    return text


def _row(rows: Sequence[Row], aspect: str, pred) -> Row | None:
    return next((r for r in rows if r.aspect == aspect and pred(r)), None)


def _status(d: dict) -> str:
    if d["low"] > 0:
        return "reproduced"
    if d["high"] < 0:
        return "reversed"
    return "inconclusive (the CI includes 0)"


def paper_findings(
    rows: Sequence[Row],
    results: dict,
    sft: Sequence[dict],
    categories: Sequence[str],
    seeds: Sequence[int],
    ranking: Sequence[dict],
    rounds: int = 1000,
) -> list[dict[str, Any]]:
    """The paper's findings this grid can test, each with a computed status and the numbers behind it.

    A tie is never read in the paper's favour: the aspect order is *reproduced* only when the effects follow the
    paper's order strictly and no two aspects' CIs overlap; an order that matches the paper's only through equal
    effects is "tied (...)" (and its point estimate does not agree), one with overlapping CIs "tied within CIs (...)".
    "Mainly / most on reasoning" needs reasoning alone at the top: tied with another category, the finding is at
    most partly reproduced. Each finding's ``ties`` counts the tied pairs (order) or tied categories (others)."""
    pct = lambda d: f"{100 * d['delta']:+.1f} points [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"  # noqa: E731
    out = []
    order = [r["aspect"] for r in ranking]
    if len(order) >= 2:
        paper = [a for a in PAPER_ORDER if a in order]
        effect = {r["aspect"]: r["effect"] for r in ranking}
        tau = _kendall_tau_b(paper, effect)
        ties = ranking_ties(ranking)
        equal, n_tied = ties["equal_pairs"], ties["aspect_ranking_ties"]
        # the paper's order is one way to read this ranking when no aspect pair runs against it
        consistent = all(
            round(effect[a], DECIMALS) >= round(effect[b], DECIMALS)
            for i, a in enumerate(paper)
            for b in paper[i + 1 :]
        )
        top_alone = order[0] == paper[0] and not ranking[0].get("equal_effect_with")
        if all(r["effect"] == 0 for r in ranking):
            status = "not testable (no configuration changed any answer)"
        elif consistent and equal:
            status = (
                "tied (equal effects: "
                + ", ".join(f"{a} = {b}" for a, b in equal)
                + "; the order matches the paper's only up to the ties)"
            )
        elif consistent and n_tied:
            status = "tied within CIs (the point estimates follow the paper's order; overlapping CIs do not resolve it)"
        elif consistent:
            status = "reproduced"
        else:
            status = "partly reproduced" if top_alone or tau > 0 else "not reproduced"
        pairs = len(order) * (len(order) - 1) // 2
        unresolved = [r for r in ranking if not r.get("testable", True)]
        status_ungated = status
        if unresolved:
            status = "untestable here: the minimum detectable effect exceeds the paper's effect for " + ", ".join(
                f"{r['aspect']} ({100 * r['mde']:.1f} > {100 * r['paper_effect']:.1f} points)" for r in unresolved
            )
        out.append(
            {
                "finding": "aspect order: data > algorithm > reward model > prompts",
                "status": status,
                "testable": not unresolved,
                **({"status_ungated": status_ungated} if unresolved else {}),
                "point_estimate_agrees": consistent and not equal and not all(r["effect"] == 0 for r in ranking),
                "ties": n_tied,
                "detail": "this world: "
                + " ".join(
                    (("= " if _eq(r["effect"], ranking[i - 1]["effect"]) else "> ") if i else "")
                    + f"{r['aspect']} ({100 * r['effect']:.1f} [{100 * r['low']:.1f}, {100 * r['high']:.1f}])"
                    for i, r in enumerate(ranking)
                )
                + f"; Kendall tau-b with the paper's order {tau:.2f}"
                + (
                    f"; {n_tied} of {pairs} aspect pairs tied (equal effects or overlapping CIs), so the CIs do not "
                    "resolve the order"
                    if n_tied
                    else ""
                ),
            }
        )
    dpo = _row(rows, "algorithm", lambda r: r.algorithm == "dpo")
    ppo = _row(rows, "algorithm", lambda r: r.algorithm == "ppo")
    if dpo and ppo:
        d = difference(ppo, dpo, results, sft, categories, seeds, rounds)
        top_all = tops({c: d[c]["delta"] for c in categories})  # every category tied for the largest gain
        top = " = ".join(top_all)
        mainly = top_all == ["reasoning"]
        status = _status(d["average"])
        if status == "reproduced" and not mainly:
            status = (
                "partly reproduced (PPO wins, but reasoning is tied with "
                + ", ".join(c for c in top_all if c != "reasoning")
                + ")"
                if "reasoning" in top_all
                else "partly reproduced (PPO wins, but most on " + top + ")"
            )
        tie_note = f"; largest on {top} (tied)" if len(top_all) > 1 else ""
        out.append(
            gated(
                {
                    "finding": PPO_VS_DPO,
                    "status": status,
                    "point_estimate_agrees": d["average"]["delta"] > 0 and mainly,
                    "ties": len(top_all) - 1,
                    "detail": (f"PPO - DPO: average {pct(d['average'])}, reasoning {pct(d['reasoning'])}" + tie_note)
                    if "reasoning" in d
                    else f"PPO - DPO: average {pct(d['average'])}; largest on {top}",
                    **(
                        {
                            "mde_reasoning": gate(
                                d["reasoning"]["low"], d["reasoning"]["high"], "ppo_vs_dpo_reasoning"
                            )["mde"]
                        }
                        if "reasoning" in d
                        else {}
                    ),
                },
                d["average"],
                "ppo_vs_dpo_average",
            )
        )
    fine = _row(rows, "data", lambda r: r.reference)
    overall = _row(rows, "data", lambda r: r.data.labeller == "overall")
    if fine and overall:
        d = difference(fine, overall, results, sft, categories, seeds, rounds)["average"]
        out.append(
            gated(
                {
                    "finding": "fine-grained mean-of-aspects labels beat a single overall rating (UltraFeedback)",
                    "status": _status(d),
                    "point_estimate_agrees": d["delta"] > 0,
                    "detail": f"fine - overall: average {pct(d)}",
                },
                d,
                "fine_vs_overall",
            )
        )
    rm_rows = [r for r in rows if r.aspect == "reward model" and r.rm and r.rm.data == r.data]
    if len(rm_rows) >= 2 and "reasoning" in categories:
        big, small = rm_rows[0], rm_rows[1]  # the reference RM is the first (largest) size
        d = difference(big, small, results, sft, categories, seeds, rounds)
        top_all = tops({c: d[c]["delta"] for c in categories})
        status = _status(d["reasoning"])
        if status == "reproduced" and "reasoning" not in top_all:
            status = "partly reproduced (helps reasoning, but helps another category more)"
        elif status == "reproduced" and len(top_all) > 1:
            status = (
                "partly reproduced (helps reasoning, tied with "
                + ", ".join(c for c in top_all if c != "reasoning")
                + ")"
            )
        out.append(
            gated(
                {
                    "finding": "a larger reward model helps PPO most on reasoning, marginally elsewhere",
                    "status": status,
                    "point_estimate_agrees": d["reasoning"]["delta"] > 0 and top_all == ["reasoning"],
                    "ties": len(top_all) - 1,
                    "detail": f"{big.rm.label()} - {small.rm.label()}: reasoning {pct(d['reasoning'])}, average {pct(d['average'])}"
                    + (f"; largest on {' = '.join(top_all)} (tied)" if len(top_all) > 1 else ""),
                },
                d["reasoning"],
                "rm_size_reasoning",
            )
        )
    none = _row(rows, "prompts", lambda r: r.prompts == "none")
    targeted = _row(rows, "prompts", lambda r: r.prompts == "in-domain")
    if none and targeted and "reasoning" in categories:
        d = difference(targeted, none, results, sft, categories, seeds, rounds)
        out.append(
            gated(
                {
                    "finding": "targeted in-domain prompts help their own domain (reasoning) in PPO",
                    "status": _status(d["reasoning"]),
                    "point_estimate_agrees": d["reasoning"]["delta"] > 0,
                    "detail": f"in-domain - none: reasoning {pct(d['reasoning'])}, average {pct(d['average'])}",
                },
                d["reasoning"],
                "targeted_prompts_reasoning",
            )
        )
    return out


def _kendall_tau_b(paper: Sequence[str], effect: dict[str, float]) -> float:
    """Kendall's tau-b between the paper's order and the effects (largest first), equal effects counted as ties
    (scipy's default variant), so a tie-break cannot move it; 0 when every effect is equal."""
    import math

    conc = disc = ties = 0
    for i, a in enumerate(paper):
        for b in paper[i + 1 :]:
            x, y = round(effect[a], DECIMALS), round(effect[b], DECIMALS)
            conc, disc, ties = conc + (x > y), disc + (x < y), ties + (x == y)
    n0 = len(paper) * (len(paper) - 1) // 2
    return (conc - disc) / math.sqrt(n0 * (n0 - ties)) if n0 > ties else 0.0


def signal(findings: Sequence[dict]) -> str:
    """ "reproduces k of n paper findings" (CIs in the paper's direction), plus how many more agree only in the
    point estimate."""
    if not findings:
        return "no paper finding testable with these rows"
    if all(f.get("testable", True) is False for f in findings):
        return "untestable"
    k = sum(f["status"] == "reproduced" for f in findings)
    more = sum(f["status"] != "reproduced" and f.get("point_estimate_agrees", False) for f in findings)
    n_off = sum(f.get("testable", True) is False for f in findings)
    return (
        f"reproduces {k} of {len(findings)} paper findings"
        + (f" ({more} more in the point estimate only)" if more else "")
        + (f"; {n_off} untestable here" if n_off else "")
    )
