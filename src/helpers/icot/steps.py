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
    if torch_threads:
        torch.set_num_threads(torch_threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return device, (f"device {device}, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f} "
                    f"on {os.cpu_count()} cores")


def interactive() -> bool:
    """True in an interactive kernel (progress bars on); False under ``helpers.run``, which sets HELPERS_RUN_DIR."""
    return not os.environ.get("HELPERS_RUN_DIR")


def data_summary(splits: dict[str, dict[str, list[dict]]]):
    """Per task: split sizes, mean CoT words in train, one test example."""
    import pandas as pd

    from .data import format_line
    return pd.DataFrame([{"task": t, **{f"n_{k}": len(v) for k, v in s.items()},
                          "CoT words (mean)": sum(len(e["cot"].split()) for e in s["train"]) / len(s["train"]),
                          "example (test)": format_line(s["test"][0])[:140]} for t, s in splits.items()])


def train_all(tasks: Sequence[str], train_params: dict, task_overrides: dict, splits: dict, root: Path,
              checkpoint_every: int, progress: bool, device: str) -> tuple[dict, Any]:
    """Train every method on every task with one budget (resumable checkpoints under ``root``); returns
    ({(task, method): (config, result)}, the training table)."""
    import pandas as pd

    from .train import make_config, train
    results, rows = {}, []
    for task in tasks:
        for method in METHODS:
            cfg = make_config(task, method, train_params, task_overrides)
            t0 = time.perf_counter()
            res = train(cfg, splits[task]["train"], splits[task]["valid"], root, checkpoint_every=checkpoint_every,
                        progress=progress, device=device)
            results[(task, method)] = (cfg, res)
            last = res.history[-1] if res.history else {}
            rows.append({"task": task, "method": method, "steps": res.steps, "train_s": round(res.seconds, 1),
                         "this_process_s": round(time.perf_counter() - t0, 1), "segments": res.segments,
                         "branched_from": res.branched_from,
                         "final_valid_accuracy": last.get("valid_accuracy"), "final_loss": last.get("loss"),
                         "checkpoint": f"{res.folder.parent.name}/{res.folder.name}"})
    return results, pd.DataFrame(rows)


def training_summary(training) -> str:
    """One sentence per trained model: steps (shared with explicit CoT, resumed), time, final validation accuracy
    (a model without one, None or NaN in the table, is left out)."""
    import pandas as pd

    def how(r):
        branched = isinstance(r.branched_from, str)
        shared = f" (the first {r.segments[0][1]} shared with explicit CoT)" if branched else ""
        resumed = len(r.segments) - (2 if branched else 1)
        return shared + (f", resumed {resumed} time(s): {r.segments}" if resumed > 0 else "")
    return " ".join(f"**{r.task} {r.method}**: {r.steps} steps{how(r)} in {r.train_s:.0f} s of training, final "
                    f"validation accuracy {r.final_valid_accuracy:.0%}." for r in training.itertuples()
                    if pd.notna(r.final_valid_accuracy))


def evaluate_all(results: dict, splits: dict, run: Any, eval_batch_size: int, n_speed: int, speed_batch_size: int,
                 device: str) -> tuple[dict, dict]:
    """Greedy test decoding of every model (stored per checkpoint: a changed config decodes afresh) and its answers
    per second (cached per checkpoint); returns ({(task, method): records}, {(task, method): answers/s})."""
    from ..core.store import cached_json
    from . import evaluate as ev
    from .model import decode_settings
    records, speeds = {}, {}
    for (task, method), (cfg, res) in results.items():
        skip, max_new = decode_settings(res.tok, method, cfg.keep_position, splits[task]["train"])
        key = f"{task.replace(':', '')}_{method}_{cfg.key()}"
        records[(task, method)] = ev.evaluate_stage(run.store(f"test_{key}"), res.model, res.tok, splits[task]["test"],
                                                    max_new, eval_batch_size, skip)

        def timed(res=res, skip=skip, max_new=max_new, task=task):
            return {"answers_per_s": ev.answers_per_second(res.model, res.tok, splits[task]["test"][:n_speed], max_new,
                                                           speed_batch_size, skip), "device": device}
        speeds[(task, method)] = cached_json(run.path(f"speed_{key}.json"), timed)["answers_per_s"]
    return records, speeds


def accuracy_cells(table):
    """Accuracy [CI] per (method, inference) and task, as text cells."""
    cells = table.assign(cell=[f"{a:.2f} [{lo:.2f}, {hi:.2f}]"
                               for a, lo, hi in zip(table.accuracy, table.ci_low, table.ci_high)])
    return cells.pivot(index=["method", "inference"], columns="task", values="cell")


def significance_table(per_task: dict[str, dict]):
    """Per task: the paired test of stepwise against no-CoT training."""
    import pandas as pd
    return pd.DataFrame([{"task": t, "signal": v["signal"], "stepwise only": v["a_only"], "no-CoT only": v["b_only"],
                          "McNemar p": v["p_value"]} for t, v in per_task.items()])


HEADLINE = ["icot_accuracy", "nocot_accuracy", "cot_accuracy", "icot_speedup_over_cot"]


def speedup(h: dict) -> float | None:
    """Stepwise answers per second over explicit CoT's (None without a speed for CoT)."""
    return h["stepwise"]["answers_per_s"] / h["cot"]["answers_per_s"] if h["cot"]["answers_per_s"] else None


def run_metrics(per_task: dict, head: str, records: dict, results: dict, *, init_from: str, tasks: Sequence[str],
                device: str, torch_threads: int) -> dict[str, Any]:
    """metrics.json: the headline task's accuracies with CIs, tokens and speed, every task's report, training
    numbers, and the findings computed from them (``evaluate.findings``)."""
    from .evaluate import findings
    h = per_task[head]

    def ci(m):
        return [h[m]["ci_low"], h[m]["ci_high"]]
    m = {
        "headline": HEADLINE, "headline_task": head, "p_value": h["p_value"],
        "icot_accuracy": h["stepwise"]["accuracy"], "icot_accuracy_ci": ci("stepwise"),
        "nocot_accuracy": h["nocot"]["accuracy"], "nocot_accuracy_ci": ci("nocot"),
        "cot_accuracy": h["cot"]["accuracy"], "cot_accuracy_ci": ci("cot"),
        "icot_tokens_per_answer": h["stepwise"]["tokens_per_answer"], "cot_tokens_per_answer": h["cot"]["tokens_per_answer"],
        "icot_answers_per_s": h["stepwise"]["answers_per_s"], "cot_answers_per_s": h["cot"]["answers_per_s"],
        "icot_speedup_over_cot": speedup(h), "n_test": len(records[(head, "stepwise")]), "init_from": init_from,
        "tasks": tasks, "train_steps": results[(head, "stepwise")][1].steps, "per_task": per_task, "device": device,
        "train_seconds": {f"{t}/{meth}": r.seconds for (t, meth), (_, r) in results.items()},
        "torch_threads": torch_threads,
    }
    m.update(findings(m))
    return m


def reading_it(h: dict, head: str, sw_cfg: Any, n_train: int) -> str:
    """The closing paragraph: how much of explicit CoT's accuracy the stepwise model keeps, its CoT tokens and speed,
    and how many training steps each removed token got here against the paper's budget."""
    from .schedule import steps_per_removed_token
    per_token = steps_per_removed_token(-(-n_train // sw_cfg.batch_size), sw_cfg.remove_per_epoch)
    kept = h["stepwise"]["accuracy"] / h["cot"]["accuracy"] if h["cot"]["accuracy"] else None
    fast = speedup(h)
    return (f"**Reading it.** The explicit-CoT model shows what this model and budget learn *with* a CoT "
            f"({h['cot']['accuracy']:.0%} on {head}); the stepwise model keeps "
            + (f"{min(kept, 1):.0%} of that" if kept is not None else f"an accuracy of {h['stepwise']['accuracy']:.0%}")
            + f" while writing {h['stepwise']['cot_tokens_per_answer']:.1f} CoT tokens per answer instead of "
              f"{h['cot']['cot_tokens_per_answer']:.1f}"
            + (f", at {fast:.1f}x the explicit model's answers per second. " if fast else ". ")
            + f"Each removed token got {max(per_token, 1)} training steps here; the paper gives GPT-2 Small a removal "
              f"every few thousand steps over 808K products for tens of epochs, so a gap between this run and the "
              f"paper's 4x4-9x9 numbers (1.00, 1.00, 0.95, 0.99) speaks to budget and model size, which "
              f"`full-gpu.yaml` removes.")
