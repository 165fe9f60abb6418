"""The controlled BenchBuilder setting (benchbuilder_sim): the simulated labeler's parameters do what they say, its
labels go through the notebook's own join and selection, and on fixed seeds the selection by a labeler with signal
separates the contestants better than random prompts while a noise-only labeler's does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm, spearmanr

from helpers.evaluation import benchbuilder_sim as bsim
from helpers.evaluation import benchbuilder_steps as bbs
from helpers.evaluation import simulated as simj

CRIT = [f"c{k}" for k in range(1, 8)]


@pytest.fixture(scope="module")
def world():
    return bsim.make_world(n_prompts=400, n_topics=16, seed=3)


def _rates(world, **kw):
    """(P(yes | criterion met), P(yes | not met)) of a labeler over the whole world."""
    m = bsim.label_margins(world, world.truth.index, **kw) > 0
    met = world.truth[CRIT].to_numpy(bool)
    return m[met].mean(), m[~met].mean()


def test_the_world_knows_each_prompts_separability_and_links_quality_to_it(world):
    sim = world.sim
    assert np.allclose(world.truth.sep, [sim.separation(d) for d in world.truth.difficulty])
    assert (world.truth.true_score == world.truth[CRIT].sum(axis=1)).all()
    assert [p["id"] for p in world.prompts] == list(world.truth.index) and len(set(world.truth.index)) == 400
    assert spearmanr(world.truth.true_score, world.truth.sep).statistic > 0.6
    unlinked = bsim.make_world(n_prompts=400, n_topics=16, separability_link=0.0, seed=3)
    assert abs(spearmanr(unlinked.truth.true_score, unlinked.truth.sep).statistic) < 0.15
    # the default contestants, raised: the easiest prompts hardly separate them, the hardest do
    assert sim.separation(simj.DIFFICULTIES[0]) < 0.1 < 0.6 < sim.separation(simj.DIFFICULTIES[-1])


def test_noise_sets_the_labelers_error_rate(world):
    assert _rates(world, noise=0.0) == (1.0, 0.0)  # no noise: the truth exactly
    for noise in (0.5, 1.0, 2.0):  # margin +-1 plus N(0, noise): right with probability Phi(1 / noise)
        yes_met, yes_not = _rates(world, noise=noise)
        assert yes_met == pytest.approx(norm.cdf(1 / noise), abs=0.03)
        assert yes_not == pytest.approx(norm.cdf(-1 / noise), abs=0.03)


def test_bias_shifts_every_margin_and_signal_zero_leaves_no_signal(world):
    yes_met, yes_not = _rates(world, noise=1.0, bias=0.5)  # says Yes more often, met or not
    assert yes_met == pytest.approx(norm.cdf(1.5), abs=0.03) and yes_not == pytest.approx(norm.cdf(-0.5), abs=0.03)
    labels = bsim.simulated_labeler(world, signal=0.0, noise=1.0, seed=3)(world.prompts)
    df, _, _ = bbs.labelled_prompts(world.prompts, labels)
    agree = bsim.labeler_agreement(df, world, labels)
    assert abs(agree["spearman"]) < 0.15 and abs(agree["kappa"]) < 0.1
    for bias, sign in ((1.0, 1), (-1.0, -1)):
        labels = bsim.simulated_labeler(world, bias=bias, seed=3)(world.prompts)
        df, _, _ = bbs.labelled_prompts(world.prompts, labels)
        assert np.sign(bsim.labeler_agreement(df, world, labels)["score_bias"]) == sign


def test_labels_have_the_real_labelers_shape_and_do_not_depend_on_batching(world):
    label = bsim.simulated_labeler(world, noise=1.0, seed=1)
    whole = label(world.prompts[:20])
    assert label(world.prompts[:7]) + label(world.prompts[7:20]) == whole
    assert all(set(r) == {"id", "reply", "criteria"} and set(r["criteria"]) <= set(range(1, 8)) for r in whole)
    df, errors, parse_failures = bbs.labelled_prompts(world.prompts[:20], whole)
    assert errors == 0 and parse_failures == 0.0 and df.score.between(0, 7).all()
    exact = bsim.simulated_labeler(world, noise=0.0)(world.prompts[:20])
    df, _, _ = bbs.labelled_prompts(world.prompts[:20], exact)
    assert (df.score.to_numpy() == world.truth.loc[df.id, "true_score"].to_numpy()).all()


def test_separation_runs_04s_games_and_hard_prompts_separate_more(world):
    by_level = world.truth.groupby("difficulty").head(20)
    easy = by_level[by_level.difficulty == simj.DIFFICULTIES[0]].index
    hard = by_level[by_level.difficulty == simj.DIFFICULTIES[-1]].index
    e, h = bsim.separation(world, easy), bsim.separation(world, hard)
    assert e["pairs"] == h["pairs"] == 21 and e["verdicts"] == h["verdicts"] == 1.0
    assert h["separability"] > e["separability"] and h["kendall_true_order"] > e["kendall_true_order"]
    assert bsim.separation(world, [])["prompts"] == 0


def test_the_closed_form_board_is_arenas_bootstrap_leaderboard(world):
    from helpers.evaluation.arena.bootstrap import leaderboard
    from helpers.evaluation.arena.games import battles_from_games
    from helpers.evaluation.arena.pipeline import game_items, game_judge

    sim, tasks = world.sim, [world.tasks[i] for i in world.truth.index[:30]]
    judge = simj.SimulatedJudge(noise=0.1)
    items, msgs = game_items(
        {n: {} for n in sim.names},
        sim.baseline,
        simj.arena_prompts(tasks),
        sim.answers(tasks),
        judge.name,
        "",
        "generate",
        0,
        "arena-hard",
    )
    battles, _ = battles_from_games(game_judge("generate", msgs, lambda: judge, judge.name)[0](items), sim.baseline)
    ours = bsim.baseline_board(battles, sim.baseline, rounds=400).set_index("model")
    arena = leaderboard(battles, sim.baseline, rounds=200).set_index("model").loc[ours.index]
    assert np.allclose(ours.win_rate, arena.win_rate)  # the Bradley-Terry fit against the baseline, exactly
    assert np.allclose(ours.ci_low, arena.win_rate_low, atol=0.04) and np.allclose(
        ours.ci_high, arena.win_rate_high, atol=0.04
    )
    with pytest.raises(ValueError, match="baseline"):
        bsim.baseline_board(battles.assign(model_a="sim-0", model_b="sim-1"), sim.baseline)


def test_on_fixed_seeds_selection_beats_random_and_a_noise_only_labeler_does_not():
    s = bsim.SimSettings(seed=0)  # the quick profile's controlled setting: 10 worlds per labeler
    summary = bsim.summarize(bsim.controlled_runs(s))
    real, noise = summary["as set"], summary["noise only"]
    assert real["labeler_spearman"] > 0.7 and abs(noise["labeler_spearman"]) < 0.15
    assert real["true_sep_gain"]["low"] > 0 and real["sep_gain"]["low"] > 0  # better, with confidence
    assert abs(noise["true_sep_gain"]["mean"]) < 0.05  # its picks are as separating as random ones
    assert bsim.gain_signal(real["sep_gain"]) == "selection separates better than random"
    assert bsim.gain_signal(noise["sep_gain"]) == "selection no better than random"
    out = bsim.controlled_findings({"controlled": summary}, settings={"prompts": 400})
    assert f"{real['sep_selected']:.0%}" in out["finding"] and "noise-only labeler" in out["finding"]


def _summary(means, name="as set"):
    runs = pd.DataFrame(
        [
            {
                "labeler": name,
                "repeat": i,
                "selected": 10,
                "sep_selected": 0.5 + d,
                "sep_random": 0.5,
                "true_sep_selected": 0.5,
                "true_sep_random": 0.5,
                "spearman": 0.5,
                "kappa": 0.3,
                "criterion_accuracy": 0.7,
                "score_bias": 0.0,
            }
            for i, d in enumerate(means)
        ]
    )
    return runs, bsim.summarize(runs)


def test_findings_say_better_no_better_or_untestable_from_the_numbers():
    assert (
        bsim.controlled_findings({"controlled": _summary([0.2, 0.3, 0.25])[1]})["signal"]
        == "selection separates better than random"
    )
    assert (
        bsim.controlled_findings({"controlled": _summary([0.2, -0.3, 0.05])[1]})["signal"]
        == "selection no better than random"
    )
    untestable = bsim.controlled_findings({"controlled": _summary([0.2])[1]})
    assert untestable["signal"] == "untestable" and untestable["finding"].startswith("untestable here")
    assert bsim.controlled_findings({"controlled": {}})["signal"] == "not run"
    assert bsim.paired_difference([1, 2, 3], [0, 1, 2]) == {"n": 3, "mean": 1.0, "low": 1.0, "high": 1.0, "wins": 3}


def test_metrics_carry_both_findings_and_the_figure_quotes_the_gains(tmp_path):
    df = pd.DataFrame({"score": [1.0, 2.0], "cluster": [0, 1]})
    clusters = pd.DataFrame({"cluster_kept": [True, False]})
    runs, summary = _summary([0.2, 0.3, 0.25])
    m = bbs.run_metrics({"conversations": 2, "bench_prompts": 1}, df, clusters, float("nan"), 0, 0, {})
    m.update(bsim.controlled_metrics(summary, bsim.SimSettings()))
    assert m["signal"] == "labeler not checked" and m["controlled_signal"] == "selection separates better than random"
    assert "Controlled setting" in bbs.findings_report(m) and m["controlled_finding"] in bbs.findings_report(m)
    from helpers.evaluation import benchbuilder_plots as bbp

    fig, caption = bbp.controlled_figure(runs, summary)
    assert "+0.25 [" in caption and "3 simulated worlds" in caption


def test_precheck_refuses_more_topics_than_prompts():
    with pytest.raises(ValueError, match="sim_topics"):
        bbs.check_params({"sim_repeats": 2, "sim_topics": 50, "sim_prompts": 20})
    bbs.check_params({"sim_repeats": 0, "sim_topics": 50, "sim_prompts": 20})
