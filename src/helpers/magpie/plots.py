"""Figures of a Magpie run: tags, lengths, neighbour distances, embedding map, SFT loss."""

from __future__ import annotations

from collections.abc import Sequence

from .tagging import DIFFICULTY_LEVELS, QUALITY_LEVELS, TASK_CATEGORIES


# --------------------------------------------------------------------------- plots
def plot_tag_distributions(df):
    """Bar charts of task category, input quality and difficulty (None shown as "unparsed")."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2), gridspec_kw={"width_ratios": [2.2, 1, 1]})
    for ax, col, order in zip(
        axes, ["task_category", "input_quality", "difficulty"], [TASK_CATEGORIES, QUALITY_LEVELS, DIFFICULTY_LEVELS]
    ):
        values = df[col].fillna("unparsed") if col in df and len(df) else []
        counts = {k: int((values == k).sum()) for k in order + ["unparsed"]} if len(values) else {k: 0 for k in order}
        ax.bar(range(len(counts)), list(counts.values()), color="tab:blue")
        ax.set_xticks(range(len(counts)), list(counts.keys()), rotation=40, ha="right")
        ax.set(title=col.replace("_", " "), xlabel="label", ylabel="records")
    fig.tight_layout()
    return fig


def plot_lengths(instr_words: Sequence[int], resp_tokens: Sequence[int]):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].hist(list(instr_words), bins=30, color="tab:green")
    axes[0].set(title="instruction length", xlabel="words", ylabel="instructions")
    axes[1].hist(list(resp_tokens), bins=30, color="tab:orange")
    axes[1].set(title="response length", xlabel="tokens", ylabel="responses")
    fig.tight_layout()
    return fig


def plot_neighbor_distances(distances: Sequence[float | None], threshold: float):
    import matplotlib.pyplot as plt
    import numpy as np

    d = np.array([x for x in distances if x is not None], dtype=float)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.hist(d, bins=40, color="tab:purple")
    ax.axvline(threshold, color="k", ls="--", label=f"threshold {threshold}")
    ax.set(
        title="distance to the nearest other instruction (2 - 2 cos)",
        xlabel="squared L2 (unit embeddings)",
        ylabel="instructions",
    )
    ax.legend()
    fig.tight_layout()
    return fig


def embedding_map(emb, seed: int = 0):
    """2-D coordinates of embeddings: t-SNE for 30+ points, PCA below that."""
    import numpy as np

    emb = np.asarray(emb)
    if len(emb) < 3:
        return np.zeros((len(emb), 2))
    if len(emb) >= 30:
        from sklearn.manifold import TSNE

        return TSNE(
            n_components=2, perplexity=min(30, max(5, len(emb) // 4)), random_state=seed, init="pca"
        ).fit_transform(emb)
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=seed).fit_transform(emb)


def plot_embedding_map(xy, labels: Sequence[str | None], title: str = "instruction embeddings"):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 6))
    labs = ["unparsed" if x is None else x for x in labels]
    for lab in sorted(set(labs)):
        pts = [p for p, l in zip(xy, labs) if l == lab]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, label=f"{lab} ({len(pts)})", alpha=0.8)
    ax.set(title=title, xticks=[], yticks=[], xlabel="embedding map, dimension 1", ylabel="embedding map, dimension 2")
    if labs:
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    return fig


def plot_loss(history: Sequence[dict]):
    import matplotlib.pyplot as plt

    pts = [(h["step"], h["loss"]) for h in history if "loss" in h and "step" in h]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o")
    ax.set(title="SFT training loss", xlabel="optimizer step", ylabel="loss (cross-entropy, nats/token)")
    fig.tight_layout()
    return fig
