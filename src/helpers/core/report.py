"""The shareable side of a run: a clean HTML report of the executed notebook, and the outputs index.

The executed ``.ipynb`` keeps everything the kernel printed. The HTML report is for readers:

* progress bars and engine logs (stderr streams) are dropped from cells; lines that carry a warning
  are collected, de-duplicated, into one "Warnings" section at the end;
* the notebook's own parameters cell is hidden and papermill's injected cell becomes one table of
  the effective values, marking those that differ from the notebook's defaults;
* the title is the notebook's first heading; ``exclude_input=True`` hides the code for sharing.

``write_index`` lists every run of every notebook under ``outputs/`` (from each run's run.json and
metrics.json): status, profile, commit, time, the finding, the signal and headline numbers with CIs.
"""

from __future__ import annotations

import html
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from .challenges import index_section as challenges_section
from .store import atomic_write_text, read_json

_PROGRESS_RE = re.compile(r"\d+%\||\|\s*\d+/\d+\s*\[|it/s\]|s/it\]|\r")
_LOG_RE = re.compile(r"^(INFO|DEBUG|WARNING|ERROR)?\s*\d\d-\d\d \d\d:\d\d:\d\d|^\([\w.-]+ pid=\d+\)|^\[[\w:. -]+\]")
_WARN_RE = re.compile(r"warn|error|deprecat", re.IGNORECASE)
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Known-harmless lines, never shown: Ray without ray[default]'s metrics agent says so once per process.
_HARMLESS_RE = re.compile(r"Failed to establish connection to the metrics exporter agent")
_LOG_PREFIX_RE = re.compile(
    r"^\([\w.-]+ pid=\d+\)\s*|^(INFO|DEBUG|WARNING|ERROR)\s+\d\d-\d\d \d\d:\d\d:\d\d\s+(\[[^\]]*\]\s*)?"
)


def _split_stream(text: str) -> tuple[str, list[str]]:
    """(the lines a reader wants, warning lines) of a stream: progress bars and engine logs leave the text;
    engine WARNING/ERROR lines become warnings with their pid/time prefix stripped."""
    keep, warnings = [], []
    for raw in _ANSI_RE.sub("", text).replace("\r\n", "\n").split("\n"):
        line = raw.split("\r")[-1]  # a carriage return redraws the line: the reader sees the last state
        if _HARMLESS_RE.search(line):
            continue
        if _PROGRESS_RE.search(raw) and not line.strip():
            continue
        if _PROGRESS_RE.search(line):
            continue
        if _LOG_RE.search(line.strip()):
            if re.search(r"WARN|ERROR", line):
                warnings.append(_LOG_PREFIX_RE.sub("", _LOG_PREFIX_RE.sub("", line.strip()))[:400])
            continue
        keep.append(line)
    return "\n".join(keep), warnings


def notebook_title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.MULTILINE)
            if m:
                return re.sub(r"[*_`]", "", m.group(1)).strip()
    return "Notebook report"


def _stderr_warnings(text: str) -> list[str]:
    """The warning lines of a stderr stream (the rest of stderr is progress and logs, not for readers)."""
    kept, logged = _split_stream(text)
    return logged + [line.strip()[:400] for line in kept.split("\n") if _WARN_RE.search(line)]


def _format_value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def params_markdown(params: dict[str, Any], specs: dict[str, Any]) -> str:
    """A Markdown table of the effective parameters; changed values (vs the notebook defaults) in bold."""
    changed = [k for k in params if k in specs and params[k] != specs[k].default]
    lines = [
        "## Parameters of this run",
        f"{len(params)} parameters; {len(changed)} differ from the notebook's defaults (bold, default in the last column).",
        "",
        "| parameter | value | what | default |",
        "|---|---|---|---|",
    ]
    for key, value in params.items():
        spec = specs.get(key)
        what = (spec.help if spec else "").replace("|", "/")
        val = _format_value(value).replace("|", "/")
        if key in changed:
            lines.append(f"| **{key}** | **`{val}`** | {what} | `{_format_value(spec.default).replace('|', '/')}` |")
        else:
            lines.append(f"| {key} | `{val}` | {what} | |")
    return "\n".join(lines)


