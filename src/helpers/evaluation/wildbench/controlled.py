"""WildBench in the controlled judge setting (issue #25): the simulated world and judge of ``evaluation.simulated``
through the same prompts, parsers and scoring (``reward_prompt``/``score_prompt``, ``parse_label``/``parse_score``,
``game_items``, ``wb_reward`` with the length penalty K, ``reward_summary``/``score_summary`` with their bootstrap
CIs), over repeated draws where the truth is known.

Per draw (its own tasks, answers and judge seed) three judges see the same prompts with the same random numbers:
the configured one (position, length, noise), the same without length bias and the same without position bias,
so a difference between two of them is the injected bias alone. Every game is judged in both orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import simulated as sim
from .contestants import Contestant
from .prompts import parse_label, parse_score, reward_prompt, score_prompt
from .scoring import wb_reward, wb_score


def sim_contestants(world: sim.SimWorld) -> list[Contestant]:
    return [Contestant(name=n, model="simulated") for n in world.names]


def judge_sim_games(
    judge: Any, world: sim.SimWorld, tasks: Sequence, answers: dict, seed: int, max_words: int = 1000
) -> list[dict]:
    """WB-Reward games of every contestant against the world's baseline, in WildBench's random order and swapped
    (``pipeline.game_items`` with every task position-checked), judged by ``judge`` and parsed: records as
    ``pipeline.judge_wb_games`` writes them (no store: the simulated judge is deterministic and free)."""
    from .pipeline import game_items

    items = game_items(
        judge.name, sim_contestants(world), [world.baseline], tasks, answers, seed, len(tasks), max_words, ""
    )
    by_id = {t.id: t for t in tasks}
    prompts = []
    for it in items:
        m_text, b_text = answers[it["model"]][it["task"]]["text"], answers[it["baseline"]][it["task"]]["text"]
        a, b = (m_text, b_text) if it["model_is_a"] else (b_text, m_text)
        prompts.append(reward_prompt(by_id[it["task"]], a, b, max_words))
    texts = judge.complete(prompts, desc="WB-Reward (simulated)")
    return [{**it, "auto_reward": None, "label": parse_label(t), "raw": t} for it, t in zip(items, texts)]


def judge_sim_scores(
    judge: Any, world: sim.SimWorld, tasks: Sequence, answers: dict, max_words: int = 1000
) -> list[dict]:
    """WB-Score records {model, task, score, auto} of every contestant's answers, judged by ``judge`` and parsed."""
    pairs = [(m, t) for m in world.names for t in tasks]
    texts = judge.complete([score_prompt(t, answers[m][t.id]["text"], max_words) for m, t in pairs], desc="WB-Score")
    return [{"model": m, "task": t.id, "score": parse_score(x), "auto": False} for (m, t), x in zip(pairs, texts)]


def rewards(games: Sequence[dict], K: float, baseline: str) -> dict[str, float]:
    """WB-Reward (x100) per model against the one baseline (``scoring.wb_reward``); the baseline's own is 0."""
    out = {m: wb_reward([g for g in games if g["model"] == m], K) for m in dict.fromkeys(g["model"] for g in games)}
    return {**out, baseline: 0.0}


