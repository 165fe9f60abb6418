"""Print the README's "by challenge" table, generated from src/helpers/data/challenge_map.yaml:
.venv/bin/python tools/challenges_table.py"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from helpers.core.challenges import map_problems, markdown_table  # noqa: E402


def main() -> int:
    problems = map_problems()
    if problems:
        print("\n".join(f"error: {p}" for p in problems), file=sys.stderr)
        return 1
    print(markdown_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
