"""Evaluation against reference summaries (ROUGE-1/2/L F1 with bootstrap CIs), controllability, and the findings.

r = rouge_table({"lead-3": outs_a, "student": outs_b}, references)   # one row per system, *_ci columns
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.stats import bootstrap_ci, paired_by_id, pct, wilson_interval
from .critics import rouge_scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def rouge_per_item(predictions: Sequence[str], references: Sequence[str]) -> list[dict[str, float]]:
    """ROUGE-1/2/L F1 (stemmed, rouge-score) of each prediction against its reference."""
    sc = rouge_scorer(ROUGE_TYPES)
    return [
        {t: float(v.fmeasure) for t, v in sc.score(ref, pred or "").items()}
        for pred, ref in zip(predictions, references)
    ]


def rouge_table(
    outputs: dict[str, Sequence[str]], references: Sequence[str], rounds: int = 1000, seed: int = 0
) -> list[dict]:
    """Per system: mean ROUGE-1/2/L F1 with 95% percentile bootstrap CIs over documents, and the mean length."""
    rows = []
    for system, preds in outputs.items():
        per = rouge_per_item(preds, references)
        row = {
            "system": system,
            "n": len(per),
            "words": sum(len((p or "").split()) for p in preds) / max(1, len(preds)),
        }
        for t in ROUGE_TYPES:
            vals = [p[t] for p in per]
            row[t] = sum(vals) / len(vals) if vals else float("nan")
            row[f"{t}_ci"] = list(bootstrap_ci(vals, lambda xs: sum(xs) / len(xs), rounds=rounds, seed=seed))
        rows.append(row)
    return rows


def paired_difference(
    a: Sequence[str],
    b: Sequence[str],
    references: Sequence[str],
    measure: str = "rougeL",
    rounds: int = 1000,
    seed: int = 0,
) -> dict:
    """Mean per-document ROUGE difference a - b with its paired bootstrap CI (``paired_by_id`` over the documents'
    positions in ``references``, which ``a`` and ``b`` follow)."""
    pa, pb = rouge_per_item(a, references), rouge_per_item(b, references)
    return paired_by_id(
        {str(i): x[measure] for i, x in enumerate(pa)},
        {str(i): y[measure] for i, y in enumerate(pb)},
        rounds=rounds,
        seed=seed,
    )


PROBES = {
    "wrong_document": "probe: wrong document",
    "content_free": "probe: content-free",
    "reference": "probe: reference",
    "lead1": "probe: lead-1",
}


def critic_checks(rows: Sequence[dict]) -> dict:
    """Sanity of the critics on the probes of ``steps.critic_check_rows``: for each probe, how many pass both PMI
    critics (saliency and faithfulness) and how many pass every critic; and in how many documents lead-1 (a copy
    of the first sentence) scores above the reference summary on both PMI critics (copying rewarded)."""
    out: dict = {}
    for key, name in PROBES.items():
        g = [r for r in rows if r["round"] == name]
        pmi = sum(bool(r["verdicts"]["saliency"] and r["verdicts"]["faithfulness"]) for r in g)
        out[key] = {
            "n": len(g),
            "pmi_pass": pmi,
            "pmi_pass_rate": pmi / len(g) if g else None,
            "all_pass": sum(bool(r["verdicts"]["all"]) for r in g),
            "all_pass_rate": sum(bool(r["verdicts"]["all"]) for r in g) / len(g) if g else None,
        }
    ref = {r["doc_id"]: r["scores"] for r in rows if r["round"] == PROBES["reference"]}
    lead = {r["doc_id"]: r["scores"] for r in rows if r["round"] == PROBES["lead1"]}
    both = [
        d for d in sorted(set(ref) & set(lead)) if ref[d]["saliency"] is not None and lead[d]["saliency"] is not None
    ]
    beats = sum(
        lead[d]["saliency"] > ref[d]["saliency"] and lead[d]["faithfulness"] > ref[d]["faithfulness"] for d in both
    )
    out["lead1_beats_reference"] = {"docs": beats, "n": len(both)}
    return out


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

    cols = [
        "system",
        "pass_all",
        "saliency_pass",
        "faithfulness_pass",
        "brevity_pass",
        "not_copy_pass",
        "mean_saliency",
        "mean_faithfulness",
        "n",
    ]
    if not rows:
        return pd.DataFrame(columns=cols)
    out = []
    for system in dict.fromkeys(r["round"] for r in rows):
        g = [r for r in rows if r["round"] == system]
        mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
        out.append(
            {
                "system": system,
                "pass_all": mean([float(r["verdicts"]["all"]) for r in g]),
                **{
                    f"{k}_pass": mean([float(r["verdicts"][k]) for r in g])
                    for k in ("saliency", "faithfulness", "brevity", "not_copy")
                },
                "mean_saliency": mean([r["scores"]["saliency"] for r in g if r["scores"]["saliency"] is not None]),
                "mean_faithfulness": mean(
                    [r["scores"]["faithfulness"] for r in g if r["scores"]["faithfulness"] is not None]
                ),
                "n": len(g),
            }
        )
    return pd.DataFrame(out, columns=cols)


def _ci(ci) -> str:
    return f" (95% CI {ci[0]:+.3f} to {ci[1]:+.3f})" if ci and ci[0] is not None and ci[0] == ci[0] else ""


def _frac(d: dict | None, k: str) -> str:
    return f"{d[k]}/{d['n']}" if d and d.get("n") else "n/a"


FLOOR = 0.05  # ROUGE-L below which a student does not summarise (a random tiny model scores about 0)
MIN_PAIRS = 20  # training pairs per arm below which a whole model memorises its few examples in a few steps


def control_signal(
    diff: dict | None,
    overlap: float | None = None,
    students: tuple[float | None, float | None] = (None, None),
    n_pairs: int | None = None,
) -> tuple[str, str]:
    """The gate and the signal of filtered minus unfiltered: (signal, reason). Untestable without a control arm,
    without joined documents, when both arms trained on the same pairs, when each arm trained on fewer than
    ``MIN_PAIRS`` pairs (the difference then reflects which few examples were memorised, not the selection), or
    when both students are at the floor (ROUGE-L below ``FLOOR``: neither summarises)."""
    if not diff or not diff.get("n"):
        return (
            "untestable",
            "no student was trained on unfiltered candidates (control arm off), so no gain can be "
            "credited to the critics",
        )
    if overlap is not None and overlap >= 1.0:
        return "untestable", "the control arm drew exactly the filtered pairs, so the arms do not differ"
    if n_pairs is not None and n_pairs < MIN_PAIRS:
        return "untestable", (
            f"each arm trained on {n_pairs} pairs (fewer than {MIN_PAIRS}), so the difference "
            f"reflects which few examples the students memorised, not the critics' selection"
        )
    if all(x is not None and x < FLOOR for x in students):
        return "untestable", (
            f"both students are at the floor (ROUGE-L {students[0]:.3f} filtered, {students[1]:.3f} "
            f"unfiltered, below {FLOOR}): neither summarises"
        )
    lo, hi = diff["ci"]
    if lo > 0:
        return "filtered student beats unfiltered", ""
    if hi < 0:
        return "unfiltered student beats filtered", ""
    return "filtered and unfiltered students not distinguishable", ""


def _most_restrictive(last: dict) -> list[str]:
    """The critic (or critics, tied ones named together in a fixed order) that passed the fewest candidates."""
    rates = {k: v["rate"] for k, v in last["pass_rates"].items() if k != "all"}
    if not rates:
        return []
    low = min(rates.values())
    worst = sorted(k for k, v in rates.items() if v == low)
    if len(worst) == 1:
        return [f"The most restrictive critic in the last round was {worst[0]} ({pct(low)} pass)."]
    return [f"The most restrictive critics in the last round were {' and '.join(worst)} (tied at {pct(low)} pass)."]


def findings(m: dict, *, rounds: list[dict], rouge: list[dict], student_steps: int = 0) -> dict:
    """finding / signal / findings sentences computed from the run's metrics: the gated comparison of the student
    trained on critic-selected candidates with the equal-size student trained on random candidates of the same
    documents (``filtered_minus_unfiltered_rougeL`` with its paired CI over documents joined by id), the students
    against the zero-shot teacher, lead-1 and lead-3, the critics' sanity probes (``critic_checks``), pass rates
    per round (``rounds``) and the main reference set's ``rouge`` rows."""
    by = {r["system"]: r for r in rouge}
    last = rounds[-1]
    r_all = lambda rd: rd["pass_rates"].get("all", {})  # noqa: E731
    diff = m.get("filtered_minus_unfiltered_rougeL")
    diff = (
        {"mean": diff, "ci": m.get("filtered_minus_unfiltered_rougeL_ci"), "n": m.get("filtered_minus_unfiltered_n", 0)}
        if diff is not None
        else None
    )
    stu, t0 = by.get("student"), by.get("teacher round 0")
    signal, reason = control_signal(
        diff,
        m.get("control_overlap"),
        tuple((by.get(k) or {}).get("rougeL") for k in ("student", "student (unfiltered)")),
        m.get("final_pairs"),
    )
    l1, l3 = by.get("lead-1"), by.get("lead-3")
    n_docs = (l3 or stu or {}).get("n", 0)
    systems = ", ".join(
        f"{name} {by[name]['rougeL']:.3f}"
        for name in ("student", "student (unfiltered)", "teacher round 0", "lead-1", "lead-3")
        if name in by
    )
    if signal == "untestable":
        measured = (
            f" Measured anyway: filtered minus unfiltered {diff['mean']:+.3f} ROUGE-L{_ci(diff['ci'])}."
            if diff and diff.get("n")
            else ""
        )
        finding = f"Untestable here: {reason}.{measured} ROUGE-L on {n_docs} reference documents: {systems}."
    else:
        finding = (
            f"The student trained on {m.get('final_pairs')} critic-selected pairs minus the equal-size student "
            f"trained on random candidates of the same documents: {diff['mean']:+.3f} ROUGE-L{_ci(diff['ci'])} "
            f"over {diff['n']} reference documents joined by id ({signal}); ROUGE-L {systems}."
        )
    details = []
    for rd in rounds:
        parts = ", ".join(
            f"{k} {v['passed']}/{v['n']} ({pct(v['rate'])})" for k, v in rd["pass_rates"].items() if k != "all"
        )
        fb = f" ({rd['fallback']} from the counted fallback)" if rd.get("fallback") else ""
        details.append(
            f"Round {rd['round']} ({rd['n_candidates']} candidates on {rd['n_documents']} documents): "
            f"pass rates {parts}; all critics {r_all(rd).get('passed', 0)}/{r_all(rd).get('n', 0)}; "
            f"{rd['n_kept']} kept after best-of-n selection{fb}."
        )
    details += _most_restrictive(rounds[-1]) if rounds else []
    details += _cut_inputs(m)
    cc = m.get("critic_checks") or {}
    if cc.get("wrong_document", {}).get("n"):
        lb = cc["lead1_beats_reference"]
        wd, cf, rf, l1p = (cc[k] for k in ("wrong_document", "content_free", "reference", "lead1"))
        copying = (
            "still rewarded by the PMI critics; the not-a-copy critic is what rejects it"
            if lb["n"] and lb["docs"] * 2 > lb["n"]
            else "not rewarded over the reference in most documents"
        )
        details.append(
            f"Critic sanity probes on {rf['n']} reference documents (PMI critics in nats per token, relative to an "
            f"empty baseline): both PMI critics passed by {_frac(wd, 'pmi_pass')} summaries of another document, "
            f"{_frac(cf, 'pmi_pass')} content-free summaries, {_frac(rf, 'pmi_pass')} reference summaries and "
            f"{_frac(l1p, 'pmi_pass')} lead-1 copies; every critic: {_frac(wd, 'all_pass')}, {_frac(cf, 'all_pass')}, "
            f"{_frac(rf, 'all_pass')} and {_frac(l1p, 'all_pass')}. Lead-1 scores above the reference on both PMI "
            f"critics in {lb['docs']} of {lb['n']} documents (copying {copying})."
        )

    def delta(key):
        return f"{m[key]:+.3f}{_ci(m.get(key + '_ci'))}"

    if m.get("student_minus_teacher0_rougeL") is not None:
        unf = (
            f"; the unfiltered student minus the zero-shot teacher: {delta('unfiltered_minus_teacher0_rougeL')}"
            if m.get("unfiltered_minus_teacher0_rougeL") is not None
            else ""
        )
        details.append(
            f"Student ({m.get('student_init')}, {student_steps} logged steps) minus the zero-shot teacher: "
            f"{delta('student_minus_teacher0_rougeL')} ROUGE-L{unf}."
        )
    if m.get("teacher_last_minus_round0_rougeL") is not None and last["round"] > 0:
        details.append(
            f"{last['round']} round(s) of expert iteration changed the teacher's ROUGE-L by "
            f"{delta('teacher_last_minus_round0_rougeL')}."
        )
    if l1 and l3:
        best = max(x["rougeL"] for x in (stu, t0) if x)
        details.append(
            f"Baselines: lead-1 {l1['rougeL']:.3f}, lead-3 {l3['rougeL']:.3f} ROUGE-L; the best "
            f"model-written summary ({best:.3f}) "
            f"{'stays below' if best < max(l1['rougeL'], l3['rougeL']) else 'reaches'} the better lead baseline."
        )
    ctrl, chance = m.get("controllability") or {}, m.get("controllability_if_ignored") or {}
    for attr, v in ctrl.items():
        details.append(
            f"Controllability, {attr}: the student's output honoured {v['hit']}/{v['n']} requests "
            f"({pct(v['rate'])}, 95% CI {pct(v['ci'][0])}-{pct(v['ci'][1])}; {pct(chance.get(attr))} if the "
            f"code were ignored)."
        )
    details.append(
        f"{m.get('final_pairs')} final pairs trained each student arm ({m.get('fallback_pairs', 0)} "
        f"training pairs came from the fallback; {pct(m.get('control_overlap'))} of the control arm's pairs "
        f"are also filtered pairs)."
    )
    if m.get("student_loss_first") is not None:
        details.append(
            f"Student training loss {m['student_loss_first']:.2f} -> {m['student_loss_last']:.2f}"
            + (
                f"; unfiltered student {m['unfiltered_loss_first']:.2f} -> {m['unfiltered_loss_last']:.2f}"
                if m.get("unfiltered_loss_first") is not None
                else ""
            )
            + "."
        )
    if diff and diff["n"] and diff["n"] < 100:
        details.append(
            f"The paired interval covers the choice of {diff['n']} documents, not the sampling and training "
            f"seed of this single run."
        )
    n_train_docs = m.get("n_documents", 0)
    if n_train_docs < 1000:
        details.append(
            f"Scale: {n_train_docs} training documents; the paper distils from millions of pairs "
            f"(Pythia-2.8B teacher, 568M student), which needs the full profile."
        )
    return {"finding": finding, "signal": signal, "findings": details}


def _cut_inputs(m: dict) -> list[str]:
    """A detail naming every cut input, when there is one: training examples longer than max_length (the trainer
    cuts them, the completion first) and reference documents longer than eval_max_words."""
    parts = [
        f"{v['over_length']} of {v['examples']} {k} training examples (max_length {v['max_length']})"
        for k, v in (m.get("training_over_length") or {}).items()
        if v.get("over_length")
    ]
    parts += [
        f"{n} reference documents of {s} (eval_max_words)" for s, n in (m.get("eval_documents_cut") or {}).items() if n
    ]
    return [f"Inputs cut to fit: {'; '.join(parts)}."] if parts else []
