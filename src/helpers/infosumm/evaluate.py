"""Evaluation against reference summaries (ROUGE-1/2/L F1 with bootstrap CIs), controllability, and the findings.

    r = rouge_table({"lead-3": outs_a, "student": outs_b}, references)   # one row per system, *_ci columns
"""
from __future__ import annotations

from collections.abc import Sequence

from ..core.stats import bootstrap_ci, pct, wilson_interval
from .critics import rouge_scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def rouge_per_item(predictions: Sequence[str], references: Sequence[str]) -> list[dict[str, float]]:
    """ROUGE-1/2/L F1 (stemmed, rouge-score) of each prediction against its reference."""
    sc = rouge_scorer(ROUGE_TYPES)
    return [{t: float(v.fmeasure) for t, v in sc.score(ref, pred or "").items()} for pred, ref in zip(predictions, references)]


def rouge_table(outputs: dict[str, Sequence[str]], references: Sequence[str], rounds: int = 1000, seed: int = 0) -> list[dict]:
    """Per system: mean ROUGE-1/2/L F1 with 95% percentile bootstrap CIs over documents, and the mean length."""
    rows = []
    for system, preds in outputs.items():
        per = rouge_per_item(preds, references)
        row = {"system": system, "n": len(per), "words": sum(len((p or "").split()) for p in preds) / max(1, len(preds))}
        for t in ROUGE_TYPES:
            vals = [p[t] for p in per]
            row[t] = sum(vals) / len(vals) if vals else float("nan")
            row[f"{t}_ci"] = list(bootstrap_ci(vals, lambda xs: sum(xs) / len(xs), rounds=rounds, seed=seed))
        rows.append(row)
    return rows


def paired_difference(a: Sequence[str], b: Sequence[str], references: Sequence[str], measure: str = "rougeL",
                      rounds: int = 1000, seed: int = 0) -> dict:
    """Mean per-document ROUGE difference a - b with its paired bootstrap CI."""
    pa, pb = rouge_per_item(a, references), rouge_per_item(b, references)
    diffs = [x[measure] - y[measure] for x, y in zip(pa, pb)]
    mean = sum(diffs) / len(diffs) if diffs else float("nan")
    lo, hi = bootstrap_ci(diffs, lambda xs: sum(xs) / len(xs), rounds=rounds, seed=seed)
    return {"mean": mean, "ci": [lo, hi], "n": len(diffs)}


def controllability(rows: Sequence[dict]) -> dict[str, dict]:
    """Hit rate per attribute (with Wilson CIs) over rows carrying ``hits`` ({attribute: bool})."""
    out = {}
    for attr in ("length", "focus", "extractive"):
        vals = [r["hits"][attr] for r in rows if attr in r["hits"]]
        if vals:
            k, n = sum(vals), len(vals)
            out[attr] = {"hit": k, "n": n, "rate": k / n, "ci": list(wilson_interval(k, n))}
    return out


def critic_summary(rows: Sequence[dict]):
    """Per system (the rows' ``round`` field): the share passing each critic and the mean PMI scores (nats)."""
    import pandas as pd
    cols = ["system", "pass_all", "saliency_pass", "faithfulness_pass", "brevity_pass", "not_copy_pass",
            "mean_saliency", "mean_faithfulness", "n"]
    if not rows:
        return pd.DataFrame(columns=cols)
    out = []
    for system in dict.fromkeys(r["round"] for r in rows):
        g = [r for r in rows if r["round"] == system]
        mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
        out.append({"system": system, "pass_all": mean([float(r["verdicts"]["all"]) for r in g]),
                    **{f"{k}_pass": mean([float(r["verdicts"][k]) for r in g]) for k in ("saliency", "faithfulness", "brevity", "not_copy")},
                    "mean_saliency": mean([r["scores"]["saliency"] for r in g if r["scores"]["saliency"] is not None]),
                    "mean_faithfulness": mean([r["scores"]["faithfulness"] for r in g if r["scores"]["faithfulness"] is not None]),
                    "n": len(g)})
    return pd.DataFrame(out, columns=cols)


def _ci(ci) -> str:
    return f" (95% CI {ci[0]:.3f}-{ci[1]:.3f})" if ci and ci[0] == ci[0] else ""


def findings(m: dict, *, rounds: list[dict], rouge: list[dict], student_steps: int = 0) -> dict:
    """finding / signal / findings sentences computed from the run's metrics (teacher_model, the paired ROUGE-L
    differences with their CIs, controllability, final and fallback pairs, documents, the student's init, losses
    and difference to the last teacher, critics on the references), its ``rounds`` (pass rates per critic) and the
    main reference set's ``rouge`` rows."""
    def diff(key):
        return {"mean": m[key], "ci": m[key + "_ci"]} if key in m else None
    student = {"init": m.get("student_init"), "loss_first": m.get("student_loss_first"),
               "loss_last": m.get("student_loss_last"), "steps": student_steps,
               "minus_teacher": diff("student_minus_teacher_last_rougeL")}
    return _findings(m["teacher_model"], rounds, rouge, diff("student_minus_lead3_rougeL"),
                     diff("teacher_last_minus_round0_rougeL"), m.get("controllability") or {},
                     m.get("controllability_if_ignored") or {}, m["final_pairs"], m["fallback_pairs"], m["n_documents"],
                     student=student, eval_critics=m.get("eval_critic_pass_all"))


