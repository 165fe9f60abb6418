"""Agreement of multi-label codes with human codes: micro and per-code F1, Jaccard, Krippendorff's alpha,
bootstrap CIs over answers (``helpers.core.stats.bootstrap_ci``) and a majority-code baseline.

    agreement(human, model, codes)   # human/model: {answer id: [codes]}; codes: the codebook's code names

Only answers both sides coded count. Micro-F1 pools every (answer, code) decision: 2TP / (2TP + FP + FN).
Jaccard is |A and B| / |A or B| per answer (1 when both are empty), averaged. Alpha is Krippendorff's nominal
alpha over the binary (answer, code) decisions of the two coders (``krippendorff`` package); None when every
decision is the same (alpha undefined). The majority baseline gives every answer the most frequent human code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ..core.stats import bootstrap_ci


def _counts(h: set, m: set) -> tuple[int, int, int]:
    return len(h & m), len(m - h), len(h - m)


def micro_f1(pairs: Sequence[tuple[set, set]]) -> float:
    tp = fp = fn = 0
    for h, m in pairs:
        a, b, c = _counts(h, m)
        tp, fp, fn = tp + a, fp + b, fn + c
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def jaccard(pairs: Sequence[tuple[set, set]]) -> float:
    if not pairs:
        return float("nan")
    return sum(len(h & m) / len(h | m) if h | m else 1.0 for h, m in pairs) / len(pairs)


def per_code_f1(pairs: Sequence[tuple[set, set]], codes: Sequence[str]) -> dict[str, dict[str, float | int]]:
    """F1 of each code with its support (answers the humans gave it) and how often the model gave it."""
    out = {}
    for code in codes:
        tp = sum(code in h and code in m for h, m in pairs)
        fp = sum(code not in h and code in m for h, m in pairs)
        fn = sum(code in h and code not in m for h, m in pairs)
        if tp + fp + fn:
            out[code] = {"f1": 2 * tp / (2 * tp + fp + fn), "support": tp + fn, "predicted": tp + fp}
    return out


def krippendorff_alpha(pairs: Sequence[tuple[set, set]], codes: Sequence[str]) -> float | None:
    import krippendorff
    import numpy as np

    universe = sorted(set(codes) | {c for h, m in pairs for c in h | m})
    human = [float(c in h) for h, _ in pairs for c in universe]
    model = [float(c in m) for _, m in pairs for c in universe]
    if len(set(human + model)) < 2:
        return None
    return float(krippendorff.alpha(reliability_data=np.array([human, model]), level_of_measurement="nominal"))


def to_themes(codes: dict[str, list[str]], themes: dict[str, str]) -> dict[str, list[str]]:
    """Each answer's codes replaced by their themes (once each, first-seen order; a code without a theme stays)."""
    return {i: list(dict.fromkeys(themes.get(c, c) for c in cs)) for i, cs in codes.items()}


def majority_code(human: dict[str, list[str]]) -> str | None:
    counts = Counter(c for codes in human.values() for c in codes)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if counts else None


def agreement(
    human: dict[str, list[str]], model: dict[str, list[str]], codes: Sequence[str], rounds: int = 1000, seed: int = 0
) -> dict:
    """Every agreement number of ``model`` against ``human`` on the answers both coded, with 95% bootstrap CIs."""
    ids = sorted(set(human) & set(model))
    pairs = [(set(human[i]), set(model[i])) for i in ids]
    if not pairs:
        return {
            "n": 0,
            "micro_f1": None,
            "micro_f1_ci": None,
            "jaccard": None,
            "jaccard_ci": None,
            "alpha": None,
            "alpha_ci": None,
            "per_code": {},
            "majority_code": None,
            "majority_f1": None,
            "majority_f1_ci": None,
        }
    top = majority_code({i: human[i] for i in ids})
    base = [(h, {top}) for h, _ in pairs]
    alpha = krippendorff_alpha(pairs, codes)

    def alpha_stat(sample):
        value = krippendorff_alpha(sample, codes)
        return float("nan") if value is None else value

    return {
        "n": len(pairs),
        "micro_f1": micro_f1(pairs),
        "micro_f1_ci": list(bootstrap_ci(pairs, micro_f1, rounds, seed)),
        "jaccard": jaccard(pairs),
        "jaccard_ci": list(bootstrap_ci(pairs, jaccard, rounds, seed)),
        "alpha": alpha,
        "alpha_ci": list(bootstrap_ci(pairs, alpha_stat, max(1, rounds // 5), seed)) if alpha is not None else None,
        "per_code": per_code_f1(pairs, codes),
        "majority_code": top,
        "majority_f1": micro_f1(base),
        "majority_f1_ci": list(bootstrap_ci(base, micro_f1, rounds, seed)),
    }


def agreement_table(results: dict[str, dict]):
    """One row per (question, coder): n, micro-F1, Jaccard, alpha with CIs, the majority baseline."""
    import pandas as pd

    rows = []
    for (qid, coder), a in results.items():
        rows.append(
            {
                "question": qid,
                "coder": coder,
                "n": a["n"],
                "micro_f1": a["micro_f1"],
                "micro_f1_ci": a["micro_f1_ci"],
                "jaccard": a["jaccard"],
                "alpha": a["alpha"],
                "alpha_ci": a["alpha_ci"],
                "majority_code": a["majority_code"],
                "majority_f1": a["majority_f1"],
            }
        )
    return pd.DataFrame(rows)


def per_code_table(results: dict[str, dict], themes: dict[str, dict[str, str]] | None = None):
    """One row per (question, code) of ``results`` ({question: agreement(...)}): F1, support, predicted, theme."""
    import pandas as pd

    rows = [
        {"question": q, "code": code, "theme": (themes or {}).get(q, {}).get(code, ""), **v}
        for q, a in results.items()
        for code, v in a["per_code"].items()
    ]
    cols = ["question", "code", "theme", "f1", "support", "predicted"]
    return (
        pd.DataFrame(rows, columns=cols)
        .sort_values(["question", "support", "code"], ascending=[True, False, True], kind="stable")
        .reset_index(drop=True)
    )
