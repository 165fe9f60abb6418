"""Arena-Hard in the controlled judge setting (issue #25): the simulated world and judge of ``evaluation.simulated``
through the same games and scoring (``pipeline.game_items`` and ``game_judge`` in generate mode, ``parse_verdict``,
``battles_from_games``, Bradley-Terry, the bootstrap ``leaderboard``, style control), over repeated draws where the
truth is known.

Per draw (its own prompts, answers and judge seed) three judges see the same prompts with the same random numbers:
the configured one (position, length, noise), the same without length bias, and a clean one (noise only), so a
difference between two of them is the injected bias alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import simulated as sim


def sim_games(
    judge: Any, world: sim.SimWorld, prompts: Sequence[dict], answers: dict, judge_prompt: str = "short"
) -> list[dict]:
    """Both games (baseline as A, then swapped) of every contestant on every prompt, judged by ``judge`` in
    generate mode and parsed: the records the notebook's ``games`` stage holds (no store: the judge is free)."""
    from .pipeline import game_items, game_judge

    configs = {m: {"model": "simulated", "system": "", "temperature": 0.0} for m in world.names}
    items, msgs = game_items(configs, world.baseline, prompts, answers, judge.name, "", "generate", 0, judge_prompt)
    judge_games, _ = game_judge("generate", msgs, lambda: judge, judge.name)
    return judge_games(items)


def win_rates(battles, answers: dict, baseline: str, style_method: str | None = None) -> dict[str, float]:
    """Point win rates against the baseline from one Bradley-Terry fit, raw or style-controlled (``style_method``)."""
    from .bradley_terry import fit_bradley_terry, win_rate_vs_baseline
    from .style import battle_style_features, style_covariates

    S = None
    if style_method:
        fa, fb = battle_style_features(battles, answers, counting=style_method)
        S = style_covariates(battles, fa, fb, baseline, method=style_method)
    r = fit_bradley_terry(battles, baseline, style=S)["ratings"]
    return {m: win_rate_vs_baseline(v, r[baseline]) for m, v in r.items()}


def draw(
    world: sim.SimWorld,
    position_bias: float,
    length_bias: float,
    noise: float,
    n_prompts: int,
    seed: int,
    rounds: int = 100,
    level: float = 0.9,
    bootstrap_method: str = "upstream",
    unit: str = "battle",
    style_method: str = "upstream",
    judge_prompt: str = "short",
) -> dict[str, Any]:
    """One controlled draw's numbers (win rates; shifts in win-rate points per non-baseline model): the rankings of
    the configured judge (raw and style-controlled), the position shift (judge with position bias minus the clean
    one, game 1 only vs both games), the length shift (configured judge minus the same without length bias, raw vs
    style-controlled by each style method), style control's cost on the clean judge, and the ``level`` bootstrap
    intervals of the judge without length bias (``bootstrap_method``, and the weighted method by prompt)."""
    from .bootstrap import leaderboard
    from .games import battles_from_games
    from .style import STYLE_METHODS

    tasks = world.tasks(n_prompts, seed)
    prompts, answers = sim.arena_prompts(tasks), world.answers(tasks, seed)
    judges = {
        "full": sim.SimulatedJudge(position_bias, length_bias, noise, seed),
        "no_length": sim.SimulatedJudge(position_bias, 0.0, noise, seed),
        "clean": sim.SimulatedJudge(0.0, 0.0, noise, seed),
    }
    battles = {
        k: battles_from_games(sim_games(j, world, prompts, answers, judge_prompt), world.baseline)[0]
        for k, j in judges.items()
    }
    wr = lambda k, style=None: win_rates(battles[k], answers, world.baseline, style)  # noqa: E731
    game1 = {k: b[b.game == 1] for k, b in battles.items()}  # no swap: the baseline always in slot A
    first = lambda k: win_rates(game1[k], answers, world.baseline)  # noqa: E731
    diff = lambda a, b: {m: 100 * (a[m] - b[m]) for m in a if m != world.baseline}  # noqa: E731
    raw = {k: wr(k) for k in judges}
    styled = {sm: {k: wr(k, sm) for k in ("full", "no_length", "clean")} for sm in STYLE_METHODS}
    boards = {
        "configured": leaderboard(
            battles["no_length"], world.baseline, rounds, seed, unit, level=level, method=bootstrap_method
        ),
        "weighted_prompt": leaderboard(
            battles["no_length"], world.baseline, rounds, seed, "prompt", level=level, method="weighted"
        ),
    }
    return {
        "win_rate": raw["full"],
        **{f"win_rate_style_{sm}": s["full"] for sm, s in styled.items()},
        "win_rate_clean_style": styled[style_method]["clean"],
        "position_shift_no_swap": diff(first("no_length"), first("clean")),
        "position_shift_swap": diff(raw["no_length"], raw["clean"]),
        "length_shift_raw": diff(raw["full"], raw["no_length"]),
        **{f"length_shift_style_{sm}": diff(s["full"], s["no_length"]) for sm, s in styled.items()},
        **{f"style_cost_{sm}": diff(s["clean"], raw["clean"]) for sm, s in styled.items()},
        **{
            f"ci_{name}": {
                r.model: (r.win_rate_low, r.win_rate_high) for r in b.itertuples() if r.model != world.baseline
            }
            for name, b in boards.items()
        },
    }


