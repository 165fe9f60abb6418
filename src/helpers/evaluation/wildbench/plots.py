"""The notebook's figures (02_wildbench); each returns (figure, caption computed from the data it shows)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np

from .tables import diverging_limits
from .tasks import GROUPS

_BOX = {"facecolor": "white", "edgecolor": "grey", "alpha": 0.9}


def _note(ax, text: str, y: float = 0.5, box: bool = False) -> None:
    ax.text(0.5, y, text, ha="center", va="center", transform=ax.transAxes, **({"bbox": _BOX} if box else {}))


def leaderboard_figure(board, K: float, baselines: Sequence[str], aggregation: str, n_tasks: int):
    """Per model (best WB-Score first): WB-Score with its CI (left), WB-Reward task macro and mixture (right)."""
    import matplotlib.pyplot as plt

    order = list(board.model)
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.55 * len(order) + 2.8), sharey=True)
    y = np.arange(len(order))[::-1]
    series = [
        (axes[0], "wb_score", "wb_score_lo", "wb_score_hi", "WB-Score task macro", "tab:blue", 0.0),
        (
            axes[1],
            "wb_reward_task_macro",
            "wb_reward_task_macro_lo",
            "wb_reward_task_macro_hi",
            "task macro",
            "tab:blue",
            -0.12,
        ),
        (axes[1], "wb_reward_mix", "wb_reward_lo", "wb_reward_hi", "plain mixture", "tab:gray", 0.12),
    ]
    d = board.set_index("model").reindex(order)
    for ax, col, lo, hi, label, colour, dy in series:
        ok = d[col].notna().to_numpy()
        # a percentile interval need not contain its estimate (few resamples, parse failures): bars never negative
        xerr = [np.clip((d[col] - d[lo])[ok], 0, None), np.clip((d[hi] - d[col])[ok], 0, None)]
        ax.errorbar(d[col][ok], y[ok] + dy, xerr=xerr, fmt="o", ms=5, capsize=3, color=colour, label=label)
    for ax in axes:
        ax.axvline(0, color="k", lw=0.8)
    axes[0].set(
        title="WB-Score (task macro), 95% CI",
        xlabel="WB-Score (0 = judge score 5, 100 = score 10)",
        yticks=y,
        yticklabels=order,
        ylabel="model",
    )
    axes[1].set(title=f"WB-Reward at K={K}, 95% CI", xlabel="WB-Reward (x100; 0 = even with the baselines)")
    axes[1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)  # below the axis, never over the points
    reward_cols = [
        "wb_reward_task_macro",
        "wb_reward_task_macro_lo",
        "wb_reward_task_macro_hi",
        "wb_reward_mix",
        "wb_reward_lo",
        "wb_reward_hi",
    ]
    lo_r, hi_r, no_signal = diverging_limits(board[reward_cols])  # symmetric around 0, never a degenerate range
    axes[1].set_xlim(1.1 * lo_r, 1.1 * hi_r)
    for ax, cols in ((axes[0], ["wb_score"]), (axes[1], ["wb_reward_task_macro", "wb_reward_mix"])):
        if board[cols].isna().all().all():
            _note(ax, "no valid judgement")
        elif ax is axes[1] and no_signal:
            _note(ax, "no signal: every reward is 0", box=True)
    n_valid = len(board.dropna(subset=["wb_score"]))
    caption = (
        f"Per model, left: WB-Score task macro with a 95% bootstrap CI over {n_tasks} tasks; right: WB-Reward at "
        f"K={K} against {', '.join(baselines)} as WildBench's task macro (blue) and as the plain mixture (grey), "
        f"{aggregation} treatment of missing groups and baselines. {n_valid} of {len(board)} models have a valid "
        "WB-Score."
    )
    return fig, caption


def k_sensitivity_figure(k_table, order: Sequence[str], baselines: Sequence[str]):
    """WB-Reward mixture per model against the length penalty K."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    kt = k_table.copy()
    kt["K_label"] = kt.K.map(lambda k: "none" if k < 0 else str(int(k)))
    fig, ax = plt.subplots(figsize=(8, 4))
    if kt.wb_reward_mix.notna().any():
        sns.lineplot(
            data=kt, x="K_label", y="wb_reward_mix", hue="model", hue_order=list(order), marker="o", sort=False, ax=ax
        )
        ax.legend(title="model", bbox_to_anchor=(1.01, 1), loc="upper left")  # outside the lines
    else:
        _note(ax, "no valid judgement")
    ax.axhline(0, color="k", lw=0.8)
    lo_k, hi_k, flat = diverging_limits(kt.wb_reward_mix)  # symmetric around 0, never a degenerate range
    ax.set_ylim(1.1 * lo_k, 1.1 * hi_k)
    if flat and kt.wb_reward_mix.notna().any():
        _note(ax, "no signal: every reward is 0", y=0.8, box=True)
    ax.set(
        title="K-sensitivity of WB-Reward",
        xlabel="length penalty K (characters; none = no penalty)",
        ylabel="WB-Reward mixture (x100)",
    )
    span = kt.wb_reward_mix.dropna()
    caption = (
        f"WB-Reward mixture against {', '.join(baselines)} for each length penalty K (a slight win by an answer "
        "more than K characters longer counts as a tie); over all models and K the values span "
        + (f"{span.min():.1f} to {span.max():.1f}." if len(span) else "nothing (no valid judgement).")
    )
    return fig, caption


