"""Arena-Hard-Auto scoring: verdict parsing, the two games per prompt, Bradley-Terry, bootstrap CIs,
win rates against the baseline, style control, separability with confidence, and the prompt loader.

Everything here is pure (no model calls) except ``load_arena_prompts`` (reads files / the hub) and
``logprob_verdicts`` (scores the five verdict labels with a local judge's log-probabilities).

    verdict = parse_verdict(judge_text)                       # "A>>B" ... "B>>A" or None
    battles = battles_from_games(games, baseline="base")     # two games per prompt -> weighted battles
    ratings = fit_bradley_terry(battles, baseline="base")    # Elo-scale, baseline anchored at 1000
    boot = bootstrap_ratings(battles, baseline="base", rounds=100, seed=0)   # method="upstream" (default)
    board = leaderboard(battles, baseline="base", rounds=100)  # rating, 90% CI (upstream v2), win rate vs baseline
    S = style_covariates(battles, feats_a, feats_b, baseline="base")          # style control, upstream definition

Conventions (Arena-Hard-Auto v0.1): game 1 shows the baseline as assistant A and the model as B;
game 2 swaps them. In game 2 "A>B" therefore means the *model* won. Strong verdicts (>>) weigh 3,
the others 1; ties count as half a win for each side. A prompt is dropped if either game's verdict
is missing (unparseable judge output), so both positions always enter the aggregate together.

Upstream definitions and ours (lmarena/arena-hard-auto; the upstream one is every default here):

* Bootstrap (``method``): upstream expands a strong verdict into 3 identical battles *before*
  resampling and resamples those rows (v2: within each contestant's battles; with style control over
  all battles), reporting 90% intervals (v2; v0.1 used 95%). ``"weighted"`` resamples the weight-3
  battle as one unit (a strong verdict is one observation), which gives wider intervals.
* Style control (``style_covariates``): upstream writes each feature model-minus-baseline and
  z-scores it with its mean removed, so the model coefficient is the win rate at the *average* style
  gap; markdown is counted after removing fenced code blocks, ordered list items only as ``1.``, and
  (v2) length as (m-b)/(m+b), markdown as density count/(L+1) with (m-b)/(m+b+1). ``"symmetric"``
  writes the features A-minus-B over the two swapped games, so the coefficient is the win rate at
  *equal* style (and counts markdown everywhere, ``1)`` list items included).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .logprobs import choice_logprobs
from .stats import rank_agreement  # noqa: F401  (one implementation, in stats)

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
    return {"A>>B": (1.0, STRONG_WEIGHT), "A>B": (1.0, 1.0), "A=B": (0.5, 1.0),
            "B>A": (0.0, 1.0), "B>>A": (0.0, STRONG_WEIGHT)}[verdict]


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
    df = pd.DataFrame(rows, columns=["model_a", "model_b", "score_a", "weight", "prompt_id", "game"]
                      + [c for c in ("style_a", "style_b") if rows and c in rows[0]])
    stats = {"games": n_games, "parsed": n_parsed, "parse_failures": n_games - n_parsed,
             "prompts": len(by_key), "prompts_kept": len(by_key) - dropped, "prompts_dropped": dropped}
    return df, stats


def position_consistency(games: Iterable[dict]) -> dict[str, Any]:
    """How the judge's two games for the same (prompt, model) relate, among pairs with both verdicts.

    ``consistent``: the model-side outcome (win / tie / loss) is the same in both games.
    ``first_position_bias``: the judge preferred whichever answer was shown first (A) in both games,
    ``second_position_bias``: it preferred B in both; these are the position-bias rates.
    """
    pairs: dict[tuple[str, str], dict[int, str]] = {}
    for g in games:
        if g.get("verdict") is not None:
            pairs.setdefault((str(g["prompt_id"]), str(g["model"])), {})[int(g["game"])] = g["verdict"]
    both = [p for p in pairs.values() if set(p) == {1, 2}]
    sign = lambda v: 1 if v.startswith("A>") else (-1 if v.startswith("B>") else 0)  # noqa: E731
    n = len(both)
    consistent = sum(sign(model_view(p[1], 1)) == sign(model_view(p[2], 2)) for p in both)
    first = sum(sign(p[1]) == 1 and sign(p[2]) == 1 for p in both)
    second = sum(sign(p[1]) == -1 and sign(p[2]) == -1 for p in both)
    rate = lambda k: k / n if n else float("nan")  # noqa: E731
    return {"pairs_with_both_verdicts": n, "consistent_rate": rate(consistent),
            "first_position_bias": rate(first), "second_position_bias": rate(second),
            "position_bias_rate": rate(first + second)}


# --------------------------------------------------------------------------- Bradley-Terry
def _models(battles: pd.DataFrame, baseline: str) -> list[str]:
    names = sorted(set(battles["model_a"]) | set(battles["model_b"]))
    if baseline not in names:
        raise NotEnoughBattles(f"the baseline {baseline!r} appears in no valid battle")
    return [baseline] + [m for m in names if m != baseline]


def _design(battles: pd.DataFrame, models: list[str]) -> np.ndarray:
    """+log(BASE) in model_a's column, -log(BASE) in model_b's; the baseline column is dropped (anchor)."""
    index = {m: i for i, m in enumerate(models)}
    n = len(battles)
    X = np.zeros((n, len(models)))
    rows = np.arange(n)
    X[rows, [index[m] for m in battles["model_a"]]] += math.log(BASE)
    X[rows, [index[m] for m in battles["model_b"]]] -= math.log(BASE)
    return X[:, 1:]


def _expand_ties(X: np.ndarray, score_a: np.ndarray, weight: np.ndarray):
    """Logistic targets: a win is y=1, a loss y=0, a tie splits its weight into y=1 and y=0 halves."""
    tie = np.isclose(score_a, 0.5)
    y = (score_a > 0.5).astype(int)
    Xs = np.vstack([X, X[tie]])
    ys = np.concatenate([y, np.zeros(tie.sum(), dtype=int)])
    ys[: len(y)][tie] = 1
    ws = np.concatenate([np.where(tie, weight / 2, weight), weight[tie] / 2])
    return Xs, ys, ws


def _collapse(X: np.ndarray, score: np.ndarray, w: np.ndarray):
    """Merge identical (design row, outcome) battles by summing weights: the likelihood is unchanged."""
    key = np.column_stack([X, score])
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    return uniq[:, :-1], uniq[:, -1], np.bincount(inv.ravel(), weights=w, minlength=len(uniq))


def _fit_logistic(X: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 0.0) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    keep = w > 0
    X, y, w = X[keep], y[keep], w[keep]
    if X.shape[1] == 0:
        return np.zeros(0)
    if len(np.unique(y)) < 2 and len(y) >= 2:
        # Every battle has the same label (e.g. a judge that always picks the answer shown first).
        # Without an intercept, (x, y=1) and (-x, y=0) are the same observation, so flipping every
        # other row gives the solver two classes without changing the likelihood; whether the
        # maximum is finite depends on the design (always-A verdicts over swapped games: rating 0).
        X, y = X.copy(), y.copy()
        X[1::2] *= -1
        y[1::2] = 1 - y[1::2]
    if len(np.unique(y)) < 2:
        # A single battle: the likelihood has no finite maximum along its design row.
        direction = np.sign(X.T @ np.where(y == 1, w, -w))
        return np.where(direction == 0, 0.0, direction * np.inf)
    if l2 <= 0 and np.abs(X.T @ (w * (y - 0.5))).max() < 1e-9 * max(1.0, w.sum()):
        # The gradient vanishes at 0 (e.g. every battle a tie): the convex likelihood's maximum is 0, and
        # the Newton solver's line search, started there, cannot improve on it (it warns and falls back).
        return np.zeros(X.shape[1])
    # C = inf: the unpenalised maximum-likelihood fit (sklearn's C is the inverse L2 strength).
    C = np.inf if l2 <= 0 else 1.0 / l2
    # Newton-Cholesky: exact second-order steps, fast for the few columns a leaderboard has.
    lr = LogisticRegression(C=C, fit_intercept=False, tol=1e-8, max_iter=1000, solver="newton-cholesky")
    lr.fit(X, y, sample_weight=w)
    return lr.coef_[0]


def fit_bradley_terry(battles: pd.DataFrame, baseline: str, style: np.ndarray | None = None,
                      l2: float = 0.0, weights: np.ndarray | None = None) -> dict[str, Any]:
    """Bradley-Terry ratings by logistic regression without intercept (Arena-Hard v0.1).

    Returns ``{"ratings": {model: Elo}, "style_coef": array}`` with Elo = 400 * beta + 1000 and the
    baseline fixed at 1000 (its column is left out of the design, which is the same anchoring).
    ``style``: optional per-battle feature matrix (already normalised) added to the design; the
    ratings are then the style-controlled ones. ``weights`` multiply the battles' own weights
    (bootstrap resampling). A model that wins or loses every battle gets +/- inf.
    """
    prep = _prepare(battles, baseline, style)
    return _fit_prepared(prep, weights, l2)


def _prepare(battles: pd.DataFrame, baseline: str, style: np.ndarray | None) -> dict[str, Any]:
    if battles is None or len(battles) == 0:
        raise NotEnoughBattles("no valid battles: every prompt lacked a parseable verdict in one of its two games")
    models = _models(battles, baseline)
    X = _design(battles, models)
    used = np.zeros(0, dtype=bool)
    if style is not None:
        style = np.asarray(style, dtype=float).reshape(len(battles), -1)
        used = np.any(style != 0, axis=0)  # an all-zero feature carries no information (singular design)
        X = np.hstack([X, style[:, used]])
    return {"models": models, "X": X, "score": battles["score_a"].to_numpy(dtype=float),
            "w": battles["weight"].to_numpy(dtype=float), "styled": style is not None, "used": used}


def _fit_prepared(prep: dict[str, Any], weights: np.ndarray | None, l2: float) -> dict[str, Any]:
    X, score, w = prep["X"], prep["score"], prep["w"]
    if weights is not None:
        w = w * np.asarray(weights, dtype=float)
    if not prep["styled"]:
        X, score, w = _collapse(X, score, w)
    coef = _fit_logistic(*_expand_ties(X, score, w), l2)
    models = prep["models"]
    k = len(models) - 1
    beta = coef[:k] if len(coef) else np.zeros(k)
    ratings = {models[0]: INIT_RATING, **{m: SCALE * b + INIT_RATING for m, b in zip(models[1:], beta)}}
    style_coef = np.zeros(len(prep["used"]))
    style_coef[prep["used"]] = coef[k:]
    return {"ratings": ratings, "style_coef": style_coef}


def win_rate_vs_baseline(rating: float, baseline_rating: float = INIT_RATING) -> float:
    """Expected win rate against the baseline: 1 / (1 + 10^((R_b - R_m) / 400))."""
    if np.isinf(rating):
        return 1.0 if rating > 0 else 0.0
    return 1.0 / (1.0 + BASE ** ((baseline_rating - rating) / SCALE))


def bradley_terry_nll(beta: np.ndarray, battles: pd.DataFrame, baseline: str) -> float:
    """Weighted negative log-likelihood of the BT model (natural-log strengths, baseline = 0).

    Written directly from the model (P(a beats b) = sigmoid(s_a - s_b), ties = half a win) so tests
    can check the logistic-regression fit against an independent optimiser.
    """
    models = _models(battles, baseline)
    s = dict(zip(models, np.concatenate([[0.0], beta])))
    d = np.array([s[a] - s[b] for a, b in zip(battles["model_a"], battles["model_b"])])
    y = battles["score_a"].to_numpy(float)
    w = battles["weight"].to_numpy(float)
    return float(np.sum(w * (y * np.logaddexp(0, -d) + (1 - y) * np.logaddexp(0, d))))


# --------------------------------------------------------------------------- bootstrap
BOOTSTRAP_METHODS = ("upstream", "weighted")
# The interval level each method reports by default: Arena-Hard v2 prints 5th/95th percentiles.
DEFAULT_LEVEL = {"upstream": 0.90, "weighted": 0.95}


def expand_strong(battles: pd.DataFrame) -> pd.DataFrame:
    """Upstream's battle rows: a battle of weight w (1 or 3) becomes w identical rows of weight 1."""
    w = battles["weight"].to_numpy(float)
    copies = np.rint(w).astype(int)
    if len(w) and (not np.allclose(copies, w) or (copies < 0).any()):
        raise ValueError("upstream expansion needs whole, non-negative battle weights (1 or 3)")
    out = battles.loc[battles.index.repeat(copies)].reset_index(drop=True)
    out["weight"] = 1.0
    return out


