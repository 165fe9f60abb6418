"""Print the README's "by challenge" table, generated from src/helpers/data/challenge_map.yaml; --write puts it
in README.md between the challenges markers:  .venv/bin/python tools/challenges_table.py [--write]"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from helpers.core.challenges import map_problems, markdown_table  # noqa: E402

START, END = "<!-- challenges-table:start (tools/challenges_table.py) -->", "<!-- challenges-table:end -->"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    problems = map_problems()
    if problems:
        print("\n".join(f"error: {p}" for p in problems), file=sys.stderr)
        return 1
    table = markdown_table()
    if "--write" not in argv:
        print(table)
        return 0
    readme = ROOT / "README.md"
    head, rest = readme.read_text().split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{table}\n{END}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
