"""Figures of 11_culturalteaming: the verifier's confidence in the right option over revisions, and the target
panel's accuracy on the collected questions."""

from __future__ import annotations

import matplotlib.pyplot as plt

LEVEL_COLORS = {"verifier-only": "tab:blue", "ai-assisted": "tab:orange"}


def plot_revisions(sessions):
    """Per finalized session, the verifier's probability of the correct option on each verified draft."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for s in sessions:
        if not s.final:
            continue
        pts = [(v["draft_index"], v["probs"][s.drafts[v["draft_index"]]["answer"]]) for v in s.verdicts]
        if pts:
            xs, ys = zip(*pts)
            ax.plot(xs, ys, marker="o", color=LEVEL_COLORS.get(s.assistance), alpha=0.8, label=s.assistance)
            ax.annotate(s.culture, (xs[-1], ys[-1]), fontsize=7, xytext=(3, 0), textcoords="offset points")
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    ax.legend(uniq.values(), uniq.keys(), title="assistance")
    ax.axhline(0.25, ls=":", color="grey")
    ax.set(
        xlabel="draft (0 = first, then each revision)",
        ylabel="verifier P(correct option)",
        ylim=(0, 1),
        title="Verifier confidence in the right answer over revisions",
    )
    fig.tight_layout()
    return fig


def plot_target_accuracy(table):
    """Accuracy per target with 95% Wilson intervals (a table from ``analysis.accuracy_by(rows, 'target')``)."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = range(len(table))
    ax.bar(x, table.accuracy, color="tab:green", alpha=0.8)
    ax.errorbar(
        x,
        table.accuracy,
        yerr=[table.accuracy - table.low, table.high - table.accuracy],
        fmt="none",
        color="black",
        capsize=4,
    )
    ax.axhline(0.25, ls=":", color="grey", label="chance (4 options)")
    ax.set_xticks(list(x), table.target, rotation=15)
    ax.set(ylabel="accuracy on collected questions", ylim=(0, 1), title="Target panel on the finalized questions")
    ax.legend()
    fig.tight_layout()
    return fig