def _pair_strata(battles: pd.DataFrame) -> np.ndarray:
    """One stratum per unordered pair of models (per contestant when every battle is against the baseline)."""
    keys = ["\x00".join(sorted(p)) for p in zip(battles["model_a"].astype(str), battles["model_b"].astype(str))]
    return pd.factorize(pd.Series(keys, dtype=object))[0]


def bootstrap_weights(battles: pd.DataFrame, rng: np.random.Generator, method: str = "upstream",
                      unit: str = "battle", stratify: bool = True) -> np.ndarray:
    """One bootstrap round as per-battle multipliers of the battles' own weights.

    ``method="upstream"``: each battle of weight w counts as w unit rows (``expand_strong``); rows are
    drawn with replacement, within each pair of models when ``stratify`` (Arena-Hard v2's
    ``groupby("model").sample(frac=1, replace=True)``) or over all rows otherwise; the result is the
    number of drawn copies of each battle divided by its weight (so weight x multiplier = copies drawn).
    ``method="weighted"``: the weighted battle (``unit="battle"``) or the prompt with all its games
    (``unit="prompt"``) is the resampling unit; the multiplier is how often it was drawn.
    """
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"bootstrap method must be one of {', '.join(BOOTSTRAP_METHODS)}, got {method!r}")
    n = len(battles)
    if method == "weighted":
        if unit not in ("battle", "prompt"):
            raise ValueError(f"unit must be 'battle' or 'prompt', got {unit!r}")
        groups = np.arange(n) if unit == "battle" else pd.factorize(battles["prompt_id"])[0]
        n_groups = groups.max() + 1 if n else 0
        return rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups))[groups].astype(float)
    w = battles["weight"].to_numpy(float)
    copies = np.rint(w).astype(int)
    if n and (not np.allclose(copies, w) or (copies < 0).any()):
        raise ValueError("upstream resampling needs whole, non-negative battle weights (1 or 3)")
    owner = np.repeat(np.arange(n), copies)  # expanded row -> its battle
    strata = np.repeat(_pair_strata(battles), copies) if stratify else np.zeros(len(owner), dtype=int)
    drawn = np.zeros(len(owner))
    for s in range(strata.max() + 1 if len(strata) else 0):
        rows = np.flatnonzero(strata == s)
        drawn[rows] = rng.multinomial(len(rows), np.full(len(rows), 1.0 / len(rows)))
    per_battle = np.bincount(owner, weights=drawn, minlength=n)
    return np.divide(per_battle, w, out=np.zeros(n), where=w > 0)


