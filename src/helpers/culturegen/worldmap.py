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


def world_map_figure(table: pd.DataFrame, cultures: Sequence, value: str = "rate", title: str = "",
                     label: str = "share of marked generations"):
    """Countries coloured by ``table[value]`` (one row per culture); countries not in the run in light grey.
    Returns (figure, number of cultures drawn, nationalities that have no shape in the 1:110m file)."""
    values, missing = map_values(table, cultures, value)
    fig, _ = draw_world_map(values, title or f"{label.capitalize()} per culture (grey: not in this run)", label)
    return fig, len(values), missing
