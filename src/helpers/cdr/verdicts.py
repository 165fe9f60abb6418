"""The run's findings (computed from its metrics) and the runner's cross-parameter checks."""
from __future__ import annotations

from typing import Any

from .sweep import data_slices, load_gap_scores
from .zoo import DERIVED_KINDS


def check_params(params: dict[str, Any]) -> None:
    """Cross-parameter checks the runner makes before compute (ValueError names the parameter)."""
    for spec in params.get("derived_zoo", []):
        kind, _, arg = str(spec).partition(":")
        if kind not in DERIVED_KINDS or (kind == "layers" and not arg.isdigit()) or (kind == "noise" and not _is_number(arg or "0.1")):
            raise ValueError(f"parameter 'derived_zoo': unknown member {spec!r} (use layers:K, noise:S, random, dpo-offline, simpo or dpo)")
    zoo = list(params.get("zoo_models", [])) + list(params.get("derived_zoo", []))
    pair = params.get("default_pair", [])
    if len(pair) != 2 or pair[0] == pair[1]:
        raise ValueError(f"parameter 'default_pair' must name two different zoo members (strong, weak), got {pair!r}")
    outside = [m for m in pair if m not in zoo]
    if outside:
        raise ValueError(f"parameter 'default_pair': {', '.join(map(repr, outside))} not in the zoo "
                         f"(zoo_models + derived_zoo: {', '.join(zoo)})")
    if params.get("gap_scores_file"):
        scores = load_gap_scores(params["gap_scores_file"])
        missing = [m for m in zoo if m not in scores]
        if missing:
            raise ValueError(f"parameter 'gap_scores_file': no score for {', '.join(map(repr, missing))} "
                             f"(it scores {', '.join(map(repr, scores))})")
    elif params.get("gap_data") == params.get("eval_data"):
        data_slices(params.get("per_subset", 0), params.get("onpolicy_prompts", 0),
                    params.get("offline_pairs_per_subset", 0) if "dpo-offline" in params.get("derived_zoo", []) else 0,
                    params.get("gap_per_subset", 0))


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False

def findings(m: dict[str, Any]) -> dict[str, Any]:
    """Finding, signal and detail sentences computed from the run's metrics (no fixed prose)."""
    from ..core.stats import pct
    head, ci = m.get("ratio_headline"), m.get("ratio_headline_ci")
    strong = m.get("strong_alone_mean_headline")
    if head is None or not ci:
        signal = "no headline"
    elif ci[0] > 50:
        signal = "ratio above chance"
    elif ci[1] < 50:
        signal = "ratio below chance"
    else:
        signal = "ratio not distinguishable from chance"
    details = []
    if head is not None:
        details.append(f"Density ratio ({m.get('default_pair')}, {m.get('variant')}): RewardBench-style headline "
                       f"{head:.1f}" + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else "") + f" on {m.get('n_examples')} examples"
                       + (f"; the strong model alone (mean log-prob) {strong:.1f}." if strong is not None else "."))
    longer = m.get("ratio_prefers_longer")
    if longer is not None:
        details.append(f"Where lengths differ, the ratio prefers the longer response {pct(longer)} of the time.")
    r, lo, hi, n = (m.get(k) for k in ("gap_accuracy_pearson", "gap_accuracy_pearson_low", "gap_accuracy_pearson_high",
                                       "n_pairs"))
    if r is not None:
        covers = lo is not None and hi is not None and lo <= 0 <= hi
        details.append(f"Gap vs headline over {n} (strong, weak) pairs: Pearson {r:.2f}"
                       + (f" [{lo:.2f}, {hi:.2f}]" if lo is not None else "")
                       + ("; the interval covers 0." if covers else "."))
    else:
        details.append(f"Gap vs headline: not computed ({n or 0} pairs with distinct scores; at least 4 are needed).")
    for pair in m.get("child_parent_pairs") or []:
        details.append(f"Preference-tuned child vs its parent (the paper's best pair type): strong {pair['strong']}, weak "
                       f"{pair['weak']}, gap {pair['gap']:.3f}, ratio headline "
                       f"{'n/a' if pair['headline'] is None else format(pair['headline'], '.1f')}.")
    for a, b in m.get("tied_pairs") or []:
        details.append(f"{a} and {b} have the same gap score: no strong side, left out of the sweep.")
    if m.get("router_accuracy") is not None:
        fb = m.get("router_fallbacks") or {}
        details.append(f"Router accuracy {pct(m['router_accuracy'])} (routed: {m.get('router_domains', {})}; "
                       f"{fb.get('unparsed', 0)} replies named no domain and fell back to CHAT"
                       + (f"; the router failed: {fb['error']}" if fb.get("error") else "") + ").")
    finding = details[0] if details else "No headline computed."
    return {"finding": finding, "signal": signal, "findings": details}