def bootstrap_ratings(battles: pd.DataFrame, baseline: str, rounds: int = 100, seed: int = 0,
                      unit: str = "battle", style: np.ndarray | None = None, l2: float = 0.0,
                      method: str = "upstream", stratify: bool | None = None) -> pd.DataFrame:
    """Ratings refitted on ``rounds`` resamples with replacement; one row per round, one column per model.

    ``method="upstream"`` (default): strong verdicts are expanded into 3 battles before resampling
    (see ``bootstrap_weights``); ``stratify`` defaults to True without style control and False with
    it, as Arena-Hard v2 does. ``method="weighted"``: ``unit="battle"`` resamples weighted battle rows,
    ``unit="prompt"`` resamples prompts and keeps each prompt's games together (``unit`` only applies
    to this method). Resampling is done with multinomial counts used as weights, which is the same as
    duplicating the drawn rows.
    """
    if unit not in ("battle", "prompt"):
        raise ValueError(f"unit must be 'battle' or 'prompt', got {unit!r}")
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"bootstrap method must be one of {', '.join(BOOTSTRAP_METHODS)}, got {method!r}")
    stratify = (style is None) if stratify is None else stratify
    rng = np.random.default_rng(seed)
    prep = _prepare(battles, baseline, style)
    out = []
    for _ in range(rounds):
        out.append(_fit_prepared(prep, bootstrap_weights(battles, rng, method, unit, stratify), l2)["ratings"])
    return pd.DataFrame(out)


