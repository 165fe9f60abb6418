"""Bradley-Terry ratings by weighted logistic regression (Elo scale, baseline anchored), win rates."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .games import BASE, INIT_RATING, SCALE, NotEnoughBattles


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


def fit_bradley_terry(
    battles: pd.DataFrame,
    baseline: str,
    style: np.ndarray | None = None,
    l2: float = 0.0,
    weights: np.ndarray | None = None,
) -> dict[str, Any]:
    """Bradley-Terry ratings by logistic regression without intercept (Arena-Hard v0.1).

    Returns ``{"ratings": {model: Elo}, "style_coef": array}`` with Elo = 400 * beta + 1000 and the
    baseline fixed at 1000 (its column is left out of the design, which is the same anchoring).
    ``style``: optional per-battle feature matrix (already normalised) added to the design; the
    ratings are then the style-controlled ones. ``weights`` multiply the battles' own weights
    (bootstrap resampling). A model that wins or loses every battle gets +/- inf.
    """
    prep = prepare_battles(battles, baseline, style)
    return fit_prepared(prep, weights, l2)


def prepare_battles(battles: pd.DataFrame, baseline: str, style: np.ndarray | None) -> dict[str, Any]:
    """The design of a Bradley-Terry fit (``fit_prepared``), built once and refitted under bootstrap weights."""
    if battles is None or len(battles) == 0:
        raise NotEnoughBattles("no valid battles: every prompt lacked a parseable verdict in one of its two games")
    models = _models(battles, baseline)
    X = _design(battles, models)
    used = np.zeros(0, dtype=bool)
    if style is not None:
        style = np.asarray(style, dtype=float).reshape(len(battles), -1)
        used = np.any(style != 0, axis=0)  # an all-zero feature carries no information (singular design)
        X = np.hstack([X, style[:, used]])
    return {
        "models": models,
        "X": X,
        "score": battles["score_a"].to_numpy(dtype=float),
        "w": battles["weight"].to_numpy(dtype=float),
        "styled": style is not None,
        "used": used,
    }


def fit_prepared(prep: dict[str, Any], weights: np.ndarray | None, l2: float) -> dict[str, Any]:
    """The Bradley-Terry fit of ``prepare_battles``' design, each battle weighted by ``weights`` (None: 1)."""
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
