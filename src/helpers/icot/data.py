"""Data for stepwise internalization: n x n multiplication in the reference format, and GSM8K.

An example is a dict ``{"id", "input", "cot", "answer"}`` of plain strings; a line of the reference's
files is ``input||cot #### answer``. Multiplication (Deng et al., arXiv 2405.14838) writes digits
least significant first, space separated::

    9 1 7 3 * 9 4 3 3||1 7 4 3 3 + 0 6 7 8 4 1 ( 1 3 2 2 8 1 ) + ... #### 1 3 9 4 5 4 2 1

Partial product i is digit_i(b) * a * 10^i, zero padded to n+1+i digits; from the third partial
product on, the running sum of the earlier ones (padded to the previous product's width) comes in
parentheses before it; the answer is padded to 2n digits.

    splits = multiplication_splits(4, n_train=1000, n_valid=100, n_test=100, seed=0)
    gsm = load_gsm8k("openai/gsm8k", split="test")          # or a local JSONL / the reference's .txt
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from ..core.data import DataError, load_records, read_local_text
from ..core.store import stable_id

SEPARATOR = "||"
ANSWER_MARK = "####"


# ------------------------------------------------------------------------------- multiplication
def reversed_digits(value: int, width: int) -> str:
    """``value`` zero padded to ``width`` digits, least significant first, space separated."""
    text = str(value).zfill(width)
    if len(text) > width:
        raise ValueError(f"{value} does not fit in {width} digits")
    return " ".join(reversed(text))


def multiplication_example(a: int, b: int, n_digits: int) -> dict[str, str]:
    """The reference's input, CoT and answer for ``a * b`` (both ``n_digits`` long)."""
    b_digits = [int(d) for d in reversed(str(b).zfill(n_digits))]
    parts, running = [], 0
    for i, digit in enumerate(b_digits):
        product = digit * a * 10**i
        if i >= 2:  # the running sum of the earlier products, as wide as the last of them
            parts.append(f"( {reversed_digits(running, n_digits + i)} )")
        if i >= 1:
            parts.append("+")
        parts.append(reversed_digits(product, n_digits + 1 + i))
        running += product
    return {
        "input": f"{reversed_digits(a, n_digits)} * {reversed_digits(b, n_digits)}",
        "cot": " ".join(parts),
        "answer": reversed_digits(a * b, 2 * n_digits),
    }


def multiplication_splits(
    n_digits: int, n_train: int, n_valid: int, n_test: int, seed: int = 0
) -> dict[str, list[dict]]:
    """Disjoint train / valid / test sets of distinct n-digit pairs, drawn uniformly with ``seed``."""
    low, high = 10 ** (n_digits - 1), 10**n_digits - 1
    total = n_train + n_valid + n_test
    if total > (high - low + 1) ** 2:
        raise ValueError(f"{total} distinct {n_digits}x{n_digits} pairs asked for; only {(high - low + 1) ** 2} exist")
    rng, seen, pairs = random.Random(f"icot-mult-{n_digits}-{seed}"), set(), []
    while len(pairs) < total:
        pair = (rng.randint(low, high), rng.randint(low, high))
        if pair not in seen:
            seen.add(pair)
            pairs.append(pair)
    # test first, then valid: growing n_train keeps the same test set
    bounds = {"test": (0, n_test), "valid": (n_test, n_test + n_valid), "train": (n_test + n_valid, total)}
    return {
        split: [
            {"id": f"{split}-{i}", **multiplication_example(a, b, n_digits)} for i, (a, b) in enumerate(pairs[lo:hi])
        ]
        for split, (lo, hi) in bounds.items()
    }


# ------------------------------------------------------------------------------- line format
def format_line(example: dict[str, str]) -> str:
    return f"{example['input']}{SEPARATOR}{example['cot']} {ANSWER_MARK} {example['answer']}"


def parse_line(line: str) -> dict[str, str]:
    """``input||cot #### answer`` -> ``{"input", "cot", "answer"}`` (the reference's files)."""
    if SEPARATOR not in line or ANSWER_MARK not in line:
        raise DataError(f"line is not in the format 'input||cot #### answer': {line[:80]!r}")
    source, rest = line.split(SEPARATOR, 1)
    cot, answer = rest.rsplit(ANSWER_MARK, 1)
    return {"input": source.strip(), "cot": cot.strip(), "answer": answer.strip()}


# ------------------------------------------------------------------------------- GSM8K
_CALC = re.compile(r"<<([^<>]*)>>")


def gsm8k_example(question: str, solution: str, cot: str | None = None) -> dict[str, str]:
    """A GSM8K record -> input / CoT / answer; the CoT is the calculator annotations, as in GSM8K-Aug.

    ``solution`` is GSM8K's answer field (rationale with ``<<4*2=8>>`` annotations, then ``#### 8``);
    ``cot`` overrides the extracted chain when a data set ships one (e.g. GSM8K-Aug).
    """
    if ANSWER_MARK not in solution:
        answer, steps = solution, cot or ""
    else:
        rationale, answer = solution.rsplit(ANSWER_MARK, 1)
        steps = cot if cot is not None else " ".join(f"<<{m}>>" for m in _CALC.findall(rationale))
        if not steps:  # no annotations: the rationale's lines are the steps
            steps = " ".join(line.strip() for line in rationale.splitlines() if line.strip())
    return {
        "input": " ".join(question.split()),
        "cot": " ".join(steps.split()),
        "answer": answer.strip().replace(",", ""),
    }


