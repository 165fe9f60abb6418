"""The notebook's verdict and sentences, computed from its metrics only."""

from __future__ import annotations

from ..core.stats import pct

SIGNALS = (
    "AI-assisted questions fool more targets",
    "verifier-only questions fool more targets",
    "no clear difference between assistance levels",
    "too few sessions to tell",
)


def assistance_signal(comparison: dict, min_per_level: int = 2) -> str:
    """From the targets-wrong row of ``analysis.compare_levels``: a CI of the difference that excludes 0 decides."""
    row = comparison["targets_wrong"]
    if min(row["vo_n"], row["ai_n"]) < min_per_level or row["diff_low"] != row["diff_low"]:
        return SIGNALS[3]
    if row["diff_low"] > 0:
        return SIGNALS[0]
    if row["diff_high"] < 0:
        return SIGNALS[1]
    return SIGNALS[2]


def findings(m: dict) -> dict:
    """``signal``, ``finding`` and detail sentences from the metrics the notebook logged."""
    row = m["comparison"]["targets_wrong"]
    signal = assistance_signal(m["comparison"])
    who = (
        "scripted sessions written by us (not annotators: the comparison shows the tool's pipeline, "
        "not the paper's human effect)"
        if m["scripted"]
        else "annotator sessions"
    )
    finding = (
        f"{m['n_questions']} finalized questions from {who}: the verifier ({m['verifier']}) was fooled by "
        f"{pct(m['verifier_fooled_share'])} of the final drafts, {pct(m['challenging_share'])} were "
        f"challenging (at least {m['k']} of {m['n_targets']} targets wrong); targets wrong per question "
        f"{row['ai_mean']:.2f} AI-assisted vs {row['vo_mean']:.2f} verifier-only (difference "
        f"{row['difference']:+.2f}, 95% bootstrap CI [{row['diff_low']:+.2f}, {row['diff_high']:+.2f}])."
    )
    details = [
        f"Mean revisions per question: {m['mean_revisions']:.2f}; hints shown {m['hints_shown']} "
        f"(LLM hint failures {m['llm_hint_failures']} of {m['llm_hint_calls']} calls).",
        f"Verifier failures (failed calls or unreadable replies): {m['verifier_failures']}; steps refused "
        f"during replay: {m['refused_steps']}.",
        "Target accuracy on the collected questions: "
        + ", ".join(f"{t} {pct(a)}" for t, a in m["target_accuracy"].items())
        + ".",
        f"Export: {m['n_questions']} Easy questions and {m['n_hard_rows']} Hard rows, read back through 07's "
        f"CulturalBench loader ({'identical' if m['export_round_trip'] else 'MISMATCH'}).",
    ]
    if m.get("culturalbench"):
        cb = m["culturalbench"]
        details.append(
            f"Hub CulturalBench ({cb['source']}, {cb['model']}): Easy {pct(cb['easy'])}, Hard per row "
            f"{pct(cb['hard_item'])}, Hard per question {pct(cb['hard_question'])}."
        )
    return {"signal": signal, "finding": finding, "findings": details}
