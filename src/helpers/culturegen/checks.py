"""07's precheck (notebook metadata ``helpers.culturegen.checks:check_params``): every parameter, before the kernel starts.

Apart from ``data`` because it reads CulturalBench through its loader (``cbdata``, which uses ``data``).
"""

from __future__ import annotations

from typing import Any

from ..core.data import check_source
from .cbdata import load_culturalbench
from .data import GENDERS, extraction_gold, frequency_counts, select_cultures, select_topics, symbol_pairs


def check_params(params: dict[str, Any]) -> None:
    """The runner's cross-parameter check: known cultures, topics and genders, before anything loads."""
    select_cultures(params.get("cultures") or (), int(params.get("n_per_region") or 0))
    select_topics(params.get("topics") or ())
    bad = [g for g in params.get("genders") or () if g not in GENDERS]
    if bad or not params.get("genders", ["neutral"]):
        raise ValueError(f"parameter 'genders': use a non-empty list of {', '.join(GENDERS)}")
    from .worldmap import country_shapes

    country_shapes()  # the world map's shapes are installed (a clear error now, not in section 4)
    check_source("validity_pairs", params.get("validity_pairs", ""), symbol_pairs)
    check_source("cb_data", params.get("cb_data", ""), load_culturalbench)
    check_source("agreement_set", params.get("agreement_set", ""), extraction_gold)
    if params.get("frequency_counts_file"):
        check_source("frequency_counts_file", params["frequency_counts_file"], frequency_counts)
