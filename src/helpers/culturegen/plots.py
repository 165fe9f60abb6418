"""Figures of the Culture-Gen notebook: bars with Wilson intervals per region, the diversity scatter, validity.

The world map is in worldmap.py (Natural Earth shapes bundled in the geopandas 0.14 wheel).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def _hbars(ax, table: pd.DataFrame, label: str, value: str = "rate", color=None):
    """Horizontal bars with Wilson intervals and k/n beside each; an 'all' row (the pooled value) goes on top, in grey."""
    t = table.sort_values([value, label], kind="stable")  # equal values by name: the same order whatever the input's
    is_all = t[label].astype(str) == "all"
    t = pd.concat([t[~is_all], t[is_all]])
    y = np.arange(len(t))
    err = np.vstack([t[value] - t["low"], t["high"] - t[value]]).clip(min=0)
    colors = ["0.55" if str(v) == "all" else (color or "C0") for v in t[label]]
    ax.barh(y, t[value], xerr=err, color=colors, capsize=3, alpha=0.85)
    ax.set_yticks(y, [("all (pooled)" if str(v) == "all" else str(v)) for v in t[label]])
    top = float(np.nanmax(t["high"])) if len(t) else 1.0
    for yi, (k, n, hi) in enumerate(zip(t["k"], t["n"], t["high"])):
        ax.annotate(f"{int(k)}/{int(n)}", (hi + 0.01 * max(top, 0.1), yi), va="center", fontsize=7, color="0.25")
    ax.set_xlim(0, max(top, 0.1) * 1.15)
    return ax


def _typed(table: pd.DataFrame, m: str) -> pd.DataFrame:
    """The ``m`` marker type's columns of a markedness table as k / rate / low / high (what ``_hbars`` draws)."""
    return table.assign(k=table[f"{m}_k"], rate=table[f"{m}_rate"], low=table[f"{m}_low"], high=table[f"{m}_high"])


def markedness_figure(mk: dict[str, pd.DataFrame]):
    """Per region, the share of generations with a vocabulary marker and, separately, with a parenthesis (the
    paper's two types; dashed: the culture-agnostic prompts); per gender and marker type on the right."""
    import seaborn as sns

    pal = sns.color_palette("colorblind")
    fig, axes = plt.subplots(
        1, 3, figsize=(15, 0.35 * max(len(mk["region"]), 6) + 1.5), gridspec_kw={"width_ratios": [3, 3, 2]}
    )
    for ax, m, color in ((axes[0], "vocabulary", pal[0]), (axes[1], "parenthesis", pal[2])):
        _hbars(ax, _typed(mk["region"], m), "region", color=color)
        if len(mk["baseline"]):
            b = float(mk["baseline"][f"{m}_rate"].iloc[0])
            ax.axvline(b, color="k", ls="--", lw=1, label=f"culture-agnostic prompts ({100 * b:.0f}%)")
            ax.legend(loc="lower right", fontsize=8)
        ax.set(title=f"{m.capitalize()} marker per region", xlabel="share of generations (95% Wilson CI)", ylabel="")
    both = pd.concat(
        [
            mk["gender"].rename(columns={"gender": "group"}).assign(group=lambda d: "gender: " + d.group),
            mk["type"].rename(columns={"marker": "group"}).assign(group=lambda d: "marker: " + d.group),
        ]
    )
    _hbars(axes[2], both, "group", color=pal[1])
    axes[2].set(
        title="Any marker by gender; each marker type", xlabel="share of generations (95% Wilson CI)", ylabel=""
    )
    return fig


def markedness_frequency_figure(culture: pd.DataFrame, frequency: dict, corr: dict, source: str):
    """Each culture's vocabulary and parenthesis marker shares against its frequency (log scale for counts)."""
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharex=True)
    d = culture.assign(frequency=culture.nationality.map(frequency)).dropna(subset=["frequency"])
    for ax, m in zip(axes, ("vocabulary", "parenthesis")):
        sns.scatterplot(data=d, x="frequency", y=f"{m}_rate", hue="region", ax=ax, s=50, legend=m == "parenthesis")
        c = corr.get(m, {})
        rho = "n/a" if c.get("spearman") is None else f"{c['spearman']:.2f}"
        ax.set(
            title=f"{m.capitalize()} marker vs frequency (Spearman {rho}, n={c.get('n', 0)})",
            xlabel=f"culture frequency: {source}",
            ylabel="share of generations marked",
        )
        if len(d) and d.frequency.min() > 0:
            ax.set_xscale("log")
    if axes[1].get_legend():
        axes[1].legend(bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=8, title="region")
    return fig


