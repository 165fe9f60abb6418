"""Metrics -> the notebook's tables of record and its sentences: the paper's headline counts beside this run's
(with the reason they differ), the fixture check (every count and rate built into the fixture against this run's),
and the findings block.
"""

from __future__ import annotations

from typing import Any

from ..core.stats import pct
from .load import FIXTURE, PAPER, RELEASES

# this run's metric path -> the expected file's key (tools/make_wildchat_fixture.py writes that file)
EXPECTED_COUNTS = {
    "corpus.conversations": "conversations",
    "corpus.users": "users",
    "corpus.turns": "turns",
    "corpus.user_turns": "user_turns",
    "corpus.assistant_turns": "assistant_turns",
    "corpus.languages": "languages",
    "corpus.turn_languages": "turn_languages",
    "corpus.countries_conversations": "countries_conversations",
    "corpus.countries_users": "countries_users",
    "corpus.states_conversations": "states_conversations",
    "corpus.states_users": "states_users",
    "corpus.turns_histogram": "turns_histogram",
    "corpus.monthly_model": "monthly_model",
    "safety.toxic_conversations": "toxic_conversations",
    "safety.toxic_by_role.user": "toxic_user",
    "safety.toxic_by_role.assistant": "toxic_assistant",
    "safety.openai_categories.user": "openai_categories_user",
    "safety.openai_categories.assistant": "openai_categories_assistant",
    "safety.detoxify_at_threshold": "detoxify_at_threshold",
    "safety.jailbreaks": "jailbreaks",
    "safety.redactions": "redactions",
    "safety.redacted_conversations": "redacted_conversations",
    "safety.pii_in_clear": "pii_in_clear",
    "safety.pii_conversations": "pii_conversations",
    "categories": "categories",
    "prompt_exact_duplicates": "prompts_exact_duplicates",
}


def get_path(metrics: dict, path: str) -> Any:
    cur: Any = metrics
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


def expected_rates(exp: dict) -> dict[str, float]:
    """The rates the fixture implies (each a ratio of two built-in counts)."""
    out = {
        "toxic_rate": exp["toxic_conversations"] / exp["conversations"],
        "turns_per_conversation": exp["turns"] / exp["conversations"],
        "language_agreement": 1 - exp["language_mislabels_user_turns"] / exp["user_turns"],
    }
    out.update(
        {f"jailbreak_success_{k}": v["successes"] / v["matches"] for k, v in exp["jailbreaks"].items() if v["matches"]}
    )
    return out


def fixture_check(metrics: dict, exp: dict, tol: float = 1e-9) -> list[dict]:
    """Every count and rate built into the fixture against this run's: one row each (``ok`` False = a mismatch).
    A dict of counts is compared key by key (a key missing on one side counts as 0). The language check is
    compared only when every user turn was checked (``n_lang_sample`` 0)."""
    rows = []
    for path, key in EXPECTED_COUNTS.items():
        ours, want = get_path(metrics, path), exp.get(key)
        if isinstance(want, dict):
            ours = ours or {}
            sub = want if not want or not isinstance(next(iter(want.values())), dict) else None
            if sub is None:  # nested: jailbreaks {template: {matches, users, successes}}
                ok = all(ours.get(t, {}).get(f, 0) == v for t, d in want.items() for f, v in d.items())
            else:
                ok = all(ours.get(k, 0) == v for k, v in want.items()) and all(
                    v == 0 for k, v in ours.items() if k not in want and k != "turns"
                )
        else:
            ok = ours == want
        rows.append({"measure": path, "this run": ours, "built in": want, "ok": bool(ok)})
    rates = expected_rates(exp)
    mine = {
        "toxic_rate": get_path(metrics, "safety.toxic_rate"),
        "turns_per_conversation": get_path(metrics, "corpus.turns_per_conversation"),
        "language_agreement": metrics.get("language_agreement") if metrics.get("language_checked_all") else None,
    }
    mine.update(
        {
            f"jailbreak_success_{k}": (v["successes"] / v["matches"] if v["matches"] else None)
            for k, v in (get_path(metrics, "safety.jailbreaks") or {}).items()
        }
    )
    for k, want in rates.items():
        ours = mine.get(k)
        if ours is None and k == "language_agreement":
            continue
        rows.append(
            {"measure": k, "this run": ours, "built in": want, "ok": ours is not None and abs(ours - want) <= tol}
        )
    if metrics.get("language_checked_all"):
        rows.append(
            {
                "measure": "language_disagreements",
                "this run": metrics.get("language_disagreements"),
                "built in": exp["language_mislabels_user_turns"],
                "ok": metrics.get("language_disagreements") == exp["language_mislabels_user_turns"],
            }
        )
    return rows


