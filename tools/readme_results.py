"""Write the README's results table from the latest quick runs (between the results markers).

    .venv/bin/python tools/readme_results.py [--outputs DIR] [--profile quick] [--check]

One row per notebook: the paper (linked), what the quick run showed -- its ``finding`` and ``signal`` read
from ``outputs/<notebook>/<profile>/metrics.json``, never typed by hand, and beside it the controlled setting's
``controlled_finding`` where the notebook has one -- what the ``cpu-demo`` profile showed where a notebook has
that profile (read from ``outputs/<notebook>/cpu-demo/``), the paper's own number to compare with, and what
the full profiles do.
A notebook without a run says so. ``--check`` exits 1 when a notebook has no row description here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- results-table:start (tools/readme_results.py) -->", "<!-- results-table:end -->"

# notebook stem -> (paper, link, what its full profiles do). Descriptions of the method, not results.
PAPERS: dict[str, tuple[str, str, str]] = {
    "00_quickstart": ("the stack end to end", "", "the same checks on a hub model through vLLM (`full-gpu`)"),
    "01_magpie": (
        "Magpie (Xu et al. 2024)",
        "https://arxiv.org/abs/2406.08464",
        "Llama-3-8B/70B (tensor parallel) and Qwen2.5-7B writers, tagging with a judge, SFT on the kept data",
    ),
    "02_wildbench": (
        "WildBench (Lin et al. 2024)",
        "https://arxiv.org/abs/2406.04770",
        "WB-Score and WB-Reward of hub models judged by a large model (endpoint or self-hosted)",
    ),
    "03_benchbuilder": (
        "Arena-Hard / BenchBuilder (Li et al. 2024)",
        "https://arxiv.org/abs/2406.11939",
        "seven-quality labelling of WildChat prompts by a large labeler, clustering, selection",
    ),
    "04_arena_hard": (
        "Arena-Hard-Auto (Li et al. 2024)",
        "https://arxiv.org/abs/2406.11939",
        "pairwise judging with swaps against a baseline, Bradley-Terry with bootstrap CIs, style control",
    ),
    "05_cdr": (
        "CDR / Dr. SoW (Xu et al. 2024)",
        "https://arxiv.org/abs/2411.02481",
        "density-ratio rewards of strong-over-weak hub pairs on RewardBench, and the pair sweep",
    ),
    "06_tulu": (
        "Tulu 2.5: Unpacking DPO and PPO (Ivison et al. 2024)",
        "https://arxiv.org/abs/2406.09279",
        "DPO and PPO from a Tulu 2 SFT policy on the Tulu 2.5 preference data, evaluated with lm-eval",
    ),
    "07_culturegen": (
        "Culture-Gen (Li et al. 2024)",
        "https://arxiv.org/abs/2404.10199",
        "culture-conditioned generations of hub models for 110 cultures, symbols, CulturalBench",
    ),
    "08_infosumm": (
        "InfoSumm (Jung et al. 2024)",
        "https://arxiv.org/abs/2403.13780",
        "a hub teacher's PMI critics filter its summaries; a seq2seq student distilled on them",
    ),
    "09_icot": (
        "Stepwise internalization of CoT (Deng et al. 2024)",
        "https://arxiv.org/abs/2405.14838",
        "GPT-2 Small on 4x4-9x9 multiplication and GSM8K with the reference schedule",
    ),
    "10_wildchat": (
        "WildChat (Zhao et al. 2024)",
        "https://arxiv.org/abs/2405.01470",
        "the corpus analyses over the public or the full release, streamed",
    ),
    "11_culturalteaming": (
        "CulturalTeaming (Chiu et al. 2024)",
        "https://arxiv.org/abs/2404.06664",
        "hub models as verifier and targets; accuracy on the hub CulturalBench",
    ),
    "12_participai": (
        "Particip-AI (Mun et al. 2024)",
        "https://arxiv.org/abs/2403.14791",
        "the public release's responses, coded by a hub model and checked against human codes",
    ),
}


# notebook stem -> the paper's number a cpu-demo or quick finding is compared with (a fact from the paper).
PAPER_NUMBERS: dict[str, str] = {
    "01_magpie": "filters keep about 30% (Pro, 1M -> 300K) and 10% (Air, 3M -> 300K) of the raw records",
    "05_cdr": "RewardBench 82.6 for a DPO-over-SFT Mistral-7B pair, the best pair type (abstract)",
    "06_tulu": "PPO beats DPO by up to 2.5 points on math and 1.2 overall; preference data up to +8; a larger reward "
    "model up to +5 on math; extra prompts the smallest effect (abstract)",
    "07_culturegen": "marginalised cultures get more markers; symbol diversity correlates with a culture's frequency in "
    "the pre-training data (abstract)",
    "08_infosumm": "a 568M student distilled from Pythia-2.8B (which cannot summarise at first) is competitive with "
    "ChatGPT (abstract); no filtered-vs-unfiltered number is published",
    "09_icot": "GPT-2 Small with stepwise internalization, no CoT at inference: 4x4 1.00, 5x5 1.00, 9x9 0.99; "
    "standard no-CoT training cannot solve beyond 4x4 (abstract, Table 1)",
}


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _latest(outputs: Path, stem: str, profile: str) -> dict | None:
    run = outputs / stem / profile
    try:
        metrics = json.loads((run / "metrics.json").read_text())
        info = json.loads((run / "run.json").read_text())
    except (OSError, ValueError):
        return None
    return {
        "finding": metrics.get("finding", ""),
        "signal": metrics.get("signal", ""),
        "controlled_finding": metrics.get("controlled_finding", ""),
        "controlled_signal": metrics.get("controlled_signal", ""),
        "commit": str(info.get("git", {}).get("commit", ""))[:7],
        "status": info.get("status", ""),
    }


def _shown(signal: str, finding: str) -> str:
    return f"**{_cell(signal)}**: {_cell(finding)}" if signal else _cell(finding)


def _quick_cell(run: dict | None) -> str:
    if run is None:
        return "no run yet"
    shown = _shown(run["signal"], run["finding"])
    if run["controlled_finding"]:
        shown += f"<br>*Controlled setting*: {_shown(run['controlled_signal'], run['controlled_finding'])}"
    return shown + f" (run {run['status']}, commit {run['commit']})"


def _demo_cell(outputs: Path, stem: str) -> str:
    if not (ROOT / "params" / stem / "cpu-demo.yaml").exists():
        return "-"
    run = _latest(outputs, stem, "cpu-demo")
    if run is None:
        return "profile exists, no run yet"
    return _shown(run["signal"], run["finding"]) + f" (run {run['status']}, commit {run['commit']})"


def render(outputs: Path, profile: str = "quick") -> str:
    lines = [
        f"| notebook | paper | what its `{profile}` run shows (computed finding) | `cpu-demo` run "
        "| the paper's number | full profiles |",
        "|---|---|---|---|---|---|",
    ]
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        paper, link, full = PAPERS.get(nb.stem, ("?", "", "?"))
        title = f"[{paper}]({link})" if link else paper
        shown = _quick_cell(_latest(outputs, nb.stem, profile))
        demo, number = _demo_cell(outputs, nb.stem), _cell(PAPER_NUMBERS.get(nb.stem, "-"))
        lines.append(f"| `{nb.stem}` | {title} | {shown} | {demo} | {number} | {_cell(full)} |")
    return "\n".join(lines)


def missing_rows() -> list[str]:
    return [nb.stem for nb in sorted((ROOT / "notebooks").glob("*.ipynb")) if nb.stem not in PAPERS]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--outputs", type=Path, default=ROOT / "outputs")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--check", action="store_true", help="exit 1 when a notebook has no row description")
    args = ap.parse_args(argv)
    if args.check:
        missing = missing_rows()
        if missing:
            print(f"tools/readme_results.py: no row for {', '.join(missing)}", file=sys.stderr)
        return 1 if missing else 0
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START not in text or END not in text:
        print(f"README.md has no {START} ... {END} block", file=sys.stderr)
        return 1
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{render(args.outputs, args.profile)}\n{END}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