def leaderboard(battles: pd.DataFrame, baseline: str, rounds: int = 100, seed: int = 0, unit: str = "battle",
                style: np.ndarray | None = None, l2: float = 0.0, level: float | None = None,
                method: str = "upstream") -> pd.DataFrame:
    """Rating, bootstrap interval at ``level`` and win rate vs the baseline (with its interval), best first.

    ``level`` defaults to the method's own (``DEFAULT_LEVEL``: 0.90 upstream, 0.95 weighted). The point
    rating is the fit on all battles (v2 prints the bootstrap mean or median instead: the same up to
    Monte Carlo noise). Columns: model, rating, ci_low, ci_high, win_rate, win_rate_low, win_rate_high,
    battles, level, method.
    """
    level = DEFAULT_LEVEL[method] if level is None and method in DEFAULT_LEVEL else level
    if level is None or not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    point = fit_bradley_terry(battles, baseline, style=style, l2=l2)["ratings"]
    boot = bootstrap_ratings(battles, baseline, rounds, seed, unit, style, l2, method=method)
    lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    rows = []
    for m, r in point.items():
        col = boot[m].to_numpy(float) if m in boot else np.array([r])
        lo, hi = np.percentile(col, [lo_q, hi_q]) if np.all(np.isfinite(col)) else (np.nanmin(col), np.nanmax(col))
        n = int(((battles["model_a"] == m) | (battles["model_b"] == m)).sum())
        rows.append({"model": m, "rating": r, "ci_low": lo, "ci_high": hi,
                     "win_rate": win_rate_vs_baseline(r, point[baseline]),
                     "win_rate_low": win_rate_vs_baseline(lo, point[baseline]),
                     "win_rate_high": win_rate_vs_baseline(hi, point[baseline]), "battles": n,
                     "level": level, "method": method})
    return pd.DataFrame(rows).sort_values("rating", ascending=False, ignore_index=True)


# --------------------------------------------------------------------------- style control
STYLE_METHODS = ("upstream", "symmetric")
_HEADER_RE = re.compile(r"^#{1,6}\s", re.M)
_LIST_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s", re.M)  # ours: "1)" items count too
_ORDERED_RE = re.compile(r"^\s*\d+\.\s", re.M)  # upstream: ordered items only as "1."
_UNORDERED_RE = re.compile(r"^\s*[-*+]\s", re.M)
_BOLD_RE = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")
_CODE_BLOCK_RE = re.compile(r"```[^`]*```")  # upstream removes fenced code blocks before counting


@dataclass(frozen=True)
class StyleFeatures:
    length: int  # tokens (or characters where no tokenizer is given)
    headers: int
    lists: int
    bold: int


def style_features(text: str, n_tokens: int | None = None, counting: str = "upstream") -> StyleFeatures:
    """Length and markdown counts of one answer (markdown headers, list items, bold spans).

    ``counting="upstream"`` (Arena-Hard's add_markdown_info): fenced ```` ``` ```` code blocks are removed
    first, and ordered list items count only in the ``1.`` form. ``counting="symmetric"`` (ours) counts
    the whole text and ``1)`` items too. The length is ``n_tokens`` when given, else characters.
    """
    text = text or ""
    if counting == "upstream":
        body = _CODE_BLOCK_RE.sub("", text)
        lists = len(_ORDERED_RE.findall(body)) + len(_UNORDERED_RE.findall(body))
    elif counting == "symmetric":
        body = text
        lists = len(_LIST_RE.findall(body))
    else:
        raise ValueError(f"counting must be one of {', '.join(STYLE_METHODS)}, got {counting!r}")
    return StyleFeatures(length=int(n_tokens if n_tokens is not None else len(text)),
                         headers=len(_HEADER_RE.findall(body)), lists=lists, bold=len(_BOLD_RE.findall(body)))


def _norm_diff(a: np.ndarray, b: np.ndarray, plus: float = 0.0) -> np.ndarray:
    total = a + b + plus
    return np.divide(a - b, total, out=np.zeros_like(total, dtype=float), where=total != 0)


