"""The run's findings (computed from its metrics) and the runner's cross-parameter checks."""
from __future__ import annotations

from typing import Any

from .tagging import TAG_TASKS


def findings(m: dict[str, Any], filter_preset: str = "") -> dict[str, Any]:
    """The run's finding, signal and detail sentences, computed from its metrics (no fixed prose)."""
    from ..core.stats import pct
    n, clean = m.get("n_samples", 0), m.get("n_clean", 0)
    other = {k: v for k, v in (m.get("status_counts") or {}).items() if k != "ok" and v}
    details = [f"{clean}/{n} sampled queries were clean ({pct(clean / n if n else None)})"
               + (f"; dropped: {', '.join(f'{v} {k}' for k, v in other.items())}." if other else ".")]
    details.append(f"{pct(m.get('near_duplicate_fraction'))} of the clean queries were near-duplicates of an earlier one.")
    fails = m.get("tag_failures") or {}
    if fails:
        answered = m.get("n_with_response", 0)
        details.append("Tagger parse failures: " + ", ".join(f"{k} {v}/{answered}" for k, v in fails.items()) + ".")
    kept, answered = m.get("n_kept", 0), m.get("n_with_response", 0)
    if m.get("sft_loss_first") is not None:
        details.append(f"SFT on {m.get('sft_data')} records: loss {m['sft_loss_first']:.3f} -> {m['sft_loss_last']:.3f}.")
    for row in m.get("tag_agreement") or []:
        if row.get("agreement") is not None:
            details.append(f"Tagger vs our labels ({row['task']}, n={row['n']}): {pct(row['agreement'])} agreement "
                           f"[{pct(row['ci_low'])}, {pct(row['ci_high'])}]; always answering the most common label "
                           f"scores {pct(row['majority_baseline'])}, chance {pct(row['chance'])}.")
    if answered and kept == 0:
        signal = "filters removed every record"
        details.append(f"The {filter_preset or 'configured'} filters removed all {answered} answered records: "
                       f"at this tagger's quality the filters measure the tagger, not the data.")
    else:
        signal = f"{kept} records kept"
    finding = (f"{clean}/{n} queries clean, {pct(m.get('near_duplicate_fraction'))} near-duplicates; "
               f"the {filter_preset or 'configured'} filters kept {kept}/{answered} answered records.")
    return {"finding": finding, "signal": signal, "findings": details}


def check_params(params: dict[str, Any]) -> None:
    """Cross-parameter checks the runner makes before compute (ValueError names the parameter)."""
    if params.get("tag_mode") == "logprob" and params.get("tagger_base_url"):
        raise ValueError("parameter 'tag_mode': logprob scores a local tagger's next tokens; an endpoint tagger "
                         "(tagger_base_url) needs tag_mode generate")
    unknown = [t for t in params.get("tag_tasks", []) if t not in TAG_TASKS]
    if unknown:
        raise ValueError(f"parameter 'tag_tasks': unknown {unknown} (use {', '.join(TAG_TASKS)})")


def published_checkpoints(params: dict[str, Any]) -> list[str]:
    """The model folders a run publishes for other notebooks (the runner's ``metadata.helpers.checkpoints``):
    ``checkpoints/sft``, a link to the SFT model, when the SFT stage is on."""
    return ["checkpoints/sft"] if params.get("sft") else []
