"""The run's findings (computed from its metrics) and the runner's cross-parameter checks."""

from __future__ import annotations

from typing import Any

from .filters import PAPER_PRESETS, PRESETS, SHARE_FIELDS
from .tagging import DIFFICULTY_LEVELS, QUALITY_LEVELS, TAG_TASKS


def findings(m: dict[str, Any], *, filter_preset: str = "") -> dict[str, Any]:
    """The run's finding, signal and detail sentences, computed from its metrics (no fixed prose)."""
    from ..core.stats import pct

    n, clean = m.get("n_samples", 0), m.get("n_clean", 0)
    other = {k: v for k, v in (m.get("status_counts") or {}).items() if k != "ok" and v}
    details = [
        f"{clean}/{n} sampled queries were clean ({pct(clean / n if n else None)})"
        + (f"; dropped: {', '.join(f'{v} {k}' for k, v in other.items())}." if other else ".")
    ]
    details.append(
        f"{pct(m.get('near_duplicate_fraction'))} of the clean queries were near-duplicates of an earlier one."
    )
    fails = m.get("tag_failures") or {}
    if fails:
        answered = m.get("n_with_response", 0)
        details.append("Tagger parse failures: " + ", ".join(f"{k} {v}/{answered}" for k, v in fails.items()) + ".")
    kept, answered = m.get("n_kept", 0), m.get("n_with_response", 0)
    preset = filter_preset or m.get("filter_preset") or "configured"
    counts = m.get("preset_counts") or {}
    if m.get("filter_rule"):
        details.append(f"Filter preset {preset}: {m['filter_rule']}.")
    paper = [f"{p} {counts[p]}/{answered}" for p in PAPER_PRESETS if p in counts and p != preset]
    if paper:
        zero = [p for p in PAPER_PRESETS if counts.get(p) == 0 and p != preset]
        details.append(
            "The paper's absolute presets on the same records would keep "
            + ", ".join(paper)
            + (f" ({' and '.join(zero)}: none at this tagger's labels)." if zero and answered else ".")
        )
    if m.get("sft_loss_first") is not None:
        n_sft = m.get("sft_n_examples")
        details.append(
            f"SFT on {'' if n_sft is None else f'{n_sft} '}{m.get('sft_data')} records: "
            f"loss {m['sft_loss_first']:.3f} -> {m['sft_loss_last']:.3f}."
        )
    elif m.get("sft_skipped"):
        details.append(f"{m['sft_skipped']}.")
    for row in m.get("tag_agreement") or []:
        if row.get("agreement") is not None:
            details.append(
                f"Tagger vs our labels ({row['task']}, n={row['n']}): {pct(row['agreement'])} agreement "
                f"[{pct(row['ci_low'])}, {pct(row['ci_high'])}]; always answering the most common label "
                f"scores {pct(row['majority_baseline'])}, chance {pct(row['chance'])}."
            )
    if answered and kept == 0:
        signal = "filters removed every record"
        details.append(f"The {preset} filters removed all {answered} answered records: the filtered set is empty.")
    else:
        signal = f"{kept} records kept"
    finding = (
        f"{clean}/{n} queries clean, {pct(m.get('near_duplicate_fraction'))} near-duplicates; "
        f"the {preset} filters kept {kept}/{answered} answered records ({pct(kept / answered if answered else None)})"
        + (f"; the paper's absolute {', '.join(paper)}." if paper else ".")
    )
    return {"finding": finding, "signal": signal, "findings": details}


def check_params(params: dict[str, Any]) -> None:
    """Cross-parameter checks the runner makes before compute (ValueError names the parameter)."""
    if params.get("tag_mode") == "logprob" and params.get("tagger_base_url"):
        raise ValueError(
            "parameter 'tag_mode': logprob scores a local tagger's next tokens; an endpoint tagger "
            "(tagger_base_url) needs tag_mode generate"
        )
    unknown = [t for t in params.get("tag_tasks", []) if t not in TAG_TASKS]
    if unknown:
        raise ValueError(f"parameter 'tag_tasks': unknown {unknown} (use {', '.join(TAG_TASKS)})")
    preset = params.get("filter_preset", "none")
    if preset not in PRESETS:
        raise ValueError(f"parameter 'filter_preset': unknown {preset!r} (use {', '.join(PRESETS)})")
    for name, levels in [("min_quality", QUALITY_LEVELS), ("min_difficulty", DIFFICULTY_LEVELS)]:
        if params.get(name) is not None and params[name] not in levels:
            raise ValueError(f"parameter {name!r}: {params[name]!r} is not a level (use {', '.join(levels)})")
    q, share = params.get("filter_quantile"), params.get("filter_top_share")
    if q is not None and not (isinstance(q, (int, float)) and 0 <= q <= 1):
        raise ValueError(f"parameter 'filter_quantile': must be in [0, 1], got {q!r}")
    uses_share = any(getattr(PRESETS[preset], f) for f in SHARE_FIELDS)
    if share is not None and not (isinstance(share, (int, float)) and 0 <= share <= 1):
        raise ValueError(f"parameter 'filter_top_share': must be in [0, 1], got {share!r}")
    if uses_share and share == 0:
        raise ValueError(f"parameter 'filter_top_share': preset {preset} keeps a top share, which must be above 0")
    for name in ("top_n_longest", "top_n_reward"):
        v = params.get(name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"parameter {name!r}: a count of at least 1 (or None), got {v!r}")


def published_checkpoints(params: dict[str, Any]) -> list[str]:
    """The model folders a run publishes for other notebooks (the runner's ``metadata.helpers.checkpoints``):
    ``checkpoints/sft``, a link to the SFT model, when the SFT stage is on."""
    return ["checkpoints/sft"] if params.get("sft") else []