def _from_record(rec: dict[str, Any]) -> dict[str, str]:
    if {"input", "cot", "answer"} <= set(rec):
        return {k: str(rec[k]).strip() for k in ("input", "cot", "answer")}
    if {"question", "answer"} <= set(rec):
        cot = rec.get("cot") if isinstance(rec.get("cot"), str) else None
        if cot is not None and ANSWER_MARK not in str(rec["answer"]):
            return {
                "input": " ".join(rec["question"].split()),
                "cot": " ".join(cot.split()),
                "answer": str(rec["answer"]).strip().replace(",", ""),
            }
        return gsm8k_example(rec["question"], str(rec["answer"]), cot)
    raise DataError(f"a GSM8K record needs question/answer or input/cot/answer fields, got {sorted(rec)}")


def load_gsm8k(source: str, split: str = "train", limit: int | None = None) -> list[dict[str, str]]:
    """GSM8K-style examples from a hub id (``openai/gsm8k``, config ``main``), a local JSONL with
    question/answer (or input/cot/answer), or a ``.txt`` file in the reference's line format."""
    path = Path(source).expanduser()
    if path.suffix == ".txt":
        if not path.exists():
            raise DataError(f"data file {source} not found")
        lines = [ln for ln in read_local_text(path).splitlines() if ln.strip()]
        records = [parse_line(ln) for ln in lines[:limit]]
    else:
        config = "main" if source.rstrip("/").endswith("openai/gsm8k") else None
        records = [_from_record(r) for r in load_records(source, split=split, config=config, limit=limit)]
    return [{"id": f"{split}-{i}-{stable_id(r['input'], length=8)}", **r} for i, r in enumerate(records)]


# ------------------------------------------------------------------------------- tasks
def parse_task(task: str) -> tuple[str, int]:
    """``mult:4`` -> ("mult", 4); ``gsm8k`` -> ("gsm8k", 0)."""
    kind, _, size = task.partition(":")
    if kind == "mult" and size.isdigit() and int(size) >= 1:
        return "mult", int(size)
    if kind == "gsm8k" and not size:
        return "gsm8k", 0
    raise ValueError(f"task {task!r}: use mult:N (N-digit multiplication, e.g. mult:4) or gsm8k")


def rehearsal_gsm8k(n: int = 60) -> list[dict[str, str]]:
    """GSM8K-schema records (question, rationale with <<calc>> annotations, #### answer) written by us: the
    stand-in for the hub set when a full profile is rehearsed offline (helpers.core.rehearsal)."""
    rows = []
    for i in range(n):
        a, b, c = 2 + i % 7, 3 + i % 5, 2 + i % 3
        rows.append(
            {
                "question": f"Ann has {a} boxes with {b} pens each and gives away {c} pens. How many pens are left?",
                "answer": f"She has {a}*{b}=<<{a}*{b}={a * b}>>{a * b} pens.\n"
                f"After giving away {c}: {a * b}-{c}=<<{a * b}-{c}={a * b - c}>>{a * b - c}.\n#### {a * b - c}",
            }
        )
    return rows


def gsm8k_split(source: str, split: str, limit: int | None) -> list[dict[str, str]]:
    """One split from a hub id, or from a folder holding ``<split>.jsonl`` or ``<split>.txt`` (the reference's)."""
    from ..core import rehearsal

    folder = Path(source).expanduser()
    if folder.is_dir():
        files = [folder / f"{split}{ext}" for ext in (".jsonl", ".txt")]
        found = next((f for f in files if f.exists()), None)
        if found is None:
            raise DataError(f"GSM8K folder {source} has no {split}.jsonl or {split}.txt")
        return load_gsm8k(str(found), split, limit)
    if rehearsal.active() and rehearsal.data_source(source) == source and not folder.exists():
        rows = rehearsal_gsm8k()
        half = len(rows) // 2
        rows = rows[:half] if split == "test" else rows[half:]
        return [{"id": f"{split}-{i}", **_from_record(r)} for i, r in enumerate(rows[:limit])]
    return load_gsm8k(source, split, limit)


def load_task(
    task: str, n_train: int, n_valid: int, n_test: int, seed: int = 0, gsm8k_data: str = "openai/gsm8k"
) -> dict[str, list[dict]]:
    """Train / valid / test examples of a task (``mult:N`` generated, ``gsm8k`` loaded).

    GSM8K from the hub (or a folder with train/test files) uses its train and test splits, validation
    being the last ``n_valid`` training examples; a single local file is cut in order into test
    (first ``n_test``), validation (next ``n_valid``) and train (the rest). ``n_train`` 0 keeps all.
    """
    kind, size = parse_task(task)
    if kind == "mult":
        return multiplication_splits(size, n_train, n_valid, n_test, seed)
    if Path(gsm8k_data).expanduser().is_file():
        rows = load_gsm8k(gsm8k_data, "all")
        rest = rows[n_test + n_valid :]
        return {
            "train": rest[:n_train] if n_train else rest,
            "valid": rows[n_test : n_test + n_valid],
            "test": rows[:n_test],
        }
    train = gsm8k_split(gsm8k_data, "train", n_train + n_valid if n_train else None)
    test = gsm8k_split(gsm8k_data, "test", n_test or None)
    cut = max(len(train) - n_valid, 1) if n_valid else len(train)
    return {"train": train[:cut], "valid": train[cut:], "test": test}
