"""Verdicts and games: parsing `[[X]]` labels, the two games per prompt, battles, position consistency."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ...core import stats

VERDICTS = ("A>>B", "A>B", "A=B", "B>A", "B>>A")
STRONG_WEIGHT = 3.0
SCALE, BASE, INIT_RATING = 400.0, 10.0, 1000.0
_VERDICT_RE = re.compile(r"\[\[\s*([AB]\s*(?:>>|>|=|<<|<)\s*[AB])\s*\]\]")
# The mirrored spellings a judge sometimes writes; mapped onto the five labels.
_MIRROR = {"B<<A": "A>>B", "B<A": "A>B", "B=A": "A=B", "A<B": "B>A", "A<<B": "B>>A"}


class NotEnoughBattles(ValueError):
    """Too few valid battles to fit ratings; the message says how many there were."""


# --------------------------------------------------------------------------- verdicts and games
def parse_verdict(text: str | None) -> str | None:
    """The last ``[[X]]`` verdict in a judge's text, normalised to one of ``VERDICTS``; None if absent."""
    if not text:
        return None
    found = []
    for raw in _VERDICT_RE.findall(text):
        label = re.sub(r"\s+", "", raw)
        label = _MIRROR.get(label, label)
        if label in VERDICTS:
            found.append(label)
    return found[-1] if found else None


def verdict_score(verdict: str) -> tuple[float, float]:
    """(score of assistant A in [0, 1], weight): A>>B -> (1, 3), A>B -> (1, 1), A=B -> (0.5, 1), ..."""
    return {
        "A>>B": (1.0, STRONG_WEIGHT),
        "A>B": (1.0, 1.0),
        "A=B": (0.5, 1.0),
        "B>A": (0.0, 1.0),
        "B>>A": (0.0, STRONG_WEIGHT),
    }[verdict]


def swap_verdict(verdict: str) -> str:
    """The same judgement with the positions exchanged (A>>B <-> B>>A, A>B <-> B>A, A=B fixed)."""
    return {"A>>B": "B>>A", "A>B": "B>A", "A=B": "A=B", "B>A": "A>B", "B>>A": "A>>B"}[verdict]


def model_view(verdict: str, game: int) -> str:
    """A verdict written from the *model's* side ("A" = model): game 1 has the model as B, game 2 as A."""
    if game not in (1, 2):
        raise ValueError(f"game must be 1 (baseline as A) or 2 (swapped), got {game}")
    return swap_verdict(verdict) if game == 1 else verdict


def game_order(baseline_answer: str, model_answer: str, game: int) -> tuple[str, str]:
    """(answer shown as A, answer shown as B) for game 1 (baseline first) or game 2 (swapped)."""
    if game == 1:
        return baseline_answer, model_answer
    if game == 2:
        return model_answer, baseline_answer
    raise ValueError(f"game must be 1 or 2, got {game}")


def battles_from_games(games: Iterable[dict], baseline: str) -> tuple[pd.DataFrame, dict]:
    """Weighted battles from judged games, and counts of what was dropped.

    ``games``: dicts with ``prompt_id``, ``model``, ``game`` (1 or 2) and ``verdict`` (label or None),
    optionally ``len_a``/``len_b`` style features (ignored here). Returns a frame with columns
    model_a, model_b, score_a (1 / 0.5 / 0), weight, prompt_id, game, and a dict with
    ``games``, ``parsed``, ``prompts``, ``prompts_kept``, ``prompts_dropped``.
    """
    by_key: dict[tuple[str, str], dict[int, dict]] = {}
    n_games = n_parsed = 0
    for g in games:
        n_games += 1
        n_parsed += g.get("verdict") is not None
        by_key.setdefault((str(g["prompt_id"]), str(g["model"])), {})[int(g["game"])] = g
    rows = []
    dropped = 0
    for (pid, model), pair in by_key.items():
        if set(pair) != {1, 2} or any(pair[k].get("verdict") is None for k in (1, 2)):
            dropped += 1
            continue
        for game in (1, 2):
            g = pair[game]
            score_a, weight = verdict_score(g["verdict"])
            a, b = (baseline, model) if game == 1 else (model, baseline)
            row = {"model_a": a, "model_b": b, "score_a": score_a, "weight": weight, "prompt_id": pid, "game": game}
            for key in ("style_a", "style_b"):
                if key in g:
                    row[key] = g[key]
            rows.append(row)
    df = pd.DataFrame(
        rows,
        columns=["model_a", "model_b", "score_a", "weight", "prompt_id", "game"]
        + [c for c in ("style_a", "style_b") if rows and c in rows[0]],
    )
    stats = {
        "games": n_games,
        "parsed": n_parsed,
        "parse_failures": n_games - n_parsed,
        "prompts": len(by_key),
        "prompts_kept": len(by_key) - dropped,
        "prompts_dropped": dropped,
    }
    return df, stats


def position_consistency(games: Iterable[dict]) -> dict[str, Any]:
    """How the judge's two games for the same (prompt, model) relate, among pairs with both verdicts
    (``stats.position_consistency`` of the verdicts' slot-A signs).

    ``consistent``: the model-side outcome (win / tie / loss) is the same in both games.
    ``first_position_bias``: the judge preferred whichever answer was shown first (A) in both games,
    ``second_position_bias``: it preferred B in both; these are the position-bias rates.
    """
    pairs: dict[tuple[str, str], dict[int, str]] = {}
    for g in games:
        if g.get("verdict") is not None:
            pairs.setdefault((str(g["prompt_id"]), str(g["model"])), {})[int(g["game"])] = g["verdict"]
    sign = lambda v: 1 if v.startswith("A>") else (-1 if v.startswith("B>") else 0)  # noqa: E731
    pc = stats.position_consistency((sign(p[1]), sign(p[2])) for p in pairs.values() if set(p) == {1, 2})
    return {
        "pairs_with_both_verdicts": pc["pairs"],
        "consistent_rate": pc["consistent_rate"],
        "first_position_bias": pc["first_slot_rate"],
        "second_position_bias": pc["second_slot_rate"],
        "position_bias_rate": pc["same_slot_rate"],
    }
