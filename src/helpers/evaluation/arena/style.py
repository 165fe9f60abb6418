"""Style control: markdown and length features, upstream (mean style gap) or symmetric (equal style)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    return StyleFeatures(
        length=int(n_tokens if n_tokens is not None else len(text)),
        headers=len(_HEADER_RE.findall(body)),
        lists=lists,
        bold=len(_BOLD_RE.findall(body)),
    )


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


def style_covariates(
    battles: pd.DataFrame,
    feats_a: Sequence[StyleFeatures],
    feats_b: Sequence[StyleFeatures],
    baseline: str,
    method: str = "upstream",
) -> np.ndarray:
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
        raise ValueError(
            "upstream style control writes features model minus baseline: every battle must involve "
            f"the baseline {baseline!r} exactly once"
        )
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


def battle_style_features(
    battles: pd.DataFrame, answers: dict[str, dict[str, dict]], counting: str = "upstream"
) -> tuple[list[StyleFeatures], list[StyleFeatures]]:
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
    return {
        "ci_width_ratio_weighted_over_upstream": float(np.median(r)) if len(r) else float("nan"),
        "style_methods_max_gap_points": float(np.abs(g).max()) if len(g) else float("nan"),
    }


def method_comparison(main: pd.DataFrame, alt: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Two leaderboards of the same battles side by side (contestants only): win rates, interval widths in
    win-rate points, their ratio (alt / main) and the win-rate difference in points (alt minus main)."""
    cols = ["model", "win_rate", "win_rate_low", "win_rate_high"]
    a = main[cols][main.model != baseline].set_index("model")
    b = alt[cols][alt.model != baseline].set_index("model").reindex(a.index)
    width_a = 100 * (a.win_rate_high - a.win_rate_low).to_numpy(float)
    width_b = 100 * (b.win_rate_high - b.win_rate_low).to_numpy(float)
    ratio = np.divide(width_b, width_a, out=np.full(len(a), np.nan), where=width_a > 0)
    return pd.DataFrame(
        {
            "win_rate": 100 * a.win_rate,
            "win_rate_alt": 100 * b.win_rate,
            "ci_width": width_a,
            "ci_width_alt": width_b,
            "width_ratio_alt_over_main": ratio,
            "win_rate_diff_points": 100 * (b.win_rate - a.win_rate),
        },
        index=a.index,
    ).reset_index()
