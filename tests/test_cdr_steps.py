"""The helpers behind notebooks/05_cdr.py's cells: the sweep, baselines, length preference, routing, before/after,
metrics and the figure (issue #23: cells tell the story, helpers hold the logic). No model is loaded."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers import cdr  # noqa: E402
from helpers.cdr import plots as cdr_plots  # noqa: E402
from helpers.cdr import rewardbench as rb  # noqa: E402
from helpers.core.logprobs import ResponseLogProb  # noqa: E402

EVAL = rb.load_preference_set("builtin:rewardbench_offline.jsonl", per_subset=1)
IDS = [e["id"] for e in EVAL]


def _lp(good: float, bad: float, n_chosen: int = 10, n_rejected: int = 5) -> dict:
    """Log-probs where every chosen response scores ``good`` and every rejected one ``bad`` (per token)."""
    out = {}
    for i in IDS:
        out[i + "/chosen"] = ResponseLogProb(good * n_chosen, good, n_chosen)
        out[i + "/rejected"] = ResponseLogProb(bad * n_rejected, bad, n_rejected)
    return out


LOGPROBS = {"strong": _lp(-1.0, -3.0), "weak": _lp(-2.0, -2.0), "flat": _lp(-2.0, -2.0)}
GAPS = {"strong": 0.9, "weak": 0.5, "flat": 0.5}


def _sweep():
    evaluate = cdr.rewardbench_evaluator(EVAL, seed=0)
    return evaluate, *cdr.pair_sweep({m: m for m in LOGPROBS}, GAPS, LOGPROBS, IDS, "mean", evaluate)


def test_pair_sweep_orders_by_gap_marks_degenerate_rewards_and_reports_equal_scores():
    _, pairs, tied_pairs, gap_tied = _sweep()
    assert [(r.strong, r.weak) for r in pairs.itertuples()] == [("strong", "flat"), ("strong", "weak")]
    assert [set(t) for t in tied_pairs] == [{"flat", "weak"}]  # equal gap scores: no strong side
    assert len(gap_tied) == 1  # strong/flat and strong/weak have the same gap
    assert pairs.reward_degenerate.dtype == bool and not pairs.reward_degenerate.any()
    assert (pairs.accuracy == 1.0).all() and (pairs.headline == 100.0).all()
    corr = cdr.correlation_ci(pairs.gap, pairs.headline, seed=0)
    lines = cdr.sweep_lines(pairs, tied_pairs, gap_tied, corr, "acc")
    assert lines[0].startswith("2 pairs (strong = the higher acc unless named); 1 left out with equal scores")
    assert lines[-1].startswith("gap vs RewardBench-style headline: {")


def test_baselines_table_and_length_preference():
    evaluate = cdr.rewardbench_evaluator(EVAL, seed=0)
    S, W = LOGPROBS["strong"], LOGPROBS["flat"]
    methods = cdr.baseline_methods(S, W, IDS, "strong", "flat")
    assert list(methods)[:2] == ["ratio sum (strong / flat)", "ratio mean (strong / flat)"]
    reports = {m: evaluate(*cr) for m, cr in methods.items()}
    tied = {m: cdr.tied_share(*cr) for m, cr in methods.items()}
    table = cdr.baseline_table(reports, tied)
    assert table.set_index("method").loc["weak alone, mean log-prob", "reward"].startswith("n/a: reward degenerate")
    assert table.set_index("method").loc["strong alone, mean log-prob", "reward"] == "ok"
    prefers, lines = cdr.length_preference(S, IDS, methods)
    assert prefers["strong alone, mean log-prob"] == 1.0  # chosen is longer here and scores higher
    assert prefers["weak alone, mean log-prob"] == 0.0  # a tie never prefers the longer one
    assert lines[0] == f"chosen is the longer response in 100% of {len(IDS)} examples with unequal lengths"


class FakeRouter:
    def complete(self, msgs):
        return ["SAFETY"] * (len(msgs) - 1) + ["no idea"]


def test_routing_with_and_without_a_router():
    domains, fallbacks, lines = cdr.route_examples(EVAL, cdr.rewardbench_evaluator and (lambda e: e["prompt"]))
    assert set(domains) == {"CHAT"} and fallbacks == {"unparsed": 0, "error": None} and lines == []
    domains, fallbacks, lines = cdr.route_examples(EVAL, lambda e: e["prompt"], FakeRouter())
    assert (
        domains[-1] == "CHAT" and fallbacks["unparsed"] == 1 and lines[0].startswith("router fallbacks to CHAT: 1 of")
    )
    acc, counts, line = cdr.router_accuracy(EVAL, domains)
    gold = [cdr.SECTION_DOMAIN[e["section"]] for e in EVAL]
    assert acc == pytest.approx(sum(d == g for d, g in zip(domains, gold)) / len(EVAL))
    assert sum(counts.values()) == len(EVAL) and line.startswith("router accuracy")


def test_pair_speed_needs_both_models_timed():
    timing = pd.DataFrame([{"model": "a", "seq_per_s": 4.0}, {"model": "b", "seq_per_s": 4.0}])
    assert cdr.pair_speed(timing, "a", "b") == 1.0
    assert cdr.pair_speed(timing, "a", "c") is None and cdr.pair_speed(pd.DataFrame(), "a", "b") is None


def test_training_data_needs_onpolicy_pairs_for_simpo():
    with pytest.raises(ValueError, match="needs on-policy pairs"):
        cdr.training_data("simpo", None, "builtin:rewardbench_offline.jsonl", "filtered", (0, 1), lambda e: e["prompt"])
    assert cdr.training_data("dpo", ["pairs"], "", "", (0, 0), None) == (["pairs"], "dpo")


def test_before_after_and_run_metrics_and_figure():
    evaluate, pairs, tied_pairs, gap_tied = _sweep()
    ba = cdr.before_after_table(["strong", "missing"], LOGPROBS, GAPS, "acc", {}, IDS, evaluate)
    assert list(ba.model) == ["strong"] and ba["mean-logprob headline"].iloc[0] == 100.0
    S, W = LOGPROBS["strong"], LOGPROBS["weak"]
    methods = cdr.baseline_methods(S, W, IDS, "strong", "weak")
    reports = {m: evaluate(*cr) for m, cr in methods.items()}
    tied = {m: cdr.tied_share(*cr) for m, cr in methods.items()}
    prefers, _ = cdr.length_preference(S, IDS, methods)
    rated = pairs[~pairs.reward_degenerate].dropna(subset=["headline"])
    corr = cdr.correlation_ci(rated.gap, rated.headline, seed=0)
    m = cdr.run_metrics(
        strong="strong",
        weak="weak",
        variant="mean",
        eval_set=EVAL,
        main=reports["ratio mean (strong / weak)"],
        reports=reports,
        method_tied=tied,
        custom_tied={},
        pairs=pairs,
        rated=rated,
        gap_tied=gap_tied,
        tied_pairs=tied_pairs,
        trained_specs=[],
        parent_model="strong",
        gap_scores=GAPS,
        gap_metric="acc",
        corr=corr,
        timing=pd.DataFrame(),
        prefers_longer=prefers,
        router={"accuracy": float("nan"), "domains": {}, "fallbacks": {}},
        custom_rows=None,
        onpolicy_rows=0,
        onpolicy_log={},
        torch_threads=1,
        health={"malformed_store_lines": 0, "records_to_retry": 0},
    )
    assert m["ratio_headline"] == 100.0 and m["router_accuracy"] is None and m["pairs_per_s"] is None
    assert (
        m["n_pairs"] == 2
        and [set(t) for t in m["tied_pairs"]] == [{"flat", "weak"}]
        and set(m["headline"]) <= set(m) | {"ratio_headline_reported"}
    )
    assert m["finding"] and m["reward_reliable"] is True
    fig, caption = cdr_plots.gap_vs_headline_figure(pairs, rated, corr, "acc")
    assert "gap in acc" in caption and fig.axes[0].get_title()


def test_configure_threads_leaves_them_at_zero():
    assert cdr.configure_threads(0).startswith("torch threads: ")
