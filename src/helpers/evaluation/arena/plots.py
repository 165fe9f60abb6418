"""The notebook's figures (04_arena_hard); each returns (figure, caption computed from the data it shows)."""

from __future__ import annotations

from typing import Any

import numpy as np


def judge_reliability_figure(gdf, consistency: dict[str, Any]):
    """Left: verdict labels per game position; right: two-game consistency and position bias."""
    import matplotlib.pyplot as plt

    from ...core.stats import pct
    from .games import VERDICTS

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.15, 1]})
    labels = [*VERDICTS, "unparsed"]
    counts = (
        gdf.assign(verdict=gdf.verdict.fillna("unparsed"))
        .groupby(["game", "verdict"])
        .size()
        .unstack(fill_value=0)
        .reindex(index=[1, 2], columns=labels, fill_value=0)
    )
    counts.index = ["game 1\n(baseline shown as A)", "game 2\n(baseline shown as B)"]
    colours = [*plt.get_cmap("RdBu")(np.linspace(0.1, 0.9, len(VERDICTS))), "lightgrey"]
    counts.plot.bar(stacked=True, ax=axes[0], color=colours, width=0.55, rot=0)
    axes[0].legend(title="verdict label", bbox_to_anchor=(1.01, 1), loc="upper left")  # outside the bars
    axes[0].set(title="Verdict labels by game position", xlabel="game", ylabel="games (count)")
    n_pairs = consistency["pairs_with_both_verdicts"]
    rates = {
        "two games agree": consistency["consistent_rate"],
        "first slot won both": consistency["first_position_bias"],
        "second slot won both": consistency["second_position_bias"],
    }
    values = [0.0 if v != v else 100 * v for v in rates.values()]
    bars = axes[1].bar(list(rates), values, color=["tab:green", "tab:red", "tab:orange"], width=0.55)
    for bar, v in zip(bars, rates.values()):
        axes[1].annotate(
            pct(v),
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            xytext=(0, 2),
            textcoords="offset points",
        )
    axes[1].set(
        ylim=(0, 110),
        title=f"Two-game consistency (n={n_pairs} prompt pairs)",
        xlabel="position check",
        ylabel="share of prompt pairs (%)",
    )
    n_unparsed = int(gdf.verdict.isna().sum())
    caption = (
        f"Left: how often the judge gave each verdict label in game 1 (baseline shown as A) and game 2 (swapped); "
        f"{n_unparsed} of {len(gdf)} games had no verdict. Right: of {n_pairs} prompt pairs with both verdicts, "
        f"{pct(consistency['consistent_rate'])} gave the same outcome for the contestant in both orders and "
        f"{pct(consistency['position_bias_rate'])} followed the slot (the same position won both games)."
    )
    return fig, caption


def leaderboard_figure(
    rated: dict[str, Any],
    baseline: str,
    bootstrap_method: str,
    style_method: str,
    ci_level: float,
    bootstrap_rounds: int,
):
    """Win rate against the baseline with intervals, raw (left: both bootstrap definitions) and style-controlled
    (right: both style definitions); the definitions in use in blue. ``rated``: ``pipeline.ratings``."""
    import matplotlib.pyplot as plt

    from .bootstrap import BOOTSTRAP_METHODS
    from .style import STYLE_METHODS

    boards, styled_boards, board = rated["boards"], rated["styled_boards"], rated["board"]
    alt_boot = [bm for bm in BOOTSTRAP_METHODS if bm != bootstrap_method][0]
    alt_style = [sm for sm in STYLE_METHODS if sm != style_method][0]
    order = list(board.sort_values(["win_rate", "model"]).model)  # the same row order in both panels
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.55 * len(order) + 2.6), sharey=True)
    panels = [
        (
            axes[0],
            boards[bootstrap_method],
            boards[alt_boot],
            f"{bootstrap_method} bootstrap",
            f"{alt_boot} bootstrap",
            "Raw win rate",
        ),
        (
            axes[1],
            rated["styled"],
            styled_boards[alt_style],
            f"{style_method} style control",
            f"{alt_style} style control",
            "Style-controlled win rate",
        ),
    ]
    y = np.arange(len(order))
    for ax, main, alt, main_label, alt_label, title in panels:
        for b, dy, colour, label in (
            (main, -0.12, "tab:blue", f"{main_label} (in use)"),
            (alt, 0.12, "tab:gray", alt_label),
        ):
            b = b.set_index("model").reindex(order)
            ax.errorbar(
                100 * b.win_rate,
                y + dy,
                xerr=[100 * (b.win_rate - b.win_rate_low), 100 * (b.win_rate_high - b.win_rate)],
                fmt="o",
                ms=5,
                capsize=3,
                color=colour,
                label=label,
            )
        ax.axvline(50, color="k", lw=0.8, ls="--")
        ax.set(
            title=f"{title} vs {baseline}, {ci_level:.0%} CI",
            xlabel="win rate against the baseline (%)",
            xlim=(-2, 102),
        )
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)  # below the axis, never over the bars
    axes[0].set(yticks=y, yticklabels=[f"{m} (baseline)" if m == baseline else m for m in order], ylabel="contestant")
    ratio, gap = (
        rated["summary"]["ci_width_ratio_weighted_over_upstream"],
        rated["summary"]["style_methods_max_gap_points"],
    )
    caption = (
        f"Win rate of each contestant against {baseline} (dot) with {ci_level:.0%} bootstrap intervals over "
        f"{bootstrap_rounds} rounds; the dashed line is a tie with the baseline. Left: raw ratings, blue with the "
        f"{bootstrap_method} bootstrap in use, grey with the {alt_boot} one (median width ratio weighted/upstream "
        f"{ratio:.2f}). Right: style-controlled, blue with the {style_method} definition, grey with the "
        f"{alt_style} one (largest gap between them {gap:.1f} points)."
    )
    return fig, caption


def controlled_figure(summary: dict[str, Any]):
    """The controlled setting: position and length shifts without and with the swapped game / style control, and
    the coverage of the intervals (``controlled.summarise``'s numbers)."""
    from ..simulated_plots import controlled_figure as figure
    from .controlled import figure_data

    shifts, cov = figure_data(summary)
    return figure(shifts, cov, "win-rate points", summary["draws"])