def draw(
    world: sim.SimWorld,
    position_bias: float,
    length_bias: float,
    noise: float,
    n_tasks: int,
    K: float,
    seed: int,
    rounds: int = 200,
    aggregation: str = "upstream",
) -> dict[str, Any]:
    """One controlled draw (its own tasks, answers and judge seed): the rankings of the configured judge, the
    position shift (judge with position bias minus the clean judge, model always in slot B vs both orders), the
    length shift (configured judge minus the same without length bias, at K=-1 and at ``K``), K's cost (the clean
    judge, K minus no penalty), and the 95% CIs of the judge without length bias (random order,
    K=-1). Shifts are in points per non-baseline model."""
    from .tables import reward_summary, score_summary

    sim_tasks = world.tasks(n_tasks, seed)
    tasks, answers = sim.wildbench_tasks(sim_tasks), world.answers(sim_tasks, seed)
    groups_of = {t.id: t.groups for t in tasks}
    judges = {
        "full": sim.SimulatedJudge(position_bias, length_bias, noise, seed),
        "no_length": sim.SimulatedJudge(position_bias, 0.0, noise, seed),
        "clean": sim.SimulatedJudge(0.0, 0.0, noise, seed),
    }
    games = {k: judge_sim_games(j, world, tasks, answers, seed) for k, j in judges.items()}
    rnd = {k: [g for g in gs if not g["swap_check"]] for k, gs in games.items()}  # WildBench's random A/B order
    fixed = {k: [g for g in gs if not g["model_is_a"]] for k, gs in games.items()}  # the model always in slot B
    scores = {k: judge_sim_scores(judges[k], world, tasks, answers) for k in ("full", "no_length")}
    wbs = {k: {m: wb_score(s["score"] for s in v if s["model"] == m) for m in world.names} for k, v in scores.items()}
    reward = lambda gs, k: rewards(gs, k, world.baseline)  # noqa: E731
    diff = lambda a, b: {m: a[m] - b[m] for m in a if m != world.baseline}  # noqa: E731
    board, _ = reward_summary(
        rnd["no_length"],
        [],
        -1,
        rounds=rounds,
        seed=seed,
        baselines=[world.baseline],
        aggregation=aggregation,
        task_groups_by_id=groups_of,
    )
    score_rows = score_summary(scores["no_length"], groups_of, rounds=rounds, seed=seed, aggregation=aggregation)
    return {
        "reward_K": reward(rnd["full"], K),
        "reward_no_K": reward(rnd["full"], -1),
        "score": wbs["full"],
        "position_shift_fixed": diff(reward(fixed["no_length"], -1), reward(fixed["clean"], -1)),
        "position_shift_swapped": diff(reward(games["no_length"], -1), reward(games["clean"], -1)),
        "length_shift_no_K": diff(reward(rnd["full"], -1), reward(rnd["no_length"], -1)),
        "length_shift_K": diff(reward(rnd["full"], K), reward(rnd["no_length"], K)),
        "length_shift_score": diff(wbs["full"], wbs["no_length"]),
        "K_cost": diff(reward(rnd["clean"], K), reward(rnd["clean"], -1)),
        "reward_unbiased_K": reward(rnd["clean"], K),
        "ci_reward": {r["model"]: (r["wb_reward_lo"], r["wb_reward_hi"]) for r in board},
        "ci_reward_macro": {r["model"]: (r["wb_reward_task_macro_lo"], r["wb_reward_task_macro_hi"]) for r in board},
        "ci_score": {r["model"]: (r["wb_score_lo"], r["wb_score_hi"]) for r in score_rows},
    }


def ranking(draws: Sequence[dict], key: str, truth: dict[str, float]) -> dict[str, float]:
    """Mean Kendall tau with the true order and the share of draws with exactly the true order, of the estimate
    ``key`` (``simulated.order_agreement``)."""
    agree = [sim.order_agreement(d[key], truth) for d in draws]
    return {
        "kendall_tau": float(np.mean([a["kendall_tau"] for a in agree])),
        "exact_share": float(np.mean([a["exact_order"] for a in agree])),
    }


def coverage(draws: Sequence[dict], key: str, truth: dict[str, float]) -> dict[str, float]:
    """Share of (draw, model) intervals ``key`` that hold the model's true value, and how many were checked."""
    hits = [lo <= truth[m] <= hi for d in draws for m, (lo, hi) in d[key].items() if m in truth]
    return {"coverage": float(np.mean(hits)) if hits else float("nan"), "hits": int(sum(hits)), "intervals": len(hits)}


def mean_shift(draws: Sequence[dict], key: str) -> dict[str, float]:
    """Per model, the mean over draws of a shift (points)."""
    models = list(dict.fromkeys(m for d in draws for m in d[key]))
    return {m: float(np.mean([d[key][m] for d in draws if m in d[key]])) for m in models}