def clean_notebook(nb, params: dict[str, Any] | None = None, specs: dict[str, Any] | None = None):
    """A copy of an executed notebook fit for readers (see the module docstring); returns (nb, warnings)."""
    import copy

    import nbformat

    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)  # progress-widget state: nothing a reader of a static page can use
    warnings: list[str] = []
    cells = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags") or []
        if "parameters" in tags:
            continue  # the defaults: shown as the last column of the table below
        if "injected-parameters" in tags:
            if params is not None and specs is not None:
                cells.append(nbformat.v4.new_markdown_cell(params_markdown(params, specs)))
            continue
        if cell.cell_type == "code":
            outputs = []
            for out in cell.get("outputs", []):
                if "application/vnd.jupyter.widget-view+json" in out.get("data", {}):
                    continue  # a progress widget: its text fallback is noise in a static report
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    warnings.extend(_stderr_warnings(out.get("text", "")))
                    continue
                if out.get("output_type") == "stream":
                    out["text"], logged = _split_stream(out.get("text", ""))
                    warnings.extend(logged)
                    if not out["text"].strip():
                        continue
                outputs.append(out)
            cell["outputs"] = outputs
        cells.append(cell)
    unique = list(dict.fromkeys(warnings))
    if unique:
        body = "\n".join(f"- `{w.replace('`', '')}`" for w in unique[:50])
        more = f"\n\n({len(unique) - 50} more in the executed notebook)" if len(unique) > 50 else ""
        cells.append(
            nbformat.v4.new_markdown_cell(
                f"## Warnings\n{len(unique)} distinct warning line(s) the kernel "
                f"printed during the run:\n\n{body}{more}"
            )
        )
    nb.cells = cells
    return nb, unique


def export_html(
    ipynb: Path,
    target: Path,
    params: dict[str, Any] | None = None,
    specs: dict[str, Any] | None = None,
    exclude_input: bool = False,
) -> list[str]:
    """Write the cleaned HTML report of an executed notebook; returns the warnings it collected."""
    import nbformat
    from nbconvert import HTMLExporter

    nb, warnings = clean_notebook(nbformat.read(ipynb, as_version=4), params, specs)
    exporter = HTMLExporter(
        exclude_input=exclude_input, exclude_input_prompt=exclude_input, exclude_output_prompt=exclude_input
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": notebook_title(nb)}})
    atomic_write_text(target, body)
    return warnings


# --------------------------------------------------------------------------------------- the index
def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v):
        return f"[{_fmt(float(v[0]))}, {_fmt(float(v[1]))}]"
    return str(v)


def headline(metrics: dict[str, Any], limit: int = 6) -> dict[str, str]:
    """The metrics shown in the index: the notebook's ``headline`` keys (each with its ``<key>_ci`` when present)."""
    keys = metrics.get("headline") or [
        k for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    out = {}
    for k in keys[:limit]:
        if k in metrics:
            ci = metrics.get(f"{k}_ci")
            out[k] = _fmt(metrics[k]) + (f" {_fmt(ci)}" if ci else "")
    return out


def collect_runs(outputs: Path) -> list[dict[str, Any]]:
    """Every run folder under ``outputs`` (those with a run.json), newest first."""
    runs = []
    for status_file in Path(outputs).glob("*/*/run.json"):
        try:
            status = read_json(status_file)
        except (OSError, ValueError):
            continue
        metrics_file = status_file.parent / "metrics.json"
        try:
            metrics = read_json(metrics_file) if metrics_file.exists() else {}
        except (OSError, ValueError):
            metrics = {}
        figures = sorted(p.name for p in (status_file.parent / "figures").glob("*.png"))
        runs.append({**status, "dir": status_file.parent, "metrics": metrics, "figures": figures})
    return sorted(runs, key=lambda r: (r.get("notebook", ""), -float(r.get("finished_at") or r.get("started_at") or 0)))


SUITE_RECORD = "suite.json"  # the last ``helpers.run suite`` under an outputs folder: wall times, written by the runner


def suite_section(outputs: Path) -> str:
    """The index's account of the last suite run (``suite.json``): each notebook's wall time and the total."""
    try:
        s = read_json(Path(outputs) / SUITE_RECORD)
    except (OSError, ValueError):
        return ""
    nbs = s.get("notebooks") or []
    rows = "".join(
        f"<tr><td>{html.escape(str(n.get('notebook')))}</td><td>{'ok' if n.get('ok') else 'FAILED'}</td>"
        f"<td>{float(n.get('seconds') or 0):.0f} s</td></tr>"
        for n in nbs
    )
    jobs = int(s.get("jobs") or 1)
    how = "one after another" if jobs == 1 else f"up to {jobs} at once"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(s.get("started_at") or 0)))
    added = sum(float(n.get("seconds") or 0) for n in nbs)
    return (
        f"<h2>Last suite run</h2><p>Profile {html.escape(str(s.get('profile')))}"
        f"{' (rehearsal)' if s.get('rehearse') else ''}, {len(nbs)} notebooks {how}, shared engines "
        f"{html.escape(str(s.get('shared_engines')))}, started {when}: <b>{float(s.get('seconds') or 0):.0f} s</b> "
        f"wall in total (the notebooks' own wall times add up to {added:.0f} s).</p>"
        f"<table><tr><th>notebook</th><th>status</th><th>wall time</th></tr>{rows}</table><h2>Every run</h2>"
    )


