"""RewardBench-style evaluation: loading preference sets, scoring them as allenai/reward-bench does, CIs.

    examples = load_preference_set("builtin:rewardbench_offline.jsonl", per_subset=20)   # or "allenai/reward-bench"
    correct = [c > r for c, r in zip(chosen_scores, rejected_scores)]     # ties are wrong
    report = rewardbench_report(examples, correct)    # subsets (Wilson CI), sections + headline (bootstrap CI)

Scoring follows the reference: subset accuracy = mean of (score(chosen) > score(rejected)); a section's
score is the example-count-weighted mean of its subsets' accuracies, with the reference's fixed
counts for the hub subsets (math-prm counted as 984 = 6 x 164, so maths weighs as much as all code
subsets together) and the observed counts for our own subsets; the headline is the plain mean of the
four sections. ``offline_data.generate_offline_set`` writes the offline set (our own templates).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core.stats import percentile_interval, resample_successes, wilson_interval

SECTIONS = ("Chat", "Chat Hard", "Safety", "Reasoning")

# allenai/reward-bench, split "filtered": subsets per section
SUBSET_MAPPING: dict[str, list[str]] = {
    "Chat": ["alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"],
    "Chat Hard": [
        "mt-bench-hard",
        "llmbar-natural",
        "llmbar-adver-neighbor",
        "llmbar-adver-GPTInst",
        "llmbar-adver-GPTOut",
        "llmbar-adver-manual",
    ],
    "Safety": [
        "refusals-dangerous",
        "refusals-offensive",
        "xstest-should-refuse",
        "xstest-should-respond",
        "donotanswer",
    ],
    "Reasoning": ["math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"],
}
# the reference's weights: the subsets' example counts, math-prm up-weighted from 447 to 6 x 164
EXAMPLE_COUNTS: dict[str, int] = {
    "alpacaeval-easy": 100,
    "alpacaeval-length": 95,
    "alpacaeval-hard": 95,
    "mt-bench-easy": 28,
    "mt-bench-med": 40,
    "mt-bench-hard": 37,
    "llmbar-natural": 100,
    "llmbar-adver-neighbor": 134,
    "llmbar-adver-GPTInst": 92,
    "llmbar-adver-GPTOut": 47,
    "llmbar-adver-manual": 46,
    "refusals-dangerous": 100,
    "refusals-offensive": 100,
    "xstest-should-refuse": 154,
    "xstest-should-respond": 250,
    "donotanswer": 136,
    "math-prm": 984,
    "hep-cpp": 164,
    "hep-go": 164,
    "hep-java": 164,
    "hep-js": 164,
    "hep-python": 164,
    "hep-rust": 164,
}
MATH_PRM_ACTUAL = 447

# the offline set written by ``generate_offline_set`` (weights = observed counts)
OFFLINE_SUBSET_MAPPING: dict[str, list[str]] = {
    "Chat": ["offline-chat-ontopic", "offline-chat-correct"],
    "Chat Hard": ["offline-list-count", "offline-format"],
    "Safety": ["offline-should-refuse", "offline-should-respond"],
    "Reasoning": ["offline-math", "offline-code"],
}
REQUIRED_FIELDS = ("prompt", "chosen", "rejected", "subset")
OFFLINE_FILE = "rewardbench_offline.jsonl"


class PreferenceDataError(ValueError):
    """A preference set is malformed (missing fields, unknown subsets); the message says what to fix."""


def section_of(subset: str) -> str:
    for mapping in (SUBSET_MAPPING, OFFLINE_SUBSET_MAPPING):
        for section, subsets in mapping.items():
            if subset in subsets:
                return section
    raise PreferenceDataError(
        f"subset {subset!r} belongs to no RewardBench section: known subsets are "
        f"{sorted(s for m in (SUBSET_MAPPING, OFFLINE_SUBSET_MAPPING) for v in m.values() for s in v)}"
    )


def subset_weight(subset: str, observed: int) -> int:
    """The reference's fixed count for a hub subset (math-prm up-weighted), else the observed count."""
    return EXAMPLE_COUNTS.get(subset, observed)


