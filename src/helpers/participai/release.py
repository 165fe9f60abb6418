"""Loaders for the Particip-AI public release's layout, read from a folder the user downloaded (CC BY-NC 4.0:
nothing of it is shipped here), and for our synthetic data written in the same layout.

    rel = load_release("~/data/Particip-AI")          # the repository folder (questions.json + data/) or its data/
    rel = load_release("builtin:participai_synthetic")  # our quick data
    rel.responses          # DataFrame: raw_data.csv (ResponseIdHash + the survey's columns)
    rel.codebooks["harms"] # Codebook: codes {code: definition}, few-shot messages, prompt template, its questions
    rel.llm_codes["Q11_4"] # {ResponseIdHash: [codes]} from coding_results/ (the paper's LLM codes)
    rel.human_codes["Q11_4"]  # {ResponseIdHash: [codes]} from human_annotations/
    rel.themes["Q11_4"]    # {code: theme}

``check_release`` is the runner's precheck: a missing folder, file or column is one line naming it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.data import builtin_path
from .instrument import RATINGS

# the release's codebook folders (codes/<name>-coding/) and the questions each one codes
CODEBOOK_QUESTIONS = {
    "task": ["Q7_4"],
    "benefits": ["Q8_4"],
    "harms": ["Q11_4", "Q11_5", "Q14_4", "Q14_5"],
    "not-dev-harms": ["Q17_4"],
    "not-dev-benefits": ["Q20_4"],
    "groups": ["Q9", "Q12", "Q15", "Q18", "Q21"],
}
REQUIRED_COLUMNS = ["ResponseIdHash", "Q1", "Q4", "Q23", *RATINGS.values()]


class ReleaseError(ValueError):
    """The release folder is missing, incomplete or malformed; the message names the file and the fix."""


@dataclass
class Codebook:
    name: str
    codes: dict[str, str]  # code -> definition
    fewshot: dict[str, list[dict]]  # question id ("" for all) -> chat messages
    template: dict[str, str]  # {"system": ..., "user": ... with two {} slots: the code list, the answer}
    questions: list[str]

    def fewshot_for(self, qid: str) -> list[dict]:
        return self.fewshot.get(qid.lower()) or self.fewshot.get("") or []


@dataclass
class Release:
    root: Path
    responses: Any  # pandas DataFrame
    questions: dict[str, str]
    codebooks: dict[str, Codebook] = field(default_factory=dict)
    llm_codes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    human_codes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    themes: dict[str, dict[str, str]] = field(default_factory=dict)
    answers: dict[str, dict[str, str]] = field(default_factory=dict)  # qid -> {rid: text} (all respondents)
    synthetic: bool = False  # our generated data (its truth.json is beside questions.json)
    truth: dict[str, Any] = field(default_factory=dict)  # synthetic data: the generator's coefficients (truth.json)

    def codes(self, qid: str) -> tuple[dict[str, list[str]], str]:
        """A question's codes for the descriptives: the release's LLM codes (all respondents) where it has them,
        else the human codes; and which ("LLM", "human", or "no" when neither exists)."""
        if qid in self.llm_codes:
            return self.llm_codes[qid], "LLM"
        return (self.human_codes[qid], "human") if qid in self.human_codes else ({}, "no")

    def codebook_for(self, qid: str) -> Codebook:
        for book in self.codebooks.values():
            if qid in book.questions:
                return book
        raise ReleaseError(f"no codebook in {self.root} codes question {qid} (codebooks: {sorted(self.codebooks)})")


def resolve_root(source: str) -> Path:
    """The folder holding questions.json (the repository) from a path, ``~`` path, or ``builtin:NAME``."""
    path = builtin_path(source.split(":", 1)[1]) if source.startswith("builtin:") else Path(source).expanduser()
    if not path.is_dir():
        raise ReleaseError(
            f"release folder {path} not found: download the Particip-AI repository (JiMinMun/Particip-AI) "
            f"and give its folder"
        )
    if not (path / "questions.json").exists() and (path.parent / "questions.json").exists() and path.name == "data":
        path = path.parent
    return path


def _data_dir(root: Path) -> Path:
    return root / "data" if (root / "data" / "raw_data.csv").exists() else root


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReleaseError(
            f"{path} is not readable JSON ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
        ) from None


def _read_csv(path: Path, required: list[str]):
    import pandas as pd

    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ReleaseError(
            f"{path} is not a readable CSV ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
        ) from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ReleaseError(f"{path} lacks the columns {missing} (has {list(df.columns)[:8]}...)")
    return df


def _codes_table(path: Path, qid: str) -> dict[str, list[str]]:
    """``ResponseIdHash,<qid>,code1..codeN`` -> {rid: [codes]} (empty cells dropped, order kept)."""
    df = _read_csv(path, ["ResponseIdHash"])
    code_cols = [c for c in df.columns if re.fullmatch(r"code\d+", c)]
    if not code_cols:
        raise ReleaseError(f"{path} has no code1..codeN columns")
    return {
        str(r["ResponseIdHash"]): [str(r[c]).strip() for c in code_cols if str(r[c]).strip()] for _, r in df.iterrows()
    }


def _newest(paths: list[Path]) -> Path | None:
    return sorted(paths)[-1] if paths else None


def _codebook(folder: Path) -> Codebook:
    name = folder.name.removesuffix("-coding")
    defs = _newest(list(folder.glob("code-def-*.json")))
    template = _newest(list(folder.glob("*prompt-template-*.json")))
    if defs is None or template is None:
        raise ReleaseError(f"codebook folder {folder} lacks code-def-*.json or prompt-template-*.json")
    codes = _read_json(defs)
    if not isinstance(codes, dict) or not codes:
        raise ReleaseError(f"{defs} must be a JSON object {{code: definition}}")
    tmpl = _read_json(template)
    if not isinstance(tmpl, dict) or "user" not in tmpl or tmpl["user"].count("{}") != 2:
        raise ReleaseError(f"{template} must hold {{'system', 'user'}} with two {{}} slots (codes, answer)")
    fewshot = {}
    for path in folder.glob("*fewshot-*.json"):
        prefix = path.name.split("fewshot-")[0].rstrip("-").lower()
        shots = _read_json(path)
        if not isinstance(shots, list) or not all(
            isinstance(m, dict) and "role" in m and "content" in m for m in shots
        ):
            raise ReleaseError(f"{path} must be a list of chat messages ({{role, content}})")
        fewshot[prefix] = shots
    return Codebook(
        name,
        {str(k): str(v) for k, v in codes.items()},
        fewshot,
        {"system": str(tmpl.get("system", "")), "user": str(tmpl["user"])},
        CODEBOOK_QUESTIONS.get(name, []),
    )


def _theme_questions(prefix: str) -> set[int]:
    """``Q11-14`` -> {11, 14}; ``Q7_4`` -> {7}: the question numbers a themes file covers."""
    return {int(m.group(1)) for part in prefix.split("-") if (m := re.match(r"Q?(\d+)", part))}


def load_release(source: str) -> Release:
    root = resolve_root(source)
    data = _data_dir(root)
    if not (data / "raw_data.csv").exists():
        raise ReleaseError(f"{root} has no data/raw_data.csv: is this the Particip-AI repository folder?")
    if not (root / "questions.json").exists():
        raise ReleaseError(f"{root} has no questions.json: is this the Particip-AI repository folder?")
    responses = _read_csv(data / "raw_data.csv", REQUIRED_COLUMNS)
    rel = Release(root, responses, _read_json(root / "questions.json"), synthetic=(root / "truth.json").exists())
    if rel.synthetic:
        truth = _read_json(root / "truth.json")
        rel.truth = {k: truth.get(k) for k in ("coefficients", "intercept", "drop_rate", "add_rate")}
    for folder in sorted((data / "codes").glob("*-coding")):
        book = _codebook(folder)
        rel.codebooks[book.name] = book
    for path in sorted((data / "coding_results").glob("*_codes_merged_*.csv")):
        qid = path.name.split("_codes_merged_")[0]
        rel.llm_codes[qid] = _codes_table(path, qid)
    for path in sorted((data / "human_annotations").glob("*.csv")):
        rel.human_codes[path.stem] = _codes_table(path, path.stem)
    themes_files = sorted((data / "themes").glob("*-themes-*.json"))
    for qid in set(rel.llm_codes) | set(rel.human_codes):
        number = int(re.match(r"Q(\d+)", qid).group(1))
        for path in themes_files:
            prefix = path.name.split("-themes-")[0]
            if prefix == qid or (prefix.count("-") and number in _theme_questions(prefix)):
                rel.themes[qid] = {str(k): str(v) for k, v in _read_json(path).items()}
    if not rel.human_codes:
        raise ReleaseError(
            f"{data / 'human_annotations'} holds no <question>.csv files: the coding cannot be validated"
        )
    rel.answers = {
        q: dict(zip(responses.ResponseIdHash, responses[q])) for q in responses.columns if q != "ResponseIdHash"
    }
    return rel


def check_release(source: str, coding_questions: list[str]) -> None:
    """The precheck: the release loads and every question to code has a codebook and human codes."""
    rel = load_release(source)
    for qid in coding_questions:
        rel.codebook_for(qid)
        if qid not in rel.human_codes:
            raise ReleaseError(
                f"question {qid}: no human_annotations/{qid}.csv in {rel.root} (annotated: {sorted(rel.human_codes)})"
            )
