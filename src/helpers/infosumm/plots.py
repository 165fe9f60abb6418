"""Figures of an InfoSumm run: pass rates per round, critic-score distributions, ROUGE per system, controllability."""

from __future__ import annotations

from collections.abc import Sequence


def pass_rate_figure(rounds: Sequence[dict]):
    import matplotlib.pyplot as plt
    import pandas as pd

    rows = [
        {"round": f"round {rd['round']}", "critic": k, "rate": v["rate"], "lo": v["ci"][0], "hi": v["ci"][1]}
        for rd in rounds
        for k, v in rd["pass_rates"].items()
    ]
    df = pd.DataFrame(rows)
    critics = list(dict.fromkeys(df.critic))
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    width = 0.8 / max(1, df["round"].nunique())
    for i, (rnd, g) in enumerate(df.groupby("round", sort=True)):
        g = g.set_index("critic").reindex(critics)
        xs = [c + i * width for c in range(len(critics))]
        ax.bar(xs, g.rate, width=width, label=rnd)
        ax.errorbar(xs, g.rate, yerr=[g.rate - g.lo, g.hi - g.rate], fmt="none", ecolor="black", capsize=2, lw=0.8)
    ax.set_xticks([c + 0.4 - width / 2 for c in range(len(critics))], critics)
    ax.set(
        title="Share of candidates passing each critic",
        ylabel="pass rate (95% Wilson CI)",
        xlabel="critic",
        ylim=(0, 1.05),
    )
    ax.legend()
    return fig


def score_distribution_figure(rows: Sequence[dict], thresholds: dict):
    import matplotlib.pyplot as plt
    import pandas as pd

    df = pd.DataFrame(
        [
            {
                "round": f"round {r['round']}",
                **{k: r["scores"].get(k) for k in ("saliency", "faithfulness", "ratio", "copy_rougeL_p")},
            }
            for r in rows
        ]
    )
    lines = {
        "saliency": [thresholds["saliency_min"]],
        "faithfulness": [thresholds["faithfulness_min"]],
        "ratio": [thresholds["ratio_min"], thresholds["ratio_max"]],
        "copy_rougeL_p": [thresholds["copy_max"]],
    }
    fig, axes = plt.subplots(1, 4, figsize=(12, 3))
    for ax, col in zip(axes, lines):
        for rnd, g in df.groupby("round"):
            vals = g[col].dropna()
            if len(vals):
                ax.hist(vals, bins=15, alpha=0.55, label=rnd)
        for x in lines[col]:
            ax.axvline(x, color="black", ls="--", lw=1)
        ax.set(
            title=col, xlabel="nats per token" if col in ("saliency", "faithfulness") else "ratio", ylabel="candidates"
        )
    axes[0].legend()
    return fig


def rouge_figure(rouge: Sequence[dict]):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    types = ("rouge1", "rouge2", "rougeL")
    width = 0.8 / len(rouge)
    for i, r in enumerate(rouge):
        xs = [t + i * width for t in range(len(types))]
        vals = [r[t] for t in types]
        err = [[r[t] - r[f"{t}_ci"][0] for t in types], [r[f"{t}_ci"][1] - r[t] for t in types]]
        ax.bar(xs, vals, width=width, label=r["system"])
        ax.errorbar(xs, vals, yerr=err, fmt="none", ecolor="black", capsize=2, lw=0.8)
    ax.set_xticks([t + 0.4 - width / 2 for t in range(len(types))], ["ROUGE-1", "ROUGE-2", "ROUGE-L"])
    ax.set(title="ROUGE F1 against the reference summaries", ylabel="F1 (95% bootstrap CI)", xlabel="measure")
    ax.legend(fontsize=8)
    return fig


def controllability_figure(ctrl: dict, chance: dict):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    names = list(ctrl)
    rates = [ctrl[a]["rate"] for a in names]
    ax.bar(names, rates, color="tab:blue")
    ax.errorbar(
        names,
        rates,
        yerr=[
            [r - ctrl[a]["ci"][0] for a, r in zip(names, rates)],
            [ctrl[a]["ci"][1] - r for a, r in zip(names, rates)],
        ],
        fmt="none",
        ecolor="black",
        capsize=3,
    )
    ax.scatter(
        names, [chance.get(a, float("nan")) for a in names], color="red", marker="_", s=400, label="code ignored"
    )
    ax.set(title="Student controllability", ylabel="requests honoured (95% CI)", xlabel="attribute", ylim=(0, 1.05))
    ax.legend()
    return fig
