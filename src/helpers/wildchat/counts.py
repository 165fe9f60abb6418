"""One streaming pass of counts over WildChat records: the corpus table, languages, countries and states (by
conversations and by distinct users), turns per conversation, monthly counts per model, tokens per turn.

    counter = CorpusCounter(tokenizer)            # tokenizer: the model's (None: no token counts)
    for rec in records: counter.add(rec)
    table = counter.result()

Memory: counters keyed by language / country / state / month / model, and one 64-bit integer per distinct user
(a set per country and state): it grows with the number of users, never with the number of conversations.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from typing import Any

COLUMNS = ("conversation", "turn", "language", "country", "state", "hashed_ip", "model", "timestamp")


def user_key(hashed_ip: Any) -> int | None:
    """A distinct user as a 64-bit integer (WildChat's hashed IPs are hex digests: their first 16 digits)."""
    if not hashed_ip:
        return None
    text = str(hashed_ip)
    try:
        return int(text[:16], 16)
    except ValueError:
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def month(timestamp: Any) -> str:
    """``2023-04`` from an ISO string or a datetime ("" when missing)."""
    return str(timestamp)[:7] if timestamp else ""


class TokenCounter:
    """Tokens per turn by role with a tokenizer, ``batch`` texts per call (a fast tokenizer's batch encode)."""

    def __init__(self, tokenizer, batch: int = 1024):
        self.tok, self.batch = tokenizer, batch
        self.pending: dict[str, list[str]] = {"user": [], "assistant": []}
        self.tokens, self.turns = Counter(), Counter()

    def add(self, role: str, text: str) -> None:
        if role not in self.pending:
            return
        self.pending[role].append(text or "")
        if len(self.pending[role]) >= self.batch:
            self.flush(role)

    def flush(self, role: str | None = None) -> None:
        for r in [role] if role else list(self.pending):
            texts = self.pending[r]
            if texts:
                ids = self.tok(texts, add_special_tokens=False)["input_ids"]
                self.tokens[r] += sum(len(x) for x in ids)
                self.turns[r] += len(texts)
                self.pending[r] = []

    def per_turn(self) -> dict[str, float | None]:
        self.flush()
        return {r: (self.tokens[r] / self.turns[r] if self.turns[r] else None) for r in ("user", "assistant")}


class CorpusCounter:
    """Counts over conversation records in WildChat's schema (``COLUMNS`` are the fields it reads)."""

    def __init__(self, tokenizer=None):
        self.n = Counter()
        self.users: set[int] = set()
        self.languages, self.turn_languages = Counter(), Counter()
        self.countries, self.states = Counter(), Counter()
        self.country_users: dict[str, set[int]] = defaultdict(set)
        self.state_users: dict[str, set[int]] = defaultdict(set)
        self.turns_hist, self.monthly = Counter(), Counter()
        self.tokens = TokenCounter(tokenizer) if tokenizer is not None else None

    def add(self, rec: dict) -> None:
        conv = rec.get("conversation") or []
        n = self.n
        n["conversations"] += 1
        turn = int(rec.get("turn") or sum(t.get("role") == "user" for t in conv))
        n["turns"] += turn
        n["messages"] += len(conv)
        self.turns_hist[turn] += 1
        user = user_key(rec.get("hashed_ip"))
        if user is not None:
            self.users.add(user)
        self.languages[rec.get("language") or "unknown"] += 1
        country = rec.get("country") or "unknown"
        self.countries[country] += 1
        if rec.get("state"):
            key = f"{country} / {rec['state']}"
            self.states[key] += 1
            if user is not None:
                self.state_users[key].add(user)
        if user is not None:
            self.country_users[country].add(user)
        self.monthly[(month(rec.get("timestamp")), str(rec.get("model") or "unknown"))] += 1
        for t in conv:
            role = t.get("role")
            n[f"{role}_turns"] += 1
            if role == "user":
                self.turn_languages[t.get("language") or "unknown"] += 1
            if self.tokens is not None:
                self.tokens.add(role, t.get("content"))

    def result(self) -> dict[str, Any]:
        tok = self.tokens.per_turn() if self.tokens is not None else {"user": None, "assistant": None}
        convs = self.n["conversations"]
        return {
            "conversations": convs,
            "users": len(self.users),
            "turns": self.n["turns"],
            "messages": self.n["messages"],
            "user_turns": self.n["user_turns"],
            "assistant_turns": self.n["assistant_turns"],
            "turns_per_conversation": self.n["turns"] / convs if convs else None,
            "user_tokens_per_turn": tok["user"],
            "assistant_tokens_per_turn": tok["assistant"],
            "n_languages": len([k for k in self.languages if k != "unknown"]),
            "languages": dict(self.languages.most_common()),
            "turn_languages": dict(self.turn_languages.most_common()),
            "countries_conversations": dict(self.countries.most_common()),
            "countries_users": {k: len(v) for k, v in sorted(self.country_users.items(), key=lambda kv: -len(kv[1]))},
            "states_conversations": dict(self.states.most_common()),
            "states_users": {k: len(v) for k, v in sorted(self.state_users.items(), key=lambda kv: -len(kv[1]))},
            "turns_histogram": {str(k): v for k, v in sorted(self.turns_hist.items())},
            "monthly_model": {f"{m} {model}": v for (m, model), v in sorted(self.monthly.items())},
        }


def share_table(counts: dict[str, int], top: int = 12, label: str = "name") -> Any:
    """A DataFrame of the ``top`` keys with count and share, the rest folded into 'other'."""
    import pandas as pd

    total = sum(counts.values())
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = items[:top] + ([("other", sum(v for _, v in items[top:]))] if len(items) > top else [])
    df = pd.DataFrame(rows, columns=[label, "count"])
    df["share"] = df["count"] / total if total else 0.0
    return df


def monthly_frame(monthly: dict[str, int]) -> Any:
    """{"2023-04 gpt-4-0314": n} -> a month x model table of counts."""
    import pandas as pd

    rows = [(k.split(" ", 1)[0], k.split(" ", 1)[1], v) for k, v in monthly.items()]
    df = pd.DataFrame(rows, columns=["month", "model", "conversations"])
    return df.pivot_table(index="month", columns="model", values="conversations", fill_value=0, aggfunc="sum")


def turns_frame(hist: dict[str, int], cap: int = 10) -> Any:
    """Turns per conversation as a table (``cap`` and above folded into one row)."""
    import pandas as pd

    folded: Counter = Counter()
    for k, v in hist.items():
        folded[min(int(k), cap)] += v
    total = sum(folded.values())
    df = pd.DataFrame(sorted(folded.items()), columns=["turns", "conversations"])
    df["share"] = df.conversations / total if total else 0.0
    df["turns"] = [f"{t}+" if t == cap else str(t) for t in df.turns]
    return df
