"""The run's results (08_infosumm): the ROUGE table and caption, and metrics.json (pass rates, ROUGE of every
system, paired differences, the critics' probes, controllability, timings, losses and the findings)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def rouge_frame(eval_sets: dict[str, dict]):
    """ROUGE per system and reference set, CIs as text (``data/rouge.csv``)."""
    import pandas as pd

    from .evaluate import ROUGE_TYPES

    return pd.DataFrame(
        [
            {
                **{k: v for k, v in r.items() if not k.endswith("_ci")},
                "set": s,
                **{f"{t}_ci": f"{r[t + '_ci'][0]:.3f}-{r[t + '_ci'][1]:.3f}" for t in ROUGE_TYPES},
            }
            for s, e in eval_sets.items()
            for r in e["rouge"]
        ]
    )


def rouge_caption(main: dict, eval_data: str) -> str:
    """The ROUGE figure's caption: documents, lead-3's and the student's ROUGE-L."""
    by = {r["system"]: r for r in main["rouge"]}
    return (
        f"ROUGE F1 on {len(main['refs'])} documents of {eval_data} with 95% bootstrap CIs; lead-3 ROUGE-L "
        f"{by['lead-3']['rougeL']:.3f}, student {by['student']['rougeL']:.3f}."
    )


# --------------------------------------------------------------------------- metrics.json
HEADLINE = [
    "filtered_minus_unfiltered_rougeL",
    "rougeL_student",
    "rougeL_student_unfiltered",
    "rougeL_teacher_round0",
    "rougeL_lead1",
    "rougeL_lead3",
    "student_minus_teacher0_rougeL",
    "pass_rate_round0",
    "wrong_document_pmi_pass_rate",
    "content_free_pmi_pass_rate",
]


def control_overlap(pairs: Sequence[dict], control_pairs: Sequence[dict]) -> float | None:
    """Share of the control arm's (document, summary) pairs that are also filtered pairs (None without a control)."""
    if not control_pairs:
        return None
    filtered = {(p["doc_id"], p["summary"]) for p in pairs}
    return sum((p["doc_id"], p["summary"]) in filtered for p in control_pairs) / len(control_pairs)


def over_length_counts(train_logs: dict[str, list]) -> dict[str, dict]:
    """{stage: {"over_length", "examples", "max_length"}}: the examples each fine-tuning stage cut to max_length
    (the record ``train.sft`` adds to its log history; stages trained before it existed are left out)."""
    out = {}
    for name, hist in train_logs.items():
        rec = next((h for h in reversed(hist or []) if "over_length" in h), None)
        if rec:
            out[name] = {k: rec[k] for k in ("over_length", "examples", "max_length")}
    return out