def write_index(outputs: Path) -> Path:
    rows, runs = [], collect_runs(outputs)
    for r in runs:
        rel = os.path.relpath(r["dir"], outputs)
        m = r["metrics"]
        state = r.get("status", "?")
        colour = {"ok": "#070", "failed": "#b00", "interrupted": "#b60", "running": "#06b"}.get(state, "#555")
        err = f"<br><small>{html.escape(r.get('error', '')[:300])}</small>" if r.get("error") else ""
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.get("started_at", 0)))
        commit = (r.get("git") or {}).get("commit", "")[:10] + (" (dirty)" if (r.get("git") or {}).get("dirty") else "")
        heads = "<br>".join(f"{html.escape(k)}: {html.escape(v)}" for k, v in headline(m).items())
        figs = " ".join(
            f'<a href="{html.escape(rel)}/figures/{html.escape(f)}">{html.escape(f[:-4])}</a>' for f in r["figures"]
        )
        rows.append(
            f'<tr><td><a href="{html.escape(rel)}/report.html">{html.escape(r.get("notebook", "?"))}</a>'
            f"<br><small>{html.escape(r.get('run_name', ''))}</small></td>"
            f'<td style="color:{colour}"><b>{html.escape(state)}</b>{err}</td>'
            f"<td>{html.escape(', '.join(Path(f).stem for f in r.get('params_files', [])) or 'defaults')}</td>"
            f"<td><small>{html.escape(when)}<br>{r.get('seconds', 0):.0f} s<br>{html.escape(commit)}</small></td>"
            f"<td>{html.escape(str(m.get('finding', '')))}{_controlled(m, 'controlled_finding')}</td>"
            f"<td>{html.escape(str(m.get('signal', '')))}{_controlled(m, 'controlled_signal')}</td>"
            f"<td><small>{heads}</small></td><td><small>{figs}</small></td></tr>"
        )
    page = (
        "<!doctype html><meta charset=utf-8><title>Alignment notebooks: runs</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:.4em .6em;"
        "vertical-align:top;text-align:left}table{border-collapse:collapse}small{color:#444}</style>"
        f"<h1>Runs</h1><p>Every run folder under outputs/, by notebook, newest first "
        f"(written {time.strftime('%Y-%m-%d %H:%M')}).</p>{suite_section(outputs)}<table>"
        "<tr><th>notebook / run</th><th>status</th><th>profile</th><th>when / commit</th><th>finding</th>"
        "<th>signal</th><th>headline</th><th>figures</th></tr>" + "".join(rows) + "</table>" + challenges_section(runs)
    )  # the 18 challenges: latest value of each mapped metric, gaps shown
    return atomic_write_text(Path(outputs) / "index.html", page)


def _controlled(metrics: dict[str, Any], key: str) -> str:
    """A controlled setting's finding or signal under the real one in the index (empty when the run has none)."""
    text = metrics.get(key)
    return f"<br><br><i>Controlled setting:</i> {html.escape(str(text))}" if text else ""


def findings_markdown(metrics: dict[str, Any]) -> str:
    """The run's computed findings as Markdown: the signal, the one-line finding, then the details."""
    lines = [f"**Signal:** {metrics.get('signal', 'n/a')}", "", f"**Finding:** {metrics.get('finding', 'n/a')}"]
    details = metrics.get("findings") or []
    if details:
        lines += ["", *[f"- {s}" for s in details]]
    return "\n".join(lines)
