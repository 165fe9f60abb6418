"""The notebook's figures (05_cdr); each returns (figure, caption computed from the data it shows)."""

from __future__ import annotations

import numpy as np

from .verdicts import MAX_TIED_SHARE


def gap_vs_headline_figure(pairs, rated, corr: dict, gap_metric: str):
    """Each numbered point one (strong, weak) pair: its gap against its ratio's RewardBench-style headline, the
    least-squares line over the pairs with a usable reward, degenerate rewards as grey crosses."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.8))
    ax.axhline(50, color="grey", lw=1, ls="--", label="chance (50)")
    ax.scatter(rated.gap, rated.headline, color="tab:blue", zorder=3)
    bad = pairs[pairs.reward_degenerate]
    if len(bad):
        ax.scatter(
            bad.gap,
            bad.headline,
            color="grey",
            marker="x",
            zorder=3,
            label=f"reward degenerate (>= {MAX_TIED_SHARE:.0%} of pairs tied): left out",
        )
    for k, (_, r) in enumerate(pairs.iterrows(), start=1):  # numbered points, names in the legend box (no overlaps)
        ax.annotate(str(k), (r.gap, r.headline), xytext=(4, 4), textcoords="offset points", fontsize=8)
    key = "\n".join(f"{k}: {r.strong[:22]} / {r.weak[:22]}" for k, (_, r) in enumerate(pairs.iterrows(), start=1))
    ax.text(1.02, 1.0, key, transform=ax.transAxes, va="top", fontsize=8, family="monospace")
    if corr["pearson"] is not None:
        b, a = np.polyfit(rated.gap, rated.headline, 1)
        xs = np.linspace(pairs.gap.min(), pairs.gap.max(), 10)
        ax.plot(xs, a + b * xs, "k-", lw=1, label="least-squares line")
        title = (
            f"Pearson r = {corr['pearson']:.2f} [{corr['pearson_low']:.2f}, {corr['pearson_high']:.2f}] over "
            f"{corr['n']} pairs"
        )
    else:
        title = f"{corr['n']} pairs: too few (or constant) for a correlation"
    ax.set(
        xlabel=f"performance gap, strong - weak ({gap_metric})",
        ylabel="RewardBench-style headline of the ratio (%)",
        title=title,
    )
    ax.legend(loc="lower right", fontsize=8)
    caption = (
        f"Each numbered point is one (strong, weak) pair of the zoo (names on the right): x its gap in {gap_metric}, "
        "y the RewardBench-style headline of its density-ratio reward; the dashed line is chance; grey crosses: "
        f"pairs whose reward ties at least {MAX_TIED_SHARE:.0%} of the pairs, left out of the fit."
    )
    return fig, caption
