"""Safety analyses over WildChat records in one streaming pass: toxicity recomputed with the paper's rule (and the
stored flags checked against it on every record), by role and by detector, with OpenAI's categories; jailbreak
templates (matches, distinct users, success = the next assistant turn toxic); redaction placeholders per entity;
an offline audit for PII left in the clear.

The paper's rule (WildChat, arXiv 2405.01470): a turn is toxic if the OpenAI moderation API flags it or Detoxify's
toxicity score is above 0.1; a conversation is toxic if any turn is.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

from .counts import user_key

COLUMNS = ("conversation", "openai_moderation", "detoxify_moderation", "toxic", "redacted", "hashed_ip")
DETOXIFY_THRESHOLD = 0.1
# template -> the phrase that identifies it (case-insensitive); our own list of well-known public templates
TEMPLATES = {
    "DAN": r"\bdo anything now\b",
    "Developer Mode": r"developer mode enabled",
    "AIM": r"always intelligent and machiavellian",
}
_TEMPLATES = [(name, re.compile(rx, re.IGNORECASE)) for name, rx in TEMPLATES.items()]
_ANY_TEMPLATE = re.compile("|".join(f"(?:{rx})" for rx in TEMPLATES.values()), re.IGNORECASE)  # one search per turn
PLACEHOLDER = re.compile(r"<PRESIDIO_ANONYMIZED_([A-Z_]+)>|<TRUFFLEHOG_REDACTED_([A-Z0-9_]*)>")
PII = {  # checked in this order; each match is blanked before the next pattern runs
    "email": re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    "credit_card": re.compile(r"(?<!\d)(?:\d{4}[ -]?){3}\d{1,4}(?!\d)"),
    "ip_address": re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])"),
    "phone": re.compile(r"(?<![\w+])\+?\d{1,3}[ .-]?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?!\d)"),
}


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a card number (digits only)."""
    total, alt = 0, False
    for ch in reversed(digits):
        d = int(ch)
        if alt:
            d = d * 2 - 9 if d > 4 else d * 2
        total, alt = total + d, not alt
    return total % 10 == 0


_DIGITS = re.compile(r"\d[\d .()+-]{5,}")  # what a card, IP or phone number starts with


def pii_matches(text: str) -> list[str]:
    """PII kinds found in clear in ``text`` (one entry per occurrence); placeholders are not PII."""
    text = text or ""
    has_at, has_digits = "@" in text, _DIGITS.search(text) is not None
    if not has_at and not has_digits:  # every pattern needs an '@' or a run of digits: most turns stop here
        return []
    text = PLACEHOLDER.sub(" ", text) if "<" in text else text
    found = []
    for kind, rx in PII.items():
        if (kind == "email" and not has_at) or (kind != "email" and not has_digits):
            continue
        for m in rx.finditer(text):
            if kind == "credit_card":
                digits = re.sub(r"\D", "", m.group())
                if not (13 <= len(digits) <= 16 and luhn_ok(digits)):
                    continue
            found.append(kind)
        text = rx.sub(" ", text)
    return found


def turn_flags(openai: dict | None, detox: dict | None, threshold: float = DETOXIFY_THRESHOLD) -> tuple[bool, bool]:
    """(flagged by OpenAI, above the Detoxify threshold) for one turn's moderation entries."""
    o = bool((openai or {}).get("flagged"))
    score = (detox or {}).get("toxicity")
    return o, bool(score is not None and float(score) > threshold)