def mean_shift(draws: Sequence[dict], key: str) -> dict[str, float]:
    """Per model, the mean over draws of a shift (win-rate points)."""
    models = list(dict.fromkeys(m for d in draws for m in d[key]))
    return {m: float(np.mean([d[key][m] for d in draws if m in d[key]])) for m in models}


def summarise(draws: Sequence[dict], world: sim.SimWorld, **settings: Any) -> dict[str, Any]:
    """The controlled metrics over draws: the ``settings`` (position_bias, length_bias, noise, n_prompts, level,
    bootstrap_method, style_method, rounds), ranking recovery (raw and style-controlled), the bias shifts with and
    without the corrections, style control's cost, and the coverage of the intervals against the exact truth."""
    from .style import STYLE_METHODS

    truth, order_truth = world.true_win_rates(settings["noise"]), world.true_win_rates(0.0)
    largest = lambda d: float(max(abs(v) for v in d.values())) if d else float("nan")  # noqa: E731
    out: dict[str, Any] = {
        "draws": len(draws),
        **settings,
        "true_order": world.true_order(),
        "true_win_rate": {m: round(v, 4) for m, v in truth.items()},
    }
    for key in ["win_rate", *(f"win_rate_style_{sm}" for sm in STYLE_METHODS), "win_rate_clean_style"]:
        agree = [sim.order_agreement(d[key], order_truth) for d in draws]
        out[f"ranking_{key}"] = {
            "kendall_tau": float(np.mean([a["kendall_tau"] for a in agree])),
            "exact_share": float(np.mean([a["exact_order"] for a in agree])),
        }
    for key in [
        "position_shift_no_swap",
        "position_shift_swap",
        "length_shift_raw",
        *(f"length_shift_style_{sm}" for sm in STYLE_METHODS),
        *(f"style_cost_{sm}" for sm in STYLE_METHODS),
    ]:
        shift = mean_shift(draws, key)
        out[f"{key}_mean"], out[f"{key}_largest"] = {m: round(v, 2) for m, v in shift.items()}, largest(shift)
    for key in ("ci_configured", "ci_weighted_prompt"):
        hits = [lo <= truth[m] <= hi for d in draws for m, (lo, hi) in d[key].items()]
        out[f"coverage_{key[3:]}"] = {
            "coverage": float(np.mean(hits)) if hits else float("nan"),
            "hits": int(sum(hits)),
            "intervals": len(hits),
        }
    return out


def _worst(s: dict[str, Any], key: str) -> str:
    """The model with the largest absolute value of ``s[key]`` (the most affected one)."""
    return max(s[key], key=lambda m: abs(s[key][m]))


def headline_shifts(s: dict[str, Any]) -> tuple[tuple[str, list[float]], tuple[str, list[float]]]:
    """((model, [position shift from game 1 only, from both games]), (model, [length shift raw, style-controlled by
    ``style_method``])), each for the model the bias moves most (mean over draws, win-rate points)."""
    pos_m, len_m = _worst(s, "position_shift_no_swap_mean"), _worst(s, "length_shift_raw_mean")
    return (
        (pos_m, [s["position_shift_no_swap_mean"][pos_m], s["position_shift_swap_mean"][pos_m]]),
        (len_m, [s["length_shift_raw_mean"][len_m], s[f"length_shift_style_{s['style_method']}_mean"][len_m]]),
    )


def contestant_table(s: dict[str, Any], draws: Sequence[dict]):
    """Per simulated contestant: the exact true win rate and the mean estimates over draws (configured judge), in %."""
    import pandas as pd

    mean = lambda key, m: 100 * float(np.mean([d[key][m] for d in draws]))  # noqa: E731
    return pd.DataFrame(
        [
            {
                "contestant": m,
                "true win rate": 100 * s["true_win_rate"][m],
                "raw": mean("win_rate", m),
                **{f"style-controlled ({sm})": mean(f"win_rate_style_{sm}", m) for sm in ("upstream", "symmetric")},
            }
            for m in s["true_order"]
        ]
    ).set_index("contestant")


def figure_data(s: dict[str, Any]) -> tuple[list[tuple], list[tuple]]:
    """(shifts, coverage) for ``simulated_plots.controlled_figure``."""
    (pos_m, pos), (len_m, length) = headline_shifts(s)
    shifts = [
        (f"position bias\n{pos_m}", *pos, "swapped game"),
        (f"length bias\n{len_m}", *length, f"{s['style_method']} style control"),
    ]
    cov = [
        (
            f"{s['bootstrap_method']} bootstrap",
            s["coverage_configured"]["hits"],
            s["coverage_configured"]["intervals"],
            s["level"],
        ),
        (
            "weighted, by prompt",
            s["coverage_weighted_prompt"]["hits"],
            s["coverage_weighted_prompt"]["intervals"],
            s["level"],
        ),
    ]
    return shifts, cov


