"""Every figure of the WildChat notebook (10); each returns a matplotlib figure with titles and axis labels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _barh(ax, labels, values, title, xlabel, color=None):
    y = np.arange(len(labels))
    ax.barh(y, values, color=color)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set(title=title, xlabel=xlabel)


def corpus_tokens(table: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    t = table.set_index("corpus")[["user tokens/turn", "assistant tokens/turn"]].astype(float)
    t.plot.bar(ax=ax, rot=0)
    ax.set(title="Tokens per turn by corpus (the model's tokenizer)", xlabel="corpus", ylabel="tokens per turn")
    return fig


def languages(shares: pd.DataFrame, agreement: pd.DataFrame | None = None):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2 if agreement is not None and len(agreement) else 1, figsize=(11, 3.8), squeeze=False)
    _barh(axes[0, 0], shares.name, shares.share, "Languages of user turns (stored labels)", "share of user turns")
    if axes.shape[1] == 2:
        _barh(
            axes[0, 1],
            agreement.language,
            agreement.rate,
            "Stored label agrees with langdetect",
            "share of sampled user turns",
            color="tab:green",
        )
        axes[0, 1].set_xlim(0, 1)
    return fig


def states(table: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.32 * len(table)))
    y = np.arange(len(table))
    ax.barh(y - 0.2, table.conversations, height=0.4, label="conversations")
    ax.barh(y + 0.2, table.users, height=0.4, label="distinct users")
    ax.set_yticks(y, table.state)
    ax.invert_yaxis()
    ax.legend()
    ax.set(title="States / regions: conversations and distinct users", xlabel="count")
    return fig


def turns(table: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(table.turns, table.share)
    ax.set(title="Turns per conversation", xlabel="user turns in the conversation", ylabel="share of conversations")
    return fig


def monthly(frame: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3.6))
    frame.plot.bar(stacked=True, ax=ax, width=0.85)
    ax.set(title="Conversations per month and model", xlabel="month", ylabel="conversations")
    ax.legend(title="model", bbox_to_anchor=(1.01, 1), loc="upper left")
    return fig


def toxicity(by_role: pd.DataFrame, categories: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    by_role.set_index("role")[["OpenAI only", "Detoxify only", "both"]].plot.bar(stacked=True, ax=axes[0], rot=0)
    axes[0].set(title="Toxic turns by role and detector", xlabel="role", ylabel="share of turns")
    if len(categories):
        categories.set_index("category").plot.barh(ax=axes[1])
        axes[1].invert_yaxis()
    axes[1].set(title="OpenAI moderation categories of flagged turns", xlabel="flagged turns", ylabel="category")
    return fig


def jailbreaks(table: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    table.set_index("template")[["uses", "users", "successes"]].plot.bar(ax=ax, rot=0)
    ax.set(title="Jailbreak templates: uses, distinct users, toxic replies", xlabel="template", ylabel="count")
    return fig


def privacy(redactions: pd.DataFrame, pii: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3))
    _barh(axes[0], redactions.entity, redactions.placeholders, "Redaction placeholders per entity", "placeholders")
    _barh(axes[1], pii.kind, pii.found, "PII left in the clear (offline patterns)", "strings found", color="tab:red")
    return fig


def categories(table: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.4))
    cols = [c for c in ("rules (all prompts)", "LLM (sample)") if c in table]
    table.set_index("category")[cols].plot.bar(ax=ax, rot=20)
    ax.set(title="Prompt categories: keyword rules vs the LLM labeler", xlabel="category", ylabel="share of prompts")
    return fig


def diversity(div: dict[str, Any], cov: pd.DataFrame):
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    names = list(div)
    vals = [div[n]["diversity"] for n in names]
    err = np.array(
        [[v - (div[n]["diversity_ci"][0] or v), (div[n]["diversity_ci"][1] or v) - v] for n, v in zip(names, vals)]
    ).T.clip(min=0)
    axes[0].bar(names, vals, yerr=err, capsize=4)
    axes[0].set(title="Prompt diversity (95% bootstrap CI)", xlabel="corpus", ylabel="mean pairwise cosine distance")
    sns.heatmap(cov, annot=True, fmt=".2f", vmin=0, vmax=1, cmap="viridis", ax=axes[1], cbar_kws={"label": "coverage"})
    axes[1].set(title="Coverage (row corpus covers column corpus)", xlabel="covered corpus", ylabel="covering corpus")
    return fig
