"""A world-map heatmap of a per-culture rate (markedness), drawn from country shapes an installed package ships.

The shapes are Natural Earth's 1:110m admin-0 countries as bundled in the `geopandas` 0.14 wheel
(`geopandas/datasets/naturalearth_lowres`; geopandas itself is never imported, so its GIS dependencies are not
needed) and read with `pyshp`. Nothing is downloaded at run time. Small states the 1:110m file leaves out
(e.g. Singapore, Bahrain, Malta) cannot be drawn: they are returned as `missing` and named in the caption.

    shapes = country_shapes()                       # {alpha3: [rings]}
    fig, drawn, missing = world_map_figure(mk["culture"], cultures)
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd


class ShapesUnavailable(RuntimeError):
    """The bundled Natural Earth shapes are not installed (pip install --no-deps geopandas==0.14.4 pyshp)."""


def shapes_file() -> Path:
    spec = importlib.util.find_spec("geopandas")
    if spec is None or not spec.submodule_search_locations:
        raise ShapesUnavailable("world map: the geopandas 0.14 wheel (which ships Natural Earth shapes) is not installed: "
                                "pip install --no-deps geopandas==0.14.4 pyshp")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "naturalearth_lowres" / "naturalearth_lowres.shp"
    if not path.exists():
        raise ShapesUnavailable(f"world map: {path} is missing (geopandas >= 1.0 no longer bundles Natural Earth; "
                                "pip install --no-deps geopandas==0.14.4)")
    return path


def _alpha3(name: str, code: str) -> str | None:
    """Natural Earth's iso_a3, or pycountry's code for its name where the file has -99 (France, Norway, ...)."""
    if code and code != "-99":
        return code
    import pycountry
    try:
        return pycountry.countries.lookup(name).alpha_3
    except LookupError:
        return None


@functools.lru_cache(maxsize=1)
def country_shapes() -> dict[str, list[np.ndarray]]:
    """{alpha3: [ring as an (n, 2) lon/lat array, ...]} for every country in the bundled 1:110m file."""
    try:
        import shapefile
    except ImportError as exc:
        raise ShapesUnavailable("world map: the `pyshp` package is not installed (pip install pyshp)") from exc
    reader = shapefile.Reader(str(shapes_file()))
    names = [f[0] for f in reader.fields[1:]]
    out: dict[str, list[np.ndarray]] = {}
    for rec, shape in zip(reader.records(), reader.shapes()):
        row = dict(zip(names, rec))
        code = _alpha3(str(row.get("name", "")), str(row.get("iso_a3", "")))
        if code is None:
            continue
        pts = np.asarray(shape.points, dtype=float)
        bounds = list(shape.parts) + [len(pts)]
        out.setdefault(code, []).extend(pts[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b - a >= 3)
    return out


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
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    shapes = country_shapes()
    values, missing = map_values(table, cultures, value)
    fig, ax = plt.subplots(figsize=(12, 5.6))
    grey = [ring for code, rings in shapes.items() if code not in values for ring in rings]
    ax.add_collection(PolyCollection(grey, facecolors="0.9", edgecolors="0.7", linewidths=0.3))
    rings, vals = [], []
    for code, v in values.items():
        for ring in shapes[code]:
            rings.append(ring)
            vals.append(v)
    if rings:
        vmax = max(max(vals), 1e-9)
        coll = PolyCollection(rings, array=np.asarray(vals), cmap="magma_r", edgecolors="0.3", linewidths=0.4)
        coll.set_clim(0, vmax)
        ax.add_collection(coll)
        fig.colorbar(coll, ax=ax, shrink=0.7, pad=0.01, label=label)
    ax.set_xlim(-180, 180)
    ax.set_ylim(-58, 85)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_title(title or f"{label.capitalize()} per culture (grey: not in this run)")
    return fig, len(values), missing
