"""The run's findings (computed from its metrics) and the runner's cross-parameter checks."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .prompts import ANSWER_VARIANTS


def check_params(params: dict[str, Any]) -> None:
    """Cross-parameter checks the runner makes before compute (ValueError names the parameter)."""
    for key in ("baseline", "contestants"):
        values = params.get(key)
        values = values if isinstance(values, list) else [values]
        unknown = [v for v in values if v not in ANSWER_VARIANTS]
        if unknown:
            raise ValueError(
                f"parameter {key!r}: unknown variant(s) {', '.join(map(repr, unknown))}; "
                f"choose from {', '.join(sorted(ANSWER_VARIANTS))}"
            )
    if params.get("baseline") in params.get("contestants", []):
        raise ValueError("parameter 'contestants' must not include the baseline")
    if params.get("judge_mode") == "logprob" and params.get("judge_base_url"):
        raise ValueError(
            "parameter 'judge_mode': logprob scores a local judge's next tokens; an endpoint judge "
            "(judge_base_url) needs judge_mode generate"
        )
    level = params.get("ci_level")
    if level is not None and not 0 < level < 1:
        raise ValueError(f"parameter 'ci_level' must be strictly between 0 and 1 (e.g. 0.9), got {level!r}")


def findings(m: dict[str, Any], *, board: pd.DataFrame | None = None) -> dict[str, Any]:
    """Finding, signal and detail sentences computed from the run's metrics (and leaderboard, when rated).

    ``top_contestant`` is the headline ranking's first place, or "n/a: judge degenerate (reason)" when the judge
    fails the reliability checks; ``ranking_ties`` counts the model pairs whose intervals overlap (None when
    no ranking is reported) and a top tied with others is named with them. Equal win rates go by model name.
    """
    from ...core.stats import judge_reliability, pct, ranked, tied_pairs

    ok, reason = judge_reliability(
        parse_failure_rate=m.get("judge_parse_failure_rate"), position_bias_rate=m.get("position_bias_rate")
    )
    details = [
        f"{m.get('games', 0)} games on {m.get('prompts', 0)} prompts; {pct(m.get('judge_parse_failure_rate'))} "
        f"without a verdict; {m.get('prompts_kept', 0)} prompts kept, {m.get('prompts_dropped', 0)} dropped.",
        f"The verdict followed the slot rather than the answer in {pct(m.get('position_bias_rate'))} of swapped "
        f"game pairs; the two games agreed in {pct(m.get('two_game_consistency'))}.",
    ]
    n_ties = None
    if not ok:
        signal, finding = "judge degenerate: no ranking", f"No ranking: the judge is degenerate ({reason})."
        top_name = f"n/a: judge degenerate ({reason})"
    elif not m.get("enough_valid_battles") or board is None or board.empty:
        signal, finding = "not enough valid battles", "No ranking: too few prompts with both verdicts parsed."
        top_name = "n/a: not enough valid battles"
    else:
        top = ranked(board, "win_rate").iloc[0]
        ties = tied_pairs(board, "win_rate", low="ci_low", high="ci_high")
        n_ties = len(ties)
        tied = [b for a, b in ties if a == top["model"]]
        sep = m.get("separability")
        signal = "ranking" if sep and sep > 0 else "ranking without separation"
        level = m.get("ci_level")
        level_txt = f" at {pct(level)} intervals" if level is not None else ""
        top_name = str(top["model"]) + (f" (tied within CIs with {', '.join(map(str, tied))})" if tied else "")
        finding = (
            f"Top contestant: {top_name} with win rate {100 * top['win_rate']:.1f}% against the baseline; "
            f"separability {pct(sep)} of model pairs{level_txt}."
        )
        details.append(
            f"Ties: {n_ties} of {len(board) * (len(board) - 1) // 2} model pairs have overlapping intervals "
            f"(the ranking cannot order them)."
        )
    if board is not None and not board.empty and m.get("bootstrap_method"):
        ratio = m.get("ci_width_ratio_weighted_over_upstream")
        ratio_txt = (
            f"; the weighted-unit intervals are {ratio:.2f}x as wide as upstream's (median over contestants)"
            if ratio is not None and ratio == ratio
            else ""
        )
        details.append(
            f"Intervals: {pct(m.get('ci_level'))} bootstrap, {m['bootstrap_method']} definition over "
            f"{m.get('bootstrap_rounds', '?')} rounds{ratio_txt}."
        )
        gap = m.get("style_methods_max_gap_points")
        if m.get("style_method") and gap is not None and gap == gap:
            details.append(
                f"Style control ({m['style_method']} definition in use): the win rates at the average style "
                f"gap (upstream) and at equal style (symmetric) differ by up to {gap:.1f} points."
            )
    details.append(f"Reliability: {reason}.")
    return {
        "finding": finding,
        "signal": signal,
        "findings": details,
        "judge_reliable": ok,
        "top_contestant": top_name,
        "ranking_ties": n_ties,
    }