def release_note(source: str) -> str:
    if source == FIXTURE:
        return "a fixture written by us: its counts are built in (checked below), not the paper's"
    if source in RELEASES:
        return RELEASES[source]
    return "a local copy: which release it holds decides how it differs from the paper"


def paper_table(metrics: dict, source: str) -> list[dict]:
    """The paper's headline counts beside this run's, with the reason they differ."""
    c = metrics["corpus"]
    turn_langs, turns = c["turn_languages"], max(1, c["user_turns"])
    note = release_note(source)
    rows = [
        ("conversations", c["conversations"], PAPER["conversations"]),
        ("users", c["users"], PAPER["users"]),
        ("turns", c["turns"], PAPER["turns"]),
        ("turns per conversation", round(c["turns_per_conversation"] or 0, 2), PAPER["turns_per_conversation"]),
        ("languages", c["n_languages"], PAPER["languages"]),
        ("share of turns in English", round(turn_langs.get("English", 0) / turns, 3), PAPER["share_english"]),
        ("share of turns in Chinese", round(turn_langs.get("Chinese", 0) / turns, 3), PAPER["share_chinese"]),
        ("share of turns in Russian", round(turn_langs.get("Russian", 0) / turns, 3), PAPER["share_russian"]),
    ]
    return [
        {"measure": m, "this run": ours, "paper (full release)": paper, "why they differ": note}
        for m, ours, paper in rows
    ]


def findings(m: dict, *, source: str) -> dict[str, Any]:
    """The signal, the one-line finding and the details, all from the run's metrics."""
    c, s = m["corpus"], m["safety"]
    fixture = m.get("fixture_checked")
    if fixture:
        bad = m.get("fixture_mismatches", 0)
        signal = "fixture counts reproduced" if bad == 0 else f"fixture counts differ ({bad} measures)"
    else:
        full = source in ("allenai/WildChat-1M-Full",)
        signal = (
            "counts comparable with the paper" if full else "counts differ from the paper by release (see the table)"
        )
    top = sorted(c["turn_languages"].items(), key=lambda kv: -kv[1])[:3]
    langs = ", ".join(f"{k} {pct(v / max(1, c['user_turns']))}" for k, v in top)
    finding = (
        f"{m['release']}: {c['conversations']:,} conversations from {c['users']:,} users, {c['turns']:,} turns "
        f"({c['turns_per_conversation']:.2f} per conversation), {c['n_languages']} languages (user turns: "
        f"{langs}); {pct(s['toxic_rate'])} of conversations toxic by the paper's rule."
    )
    details = [f"Why the counts differ from the paper's: {release_note(source)}."]
    details.append(
        f"Stored toxicity flags vs the paper's rule recomputed on every record: "
        f"{s['conversation_flag_mismatches']} conversation and {s['turn_flag_mismatches']} turn mismatches "
        f"over {s['conversations']:,} conversations."
    )
    la = m.get("language_agreement")
    if la is not None:
        lo, hi = m["language_agreement_ci"]
        details.append(
            f"Stored language labels agree with langdetect on {pct(la, 1)} of {m['language_checked']:,} "
            f"sampled user turns (95% CI {pct(lo, 1)}-{pct(hi, 1)})."
        )
    jb = s["jailbreaks"]
    used = {k: v for k, v in jb.items() if v["matches"]}
    if used:
        details.append(
            "Jailbreak templates: "
            + "; ".join(
                f"{k} {v['matches']} uses by {v['users']} users, {v['successes']} followed by a toxic reply"
                for k, v in used.items()
            )
            + "."
        )
    details.append(
        f"Redaction placeholders: {sum(s['redactions'].values())} in {s['redacted_conversations']} "
        f"conversations; PII left in clear (offline patterns): {sum(s['pii_in_clear'].values())} strings "
        f"in {s['pii_conversations']} conversations."
    )
    if m.get("labeler_agreement") is not None:
        lo, hi = m["labeler_agreement_ci"]
        details.append(
            f"LLM category labels agree with the keyword rules on {pct(m['labeler_agreement'])} of "
            f"{m['labelled']} prompts (95% CI {pct(lo)}-{pct(hi)}); {m['labeler_unparsed']} unparsed."
        )
    if m.get("diversity"):
        d = m["diversity"]
        details.append(
            "Prompt diversity (mean pairwise cosine distance): "
            + ", ".join(f"{k} {v['diversity']:.3f}" for k, v in d.items())
            + "."
        )
    details.append(
        f"Cleaned prompt set: {m['prompts_written']:,} prompts (toxic conversations, "
        f"{m['prompt_exact_duplicates']:,} exact and {m['prompt_near_duplicates']:,} near duplicates "
        f"removed)."
    )
    return {"signal": signal, "finding": finding, "findings": details}


