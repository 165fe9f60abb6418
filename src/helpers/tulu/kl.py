"""How far each trained policy moved from the SFT policy: the sequence-level KL, so PPO and DPO are compared at
(or with) their KL, not only at their scores.

    kl = sequence_kl(policy_dir, sft_dir, prompts)          # nats per response, sampled from the policy
    rows = kl_rows(world, rows, seeds, run.store("kl"))     # one record per (algorithm row, seed), cached

KL(pi || pi_sft) is estimated by sampling one response per prompt from the policy (temperature 1, the policy's own
distribution) and averaging sum_t [log pi(y_t | ...) - log pi_sft(y_t | ...)] over the prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..core.store import JsonlStore, stable_id


def sequence_kl(
    policy: str | Path, reference: str | Path, prompts: Sequence[str], max_new_tokens: int = 24, seed: int = 0
) -> float:
    """The Monte-Carlo KL(policy || reference) in nats per response over ``prompts``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .evaluate import generate
    from .ppo import pack, token_logprobs

    tok = AutoTokenizer.from_pretrained(str(policy))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(str(policy)).eval()
    ref = AutoModelForCausalLM.from_pretrained(str(reference)).eval()
    _, ids = generate(
        model, tok, list(prompts), max_new_tokens, do_sample=True, temperature=1.0, seed=seed, return_ids=True
    )
    total = 0.0
    for start in range(0, len(ids), 64):
        chunk = [(p, r if r else [tok.eos_token_id]) for p, r in ids[start : start + 64]]
        batch = pack(chunk, tok.pad_token_id)
        with torch.no_grad():
            logp, mask = token_logprobs(model, batch, 1.0)
            ref_logp, _ = token_logprobs(ref, batch, 1.0)
        total += float(((logp - ref_logp) * mask).sum())
    return total / max(1, len(ids))


def kl_rows(
    world,
    rows: Sequence,
    seeds: Sequence[int],
    store: JsonlStore,
    aspects: Sequence[str] = ("algorithm",),
    max_new_tokens: int = 24,
) -> list[dict]:
    """KL from the SFT policy of every trained policy of the rows in ``aspects`` (each (row, seed) once, cached by its
    training inputs and the prompts): [{configuration, algorithm, seed, kl}]."""
    prompts = world.kl_prompts() if hasattr(world, "kl_prompts") else []
    if not prompts:
        return []
    out = []
    for row in {r.slug: r for r in rows if r.aspect in aspects}.values():
        for seed in seeds:
            rid = stable_id("kl", row.key(), seed, world.fingerprint(), prompts, max_new_tokens)
            if rid not in store:
                folder = world.root / "models" / f"{row.slug}-s{seed}"
                store.append({"id": rid, "kl": sequence_kl(folder, world.sft_dir, prompts, max_new_tokens, seed)})
            out.append(
                {"configuration": row.label, "algorithm": row.algorithm, "seed": seed, "kl": store.get(rid)["kl"]}
            )
    return out


def kl_summary(kl: Sequence[dict], ratio: float = 2.0, slack: float = 0.05) -> dict:
    """Mean KL per algorithm and whether DPO and PPO sit at matched KL: within a factor ``ratio`` of each other, or
    within ``slack`` nats (Monte-Carlo estimates of small KLs are noisy and can fall below 0)."""
    import numpy as np

    by = {}
    for r in kl:
        by.setdefault(r["algorithm"], []).append(r["kl"])
    mean = {a: float(np.mean(v)) for a, v in by.items()}
    out = {"kl_from_sft": mean}
    if "dpo" in mean and "ppo" in mean:
        lo, hi = sorted([max(mean["dpo"], 0.0), max(mean["ppo"], 0.0)])
        out["kl_ratio_ppo_dpo"] = max(mean["ppo"], 0.01) / max(mean["dpo"], 0.01)  # floored at 0.01 nats
        out["kl_matched"] = hi - lo <= slack or hi <= ratio * lo
    return out


def kl_score_points(kl: Sequence[dict], rows: Sequence, results: dict, sft: Sequence[dict]) -> list[dict]:
    """The KL-vs-score frontier's points: each (algorithm row, seed) with its KL from the SFT policy and its change
    in average accuracy (mean of the category means, points as a fraction) against the SFT policy."""
    import numpy as np

    base = {r["id"]: float(r["correct"]) for r in sft}
    slug = {r.label: r.slug for r in rows}
    out = []
    for k in kl:
        recs = results[(slug[k["configuration"]], k["seed"])].records
        by_cat: dict[str, list[float]] = {}
        for r in recs:
            by_cat.setdefault(r["category"], []).append(float(r["correct"]) - base[r["id"]])
        out.append({**k, "delta_average": float(np.mean([np.mean(v) for v in by_cat.values()]))})
    return out
