"""Synthetic survey responses with known truths, written in the public release's layout (the quick profile's data).

    truth = write_release("src/helpers/data/participai_synthetic", n=300, seed=0)

The develop decision (Q23) follows a logistic model with known coefficients on the five ratings (some matter,
some do not) and the AI-literacy score (demographics have no effect); free-text answers are written from
known codes of our codebook. Beside the release's files the folder gets ``truth.json``: the coefficients, each
answer's true codes, and the noise applied to the "paper LLM" codes (each true code dropped with
``drop_rate``, a wrong code added with ``add_rate``). Human annotations are the true codes of ``n_human`` answers.
Nothing here comes from the public release: the schema (file names, columns, JSON shapes) is all it shares.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

from ..core.store import atomic_write_json, atomic_write_text
from .instrument import LITERACY_ITEMS, RATINGS, load_codebooks, load_instrument, question_ids

# logit P(develop) = intercept + sum coef * rating + literacy * (literacy score - 4); demographics: no effect
TRUE_COEFFICIENTS = {
    "benefit": 0.20,
    "misuse_harm": 0.0,
    "failure_harm": 0.0,
    "not_developing_harm": 0.45,
    "not_developing_benefit": -0.45,
    "literacy": 0.5,
}
RATING_MEANS = {
    "benefit": 5.5,
    "misuse_harm": 4.5,
    "failure_harm": 4.5,
    "not_developing_harm": 4.0,
    "not_developing_benefit": 3.0,
}
BASE_LOGIT = 1.9  # the logit at the rating means and a literacy score of 4: about 82% "should be developed"
CODED = {"task": ["Q7_4"], "harms": ["Q11_4", "Q14_4"], "groups": ["Q12"], "not-dev-harms": ["Q17_4"]}
LLM_CODED = ["Q7_4", "Q11_4", "Q14_4", "Q17_4"]  # the release has LLM codes for these (not for the group questions)
FILE_TAG = "synthetic"


def true_intercept() -> float:
    return BASE_LOGIT - sum(TRUE_COEFFICIENTS[k] * RATING_MEANS[k] for k in RATINGS)


def _rating(rng: random.Random, mean: float) -> int:
    return int(min(8, max(0, round(rng.gauss(mean, 2.2)))))


def _answer(rng: random.Random, book: dict, k_max: int, na_rate: float = 0.05) -> tuple[str, list[str]]:
    if rng.random() < na_rate:
        return rng.choice(["not sure", "I don't know", "no idea"]), ["na"]
    codes = rng.sample(sorted(book["codes"]), k=rng.randint(1, k_max))
    phrases = [rng.choice(book["codes"][c]["phrases"]) for c in codes]
    text = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return text[0].upper() + text[1:] + ".", codes


def _noisy(rng: random.Random, codes: list[str], universe: list[str], drop: float, add: float) -> list[str]:
    kept = [c for c in codes if rng.random() >= drop] or codes[:1]
    if rng.random() < add:
        wrong = [c for c in universe if c not in kept]
        kept.append(rng.choice(wrong))
    return kept


def synthetic_responses(n: int, seed: int = 0) -> tuple[list[dict], dict[str, dict[str, list[str]]]]:
    """``n`` rows in the release's raw_data schema and each coded answer's true codes ({qid: {rid: codes}})."""
    inst, books = load_instrument(), load_codebooks()
    scales = inst["scales"]
    rng = random.Random(seed)
    rows, codes = [], {q: {} for qs in CODED.values() for q in qs}
    for i in range(n):
        rid = f"syn{seed:02d}{i:05d}"
        row: dict[str, Any] = {"ResponseIdHash": rid, **{q: "" for q in question_ids(inst)}}
        ratings = {k: _rating(rng, RATING_MEANS[k]) for k in RATINGS}
        row.update({RATINGS[k]: v for k, v in ratings.items()})
        literacy_latent = rng.gauss(0, 1)
        items = [min(7, max(1, round(4 + 1.2 * literacy_latent + rng.gauss(0, 0.8)))) for _ in LITERACY_ITEMS]
        for qid, value in zip(LITERACY_ITEMS, items):
            reverse = qid == "AI-Q5"
            row[qid] = scales["agree7"][(8 - value if reverse else value) - 1]
        literacy = sum(items) / len(items)
        logit = (
            true_intercept()
            + sum(TRUE_COEFFICIENTS[k] * ratings[k] for k in RATINGS)
            + TRUE_COEFFICIENTS["literacy"] * (literacy - 4)
        )
        row["Q23"] = scales["develop"][0 if rng.random() < 1 / (1 + math.exp(-logit)) else 1]
        for qid in ("Q1", "Q4"):
            row[qid] = "Yes" if rng.random() < 0.88 else "No"
        for qid in ("Q2", "Q5", "Q24"):
            row[qid] = rng.choice(scales["confidence"][1:])
        row["Q25_1"] = _rating(rng, 5.5)
        row["AI-Q7"] = rng.choice(scales["genai_use"])
        row["AI-Q8"] = rng.choice(scales["familiarity"])
        for qid, scale in (("D-Q1", "age"), ("D-Q4", "gender"), ("D-Q7", "politics"), ("D-Q8", "education")):
            row[qid] = rng.choice(scales[scale][:3] if scale == "gender" else scales[scale])
        row["D-Q3"] = "No"
        row["D-Q9"] = "United States of America"
        for book, qids in CODED.items():
            for qid in qids:
                text, true = _answer(rng, books[book], 2 if book != "task" else 1)
                row[qid], codes[qid][rid] = text, true
        row["Q3"] = row["Q6"] = row["Q7_4"]
        row["Q8_4"] = "It would save people time and effort."
        row["Q11_5"], row["Q14_5"] = row["Q11_4"], row["Q14_4"]
        rows.append(row)
    return rows, codes


def write_release(
    folder: str | Path, n: int = 300, seed: int = 0, n_human: int = 80, drop_rate: float = 0.2, add_rate: float = 0.3
) -> dict[str, Any]:
    """Write a synthetic release (our data, the release's layout) into ``folder``; returns the truths."""
    import pandas as pd

    inst, books = load_instrument(), load_codebooks()
    root = Path(folder)
    data = root / "data"
    rows, codes = synthetic_responses(n, seed)
    atomic_write_json(root / "questions.json", {q["id"]: q["text"] for b in inst["blocks"] for q in b["questions"]})
    atomic_write_text(data / "raw_data.csv", pd.DataFrame(rows).to_csv(index=False))
    rng = random.Random(seed + 1)
    by_id = {r["ResponseIdHash"]: r for r in rows}
    for book, spec in books.items():
        folder_b = data / "codes" / f"{book}-coding"
        defs = {c: v["definition"] for c, v in spec["codes"].items()} | {"na": "The answer does not make sense here"}
        atomic_write_json(folder_b / f"code-def-{FILE_TAG}.json", defs)
        template = {
            "system": "You help code survey answers. Read the code definitions and choose the codes that fit.",
            "user": "Codes and definitions:\n{}\n\nThe question: "
            + spec["question_text"]
            + '\nChoose one to four codes for this answer, as JSON: "{}"',
        }
        atomic_write_json(folder_b / f"prompt-template-{FILE_TAG}.json", template)
        code_list = "\n".join(f"{c}: {d}" for c, d in defs.items())
        example = next(iter(spec["codes"]))
        atomic_write_json(
            folder_b / f"fewshot-{FILE_TAG}.json",
            [
                {"role": "user", "content": template["user"].format(code_list, spec["codes"][example]["phrases"][0])},
                {"role": "assistant", "content": json.dumps({example: True})},
            ],
        )
        themes = {c: v["theme"] for c, v in spec["codes"].items()} | {"na": "other"}
        qids = [q for q in CODED.get(book, []) if q in LLM_CODED]
        if qids:
            name = "Q11-14" if book == "harms" else qids[0]
            atomic_write_json(data / "themes" / f"{name}-themes-{FILE_TAG}.json", themes)
    noisy = {}
    for qid, truth in codes.items():
        universe = sorted(books[next(b for b, qs in CODED.items() if qid in qs)]["codes"])
        human_ids = sorted(truth)[: min(n_human, len(truth))]
        _write_codes(data / "human_annotations" / f"{qid}.csv", qid, human_ids, by_id, truth)
        if qid in LLM_CODED:
            noisy[qid] = {
                rid: _noisy(rng, c, universe, drop_rate, add_rate) if c != ["na"] else c for rid, c in truth.items()
            }
            _write_codes(
                data / "coding_results" / f"{qid}_codes_merged_{FILE_TAG}.csv", qid, sorted(truth), by_id, noisy[qid]
            )
    truths = {
        "n": n,
        "seed": seed,
        "intercept": true_intercept(),
        "coefficients": TRUE_COEFFICIENTS,
        "ratings": RATINGS,
        "drop_rate": drop_rate,
        "add_rate": add_rate,
        "codes": codes,
        "llm_codes": noisy,
    }
    atomic_write_json(root / "truth.json", truths)
    return truths


def _write_codes(path: Path, qid: str, ids: list[str], rows: dict[str, dict], codes: dict[str, list[str]]) -> None:
    import pandas as pd

    width = max(len(codes[i]) for i in ids)
    table = [
        {
            "ResponseIdHash": i,
            qid: rows[i][qid],
            **{f"code{k + 1}": (codes[i][k] if k < len(codes[i]) else "") for k in range(width)},
        }
        for i in ids
    ]
    atomic_write_text(path, pd.DataFrame(table).to_csv(index=False))


if __name__ == "__main__":  # regenerate the shipped quick data: python -m helpers.participai.offline_data
    from ..core.data import DATA_DIR

    write_release(DATA_DIR / "participai_synthetic", n=300, seed=0)
