"""What the collected sessions show: per question (revisions, verifier fooled, targets wrong), verifier-only vs
AI-assisted with bootstrap CIs, and the target panel's accuracy per model and per region."""

from __future__ import annotations

import pandas as pd

from ..core.stats import bootstrap_ci, wilson_interval


def _final_index(s) -> int:
    return len(s.drafts) - 1


def question_table(sessions) -> pd.DataFrame:
    """One row per finalized session: revisions, hints, the verifier on the first and final drafts, targets wrong."""
    rows = []
    for s in sessions:
        if not s.final:
            continue
        last = _final_index(s)
        on_final = [v for v in s.verdicts if v["draft_index"] == last]
        on_first = [v for v in s.verdicts if v["draft_index"] == 0]
        targets = [t for t in s.targets if t["draft_index"] == last]
        t = targets[-1] if targets else None
        rows.append(
            {
                "session_id": s.session_id,
                "culture": s.culture,
                "assistance": s.assistance,
                "revisions": s.revisions,
                "verifications": len(s.verdicts),
                "hints": len(s.hints),
                "verify_failures": s.verify_failures,
                "first_confidence_correct": on_first[0]["probs"][s.drafts[0]["answer"]] if on_first else None,
                "final_confidence_correct": on_final[-1]["probs"][s.final["answer"]] if on_final else None,
                "verifier_fooled": bool(on_final[-1]["fooled"]) if on_final else None,
                "targets_wrong": t["wrong"] if t else None,
                "n_targets": t["n_targets"] if t else None,
                "challenging": t["challenging"] if t else None,
                **{f"survey_{k}": v for k, v in (s.survey_answers or {}).items() if k != "comment"},
            }
        )
    return pd.DataFrame(rows)


def _mean(xs) -> float:
    xs = [float(x) for x in xs if x is not None and x == x]
    return sum(xs) / len(xs) if xs else float("nan")


def compare_levels(
    table: pd.DataFrame,
    metrics=("revisions", "verifier_fooled", "targets_wrong", "challenging"),
    rounds: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per metric: the mean of each assistance level with a percentile bootstrap CI, and AI-assisted minus
    verifier-only with a bootstrap CI (questions resampled with replacement; helpers.core.stats.bootstrap_ci)."""
    rows = []
    for m in metrics:
        items = [(a, v) for a, v in zip(table.assistance, table[m]) if v is not None and v == v]
        row = {"metric": m}
        for level, tag in (("verifier-only", "vo"), ("ai-assisted", "ai")):
            vals = [v for a, v in items if a == level]
            lo, hi = bootstrap_ci(vals, _mean, rounds=rounds, seed=seed)
            row.update({f"{tag}_n": len(vals), f"{tag}_mean": _mean(vals), f"{tag}_low": lo, f"{tag}_high": hi})

        def diff(sample):
            ai = _mean([v for a, v in sample if a == "ai-assisted"])
            return ai - _mean([v for a, v in sample if a == "verifier-only"])

        lo, hi = bootstrap_ci(items, diff, rounds=rounds, seed=seed)
        row.update({"difference": diff(items), "diff_low": lo, "diff_high": hi})
        rows.append(row)
    return pd.DataFrame(rows)


def target_rows(sessions, regions: dict[str, str]) -> list[dict]:
    """One row per (finalized question, target) from the last target check of the final draft; ``regions``:
    culture -> region (from the loader that reads the export back)."""
    rows = []
    for s in sessions:
        if not s.final:
            continue
        checks = [t for t in s.targets if t["draft_index"] == _final_index(s)]
        for a in checks[-1]["answers"] if checks else []:
            rows.append(
                {
                    "session_id": s.session_id,
                    "culture": s.culture,
                    "region": regions.get(s.culture, "unmapped"),
                    "assistance": s.assistance,
                    "target": a["target"],
                    "correct": a["correct"],
                    "failed": a["failed"],
                }
            )
    return rows


def accuracy_by(rows, by) -> pd.DataFrame:
    """Accuracy with 95% Wilson intervals per group (``by``: a column or a list); failed answers are left out
    and counted in ``failed``."""
    df = pd.DataFrame(rows)
    by = [by] if isinstance(by, str) else list(by)
    out = []
    for key, g in df.groupby(by, sort=True):
        ok = g[~g.failed]
        k, n = int(ok.correct.sum()), len(ok)
        lo, hi = wilson_interval(k, n)
        out.append(
            {
                **dict(zip(by, key if isinstance(key, tuple) else (key,))),
                "k": k,
                "n": n,
                "accuracy": k / n if n else None,
                "low": lo,
                "high": hi,
                "failed": int(g.failed.sum()),
            }
        )
    return pd.DataFrame(out)