def style_matrix(feats_a: Sequence[StyleFeatures], feats_b: Sequence[StyleFeatures], zscore: bool = True) -> np.ndarray:
    """Per-battle style covariates (columns: length, header, list, bold density), A minus B ("symmetric").

    Length: (L_a - L_b) / (L_a + L_b). Markdown: counts per token (density), same normalised
    difference. Each column is z-scored across battles (a constant column stays 0). Over the two
    swapped games of a prompt the features are antisymmetric, so their mean is 0 and the model
    coefficients give the win rate at *equal* style.
    """
    La = np.array([f.length for f in feats_a], float)
    Lb = np.array([f.length for f in feats_b], float)
    cols = [_norm_diff(La, Lb)]
    for name in ("headers", "lists", "bold"):
        da = np.array([getattr(f, name) for f in feats_a], float) / np.maximum(La, 1)
        db = np.array([getattr(f, name) for f in feats_b], float) / np.maximum(Lb, 1)
        cols.append(_norm_diff(da, db))
    M = np.column_stack(cols) if cols[0].size else np.zeros((0, 4))
    if zscore and len(M):
        sd = M.std(axis=0)
        M = np.divide(M - M.mean(axis=0), sd, out=np.zeros_like(M), where=sd > 0)
    return M


def upstream_style_gap(feats_model: Sequence[StyleFeatures], feats_baseline: Sequence[StyleFeatures]) -> np.ndarray:
    """Arena-Hard v2's raw style features per battle, model minus baseline (not yet standardised).

    Length (L_m - L_b) / (L_m + L_b); markdown density d = count / (L + 1) and (d_m - d_b) / (d_m + d_b + 1).
    Columns as ``STYLE_COLUMNS``. (Both lengths 0 gives 0, where upstream would produce NaN.)
    """
    Lm = np.array([f.length for f in feats_model], float)
    Lb = np.array([f.length for f in feats_baseline], float)
    cols = [_norm_diff(Lm, Lb)]
    for name in ("headers", "lists", "bold"):
        dm = np.array([getattr(f, name) for f in feats_model], float) / (Lm + 1)
        db = np.array([getattr(f, name) for f in feats_baseline], float) / (Lb + 1)
        cols.append(_norm_diff(dm, db, plus=1.0))
    return np.column_stack(cols) if cols[0].size else np.zeros((0, 4))


def style_covariates(battles: pd.DataFrame, feats_a: Sequence[StyleFeatures], feats_b: Sequence[StyleFeatures],
                     baseline: str, method: str = "upstream") -> np.ndarray:
    """The style columns to add to the BT design (``fit_bradley_terry(style=...)``), one row per battle.

    ``method="upstream"``: ``upstream_style_gap`` (model minus baseline) standardised over the battles
    as upstream does after expanding strong verdicts (mean and std with the battle weights, std with
    ddof=1), then signed for the battle's orientation (+ when the model is A). A zero feature is the
    *average* style gap, so the model coefficient is the win rate at the average gap. Every battle must
    involve the baseline. ``method="symmetric"``: ``style_matrix`` (A minus B; win rate at equal style).
    A constant column comes out as zeros and is left out of the fit.
    """
    if method == "symmetric":
        return style_matrix(feats_a, feats_b)
    if method != "upstream":
        raise ValueError(f"style method must be one of {', '.join(STYLE_METHODS)}, got {method!r}")
    a = battles["model_a"].to_numpy(object)
    b = battles["model_b"].to_numpy(object)
    if np.any((a == baseline) == (b == baseline)):
        raise ValueError("upstream style control writes features model minus baseline: every battle must involve "
                         f"the baseline {baseline!r} exactly once")
    model_is_a = b == baseline
    fm = [fa if m else fb for fa, fb, m in zip(feats_a, feats_b, model_is_a)]
    fb_ = [fb if m else fa for fa, fb, m in zip(feats_a, feats_b, model_is_a)]
    X = upstream_style_gap(fm, fb_)
    if not len(X):
        return X
    w = battles["weight"].to_numpy(float)
    mean = (w[:, None] * X).sum(axis=0) / w.sum()
    dof = w.sum() - 1
    sd = np.sqrt((w[:, None] * (X - mean) ** 2).sum(axis=0) / dof) if dof > 0 else np.zeros(X.shape[1])
    Z = np.divide(X - mean, sd, out=np.zeros_like(X), where=sd > 1e-12)
    return Z * np.where(model_is_a, 1.0, -1.0)[:, None]


def battle_style_features(battles: pd.DataFrame, answers: dict[str, dict[str, dict]],
                          counting: str = "upstream") -> tuple[list[StyleFeatures], list[StyleFeatures]]:
    """Style features of answer A and answer B of every battle, from ``answers[model][prompt_id]``
    (dicts with ``text`` and, when known, ``n_tokens``)."""
    def feats(model, pid):
        rec = answers[model][pid]
        return style_features(rec.get("text", ""), rec.get("n_tokens"), counting)
    fa = [feats(m, p) for m, p in zip(battles["model_a"], battles["prompt_id"])]
    fb = [feats(m, p) for m, p in zip(battles["model_b"], battles["prompt_id"])]
    return fa, fb


STYLE_COLUMNS = ("length", "header_density", "list_density", "bold_density")


