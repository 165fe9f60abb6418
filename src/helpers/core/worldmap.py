"""A world map coloured by a value per country, drawn from country shapes an installed package ships.

The shapes are Natural Earth's 1:110m admin-0 countries as bundled in the `geopandas` 0.14 wheel
(`geopandas/datasets/naturalearth_lowres`; geopandas itself is never imported, so its GIS dependencies are not
needed) and read with `pyshp`. Nothing is downloaded at run time. Small states the 1:110m file leaves out
(e.g. Singapore, Bahrain, Malta) cannot be drawn: callers name them in the caption.

    shapes = country_shapes()                                   # {alpha3: [rings]}
    code = country_code("Russia")                               # "RUS" (names as GeoIP databases spell them)
    fig, ax = draw_world_map({"USA": 0.4, "CHN": 0.2}, title="...", label="share of conversations")

Used by 07 (markedness per culture) and 10 (conversations per country).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np


class ShapesUnavailable(RuntimeError):
    """The bundled Natural Earth shapes are not installed (pip install --no-deps geopandas==0.14.4 pyshp)."""


def shapes_file() -> Path:
    spec = importlib.util.find_spec("geopandas")
    if spec is None or not spec.submodule_search_locations:
        raise ShapesUnavailable(
            "world map: the geopandas 0.14 wheel (which ships Natural Earth shapes) is not installed: "
            "pip install --no-deps geopandas==0.14.4 pyshp"
        )
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "naturalearth_lowres" / "naturalearth_lowres.shp"
    if not path.exists():
        raise ShapesUnavailable(
            f"world map: {path} is missing (geopandas >= 1.0 no longer bundles Natural Earth; "
            "pip install --no-deps geopandas==0.14.4)"
        )
    return path


def _alpha3(name: str, code: str) -> str | None:
    """Natural Earth's iso_a3, or the code ``country_code`` finds for its name where the file has -99 (France, Norway,
    Kosovo, ...)."""
    if code and code != "-99":
        return code
    return country_code(name)  # pycountry's lookup, or an alias pycountry lacks (Kosovo: XKX)


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


# names GeoIP databases and data sets use that pycountry's lookup does not resolve
_ALIASES = {
    "Russia": "RUS",
    "South Korea": "KOR",
    "North Korea": "PRK",
    "Iran": "IRN",
    "Vietnam": "VNM",
    "Taiwan": "TWN",
    "Turkey": "TUR",
    "Syria": "SYR",
    "Laos": "LAO",
    "Bolivia": "BOL",
    "Venezuela": "VEN",
    "Tanzania": "TZA",
    "Moldova": "MDA",
    "Czechia": "CZE",
    "Palestine": "PSE",
    "Kosovo": "XKX",
}


@functools.lru_cache(maxsize=4096)
def country_code(name: str) -> str | None:
    """ISO alpha-3 code of a country name ("United States", "Russia", "Hong Kong"), None when unknown."""
    if not name:
        return None
    if name in _ALIASES:
        return _ALIASES[name]
    import pycountry

    try:
        return pycountry.countries.lookup(name).alpha_3
    except LookupError:
        return None


def draw_world_map(
    values: dict[str, float], title: str, label: str, cmap: str = "magma_r", clim: tuple[float, float] | None = None
):
    """Countries (alpha3 keys) coloured by their value; every other country in light grey. Returns (fig, ax).
    ``clim``: a fixed colour scale (vmin, vmax), so maps of different runs compare; None: 0 to this map's maximum."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    shapes = country_shapes()
    values = {k: v for k, v in values.items() if k in shapes}
    fig, ax = plt.subplots(figsize=(12, 5.6))
    grey = [ring for code, rings in shapes.items() if code not in values for ring in rings]
    ax.add_collection(PolyCollection(grey, facecolors="0.9", edgecolors="0.7", linewidths=0.3))
    rings, vals = [], []
    for code, v in values.items():
        for ring in shapes[code]:
            rings.append(ring)
            vals.append(v)
    if rings:
        coll = PolyCollection(rings, array=np.asarray(vals), cmap=cmap, edgecolors="0.3", linewidths=0.4)
        coll.set_clim(*(clim or (0, max(max(vals), 1e-9))))
        ax.add_collection(coll)
        fig.colorbar(coll, ax=ax, shrink=0.7, pad=0.01, label=label)
    ax.set_xlim(-180, 180)
    ax.set_ylim(-58, 85)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_title(title)
    return fig, ax
