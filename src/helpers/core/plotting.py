"""One plotting style for every notebook, figure saving with a caption.

    from helpers.core.plotting import use_style, show
    use_style()                                   # once, at the top of a notebook
    fig, ax = plt.subplots(); ...
    show(run, fig, "leaderboard", "WB-Score per model with 95% bootstrap CIs over tasks.")

``show`` saves the figure under the run's figures/ (PNG), displays it, and prints the caption under
it, so every figure in a report carries a sentence that says what it shows.
"""

from __future__ import annotations

from typing import Any

STYLE = {"style": "whitegrid", "context": "notebook", "palette": "colorblind"}
RC = {
    "figure.dpi": 100,
    "savefig.bbox": "tight",
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "figure.autolayout": False,
}


def use_style() -> None:
    """The suite's seaborn theme (white grid, colour-blind palette, readable sizes)."""
    import seaborn as sns

    sns.set_theme(**STYLE, rc=RC)


def check_labels(fig) -> list[str]:
    """Axes of ``fig`` that lack a title or an axis label (visible axes only): a reader needs both."""
    missing = []
    for i, ax in enumerate(fig.axes):
        if (
            not ax.get_visible()
            or not ax.axison
            or getattr(ax, "_colorbar", None) is not None
            or ax.get_label() == "<colorbar>"
        ):
            continue
        if not ax.get_title():
            missing.append(f"axes {i}: no title")
        if not ax.get_xlabel() and not ax.get_ylabel():
            missing.append(f"axes {i}: no axis label")
    return missing


def show(run: Any, fig, name: str, caption: str) -> None:
    """Save ``fig`` as figures/<name>.png in the run, display it, then print ``caption`` under it."""
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, display

    fig.tight_layout()
    run.savefig(fig, name)
    plt.show()
    display(Markdown(f"*Figure `{name}`: {caption}*"))
