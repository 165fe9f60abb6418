"""Choose the quick world's learning rates on the dev split:  .venv/bin/python tools/tune_tulu.py

For DPO, PPO, RLOO and GRPO: the notebook's reference row of that algorithm trains at every rate of a short grid,
for each tuning seed, from the SFT policy of the profile's world (``params/06_tulu/quick.yaml`` by default), and is
scored by the checkers on the dev prompts (disjoint from the evaluation, SFT and preference prompts). The choice
and every dev score go to ``params/06_tulu/tuning.json``; the notebook shows them beside its table and says whether
the run's learning rates are the dev choice. Resumable: every (algorithm, rate, seed) is stored in
``<work>/tuning.jsonl`` as it finishes, so a rerun (or a wider grid) trains only what is missing.

    .venv/bin/python tools/tune_tulu.py --dpo 1e-4 2e-4 5e-4 --online 3e-5 1e-4 3e-4 --seeds 100 101
    .venv/bin/python tools/tune_tulu.py --apply      # also write the choice into params/06_tulu/quick.yaml
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DPO_GRID = [5e-5, 1e-4, 2e-4, 5e-4, 1e-3]
ONLINE_GRID = [3e-5, 1e-4, 3e-4, 1e-3]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default=str(ROOT / "params" / "06_tulu" / "quick.yaml"))
    ap.add_argument("--algorithms", nargs="+", default=["dpo", "ppo", "rloo", "grpo"])
    ap.add_argument("--dpo", nargs="+", type=float, default=DPO_GRID, help="DPO learning rates")
    ap.add_argument("--online", nargs="+", type=float, default=ONLINE_GRID, help="PPO / RLOO / GRPO learning rates")
    ap.add_argument("--seeds", nargs="+", type=int, default=[100, 101], help="tuning seeds (not the notebook's)")
    ap.add_argument("--work", default=str(ROOT / "outputs" / "06_tulu" / "_tuning"), help="models and the record store")
    ap.add_argument("--out", default=str(ROOT / "params" / "06_tulu" / "tuning.json"))
    ap.add_argument("--apply", action="store_true", help="write the chosen rates into the params file")
    ap.add_argument("-p", action="append", default=[], metavar="KEY=VALUE", help="param overrides (as helpers.run)")
    return ap.parse_args(argv)


def apply_choice(params_file: Path, chosen: dict[str, float]) -> list[str]:
    """Set ``name: value`` lines in a params YAML (replacing existing ones, else appending); returns what changed."""
    text, changed = params_file.read_text(encoding="utf-8"), []
    for name, value in chosen.items():
        line = f"{name}: {value:g}"
        pattern = re.compile(rf"^{name}:.*$", re.M)
        if pattern.search(text):
            if pattern.search(text).group(0).split("#")[0].strip() != line:
                changed.append(line)
            text = pattern.sub(line, text)
        else:
            text = text.rstrip("\n") + "\n" + line + "\n"
            changed.append(line)
    params_file.write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    import torch

    from helpers.core.params import resolve_params
    from helpers.core.store import JsonlStore, stable_id
    from helpers.tulu import config, grid, tuning

    nb = ROOT / "notebooks" / "06_tulu.ipynb"
    P = resolve_params(nb, [args.params], args.p)
    if P["world"] != "quick":
        print("tune_tulu: only the quick world is tuned here (the hub world uses the paper's rates)", file=sys.stderr)
        return 2
    if P.get("torch_threads"):
        torch.set_num_threads(P["torch_threads"])
    work = Path(args.work)
    world, levels = config.build(P, work)
    no_curves = lambda st: replace(st, eval_every=0)  # noqa: E731 - the dev score is computed once, at the end
    world.train = replace(world.train, dpo=no_curves(world.train.dpo), online=no_curves(world.train.online))
    rows = grid.ablation_rows(levels)
    rates = {a: (args.dpo if a == "dpo" else args.online) for a in args.algorithms}
    started = time.perf_counter()
    world.prepare()
    result = tuning.tune(world, rows, rates, args.seeds, JsonlStore(work / "tuning.jsonl"))
    command = "tools/tune_tulu.py " + " ".join(argv if argv is not None else sys.argv[1:])
    tuning.write_tuning(
        args.out,
        result,
        profile=str(Path(args.params).resolve().relative_to(ROOT)),
        command=command.strip(),
        date=dt.date.today().isoformat(),
        world=stable_id(world.world_fingerprint()),
        wall_seconds=round(time.perf_counter() - started, 1),
        threads=torch.get_num_threads(),
        load_average=round(os.getloadavg()[0], 2),
    )
    for r in result["summary"]:
        mark = " <- chosen" if result["chosen"][tuning.PARAM_OF[r["algorithm"]]] == r["learning_rate"] else ""
        print(
            f"{r['algorithm']:5s} lr {r['learning_rate']:<8g} dev {r['dev_mean']:.3f} "
            f"[{r['dev_min']:.3f}, {r['dev_max']:.3f}]{mark}"
        )
    print(f"SFT start on dev: {result['sft_dev']['average']:.3f}; chosen {result['chosen']}; wrote {args.out}")
    if args.apply:
        changed = apply_choice(Path(args.params), result["chosen"])
        print(f"{args.params}: " + (", ".join(changed) if changed else "already the dev choice"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