def controlled_metrics(s: dict[str, Any]) -> dict[str, Any]:
    """What metrics.json holds of the controlled setting: its numbers and its finding, signal and lines."""
    return {"controlled": s, **controlled_findings(s)}


def controlled_findings(s: dict[str, Any]) -> dict[str, Any]:
    """The controlled setting's finding, signal and detail lines, computed from ``summarise``'s numbers. Checks: the
    raw Bradley-Terry ranking recovers the true order (mean Kendall tau >= 0.8), the swapped second game removes the
    position shift and style control (``style_method``) the length shift (``simulated.removal_check``), and the
    ``bootstrap_method`` intervals cover the truth at a rate consistent with their level."""
    from ...core.stats import pct

    sm, level = s["style_method"], s["level"]
    (pos_m, pos), (len_m, length) = headline_shifts(s)
    cov, alt = s["coverage_configured"], s["coverage_weighted_prompt"]
    cov_check, (clo, chi) = sim.coverage_check(cov["hits"], cov["intervals"], level)
    checks = {
        "ranking": "pass" if s["ranking_win_rate"]["kendall_tau"] >= 0.8 else "fail",
        "position": sim.removal_check(s["position_bias"], *pos),
        "length": sim.removal_check(s["length_bias"], *length),
        "coverage": cov_check,
    }
    rank, styled = s["ranking_win_rate"], s[f"ranking_win_rate_style_{sm}"]
    cost_m = _worst(s, f"style_cost_{sm}_mean")
    other = "symmetric" if sm == "upstream" else "upstream"
    other_style = f"; {other}: {s[f'length_shift_style_{other}_mean'][len_m]:+.1f}"
    finding = (
        f"Simulated judge (position bias {s['position_bias']:g}, length bias {s['length_bias']:g}, noise "
        f"{s['noise']:g}; {s['draws']} draws of {s['n_prompts']} prompts): Bradley-Terry gives the true order "
        f"in {pct(rank['exact_share'])} of draws (mean Kendall tau {rank['kendall_tau']:.2f}); the swapped game "
        f"cuts the position shift from {pos[0]:+.1f} to {pos[1]:+.1f} win-rate points, {sm} style control moves "
        f"the length shift from {length[0]:+.1f} to {length[1]:+.1f} ({len_m}{other_style}); the "
        f"{s['bootstrap_method']} {pct(level)} intervals cover the truth in {pct(cov['coverage'])} of "
        f"{cov['intervals']} (weighted by prompt: {pct(alt['coverage'])})."
    )
    lines = [
        f"Controlled checks: {', '.join(f'{k} {v}' for k, v in checks.items())}. Truth = the win rate against "
        f"{', '.join(n for n in s['true_win_rate'] if s['true_win_rate'][n] == 0.5)} that a judge without position or "
        f"length bias (same noise) gives on infinitely many prompts, computed exactly; true order "
        f"{' > '.join(s['true_order'])}.",
        f"Ranking: raw true order in {pct(rank['exact_share'])} of draws (tau {rank['kendall_tau']:.2f}); "
        f"style-controlled ({sm}) {pct(styled['exact_share'])} (tau {styled['kendall_tau']:.2f}).",
        f"Position bias ({pos_m}): game 1 only (baseline always in slot A) shifts the win rate by {pos[0]:+.1f} "
        "points; "
        f"both games {pos[1]:+.1f} (largest over models {s['position_shift_swap_largest']:.1f}).",
        "Length bias ("
        + len_m
        + "): "
        + f"raw {length[0]:+.1f} points; style-controlled "
        + ", ".join(f"{m} {s[f'length_shift_style_{m}_mean'][len_m]:+.1f}" for m in ("upstream", "symmetric"))
        + ".",
        f"Style control's cost without length bias ({cost_m}): "
        + ", ".join(f"{m} {s[f'style_cost_{m}_mean'][cost_m]:+.1f}" for m in ("upstream", "symmetric"))
        + " win-rate points against the raw rating (a contestant that is longer on average is rated at another "
        "length).",
        f"Coverage of the {pct(level)} intervals (judge without length bias, {s['rounds']} bootstrap rounds): "
        f"{s['bootstrap_method']} {pct(cov['coverage'])} of {cov['intervals']} (Wilson [{pct(clo)}, {pct(chi)}]); "
        f"weighted, resampling whole prompts, {pct(alt['coverage'])} of {alt['intervals']}.",
    ]
    return {
        "controlled_finding": finding,
        "controlled_signal": sim.check_signal(checks),
        "controlled_findings": lines,
        "controlled_checks": checks,
    }