def diversity_figure(div: pd.DataFrame, corr: dict):
    """Unique culture symbols per culture (summed over topics, gender-neutral generations) against its frequency."""
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(8, 5))
    d = div.dropna(subset=["frequency"])
    sns.scatterplot(data=d, x="frequency", y="symbols", hue="region", ax=ax, s=60)
    for _, r in d.iterrows():
        ax.annotate(r.nationality, (r.frequency, r.symbols), fontsize=7, xytext=(3, 3), textcoords="offset points")
    src = str(div["frequency_source"].iloc[0]) if len(div) else ""
    rho = "n/a" if corr.get("spearman") is None or pd.isna(corr.get("spearman")) else f"{corr['spearman']:.2f}"
    ax.set(
        title=f"Symbol diversity vs culture frequency (Spearman {rho})",
        xlabel=f"culture frequency: {src}",
        ylabel="unique culture symbols, summed over topics",
    )
    if len(d) and d.frequency.min() > 0:
        ax.set_xscale("log")
    ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=8, title="region")
    return fig


def presence_figure(pres: dict[str, pd.DataFrame]):
    """Per region, the mean of its cultures' shares (bars; the paper's definition) and each culture's share (dots)."""
    reg, cult = pres["region"], pres["culture"]
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(reg), 6) + 1.2))
    order = list(reg.sort_values(["share", "region"]).region)
    y = {r: i for i, r in enumerate(order)}
    ax.barh(
        range(len(order)),
        reg.set_index("region").loc[order, "share"],
        color="C0",
        alpha=0.6,
        label="mean of per-culture shares",
    )
    ax.scatter(cult.share, cult.region.map(y), color="k", s=14, zorder=3, label="one culture")
    for r in reg.itertuples():
        ax.annotate(
            f"{int(r.n_cultures)} cultures, {int(r.cultures_with_symbols)} with symbols",
            (r.share + 0.02, y[r.region]),
            va="center",
            fontsize=7,
            color="0.25",
        )
    ax.set_yticks(range(len(order)), order)
    ax.set(
        title="Culture symbols also generated without a culture",
        xlim=(0, 1.45),
        ylabel="",
        xlabel="share of a culture's symbols (a culture without symbols counts 0, as the paper)",
    )
    ax.legend(loc="lower right", fontsize=8)
    return fig


def validity_figure(variants: Sequence[dict]):
    """Top-1 accuracy, precision and recall of each scoring variant on the known pairs, with chance."""
    rows = []
    for v in variants:
        name = f"{v['measure']}{' + calibration' if v['calibrated'] else ''}"
        for m in ("top1", "precision", "recall"):
            if v[m] is not None:
                rows.append(
                    {"variant": name, "metric": m, "value": v[m], "low": v[f"{m}_ci"][0], "high": v[f"{m}_ci"][1]}
                )
    df = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(9, 4))
    metrics = ["top1", "precision", "recall"]
    names = list(dict.fromkeys(df.variant))
    w = 0.8 / max(len(names), 1)
    for j, name in enumerate(names):
        d = df[df.variant == name].set_index("metric").reindex(metrics)
        x = np.arange(len(metrics)) + (j - (len(names) - 1) / 2) * w
        ax.bar(x, d.value, w, yerr=np.vstack([d.value - d.low, d.high - d.value]).clip(min=0), capsize=3, label=name)
    chance = 1.0 / variants[0]["n_cultures"] if variants else 0
    ax.axhline(
        chance, color="k", ls="--", lw=1, label=f"chance for top-1 and precision (1/{variants[0]['n_cultures']})"
    )
    ax.set_xticks(range(len(metrics)), ["top-1 accuracy", "precision of 'symbol'", "recall of 'symbol'"])
    ax.set(
        title=f"Scoring method on {variants[0]['n_pairs']} known culture-symbol pairs",
        ylabel="share (95% Wilson CI)",
        xlabel="metric",
        ylim=(0, 1.05),
    )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), title="scoring variant")
    return fig


def culturalbench_figure(easy: pd.DataFrame, hard_item: pd.DataFrame, chance: dict):
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.35 * max(len(easy), 6) + 1.5), sharey=False)
    for ax, tab, title, ch in (
        (axes[0], easy, "Easy: 4-way multiple choice", chance["easy"]),
        (axes[1], hard_item, "Hard: true/false per option", chance["hard_item"]),
    ):
        t = tab.rename(columns={"accuracy": "rate"})
        _hbars(ax, t, "region")
        ax.axvline(ch, color="k", ls="--", lw=1, label=f"chance ({100 * ch:.0f}%)")
        ax.set(title=title, xlabel="accuracy (95% Wilson CI)", ylabel="", xlim=(0, 1.15))
        ax.legend(loc="lower right")
    return fig
