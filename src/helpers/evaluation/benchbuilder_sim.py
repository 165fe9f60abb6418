"""BenchBuilder in a controlled world (issue #25): prompts whose criteria and separability are known, a simulated
labeler whose per-criterion judgements follow that truth with noise and a bias set by parameters, and contestants
of known skill judged by the simulated judge (``evaluation.simulated``), so that the paper's claim can be checked
where the truth is known: the prompts the labeler scores high (chosen by the *same* labeling, scoring and selection
code as the real labeler's, ``benchbuilder`` and ``benchbuilder_steps``) separate the contestants better than random
prompts of the same count.

    world = make_world(n_prompts=400, n_topics=16, seed=0)
    label = simulated_labeler(world, signal=1.0, noise=1.0, bias=0.0, seed=0)      # the labels stage function
    df, _, _ = bbs.labelled_prompts(world.prompts, label(world.prompts))             # the real notebook's join
    selected, clusters, _ = bbs.topics(df, world.emb, "kmeans", 16, 8, 5, 3.5, 4, 0)  # the real selection
    separation(world, selected.id, rounds=100)                                        # Arena-Hard's separability

**The prompts** are ``simulated``'s checkable arithmetic tasks; a task's difficulty fixes its true
**separability**, ``SimWorld.separation``: the spread of the contestants' chances of answering it correctly (too
easy: all right; too hard: all wrong; in between: the stronger ones pull away). Each topic has a typical difficulty,
so topics differ in how well they separate. A prompt's latent quality is its standardized separability with weight
``separability_link`` plus independent noise (1: quality is separability; 0: unrelated, where selecting by quality
cannot help); it meets criterion k when the latent quality (plus a little per-criterion noise) passes the
criterion's cut, and its true quality score is the number of criteria met (0-7), as in the paper. Topics are given,
so a prompt's embedding is drawn around its topic's centre (clustered by the notebook's own k-means).

**The labeler.** Per prompt and criterion a margin ``signal * (+1 if met else -1) + bias + noise * N(0, 1)``; the
criterion counts as met when the margin is above 0 (``benchbuilder.criteria_from_margins``, the yes/no labeler's
own rule). ``signal`` 0 is a labeler with no signal at all; ``bias`` > 0 says Yes too often, < 0 too rarely.

**The games** are 04's: ``SimWorld.answers`` for the contestants, two games per prompt and contestant against the
baseline (positions swapped; ``arena.pipeline.game_items``), judged by ``simulated.SimulatedJudge`` through
``arena.pipeline.game_judge`` (the verdict text parsed), then ``arena.games.battles_from_games``,
the upstream bootstrap's intervals (``baseline_board``: ``arena.bootstrap.leaderboard``'s, in closed form since every
battle involves the baseline) and ``arena.quality.separability``: separability with confidence = the share of
contestant pairs whose bootstrap intervals do not overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core.stats import percentile_interval, resample_indices
from . import benchbuilder as bb
from . import simulated as simj

N_CRITERIA = len(bb.CRITERIA)


def contestants_world(n: int = 7, skill_shift: float = 0.3) -> Any:
    """A ``simulated.SimWorld`` of ``n`` contestants whose skills are evenly spaced over the default contestants'
    range (sim-weak's 0.25 to sim-strong's 0.9) and raised by ``skill_shift`` (above 0: easy prompts are answered
    right by all of them, as today's chat models answer most chat-log prompts, so only hard ones separate them).
    Equal steps rate and length (no style differences: only correctness matters here); the middle one is the
    baseline."""
    if n < 2:
        raise ValueError(f"need at least 2 contestants (one is the baseline), got {n}")
    skills = np.linspace(0.25, 0.9, n) + skill_shift
    people = tuple(simj.SimContestant(f"sim-{i}", float(s), 0.5, 300) for i, s in enumerate(skills))
    return simj.SimWorld(people, people[n // 2].name)


@dataclass
class World:
    """A controlled prompt pool: ``prompts`` (the records the notebook's stages read: id, prompt,
    conversation_hash), ``tasks`` (id -> ``simulated.SimTask``), ``truth`` (id-indexed: topic, difficulty, sep,
    quality, c1..c7 met, true_score), ``emb`` (unit embeddings, one row per prompt) and the contestants' ``sim``."""

    prompts: list[dict]
    tasks: dict[str, Any]
    truth: pd.DataFrame
    emb: np.ndarray
    sim: Any = None
    seed: int = 0


def make_world(
    n_prompts: int = 400, n_topics: int = 16, separability_link: float = 1.0, seed: int = 0, sim: Any = None
) -> World:
    """A pool of ``n_prompts`` simulated tasks in ``n_topics`` topics with known separability, criteria and score.

    Topic t's typical difficulty level is spread evenly over the levels; a prompt's level is its topic's plus
    N(0, 0.8), rounded and clipped. ``quality = link * z(sep) + sqrt(1 - link^2) * N(0, 1)``; criterion k is met
    when ``quality + 0.5 * N(0, 1)`` passes the k-th of 7 cuts evenly spaced in [-1, 1].
    """
    if n_prompts < 1 or n_topics < 1:
        raise ValueError(f"need at least one prompt and one topic, got {n_prompts} prompts, {n_topics} topics")
    if not 0 <= separability_link <= 1:
        raise ValueError(f"separability_link must be in [0, 1], got {separability_link}")
    sim = sim or contestants_world()
    rng = np.random.default_rng(seed)
    levels = len(simj.DIFFICULTIES)
    topic = rng.permutation(np.arange(n_prompts) % n_topics)
    centre = np.linspace(0, levels - 1, n_topics) if n_topics > 1 else np.full(1, (levels - 1) / 2)
    level = np.clip(np.rint(centre[topic] + 0.8 * rng.normal(size=n_prompts)), 0, levels - 1).astype(int)
    pool = simj.make_tasks(levels * n_prompts, seed)  # task k has level k % levels: n_prompts tasks per level
    tasks = [pool[levels * i + lv] for i, lv in enumerate(level)]
    sep_of = np.array([sim.separation(d) for d in simj.DIFFICULTIES])
    sep = sep_of[level]
    z = (sep - sep_of.mean()) / (sep_of.std() or 1.0)
    quality = separability_link * z + np.sqrt(1 - separability_link**2) * rng.normal(size=n_prompts)
    cuts = np.linspace(-1.0, 1.0, N_CRITERIA)  # some criteria are met more often than others
    met = (quality[:, None] + 0.5 * rng.normal(size=(n_prompts, N_CRITERIA))) > cuts[None, :]
    dim = 16
    emb = rng.normal(size=(n_topics, dim))[topic] + 0.35 * rng.normal(size=(n_prompts, dim))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    ids = [t.id for t in tasks]
    prompts = [
        {"id": t.id, "conversation_hash": f"sim-{seed}-{i}", "prompt": t.query, "language": "English"}
        for i, t in enumerate(tasks)
    ]
    truth = pd.DataFrame(
        {
            "topic": topic,
            "difficulty": [t.difficulty for t in tasks],
            "sep": sep,
            "quality": quality,
            **{f"c{k + 1}": met[:, k] for k in range(N_CRITERIA)},
            "true_score": met.sum(1),
        },
        index=pd.Index(ids, name="id"),
    )
    return World(prompts, dict(zip(ids, tasks)), truth, emb, sim, seed)


# --------------------------------------------------------------------------- the simulated labeler
def label_margins(
    world: World, ids: Sequence[str], signal: float = 1.0, noise: float = 1.0, bias: float = 0.0, seed: int = 0
) -> np.ndarray:
    """Per-criterion margins (one row per id): ``signal * (+1 met / -1 not) + bias + noise * N(0, 1)``. Each
    prompt's noise is drawn from its own seed (its id), so a margin never depends on batching or order."""
    met = world.truth.loc[list(ids), [f"c{k + 1}" for k in range(N_CRITERIA)]].to_numpy(bool)
    draws = (
        np.stack([np.random.default_rng([seed, int(pid[:12], 16)]).normal(size=N_CRITERIA) for pid in ids])
        if len(ids)
        else np.zeros((0, N_CRITERIA))
    )
    return signal * np.where(met, 1.0, -1.0) + bias + noise * draws


def simulated_labeler(world: World, signal: float = 1.0, noise: float = 1.0, bias: float = 0.0, seed: int = 0):
    """The labels stage function of a simulated labeler: records ``{id, reply, criteria}`` exactly as the real
    yes/no labeler writes them (``benchbuilder_steps.labeler``), the criteria by ``criteria_from_margins``."""

    def label(batch: Sequence[dict]) -> list[dict]:
        ids = [p["id"] for p in batch]
        margins = label_margins(world, ids, signal, noise, bias, seed)
        return [
            {
                "id": pid,
                "reply": "margins " + " ".join(f"{x:+.2f}" for x in row),
                "criteria": bb.criteria_from_margins(row, 0.0),
            }
            for pid, row in zip(ids, margins)
        ]

    return label


def labeler_agreement(df: pd.DataFrame, world: World, labels: Sequence[dict]) -> dict[str, float]:
    """The labeler against the truth: Spearman of its score with the true score, per-criterion accuracy and
    Cohen's kappa (pooled over criteria), and its mean score minus the true mean (its bias in criteria)."""
    from scipy.stats import spearmanr
    from sklearn.metrics import cohen_kappa_score

    scored = df[df.score.notna()]
    truth = world.truth.loc[scored.id]
    rho = float(spearmanr(scored.score, truth.true_score).statistic) if scored.score.nunique() > 1 else float("nan")
    by_id = {lab["id"]: set(lab["criteria"] or []) for lab in labels}
    said = np.array([[k + 1 in by_id[i] for k in range(N_CRITERIA)] for i in scored.id], dtype=bool).ravel()
    met = truth[[f"c{k + 1}" for k in range(N_CRITERIA)]].to_numpy(bool).ravel()
    kappa = float(cohen_kappa_score(met, said)) if len(set(met)) > 1 and len(set(said)) > 1 else 0.0
    return {
        "spearman": rho,
        "criterion_accuracy": float((said == met).mean()) if len(met) else float("nan"),
        "kappa": kappa,
        "score_bias": float(scored.score.mean() - truth.true_score.mean()),
    }


# --------------------------------------------------------------------------- contestants, games, separability
def baseline_board(
    battles: pd.DataFrame, baseline: str, rounds: int = 100, level: float = 0.9, seed: int = 0
) -> pd.DataFrame:
    """Arena-Hard's leaderboard (win rate against the baseline with its upstream bootstrap interval at ``level``,
    v2's 0.9) without refits, for battles that all involve the baseline, as Arena-Hard's do.

    Then the Bradley-Terry likelihood splits by model: a model's fitted win rate against the baseline is its
    weighted mean score (strong verdicts weigh 3, a tie scores 1/2), and each round of the upstream bootstrap
    (strong verdicts expanded to 3 rows by ``arena.bootstrap.expand_strong``, rows resampled within each model's
    battles) refits to the mean of its resample. Percentile intervals follow the rating's monotone transform, so
    which intervals overlap is what ``arena.bootstrap.leaderboard`` finds, up to Monte Carlo noise (tested), for
    microseconds instead of ``rounds`` logistic fits. The baseline's interval is its fixed 0.5, as there."""
    from .arena.bootstrap import expand_strong

    if not ((battles.model_a == baseline) ^ (battles.model_b == baseline)).all():
        raise ValueError(f"every battle must have the baseline {baseline!r} on exactly one side")
    rng = np.random.default_rng(seed)
    rows = [{"model": baseline, "win_rate": 0.5, "ci_low": 0.5, "ci_high": 0.5}]
    exp = expand_strong(battles)
    first = (exp.model_a == baseline).to_numpy()
    model = np.where(first, exp.model_b, exp.model_a)
    score = np.where(first, 1.0 - exp.score_a.to_numpy(float), exp.score_a.to_numpy(float))
    for m in sorted(set(model)):
        s = score[model == m]
        lo, hi = percentile_interval(s[resample_indices(len(s), rounds, rng)].mean(axis=1), level)
        rows.append({"model": m, "win_rate": float(s.mean()), "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def separation(
    world: World, ids: Sequence[str], rounds: int = 100, judge_noise: float = 0.1, seed: int = 0
) -> dict[str, Any]:
    """Arena-Hard's separability with confidence of ``world.sim``'s contestants on the prompts ``ids``, by 04's code:
    answers, two swapped games per prompt and contestant against the baseline (``arena.pipeline.game_items``), the
    simulated judge's verdict text parsed (``game_judge``), battles (``battles_from_games``), the bootstrap board
    (``baseline_board``: ``arena.bootstrap.leaderboard``'s intervals in closed form) and the share of contestant
    pairs whose intervals do not overlap (``arena.quality.separability``). Also the board's agreement with the true
    order (Kendall tau against skill; ``contestants_world``'s contestants differ in nothing else) and the share of
    games with a verdict."""
    from .arena.games import battles_from_games
    from .arena.pipeline import game_items, game_judge
    from .arena.quality import separability

    ids = list(ids)
    if not ids:
        return {"prompts": 0, "separability": float("nan"), "kendall_true_order": float("nan")}
    sim, tasks = world.sim, [world.tasks[i] for i in ids]
    prompts, answers = simj.arena_prompts(tasks), sim.answers(tasks, seed)
    judge = simj.SimulatedJudge(noise=judge_noise, seed=seed)
    items, msgs = game_items(
        {n: {} for n in sim.names}, sim.baseline, prompts, answers, judge.name, "", "generate", 0, "arena-hard"
    )
    judge_games, _ = game_judge("generate", msgs, lambda: judge, judge.name)
    games = judge_games(items)
    battles, _ = battles_from_games(games, sim.baseline)
    board = baseline_board(battles, sim.baseline, rounds=rounds, seed=seed)
    skill = {c.name: c.skill for c in sim.contestants}  # the true order: they differ in nothing else
    tau = simj.order_agreement(dict(zip(board.model, board.win_rate)), skill)["kendall_tau"]
    return {
        "prompts": len(ids),
        **separability(board),
        "kendall_true_order": tau,
        "verdicts": float(np.mean([g["verdict"] is not None for g in games])),
    }


# --------------------------------------------------------------------------- the controlled experiment
@dataclass(frozen=True)
class SimSettings:
    """The controlled setting's parameters (the notebook's ``sim_*`` parameters, without the prefix)."""

    repeats: int = 10
    prompts: int = 400
    topics: int = 16
    separability_link: float = 1.0
    label_signal: float = 1.0
    label_noise: float = 1.0
    label_bias: float = 0.0
    contestants: int = 7
    skill_shift: float = 0.3
    judge_noise: float = 0.1
    min_score: float = 5
    min_cluster_mean: float = 3.5
    per_cluster: int = 3
    bootstrap_rounds: int = 100
    seed: int = 0

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SimSettings:
        """From a notebook's globals: ``sim_<name>`` for every field (``seed`` from ``seed``)."""
        return cls(
            **{f: params[f"sim_{f}"] for f in cls.__dataclass_fields__ if f != "seed"}, seed=int(params.get("seed", 0))
        )


def one_world(s: SimSettings, repeat: int, signal: float) -> dict[str, Any]:
    """One simulated world: label it (labeler with ``signal``), select by BenchBuilder's thresholds and per-cluster
    sampling (the notebook's own join, clustering and selection code), draw as many random prompts, and measure
    both sets' separability with confidence; plus the labeler's agreement with the truth."""
    from . import benchbuilder_steps as bbs

    seed = s.seed * 1000 + repeat
    world = make_world(
        s.prompts,
        s.topics,
        separability_link=s.separability_link,
        seed=seed,
        sim=contestants_world(s.contestants, s.skill_shift),
    )
    labels = simulated_labeler(world, signal, s.label_noise, s.label_bias, seed)(world.prompts)
    df, _, _ = bbs.labelled_prompts(world.prompts, labels)
    selected, clusters, _ = bbs.topics(
        df, world.emb, "kmeans", s.topics, 8, s.min_score, s.min_cluster_mean, s.per_cluster, seed
    )
    rand = np.random.default_rng([seed, 1]).choice(df.id.to_numpy(), size=len(selected), replace=False)
    sel = separation(world, selected.id, s.bootstrap_rounds, s.judge_noise, seed) if len(selected) else {}
    rnd = separation(world, rand, s.bootstrap_rounds, s.judge_noise, seed) if len(selected) else {}
    return {
        "repeat": repeat,
        "signal": signal,
        "selected": len(selected),
        "topics_kept": int(clusters.cluster_kept.sum()),
        **labeler_agreement(df, world, labels),
        "sep_selected": sel.get("separability", float("nan")),
        "sep_random": rnd.get("separability", float("nan")),
        "order_selected": sel.get("kendall_true_order", float("nan")),
        "order_random": rnd.get("kendall_true_order", float("nan")),
        "true_sep_selected": float(world.truth.loc[selected.id, "sep"].mean()) if len(selected) else float("nan"),
        "true_sep_random": float(world.truth.loc[rand, "sep"].mean()) if len(selected) else float("nan"),
    }


def controlled_runs(s: SimSettings, control: bool = True) -> pd.DataFrame:
    """One row per (labeler, world): the labeler as set (``label_signal``) and, with ``control``, a noise-only
    labeler (signal 0, same noise and bias) on the same worlds."""
    import sklearn.cluster  # noqa: F401  (loads its OpenMP runtime first: threadpoolctl limits loaded libraries only)
    from threadpoolctl import threadpool_limits

    signals = [("as set", s.label_signal)] + ([("noise only", 0.0)] if control else [])
    with threadpool_limits(1):  # tiny k-means: one thread is much faster than OpenMP's many on a busy machine
        rows = [{"labeler": name, **one_world(s, r, sig)} for name, sig in signals for r in range(s.repeats)]
    return pd.DataFrame(rows)


def paired_difference(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> dict[str, float]:
    """Mean of ``a - b`` over the pairs where both are numbers, with a t interval (NaN below 2 pairs)."""
    from scipy import stats

    d = np.asarray(a, float) - np.asarray(b, float)
    d = d[np.isfinite(d)]
    if len(d) < 2:
        return {
            "n": len(d),
            "mean": float(d.mean()) if len(d) else float("nan"),
            "low": float("nan"),
            "high": float("nan"),
            "wins": int((d > 0).sum()),
        }
    if np.allclose(d, d[0]):
        lo = hi = float(d[0])
    else:
        lo, hi = stats.ttest_1samp(d, 0.0).confidence_interval(level)
    return {"n": len(d), "mean": float(d.mean()), "low": float(lo), "high": float(hi), "wins": int((d > 0).sum())}


def summarize(runs: pd.DataFrame) -> dict[str, Any]:
    """Per labeler: mean separability of the selected and the random prompts, their paired difference with a 95%
    t interval over the worlds, the same for the prompts' true separability, and the labeler's agreement."""
    out = {}
    for name, g in runs.groupby("labeler", sort=False):
        out[name] = {
            "worlds": len(g),
            "worlds_with_selection": int((g.selected > 0).sum()),
            "selected_mean": float(g.selected.mean()),
            "sep_selected": float(g.sep_selected.mean()),
            "sep_random": float(g.sep_random.mean()),
            "sep_gain": paired_difference(g.sep_selected, g.sep_random),
            "true_sep_gain": paired_difference(g.true_sep_selected, g.true_sep_random),
            "labeler_spearman": float(g.spearman.mean()),
            "labeler_kappa": float(g.kappa.mean()),
            "labeler_accuracy": float(g.criterion_accuracy.mean()),
            "score_bias": float(g.score_bias.mean()),
        }
    return out


def gain_signal(gain: dict[str, float]) -> str:
    """The word for a paired gain: better / no better / worse than random, or untestable below 2 worlds."""
    if gain["n"] < 2 or gain["low"] != gain["low"]:
        return "untestable"
    if gain["low"] > 0:
        return "selection separates better than random"
    if gain["high"] < 0:
        return "selection separates worse than random"
    return "selection no better than random"


def _gain_text(g: dict[str, float]) -> str:
    return (
        f"{g['mean']:+.2f} [{g['low']:+.2f}, {g['high']:+.2f}] (better in {g['wins']}/{g['n']} worlds)"
        if g["n"]
        else "not measured (no prompt selected)"
    )


def controlled_findings(m: dict[str, Any], *, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Finding, signal and detail lines of the controlled setting from ``m["controlled"]`` (``summarize``'s
    result): does the labeler's selection separate the contestants better than random prompts of the same count,
    and does a noise-only labeler's not? ``settings`` (the world's parameters) are quoted in the details."""
    c = m.get("controlled") or {}
    main, ctrl = c.get("as set"), c.get("noise only")
    if not main:
        return {"finding": "controlled setting not run (sim_repeats 0)", "signal": "not run", "findings": []}
    signal = gain_signal(main["sep_gain"])
    if signal == "untestable":
        finding = (
            f"untestable here: the selection kept prompts in {main['worlds_with_selection']} of "
            f"{main['worlds']} simulated worlds (at least 2 needed; lower sim_min_score / sim_min_cluster_mean)"
        )
    else:
        finding = (
            f"simulated labeler (Spearman {main['labeler_spearman']:.2f} with the true scores): its "
            f"{main['selected_mean']:.0f} selected prompts separate {main['sep_selected']:.0%} of contestant "
            f"pairs vs {main['sep_random']:.0%} for random prompts, gain {_gain_text(main['sep_gain'])}"
            + (f"; noise-only labeler: gain {_gain_text(ctrl['sep_gain'])}" if ctrl else "")
        )
    lines = []
    for name, s in c.items():
        lines.append(
            f"Controlled, {name} labeler over {s['worlds']} simulated worlds: agreement with the truth "
            f"Spearman {s['labeler_spearman']:.2f}, per-criterion accuracy {s['labeler_accuracy']:.0%} "
            f"(kappa {s['labeler_kappa']:.2f}), score bias {s['score_bias']:+.2f} criteria; "
            f"{s['selected_mean']:.1f} prompts selected per world; separability with confidence "
            f"{s['sep_selected']:.0%} selected vs {s['sep_random']:.0%} random, paired gain "
            f"{_gain_text(s['sep_gain'])}; true separability gain {_gain_text(s['true_sep_gain'])}: "
            f"{gain_signal(s['sep_gain'])}."
        )
    if settings:
        lines.append("Controlled world: " + ", ".join(f"{k} {v}" for k, v in settings.items()) + ".")
    return {"finding": finding, "signal": signal, "findings": lines}


def controlled_metrics(summary: dict[str, Any], settings: SimSettings | None = None) -> dict[str, Any]:
    """The controlled setting's metrics.json keys: ``controlled`` (``summarize``'s result), ``controlled_finding``,
    ``controlled_signal`` and ``controlled_findings`` (``controlled_findings``, the settings quoted)."""
    from dataclasses import asdict

    c = controlled_findings({"controlled": summary}, settings=asdict(settings) if settings is not None else None)
    return {
        "controlled": summary,
        "controlled_finding": c["finding"],
        "controlled_signal": c["signal"],
        "controlled_findings": c["findings"],
    }
