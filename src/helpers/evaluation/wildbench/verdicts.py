"""The run's findings (computed from its metrics)."""
from __future__ import annotations

from typing import Any, Sequence


# --------------------------------------------------------------------------- computed findings
def findings(board: Sequence[dict], score_fail: float, reward_fail: float, tie_share: float | None,
             top_score_share: float | None, position: dict[str, Any], aggregation: str | None = None) -> dict[str, Any]:
    """Finding, signal, detail sentences and the headline ranking, computed from the run (no fixed prose).

    ``board``: rows with model, wb_score, wb_score_lo, wb_score_hi. The ranking is withheld ("n/a: judge
    degenerate") when the judge fails the reliability checks; a best model whose interval overlaps the
    runner-up's is reported as a tie with it. Ties are counted: ``ranking_ties`` is the number of model pairs
    the ranking cannot order (equal WB-Scores or overlapping intervals; None when the ranking is withheld),
    ``tied_with_best`` the models tied with the best one. Equal scores are ordered by model name.
    """
    import pandas as pd

    from ...core.stats import judge_reliability, pct, ranked, tied_pairs
    ok, reason = judge_reliability(tie_share=tie_share, top_score_share=top_score_share,
                                   parse_failure_rate=max(score_fail, reward_fail))
    valid = [{**r, "model": str(r["model"])} for r in board if r.get("wb_score") is not None and r["wb_score"] == r["wb_score"]]
    table = pd.DataFrame(valid, columns=list(dict.fromkeys(["model", "wb_score", "wb_score_lo", "wb_score_hi",
                                                            *(k for r in valid for k in r)])))
    rows = [{k: v for k, v in r.items() if v is not None} for r in ranked(table, "wb_score").to_dict(orient="records")]
    ties = tied_pairs(table, "wb_score", low="wb_score_lo", high="wb_score_hi")
    tied: list = []
    n_ties = None
    details = [f"WB-Score parse failures {pct(score_fail)}, WB-Reward parse failures {pct(reward_fail)}; "
               f"ties {pct(tie_share)} of pairwise verdicts; the most common score covers {pct(top_score_share)} of scores."]
    if position.get("pairs"):
        details.append(f"Of {position['pairs']} games judged in both orders, {pct(position.get('consistent_rate'))} gave "
                       f"the same outcome; in {pct(position.get('same_slot_rate'))} the same slot won both times.")
    if not ok:
        best, signal = f"n/a: judge degenerate ({reason})", "judge degenerate: no ranking"
        finding = f"No ranking: the judge is degenerate ({reason})."
    elif not rows:
        best, signal, finding = "n/a: no valid judgement", "no valid judgement", "No model received a valid score."
    else:
        top = rows[0]
        tied = [b for a, b in ties if a == top["model"]]
        n_ties = len(ties)
        best = top["model"] if not tied else f"{top['model']} (tied within CIs with {', '.join(tied)})"
        n_pairs = len(rows) * (len(rows) - 1) // 2
        details.append(f"Ties: {n_ties} of {n_pairs} model pairs cannot be ordered by WB-Score (equal scores or "
                       f"overlapping intervals).")
        signal = "ranking" if not tied else "top not separable"
        finding = (f"Best by WB-Score: {top['model']} at {top['wb_score']:.1f} "
                   f"[{top.get('wb_score_lo', float('nan')):.1f}, {top.get('wb_score_hi', float('nan')):.1f}]"
                   + (f", not separable from {', '.join(tied)}." if tied else ", ahead of every other model's interval."))
    pairs = [(r["wb_reward_task_macro"], r["wb_reward_mix"]) for r in board
             if r.get("wb_reward_task_macro") is not None and r.get("wb_reward_mix") is not None
             and r["wb_reward_task_macro"] == r["wb_reward_task_macro"] and r["wb_reward_mix"] == r["wb_reward_mix"]]
    if pairs:
        gap = max(abs(a - b) for a, b in pairs)
        details.append(f"WB-Reward task macro and plain mixture differ by up to {gap:.1f} points over {len(pairs)} "
                       f"model(s) ({aggregation or 'upstream'} treatment of missing task groups and baselines).")
    details.append(f"Reliability: {reason}.")
    return {"finding": finding, "signal": signal, "findings": details, "best_by_wb_score": best, "judge_reliable": ok,
            "ranking_ties": n_ties, "tied_with_best": tied}