def scan_metrics(data: str, release: str, scan: dict, lang_check: dict, n_lang_sample: int) -> dict[str, Any]:
    """The metrics of the pass and the language check (what the fixture check compares)."""
    corpus = scan["corpus"]
    return {
        "release": release,
        "source": data,
        "corpus": corpus,
        "safety": scan["safety"],
        "categories": scan["categories"],
        "prompt_exact_duplicates": scan["prompt_exact_duplicates"],
        "language_agreement": lang_check["rate"],
        "language_agreement_ci": lang_check["rate_ci"],
        "language_checked": lang_check["checked"],
        "language_disagreements": lang_check["disagree"],
        "language_checked_all": n_lang_sample == 0 and lang_check["checked"] == corpus["user_turns"],
    }


def _pooled_success(jailbreaks: dict[str, dict]) -> float | None:
    """Share of jailbreak-template uses (all templates) followed by a toxic assistant turn; None when none was used."""
    matches = sum(v["matches"] for v in jailbreaks.values())
    return sum(v["successes"] for v in jailbreaks.values()) / matches if matches else None


def final_metrics(m: dict, scan: dict, cat_check: dict, div: dict, cleaned: dict, check: list[dict]) -> dict[str, Any]:
    """Everything the run reports: headline numbers, the later stages, the fixture check, the findings."""
    c, s = m["corpus"], m["safety"]
    m = {
        **m,
        "conversations": c["conversations"],
        "users": c["users"],
        "turns": c["turns"],
        "turns_per_conversation": c["turns_per_conversation"],
        "n_languages": c["n_languages"],
        "toxic_rate": s["toxic_rate"],
        "labelled": cat_check["labelled"],
        "labeler_unparsed": cat_check["unparsed"],
        "labeler_agreement": cat_check["rate"],
        "labeler_agreement_ci": cat_check["rate_ci"],
        "diversity": div["diversity"],
        "coverage": div["coverage"],
        "prompts_written": cleaned["kept"],
        "prompt_near_duplicates": cleaned["near_duplicates"],
        "conversations_per_s": scan["conversations_per_s"],
        "jailbreak_matches": sum(v["matches"] for v in s["jailbreaks"].values()),
        "jailbreak_success_rate": _pooled_success(s["jailbreaks"]),
        "fixture_checked": bool(check),
        "fixture_mismatches": sum(not r["ok"] for r in check),
        "headline": [
            "conversations",
            "users",
            "turns_per_conversation",
            "toxic_rate",
            "language_agreement",
            "labeler_agreement",
            "prompts_written",
            "conversations_per_s",
        ],
    }
    m.update(findings(m, source=m["source"]))
    return m
