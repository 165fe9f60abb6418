"""Figures: the delta table as a heatmap, the aspect ranking, reward / KL / accuracy over training steps."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

REWARD_KEYS = ("reward", "rewards/margins")  # online: the reward model's score; DPO: its implicit reward margin


def plot_deltas(table: Sequence[dict], columns: Sequence[str]):
    """Rows = configurations, columns = categories + average; colour = delta vs SFT (points), text = delta [CI]."""
    import matplotlib.pyplot as plt
    import numpy as np

    labels = list(dict.fromkeys((r["aspect"], r["configuration"]) for r in table))
    cell = {(r["aspect"], r["configuration"], r["column"]): r for r in table}
    vals = np.array([[100 * cell[(a, c, col)]["delta"] for col in columns] for a, c in labels])
    lim = max(1.0, float(np.nanmax(np.abs(vals))))
    fig, ax = plt.subplots(figsize=(2.0 + 1.45 * len(columns), 0.9 + 0.42 * len(labels)))
    im = ax.imshow(vals, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    for i, (a, c) in enumerate(labels):
        for j, col in enumerate(columns):
            r = cell[(a, c, col)]
            ax.text(
                j,
                i,
                f"{100 * r['delta']:+.1f}\n[{100 * r['low']:+.0f}, {100 * r['high']:+.0f}]",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if abs(vals[i, j]) > 0.6 * lim else "black",
            )
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks(range(len(labels)), [f"{a}: {c}" for a, c in labels], fontsize=8)
    ax.set_title("Change vs the SFT policy (accuracy points, 95% CI)")
    ax.set_xlabel("evaluation category")
    fig.colorbar(im, ax=ax, fraction=0.03, label="points vs SFT")
    return fig


def plot_ranking(ranking: Sequence[dict]):
    """Each aspect's largest effect on the average (best minus worst configuration) with its 95% CI."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 0.8 + 0.55 * len(ranking)))
    names = [r["aspect"] for r in ranking][::-1]
    eff = [100 * r["effect"] for r in ranking][::-1]
    err = [
        [100 * (r["effect"] - r["low"]) for r in ranking][::-1],
        [100 * (r["high"] - r["effect"]) for r in ranking][::-1],
    ]
    ax.barh(names, eff, xerr=err, color="#4c72b0", capsize=4)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("average accuracy, best minus worst configuration (points)")
    ax.set_title("Largest effect of each aspect")
    return fig


def mean_curve(histories: Sequence[Sequence[dict]], key: str) -> list[tuple[int, float]]:
    """``key`` per step averaged over the runs (seeds) that logged it at that step."""
    by_step = defaultdict(list)
    for hist in histories:
        for h in hist:
            if key in h and "step" in h and h[key] is not None:
                by_step[int(h["step"])].append(float(h[key]))
    return sorted((s, sum(v) / len(v)) for s, v in by_step.items())


def plot_curves(runs: dict[str, Sequence[Sequence[dict]]]):
    """Three panels over training steps, one line per algorithm (mean over seeds): reward (online: the RM score
    of the sampled responses; DPO: the implicit reward margin), KL to the reference, checker accuracy."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for i, (label, hists) in enumerate(runs.items()):
        colour = f"C{i}"  # one colour per algorithm in every panel
        for ax, keys in zip(axes, (REWARD_KEYS, ("kl",), ("eval/average",))):
            for key in keys:
                pts = mean_curve(hists, key)
                if pts:
                    ax.plot(
                        [p[0] for p in pts],
                        [p[1] for p in pts],
                        marker="." if len(pts) < 12 else None,
                        color=colour,
                        label=f"{label} (implicit margin)" if key == "rewards/margins" else label,
                    )
                    break
    titles = ("Reward during training", "KL to the SFT reference", "Checker accuracy (validation prompts)")
    ylabels = (
        "reward model score (DPO: implicit margin)",
        "KL per response token (nats)",
        "accuracy, average of categories",
    )
    for ax, t, y in zip(axes, titles, ylabels):
        ax.set_title(t)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(y)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    return fig


def plot_kl_frontier(points: Sequence[dict]):
    """Change in average accuracy vs KL from the SFT policy, one point per (algorithm, seed): which algorithm buys
    more score per nat moved away from the SFT start."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    for alg in dict.fromkeys(p["algorithm"] for p in points):
        mine = [p for p in points if p["algorithm"] == alg]
        ax.scatter([p["kl"] for p in mine], [100 * p["delta_average"] for p in mine], label=alg.upper(), alpha=0.8)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("KL from the SFT policy (nats per response)")
    ax.set_ylabel("average accuracy vs SFT (points)")
    ax.set_title("Score against distance from the SFT start")
    ax.legend(fontsize=8)
    return fig
