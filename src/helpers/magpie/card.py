"""What the filters kept, for the data card and the metrics: count, share, each filter's toll, what every preset
would keep, task categories, lengths, example rows and the rule in words."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any

from .filters import FilterSpec, describe_spec, spec_fields


def _spread(values: Sequence[float]) -> dict[str, float] | None:
    import numpy as np

    return (
        {"min": float(np.min(values)), "median": float(np.median(values)), "max": float(np.max(values))}
        if len(values)
        else None
    )


def kept_summary(
    records: Sequence[dict],
    kept: Sequence[dict],
    steps: Sequence[dict],
    preset: str,
    spec: FilterSpec,
    counts: dict[str, int],
    n_examples: int = 3,
) -> dict[str, Any]:
    """The kept set described from the records themselves (JSON-safe; the data card's section and metrics)."""
    entering = [s["remaining"] + s["dropped"] for s in steps]
    return {
        "preset": preset,
        "rule": describe_spec(spec),
        "settings": spec_fields(spec),
        "n_records": len(records),
        "n_kept": len(kept),
        "kept_share": len(kept) / len(records) if records else None,
        "filter_steps": [
            {"filter": s["filter"], "entering": e, "passed": s["remaining"], "note": s["note"]}
            for s, e in zip(steps[1:], entering[1:])
        ],
        "preset_counts": dict(counts),
        "categories": dict(collections.Counter(str(r.get("task_category")) for r in kept).most_common()),
        "instruction_words": _spread([len((r.get("instruction") or "").split()) for r in kept]),
        "response_tokens": _spread([r.get("response_tokens") or 0 for r in kept]),
        "examples": [
            {
                k: r.get(k)
                for k in ("conversation_id", "instruction", "response", "task_category", "input_quality", "difficulty")
            }
            for r in kept[:n_examples]
        ],
    }


def _cell(text: Any, n: int = 160) -> str:
    s = " ".join(str(text).split())
    return (s[: n - 1] + "…" if len(s) > n else s).replace("|", "\\|")


def kept_markdown(s: dict[str, Any], sft_line: str = "") -> str:
    """The data card's section on the kept set (markdown), from ``kept_summary``."""
    share = f"{s['kept_share']:.1%}" if s["kept_share"] is not None else "n/a"
    lines = [
        "## What was kept",
        "",
        f"Preset **{s['preset']}**: {s['rule']}.",
        "",
        f"Kept **{s['n_kept']} of {s['n_records']} ({share})** answered records.",
        "",
        "| filter | entering | passed | note |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {_cell(x['filter'])} | {x['entering']} | {x['passed']} | {_cell(x['note'])} |" for x in s["filter_steps"]
    ] or ["| (no filter) | | | |"]
    lines += [
        "",
        "Every preset on the same records (same quantile and top share):",
        "",
        "| preset | kept |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} of {s['n_records']} |" for k, v in s["preset_counts"].items()]
    lines += ["", "Task categories of the kept records (None: no tag):", "", "| category | records |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in s["categories"].items()] or ["| (none) | 0 |"]
    lines.append("")
    for key, unit in [("instruction_words", "instruction words"), ("response_tokens", "response tokens")]:
        if s[key]:
            lines.append(f"- {unit}: min {s[key]['min']:g}, median {s[key]['median']:g}, max {s[key]['max']:g}")
    if sft_line:
        lines += ["", f"SFT: {sft_line}"]
    if s["examples"]:
        lines += [
            "",
            "Example rows:",
            "",
            "| id | instruction | response | category | quality | difficulty |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {_cell(e['conversation_id'], 40)} | {_cell(e['instruction'])} | {_cell(e['response'])} | "
            f"{e['task_category']} | {e['input_quality']} | {e['difficulty']} |"
            for e in s["examples"]
        ]
    return "\n".join(lines) + "\n"
