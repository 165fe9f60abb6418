"""The notebook's figure (00_quickstart), with its caption computed from the data it shows."""

from __future__ import annotations

from collections.abc import Sequence


def quickstart_figure(lp, speed: Sequence[dict]):
    """Left: log p(correct) against log p(wrong) per question; right: generated tokens per second per backend."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    accuracy = float(lp.prefers_correct.mean())
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    lo, hi = lp[["logp_correct", "logp_wrong"]].min().min(), lp[["logp_correct", "logp_wrong"]].max().max()
    axes[0].scatter(lp.logp_wrong, lp.logp_correct, c=lp.prefers_correct.map({True: "tab:green", False: "tab:red"}))
    axes[0].plot([lo, hi], [lo, hi], "k--", lw=1)
    axes[0].set(
        xlabel="log p(wrong answer)",
        ylabel="log p(correct answer)",
        title=f"Above the diagonal = prefers correct ({accuracy:.0%})",
    )
    if speed:
        sns.barplot(data=pd.DataFrame(speed), x="backend", y="tokens_per_s", ax=axes[1])
        axes[1].set(title="Generation throughput on this machine", xlabel="backend", ylabel="generated tokens / s")
    else:
        axes[1].set_axis_off()
        axes[1].set_title("Generation throughput")
        axes[1].text(0.5, 0.5, "answers reused from an earlier run:\nno fresh timing", ha="center")
    return fig, (
        f"Left: each question's log-probability of the correct vs the wrong answer (green: correct "
        f"preferred, {accuracy:.0%} of {len(lp)}). Right: generated tokens per second of each backend on this "
        "machine."
    )