def summarise(
    draws: Sequence[dict],
    world: sim.SimWorld,
    *,
    position_bias: float,
    length_bias: float,
    noise: float,
    K: float,
    n_tasks: int,
) -> dict[str, Any]:
    """The controlled metrics over draws: the settings, ranking recovery, bias shifts with and without the
    corrections, the coverage of the 95% CIs (WB-Reward mixture and task macro at K=-1, WB-Score), the exact truths."""
    largest = lambda d: float(max(abs(v) for v in d.values())) if d else float("nan")  # noqa: E731
    shifts = {
        k: mean_shift(draws, k)
        for k in (
            "position_shift_fixed",
            "position_shift_swapped",
            "length_shift_no_K",
            "length_shift_K",
            "length_shift_score",
            "K_cost",
        )
    }
    true_r, true_k, truth = world.true_rewards(noise, -1), world.true_rewards(noise, K), world.true_win_rates(0.0)
    return {
        "draws": len(draws),
        "n_tasks": n_tasks,
        "position_bias": position_bias,
        "length_bias": length_bias,
        "noise": noise,
        "K": K,
        "true_order": world.true_order(),
        "true_wb_reward": {m: round(v, 2) for m, v in true_r.items()},
        "true_wb_score": {m: round(v, 2) for m, v in world.true_scores(noise).items()},
        **{
            f"{name}_{k}": v
            for key, name in (
                ("reward_K", "ranking"),
                ("reward_no_K", "ranking_no_K"),
                ("score", "score_ranking"),
                ("reward_unbiased_K", "ranking_no_bias_K"),
            )
            for k, v in ranking(draws, key, truth).items()
        },
        **{f"{k}_mean": {m: round(v, 2) for m, v in s.items()} for k, s in shifts.items()},
        **{f"{k}_largest": largest(s) for k, s in shifts.items()},
        "K_cost_exact": {m: round(true_k[m] - true_r[m], 2) for m in true_r if m != world.baseline},
        "coverage_reward": coverage(draws, "ci_reward", true_r),
        "coverage_reward_macro": coverage(draws, "ci_reward_macro", true_r),
        "coverage_score": coverage(draws, "ci_score", world.true_scores(noise)),
    }


def _worst(s: dict[str, Any], key: str) -> str:
    """The model with the largest absolute value of ``s[key]`` (the most affected one)."""
    return max(s[key], key=lambda m: abs(s[key][m]))


def headline_shifts(s: dict[str, Any]) -> tuple[tuple[str, list[float]], tuple[str, list[float]]]:
    """((model, [position shift in fixed order, in both orders]), (model, [length shift at K=-1, at K])), each for
    the model the bias moves most (mean over draws, WB-Reward points)."""
    pos_m, len_m = _worst(s, "position_shift_fixed_mean"), _worst(s, "length_shift_no_K_mean")
    return (
        (pos_m, [s["position_shift_fixed_mean"][pos_m], s["position_shift_swapped_mean"][pos_m]]),
        (len_m, [s["length_shift_no_K_mean"][len_m], s["length_shift_K_mean"][len_m]]),
    )


def contestant_table(s: dict[str, Any], draws: Sequence[dict]):
    """Per simulated contestant: the exact truths and the mean estimates over draws (configured judge)."""
    import pandas as pd

    mean = lambda key, m: float(np.mean([d[key][m] for d in draws]))  # noqa: E731
    return pd.DataFrame(
        [
            {
                "contestant": m,
                "true WB-Reward": s["true_wb_reward"][m],
                "WB-Reward, K=-1": mean("reward_no_K", m),
                f"WB-Reward, K={s['K']:g}": mean("reward_K", m),
                "true WB-Score": s["true_wb_score"][m],
                "WB-Score": mean("score", m),
            }
            for m in s["true_order"]
        ]
    ).set_index("contestant")


def figure_data(s: dict[str, Any]) -> tuple[list[tuple], list[tuple]]:
    """(shifts, coverage) for ``simulated_plots.controlled_figure``."""
    (pos_m, pos), (len_m, length) = headline_shifts(s)
    shifts = [(f"position bias\n{pos_m}", *pos, "both orders"), (f"length bias\n{len_m}", *length, f"K={s['K']:g}")]
    cov = [
        (name, s[key]["hits"], s[key]["intervals"], 0.95)
        for name, key in (
            ("WB-Reward mixture", "coverage_reward"),
            ("WB-Reward task macro", "coverage_reward_macro"),
            ("WB-Score task macro", "coverage_score"),
        )
    ]
    return shifts, cov


