"""The notebook's closing numbers (05_cdr): the parent and its trained children before/after, the default pair's
speed, and metrics.json with the findings computed from it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .baselines import both_sides
from .verdicts import MAX_TIED_SHARE, TIE_TOLERANCE


# --------------------------------------------------------------------------- before / after, metrics
def before_after_table(
    keys: Sequence[str],
    logprobs: dict,
    gap_scores: dict,
    gap_metric: str,
    onpolicy_log: dict,
    ids: Sequence[str],
    evaluate: Callable,
):
    """The parent and each trained child: mean-log-prob headline, gap score and training numbers."""
    import pandas as pd

    rows = []
    for key in keys:
        if key not in logprobs or key not in gap_scores:
            continue
        r = evaluate(*both_sides(ids, lambda k, key=key: logprobs[key][k].mean))
        rows.append(
            {
                "model": key,
                "mean-logprob headline": round(100 * r.headline, 1) if r.headline is not None else None,
                gap_metric: round(gap_scores[key], 4),
                **{
                    f"train {k}": v
                    for k, v in onpolicy_log.get(key, {}).items()
                    if k in ("steps", "seconds", "n_pairs")
                },
            }
        )
    return pd.DataFrame(rows)


def pair_speed(timing, strong: str, weak: str) -> float | None:
    """Preference pairs scored per second by the default pair (two responses under each model), from the timing of
    models scored from scratch; None when either was not."""
    if not len(timing) or not {strong, weak} <= set(timing.model):
        return None
    t = timing.set_index("model")
    return 1 / (2 / t.loc[strong, "seq_per_s"] + 2 / t.loc[weak, "seq_per_s"])


HEADLINE = ["ratio_headline_reported", "ratio_headline", "gap_accuracy_pearson", "pairs_per_s"]


def run_metrics(
    *,
    strong: str,
    weak: str,
    variant: str,
    eval_set: Sequence,
    main: Any,
    reports: dict,
    method_tied: dict,
    custom_tied: dict,
    pairs,
    rated,
    gap_tied: Sequence,
    tied_pairs: Sequence,
    trained_specs: Sequence[str],
    parent_model: str,
    gap_scores: dict,
    gap_metric: str,
    corr: dict,
    timing,
    prefers_longer: dict,
    router: dict,
    custom_rows,
    onpolicy_rows: int,
    onpolicy_log: dict,
    torch_threads: int,
    health: dict,
    comparison: dict | None = None,
    sweep_pairs: Any = "all",
) -> dict[str, Any]:
    """metrics.json: the default pair's headline and sections, the baselines' and customisation's tied shares, the
    sweep and its correlation, speed, router, training, the stores' health, and the findings computed from them.
    ``router``: accuracy (NaN when not run), domains, fallbacks."""
    from ..core.store import fallback_lines
    from .verdicts import findings

    child = [
        r
        for r in pairs.to_dict(orient="records")
        if {r["strong"], r["weak"]} & set(trained_specs) and parent_model in (r["strong"], r["weak"])
    ]
    main_label = f"ratio {variant} ({strong} / {weak})"
    alone = reports["strong alone, mean log-prob"]
    acc = router["accuracy"]
    m = {
        "default_pair": f"{strong} / {weak}",
        "variant": variant,
        "n_examples": len(eval_set),
        "headline": HEADLINE,
        "ratio_headline": 100 * main.headline if main.headline is not None else None,
        "ratio_headline_ci": [100 * x for x in main.headline_ci] if main.headline_ci else None,
        **{f"ratio_{k}": 100 * v for k, v in main.flat().items() if k != "headline"},
        "section_ci": {s: [100 * v["ci_low"], 100 * v["ci_high"]] for s, v in main.sections.items()},
        "strong_alone_mean_headline": 100 * alone.headline if alone.headline is not None else None,
        "tie_tolerance": TIE_TOLERANCE,
        "max_tied_share": MAX_TIED_SHARE,
        "ratio_tied_share": method_tied[main_label],
        "strong_alone_mean_tied_share": method_tied["strong alone, mean log-prob"],
        "baseline_tied_share": method_tied,
        "customisation_tied_share": custom_tied,
        "pairs_tied_share": {f"{s} / {w}": t for s, w, t in zip(pairs.strong, pairs.weak, pairs.tied_share)},
        "pairs_reward_degenerate": int(pairs.reward_degenerate.sum()),
        "pairs_rated": len(rated),
        "pairs_gap_distinct": int(_numeric(rated.gap).round(9).nunique()),
        "pairs_headline_distinct": int(_numeric(rated.headline).round(9).nunique()),
        "pairs_gap_tied": [list(t) for t in gap_tied],
        "n_pairs": len(pairs),
        "pairs_tied": len(tied_pairs),
        "tied_pairs": [list(t) for t in tied_pairs],
        "sweep_pairs": sweep_pairs if isinstance(sweep_pairs, str) or sweep_pairs is None else "explicit list",
        "default_pair_comparison": comparison or {},
        "child_parent_pairs": [{k: r[k] for k in ("strong", "weak", "gap", "headline", "tied_share")} for r in child],
        "gap_scores": gap_scores,
        "gap_metric": gap_metric,
        "gap_accuracy_pearson": corr["pearson"],
        "gap_accuracy_pearson_low": corr["pearson_low"],
        "gap_accuracy_pearson_high": corr["pearson_high"],
        "gap_accuracy_pearson_ci": [corr["pearson_low"], corr["pearson_high"]] if corr["pearson"] is not None else None,
        "gap_accuracy_spearman": corr["spearman"],
        "pairs_per_s": pair_speed(timing, strong, weak),
        "seq_per_s": dict(zip(timing.model, timing.seq_per_s)) if len(timing) else {},
        "ratio_prefers_longer": prefers_longer[main_label],
        "router_accuracy": acc if acc == acc else None,
        "router_domains": router["domains"],
        "router_fallbacks": router["fallbacks"],
        "torch_threads": torch_threads,
        "customisation": custom_rows.set_index("prompting").to_dict(orient="index") if custom_rows is not None else {},
        "onpolicy_pairs": onpolicy_rows,
        "trained": {k: {"pairs": v["n_pairs"], "steps": v["steps"]} for k, v in onpolicy_log.items()},
        "train_seconds_per_step": {k: v["seconds_per_step"] for k, v in onpolicy_log.items()},
        **health,
    }
    m.update(findings(m))
    m["findings"] = list(m.get("findings", [])) + fallback_lines(health)
    return m


def _numeric(series):
    import pandas as pd

    return pd.to_numeric(series)
