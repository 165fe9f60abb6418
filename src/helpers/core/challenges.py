"""The 18 foundational challenges of LLM alignment and safety (Anwar et al. 2024, arXiv 2404.09932) and which
notebook informs which, with which metrics (``data/challenges.yaml``, ``data/challenge_map.yaml``).

    challenges()                   # [{"id": "2.1", "group": "Scientific understanding of LLMs", "title": ...}, ...]
    challenge_map()                # {"07_culturegen": [{"challenge": "4.1", "metrics": [...], "why": ...}], ...}
    map_problems()                 # what is wrong with the map (unknown ids, empty metric lists); [] when fine
    markdown_table()               # the README's table (tools/challenges_table.py prints it)
    index_section(runs)            # outputs/index.html's "By challenge" view: latest value of each mapped metric

The map names notebooks by their stem and metrics by their metrics.json keys; a challenge no notebook names is a
gap, shown as one.
"""

from __future__ import annotations

import html
from functools import cache
from typing import Any

import yaml

from .data import DATA_DIR

CHALLENGES_FILE = DATA_DIR / "challenges.yaml"
MAP_FILE = DATA_DIR / "challenge_map.yaml"


@cache
def _load(path: str) -> Any:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def challenges() -> list[dict[str, str]]:
    data = _load(str(CHALLENGES_FILE))
    return [
        {"id": str(c["id"]), "group": data["groups"][str(c["id"]).split(".")[0]], "title": c["title"]}
        for c in data["challenges"]
    ]


def challenge_map() -> dict[str, list[dict[str, Any]]]:
    return {
        str(nb): [
            {"challenge": str(e["challenge"]), "metrics": list(e.get("metrics") or []), "why": e.get("why", "")}
            for e in entries
        ]
        for nb, entries in (_load(str(MAP_FILE)) or {}).items()
    }


def map_problems(known_ids: list[str] | None = None, mapping: dict | None = None) -> list[str]:
    """Unknown or duplicate challenge ids, notebooks without entries, entries without metrics."""
    ids = known_ids if known_ids is not None else [c["id"] for c in challenges()]
    problems = [f"challenge id {i} is listed twice" for i in sorted(set(ids)) if ids.count(i) > 1]
    for nb, entries in (mapping if mapping is not None else challenge_map()).items():
        if not entries:
            problems.append(f"{nb}: no challenges listed (leave the notebook out instead)")
        for e in entries:
            if e["challenge"] not in ids:
                problems.append(f"{nb}: unknown challenge id {e['challenge']!r} (known: {', '.join(ids)})")
            if not e["metrics"]:
                problems.append(f"{nb}: challenge {e['challenge']} names no metric")
    return problems


def by_challenge(mapping: dict | None = None) -> list[dict[str, Any]]:
    """All 18 challenges in order, each with the (notebook, metrics, why) entries that inform it ([] = a gap)."""
    mapping = mapping if mapping is not None else challenge_map()
    rows = []
    for c in challenges():
        entries = [{"notebook": nb, **e} for nb, es in sorted(mapping.items()) for e in es if e["challenge"] == c["id"]]
        rows.append({**c, "entries": entries})
    return rows


def markdown_table(mapping: dict | None = None) -> str:
    """The README's table: one row per challenge, the notebooks and metrics that inform it, gaps marked."""
    lines = ["| challenge | informed by (metrics) |", "|---|---|"]
    for row in by_challenge(mapping):
        cell = (
            "; ".join(f"`{e['notebook']}` ({', '.join(e['metrics'])})" for e in row["entries"])
            or "**gap**: no notebook yet"
        )
        lines.append(f"| {row['id']} {row['title']} | {cell} |")
    rows = by_challenge(mapping)
    gaps = sum(not r["entries"] for r in rows)
    return "\n".join(lines) + f"\n\n{len(rows) - gaps} of {len(rows)} challenges informed; {gaps} gaps."


def _short(v: Any) -> str:
    """A metric as a reader wants it: floats to 4 significant digits, also inside a per-category dict."""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_short(x)}" for k, x in v.items()) + "}"
    return str(v)


def _value(metrics: dict[str, Any], key: str) -> str:
    if key not in metrics:
        return "–"
    text = _short(metrics[key])
    ci = metrics.get(f"{key}_ci")
    if isinstance(ci, list) and len(ci) == 2 and all(isinstance(x, (int, float)) for x in ci):
        text += f" [{ci[0]:.3g}, {ci[1]:.3g}]"
    return text


def latest_ok(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The newest finished run with status ok of each notebook (``report.collect_runs`` rows)."""
    out: dict[str, dict[str, Any]] = {}
    for r in sorted(runs, key=lambda r: -float(r.get("finished_at") or r.get("started_at") or 0)):
        if r.get("status") == "ok" and r.get("notebook") not in out:
            out[r["notebook"]] = r
    return out


def index_section(runs: list[dict[str, Any]], mapping: dict | None = None) -> str:
    """HTML: the 18 challenges, each with the latest value of every mapped metric (from the newest ok run of its
    notebook; "–" when that run lacks it, "no run yet" when the notebook has none); gaps are marked."""
    latest = latest_ok(runs)
    rows = []
    for row in by_challenge(mapping):
        if not row["entries"]:
            cell = "<b style='color:#b60'>gap</b>: no notebook informs this challenge yet"
        else:
            parts = []
            for e in row["entries"]:
                run = latest.get(e["notebook"])
                if run is None:
                    vals = "<i>no run yet</i>"
                else:
                    vals = ", ".join(
                        f"{html.escape(k)} = {html.escape(_value(run['metrics'], k))}" for k in e["metrics"]
                    )
                    vals += f" <small>({html.escape(str(run.get('run_name', '')))})</small>"
                parts.append(f"<b>{html.escape(e['notebook'])}</b>: {vals}<br><small>{html.escape(e['why'])}</small>")
            cell = "<br>".join(parts)
        rows.append(
            f"<tr><td>{html.escape(row['id'])}</td><td>{html.escape(row['title'])}<br><small>"
            f"{html.escape(row['group'])}</small></td><td>{cell}</td></tr>"
        )
    gaps = sum(not r["entries"] for r in by_challenge(mapping))
    return (
        f"<h2>By challenge</h2><p>The 18 foundational challenges of LLM alignment and safety (arXiv 2404.09932), "
        f"the notebooks that inform each and the latest value of their metrics (newest ok run); {gaps} gaps.</p>"
        "<table><tr><th>id</th><th>challenge</th><th>notebooks: latest metrics</th></tr>" + "".join(rows) + "</table>"
    )
