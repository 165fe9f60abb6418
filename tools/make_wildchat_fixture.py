"""Write the offline WildChat fixture (full schema) and the counts built into it, plus the small corpora in other
data sets' schemas; or a large file for the benchmark.

    python tools/make_wildchat_fixture.py        # src/helpers/data/wildchat_fixture.jsonl + .expected.json
    python tools/make_wildchat_fixture.py --n 200000 --out /tmp/wildchat_large.jsonl   # benchmarks/wildchat_scale.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from helpers.core.data import DATA_DIR  # noqa: E402
from helpers.wildchat.offline_corpora import write_other_corpora  # noqa: E402
from helpers.wildchat.offline_data import write_fixture  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300, help="conversations (default 300: the shipped fixture)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(DATA_DIR / "wildchat_fixture.jsonl"), help="JSONL to write")
    ap.add_argument("--no-others", action="store_true", help="skip the Alpaca / Dolly / OASST-style files")
    args = ap.parse_args(argv)
    expected = write_fixture(args.out, n=args.n, seed=args.seed)
    print(
        f"{args.out}: {expected['conversations']} conversations, {expected['users']} users, "
        f"{expected['turns']} turns; counts in {Path(args.out).with_suffix('.expected.json')}"
    )
    if not args.no_others:
        print(json.dumps(write_other_corpora(DATA_DIR, seed=args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