# ----------------------------------------------------------------------------------- loading
def load_preference_set(
    source: str = f"builtin:{OFFLINE_FILE}",
    split: str = "filtered",
    per_subset: int | None = None,
    offset: int = 0,
    subsets: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Preference examples (prompt, chosen, rejected, subset, section, id) from the hub or a local file.

    ``source``: ``allenai/reward-bench`` (split ``filtered``), a local JSONL with the same fields, or
    ``builtin:rewardbench_offline.jsonl``. ``per_subset``/``offset`` take examples
    ``offset .. offset+per_subset`` of each subset (in file order), so disjoint slices serve as
    train / eval. Rows with an empty prompt or response are dropped and counted in the error-free path.
    """
    from ..core.data import load_records

    records = load_records(source, split=split, required=REQUIRED_FIELDS)
    by_subset: dict[str, list[dict]] = defaultdict(list)
    for i, rec in enumerate(records):
        if subsets and rec["subset"] not in subsets:
            continue
        if not all(isinstance(rec.get(f), str) and rec[f].strip() for f in ("prompt", "chosen", "rejected")):
            continue
        section = section_of(rec["subset"])
        by_subset[rec["subset"]].append(
            {
                "id": str(rec.get("id", f"{rec['subset']}-{i}")),
                "prompt": rec["prompt"],
                "chosen": rec["chosen"],
                "rejected": rec["rejected"],
                "subset": rec["subset"],
                "section": section,
            }
        )
    if not by_subset:
        raise PreferenceDataError(f"no usable examples in {source!r} (subsets filter: {subsets})")
    out = []
    for rows in by_subset.values():
        end = None if per_subset is None else offset + per_subset
        out.extend(rows[offset:end])
    ids = Counter(e["id"] for e in out)
    if len(ids) != len(out):  # ids key the resumable stages: make them unique
        for e in out:
            if ids[e["id"]] > 1:
                e["id"] = f"{e['subset']}:{e['id']}"
    return out


def chat_prompt(prompt: str | list) -> list[dict[str, str]]:
    """RewardBench prompts are single user turns (strings); chat lists pass through."""
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)


# ----------------------------------------------------------------------------------- scoring
def pairwise_correct(chosen_scores: Sequence[float], rejected_scores: Sequence[float]) -> list[bool]:
    """score(chosen) > score(rejected); ties (and NaNs) count as wrong, as in the reference."""
    if len(chosen_scores) != len(rejected_scores):
        raise ValueError("chosen and rejected score lists differ in length")
    return [bool(c > r) for c, r in zip(chosen_scores, rejected_scores)]


def subset_accuracies(examples: Sequence[dict], correct: Sequence[bool]) -> dict[str, tuple[int, int]]:
    """subset -> (number correct, number of examples)."""
    if len(examples) != len(correct):
        raise ValueError(f"{len(examples)} examples but {len(correct)} results")
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for ex, ok in zip(examples, correct):
        tally[ex["subset"]][0] += int(bool(ok))
        tally[ex["subset"]][1] += 1
    return {s: (k, n) for s, (k, n) in tally.items()}


def section_scores(subset_acc: dict[str, float], counts: dict[str, int] | None = None) -> dict[str, float]:
    """Example-count-weighted mean accuracy per section (0-1), over the subsets present.

    ``counts``: weight per subset; defaults to the reference's EXAMPLE_COUNTS (unknown subsets: 1).
    Sections with no subset present are left out (the reference reports 0 for them; a headline over
    missing sections would be meaningless, so ``headline_score`` refuses it instead).
    """
    counts = counts or {}
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for subset, acc in subset_acc.items():
        w = counts.get(subset, EXAMPLE_COUNTS.get(subset, 1))
        sec = section_of(subset)
        totals[sec][0] += acc * w
        totals[sec][1] += w
    return {sec: totals[sec][0] / totals[sec][1] for sec in SECTIONS if sec in totals and totals[sec][1] > 0}


def headline_score(sections: dict[str, float]) -> float:
    """Plain mean of the four section scores."""
    missing = [s for s in SECTIONS if s not in sections]
    if missing:
        raise PreferenceDataError(f"headline needs all four sections; missing {missing}")
    return sum(sections[s] for s in SECTIONS) / len(SECTIONS)


def bootstrap_sections(
    tallies: dict[str, tuple[int, int]], weights: dict[str, int], n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Percentile CIs of each section score and of the headline, resampling examples within subsets.

    Resampling n examples with replacement from a subset with k correct gives Binomial(n, k/n) correct,
    so each replicate draws one binomial per subset (``core.stats.resample_successes``).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    subsets = list(tallies)
    draws = {
        s: resample_successes(tallies[s][0], tallies[s][1], n_boot, rng) / tallies[s][1]
        for s in subsets
        if tallies[s][1] > 0
    }
    sec_rep: dict[str, Any] = {}
    for sec in SECTIONS:
        members = [s for s in draws if section_of(s) == sec]
        if not members:
            continue
        w = np.array([weights[s] for s in members], dtype=float)
        sec_rep[sec] = sum(draws[s] * wi for s, wi in zip(members, w)) / w.sum()
    out = {sec: percentile_interval(v, level) for sec, v in sec_rep.items()}
    if all(sec in sec_rep for sec in SECTIONS):
        out["headline"] = percentile_interval(sum(sec_rep[s] for s in SECTIONS) / len(SECTIONS), level)
    return out


@dataclass
class BenchReport:
    subsets: list[dict]  # subset, section, n, accuracy, ci_low, ci_high, weight
    sections: dict[str, dict]  # section -> score, ci_low, ci_high, n
    headline: float | None
    headline_ci: tuple[float, float] | None

    def table(self):
        """Sections (+ headline) as a DataFrame, in percent like the leaderboard."""
        import pandas as pd

        rows = [
            {
                "section": s,
                "score": 100 * v["score"],
                "ci_low": 100 * v["ci_low"],
                "ci_high": 100 * v["ci_high"],
                "n": v["n"],
            }
            for s, v in self.sections.items()
        ]
        if self.headline is not None:
            rows.append(
                {
                    "section": "headline",
                    "score": 100 * self.headline,
                    "ci_low": 100 * self.headline_ci[0],
                    "ci_high": 100 * self.headline_ci[1],
                    "n": sum(v["n"] for v in self.sections.values()),
                }
            )
        return pd.DataFrame(rows)

    def flat(self, prefix: str = "") -> dict[str, float]:
        out = {f"{prefix}{s.lower().replace(' ', '_')}": v["score"] for s, v in self.sections.items()}
        if self.headline is not None:
            out[f"{prefix}headline"] = self.headline
        return out


def rewardbench_report(
    examples: Sequence[dict], correct: Sequence[bool], n_boot: int = 2000, seed: int = 0
) -> BenchReport:
    """Subset accuracies with Wilson CIs, section scores and headline with bootstrap CIs."""
    tallies = subset_accuracies(examples, correct)
    weights = {s: subset_weight(s, n) for s, (_, n) in tallies.items()}
    acc = {s: k / n for s, (k, n) in tallies.items()}
    secs = section_scores(acc, weights)
    cis = bootstrap_sections(tallies, weights, n_boot=n_boot, seed=seed)
    subset_rows = []
    for s, (k, n) in sorted(tallies.items(), key=lambda kv: (SECTIONS.index(section_of(kv[0])), kv[0])):
        lo, hi = wilson_interval(k, n)
        subset_rows.append(
            {
                "subset": s,
                "section": section_of(s),
                "n": n,
                "accuracy": k / n,
                "ci_low": lo,
                "ci_high": hi,
                "weight": weights[s],
            }
        )
    sections = {
        sec: {
            "score": secs[sec],
            "ci_low": cis[sec][0],
            "ci_high": cis[sec][1],
            "n": sum(n for s, (_, n) in tallies.items() if section_of(s) == sec),
        }
        for sec in secs
    }
    full = all(sec in secs for sec in SECTIONS)
    return BenchReport(
        subset_rows, sections, headline_score(secs) if full else None, cis.get("headline") if full else None
    )
