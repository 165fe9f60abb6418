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


def markedness_figure(mk: dict[str, pd.DataFrame]):
    """Marked share of generations per region (with the culture-agnostic baseline) and per gender and marker type."""
    import seaborn as sns
    pal = sns.color_palette("colorblind")
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.35 * max(len(mk["region"]), 6) + 1.5), gridspec_kw={"width_ratios": [3, 2]})
    _hbars(axes[0], mk["region"], "region", color=pal[0])
    if len(mk["baseline"]):
        b = float(mk["baseline"]["rate"].iloc[0])
        axes[0].axvline(b, color="k", ls="--", lw=1, label=f"culture-agnostic prompts ({100 * b:.0f}%; they name no culture)")
        axes[0].legend(loc="lower right")
    axes[0].set(title="Marked generations per region", xlabel="share of generations with a marker (95% Wilson CI)", ylabel="")
    both = pd.concat([mk["gender"].rename(columns={"gender": "group"}).assign(group=lambda d: "gender: " + d.group),
                      mk["type"].rename(columns={"marker": "group"}).assign(group=lambda d: "marker: " + d.group)])
    _hbars(axes[1], both, "group", color=pal[1])
    axes[1].set(title="By gender and by marker type", xlabel="share of generations (95% Wilson CI)", ylabel="")
    return fig


def diversity_figure(div: pd.DataFrame, corr: dict):
    """Unique culture symbols per culture against the frequency proxy, coloured by region."""
    import seaborn as sns
    fig, ax = plt.subplots(figsize=(8, 5))
    d = div.dropna(subset=["frequency"])
    sns.scatterplot(data=d, x="frequency", y="symbols", hue="region", ax=ax, s=60)
    for _, r in d.iterrows():
        ax.annotate(r.nationality, (r.frequency, r.symbols), fontsize=7, xytext=(3, 3), textcoords="offset points")
    src = str(div["frequency_source"].iloc[0]) if len(div) else ""
    rho = "n/a" if corr.get("spearman") is None else f"{corr['spearman']:.2f}"
    ax.set(title=f"Symbol diversity vs culture frequency (Spearman {rho})", xlabel=f"culture frequency proxy: {src}",
           ylabel="unique culture symbols (count)")
    ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=8, title="region")
    return fig


def presence_figure(pres: dict[str, pd.DataFrame]):
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(pres["region"]), 6) + 1.2))
    if len(pres["region"]):
        _hbars(ax, pres["region"], "region")
    ax.set(title="Culture symbols also generated without a culture", xlabel="share of the region's symbols (95% Wilson CI)",
           ylabel="")
    return fig


def validity_figure(variants: Sequence[dict]):
    """Top-1 accuracy, precision and recall of each scoring variant on the known pairs, with chance."""
    rows = []
    for v in variants:
        name = f"{v['measure']}{' + calibration' if v['calibrated'] else ''}"
        for m in ("top1", "precision", "recall"):
            if v[m] is not None:
                rows.append({"variant": name, "metric": m, "value": v[m], "low": v[f"{m}_ci"][0], "high": v[f"{m}_ci"][1]})
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
    ax.axhline(chance, color="k", ls="--", lw=1, label=f"chance for top-1 and precision (1/{variants[0]['n_cultures']})")
    ax.set_xticks(range(len(metrics)), ["top-1 accuracy", "precision of 'symbol'", "recall of 'symbol'"])
    ax.set(title=f"Scoring method on {variants[0]['n_pairs']} known culture-symbol pairs", ylabel="share (95% Wilson CI)",
           xlabel="metric", ylim=(0, 1.05))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), title="scoring variant")
    return fig


def culturalbench_figure(easy: pd.DataFrame, hard_item: pd.DataFrame, chance: dict):
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.35 * max(len(easy), 6) + 1.5), sharey=False)
    for ax, tab, title, ch in ((axes[0], easy, "Easy: 4-way multiple choice", chance["easy"]),
                               (axes[1], hard_item, "Hard: true/false per option", chance["hard_item"])):
        t = tab.rename(columns={"accuracy": "rate"})
        _hbars(ax, t, "region")
        ax.axvline(ch, color="k", ls="--", lw=1, label=f"chance ({100 * ch:.0f}%)")
        ax.set(title=title, xlabel="accuracy (95% Wilson CI)", ylabel="", xlim=(0, 1.15))
        ax.legend(loc="lower right")
    return fig
