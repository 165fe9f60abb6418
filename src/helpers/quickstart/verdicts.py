"""The run's findings (computed from its metrics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def findings(
    m: dict[str, Any], *, verdict: dict[str, Any], backends_run: Sequence[str] = (), speed: Sequence[dict] = ()
) -> dict[str, Any]:
    """Finding, signal and detail sentences: the log-prob preference against chance (``verdict``:
    ``core.stats.chance_verdict`` of the questions where the correct answer scored higher), the backends run and
    skipped (``m["skipped_backends"]``), each backend's throughput (``speed`` rows)."""
    skipped = m.get("skipped_backends") or []
    return {
        "signal": f"log-prob preference {verdict['signal']}",
        "finding": f"The correct answer got the higher log-probability on {verdict['text']}.",
        "findings": [
            f"Backends run: {', '.join(backends_run) or 'none'}"
            + (f"; skipped (not installed): {', '.join(skipped)}." if skipped else ".")
        ]
        + [f"{s['backend']}: {s['tokens_per_s']:.1f} generated tokens/s" for s in speed],
    }