def _findings(model: str, rounds: list[dict], rouge: list[dict], diff_student_lead: dict, diff_last_first: dict,
              ctrl: dict, ctrl_chance: dict, n_final: int, n_fallback_total: int, n_docs: int,
              student: dict | None = None, eval_critics: dict | None = None) -> dict:
    st = student or {}
    by = {r["system"]: r for r in rouge}
    first, last = rounds[0], rounds[-1]
    r_all = lambda rd: rd["pass_rates"].get("all", {})  # noqa: E731
    lead, stu = by.get("lead-3"), by.get("student")
    t0, tl = by.get("teacher round 0"), by.get(f"teacher round {last['round']}")
    if diff_student_lead["ci"][0] > 0:
        signal = "student beats lead-3"
    elif diff_student_lead["ci"][1] < 0:
        signal = "lead-3 beats the student"
    else:
        signal = "student and lead-3 not distinguishable"
    finding = (f"Teacher {model}: {r_all(first).get('passed', 0)}/{r_all(first).get('n', 0)} round-0 candidates passed every "
               f"critic ({pct(r_all(first).get('rate'))}), {r_all(last).get('passed', 0)}/{r_all(last).get('n', 0)} in round "
               f"{last['round']} ({pct(r_all(last).get('rate'))}); on {by['lead-3']['n']} reference documents ROUGE-L is "
               f"{stu['rougeL']:.3f} for the student, {lead['rougeL']:.3f} for lead-3, {t0['rougeL']:.3f} for the zero-shot "
               f"teacher and {tl['rougeL']:.3f} after {last['round']} round(s) of expert iteration ({signal}).")
    details = []
    for rd in rounds:
        parts = ", ".join(f"{k} {v['passed']}/{v['n']} ({pct(v['rate'])})" for k, v in rd["pass_rates"].items() if k != "all")
        details.append(f"Round {rd['round']} ({rd['n_candidates']} candidates on {rd['n_documents']} documents): pass rates "
                       f"{parts}; all critics {r_all(rd).get('passed', 0)}/{r_all(rd).get('n', 0)}"
                       + (f"; {rd['fallback']} best-ranked candidates added as a counted fallback to reach the minimum "
                          f"training set" if rd.get("fallback") else "") + ".")
    details.append(f"Expert iteration changed the teacher's ROUGE-L on the reference set by {diff_last_first['mean']:+.3f}"
                   f"{_ci(diff_last_first['ci'])}; the student minus lead-3 is {diff_student_lead['mean']:+.3f}{_ci(diff_student_lead['ci'])} "
                   f"(paired bootstrap over the {by['lead-3']['n']} documents: the intervals cover the choice of documents, not "
                   f"the sampling and training seed of this single run).")
    for attr, v in ctrl.items():
        details.append(f"Controllability, {attr}: the student's output honoured {v['hit']}/{v['n']} requests ({pct(v['rate'])}, "
                       f"95% CI {pct(v['ci'][0])}-{pct(v['ci'][1])}; {pct(ctrl_chance.get(attr))} if the code were ignored).")
    details.append(f"{n_final} final pairs trained the student ({n_fallback_total} of all training pairs came from the fallback).")
    if eval_critics:
        details.append("On reference documents, share of summaries passing every critic: " + ", ".join(
            f"{k} {pct(v)}" for k, v in eval_critics.items() if v is not None) + ".")
    if st.get("loss_first") is not None:
        mt = st["minus_teacher"]
        details.append(f"Student ({st['init']}): training loss {st['loss_first']:.2f} -> {st['loss_last']:.2f} in {st['steps']} "
                       f"steps; its ROUGE-L minus the final teacher's is {mt['mean']:+.3f}{_ci(mt['ci'])}.")
    small = []
    if (r_all(last).get("rate") or 0) < 0.2:
        small.append(f"few candidates pass every critic ({pct(r_all(last).get('rate'))} in the last round), so each round "
                     f"trains on a handful of pairs")
    if lead["rougeL"] > max(t0["rougeL"], tl["rougeL"], stu["rougeL"]):
        small.append("lead-3 (copying the first three sentences) beats every model-written summary")
    st_diff = st.get("minus_teacher")
    if st_diff and st_diff["ci"][1] < 0:
        small.append(f"the student ({st.get('init')}) stays below its teacher after {st.get('steps')} steps")
    if diff_last_first["ci"][0] <= 0 <= diff_last_first["ci"][1]:
        small.append(f"{last['round']} round(s) of expert iteration did not change the teacher's ROUGE-L beyond noise")
    rates = {k: v["rate"] for k, v in last["pass_rates"].items() if k != "all"}
    if rates:
        low = min(rates.values())
        worst = sorted(k for k, v in rates.items() if v == low)  # ties named together, in a fixed order
        details.append(f"The most restrictive critic in the last round was {worst[0]} ({pct(low)} pass)." if len(worst) == 1 else
                       f"The most restrictive critics in the last round were {' and '.join(worst)} (tied at {pct(low)} pass).")
    if not small:
        small.append("none of these limits was hit (pass rates of at least 20%, a model above lead-3, a student not "
                     "below its teacher, a measurable change from expert iteration)")
    scale = (f" With {n_docs} documents the run tests the pipeline end to end; whether the critics make a weak teacher a good "
             f"summarizer (the paper: Pythia-2.8B, 4.5M pairs) needs the full profile." if n_docs < 1000 else "")
    details.append(f"What a teacher of this size shows here: {'; '.join(small)}.{scale}")
    return {"finding": finding, "signal": signal, "findings": details}
