"""The notebook's steps (09_icot): set-up, data summary, training the three methods, evaluating them, the
significance table, metrics.json and the closing paragraph. One function per cell's work."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

METHODS = ["cot", "nocot", "stepwise"]  # explicit CoT first: stepwise starts from its state after pretrain_epochs


def configure_device(torch_threads: int) -> tuple[str, str]:
    """Set torch's CPU threads (0: leave them); returns (device, the line the notebook prints)."""
    import torch

    from ..core.hf import device_name

    if torch_threads:
        torch.set_num_threads(torch_threads)
    device = device_name()
    return device, (
        f"device {device}, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )


def interactive() -> bool:
    """True in an interactive kernel (progress bars on); False under ``helpers.run``, which sets HELPERS_RUN_DIR."""
    return not os.environ.get("HELPERS_RUN_DIR")


def data_summary(splits: dict[str, dict[str, list[dict]]]):
    """Per task: split sizes, mean CoT words in train, one test example."""
    import pandas as pd

    from .data import format_line

    return pd.DataFrame(
        [
            {
                "task": t,
                **{f"n_{k}": len(v) for k, v in s.items()},
                "CoT words (mean)": sum(len(e["cot"].split()) for e in s["train"]) / len(s["train"]),
                "example (test)": format_line(s["test"][0])[:140],
            }
            for t, s in splits.items()
        ]
    )


def training_seeds(seed: int, n_seeds: int) -> list[int]:
    """The training seeds (initialisation, data order, smoothing): ``seed``, ``seed + 1``, ...; the data split
    stays ``seed``'s."""
    return [seed + i for i in range(n_seeds)]


def train_all(
    tasks: Sequence[str],
    train_params: dict,
    task_overrides: dict,
    splits: dict,
    root: Path,
    checkpoint_every: int,
    progress: bool,
    device: str,
    seeds: Sequence[int] | None = None,
) -> tuple[dict, Any]:
    """Train every method on every task and training seed with one budget (resumable checkpoints under ``root``);
    returns ({(task, method, seed): (config, result)}, the training table)."""
    import pandas as pd

    from .train import make_config, train

    results, rows = {}, []
    for task in tasks:
        for seed in seeds if seeds is not None else [train_params.get("seed", 0)]:
            for method in METHODS:
                cfg = make_config(task, method, {**train_params, "seed": seed}, task_overrides)
                t0 = time.perf_counter()
                res = train(
                    cfg,
                    splits[task]["train"],
                    splits[task]["valid"],
                    root,
                    checkpoint_every=checkpoint_every,
                    progress=progress,
                    device=device,
                )
                results[(task, method, seed)] = (cfg, res)
                rows.append(_training_row(task, method, seed, res, time.perf_counter() - t0))
    return results, pd.DataFrame(rows)


def _training_row(task: str, method: str, seed: int, res: Any, seconds: float) -> dict:
    last = res.history[-1] if res.history else {}
    best = res.best or {}
    return {
        "task": task,
        "method": method,
        "seed": seed,
        "steps": res.steps,
        "train_s": round(res.seconds, 1),
        "this_process_s": round(seconds, 1),
        "segments": res.segments,
        "branched_from": res.branched_from,
        "final_valid_accuracy": last.get("valid_accuracy"),
        "final_loss": last.get("loss"),
        "best_step": best.get("step"),
        "best_valid_accuracy": best.get("valid_accuracy"),
        "checkpoint": f"{res.folder.parent.name}/{res.folder.name}",
    }


def training_summary(training) -> str:
    """One sentence per trained model: steps (shared with explicit CoT, resumed), time, final validation accuracy
    (a model without one, None or NaN in the table, is left out)."""
    import pandas as pd

    def how(r):
        branched = isinstance(r.branched_from, str)
        shared = f" (the first {r.segments[0][1]} shared with explicit CoT)" if branched else ""
        resumed = len(r.segments) - (2 if branched else 1)
        return shared + (f", resumed {resumed} time(s): {r.segments}" if resumed > 0 else "")

    def best(r):
        step = getattr(r, "best_step", None)
        return (
            f"; tested: the best-validation checkpoint, step {int(step)} ({r.best_valid_accuracy:.0%})"
            if step is not None and pd.notna(step)
            else ""
        )

    def seed(r):
        return f" (seed {r.seed})" if "seed" in training and training.seed.nunique() > 1 else ""

    return " ".join(
        f"**{r.task} {r.method}**{seed(r)}: {r.steps} steps{how(r)} in {r.train_s:.0f} s of training, final "
        f"validation accuracy {r.final_valid_accuracy:.0%}{best(r)}."
        for r in training.itertuples()
        if pd.notna(r.final_valid_accuracy)
    )


def selected_removal(method: str, res: Any) -> float:
    """The CoT tokens the tested checkpoint was trained without: all for no-CoT, none for explicit CoT, the
    schedule's count at the best-validation checkpoint for stepwise (all when it is not known)."""
    if method == "cot":
        return 0
    best = res.best or {}
    removed = best.get("scheduled_removed") if method == "stepwise" and best else None
    return float("inf") if removed is None else removed


def evaluate_all(
    results: dict, splits: dict, run: Any, eval_batch_size: int, n_speed: int, speed_batch_size: int, device: str
) -> tuple[dict, dict, dict]:
    """Greedy test decoding of every model's best-validation checkpoint (stored per checkpoint: a changed config
    decodes afresh), its teacher-forced accuracy per target position (``diagnostics.position_accuracy``) and its
    answers per second (timed for the first training seed only); returns ({(task, method, seed): records},
    {(task, method, seed): answers/s or None}, {(task, method, seed): position rows})."""
    from ..core.store import cached_json
    from . import evaluate as ev
    from .diagnostics import position_accuracy
    from .model import decode_settings

    records, speeds, positions = {}, {}, {}
    first_seed = {t: min(sd for (t2, _, sd) in results if t2 == t) for (t, _, _) in results}
    for (task, method, seed), (cfg, res) in results.items():
        removed = selected_removal(method, res)
        skip, max_new = decode_settings(res.tok, method, cfg.keep_position, splits[task]["train"], removed=removed)
        key = f"{task.replace(':', '')}_{method}_{cfg.key()}_at{(res.best or {}).get('step', res.steps)}"
        test = splits[task]["test"]
        records[(task, method, seed)] = ev.evaluate_stage(
            run.store(f"test_{key}"), res.model, res.tok, test, max_new, eval_batch_size, skip
        )
        positions[(task, method, seed)] = cached_json(
            run.path(f"positions_{key}.json"),
            lambda res=res, cfg=cfg, r=removed, t=test: {
                "rows": position_accuracy(res.model, res.tok, t, r, cfg.keep_position, eval_batch_size)
            },
        )["rows"]

        def timed(res=res, skip=skip, max_new=max_new, task=task):
            return {
                "answers_per_s": ev.answers_per_second(
                    res.model, res.tok, splits[task]["test"][:n_speed], max_new, speed_batch_size, skip
                ),
                "device": device,
            }

        speeds[(task, method, seed)] = (
            cached_json(run.path(f"speed_{key}.json"), timed)["answers_per_s"] if seed == first_seed[task] else None
        )
    return records, speeds, positions


def task_reports(
    results: dict,
    records: dict,
    speeds: dict,
    positions: dict,
    splits: dict,
    *,
    min_branch_accuracy: float,
    min_steps_share: float,
) -> dict[str, dict]:
    """Per task: ``evaluate.seeds_report`` of the three methods over the seeds, with ``diagnostics`` (branch point,
    steps per removed token, collapse, weakest answer position; per seed and pooled) and the ``gate``."""
    from . import diagnostics as dg
    from . import evaluate as ev

    per_task = {}
    for task in dict.fromkeys(t for t, _, _ in results):
        seeds = sorted({sd for t, _, sd in results if t == task})
        rep = ev.seeds_report(
            {sd: {m: records[(task, m, sd)] for m in METHODS} for sd in seeds},
            {m: speeds[(task, m, seeds[0])] for m in METHODS},
        )
        d = task_diagnostics(
            task,
            {sd: results[(task, "stepwise", sd)] for sd in seeds},
            {sd: positions[(task, "stepwise", sd)] for sd in seeds},
            splits[task]["train"],
            {sd: results[(task, "cot", sd)] for sd in seeds},
        )
        rep["diagnostics"] = d
        rep["gate"] = dg.gate(
            d["branch_accuracy"],
            d["steps_per_token"],
            d["reference_steps_per_token"],
            min_branch_accuracy=min_branch_accuracy,
            min_steps_share=min_steps_share,
        )
        rep["paired_signal"], rep["signal"] = rep["signal"], ev.gated_signal(rep, rep["gate"])
        per_task[task] = rep
    return per_task


def task_diagnostics(
    task: str, stepwise: dict, positions: dict, train_examples: Sequence[dict], cot: dict | None = None
) -> dict[str, Any]:
    """The stepwise runs' bottlenecks over seeds: branch-point accuracy (mean, per seed: the explicit-CoT run's check at
    the step removal starts, else the stepwise run's own; ``own_branch_per_seed``: the stepwise run's own check there),
    steps per removed token and the reference's, the collapse point per seed (the first seed's headlines it) and the
    weakest answer digit."""
    from . import diagnostics as dg
    from .schedule import steps_per_removed_token

    labels = dg.cot_token_labels(train_examples[0]["cot"]) if task.startswith("mult") else []
    branch, own, collapse, weakest = {}, {}, {}, {}
    for sd, (_cfg, res) in stepwise.items():
        own[str(sd)] = dg.branch_point(res.history, res.removal_start)
        explicit = dg.branch_point(cot[sd][1].history, res.removal_start) if cot and sd in cot else None
        branch[str(sd)] = explicit or own[str(sd)]
        collapse[str(sd)] = dg.collapse_point(res.history, branch[str(sd)], labels)
        weakest[str(sd)] = dg.weakest_answer_position(positions[sd])
    cfg = next(iter(stepwise.values()))[0]
    n_steps = -(-len(train_examples) // cfg.batch_size)
    accs = [b["valid_accuracy"] for b in branch.values() if b]
    first = str(min(stepwise))
    return {
        "branch_accuracy": sum(accs) / len(accs) if len(accs) == len(branch) else None,
        "branch_per_seed": branch,
        "own_branch_per_seed": own,
        "steps_per_token": max(steps_per_removed_token(n_steps, cfg.remove_per_epoch), 1),
        "reference_steps_per_token": dg.reference_steps_per_token(task),
        "collapse": collapse[first],
        "collapse_per_seed": collapse,
        "weakest_answer_position": weakest[first],
        "weakest_per_seed": weakest,
        "cot_token_labels": labels,
    }


def diagnostics_table(per_task: dict[str, dict]):
    """Per task and training seed: the stepwise run's branch point, steps per removed token (and the reference's),
    where validation accuracy collapsed and the weakest answer digit; then the gate's verdict per task."""
    import pandas as pd

    rows = []
    for task, t in per_task.items():
        d = t["diagnostics"]
        for sd, b in d["branch_per_seed"].items():
            c, w = d["collapse_per_seed"][sd] or {}, d["weakest_per_seed"][sd] or {}
            own = (d.get("own_branch_per_seed") or {}).get(sd) or {}
            rows.append(
                {
                    "task": task,
                    "seed": int(sd),
                    "removal starts at step": (b or {}).get("step"),
                    "CoT valid acc. there": (b or {}).get("valid_accuracy"),
                    "stepwise run's own": own.get("valid_accuracy"),
                    "steps per removed token": d["steps_per_token"],
                    "reference": d["reference_steps_per_token"],
                    "collapse at step": c.get("step"),
                    "tokens removed by then": c.get("removed", "all") if c else None,
                    "last token removed": c.get("token"),
                    "weakest answer digit": w.get("index"),
                    "its accuracy": w.get("accuracy"),
                    "testable": t["gate"]["testable"],
                }
            )
    return pd.DataFrame(rows)


def positions_frame(positions: dict, task: str):
    """Teacher-forced accuracy per target position, per method, averaged over seeds (a long table)."""
    import pandas as pd

    rows = [{"method": m, "seed": sd, **r} for (t, m, sd), rs in positions.items() if t == task for r in rs]
    frame = pd.DataFrame(rows)
    return frame.groupby(["method", "segment", "index"], as_index=False, sort=False)["accuracy"].mean()


def accuracy_cells(table):
    """Accuracy [CI] per (method, inference) and task, as text cells."""
    cells = table.assign(
        cell=[f"{a:.2f} [{lo:.2f}, {hi:.2f}]" for a, lo, hi in zip(table.accuracy, table.ci_low, table.ci_high)]
    )
    return cells.pivot(index=["method", "inference"], columns="task", values="cell")


def significance_table(per_task: dict[str, dict]):
    """Per task: the paired test of stepwise against no-CoT training."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "task": t,
                "signal": v["signal"],
                "stepwise only": v["a_only"],
                "no-CoT only": v["b_only"],
                "McNemar p": v["p_value"],
            }
            for t, v in per_task.items()
        ]
    )


HEADLINE = ["icot_accuracy", "nocot_accuracy", "cot_accuracy", "icot_speedup_over_cot"]


def speedup(h: dict) -> float | None:
    """Stepwise answers per second over explicit CoT's; None without a speed for CoT, and None for a stepwise model
    at the floor (``evaluate.at_floor``): a model that does not answer has no speed-up to report."""
    from .evaluate import at_floor

    if at_floor(h["stepwise"].get("accuracy")) or not h["cot"]["answers_per_s"] or not h["stepwise"]["answers_per_s"]:
        return None
    return h["stepwise"]["answers_per_s"] / h["cot"]["answers_per_s"]


def run_metrics(
    per_task: dict,
    head: str,
    records: dict,
    results: dict,
    *,
    init_from: str,
    tasks: Sequence[str],
    device: str,
    torch_threads: int,
) -> dict[str, Any]:
    """metrics.json: the headline task's accuracies with CIs, tokens and speed, every task's report, training
    numbers, and the findings computed from them (``evaluate.findings``)."""
    from .evaluate import findings

    h = per_task[head]
    first = min(sd for t, _, sd in results if t == head)

    def ci(m):
        return [h[m]["ci_low"], h[m]["ci_high"]]

    m = {
        "headline": HEADLINE,
        "headline_task": head,
        "p_value": h["p_value"],
        "icot_accuracy": h["stepwise"]["accuracy"],
        "icot_accuracy_ci": ci("stepwise"),
        "nocot_accuracy": h["nocot"]["accuracy"],
        "nocot_accuracy_ci": ci("nocot"),
        "cot_accuracy": h["cot"]["accuracy"],
        "cot_accuracy_ci": ci("cot"),
        "icot_tokens_per_answer": h["stepwise"]["tokens_per_answer"],
        "cot_tokens_per_answer": h["cot"]["tokens_per_answer"],
        "icot_answers_per_s": h["stepwise"]["answers_per_s"],
        "cot_answers_per_s": h["cot"]["answers_per_s"],
        "icot_speedup_over_cot": speedup(h),
        "n_test": len(records[(head, "stepwise", first)]),
        "init_from": init_from,
        "tasks": tasks,
        "train_steps": results[(head, "stepwise", first)][1].steps,
        "per_task": per_task,
        "device": device,
        "train_seconds": {
            f"{t}/{meth}" + (f"/seed{sd}" if sd != first else ""): r.seconds
            for (t, meth, sd), (_, r) in results.items()
        },
        "torch_threads": torch_threads,
        "seeds": h.get("seeds", [first]),
        "icot_accuracy_seeds": h["stepwise"].get("seed_accuracies"),
        "nocot_accuracy_seeds": h["nocot"].get("seed_accuracies"),
        "gate": h.get("gate"),
        "branch_accuracy": (h.get("diagnostics") or {}).get("branch_accuracy"),
        "steps_per_removed_token": (h.get("diagnostics") or {}).get("steps_per_token"),
    }
    m.update(findings(m))
    return m


def reading_it(h: dict, head: str, sw_cfg: Any, n_train: int) -> str:
    """The closing paragraph: how much of explicit CoT's accuracy the stepwise model keeps, its CoT tokens and speed,
    and how many training steps each removed token got here against the paper's budget."""
    from .diagnostics import FLOOR, reference_steps_per_token
    from .evaluate import at_floor
    from .schedule import steps_per_removed_token

    per_token = steps_per_removed_token(-(-n_train // sw_cfg.batch_size), sw_cfg.remove_per_epoch)
    floor = (
        f", with no speed-up reported: it answers {h['stepwise']['accuracy']:.1%}, below the {FLOOR:.0%} floor. "
        if at_floor(h["stepwise"]["accuracy"])
        else ". "
    )
    kept = h["stepwise"]["accuracy"] / h["cot"]["accuracy"] if h["cot"]["accuracy"] else None
    fast = speedup(h)
    return (
        f"**Reading it.** The explicit-CoT model shows what this model and budget learn *with* a CoT "
        f"({h['cot']['accuracy']:.0%} on {head}); the stepwise model keeps "
        + (f"{min(kept, 1):.0%} of that" if kept is not None else f"an accuracy of {h['stepwise']['accuracy']:.0%}")
        + f" while writing {h['stepwise']['cot_tokens_per_answer']:.1f} CoT tokens per answer instead of "
        f"{h['cot']['cot_tokens_per_answer']:.1f}"
        + (f", at {fast:.1f}x the explicit model's answers per second. " if fast else floor)
        + f"Each removed token got {max(per_token, 1)} training steps here against the reference's "
        f"{reference_steps_per_token(head):,} (GPT-2 Small over 808K products for tens of epochs), so a gap between this run and the "
        f"paper's 4x4-9x9 numbers (1.00, 1.00, 0.95, 0.99) speaks to budget and model size, which "
        f"`full-gpu.yaml` removes."
    )
