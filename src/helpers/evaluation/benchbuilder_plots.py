"""The notebook's figures (03_benchbuilder); each returns (figure, caption computed from the data it shows)."""

from __future__ import annotations

import numpy as np


def labeler_reference_figure(both, ref_scores, rho: float):
    """Labeler score against reference score, one dot per prompt both scored."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(5, 3.5))
    sns.stripplot(x=ref_scores, y=both.score, ax=ax, jitter=0.25)
    ax.set(
        xlabel="reference score (criteria met, by the authors)",
        ylabel="labeler score (criteria met)",
        title="Labeler vs reference scores",
    )
    return fig, (
        f"Each dot is one of {len(both)} prompts; Spearman {rho:.2f}. "
        "A labeler with signal puts higher reference scores higher."
    )


def topics_figure(df, emb, clusters, names: dict[int, str], min_cluster_mean: float, seed: int):
    """Top: the prompts' embeddings (PCA) coloured by topic, sized by quality score; bottom: mean score per topic,
    the kept ones outlined, with the cluster threshold."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from sklearn.decomposition import PCA

    topics = sorted(df.cluster.unique())
    palette = dict(zip(topics, sns.color_palette("colorblind", len(topics))))
    label = {t: f"{t}: {str(names.get(t, ''))[:38]}" for t in topics}
    fig, axes = plt.subplots(
        2, 1, figsize=(11, 5 + 0.45 * len(topics)), gridspec_kw={"height_ratios": [3, max(1.5, 0.35 * len(topics))]}
    )
    xy = PCA(n_components=2, random_state=seed).fit_transform(emb) if len(emb) > 2 else np.zeros((len(emb), 2))
    for t in topics:
        m = (df.cluster == t).to_numpy()
        axes[0].scatter(
            xy[m, 0], xy[m, 1], s=20 + 12 * df.score[m].fillna(0), color=palette[t], label=label[t], alpha=0.8
        )
    axes[0].legend(title="topic (cluster: keywords)", bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=8)
    axes[0].set(
        title="Prompt embeddings (PCA): colour = topic, marker size = quality score",
        xlabel="first principal component",
        ylabel="second principal component",
    )
    c = clusters.sort_values(["mean_score", "cluster"], kind="stable")  # equal means by cluster id
    axes[1].barh(
        [label[t] for t in c.cluster],
        c.mean_score,
        color=[palette[t] for t in c.cluster],
        edgecolor=["black" if k else "none" for k in c.cluster_kept],
        hatch=None,
    )
    axes[1].axvline(min_cluster_mean, color="k", ls="--", lw=1, label=f"cluster threshold ({min_cluster_mean:g})")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    axes[1].set(
        title="Mean quality score per topic (outlined = kept)",
        xlabel="mean quality score (criteria met, 0-7)",
        ylabel="",
    )
    return fig, (
        f"{len(topics)} topics from {len(df)} prompts; {int(clusters.cluster_kept.sum())} topics have a mean "
        f"score of at least {min_cluster_mean:g} and are kept (outlined bars); colours match between the two "
        "panels."
    )


def controlled_figure(runs, summary: dict):
    """The controlled setting, one line per simulated world: separability with confidence (left) and the prompts'
    true separability (right) of random prompts and of the prompts the labeler selected, per labeler."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    labelers = list(dict.fromkeys(runs.labeler))
    palette = dict(zip(labelers, sns.color_palette("colorblind", len(labelers))))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    panels = [
        ("sep", "separability with confidence\n(share of contestant pairs separated)"),
        ("true_sep", "true separability of the prompts (mean)"),
    ]
    for ax, (col, ylabel) in zip(axes, panels):
        for j, name in enumerate(labelers):
            g = runs[runs.labeler == name]
            x = np.array([2 * j, 2 * j + 1], float)
            for _, r in g.iterrows():
                ax.plot(x, [r[f"{col}_random"], r[f"{col}_selected"]], "o-", color=palette[name], alpha=0.6)
        ax.set_xticks(np.arange(2 * len(labelers)), [f"{n}:\n{w}" for n in labelers for w in ("random", "selected")])
        ax.set(ylabel=ylabel, xlabel="labeler: prompt set")
    axes[0].set_title("Do the selected prompts separate the contestants?")
    axes[1].set_title("Known truth: how separating the prompts are")
    gains = "; ".join(
        f"{n}: separability gain {s['sep_gain']['mean']:+.2f} [{s['sep_gain']['low']:+.2f}, "
        f"{s['sep_gain']['high']:+.2f}]"
        for n, s in summary.items()
    )
    return fig, (
        f"Each line is one of {runs.repeat.nunique()} simulated worlds: random prompts (left point) and "
        f"the labeler's selection of the same count (right point). Paired gains, 95% t intervals: {gains}."
    )
