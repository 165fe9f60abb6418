"""Every figure of the Particip-AI notebook (12)."""

from __future__ import annotations


def odds_ratio_figure(fits: dict[str, dict], labels: dict[str, str]):
    """Odds ratios with 95% CIs per rating (log scale), one marker style per model."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    terms = [t for t in next(iter(fits.values()))["terms"]]
    for j, (name, fit) in enumerate(fits.items()):
        if fit["table"] is None:
            continue
        t = fit["table"].set_index("term")
        ys = [i + 0.18 * (j - 0.5) for i in range(len(terms))]
        ors = [t.loc[k, "odds_ratio"] for k in terms]
        err = [
            [o - t.loc[k, "or_low"] for k, o in zip(terms, ors)],
            [t.loc[k, "or_high"] - o for k, o in zip(terms, ors)],
        ]
        ax.errorbar(ors, ys, xerr=err, fmt="o" if j == 0 else "s", capsize=3, label=name)
    ax.axvline(1, color="grey", ls="--", lw=1)
    ax.set_yticks(range(len(terms)), [labels.get(k, k) for k in terms])
    ax.set_xscale("log")
    ax.set_xlabel("odds ratio of 'should be developed' per rating point (95% CI, log scale)")
    ax.set_title("What drives the develop decision")
    ax.legend(loc="lower right")
    return fig


def shares_figure(tables: dict[str, object], top: int = 8):
    """Horizontal bars of code/theme shares with Wilson CIs, one panel per table."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tables), figsize=(4.2 * len(tables), 3.4), squeeze=False)
    for ax, (title, df) in zip(axes[0], tables.items()):
        d = df.head(top).iloc[::-1]
        ax.barh(d.label, d.share, xerr=[d.share - d.low, d.high - d.share], capsize=2, color="#4c72b0")
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of answers (95% CI)")
        ax.set_title(title)
    return fig


def agreement_figure(table):
    """Micro-F1 of each coder per question with CIs, beside the majority-code baseline."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    labels = [f"{r.question}\n{r.coder}" for r in table.itertuples()]
    f1 = [r.micro_f1 if r.micro_f1 is not None else 0 for r in table.itertuples()]
    lo = [f - (r.micro_f1_ci[0] if r.micro_f1_ci else f) for f, r in zip(f1, table.itertuples())]
    hi = [(r.micro_f1_ci[1] if r.micro_f1_ci else f) - f for f, r in zip(f1, table.itertuples())]
    xs = range(len(labels))
    ax.bar(xs, f1, yerr=[lo, hi], capsize=3, label="coder micro-F1", color="#4c72b0")
    ax.scatter(
        xs, [r.majority_f1 or 0 for r in table.itertuples()], color="#dd8452", zorder=3, label="majority-code baseline"
    )
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("micro-F1 vs human codes")
    ax.set_title("Coding agreement with human annotations")
    ax.legend(loc="upper right")
    return fig
