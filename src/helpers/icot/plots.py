"""Figures: validation accuracy and removed CoT tokens over training; test accuracy with CIs.

fig = plot_training({"stepwise": history, "nocot": ..., "cot": ...}, title="mult:3")
fig = plot_accuracy(results_table)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt

METHOD_LABELS = {"stepwise": "stepwise internalization", "nocot": "no CoT (trained without)", "cot": "explicit CoT"}
METHOD_COLORS = {"stepwise": "tab:blue", "nocot": "tab:orange", "cot": "tab:green"}


def plot_training(histories: Mapping[str, Sequence[dict]], title: str = ""):
    """Top: validation accuracy (each model decoding as it was trained at that step). Bottom: CoT tokens
    the schedule removes (stepwise) and CoT tokens the models actually write on the validation set."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True)
    for method, rows in histories.items():
        rows = [r for r in rows if r.get("valid_accuracy") is not None]
        if not rows:
            continue
        steps = [r["step"] for r in rows]
        color = METHOD_COLORS.get(method)
        top.plot(
            steps, [r["valid_accuracy"] for r in rows], marker=".", color=color, label=METHOD_LABELS.get(method, method)
        )
        bottom.plot(
            steps,
            [r["valid_cot_tokens"] for r in rows],
            ls="--",
            color=color,
            label=f"{METHOD_LABELS.get(method, method)}: CoT tokens written",
        )
        if method == "stepwise":
            bottom.plot(
                steps,
                [r["mean_removed_tokens"] for r in rows],
                color=color,
                lw=2,
                label="stepwise: CoT tokens removed (training mean)",
            )
    top.set(ylabel="validation accuracy", ylim=(-0.03, 1.03), title=f"{title}: validation accuracy over training")
    top.legend(loc="best", fontsize=8)
    bottom.set(
        xlabel="training step", ylabel="CoT tokens", title="CoT tokens removed (training) and written (validation)"
    )
    bottom.legend(loc="best", fontsize=8)
    return fig


def plot_accuracy(rows: Sequence[dict]):
    """Test accuracy per task and method with 95% Wilson CIs (rows: task, method, accuracy, ci_low, ci_high; with
    several training seeds the bar is pooled over them and ``seed_accuracies`` are drawn as dots)."""
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    width = 0.8 / max(len(methods), 1)
    fig, ax = plt.subplots(figsize=(max(5, 2 + 1.6 * len(tasks)), 4))
    for j, method in enumerate(methods):
        xs, ys, err = [], [], [[], []]
        for i, task in enumerate(tasks):
            r = next((r for r in rows if r["task"] == task and r["method"] == method), None)
            if r is None:
                continue
            xs.append(i + (j - (len(methods) - 1) / 2) * width)
            ys.append(r["accuracy"])
            err[0].append(r["accuracy"] - r["ci_low"])
            err[1].append(r["ci_high"] - r["accuracy"])
        bars = ax.bar(
            xs,
            ys,
            width,
            yerr=err,
            capsize=3,
            color=METHOD_COLORS.get(method),
            label=METHOD_LABELS.get(method, method) + (" (CoT at inference)" if method == "cot" else ""),
        )
        ax.bar_label(bars, labels=[f"{y:.2f}" for y in ys], padding=6, fontsize=8)
        for xpos, task in zip(xs, [t for t in tasks if any(r["task"] == t and r["method"] == method for r in rows)]):
            seeds = next(r for r in rows if r["task"] == task and r["method"] == method).get("seed_accuracies") or []
            if len(seeds) > 1:  # one dot per training seed
                ax.scatter([xpos] * len(seeds), seeds, s=10, color="black", zorder=3)
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set(
        ylim=(0, 1.05),
        xlabel="task",
        ylabel="test accuracy (95% Wilson CI)",
        title="Test accuracy: stepwise internalization vs. the two baselines",
    )
    ax.legend(fontsize=8)
    return fig


def accuracy_caption(table) -> str:
    """The test-accuracy figure's caption: the highest bar (ties named, in a fixed order) and the lowest."""
    tops = table[table.accuracy == table.accuracy.max()].sort_values(["task", "method"])
    best = tops.iloc[0]
    return (
        f"test accuracy per task and method with 95% Wilson intervals ({int(table.n.iloc[0])} test examples per bar); "
        f"the highest is {METHOD_LABELS[best.method]} on {best.task} at {best.accuracy:.0%}"
        + (f" (tied with {len(tops) - 1} other bar(s))" if len(tops) > 1 else "")
        + f", the lowest {table.accuracy.min():.0%}."
    )


