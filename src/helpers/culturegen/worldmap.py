"""A world-map heatmap of a per-culture rate (markedness); the map itself is ``helpers.core.worldmap``.

Small states the 1:110m file leaves out (e.g. Singapore, Bahrain, Malta) cannot be drawn: they are returned as
`missing` and named in the caption.

    shapes = country_shapes()                       # {alpha3: [rings]}
    fig, drawn, missing = world_map_figure(mk["culture"], cultures)
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..core.worldmap import ShapesUnavailable, country_shapes, draw_world_map, shapes_file  # noqa: F401


def map_values(table: pd.DataFrame, cultures: Sequence, value: str = "rate") -> tuple[dict[str, float], list[str]]:
    """Join a per-culture table (a `nationality` column) to alpha3 codes: ({alpha3: value}, [nationalities with no shape])."""
    shapes = country_shapes()
    code_of = {c.nationality: c.alpha3 for c in cultures}
    values, missing = {}, []
    for nat, v in zip(table["nationality"], table[value]):
        code = code_of.get(nat)
        if code in shapes:
            values[code] = float(v)
        else:
            missing.append(str(nat))
    return values, missing


SCALE = (0.0, 1.0)  # a share: every run's map on the same colour scale


def world_map_figure(
    table: pd.DataFrame,
    cultures: Sequence,
    value: str = "rate",
    title: str = "",
    label: str = "share of marked generations",
    clim: tuple[float, float] = SCALE,
):
    """Countries coloured by ``table[value]`` (one row per culture) on the fixed scale ``clim``, each drawn culture's
    sample size ``n`` written on its country; countries not in the run in light grey. Returns (figure, number of
    cultures drawn, nationalities that have no shape in the 1:110m file)."""
    import numpy as np

    values, missing = map_values(table, cultures, value)
    fig, ax = draw_world_map(
        values, title or f"{label.capitalize()} per culture (n: generations; grey: not in this run)", label, clim=clim
    )
    shapes, code_of = country_shapes(), {c.nationality: c.alpha3 for c in cultures}
    for nat, n in zip(table["nationality"], table["n"] if "n" in table else []):
        if code_of.get(nat) in values:
            ring = max(shapes[code_of[nat]], key=len)
            x, y = np.asarray(ring).mean(axis=0)
            ax.annotate(
                f"n={int(n)}",
                (x, y),
                ha="center",
                va="center",
                fontsize=6,
                color="0.1",
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "alpha": 0.7, "lw": 0},
            )
    return fig, len(values), missing


def map_caption(table: pd.DataFrame, what: str, n_drawn: int, no_shape: Sequence[str], clim=SCALE) -> str:
    """The map's caption: what is coloured, the fixed scale, the sample sizes and what could not be drawn."""
    n = table["n"] if len(table) else pd.Series([0])
    return (
        f"{what.capitalize()} per culture on a fixed colour scale ({clim[0]:g} to {clim[1]:g}, the same for every run); "
        f"{n_drawn} of {len(table)} cultures drawn, {int(n.min())} to {int(n.max())} generations each (n on the map)"
        + (f"; no 1:110m shape for {', '.join(no_shape)}" if no_shape else "")
        + "; grey: not in this run."
    )
