"""The run's verdicts and findings (computed from its metrics)."""

from __future__ import annotations

from typing import Any


# --------------------------------------------------------------------------- the judge's verdict
def judge_check(m: dict[str, Any]) -> tuple[bool, str]:
    """(reliable, reason): the one decision on this run's judge, from its metrics (parse failures, tie share, share
    of the most common score; ``core.stats.judge_reliability``). The notebook's VERDICT and the findings use it."""
    from ...core.stats import judge_reliability

    return judge_reliability(
        tie_share=m.get("tie_share"),
        top_score_share=m.get("top_score_share"),
        parse_failure_rate=max(m["score_parse_failure_rate"], m["reward_parse_failure_rate"]),
    )


def judge_verdict(m: dict[str, Any]) -> str:
    """The notebook's one-line VERDICT on the judge (``judge_check``)."""
    ok, reason = judge_check(m)
    if ok:
        return f"VERDICT: the judge ({m.get('judge')}) passes the reliability checks ({reason})."
    return (
        f"VERDICT: this judge ({m.get('judge')}) is degenerate ({reason}): the leaderboard differences say "
        "nothing reliable about the contestants; the run shows the pipeline working, not how they compare."
    )


# --------------------------------------------------------------------------- computed findings
def findings(m: dict[str, Any], *, board: Any = None) -> dict[str, Any]:
    """Finding, signal, detail sentences and the headline ranking, computed from the run's metrics and leaderboard.

    ``board``: the leaderboard (DataFrame or rows) with model, wb_score, wb_score_lo, wb_score_hi (and the WB-Reward
    task macro and mixture). The ranking is withheld ("n/a: judge degenerate") when the judge fails ``judge_check``;
    a best model whose interval overlaps the runner-up's is reported as a tie with it. Ties are counted:
    ``ranking_ties`` is the number of model pairs the ranking cannot order (equal WB-Scores or overlapping
    intervals; None when the ranking is withheld), ``tied_with_best`` the models tied with the best one. Equal
    scores are ordered by model name. Metrics read: score/reward parse failure rates, tie_share, top_score_share,
    position_pairs, position_consistency_raw, position_same_slot_rate, aggregation.
    """
    import pandas as pd

    from ...core.stats import pct, ranked, tied_pairs

    ok, reason = judge_check(m)
    score_fail, reward_fail = m["score_parse_failure_rate"], m["reward_parse_failure_rate"]
    tie_share, top_score_share, aggregation = m.get("tie_share"), m.get("top_score_share"), m.get("aggregation")
    position = {
        "pairs": m.get("position_pairs"),
        "consistent_rate": m.get("position_consistency_raw"),
        "same_slot_rate": m.get("position_same_slot_rate"),
    }
    if board is None:
        board = []
    elif hasattr(board, "to_dict"):
        board = board.to_dict(orient="records")
    valid = [
        {**r, "model": str(r["model"])}
        for r in board
        if r.get("wb_score") is not None and r["wb_score"] == r["wb_score"]
    ]
    table = pd.DataFrame(
        valid,
        columns=list(
            dict.fromkeys(["model", "wb_score", "wb_score_lo", "wb_score_hi", *(k for r in valid for k in r)])
        ),
    )
    rows = [{k: v for k, v in r.items() if v is not None} for r in ranked(table, "wb_score").to_dict(orient="records")]
    ties = tied_pairs(table, "wb_score", low="wb_score_lo", high="wb_score_hi")
    tied: list = []
    n_ties = None
    details = [
        f"WB-Score parse failures {pct(score_fail)}, WB-Reward parse failures {pct(reward_fail)}; "
        f"ties {pct(tie_share)} of pairwise verdicts; the most common score covers {pct(top_score_share)} of scores."
    ]
    if position.get("pairs"):
        details.append(
            f"Of {position['pairs']} games judged in both orders, {pct(position.get('consistent_rate'))} gave "
            f"the same outcome; in {pct(position.get('same_slot_rate'))} the same slot won both times."
        )
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
        details.append(
            f"Ties: {n_ties} of {n_pairs} model pairs cannot be ordered by WB-Score (equal scores or "
            f"overlapping intervals)."
        )
        signal = "ranking" if not tied else "top not separable"
        finding = (
            f"Best by WB-Score: {top['model']} at {top['wb_score']:.1f} "
            f"[{top.get('wb_score_lo', float('nan')):.1f}, {top.get('wb_score_hi', float('nan')):.1f}]"
            + (f", not separable from {', '.join(tied)}." if tied else ", ahead of every other model's interval.")
        )
    pairs = [
        (r["wb_reward_task_macro"], r["wb_reward_mix"])
        for r in board
        if r.get("wb_reward_task_macro") is not None
        and r.get("wb_reward_mix") is not None
        and r["wb_reward_task_macro"] == r["wb_reward_task_macro"]
        and r["wb_reward_mix"] == r["wb_reward_mix"]
    ]
    if pairs:
        gap = max(abs(a - b) for a, b in pairs)
        details.append(
            f"WB-Reward task macro and plain mixture differ by up to {gap:.1f} points over {len(pairs)} "
            f"model(s) ({aggregation or 'upstream'} treatment of missing task groups and baselines)."
        )
    details.append(f"Reliability: {reason}.")
    return {
        "finding": finding,
        "signal": signal,
        "findings": details,
        "best_by_wb_score": best,
        "judge_reliable": ok,
        "ranking_ties": n_ties,
        "tied_with_best": tied,
    }


