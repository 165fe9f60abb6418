"""Write src/helpers/data/cdr_sweep_pairs.yaml: the (strong, weak) pairs of 05_cdr's full-gpu-sweep profile.

    python tools/make_cdr_sweep_pairs.py          # rewrites the file (deterministic)

The CDR paper (Dr. SoW, arXiv 2411.02481) sweeps 221 unique (strong, weak) pairs (its Figure 1) of three types,
but does not publish the list. This one is ours: public hub releases of several families, each model with its role
(base, SFT, DPO, instruct) and, where one exists, the model it was tuned from. Every pair is typed by the roles of
its two models: DPO over SFT, SFT over base, instruct over base; ``lineage`` says whether the weak model is the
strong one's own parent ("parent"), of the same family ("family") or of another family ("cross").
"""

from __future__ import annotations

import sys
from pathlib import Path

# (hub id, family, role, parent): the parent is the model this one was tuned from (None: not in this table)
MODELS = [
    # Tulu 2 over Llama 2 (allenai/tulu-2-*: SFT; tulu-2-dpo-*: DPO on UltraFeedback); Llama-2-chat: Meta's RLHF'd chat
    ("meta-llama/Llama-2-7b-hf", "llama-2", "base", None),
    ("meta-llama/Llama-2-13b-hf", "llama-2", "base", None),
    ("allenai/tulu-2-7b", "llama-2", "sft", "meta-llama/Llama-2-7b-hf"),
    ("allenai/tulu-2-13b", "llama-2", "sft", "meta-llama/Llama-2-13b-hf"),
    ("allenai/tulu-2-dpo-7b", "llama-2", "dpo", "allenai/tulu-2-7b"),
    ("allenai/tulu-2-dpo-13b", "llama-2", "dpo", "allenai/tulu-2-13b"),
    ("meta-llama/Llama-2-7b-chat-hf", "llama-2", "instruct", "meta-llama/Llama-2-7b-hf"),
    ("meta-llama/Llama-2-13b-chat-hf", "llama-2", "instruct", "meta-llama/Llama-2-13b-hf"),
    # Mistral 7B v0.1: Zephyr (H4 and the alignment handbook), Notus, OpenHermes / Nous-Hermes, SimPO's DPO baseline
    ("mistralai/Mistral-7B-v0.1", "mistral", "base", None),
    ("HuggingFaceH4/mistral-7b-sft-beta", "mistral", "sft", "mistralai/Mistral-7B-v0.1"),
    ("HuggingFaceH4/zephyr-7b-beta", "mistral", "dpo", "HuggingFaceH4/mistral-7b-sft-beta"),
    ("princeton-nlp/Mistral-7B-Base-SFT-DPO", "mistral", "dpo", "HuggingFaceH4/mistral-7b-sft-beta"),
    ("alignment-handbook/zephyr-7b-sft-full", "mistral", "sft", "mistralai/Mistral-7B-v0.1"),
    ("alignment-handbook/zephyr-7b-dpo-full", "mistral", "dpo", "alignment-handbook/zephyr-7b-sft-full"),
    ("argilla/notus-7b-v1", "mistral", "dpo", "alignment-handbook/zephyr-7b-sft-full"),
    ("teknium/OpenHermes-2.5-Mistral-7B", "mistral", "sft", "mistralai/Mistral-7B-v0.1"),
    ("NousResearch/Nous-Hermes-2-Mistral-7B-DPO", "mistral", "dpo", "teknium/OpenHermes-2.5-Mistral-7B"),
    ("mistralai/Mistral-7B-Instruct-v0.1", "mistral", "instruct", "mistralai/Mistral-7B-v0.1"),
    # OLMo 2 (allenai): base, SFT, DPO and the final Instruct (RLVR) release of each size
    ("allenai/OLMo-2-1124-7B", "olmo-2", "base", None),
    ("allenai/OLMo-2-1124-7B-SFT", "olmo-2", "sft", "allenai/OLMo-2-1124-7B"),
    ("allenai/OLMo-2-1124-7B-DPO", "olmo-2", "dpo", "allenai/OLMo-2-1124-7B-SFT"),
    ("allenai/OLMo-2-1124-7B-Instruct", "olmo-2", "instruct", "allenai/OLMo-2-1124-7B"),
    ("allenai/OLMo-2-1124-13B", "olmo-2", "base", None),
    ("allenai/OLMo-2-1124-13B-SFT", "olmo-2", "sft", "allenai/OLMo-2-1124-13B"),
    ("allenai/OLMo-2-1124-13B-DPO", "olmo-2", "dpo", "allenai/OLMo-2-1124-13B-SFT"),
    ("allenai/OLMo-2-1124-13B-Instruct", "olmo-2", "instruct", "allenai/OLMo-2-1124-13B"),
    # Tulu 3 over Llama 3.1 8B; Meta's Llama-3.1-8B-Instruct
    ("meta-llama/Llama-3.1-8B", "llama-3.1", "base", None),
    ("allenai/Llama-3.1-Tulu-3-8B-SFT", "llama-3.1", "sft", "meta-llama/Llama-3.1-8B"),
    ("allenai/Llama-3.1-Tulu-3-8B-DPO", "llama-3.1", "dpo", "allenai/Llama-3.1-Tulu-3-8B-SFT"),
    ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1", "instruct", "meta-llama/Llama-3.1-8B"),
    # Llama 3 8B: SimPO's base setup (princeton-nlp SFT and DPO); Meta's Instruct
    ("meta-llama/Meta-Llama-3-8B", "llama-3", "base", None),
    ("princeton-nlp/Llama-3-Base-8B-SFT", "llama-3", "sft", "meta-llama/Meta-Llama-3-8B"),
    ("princeton-nlp/Llama-3-Base-8B-SFT-DPO", "llama-3", "dpo", "princeton-nlp/Llama-3-Base-8B-SFT"),
    ("meta-llama/Meta-Llama-3-8B-Instruct", "llama-3", "instruct", "meta-llama/Meta-Llama-3-8B"),
    # Qwen 2.5 and Gemma 2: base and instruct releases
    ("Qwen/Qwen2.5-0.5B", "qwen-2.5", "base", None),
    ("Qwen/Qwen2.5-0.5B-Instruct", "qwen-2.5", "instruct", "Qwen/Qwen2.5-0.5B"),
    ("Qwen/Qwen2.5-1.5B", "qwen-2.5", "base", None),
    ("Qwen/Qwen2.5-1.5B-Instruct", "qwen-2.5", "instruct", "Qwen/Qwen2.5-1.5B"),
    ("Qwen/Qwen2.5-7B", "qwen-2.5", "base", None),
    ("Qwen/Qwen2.5-7B-Instruct", "qwen-2.5", "instruct", "Qwen/Qwen2.5-7B"),
    ("google/gemma-2-2b", "gemma-2", "base", None),
    ("google/gemma-2-2b-it", "gemma-2", "instruct", "google/gemma-2-2b"),
    ("google/gemma-2-9b", "gemma-2", "base", None),
    ("google/gemma-2-9b-it", "gemma-2", "instruct", "google/gemma-2-9b"),
]
TYPES = {("dpo", "sft"): "dpo-over-sft", ("sft", "base"): "sft-over-base", ("instruct", "base"): "instruct-over-base"}
OUT = Path(__file__).resolve().parents[1] / "src" / "helpers" / "data" / "cdr_sweep_pairs.yaml"
HEADER = """\
# The (strong, weak) model pairs of 05_cdr's full-gpu-sweep profile (params/05_cdr/full-gpu-sweep.yaml), written by
# tools/make_cdr_sweep_pairs.py (edit the model table there and rerun; do not edit this file by hand).
#
# NOT the paper's list: the CDR / Dr. SoW paper (arXiv 2411.02481) sweeps 221 unique (strong, weak) pairs (its
# Figure 1) of the types DPO-over-SFT and SFT-over-base, but its list of pairs is not public. This list is ours,
# built from public hub releases of several families (Tulu 2 / Llama 2, Zephyr / Mistral, OLMo 2, Tulu 3 /
# Llama 3.1, Llama 3, Qwen 2.5, Gemma 2): every pair of a DPO model over an SFT model, an SFT model over a base
# model and an instruct model over a base model. type: the pair type; lineage: parent (the weak model is the
# strong one's own parent: the paper's default pair type), family (same family) or cross (another family; CDR
# scores each model with its own tokenizer and template, so cross-family pairs are well defined).
# Llama, Gemma and some Mistral repositories are gated on the hub: set HF_TOKEN with access to them.
"""


