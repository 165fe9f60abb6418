"""The notebook's tables, built from the scan's counts (every cell shows one of these beside its figure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..core.stats import wilson_interval


def corpus_row(name: str, c: dict[str, Any]) -> dict[str, Any]:
    """One row of the corpus comparison table (WildChat paper, Table 1's columns)."""
    return {
        "corpus": name,
        "conversations": c["conversations"],
        "users": c["users"] or None,
        "turns": c["turns"],
        "turns/conversation": round(c["turns_per_conversation"] or 0, 2),
        "user tokens/turn": round(c["user_tokens_per_turn"] or 0, 1),
        "assistant tokens/turn": round(c["assistant_tokens_per_turn"] or 0, 1),
        "languages": c["n_languages"],
    }


def language_agreement(rows: Sequence[dict], top: int = 8) -> pd.DataFrame:
    """Per stored language: sampled turns, agreement with the detector and its Wilson CI."""
    n, k = Counter(), Counter()
    for r in rows:
        if r["detected"] is not None:
            n[r["label"]] += 1
            k[r["label"]] += r["agree"]
    out = []
    for lang, m in n.most_common(top):
        lo, hi = wilson_interval(k[lang], m)
        out.append({"language": lang, "turns": m, "agree": k[lang], "rate": k[lang] / m, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(out, columns=["language", "turns", "agree", "rate", "ci_low", "ci_high"])


def countries(c: dict[str, Any], top: int = 15) -> pd.DataFrame:
    rows = [
        {"country": k, "conversations": v, "users": c["countries_users"].get(k, 0)}
        for k, v in list(c["countries_conversations"].items())[:top]
    ]
    df = pd.DataFrame(rows, columns=["country", "conversations", "users"])
    df["share"] = df.conversations / max(1, c["conversations"])
    return df


def country_values(c: dict[str, Any]) -> tuple[dict[str, float], list[str]]:
    """{alpha3: share of conversations} for the world map, and the countries it cannot draw."""
    from ..core.worldmap import country_code, country_shapes

    shapes, values, missing = country_shapes(), {}, []
    for name, v in c["countries_conversations"].items():
        code = country_code(name)
        if code in shapes:
            values[code] = values.get(code, 0) + v / max(1, c["conversations"])
        elif name != "unknown":
            missing.append(name)
    return values, missing


def states(c: dict[str, Any], top: int = 15) -> pd.DataFrame:
    rows = [
        {"state": k, "conversations": v, "users": c["states_users"].get(k, 0)}
        for k, v in list(c["states_conversations"].items())[:top]
    ]
    return pd.DataFrame(rows, columns=["state", "conversations", "users"])


def toxicity(s: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(shares of turns by role: OpenAI only / Detoxify only / both / any, counts), (categories by role)."""
    rows = []
    for role, c in s["toxic_by_role"].items():
        n = max(1, c.get("turns", 0))
        rows.append(
            {
                "role": role,
                "turns": c.get("turns", 0),
                "toxic turns": c.get("either", 0),
                "OpenAI only": (c.get("openai", 0) - c.get("both", 0)) / n,
                "Detoxify only": (c.get("detoxify", 0) - c.get("both", 0)) / n,
                "both": c.get("both", 0) / n,
                "any": c.get("either", 0) / n,
            }
        )
    cats = pd.DataFrame(s["openai_categories"]).fillna(0).astype(int)
    cats = cats.rename_axis("category").reset_index() if len(cats) else pd.DataFrame(columns=["category"])
    return pd.DataFrame(rows), cats


def jailbreaks(s: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for name, v in s["jailbreaks"].items():
        lo, hi = wilson_interval(v["successes"], v["matches"])
        rows.append(
            {
                "template": name,
                "uses": v["matches"],
                "users": v["users"],
                "successes": v["successes"],
                "success rate": v["successes"] / v["matches"] if v["matches"] else None,
                "ci_low": lo if v["matches"] else None,
                "ci_high": hi if v["matches"] else None,
            }
        )
    return pd.DataFrame(rows)


def privacy(s: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    red = pd.DataFrame(sorted(s["redactions"].items(), key=lambda kv: -kv[1]), columns=["entity", "placeholders"])
    pii = pd.DataFrame(sorted(s["pii_in_clear"].items(), key=lambda kv: -kv[1]), columns=["kind", "found"])
    return red, pii


def categories(rule_counts: dict[str, int], llm_counts: dict[str, int] | None) -> pd.DataFrame:
    keys = sorted(set(rule_counts) | set(llm_counts or {}))
    total, ltotal = max(1, sum(rule_counts.values())), max(1, sum((llm_counts or {}).values()))
    df = pd.DataFrame({"category": keys, "rules (all prompts)": [rule_counts.get(k, 0) / total for k in keys]})
    if llm_counts:
        df["LLM (sample)"] = [llm_counts.get(k, 0) / ltotal for k in keys]
    return df


def coverage_frame(cov: dict[str, dict[str, dict]]) -> pd.DataFrame:
    """{covering: {covered: {rate}}} -> a square table of coverage rates."""
    names = list(cov)
    return pd.DataFrame(
        [[cov[a][b]["rate"] if b in cov[a] else None for b in names] for a in names],
        index=names,
        columns=names,
        dtype=float,
    )
