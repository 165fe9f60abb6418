"""The default pair against its own members: is the density ratio of (strong, weak) a better reward than the strong
model alone or the weak model alone? Headlines with paired bootstrap CIs of their differences (the same resampled
examples for every method), and the computed finding that says which wins and whether the differences are resolved."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.stats import percentile_interval, resample_indices


def paired_headline_bootstrap(
    examples: Sequence[dict], correct: dict[str, Sequence[bool]], n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> dict[str, Any]:
    """RewardBench-style headlines of several methods scored on the same ``examples`` (``correct``: method -> one
    bool per example), with percentile CIs from one bootstrap that resamples examples within subsets, the same
    draw for every method, and the CI of each difference between two methods (``diff_ci[(a, b)]`` of a - b).
    Returns {"headline": {m: h}, "ci": {m: (lo, hi)}, "diff": {(a, b): d}, "diff_ci": {(a, b): (lo, hi)}}, in
    fractions; None headlines when a section is missing."""
    from .rewardbench import SECTIONS, section_of, subset_weight

    methods = list(correct)
    subsets: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        subsets.setdefault(e["subset"], []).append(i)
    if {section_of(s) for s in subsets} < set(SECTIONS):
        return {"headline": dict.fromkeys(methods), "ci": dict.fromkeys(methods), "diff": {}, "diff_ci": {}}
    rng = np.random.default_rng(seed)
    arr = {m: np.asarray(correct[m], dtype=float) for m in methods}
    point = {m: 0.0 for m in methods}
    reps = {m: np.zeros(n_boot) for m in methods}
    for sec in SECTIONS:
        members = [s for s in subsets if section_of(s) == sec]
        w = np.array([subset_weight(s, len(subsets[s])) for s in members], dtype=float)
        w = w / w.sum() / len(SECTIONS)
        for s, ws in zip(members, w):
            idx = np.asarray(subsets[s])
            draw = idx[resample_indices(len(idx), n_boot, rng)]  # one draw for every method
            for m in methods:
                point[m] += ws * arr[m][idx].mean()
                reps[m] += ws * arr[m][draw].mean(axis=1)
    ci = {m: percentile_interval(reps[m], level) for m in methods}
    diff = {(a, b): point[a] - point[b] for a in methods for b in methods if a != b}
    diff_ci = {(a, b): percentile_interval(reps[a] - reps[b], level) for a, b in diff}
    return {"headline": {m: float(v) for m, v in point.items()}, "ci": ci, "diff": diff, "diff_ci": diff_ci}


def member_comparison(
    examples: Sequence[dict],
    methods: dict[str, tuple[list, list]],
    ratio_label: str,
    strong_label: str,
    weak_label: str,
    seed: int = 0,
) -> dict[str, Any]:
    """The density ratio vs the strong model alone vs the weak model alone (``methods``: label -> (chosen rewards,
    rejected rewards)): headlines and CIs in percent, and the ratio's paired differences to each member with their
    CIs, for metrics.json (``default_pair_comparison``)."""
    from .rewardbench import pairwise_correct

    labels = {"ratio": ratio_label, "strong": strong_label, "weak": weak_label}
    boot = paired_headline_bootstrap(examples, {k: pairwise_correct(*methods[v]) for k, v in labels.items()}, seed=seed)
    pct = lambda x: None if x is None else 100 * x  # noqa: E731
    out: dict[str, Any] = {"methods": labels, "n_examples": len(examples)}
    for k in labels:
        out[k] = pct(boot["headline"][k])
        out[f"{k}_ci"] = [pct(x) for x in boot["ci"][k]] if boot["ci"][k] else None
    for other in ("strong", "weak"):
        key = ("ratio", other)
        out[f"ratio_minus_{other}"] = pct(boot["diff"].get(key))
        out[f"ratio_minus_{other}_ci"] = [pct(x) for x in boot["diff_ci"][key]] if key in boot["diff_ci"] else None
    return out


def comparison_sentence(c: dict[str, Any], strong: str, weak: str) -> tuple[str, str]:
    """(sentence, signal) computed from ``member_comparison``: which of the three rewards scores highest, and whether
    the ratio's differences to the child (strong) and the parent (weak) alone are resolved (their paired bootstrap
    CIs exclude 0)."""
    if not c or c.get("ratio") is None:
        return (
            "Density ratio vs its members: untestable here (no headline: a RewardBench section has no examples).",
            "untestable",
        )
    fmt = lambda k: f"{c[k]:.1f}" + (f" [{c[k + '_ci'][0]:.1f}, {c[k + '_ci'][1]:.1f}]" if c.get(k + "_ci") else "")  # noqa: E731
    names = {"ratio": f"the density ratio {strong} / {weak}", "strong": f"{strong} alone", "weak": f"{weak} alone"}
    best = max(names, key=lambda k: (c[k], k == "ratio"))
    resolved = []
    for other in ("strong", "weak"):
        d, ci = c[f"ratio_minus_{other}"], c[f"ratio_minus_{other}_ci"]
        verdict = "resolved" if ci and (ci[0] > 0 or ci[1] < 0) else "not resolved (CI covers 0)"
        resolved.append(verdict.startswith("resolved"))
        names[other + "_diff"] = f"ratio - {other} alone {d:+.1f} [{ci[0]:+.1f}, {ci[1]:+.1f}], {verdict}"
    sentence = (
        f"{names['ratio'][0].upper() + names['ratio'][1:]} scores {fmt('ratio')} against {fmt('strong')} for "
        f"{strong} alone and {fmt('weak')} for {weak} alone (mean log-prob; RewardBench-style headline on "
        f"{c['n_examples']} examples); highest: {names[best]}; {names['strong_diff']}; {names['weak_diff']} "
        "(paired bootstrap)."
    )
    signs = {c["ratio_minus_strong"] > 0, c["ratio_minus_weak"] > 0}
    if all(resolved):
        signal = (
            "ratio beats both members"
            if signs == {True}
            else "both members beat the ratio"
            if signs == {False}
            else "ratio between its members"
        )
    elif not any(resolved):
        signal = "no resolved difference"
    else:
        signal = "differences partly resolved"
    return sentence, signal
