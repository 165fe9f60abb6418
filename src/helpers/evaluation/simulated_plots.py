"""The controlled setting's figure (02, 04): injected bias with and without the method's correction, and the
coverage of the intervals against their nominal level. Returns (figure, caption computed from what it shows)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def controlled_figure(
    shifts: Sequence[tuple[str, float, float, str]],
    coverage: Sequence[tuple[str, int, int, float]],
    unit: str,
    draws: int,
):
    """Left: per bias (label, shift without correction, shift with it, correction's name), the mean shift of the most
    affected model; right: per interval kind (label, hits, intervals, nominal level), the coverage with its 95%
    Wilson interval and the nominal level."""
    import matplotlib.pyplot as plt

    from ..core.stats import pct, wilson_interval

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    x = np.arange(len(shifts))
    before = [s[1] for s in shifts]
    after = [s[2] for s in shifts]
    axes[0].bar(x - 0.18, before, 0.36, color="tab:red", label="without the correction")
    axes[0].bar(x + 0.18, after, 0.36, color="tab:green", label="with the correction")
    axes[0].axhline(0, color="k", lw=0.8)
    axes[0].set(
        xticks=x,
        xticklabels=[f"{s[0]}\n({s[3]})" for s in shifts],
        ylabel=f"shift ({unit})",
        title=f"Injected bias: mean shift over {draws} draws",
    )
    axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    y = np.arange(len(coverage))[::-1]
    for yi, (_label, hits, n, nominal) in zip(y, coverage):
        lo, hi = wilson_interval(hits, n)
        rate = hits / n if n else float("nan")
        xerr = [[max(0.0, 100 * (rate - lo))], [max(0.0, 100 * (hi - rate))]]
        axes[1].errorbar([100 * rate], [yi], xerr=xerr, fmt="o", capsize=3, color="tab:blue")
        axes[1].plot([100 * nominal] * 2, [yi - 0.3, yi + 0.3], color="k", ls="--", lw=1.2)
    axes[1].set(
        yticks=y,
        yticklabels=[c[0] for c in coverage],
        xlim=(0, 102),
        xlabel="intervals holding the truth (%)",
        title="Coverage of the intervals (dashed: nominal level)",
    )
    fig.tight_layout()
    caption = (
        "Controlled setting (simulated judge, known truth). Left: "
        + "; ".join(f"{s[0].replace(chr(10), ' ')} {s[1]:+.1f} -> {s[2]:+.1f} {unit} with {s[3]}" for s in shifts)
        + ". Right: "
        + "; ".join(f"{c[0]} {pct(c[1] / c[2] if c[2] else None)} of {c[2]} (nominal {pct(c[3])})" for c in coverage)
        + "; bars are 95% Wilson intervals."
    )
    return fig, caption