def comparison_summary(upstream_vs_weighted: pd.DataFrame, upstream_vs_symmetric: pd.DataFrame) -> dict[str, float]:
    """Two numbers from ``method_comparison`` tables (main = upstream, alt = ours): the median ratio of the
    weighted to the upstream interval width over contestants, and the largest gap in style-controlled win
    rate (points) between the upstream and symmetric definitions; NaN where nothing is comparable."""
    r = upstream_vs_weighted["width_ratio_alt_over_main"].to_numpy(float)
    r = r[np.isfinite(r)]
    g = upstream_vs_symmetric["win_rate_diff_points"].to_numpy(float)
    g = g[np.isfinite(g)]
    return {"ci_width_ratio_weighted_over_upstream": float(np.median(r)) if len(r) else float("nan"),
            "style_methods_max_gap_points": float(np.abs(g).max()) if len(g) else float("nan")}


def method_comparison(main: pd.DataFrame, alt: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Two leaderboards of the same battles side by side (contestants only): win rates, interval widths in
    win-rate points, their ratio (alt / main) and the win-rate difference in points (alt minus main)."""
    cols = ["model", "win_rate", "win_rate_low", "win_rate_high"]
    a = main[cols][main.model != baseline].set_index("model")
    b = alt[cols][alt.model != baseline].set_index("model").reindex(a.index)
    width_a = 100 * (a.win_rate_high - a.win_rate_low).to_numpy(float)
    width_b = 100 * (b.win_rate_high - b.win_rate_low).to_numpy(float)
    ratio = np.divide(width_b, width_a, out=np.full(len(a), np.nan), where=width_a > 0)
    return pd.DataFrame({"win_rate": 100 * a.win_rate, "win_rate_alt": 100 * b.win_rate,
                         "ci_width": width_a, "ci_width_alt": width_b, "width_ratio_alt_over_main": ratio,
                         "win_rate_diff_points": 100 * (b.win_rate - a.win_rate)}, index=a.index).reset_index()


# --------------------------------------------------------------------------- benchmark quality
def separability(board: pd.DataFrame, low: str = "ci_low", high: str = "ci_high") -> dict[str, Any]:
    """Separability with confidence: the share of model pairs whose confidence intervals do not overlap."""
    rows = board[[low, high]].to_numpy(float)
    n = len(rows)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    if not pairs:
        return {"pairs": 0, "separated": 0, "separability": float("nan")}
    sep = sum(rows[i, 1] < rows[j, 0] or rows[j, 1] < rows[i, 0] for i, j in pairs)
    return {"pairs": len(pairs), "separated": int(sep), "separability": sep / len(pairs)}


def agreement_with_confidence(board: pd.DataFrame, reference: dict[str, float]) -> dict[str, Any]:
    """Among pairs the benchmark separates with confidence, the share ordered as in ``reference``.

    (Arena-Hard's "agreement with confidence" against a human ranking, without its tie penalty.)
    """
    b = board[board["model"].isin(reference)].reset_index(drop=True)
    agree = total = 0
    for i in range(len(b)):
        for j in range(i + 1, len(b)):
            ri, rj = b.loc[i], b.loc[j]
            if ri.ci_high < rj.ci_low or rj.ci_high < ri.ci_low:
                total += 1
                agree += (ri.rating > rj.rating) == (reference[ri.model] > reference[rj.model])
    return {"separated_pairs": total, "agreement": agree / total if total else float("nan")}


# --------------------------------------------------------------------------- prompts
def normalise_prompt(rec: dict, i: int = 0) -> dict | None:
    """One prompt record from any of the known shapes -> {id, prompt, category, cluster}; None if empty.

    Arena-Hard v0.1 (question_id, turns[0].content, cluster), v2 (uid, prompt, category,
    subcategory), our BenchBuilder output (id, prompt, cluster, topic), or generic
    (question / instruction / content).
    """
    pid = rec.get("question_id") or rec.get("uid") or rec.get("id") or f"p{i:05d}"
    text = rec.get("prompt")
    if text is None and isinstance(rec.get("turns"), list) and rec["turns"]:
        first = rec["turns"][0]
        text = first.get("content") if isinstance(first, dict) else first
    for key in ("question", "instruction", "content"):
        if text is None:
            text = rec.get(key)
    if not isinstance(text, str) or not text.strip():
        return None
    return {"id": str(pid), "prompt": text.strip(), "category": str(rec.get("category") or ""),
            "cluster": str(rec.get("cluster") or rec.get("topic") or rec.get("subcategory") or "")}


def load_arena_prompts(source: str, split: str = "train", config: str | None = None, limit: int | None = None,
                       category: str = "") -> tuple[list[dict], int]:
    """Prompts from a local file, builtin set, saved folder or hub id; returns (prompts, skipped empty)."""
    from .data import load_records

    records = load_records(source, split=split, config=config)
    if category:
        records = [r for r in records if str(r.get("category", "")) == category]
    prompts, skipped = [], 0
    for i, rec in enumerate(records):
        p = normalise_prompt(rec, i)
        if p is None:
            skipped += 1
        else:
            prompts.append(p)
    return (prompts[:limit] if limit else prompts), skipped


def sibling_run_dir(run_dir: str | Path, notebook: str) -> Path:
    """The folder of another notebook's run with the same run name (outputs/<notebook>/<run-name>)."""
    run_dir = Path(run_dir)
    return run_dir.parent.parent / notebook / run_dir.name


# --------------------------------------------------------------------------- answers and judge prompts
# Offline contestants: the same model under different decoding settings / system prompts.
ANSWER_VARIANTS: dict[str, dict[str, Any]] = {
    "base-greedy": {"system": "", "temperature": 0.0},
    "sampled-t1": {"system": "", "temperature": 1.0},
    "concise-system": {"system": "Answer in at most two short sentences.", "temperature": 0.0},
    "markdown-system": {"system": "Format every answer in Markdown: a '## ' header, bullet lists and **bold** key "
                                  "terms.", "temperature": 0.0},
    "detailed-system": {"system": "Give a thorough, detailed, step-by-step answer.", "temperature": 0.0},
}


def answer_messages(prompt: str, system: str = "") -> list[dict[str, str]]:
    """Chat messages for a contestant: optional system prompt, then the benchmark prompt."""
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]


JUDGE_SYSTEM = {
    "arena-hard": (
        "You are an impartial judge comparing two AI assistants' answers to the same user prompt.\n"
        "First write your own answer to the prompt. Then assess both answers against yours: point out mistakes "
        "or inaccurate information, and judge whether each answer is helpful (does what was asked; asks for "
        "clarification when the prompt is ambiguous), relevant, and concise. Consider creativity and novelty "
        "where it matters, and note important information missing from either answer.\n"
        "End with exactly one final verdict label:\n"
        "[[A>>B]] Assistant A is significantly better\n[[A>B]] Assistant A is slightly better\n"
        "[[A=B]] Tie, relatively the same\n[[B>A]] Assistant B is slightly better\n"
        "[[B>>A]] Assistant B is significantly better\n"
        "For example: \"My final verdict is [[B>A]]\"."),
    # For small judges and tight token budgets: no own answer, the label straight away.
    "short": (
        "You are an impartial judge. Compare assistant A's and assistant B's answers to the user prompt "
        "(helpfulness, correctness, relevance, conciseness). Reply with only one verdict label: [[A>>B]] (A much "
        "better), [[A>B]] (A better), [[A=B]] (tie), [[B>A]] (B better), [[B>>A]] (B much better)."),
}


def judge_messages(prompt: str, answer_a: str, answer_b: str, style: str = "arena-hard") -> list[dict[str, str]]:
    """The pairwise judge prompt (one game): system instructions, then the prompt and both answers."""
    if style not in JUDGE_SYSTEM:
        raise ValueError(f"unknown judge prompt {style!r}: use one of {', '.join(JUDGE_SYSTEM)}")
    user = (f"<|User Prompt|>\n{prompt}\n\n<|Start of Assistant A's Answer|>\n{answer_a}\n<|End of Assistant A's "
            f"Answer|>\n\n<|Start of Assistant B's Answer|>\n{answer_b}\n<|End of Assistant B's Answer|>")
    return [{"role": "system", "content": JUDGE_SYSTEM[style]}, {"role": "user", "content": user}]


# --------------------------------------------------------------------------- log-prob verdicts (small local judges)
VERDICT_PREFILL = "My final verdict is [["
VERDICT_CONTINUATIONS = tuple(f"{v}]]" for v in VERDICTS)


def logprob_judge_prompt(tokenizer, messages: list[dict[str, str]], prefill: str = VERDICT_PREFILL) -> str:
    """The raw text scored in log-prob mode: the judge's chat template with the generation prompt, then ``prefill``."""
    from . import hf

    return hf.render(tokenizer, messages, add_generation_prompt=True) + prefill


def logprob_verdicts(scorer, message_lists: Sequence[list[dict[str, str]]], prefill: str = VERDICT_PREFILL,
                     desc: str | None = None) -> list[dict[str, Any]]:
    """One verdict per judge prompt: the label whose continuation (``"A>>B]]"`` ...) has the highest summed log-prob.

    ``scorer`` is a ``helpers.logprobs.LogProbScorer`` (anything with ``.tokenizer`` and ``.score``).
    The prompt is rendered with the judge's chat template and ``prefill`` appended, and scored as a
    raw string, so every game yields exactly one of ``VERDICTS`` (no parse failures). The sum is the
    log-probability of the whole label string, so the five labels compete as alternative texts.
    Returns dicts with ``verdict``, ``logprobs`` ({label: sum log-prob}) and ``margin`` (best minus
    second best, a confidence proxy). Ties in the maximum go to the first label in ``VERDICTS`` order.
    """
    raws = [logprob_judge_prompt(scorer.tokenizer, m, prefill) for m in message_lists]
    k = len(VERDICTS)
    if getattr(scorer, "model", None) is not None:
        sums = choice_logprobs(scorer, raws, VERDICT_CONTINUATIONS, desc)
    else:  # a scorer without a model object: one (prompt, continuation) pair per label
        pairs = [(raw, cont) for raw in raws for cont in VERDICT_CONTINUATIONS]
        scores = scorer.score(pairs, desc=desc) if pairs else []
        sums = [[float(s.sum) for s in scores[i * k:(i + 1) * k]] for i in range(len(raws))]
    out = []
    for lp in sums:
        order = np.argsort(lp, kind="stable")[::-1]
        best = int(np.argmax(lp))
        second = int(order[1]) if order[0] == best else int(order[0])
        out.append({"verdict": VERDICTS[best], "logprobs": dict(zip(VERDICTS, lp)), "margin": lp[best] - lp[second]})
    return out


# --------------------------------------------------------------------------- other judges' rankings
_CI_SUFFIXES = ("_lo", "_hi", "_low", "_high", "_ci_low", "_ci_high", "_se", "_std")


def read_model_tables(folder: str | Path, files: Sequence[str] = ("leaderboard.csv",)) -> dict[str, dict[str, float]]:
    """Per-model scores from another run's leaderboard table(s) (e.g. 02_wildbench's data/leaderboard.csv).

    Only the named ``files`` are read (not per-K or per-group tables). A table with a ``model``
    column contributes its numeric columns whose names mention score or reward, except interval
    bounds and spreads (``*_lo``, ``*_hi``, ``*_low``, ``*_high``, ``*_se``, ``*_std``), as
    ``{"<file>:<column>": {model: value}}``. Absent folder or files -> {}.
    """
    folder = Path(folder)
    out: dict[str, dict[str, float]] = {}
    for name in files:
        path = folder / name
        if not path.is_file():
            continue
        try:
            df = pd.read_csv(path)
        except Exception:  # a table we cannot read is skipped, not fatal
            continue
        if "model" not in df.columns:
            continue
        for col in df.columns:
            low = col.lower()
            if col == "model" or low.endswith(_CI_SUFFIXES) or not ("score" in low or "reward" in low):
                continue
            if pd.api.types.is_numeric_dtype(df[col]):
                vals = df.groupby("model")[col].mean().dropna()
                if len(vals):
                    out[f"{path.stem}:{col}"] = {str(k): float(v) for k, v in vals.items()}
    return out


def model_name_overlap(ours: Iterable[str], theirs: Iterable[str]) -> dict[str, list[str]]:
    """Which model names two rankings share (exact names), and which appear in only one of them."""
    a, b = set(map(str, ours)), set(map(str, theirs))
    return {"shared": sorted(a & b), "only_ours": sorted(a - b), "only_theirs": sorted(b - a)}


def check_params(params: dict[str, Any]) -> None:
    """Cross-parameter checks the runner makes before compute (ValueError names the parameter)."""
    for key in ("baseline", "contestants"):
        values = params.get(key)
        values = values if isinstance(values, list) else [values]
        unknown = [v for v in values if v not in ANSWER_VARIANTS]
        if unknown:
            raise ValueError(f"parameter {key!r}: unknown variant(s) {', '.join(map(repr, unknown))}; "
                             f"choose from {', '.join(sorted(ANSWER_VARIANTS))}")
    if params.get("baseline") in params.get("contestants", []):
        raise ValueError("parameter 'contestants' must not include the baseline")
    level = params.get("ci_level")
    if level is not None and not 0 < level < 1:
        raise ValueError(f"parameter 'ci_level' must be strictly between 0 and 1 (e.g. 0.9), got {level!r}")


def findings(m: dict[str, Any], board: pd.DataFrame | None = None) -> dict[str, Any]:
    """Finding, signal and detail sentences computed from the run's metrics (and leaderboard, when rated)."""
    from .stats import judge_reliability, pct
    ok, reason = judge_reliability(parse_failure_rate=m.get("judge_parse_failure_rate"),
                                   position_bias_rate=m.get("position_bias_rate"))
    details = [f"{m.get('games', 0)} games on {m.get('prompts', 0)} prompts; {pct(m.get('judge_parse_failure_rate'))} "
               f"without a verdict; {m.get('prompts_kept', 0)} prompts kept, {m.get('prompts_dropped', 0)} dropped.",
               f"The verdict followed the slot rather than the answer in {pct(m.get('position_bias_rate'))} of swapped "
               f"game pairs; the two games agreed in {pct(m.get('two_game_consistency'))}."]
    if not ok:
        signal, finding = "judge degenerate: no ranking", f"No ranking: the judge is degenerate ({reason})."
    elif not m.get("enough_valid_battles") or board is None or board.empty:
        signal, finding = "not enough valid battles", "No ranking: too few prompts with both verdicts parsed."
    else:
        top = board.sort_values(["win_rate", "model"], ascending=[False, True]).iloc[0]
        sep = m.get("separability")
        signal = "ranking" if sep and sep > 0 else "ranking without separation"
        level = m.get("ci_level")
        level_txt = f" at {pct(level)} intervals" if level is not None else ""
        finding = (f"Top contestant: {top['model']} with win rate {100 * top['win_rate']:.1f}% against the baseline; "
                   f"separability {pct(sep)} of model pairs{level_txt}.")
    if board is not None and not board.empty and m.get("bootstrap_method"):
        ratio = m.get("ci_width_ratio_weighted_over_upstream")
        ratio_txt = (f"; the weighted-unit intervals are {ratio:.2f}x as wide as upstream's (median over contestants)"
                     if ratio is not None and ratio == ratio else "")
        details.append(f"Intervals: {pct(m.get('ci_level'))} bootstrap, {m['bootstrap_method']} definition over "
                       f"{m.get('bootstrap_rounds', '?')} rounds{ratio_txt}.")
        gap = m.get("style_methods_max_gap_points")
        if m.get("style_method") and gap is not None and gap == gap:
            details.append(f"Style control ({m['style_method']} definition in use): the win rates at the average style "
                           f"gap (upstream) and at equal style (symmetric) differ by up to {gap:.1f} points.")
    details.append(f"Reliability: {reason}.")
    return {"finding": finding, "signal": signal, "findings": details, "judge_reliable": ok}
