"""The gate on every verdict (issue #24): a finding is "untestable here" when the run's minimum detectable effect,
computed from its CI, is larger than the paper's effect, so a null (or a lucky) result at a resolution that cannot
see the paper's effect is never read as a verdict.

    g = gate(low, high, "ppo_vs_dpo_average")   # {mde, paper_effect, paper_source, testable, reason}
    finding = gated(finding, d, "fine_vs_overall")
"""

from __future__ import annotations

from typing import Any

# The paper's effect sizes (points; the abstract of arXiv 2406.09279, as summarised in shared/reference/tulu25_trl.md): what a run must be able to resolve before its verdict on a finding means anything.
# Findings the paper gives no separate number for are held to the smallest effect it reports (PPO over DPO on
# the average, 1.2 points).
SMALLEST_PAPER_EFFECT = 0.012
PAPER_EFFECTS = {
    "data": (0.08, "the best preference data over the others: up to +8 points (instruction following, truthfulness)"),
    "algorithm": (0.012, "PPO over DPO: +1.2 points on the average (up to +2.5 on math)"),
    "reward model": (0.05, "the larger reward model in PPO: up to +5 points on math, marginal elsewhere"),
    "prompts": (SMALLEST_PAPER_EFFECT, "the smallest effect; held to the smallest number the paper gives, 1.2 points"),
    "ppo_vs_dpo_reasoning": (0.025, "PPO over DPO on math: up to +2.5 points"),
    "ppo_vs_dpo_average": (0.012, "PPO over DPO on the average: +1.2 points"),
    "fine_vs_overall": (SMALLEST_PAPER_EFFECT, "no separate number in our notes; held to 1.2 points"),
    "rm_size_reasoning": (0.05, "the larger reward model on math: up to +5 points"),
    "targeted_prompts_reasoning": (SMALLEST_PAPER_EFFECT, "the smallest aspect; held to 1.2 points"),
}
MDE_FACTOR = 2.8  # minimum detectable effect = 2.8 x SE: 80% power for a two-sided 5% test (1.96 + 0.84)


def minimum_detectable_effect(low: float, high: float, z: float = 1.96, factor: float = MDE_FACTOR) -> float:
    """The smallest true effect this run would detect (80% power, 5% two-sided) given a 95% CI [low, high]:
    ``factor`` x SE, with SE = CI width / (2 z)."""
    return factor * (high - low) / (2 * z)


def gate(low: float, high: float, paper_key: str) -> dict[str, Any]:
    """Whether a difference measured with the CI [low, high] can resolve the paper's effect ``PAPER_EFFECTS[paper_key]``:
    {mde, paper_effect, paper_source, testable, reason} (reason: None when testable, else the sentence with the numbers)."""
    paper, source = PAPER_EFFECTS[paper_key]
    mde = minimum_detectable_effect(low, high)
    if high - low <= 0:  # no answer differs between the two sides: a zero-width CI, no resolution at all
        return {
            "mde": mde,
            "paper_effect": paper,
            "paper_source": source,
            "testable": False,
            "reason": "untestable here: no evaluation answer differs between the two sides, so the CI has zero "
            f"width and no resolution (the paper's effect: {100 * paper:.1f} points, {source})",
        }
    testable = mde <= paper
    reason = (
        None
        if testable
        else (
            f"untestable here: the minimum detectable effect is {100 * mde:.1f} points ({MDE_FACTOR} x SE of this run's "
            f"CI [{100 * low:+.1f}, {100 * high:+.1f}]), larger than the paper's {100 * paper:.1f} points ({source})"
        )
    )
    return {"mde": mde, "paper_effect": paper, "paper_source": source, "testable": testable, "reason": reason}


def gated(finding: dict[str, Any], d: dict, paper_key: str) -> dict[str, Any]:
    """``finding`` with its gate: the status becomes "untestable here: ..." when the run cannot resolve the paper's
    effect (the computed status is kept as ``status_ungated``)."""
    g = gate(d["low"], d["high"], paper_key)
    out = {**finding, "mde": g["mde"], "paper_effect": g["paper_effect"], "testable": g["testable"]}
    if not g["testable"]:
        out.update(status_ungated=finding["status"], status=g["reason"])
    return out


PPO_VS_DPO = "PPO beats DPO, mainly on reasoning"


def kl_gated(checked: list[dict[str, Any]], kl_info: dict) -> list[dict[str, Any]]:
    """The PPO-vs-DPO finding gated on matched KL (the paper compares the two at matched KL from the SFT policy):
    "untestable here" with both KLs when ``kl_info`` (``kl.kl_summary``) says they are not matched; unchanged when
    they are, or when no KL was measured. A finding already untestable keeps its first reason."""
    if "kl_matched" not in kl_info or kl_info["kl_matched"]:
        return list(checked)
    kl = kl_info["kl_from_sft"]
    reason = (
        f"untestable here: PPO and DPO are not at matched KL from the SFT policy (PPO {kl['ppo']:.2f}, DPO "
        f"{kl['dpo']:.2f} nats per response, ratio {kl_info['kl_ratio_ppo_dpo']:.2f}; matched: within 2x or 0.05 "
        "nats), so their scores compare different distances from the SFT policy"
    )
    out = []
    for f in checked:
        if f["finding"] == PPO_VS_DPO and not str(f["status"]).startswith("untestable"):
            f = {
                **f,
                "status": reason,
                "status_ungated": f.get("status_ungated", f["status"]),
                "testable": False,
                "kl_matched": False,
            }
        out.append(f)
    return out