def controlled_metrics(s: dict[str, Any]) -> dict[str, Any]:
    """What metrics.json holds of the controlled setting: its numbers and its finding, signal and lines."""
    return {"controlled": s, **controlled_findings(s)}


def controlled_findings(s: dict[str, Any]) -> dict[str, Any]:
    """The controlled setting's finding, signal and detail lines, computed from ``summarise``'s numbers. Checks: the
    WB-Reward ranking recovers the true order (mean Kendall tau >= 0.8), both orders remove the position shift and
    K the length shift (``simulated.removal_check``), the 95% CIs cover the truth at a rate consistent with 95%."""
    from ...core.stats import pct

    (pos_m, pos), (len_m, length) = headline_shifts(s)
    cov = s["coverage_reward"]
    cov_check, (clo, chi) = sim.coverage_check(cov["hits"], cov["intervals"], 0.95)
    checks = {
        "ranking": "pass" if s["ranking_kendall_tau"] >= 0.8 else "fail",
        "position": sim.removal_check(s["position_bias"], *pos),
        "length": sim.removal_check(s["length_bias"], *length),
        "coverage": cov_check,
    }
    k, cost_m = s["K"], _worst(s, "K_cost_exact")
    finding = (
        f"Simulated judge (position bias {s['position_bias']:g}, length bias {s['length_bias']:g}, noise "
        f"{s['noise']:g}; {s['draws']} draws of {s['n_tasks']} tasks): WB-Reward at K={k:g} gives the true "
        f"order in {pct(s['ranking_exact_share'])} of draws (mean Kendall tau {s['ranking_kendall_tau']:.2f}); "
        f"both orders cut the position shift from {pos[0]:+.1f} to {pos[1]:+.1f} points, K={k:g} the length "
        f"shift from {length[0]:+.1f} to {length[1]:+.1f} ({len_m}); 95% CIs cover the truth in "
        f"{pct(cov['coverage'])} of {cov['intervals']}."
    )
    lines = [
        f"Controlled checks: {', '.join(f'{k} {v}' for k, v in checks.items())}. Truth = what a judge without "
        f"position or length bias (same noise) gives on infinitely many tasks, computed exactly; true order "
        f"{' > '.join(s['true_order'])}.",
        f"Ranking: WB-Reward at K={k:g} true order in {pct(s['ranking_exact_share'])} of draws (tau "
        f"{s['ranking_kendall_tau']:.2f}); without the length penalty {pct(s['ranking_no_K_exact_share'])} (tau "
        f"{s['ranking_no_K_kendall_tau']:.2f}); WB-Score (no length correction) {pct(s['score_ranking_exact_share'])} "
        f"(tau {s['score_ranking_kendall_tau']:.2f}).",
        f"Position bias ({pos_m}): the model always in slot B shifts its WB-Reward by {pos[0]:+.1f} points; judged in "
        f"both orders {pos[1]:+.1f} (largest over models {s['position_shift_swapped_largest']:.1f}).",
        f"Length bias ({len_m}): {length[0]:+.1f} points without the penalty, {length[1]:+.1f} with K={k:g}; WB-Score, "
        f"which WildBench does not correct, moves {s['length_shift_score_mean'][len_m]:+.1f} points.",
        f"K's cost without length bias ({cost_m}): {s['K_cost_mean'][cost_m]:+.1f} points measured, "
        f"{s['K_cost_exact'][cost_m]:+.1f} exact (its real slight wins as a much longer answer become ties); the true "
        f"order at K={k:g} without length bias in {pct(s['ranking_no_bias_K_exact_share'])} of draws.",
        f"Coverage of the 95% bootstrap CIs (judge without length bias, K=-1): WB-Reward mixture "
        f"{pct(cov['coverage'])} "
        f"of {cov['intervals']} (Wilson [{pct(clo)}, {pct(chi)}]), task macro "
        f"{pct(s['coverage_reward_macro']['coverage'])}, WB-Score {pct(s['coverage_score']['coverage'])} of "
        f"{s['coverage_score']['intervals']}.",
    ]
    return {
        "controlled_finding": finding,
        "controlled_signal": sim.check_signal(checks),
        "controlled_findings": lines,
        "controlled_checks": checks,
    }