def training_caption(task: str, hist: Mapping[str, Sequence[dict]]) -> str:
    """The training figure's caption: when removal began, when the stepwise model stopped writing CoT, and the final
    validation accuracies of the three methods."""
    sw = [r for r in hist["stepwise"] if r.get("valid_accuracy") is not None]

    def removing(r):
        return r["scheduled_removed"] is None or r["scheduled_removed"] > 0

    start = next((r for r in sw if removing(r)), None)
    before = max((r for r in sw if not removing(r)), key=lambda r: r["step"], default=None)
    gone = next((r for r in sw if r["valid_cot_tokens"] == 0 and removing(r)), None)
    return (
        f"{task}: top, validation accuracy of each model decoding as it was trained at that step (stepwise "
        f"and explicit CoT are one run until removal starts); bottom, CoT tokens removed by the schedule and "
        f"written by the models. "
        + (
            f"Removal began after step {before['step']} (validation accuracy {before['valid_accuracy']:.0%} then); "
            if start and before
            else "The schedule removed no token in this budget; "
            if not start
            else ""
        )
        + (
            f"the stepwise model stopped writing CoT by step {gone['step']} and ended at {sw[-1]['valid_accuracy']:.0%}"
            if gone
            else f"it still wrote {sw[-1]['valid_cot_tokens']:.1f} CoT tokens at the end "
            f"({sw[-1]['valid_accuracy']:.0%})"
        )
        + f", against {hist['nocot'][-1].get('valid_accuracy', 0):.0%} for no-CoT training and "
        f"{hist['cot'][-1].get('valid_accuracy', 0):.0%} for explicit CoT."
    )


def _position_label(segment: str, index: int) -> str:
    return {"cot": f"c{index + 1}", "eos": "<eos>"}.get(segment, "####" if index == 0 else f"a{index}")


def plot_positions(frame, title: str = ""):
    """Teacher-forced token accuracy per target position (CoT tokens c1.., the closing <eos>, #### and the answer
    digits a1.., least significant first), one line per method (``frame``: method, segment, index, accuracy)."""
    order = {"cot": 0, "eos": 1, "answer": 2}
    cats = sorted({(r.segment, int(r.index)) for r in frame.itertuples()}, key=lambda c: (order[c[0]], c[1]))
    x = {c: i for i, c in enumerate(cats)}
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(cats) + 2), 3.8))
    for method, rows in frame.groupby("method", sort=False):
        pts = sorted((x[(r.segment, int(r.index))], r.accuracy) for r in rows.itertuples())
        ax.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            marker="o",
            ms=3,
            color=METHOD_COLORS.get(method),
            label=METHOD_LABELS.get(method, method),
        )
    ax.set_xticks(range(len(cats)), [_position_label(*c) for c in cats], rotation=90, fontsize=7)
    ax.set(
        ylim=(-0.03, 1.03),
        xlabel="target position (CoT c1.., <eos>, ####, answer digits a1.. least significant first)",
        ylabel="token accuracy (teacher-forced)",
        title=f"{title}: token accuracy per position (test set)",
    )
    ax.legend(fontsize=8)
    return fig


def positions_caption(frame, task: str) -> str:
    """The per-position figure's caption: each no-CoT-at-inference method's weakest answer digit."""
    parts = []
    for method in ("stepwise", "nocot", "cot"):
        rows = frame[(frame.method == method) & (frame.segment == "answer") & (frame["index"] > 0)]
        if len(rows):
            w = rows.loc[rows.accuracy.idxmin()]
            parts.append(
                f"{METHOD_LABELS[method]}: weakest answer digit a{int(w['index'])} at {w.accuracy:.0%}, "
                f"mean over answer digits {rows.accuracy.mean():.0%}"
            )
    return (
        f"{task}: teacher-forced token accuracy per target position on the test set (each model given the true "
        f"prefix, averaged over training seeds); " + "; ".join(parts) + "."
    )
