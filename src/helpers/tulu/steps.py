"""The notebook's steps (06_tulu) that are more than a call: set-up, metrics.json with its findings, and the
closing notes (what the world shows, the published checkpoints, the Arena-Hard rows of a hub run)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import tables


def configure(torch_threads: int) -> None:
    """TRL's per-stage progress bars off (unless set), torch's CPU threads (0: leave them)."""
    import torch

    os.environ.setdefault("TQDM_DISABLE", "1")
    if torch_threads:
        torch.set_num_threads(torch_threads)


def setup_line(world: str, rows: Sequence, seeds: Sequence[int]) -> str:
    """The plan and the machine: rows, trainings, seeds, torch threads and load."""
    import torch

    from .grid import unique_runs

    return (
        f"{world} world, {len(rows)} rows ({len(unique_runs(rows))} trainings) x {len(seeds)} seeds; torch threads "
        f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


# --------------------------------------------------------------------------- metrics.json and findings
def _key(aspect: str) -> str:
    return aspect.replace(" ", "_") + "_effect"


def findings(m: dict[str, Any], *, checked: Sequence[dict], ranking: Sequence[dict]) -> dict[str, Any]:
    """Signal (how many of the paper's findings the grid reproduces, or "untestable" when the run resolves none of
    the paper's effects), finding (the aspect order against the paper's, and the gate's numbers) and one line per
    checked finding (with a sentence on the ranking's ties when there are any)."""
    sig = tables.signal(checked)
    gated = [c for c in checked if c.get("testable") is False and "mde" in c]
    gate_text = "; ".join(
        c["finding"].split(",")[0].split(" (")[0]
        + ": "
        + (
            f"{100 * c['mde']:.1f} > {100 * c['paper_effect']:.1f}"
            if c["mde"] > 0
            else f"no answer differs (the paper: {100 * c['paper_effect']:.1f})"
        )
        for c in gated
    )
    head = (
        (
            f"Untestable here: with {m.get('n_eval_prompts')} evaluation prompts and {len(m.get('seeds') or [])} seeds "
            f"the minimum detectable effects exceed the paper's (points, {gate_text}). "
        )
        if sig == "untestable"
        else ""
    )
    lines = tables.findings_lines(checked, ranking)
    if m.get("kl_from_sft"):
        lines.append(
            "KL from the SFT policy (nats per response): "
            + ", ".join(f"{a.upper()} {v:.2f}" for a, v in m["kl_from_sft"].items())
            + (
                ""
                if "kl_matched" not in m
                else "; PPO and DPO at matched KL (within 2x or 0.05 nats)"
                if m["kl_matched"]
                else f"; PPO and DPO NOT at matched KL (PPO / DPO = {m['kl_ratio_ppo_dpo']:.2f}): their scores compare "
                "different distances from the SFT policy"
            )
        )
    if m.get("ppo_clipfrac") is not None:
        lines.append(
            f"PPO: {m['ppo_updates_per_rollout']} minibatch updates per rollout; clip fraction "
            f"{m['ppo_clipfrac']:.3f} (clipping acted in {m['ppo_clipped_update_share']:.0%} of updates), "
            f"policy KL per update {m['ppo_update_kl']:.2e}"
        )
    return {
        "signal": sig,
        "finding": (
            head
            + f"In the {m.get('world')} world the aspects rank "
            + tables.order_text(ranking)
            + " (the paper: data > algorithm > reward model > prompts); "
            + sig
            + "."
        ),
        "findings": lines,
    }


def ppo_diagnostics(rows: Sequence, results: dict) -> dict[str, Any]:
    """Whether PPO was PPO: minibatch updates per rollout, the mean clip fraction, the share of updates in which
    clipping acted, and the policy's KL per update from its rollout policy, over every PPO row and seed."""
    import numpy as np

    slugs = {r.slug for r in rows if r.algorithm == "ppo"}
    runs = [
        [h for h in res.history if "clipfrac_per_update" in h] for (slug, _), res in results.items() if slug in slugs
    ]
    hist = [h for run in runs for h in run]
    if not hist:
        return {}
    clips = [c for h in hist for c in h["clipfrac_per_update"]]
    kls = [k for h in hist for k in h["policy_kl_per_update"]]
    return {
        "ppo_updates_per_rollout": int(np.median([h["updates"] for h in hist])),
        "ppo_clipfrac": float(np.mean(clips)),
        "ppo_clipped_update_share": float(np.mean([c > 0 for c in clips])),
        "ppo_update_kl": float(np.mean(kls)),
        "ppo_final_kl_per_token": float(np.mean([run[-1]["kl"] for run in runs if run])),
    }


def run_metrics(
    *,
    ranking: Sequence[dict],
    table: Sequence[dict],
    checked: Sequence[dict],
    rm_table,
    sft_summary,
    world: str,
    policy: str,
    seeds: Sequence[int],
    n_rows: int,
    n_eval_prompts: int,
    started: float,
    extra: dict | None = None,
) -> dict[str, Any]:
    """metrics.json: each aspect's effect with its CI, the reference DPO delta, the aspect order and its ties, the
    checked paper findings, SFT accuracy, held-out reward-model accuracy, and the findings computed from them."""
    effect = {r["aspect"]: r for r in ranking}
    ties = tables.ranking_ties(ranking)
    ref = next(t for t in table if t["reference"] and t["aspect"] == "data" and t["column"] == "average")
    m = {
        "headline": [_key(a) for a in tables.PAPER_ORDER if a in effect]
        + ["reference_dpo_delta", "aspect_ranking_ties"],
        **{_key(a): r["effect"] for a, r in effect.items()},
        **{f"{_key(a)}_ci": [r["low"], r["high"]] for a, r in effect.items()},
        "reference_dpo_delta": ref["delta"],
        "reference_dpo_delta_ci": [ref["low"], ref["high"]],
        "aspect_order": [r["aspect"] for r in ranking],
        "aspect_ranking_ties": ties["aspect_ranking_ties"],
        "aspect_ranking_equal_effects": ties["aspect_ranking_equal_effects"],
        "aspect_ranking_tied_pairs": ties["tied_pairs"],
        "findings_checked": list(checked),
        "world": world,
        "policy": policy,
        "seeds": seeds,
        "n_rows": n_rows,
        "n_eval_prompts": n_eval_prompts,
        "sft_accuracy": sft_summary["accuracy"].to_dict(),
        "seconds": round(time.perf_counter() - started, 1),
        **{f"{_key(a)}_mde": r["mde"] for a, r in effect.items() if "mde" in r},
        **{f"{_key(a)}_paper": r["paper_effect"] for a, r in effect.items() if "paper_effect" in r},
        **(extra or {}),
    }
    m.update(findings(m, checked=checked, ranking=ranking))
    if len(rm_table):
        m["reward_model_heldout_accuracy"] = rm_table.groupby("reward model")["held_out_accuracy"].mean().to_dict()
        if "n_held_out" in rm_table:
            m["reward_model_heldout_pairs"] = int(rm_table["n_held_out"].max())
    return m


# --------------------------------------------------------------------------- closing notes
def online_note(rows: Sequence, table: Sequence[dict], rm_table) -> str:
    """PPO against DPO on the average, and how well PPO's reward model orders held-out pairs ("" when either
    algorithm or the reward-model table is missing)."""
    avg = {t["configuration"]: t for t in table if t["column"] == "average"}
    dpo = next((r for r in rows if r.aspect == "algorithm" and r.algorithm == "dpo"), None)
    ppo = next((r for r in rows if r.aspect == "algorithm" and r.algorithm == "ppo"), None)
    rm_acc = rm_table.groupby("reward model", sort=False)["held_out_accuracy"].mean() if len(rm_table) else None
    if not (dpo and ppo and rm_acc is not None):
        return ""
    gap = avg[ppo.label]["delta"] - avg[dpo.label]["delta"]
    return (
        f" Here PPO {'beats' if gap > 0 else 'trails'} DPO by {abs(100 * gap):.1f} points on the average; its reward "
        f"model orders {rm_acc.iloc[0]:.0%} of held-out pairs like the checker, and an online algorithm can only "
        f"climb what its reward model has learned from the preference labels DPO trains on directly."
    )


def quick_note(online: str, n_seeds: int, n_eval_prompts: int) -> str:
    """What the quick world shows and what it does not."""
    return (
        "**What this world shows and what it does not.** The quick world is built so that each of the paper's four "
        "aspects can matter: the SFT policy has learned a systematic mistake on half of each category, preference "
        "pairs can point away from it (or not, when their labels are noisy or off-policy), and online training sees "
        "only what its reward model learned." + online + " The ranking and the findings above are measured in that "
        f"world, with {n_seeds} seeds and {n_eval_prompts} evaluation prompts; they show how the pipeline's parts "
        "behave against each other, not how a 13B model behaves on GSM8k or AlpacaEval. The size of each aspect's "
        "effect depends on the levels chosen for it, as it does in the paper's table; each is compared over levels of "
        "one kind, none deliberately broken. `full-gpu.yaml` runs the same cells on a hub model and the Tulu 2.5 data."
    )


def hub_note(online: str, n_published: int, run_name: str) -> str:
    """Where a hub run's win rates come from (04_arena_hard judges the published policies)."""
    return (
        "**Win rates.** This notebook measures task accuracy, not win rates. The trained "
        f"policies are linked at `checkpoints/<slug>-s<seed>` in this run folder ({n_published} listed in "
        "`data/checkpoints.json`); in a `full-gpu` suite run, 04_arena_hard runs after this notebook and judges the "
        "DPO and PPO policies of seed 0 (its `extra_checkpoints`) against its baseline, with bootstrap CIs, in "
        f"`outputs/04_arena_hard/{run_name}/data/leaderboard.csv`." + online
    )


def checkpoint_links(models: Path, rows: Sequence, seeds: Sequence[int]) -> dict[str, str]:
    """Every trained policy's folder by "<label> (seed s)" (the quick world publishes no links)."""
    from .grid import unique_runs

    return {f"{r.label} (seed {s})": str(models / f"{r.slug}-s{s}") for r in unique_runs(rows) for s in seeds}


def arena_rows(run_dir: Path, published: dict[str, str]) -> tuple[Any, str]:
    """(this run's policies in 04_arena_hard's leaderboard of the same run name, or None; the line to print)."""
    import pandas as pd

    board = Path(run_dir).parent.parent / "04_arena_hard" / Path(run_dir).name / "data" / "leaderboard.csv"
    if not board.exists():
        return (
            None,
            f"no Arena-Hard leaderboard at {board} yet: the win rates come from 04_arena_hard in the same suite run",
        )
    names = {os.path.basename(path): label for label, path in published.items()}
    rows = pd.read_csv(board)
    rows = rows[rows.model.isin(names)]
    line = (
        f"{len(rows)} Tulu rows in {board}, written {time.ctime(board.stat().st_mtime)} by a 04_arena_hard "
        "run before this notebook finished (it judged the models these links pointed to then):"
    )
    return rows.assign(configuration=rows.model.map(names)).set_index("configuration"), line
