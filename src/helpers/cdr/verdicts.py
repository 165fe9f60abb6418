"""The run's findings (computed from its metrics) and the runner's cross-parameter checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .sweep import data_slices, load_gap_scores
from .zoo import DERIVED_KINDS


def check_params(params: dict[str, Any]) -> None:
    """Cross-parameter checks the runner makes before compute (ValueError names the parameter)."""
    for spec in params.get("derived_zoo", []):
        kind, _, arg = str(spec).partition(":")
        if (
            kind not in DERIVED_KINDS
            or (kind == "layers" and not arg.isdigit())
            or (kind == "noise" and not _is_number(arg or "0.1"))
        ):
            raise ValueError(
                f"parameter 'derived_zoo': unknown member {spec!r} (use layers:K, noise:S, random, dpo-offline, simpo or dpo)"
            )
    zoo = list(params.get("zoo_models", [])) + list(params.get("derived_zoo", []))
    pair = params.get("default_pair", [])
    if len(pair) != 2 or pair[0] == pair[1]:
        raise ValueError(f"parameter 'default_pair' must name two different zoo members (strong, weak), got {pair!r}")
    outside = [m for m in pair if m not in zoo]
    if outside:
        raise ValueError(
            f"parameter 'default_pair': {', '.join(map(repr, outside))} not in the zoo "
            f"(zoo_models + derived_zoo: {', '.join(zoo)})"
        )
    from .pairs import parse_sweep_pairs

    parse_sweep_pairs(params.get("sweep_pairs"), zoo)  # PairsError: a malformed pair or a model outside the zoo
    if params.get("gap_scores_file"):
        scores = load_gap_scores(params["gap_scores_file"])
        missing = [m for m in zoo if m not in scores]
        if missing:
            raise ValueError(
                f"parameter 'gap_scores_file': no score for {', '.join(map(repr, missing))} "
                f"(it scores {', '.join(map(repr, scores))})"
            )
    elif params.get("gap_data") == params.get("eval_data"):
        data_slices(
            params.get("per_subset", 0),
            params.get("onpolicy_prompts", 0),
            params.get("offline_pairs_per_subset", 0) if "dpo-offline" in params.get("derived_zoo", []) else 0,
            params.get("gap_per_subset", 0),
        )
    _check_data_sources(params)  # last: the cheap cross-parameter checks above name a bad count first


def _check_data_sources(params: dict[str, Any]) -> None:
    """eval_data, gap_data and customisation read (bounded) by the loaders the notebook uses, before any model."""
    from ..core.data import check_source
    from .customise import load_customisation
    from .rewardbench import load_preference_set
    from .sweep import load_mc_set

    split = params.get("eval_split", "filtered")
    check_source("eval_data", params.get("eval_data", ""), lambda s: load_preference_set(s, split=split))
    if not params.get("gap_scores_file") and params.get("gap_data") != params.get("eval_data"):
        check_source("gap_data", params.get("gap_data", ""), load_mc_set)
    if params.get("custom_per_subset", 0) and params.get("customisation"):
        check_source("customisation", params["customisation"], load_customisation)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# --------------------------------------------------------------------------- reward reliability: ties
TIE_TOLERANCE = 1e-6  # |reward(chosen) - reward(rejected)| at or below this: the pair is tied (no order)
MAX_TIED_SHARE = 0.9  # a reward tying this share of pairs (or more) is degenerate: its headline is withheld


def tied_share(chosen: Sequence[float], rejected: Sequence[float], tol: float = TIE_TOLERANCE) -> float | None:
    """Share of pairs a reward cannot order: |chosen - rejected| <= ``tol``, or a reward that is not a number
    (NaN; inf against inf). RewardBench counts every one of them as wrong. None for no pairs."""
    if len(chosen) != len(rejected):
        raise ValueError("chosen and rejected score lists differ in length")
    if not len(chosen):
        return None
    return sum(1 for c, r in zip(chosen, rejected) if not abs(float(c) - float(r)) > tol) / len(chosen)


def reward_reliability(share: float | None, max_share: float = MAX_TIED_SHARE) -> tuple[bool, str]:
    """Can an accuracy be read from this reward? (False, the reason) when it ties ``max_share`` of the pairs or more
    (strong and weak model the same, rewards collapsed): every tie counts as wrong, so its accuracy would read as
    "below chance" when the reward says nothing at all."""
    from ..core.stats import pct

    if share is not None and share >= max_share:
        return False, f"{pct(share)} of pairs tied, |chosen - rejected| <= {TIE_TOLERANCE:g}"
    return True, "reward checks passed" + (f" ({pct(share)} of pairs tied)" if share is not None else "")


def degenerate_note(share: float | None) -> str | None:
    """ "n/a: reward degenerate (reason)" for a reward that fails ``reward_reliability``, else None."""
    ok, reason = reward_reliability(share)
    return None if ok else f"n/a: reward degenerate ({reason})"


# --------------------------------------------------------------------------- computed findings
def findings(m: dict[str, Any]) -> dict[str, Any]:
    """Finding, signal and detail sentences computed from the run's metrics (no fixed prose).

    The headline (the default pair's density ratio) is withheld, "n/a: reward degenerate (reason)", when the
    reward ties at least ``MAX_TIED_SHARE`` of the pairs (``ratio_tied_share``); so is the strong model alone's
    number, a customisation variant's and a sweep pair's (left out of the gap correlation by the notebook).
    ``rewards_degenerate`` counts the degenerate rewards: each row of the baselines table (the headline's among
    them), of the customisation table and of the sweep once (the headline alone when no baselines are logged).
    ``ranking_ties`` counts the pairs of sweep pairs with the same gap (the sweep orders them by name).
    """
    from ..core.stats import pct

    head, ci = m.get("ratio_headline"), m.get("ratio_headline_ci")
    strong = m.get("strong_alone_mean_headline")
    ok, reason = reward_reliability(m.get("ratio_tied_share"))
    if not ok:
        signal = "reward degenerate: no headline"
        reported = f"n/a: reward degenerate ({reason})"
    elif head is None or not ci:
        signal, reported = "no headline", "n/a: no headline"
    else:
        signal = (
            "ratio above chance"
            if ci[0] > 50
            else "ratio below chance"
            if ci[1] < 50
            else "ratio not distinguishable from chance"
        )
    if ok and head is not None:
        reported = f"{head:.1f}" + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else "")
    details = []
    strong_na = degenerate_note(m.get("strong_alone_mean_tied_share"))
    strong_txt = (
        f"; the strong model alone (mean log-prob) {strong_na}"
        if strong_na
        else f"; the strong model alone (mean log-prob) {strong:.1f}"
        if strong is not None
        else ""
    )
    if not ok:
        details.append(
            f"Density ratio ({m.get('default_pair')}, {m.get('variant')}): {reported}; a tie counts as "
            f"wrong, so its RewardBench-style accuracy on {m.get('n_examples')} examples would read as below "
            f"chance and is not reported{strong_txt}."
        )
    elif head is not None:
        details.append(
            f"Density ratio ({m.get('default_pair')}, {m.get('variant')}): RewardBench-style headline "
            f"{reported} on {m.get('n_examples')} examples{strong_txt}."
        )
    longer = m.get("ratio_prefers_longer")
    if longer is not None and ok:
        details.append(f"Where lengths differ, the ratio prefers the longer response {pct(longer)} of the time.")
    r, lo, hi, n = (
        m.get(k) for k in ("gap_accuracy_pearson", "gap_accuracy_pearson_low", "gap_accuracy_pearson_high", "n_pairs")
    )
    n_bad, rated = m.get("pairs_reward_degenerate") or 0, m.get("pairs_rated", n)
    left_out = (
        f"; {n_bad} pair(s) with a degenerate reward (>= {pct(MAX_TIED_SHARE)} of pairs tied) left out" if n_bad else ""
    )
    if r is not None:
        covers = lo is not None and hi is not None and lo <= 0 <= hi
        details.append(
            f"Gap vs headline over {rated} (strong, weak) pairs: Pearson {r:.2f}"
            + (f" [{lo:.2f}, {hi:.2f}]" if lo is not None else "")
            + ("; the interval covers 0" if covers else "")
            + left_out
            + "."
        )
    elif (rated or 0) >= 4 and m.get("pairs_gap_distinct") == 1:
        details.append(f"Gap vs headline: n/a: gaps degenerate (all {rated} pairs have the same gap){left_out}.")
    elif (rated or 0) >= 4 and m.get("pairs_headline_distinct") == 1:
        details.append(
            f"Gap vs headline: n/a: headlines degenerate (all {rated} pairs have the same headline){left_out}."
        )
    else:
        details.append(
            f"Gap vs headline: not computed ({rated or 0} pairs with distinct scores; at least 4 are needed){left_out}."
        )
    gap_ties = [tuple(t) for t in m.get("pairs_gap_tied") or []]
    if gap_ties:
        groups: list[list[str]] = []  # equal gaps are an equivalence: one group per gap value, in ranked order
        for a, b in gap_ties:
            group = next((g for g in groups if a in g or b in g), None)
            if group is None:
                groups.append([a, b])
            else:
                group.extend(x for x in (a, b) if x not in group)
        details.append(
            f"Sweep ranking: {len(gap_ties)} of {(n or 0) * ((n or 0) - 1) // 2} pairs of pairs have the same "
            f"gap, ordered by name: " + "; ".join("{" + ", ".join(g) + "}" for g in groups) + "."
        )
    for pair in m.get("child_parent_pairs") or []:
        na = degenerate_note(pair.get("tied_share"))
        details.append(
            f"Preference-tuned child vs its parent (the paper's best pair type): strong {pair['strong']}, weak "
            f"{pair['weak']}, gap {pair['gap']:.3f}, ratio headline "
            f"{na or ('n/a' if pair['headline'] is None else format(pair['headline'], '.1f'))}."
        )
    for a, b in m.get("tied_pairs") or []:
        details.append(f"{a} and {b} have the same gap score: no strong side, left out of the sweep.")
    bad_methods = {k: degenerate_note(v) for k, v in (m.get("baseline_tied_share") or {}).items() if degenerate_note(v)}
    bad_custom = {
        k: degenerate_note(v) for k, v in (m.get("customisation_tied_share") or {}).items() if degenerate_note(v)
    }
    main_label = f"ratio {m.get('variant')} ({m.get('default_pair')})"  # the baselines row of the headline itself
    for k, na in {**bad_methods, **{f"customisation ({k})": v for k, v in bad_custom.items()}}.items():
        if k != main_label:
            details.append(f"{k}: {na}.")
    if m.get("router_accuracy") is not None:
        fb = m.get("router_fallbacks") or {}
        details.append(
            f"Router accuracy {pct(m['router_accuracy'])} (routed: {m.get('router_domains', {})}; "
            f"{fb.get('unparsed', 0)} replies named no domain and fell back to CHAT"
            + (f"; the router failed: {fb['error']}" if fb.get("error") else "")
            + ")."
        )
    details.append(f"Reward reliability: {reason}.")
    finding = (
        f"No headline: the density-ratio reward is degenerate ({reason})."
        if not ok
        else details[0]
        if head is not None
        else "No headline computed."
    )
    if ok and m.get("default_pair_comparison"):  # the ratio vs its own members: which wins, and is it resolved?
        from .compare import comparison_sentence

        strong, _, weak = str(m.get("default_pair", " / ")).partition(" / ")
        finding, signal = comparison_sentence(m["default_pair_comparison"], strong, weak)
        details.insert(0, finding)
    counted = (len(bad_methods) if m.get("baseline_tied_share") else int(not ok)) + len(bad_custom) + n_bad
    return {
        "finding": finding,
        "signal": signal,
        "findings": details,
        "reward_reliable": ok,
        "reward_check": reason,
        "ratio_headline_reported": reported,
        "rewards_degenerate": counted,
        "ranking_ties": len(gap_ties),
    }