class SafetyCounter:
    """Toxicity, jailbreaks, redactions and PII over records with ``COLUMNS``."""

    def __init__(self, threshold: float = DETOXIFY_THRESHOLD):
        self.threshold = threshold
        self.n = Counter()
        self.by_role: dict[str, Counter] = defaultdict(Counter)
        self.categories: dict[str, Counter] = defaultdict(Counter)
        self.jb, self.jb_success = Counter(), Counter()
        self.jb_users: dict[str, set[int]] = defaultdict(set)
        self.redactions, self.pii = Counter(), Counter()

    def add(self, rec: dict) -> bool:
        """Count one record; returns whether it is toxic by the paper's rule."""
        conv = rec.get("conversation") or []
        openai = rec.get("openai_moderation") or []
        detox = rec.get("detoxify_moderation") or []
        n = self.n
        n["conversations"] += 1
        if openai or detox:
            n["moderated_conversations"] += 1
        toxic_turns = []
        for i, t in enumerate(conv):
            o, d = turn_flags(
                openai[i] if i < len(openai) else None, detox[i] if i < len(detox) else None, self.threshold
            )
            role = t.get("role") or "unknown"
            c = self.by_role[role]
            c["turns"] += 1
            c["openai"] += o
            c["detoxify"] += d
            c["both"] += o and d
            c["either"] += o or d
            toxic_turns.append(o or d)
            if "toxic" in t and t["toxic"] is not None and bool(t["toxic"]) != (o or d):
                n["turn_flag_mismatches"] += 1
            if o:
                for cat, hit in ((openai[i] or {}).get("categories") or {}).items():
                    self.categories[role][cat] += bool(hit)
            if (
                i < len(detox)
                and detox[i]
                and detox[i].get("toxicity") is not None
                and float(detox[i]["toxicity"]) == self.threshold
            ):
                n["detoxify_at_threshold"] += 1
        toxic = any(toxic_turns)
        n["toxic_conversations"] += toxic
        if rec.get("toxic") is not None and bool(rec["toxic"]) != toxic:
            n["conversation_flag_mismatches"] += 1
        self._jailbreaks(conv, toxic_turns, user_key(rec.get("hashed_ip")))
        self._privacy(rec, conv)
        return toxic

    def _jailbreaks(self, conv: list, toxic_turns: list[bool], user: int | None) -> None:
        for i, t in enumerate(conv):
            if t.get("role") != "user" or not _ANY_TEMPLATE.search(t.get("content") or ""):
                continue
            for name, rx in _TEMPLATES:
                if rx.search(t.get("content") or ""):
                    self.jb[name] += 1
                    if user is not None:
                        self.jb_users[name].add(user)
                    nxt = i + 1 < len(conv) and conv[i + 1].get("role") == "assistant" and toxic_turns[i + 1]
                    self.jb_success[name] += bool(nxt)

    def _privacy(self, rec: dict, conv: list) -> None:
        found_red, found_pii = False, False
        for t in conv:
            text = t.get("content") or ""
            for m in PLACEHOLDER.finditer(text) if "<" in text else ():
                self.redactions[m.group(1) or m.group(2) or "UNKNOWN"] += 1
                found_red = True
            kinds = pii_matches(text) if t.get("role") == "user" else []
            self.pii.update(kinds)
            found_pii |= bool(kinds)
        self.n["redacted_conversations"] += found_red
        self.n["pii_conversations"] += found_pii
        if rec.get("redacted") is not None and bool(rec["redacted"]) != found_red:
            self.n["redacted_flag_mismatches"] += 1

    def result(self) -> dict[str, Any]:
        n = self.n
        roles = {r: dict(c) for r, c in sorted(self.by_role.items())}
        return {
            "conversations": n["conversations"],
            "moderated_conversations": n["moderated_conversations"],
            "toxic_conversations": n["toxic_conversations"],
            "toxic_rate": n["toxic_conversations"] / n["conversations"] if n["conversations"] else None,
            "conversation_flag_mismatches": n["conversation_flag_mismatches"],
            "turn_flag_mismatches": n["turn_flag_mismatches"],
            "detoxify_at_threshold": n["detoxify_at_threshold"],
            "toxic_by_role": roles,
            "openai_categories": {
                r: {k: v for k, v in sorted(c.items()) if v} for r, c in sorted(self.categories.items())
            },
            "jailbreaks": {
                name: {"matches": self.jb[name], "users": len(self.jb_users[name]), "successes": self.jb_success[name]}
                for name in TEMPLATES
            },
            "redactions": dict(sorted(self.redactions.items())),
            "redacted_conversations": n["redacted_conversations"],
            "redacted_flag_mismatches": n["redacted_flag_mismatches"],
            "pii_in_clear": dict(sorted(self.pii.items())),
            "pii_conversations": n["pii_conversations"],
        }
