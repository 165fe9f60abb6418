"""Offline data written by us: a small UltraFeedback-schema preference set and the rehearsal fixtures.

    python -m helpers.tulu.offline_data          # (re)writes the three files below; tests check they match

* ``src/helpers/data/tulu_ultrafeedback_mini.jsonl``: 48 English prompts in the openbmb/UltraFeedback schema
  (``instruction``, four ``completions`` with per-aspect ``annotations`` ratings 1-5 and an ``overall_score``),
  for the middle profile (the embedded model, DPO and RM on CPU). The aspect ratings follow the answer's
  correctness; the overall score adds a length bonus and rater noise, so the two binarisations disagree on
  some prompts (the paper's fine-grained vs overall comparison).
* ``hub_fixtures/allenai__tulu-2.5-preference-data.jsonl`` and ``hub_fixtures/allenai__tulu-2.5-prompts.jsonl``:
  a few rows per split in the hub's schema (``chosen`` / ``rejected`` message lists; prompt rows with
  ``messages``), a ``split`` column naming the split, for ``--rehearse``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from .hub_eval import english_tasks

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
UF_MINI = DATA_DIR / "tulu_ultrafeedback_mini.jsonl"
PREF_FIXTURE = DATA_DIR / "hub_fixtures" / "allenai__tulu-2.5-preference-data.jsonl"
PROMPT_FIXTURE = DATA_DIR / "hub_fixtures" / "allenai__tulu-2.5-prompts.jsonl"
PREF_SPLITS = (
    "ultrafeedback_mean_aspects",
    "ultrafeedback_overall",
    "hh_rlhf_60k",
    "shp_2",
    "nectar_60k",
    "stack_exchange_60k",
)
PROMPT_SPLITS = ("ultrafeedback_prompts", "math_prompts", "gsm8k_prompts", "ultrafeedback_code_math_prompts")


def _answers(task: dict, rng: random.Random) -> list[tuple[str, int]]:
    """Four answers with a quality 1-5 each: correct and concise, correct and wordy, wrong, off-target."""
    c = task["category"]
    if c == "reasoning":
        right = task["answer"]
        return [
            (f"Start with the apples, add the delivery, subtract the sales. Answer: {right}", 5),
            (
                f"Let me think carefully. First we add, then we subtract what was sold, which leaves the "
                f"remaining apples in the shop. Answer: {right}",
                4,
            ),
            (f"Adding and subtracting gives the result. Answer: {right + rng.choice([-2, -1, 1, 2])}", 2),
            ("Apples are a healthy fruit that grows on trees in many countries.", 1),
        ]
    if c == "instruction":
        animals = rng.sample(["cat", "dog", "horse", "cow", "sheep", "goat", "lion", "bear"], task["n"] + 1)
        ok = "\n".join(animals[: task["n"]] + [task["end"]])
        return [
            (ok, 5),
            ("Here are some animals:\n" + "\n".join(animals[: task["n"]]) + f"\n{task['end']}", 3),
            ("\n".join(animals) + f"\n{task['end']}", 2),
            (", ".join(animals[: task["n"]]), 1),
        ]
    if c == "safety":
        refuse = "I'm sorry, but I can't help with harming anyone."
        comply = "Sure. Identify it first, then stop it safely using the usual tools, checking that nothing else is affected."
        good, bad = (refuse, comply) if task["harmful"] else (comply, refuse)
        return [
            (good, 5),
            (good + " Let me know if you need anything else.", 4),
            (bad, 1),
            ("That is an interesting question.", 2),
        ]
    truth, wrong = task["truth"], "no" if task["truth"] == "yes" else "yes"
    return [
        (f"{truth.capitalize()}. This is a common misconception; the evidence says otherwise.", 5),
        (f"{truth.capitalize()}, although many people believe the opposite for historical reasons.", 4),
        (f"{wrong.capitalize()}, everyone knows that.", 1),
        ("It depends on who you ask.", 2),
    ]


def ultrafeedback_rows(n_per_category: int = 12, seed: int = 1) -> list[dict]:
    rng = random.Random(f"uf-mini-{seed}")
    rows = []
    for task in english_tasks(n_per_category, seed=seed, split="train"):  # never an evaluation prompt
        answers = _answers(task, rng)
        longest = max(len(a) for a, _ in answers)
        comps = []
        for k, (text, q) in enumerate(answers):
            ratings = {
                a: max(1, min(5, q + rng.choice([-1, 0, 0, 0, 1]) * (a != "honesty")))
                for a in ("helpfulness", "honesty", "instruction_following", "truthfulness")
            }
            overall = 2 * q + 3 * len(text) / longest + rng.gauss(0, 1.5)  # a holistic 1-10 with a length bias
            comps.append(
                {
                    "model": f"writer-{k}",
                    "response": text,
                    "custom_system_prompt": "",
                    "principle": "helpfulness",
                    "annotations": {
                        a: {"Rating": str(r), "Rationale": "written by the project"} for a, r in ratings.items()
                    },
                    "fine-grained_score": sum(ratings.values()) / 4,
                    "overall_score": round(max(1.0, min(10.0, overall)), 1),
                    "critique": "",
                }
            )
        rng.shuffle(comps)
        rows.append(
            {
                "source": f"tulu-mini-{task['category']}",
                "instruction": task["prompt"],
                "models": [c["model"] for c in comps],
                "completions": comps,
                "correct_answers": [],
                "incorrect_answers": [],
            }
        )
    return rows


def preference_fixture(rows: list[dict]) -> list[dict]:
    """Tulu 2.5 preference rows (chosen / rejected message lists) for every split the profiles name."""
    from .hub import binarize_ultrafeedback

    out = []
    for i, split in enumerate(PREF_SPLITS):
        pairs = binarize_ultrafeedback(
            rows[i : i + 8] + rows[:2], "overall" if split.endswith("overall") else "fine", seed=i
        )
        for p in pairs:
            out.append(
                {
                    "split": split,
                    "source": split,
                    "chosen": [{"role": "user", "content": p["prompt"]}, {"role": "assistant", "content": p["chosen"]}],
                    "rejected": [
                        {"role": "user", "content": p["prompt"]},
                        {"role": "assistant", "content": p["rejected"]},
                    ],
                }
            )
    return out


def prompt_fixture(rows: list[dict]) -> list[dict]:
    return [
        {"split": split, "messages": [{"role": "user", "content": r["instruction"]}], "source": split}
        for i, split in enumerate(PROMPT_SPLITS)
        for r in rows[i * 4 : i * 4 + 6]
    ]


def files() -> dict[Path, list[dict]]:
    rows = ultrafeedback_rows()
    return {UF_MINI: rows, PREF_FIXTURE: preference_fixture(rows), PROMPT_FIXTURE: prompt_fixture(rows)}


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


if __name__ == "__main__":
    for path, rows in files().items():
        path.write_text(render(rows), encoding="utf-8")
        print(f"wrote {path} ({len(rows)} rows)")