def task_groups_figure(score_table, group_reward, order: Sequence[str], K: float, baselines: Sequence[str]):
    """Heatmaps per model and task group: WB-Score (left) and WB-Reward mixture (right), symmetric around 0."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    groups = list(GROUPS)
    heat_score = score_table.set_index("model")[[f"score[{g}]" for g in groups]]
    heat_score.columns = groups
    panels = [
        ("WB-Score per task group", "WB-Score", heat_score.reindex(index=order, columns=groups)),
        (
            f"WB-Reward mixture per task group (K={K})",
            "WB-Reward (x100)",
            group_reward.reindex(index=order, columns=groups),
        ),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(15, 0.5 * len(order) + 3.4))
    notes = []
    for k, (ax, (title, unit, data)) in enumerate(zip(axes, panels)):
        vmin, vmax, no_signal = diverging_limits(data)  # symmetric around 0; +-1 when everything is 0 or missing
        sns.heatmap(
            data.astype(float),
            annot=True,
            fmt=".0f",
            cmap="RdBu",
            center=0,
            vmin=vmin,
            vmax=vmax,
            ax=ax,
            linewidths=0.5,
            linecolor="white",
            cbar_kws={"label": unit, "shrink": 0.8},
            xticklabels=[textwrap.fill(g.replace("/", "/ "), 12) for g in groups],
            yticklabels=list(order) if k == 0 else False,
        )
        ax.set_facecolor("#d9d9d9")  # missing cells grey, so they never read as 0 (white)
        ax.grid(False)
        ax.tick_params(axis="x", rotation=0)
        ax.tick_params(axis="y", rotation=0)
        ax.set(title=title, xlabel="task group", ylabel="model" if k == 0 else "")
        msg = "no valid judgement" if data.isna().all().all() else "no signal: every value is 0" if no_signal else ""
        if msg:
            notes.append(f"{unit}: {msg}")
            _note(ax, msg, box=True)
    caption = (
        f"Per model (rows, best WB-Score first) and task group (columns), the WB-Score (left) and the WB-Reward "
        f"mixture against {', '.join(baselines)} at K={K} (right); blue above 0, red below, white at 0, on a "
        "scale symmetric around 0 per panel; a grey cell has no task of that group or no valid judgement. "
        + (
            "; ".join(notes) + "."
            if notes
            else f"Scales: +-{diverging_limits(panels[0][2])[1]:.0f} and +-{diverging_limits(panels[1][2])[1]:.0f}."
        )
    )
    return fig, caption


def judge_scores_figure(valid_scores: Any, top_score_share: float):
    """Histogram of the judge's valid 1-10 scores."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from ...core.stats import pct

    fig, ax = plt.subplots(figsize=(6, 3.2))
    if len(valid_scores):
        sns.histplot(valid_scores, bins=np.arange(0.5, 11), ax=ax)
    else:
        _note(ax, "no valid score")
    ax.set(
        title="Judge's 1-10 scores (valid ones)",
        xlabel="judge score (1-10)",
        ylabel="judgements (count)",
        xticks=range(1, 11),
        xlim=(0.5, 10.5),
    )
    caption = (
        f"Distribution of the {len(valid_scores)} valid WB-Score judgements (parse failures and automatic scores "
        "for empty answers left out)"
        + (
            f"; {valid_scores.nunique()} distinct scores were used and the most common covers "
            f"{pct(top_score_share)} of them."
            if len(valid_scores)
            else "; the judge gave no valid score."
        )
    )
    return fig, caption


def controlled_figure(summary: dict[str, Any]):
    """The controlled setting: position and length shifts without and with both orders / K, and the coverage of
    the 95% CIs (``controlled.summarise``'s numbers)."""
    from ..simulated_plots import controlled_figure as figure
    from .controlled import figure_data

    shifts, cov = figure_data(summary)
    return figure(shifts, cov, "WB-Reward points", summary["draws"])