# --------------------------------------------------------------------------- metrics.json
HEADLINE = [
    "best_by_wb_score",
    "ranking_ties",
    "score_parse_failure_rate",
    "reward_parse_failure_rate",
    "tie_share",
    "top_score_share",
]


def run_metrics(
    board: Any, reliability: dict[str, Any], counts: dict[str, Any], health: dict[str, int]
) -> dict[str, Any]:
    """metrics.json: the leaderboard's scores, the judge's reliability numbers (``pipeline.reliability_checks``),
    the run's ``counts`` (n_tasks, n_models, judge, K, aggregation, baselines, score/reward parse failure rates,
    judge_prefill, judge_requests_this_run, judge_endpoint_errors, judge_malformed_replies, score/reward endpoint
    errors, tasks_skipped_malformed), the stores' health, and the findings computed from them (``findings``)."""
    from ...core.store import fallback_lines

    pos = reliability["position"]
    m = {
        **counts,
        "wb_score": dict(zip(board.model, board.wb_score.round(2))),
        "wb_reward_mix": dict(zip(board.model, board.wb_reward_mix.round(2))),
        "wb_reward_task_macro": dict(zip(board.model, board.wb_reward_task_macro.round(2))),
        "wb_reward_task_macro_ci": {
            m: [round(lo, 2), round(hi, 2)]
            for m, lo, hi in zip(board.model, board.wb_reward_task_macro_lo, board.wb_reward_task_macro_hi)
        },
        "position_consistency_raw": pos["consistent_rate"],
        "position_same_slot_rate": pos["same_slot_rate"],
        "tie_share": reliability["tie_share"],
        "top_score_share": reliability["top_score_share"],
        "slot_a_rate": pos["a_slot_rate"],
        "position_pairs": pos["pairs"],
        "score_reward_kendall_tau": reliability["kendall_tau"],
        **health,
    }
    f = findings(m, board=board)
    fallbacks = fallback_lines(
        {
            "WB-Score endpoint errors": counts["score_endpoint_errors"],
            "WB-Reward endpoint errors": counts["reward_endpoint_errors"],
            "tasks skipped (malformed)": counts["tasks_skipped_malformed"],
            **health,
        }
    )
    return {
        **m,
        "best_by_wb_score": f["best_by_wb_score"],
        "judge_reliable": f["judge_reliable"],
        "ranking_ties": f["ranking_ties"],
        "tied_with_best": f["tied_with_best"],
        "position_consistency": pos["consistent_rate"] if f["judge_reliable"] else None,
        "finding": f["finding"],
        "signal": f["signal"],
        "findings": f["findings"] + fallbacks,
        "headline": HEADLINE,
    }