def pairs() -> list[dict]:
    """Every typed pair of MODELS, in table order (strong first)."""
    parent = {m: p for m, _, _, p in MODELS}
    family = {m: f for m, f, _, _ in MODELS}
    out = []
    for strong, _, s_role, _ in MODELS:
        for weak, _, w_role, _ in MODELS:
            kind = TYPES.get((s_role, w_role))
            if kind:
                lineage = (
                    "parent" if parent[strong] == weak else "family" if family[strong] == family[weak] else "cross"
                )
                out.append({"strong": strong, "weak": weak, "type": kind, "lineage": lineage})
    return out


def render(rows: list[dict]) -> str:
    counts = {t: sum(r["type"] == t for r in rows) for t in TYPES.values()}
    lines = [
        HEADER,
        f"# {len(rows)} pairs over {len(MODELS)} models: " + ", ".join(f"{n} {t}" for t, n in counts.items()) + ";",
        "# " + ", ".join(f"{sum(r['lineage'] == k for r in rows)} {k}" for k in ("parent", "family", "cross")) + ".",
        "pairs:",
    ]
    for r in rows:
        lines += [
            f"  - strong: {r['strong']}",
            f"    weak: {r['weak']}",
            f"    type: {r['type']}",
            f"    lineage: {r['lineage']}",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    rows = pairs()
    OUT.write_text(render(rows), encoding="utf-8")
    print(f"{OUT}: {len(rows)} pairs over {len(MODELS)} models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
