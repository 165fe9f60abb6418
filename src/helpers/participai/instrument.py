"""The survey instrument as data (``data/participai_instrument.yaml``: our wording, the paper's structure), the
codebook we wrote for the quick profile, and the answer formats both our data and the public release use.

    inst = load_instrument()
    question_ids(inst)                 # ["Q1", "Q2", ..., "D-Q12"]: the release's column order after ResponseIdHash
    instrument_markdown(inst)          # the survey as a reader sees it (blocks, questions, answer formats)
    form(inst, on_submit)              # an ipywidgets form recording one response in the same schema
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

import yaml

from ..core.data import builtin_path

RATINGS = {
    "benefit": "Q10_1",
    "misuse_harm": "Q13_1",
    "failure_harm": "Q16_1",
    "not_developing_harm": "Q19_1",
    "not_developing_benefit": "Q22_1",
}  # the five 0-8 ratings of the model
LITERACY_ITEMS = ["AI-Q1", "AI-Q2", "AI-Q3", "AI-Q4", "AI-Q5", "AI-Q6"]
DEVELOP = "should be developed"


@cache
def load_instrument(name: str = "participai_instrument.yaml") -> dict[str, Any]:
    return yaml.safe_load(builtin_path(name).read_text(encoding="utf-8"))


@cache
def load_codebooks(name: str = "participai_codebook.yaml") -> dict[str, Any]:
    """Our codebooks: {book: {questions, question_text, codes: {code: {theme, definition, phrases}}}}."""
    return yaml.safe_load(builtin_path(name).read_text(encoding="utf-8"))


def questions(inst: dict) -> list[dict]:
    return [q for block in inst["blocks"] for q in block["questions"]]


def question_ids(inst: dict) -> list[str]:
    return [q["id"] for q in questions(inst)]


def question(inst: dict, qid: str) -> dict:
    for q in questions(inst):
        if q["id"] == qid:
            return q
    raise KeyError(f"question {qid!r} is not in the instrument")


def scale_index(value: Any, scale: list[str]) -> float | None:
    """Position of an answer on an ordered scale (0-based), matching on the label's words before any '('
    (the release's labels carry explanations in parentheses); None when it is not on the scale."""
    if not isinstance(value, str):
        return None
    key = _label_key(value)
    for i, label in enumerate(scale):
        if _label_key(label) == key:
            return float(i)
    return None


def _label_key(text: str) -> str:
    return re.sub(r"\s+", " ", text.split("(")[0].replace("’", "'")).strip().lower()


def instrument_markdown(inst: dict) -> str:
    """The instrument as Markdown: one table per block (id, question, answer format)."""
    lines = [f"**{inst['name']}** ({len(questions(inst))} items in {len(inst['blocks'])} blocks)"]
    for block in inst["blocks"]:
        lines += [
            "",
            f"**{block['title']}**" + (f": {block['intro']}" if block.get("intro") else ""),
            "",
            "| id | question | answer |",
            "|---|---|---|",
        ]
        for q in block["questions"]:
            lines.append(f"| {q['id']} | {q['text']} | {_answer_format(inst, q)} |")
    return "\n".join(lines)


def _answer_format(inst: dict, q: dict) -> str:
    if q["kind"] == "rating":
        return "0-8"
    if q["kind"] == "choice":
        labels = [_label_key(x) for x in inst["scales"][q["scale"]]]
        return " / ".join(labels) + (" (reverse-scored)" if q.get("reverse") else "")
    return "free text" + (f", coded ({q['coded']})" if q.get("coded") else "")


def empty_response(inst: dict) -> dict[str, Any]:
    return {"ResponseIdHash": "", **{qid: "" for qid in question_ids(inst)}}


def form(inst: dict, on_submit: Callable[[dict], Any]):
    """An ipywidgets form for the instrument; Submit calls ``on_submit`` with one response in the release's schema
    (question id -> answer, ratings as integers). Optional: for collecting responses in JupyterLab."""
    import ipywidgets as w

    fields: dict[str, Any] = {}
    rows = []
    for block in inst["blocks"]:
        rows.append(w.HTML(f"<h4>{block['title']}</h4>" + (f"<p>{block['intro']}</p>" if block.get("intro") else "")))
        for q in block["questions"]:
            if q["kind"] == "rating":
                fields[q["id"]] = w.IntSlider(value=4, min=0, max=8, description=q["id"])
            elif q["kind"] == "choice":
                fields[q["id"]] = w.Dropdown(options=[""] + inst["scales"][q["scale"]], description=q["id"])
            else:
                fields[q["id"]] = w.Textarea(description=q["id"], layout=w.Layout(width="90%"))
            rows += [w.Label(q["text"]), fields[q["id"]]]
    button = w.Button(description="Submit")

    def submit(_):
        response = empty_response(inst)
        response.update({k: f.value for k, f in fields.items()})
        on_submit(response)

    button.on_click(submit)
    return w.VBox(rows + [button])
