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


def sim_games(judge: Any, world: sim.SimWorld, prompts: Sequence[dict], answers: dict,
              judge_prompt: str = "short") -> list[dict]:
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


def draw(world: sim.SimWorld, position_bias: float, length_bias: float, noise: float, n_prompts: int, seed: int,
         rounds: int = 100, level: float = 0.9, bootstrap_method: str = "upstream", unit: str = "battle",
         style_method: str = "upstream") -> dict[str, Any]:
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
    judges = {"full": sim.SimulatedJudge(position_bias, length_bias, noise, seed),
              "no_length": sim.SimulatedJudge(position_bias, 0.0, noise, seed),
              "clean": sim.SimulatedJudge(0.0, 0.0, noise, seed)}
    battles = {k: battles_from_games(sim_games(j, world, prompts, answers), world.baseline)[0] for k, j in judges.items()}
    wr = lambda k, style=None: win_rates(battles[k], answers, world.baseline, style)  # noqa: E731
    game1 = {k: b[b.game == 1] for k, b in battles.items()}  # no swap: the baseline always in slot A
    first = lambda k: win_rates(game1[k], answers, world.baseline)  # noqa: E731
    diff = lambda a, b: {m: 100 * (a[m] - b[m]) for m in a if m != world.baseline}  # noqa: E731
    raw = {k: wr(k) for k in judges}
    styled = {sm: {k: wr(k, sm) for k in ("full", "no_length", "clean")} for sm in STYLE_METHODS}
    boards = {"configured": leaderboard(battles["no_length"], world.baseline, rounds, seed, unit, level=level,
                                        method=bootstrap_method),
              "weighted_prompt": leaderboard(battles["no_length"], world.baseline, rounds, seed, "prompt", level=level,
                                             method="weighted")}
    return {
        "win_rate": raw["full"], **{f"win_rate_style_{sm}": s["full"] for sm, s in styled.items()},
        "win_rate_clean_style": styled[style_method]["clean"],
        "position_shift_no_swap": diff(first("no_length"), first("clean")),
        "position_shift_swap": diff(raw["no_length"], raw["clean"]),
        "length_shift_raw": diff(raw["full"], raw["no_length"]),
        **{f"length_shift_style_{sm}": diff(s["full"], s["no_length"]) for sm, s in styled.items()},
        **{f"style_cost_{sm}": diff(s["clean"], raw["clean"]) for sm, s in styled.items()},
        **{f"ci_{name}": {r.model: (r.win_rate_low, r.win_rate_high) for r in b.itertuples() if r.model != world.baseline}
           for name, b in boards.items()},
    }


def mean_shift(draws: Sequence[dict], key: str) -> dict[str, float]:
    """Per model, the mean over draws of a shift (win-rate points)."""
    models = list(dict.fromkeys(m for d in draws for m in d[key]))
    return {m: float(np.mean([d[key][m] for d in draws if m in d[key]])) for m in models}


def summarise(draws: Sequence[dict], world: sim.SimWorld, noise: float) -> dict[str, Any]:
    """The controlled metrics over draws: ranking recovery (raw and style-controlled), the bias shifts with and
    without the corrections, style control's cost, and the coverage of the intervals against the exact truth."""
    from .style import STYLE_METHODS
    truth, order_truth = world.true_win_rates(noise), world.true_win_rates(0.0)
    largest = lambda d: float(max(abs(v) for v in d.values())) if d else float("nan")  # noqa: E731
    out: dict[str, Any] = {"draws": len(draws), "true_order": world.true_order(),
                           "true_win_rate": {m: round(v, 4) for m, v in truth.items()}}
    for key in ["win_rate", *(f"win_rate_style_{sm}" for sm in STYLE_METHODS), "win_rate_clean_style"]:
        agree = [sim.order_agreement(d[key], order_truth) for d in draws]
        out[f"ranking_{key}"] = {"kendall_tau": float(np.mean([a["kendall_tau"] for a in agree])),
                                 "exact_share": float(np.mean([a["exact_order"] for a in agree]))}
    for key in ["position_shift_no_swap", "position_shift_swap", "length_shift_raw",
                *(f"length_shift_style_{sm}" for sm in STYLE_METHODS), *(f"style_cost_{sm}" for sm in STYLE_METHODS)]:
        shift = mean_shift(draws, key)
        out[f"{key}_mean"], out[f"{key}_largest"] = {m: round(v, 2) for m, v in shift.items()}, largest(shift)
    for key in ("ci_configured", "ci_weighted_prompt"):
        hits = [lo <= truth[m] <= hi for d in draws for m, (lo, hi) in d[key].items()]
        out[f"coverage_{key[3:]}"] = {"coverage": float(np.mean(hits)) if hits else float("nan"), "intervals": len(hits)}
    return out
