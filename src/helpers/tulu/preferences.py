"""Preference pairs from the checkers, with controlled defects: source, labelling, label noise, size.

    cands = {t.id: [response, ...]}                               # SFT samples (on-policy) per prompt
    pairs = label_pairs(tasks, cands, labeller="fine", rng=rng)    # chosen = best by the mean of aspects
    pairs = off_policy_pairs(world, tasks, rng)                    # another model's good vs flawed answers
    pairs = inject_noise(pairs, 0.2, rng)                          # 20% of labels flipped
    pairs = subsample(pairs, 64, rng)

Labellers (the paper's UltraFeedback finding: the fine-grained mean of aspects beats the single overall rating):

* ``fine``: every aspect a checker rates (answer, steps, format; count, items, start, ending; ...) averaged;
* ``overall``: one holistic 1-5 rating that weighs the salient surface (length, form) beside correctness,
  with rater noise; coarse, so ties (dropped) are common and about a quarter of the labels on the quick
  world's on-policy samples point the wrong way (all of the fine-grained ones point the right way).

A prompt gives one pair: the best-scored candidate against a random strictly worse one (UltraFeedback's
binarisation); prompts whose candidates all score the same give none. ``label_correct`` records whether
the chosen answer really is better by the checker's primary criterion (or aspect mean on ties), so the
label quality of every data set can be measured.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from .checkers import aspect_mean, grade
from .tasks import Task, World

LABELLERS = ("fine", "overall")


def overall_rating(task: Task, response: str, longest: int, rng: random.Random, noise: float = 1.0) -> int:
    """A single 1-5 judgement that weighs the salient surface: 30% correctness, 30% form (the mean of the aspects),
    40% length (against the longest candidate), plus rater noise (sd ``noise`` on the 1-5 scale)."""
    g = grade(task, response)
    form = sum(g["aspects"].values()) / len(g["aspects"])
    length = min(1.0, len(response.split()) / max(1, longest))
    raw = 1 + 4 * (0.3 * g["correct"] + 0.3 * form + 0.4 * length) + rng.gauss(0, noise)
    return int(min(5, max(1, round(raw))))


def true_quality(task: Task, response: str) -> tuple[int, float]:
    """What a perfect labeller ranks by: the primary criterion first, then the mean of aspects."""
    g = grade(task, response)
    return int(g["correct"]), aspect_mean(g)


def label_pairs(
    tasks: Sequence[Task],
    candidates: dict[str, Sequence[str]],
    labeller: str,
    rng: random.Random,
    source: str = "on-policy",
) -> list[dict]:
    """One (chosen, rejected) pair per prompt whose candidates the labeller does not rate all alike."""
    if labeller not in LABELLERS:
        raise ValueError(f"labeller must be one of {LABELLERS}, not {labeller!r}")
    pairs = []
    for task in tasks:
        cands = list(dict.fromkeys(candidates.get(task.id) or []))  # distinct answers, first-seen order
        if len(cands) < 2:
            continue
        longest = max(len(c.split()) for c in cands)
        scores = [
            aspect_mean(grade(task, c)) if labeller == "fine" else overall_rating(task, c, longest, rng) for c in cands
        ]
        top = max(scores)
        worse = [i for i, s in enumerate(scores) if s < top]
        if not worse:
            continue
        best = rng.choice([i for i, s in enumerate(scores) if s == top])
        other = rng.choice(worse)
        pairs.append(make_pair(task, cands[best], cands[other], source, labeller, scores[best], scores[other]))
    return pairs


def make_pair(
    task: Task,
    chosen: str,
    rejected: str,
    source: str,
    labeller: str,
    chosen_score: float | None = None,
    rejected_score: float | None = None,
) -> dict:
    qc, qr = true_quality(task, chosen), true_quality(task, rejected)
    return {
        "id": f"{task.id}-{source}-{labeller}",
        "task_id": task.id,
        "category": task.category,
        "tricky": task.tricky,
        "prompt": task.prompt,
        "chosen": chosen,
        "rejected": rejected,
        "chosen_score": chosen_score,
        "rejected_score": rejected_score,
        "source": source,
        "labeller": labeller,
        "chosen_quality": list(qc),
        "rejected_quality": list(qr),
        "flipped": False,
        "label_correct": qc > qr,
    }


def off_policy_pairs(world: World, tasks: Sequence[Task], rng: random.Random) -> list[dict]:
    """Pairs written by another model (its own words, never sampled from the policy): a correct answer
    against the same prompt's typical mistake."""
    return [
        make_pair(t, world.gold(t, "other"), world.flawed(t, rng, "other"), "off-policy", "fine", 1.0, 0.0)
        for t in tasks
    ]


def inject_noise(pairs: Iterable[dict], rate: float, rng: random.Random) -> list[dict]:
    """Swap chosen and rejected in a ``rate`` share of the pairs (exactly round(rate * n), at random)."""
    pairs = [dict(p) for p in pairs]
    if not 0 <= rate <= 1:
        raise ValueError(f"label noise must be in [0, 1], got {rate}")
    for i in rng.sample(range(len(pairs)), round(rate * len(pairs))):
        p = pairs[i]
        for a, b in (
            ("chosen", "rejected"),
            ("chosen_score", "rejected_score"),
            ("chosen_quality", "rejected_quality"),
        ):
            if a in p or b in p:
                p[a], p[b] = p.get(b), p.get(a)
        p["flipped"] = True
        if "chosen_quality" in p:  # checker-labelled: whether the (now swapped) label still points the right way
            p["label_correct"] = p["chosen_quality"] > p["rejected_quality"]
        elif p.get("label_correct") is not None:
            p["label_correct"] = not p["label_correct"]
    return pairs


def subsample(pairs: Sequence[dict], n: int, rng: random.Random) -> list[dict]:
    """``n`` pairs drawn without replacement (all of them when there are fewer), in a shuffled order."""
    pairs = list(pairs)
    return rng.sample(pairs, min(n, len(pairs))) if n else pairs


def to_trl(pairs: Sequence[dict]) -> list[dict]:
    """TRL's conversational preference format (prompt / chosen / rejected message lists)."""
    return [
        {
            "prompt": [{"role": "user", "content": p["prompt"]}],
            "chosen": [{"role": "assistant", "content": p["chosen"]}],
            "rejected": [{"role": "assistant", "content": p["rejected"]}],
        }
        for p in pairs
    ]