def run_metrics(
    *,
    teacher_model: str,
    critic_model: str,
    nli_model: str,
    n_rounds: int,
    docs: Sequence[dict],
    doc_info: dict,
    it: dict,
    pairs: Sequence[dict],
    control_pairs: Sequence[dict],
    main: dict,
    eval_sets: dict,
    ctrl: dict,
    ctrl_chance: dict,
    crit_summary,
    checks: dict,
    timings: dict,
    losses: dict,
    student_init: str,
    bootstrap_rounds: int,
    seed: int,
    train_logs: dict | None = None,
) -> dict[str, Any]:
    """metrics.json: pass rates per round, ROUGE of every system, the paired differences joined by document id
    (filtered minus unfiltered student, students minus the zero-shot teacher, student minus lead-3, last teacher
    minus first), the critics' sanity probes, controllability, timings, losses, and the findings computed from
    them (``evaluate.findings``). ``it``: ``expert_iteration``; ``checks``: ``evaluate.critic_checks``."""
    from ..core.stats import paired_by_id
    from .evaluate import findings

    rounds, per_doc = it["rounds"], main["per_doc"]

    def diff(a, b):
        if a not in per_doc or b not in per_doc:
            return {"mean": None, "ci": [None, None], "n": 0}
        return paired_by_id(per_doc[a], per_doc[b], rounds=bootstrap_rounds, seed=seed)

    last = f"teacher round {n_rounds}"
    d_fu, d_st, d_ut = (
        diff("student", "student (unfiltered)"),
        diff("student", "teacher round 0"),
        diff("student (unfiltered)", "teacher round 0"),
    )
    d_sl, d_lf = diff("student", "lead-3"), diff(last, "teacher round 0")
    by = {r["system"]: r for r in main["rouge"]}
    s_loss = losses.get("student") or [None]
    u_loss = losses.get("student_unfiltered") or [None]

    def rl(name):
        return (by[name]["rougeL"], by[name]["rougeL_ci"]) if name in by else (None, None)

    m = {
        "teacher_model": teacher_model,
        "critic_model": critic_model or teacher_model,
        "nli_model": nli_model or None,
        "n_rounds": n_rounds,
        "n_documents": len(docs),
        "documents_dropped": doc_info["dropped_short"],
        "pass_rates": {f"round{rd['round']}": {k: v["rate"] for k, v in rd["pass_rates"].items()} for rd in rounds},
        "pass_rate_round0": rounds[0]["pass_rates"].get("all", {}).get("rate"),
        "pass_rate_round0_ci": rounds[0]["pass_rates"].get("all", {}).get("ci"),
        "pass_rate_last": rounds[-1]["pass_rates"].get("all", {}).get("rate"),
        "pass_rate_last_ci": rounds[-1]["pass_rates"].get("all", {}).get("ci"),
        "fallback_pairs": sum(rd["fallback"] for rd in rounds),
        "final_pairs": len(pairs),
        "control_pairs": len(control_pairs),
        "control_overlap": control_overlap(pairs, control_pairs),
        "n_eval_documents": len(main["refs"]),
        "rouge": {s: e["rouge"] for s, e in eval_sets.items()},
        "filtered_minus_unfiltered_rougeL": d_fu["mean"],
        "filtered_minus_unfiltered_rougeL_ci": d_fu["ci"],
        "filtered_minus_unfiltered_n": d_fu["n"],
        "student_minus_teacher0_rougeL": d_st["mean"],
        "student_minus_teacher0_rougeL_ci": d_st["ci"],
        "unfiltered_minus_teacher0_rougeL": d_ut["mean"],
        "unfiltered_minus_teacher0_rougeL_ci": d_ut["ci"],
        "student_minus_lead3_rougeL": d_sl["mean"],
        "student_minus_lead3_rougeL_ci": d_sl["ci"],
        "teacher_last_minus_round0_rougeL": d_lf["mean"],
        "teacher_last_minus_round0_rougeL_ci": d_lf["ci"],
        "critic_checks": checks,
        "wrong_document_pmi_pass_rate": (checks.get("wrong_document") or {}).get("pmi_pass_rate"),
        "content_free_pmi_pass_rate": (checks.get("content_free") or {}).get("pmi_pass_rate"),
        "controllability": ctrl,
        "controllability_if_ignored": ctrl_chance,
        "eval_critic_pass_all": dict(zip(crit_summary.system, crit_summary.pass_all.astype(float))),
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "headline": HEADLINE,
        "student_loss_first": s_loss[0],
        "student_loss_last": s_loss[-1],
        "student_init": student_init,
        "unfiltered_loss_first": u_loss[0],
        "unfiltered_loss_last": u_loss[-1],
        "training_over_length": over_length_counts(train_logs or {}),
        "eval_documents_cut": {s: e.get("documents_cut", 0) for s, e in eval_sets.items()},
    }
    for key, name in (
        ("student", "student"),
        ("student_unfiltered", "student (unfiltered)"),
        ("teacher_round0", "teacher round 0"),
        ("teacher_last", last),
        ("lead1", "lead-1"),
        ("lead3", "lead-3"),
    ):
        m[f"rougeL_{key}"], m[f"rougeL_{key}_ci"] = rl(name)
    m.update(findings(m, rounds=rounds, rouge=main["rouge"], student_steps=len(losses.get("student") or [])))
    return m
