"""Build a notebook from a compact Python description (used to author the suite's notebooks).

    from tools.nb import write_notebook, md, code, params
    write_notebook("notebooks/00_quickstart.ipynb", [md("# Title"), params("x = 1  # doc"), code("print(x)")])

Cells are committed without outputs; the cell made by ``params`` is tagged ``parameters``.
"""
from __future__ import annotations

import textwrap

import nbformat


def md(text: str):
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip())


def code(text: str):
    return nbformat.v4.new_code_cell(textwrap.dedent(text).strip())


def params(text: str):
    cell = code(text)
    cell.metadata["tags"] = ["parameters"]
    return cell


def write_notebook(path: str, cells: list) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for c in nb.cells:  # ids are stable per position, so rebuilding a notebook gives a small diff
        c.id = f"cell-{nb.cells.index(c):02d}"
    nbformat.write(nb, path)
