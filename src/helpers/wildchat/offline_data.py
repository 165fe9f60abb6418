"""The offline WildChat fixture: conversations in the full WildChat schema, written by us, with the counts built
into them (the expected file every analysis is checked against), and small corpora in other data sets' schemas.

    expected = write_fixture("wildchat_fixture.jsonl", n=300, seed=0)    # + wildchat_fixture.expected.json
    write_other_corpora(DATA_DIR)                                        # alpaca / dolly / oasst-style files

What is built in: several languages (Latin, Han, Cyrillic, Arabic, Japanese scripts), geometric turn counts,
users with a fixed country and state, model names that change over the months, per-turn moderation where some
turns are flagged by OpenAI only, some by Detoxify only, some by both (and one Detoxify score exactly at the
0.1 threshold, which is not toxic), jailbreak-template prompts with their outcome (the next assistant turn
flagged or not), Presidio / TruffleHog placeholders, a few PII strings left in the clear, a few stored language
labels that are wrong, and duplicated first prompts. ``tools/make_wildchat_fixture.py`` is the command line.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import phrases as ph

DETOX_KEYS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack", "sexual_explicit")
OPENAI_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
FLAG_CATEGORIES = ("harassment", "sexual", "violence", "hate", "self-harm")
LANG_SHARE = {
    "English": 50,
    "Chinese": 14,
    "Russian": 12,
    "Spanish": 6,
    "French": 5,
    "German": 5,
    "Japanese": 4,
    "Arabic": 4,
}
PLACES = {
    "English": [
        ("United States", "California"),
        ("United States", "Texas"),
        ("United States", "New York"),
        ("United Kingdom", "England"),
        ("India", "Maharashtra"),
        ("Canada", "Ontario"),
    ],
    "Chinese": [("China", "Beijing"), ("China", "Guangdong"), ("Hong Kong", None)],
    "Russian": [("Russia", "Moscow"), ("Russia", "Saint Petersburg")],
    "Spanish": [("Mexico", "Mexico City"), ("Spain", "Madrid")],
    "French": [("France", "Île-de-France")],
    "German": [("Germany", "Bavaria")],
    "Japanese": [("Japan", "Tokyo")],
    "Arabic": [("Egypt", "Cairo")],
}
ACCEPT = {
    "English": "en-US,en;q=0.9",
    "Chinese": "zh-CN,zh;q=0.9",
    "Russian": "ru-RU,ru;q=0.9",
    "Spanish": "es-ES,es;q=0.9",
    "French": "fr-FR,fr;q=0.9",
    "German": "de-DE,de;q=0.9",
    "Japanese": "ja-JP,ja;q=0.9",
    "Arabic": "ar-EG,ar;q=0.9",
}
START, END = datetime(2023, 4, 9, tzinfo=UTC), datetime(2024, 4, 29, tzinfo=UTC)
REDACTIONS = [
    "Please send the summary to <PRESIDIO_ANONYMIZED_EMAIL_ADDRESS> and cc <PRESIDIO_ANONYMIZED_PERSON>.",
    "My manager <PRESIDIO_ANONYMIZED_PERSON> asked for it; call <PRESIDIO_ANONYMIZED_PHONE_NUMBER>.",
    "Use my key <TRUFFLEHOG_REDACTED_OPENAI> in the example.",
]
PII_CLEAR = {
    "email": "You can write to me at maria.lopez@example.org about it.",
    "phone": "My number is +1 415-555-0134 if you need it.",
    "ip_address": "The server runs at 203.0.113.42 on port 8080.",
    "credit_card": "My card 4111 1111 1111 1111 was charged twice.",
}


def model_for(when: datetime, gpt4: bool) -> str:
    """The model name a conversation at ``when`` was served by (the releases changed over the months)."""
    if gpt4:
        return (
            "gpt-4-0314"
            if when < datetime(2023, 11, 15, tzinfo=UTC)
            else "gpt-4-1106-preview"
            if when < datetime(2024, 2, 1, tzinfo=UTC)
            else "gpt-4-0125-preview"
        )
    return (
        "gpt-3.5-turbo-0301"
        if when < datetime(2023, 6, 27, tzinfo=UTC)
        else "gpt-3.5-turbo-0613"
        if when < datetime(2024, 2, 15, tzinfo=UTC)
        else "gpt-3.5-turbo-0125"
    )


def _moderation(rng: random.Random, kind: str) -> tuple[dict, dict]:
    """(openai entry, detoxify entry) for a turn of ``kind``: clean, openai, detoxify, both or threshold."""
    flagged = kind in ("openai", "both")
    cat = rng.choice(FLAG_CATEGORIES) if flagged else None
    cats = {c: c == cat for c in OPENAI_CATEGORIES}
    scores = {c: (0.82 if c == cat else round(rng.uniform(0, 0.01), 6)) for c in OPENAI_CATEGORIES}
    tox = {
        "clean": rng.uniform(0.0005, 0.05),
        "openai": rng.uniform(0.01, 0.09),
        "detoxify": rng.uniform(0.2, 0.9),
        "both": rng.uniform(0.3, 0.95),
        "threshold": 0.1,
    }[kind]
    detox = {k: round(tox if k == "toxicity" else tox * rng.uniform(0.05, 0.6), 6) for k in DETOX_KEYS}
    detox["toxicity"] = tox if kind == "threshold" else round(tox, 6)
    return {"categories": cats, "category_scores": scores, "flagged": flagged}, detox


def _turn_kind(rng: random.Random, role: str) -> str:
    u = rng.random()
    shares = (0.03, 0.02, 0.02) if role == "user" else (0.01, 0.005, 0.005)
    if u < shares[0]:
        return "openai"
    if u < shares[0] + shares[1]:
        return "detoxify"
    if u < sum(shares):
        return "both"
    return "clean"


def _users(rng: random.Random, n_users: int) -> list[dict]:
    langs = [lang for lang, w in LANG_SHARE.items() for _ in range(w)]
    users = []
    for i in range(n_users):
        lang = "English" if i < 6 else rng.choice(langs)  # the first users are the jailbreakers
        country, state = rng.choice(PLACES[lang])
        users.append(
            {
                "hashed_ip": hashlib.sha256(f"user-{i}".encode()).hexdigest(),
                "language": lang,
                "country": country,
                "state": state,
                "weight": rng.choice([1, 1, 1, 2, 3, 6]),
            }
        )
    return users


def _prompt(rng: random.Random, lang: str) -> tuple[str, str]:
    bank = ph.EN_SLOTS if lang == "English" else ph.OTHER_SLOTS[lang]
    category = rng.choice(sorted(bank))
    templates, slots = bank[category]
    return rng.choice(templates).format(x=rng.choice(slots)), category


class _Expected:
    """The counts built into the fixture, accumulated while it is written."""

    def __init__(self):
        self.c: dict[str, Any] = defaultdict(Counter)
        self.users: dict[str, set] = defaultdict(set)
        self.n = Counter()
        self.seen_prompts: set[str] = set()

    def add(self, rec: dict, meta: dict) -> None:
        n, c, user = self.n, self.c, rec["hashed_ip"]
        n["conversations"] += 1
        n["turns"] += rec["turn"]
        n["messages"] += len(rec["conversation"])
        self.users["all"].add(user)
        c["languages"][rec["language"]] += 1
        c["countries_conversations"][rec["country"]] += 1
        self.users[f"country:{rec['country']}"].add(user)
        if rec["state"]:
            c["states_conversations"][f"{rec['country']} / {rec['state']}"] += 1
            self.users[f"state:{rec['country']} / {rec['state']}"].add(user)
        c["turns_histogram"][str(rec["turn"])] += 1
        c["monthly_model"][f"{rec['timestamp'][:7]} {rec['model']}"] += 1
        c["models"][rec["model"]] += 1
        for turn, kind in zip(rec["conversation"], meta["kinds"]):
            role = turn["role"]
            n[f"{role}_turns"] += 1
            c["turn_languages"][turn["language"]] += role == "user"
            by = {"openai": ("openai",), "detoxify": ("detoxify",), "both": ("openai", "detoxify")}.get(kind, ())
            for d in by:
                c[f"toxic_{role}"][d] += 1
            if kind == "both":
                c[f"toxic_{role}"]["both"] += 1
            if by:
                c[f"toxic_{role}"]["either"] += 1
            n["detoxify_at_threshold"] += kind == "threshold"
        for role, cat in meta["categories_flagged"]:
            c[f"openai_categories_{role}"][cat] += 1
        n["toxic_conversations"] += rec["toxic"]
        n["redacted_conversations"] += rec["redacted"]
        for ent in meta["redactions"]:
            c["redactions"][ent] += 1
        for kind in meta["pii"]:
            c["pii_in_clear"][kind] += 1
        n["pii_conversations"] += bool(meta["pii"])
        n["language_mislabels_user_turns"] += meta["mislabel"] * sum(t["role"] == "user" for t in rec["conversation"])
        c["categories"][meta["category"]] += 1
        if meta["jailbreak"]:
            jb = meta["jailbreak"]
            c["jailbreak_matches"][jb] += 1
            c["jailbreak_successes"][jb] += meta["jb_success"]
            self.users[f"jailbreak:{jb}"].add(user)
        if not rec["toxic"]:
            n["prompts_non_toxic"] += 1
            norm = " ".join(rec["conversation"][0]["content"].lower().split())
            n["prompts_exact_duplicates"] += norm in self.seen_prompts
            self.seen_prompts.add(norm)

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.n)
        out["users"] = len(self.users["all"])
        out.update({k: dict(sorted(v.items())) for k, v in self.c.items()})
        for prefix, key in (
            ("country:", "countries_users"),
            ("state:", "states_users"),
            ("jailbreak:", "jailbreak_users"),
        ):
            out[key] = {k[len(prefix) :]: len(v) for k, v in sorted(self.users.items()) if k.startswith(prefix)}
        out["jailbreaks"] = {
            t: {
                "matches": out["jailbreak_matches"].get(t, 0),
                "users": out["jailbreak_users"].get(t, 0),
                "successes": out["jailbreak_successes"].get(t, 0),
            }
            for t in sorted(ph.JAILBREAKS)
        }
        return out


def make_conversation(rng: random.Random, i: int, user: dict, plant: dict) -> tuple[dict, dict]:
    """One WildChat record for ``user`` (``plant``: jailbreak / redaction / pii / mislabel) and what it carries."""
    lang = user["language"]
    start = START + timedelta(seconds=rng.randrange(int((END - START).total_seconds())))
    meta = {
        "kinds": [],
        "categories_flagged": [],
        "redactions": [],
        "pii": [],
        "jailbreak": plant.get("jailbreak"),
        "jb_success": bool(plant.get("jb_success")),
        "mislabel": bool(plant.get("mislabel")),
    }
    text_lang = plant.get("mislabel") or lang  # a wrong stored label: the text is in another language
    if meta["jailbreak"]:
        first = ph.JAILBREAKS[meta["jailbreak"]].format(x=rng.choice(ph.JAILBREAK_ASKS))
        category, n_turns = "role_play", 1
    else:
        first, category = _prompt(rng, text_lang)
        n_turns = 1
        while rng.random() > 0.45 and n_turns < 10:
            n_turns += 1
    meta["category"] = category
    if plant.get("redaction") is not None:
        extra = REDACTIONS[plant["redaction"] % len(REDACTIONS)]
        first = f"{first} {extra}"
        meta["redactions"] = [
            m.split("_", 2)[-1].rstrip(">") if "PRESIDIO" in m else m[len("<TRUFFLEHOG_REDACTED_") : -1]
            for m in extra.split()
            if m.strip(".,;").startswith("<")
        ]
        meta["redactions"] = [r.rstrip(">.,;") for r in meta["redactions"]]
    if plant.get("pii"):
        first = f"{first} {PII_CLEAR[plant['pii']]}"
        meta["pii"] = [plant["pii"]]
    conv, openai, detox, when = [], [], [], start
    for t in range(n_turns):
        for role in ("user", "assistant"):
            if role == "user":
                content = first if t == 0 else rng.choice(ph.FOLLOW_UPS[text_lang])
            else:
                content = rng.choice(ph.REPLIES[text_lang])
            if meta["jailbreak"]:
                kind = ("both" if meta["jb_success"] else "clean") if role == "assistant" else "clean"
            elif plant.get("threshold") and role == "user" and t == 0:
                kind = "threshold"
            else:
                kind = _turn_kind(rng, role)
            o, d = _moderation(rng, kind)
            meta["kinds"].append(kind)
            meta["categories_flagged"] += [(role, c) for c, v in o["categories"].items() if v]
            when = when + timedelta(seconds=rng.randrange(20, 300))
            redacted = role == "user" and t == 0 and bool(meta["redactions"])
            conv.append(
                {
                    "content": content,
                    "country": user["country"] if role == "user" else None,
                    "hashed_ip": user["hashed_ip"] if role == "user" else None,
                    "header": {"accept-language": ACCEPT[lang], "user-agent": "Mozilla/5.0 (X11; Linux x86_64)"}
                    if role == "user"
                    else None,
                    "language": lang,
                    "redacted": redacted,
                    "role": role,
                    "state": user["state"] if role == "user" else None,
                    "timestamp": when.isoformat() if role == "assistant" else None,
                    "toxic": kind in ("openai", "detoxify", "both"),
                    "turn_identifier": 1000 * i + t,
                }
            )
            openai.append(o)
            detox.append(d)
    rec = {
        "conversation_hash": hashlib.md5(f"conv-{i}".encode()).hexdigest(),
        "model": model_for(start, plant["gpt4"]),
        "timestamp": when.isoformat(),
        "conversation": conv,
        "turn": n_turns,
        "language": lang,
        "openai_moderation": openai,
        "detoxify_moderation": detox,
        "toxic": any(t["toxic"] for t in conv),
        "redacted": any(t["redacted"] for t in conv),
        "state": user["state"],
        "country": user["country"],
        "hashed_ip": user["hashed_ip"],
        "header": conv[0]["header"],
    }
    return rec, meta


def _plants(rng: random.Random, n: int) -> list[dict]:
    """What each conversation carries, by index: a few jailbreaks, redactions, PII strings, wrong labels."""
    plants = [{"gpt4": rng.random() < 0.25} for _ in range(n)]
    jb = [
        ("DAN", 0, True),
        ("DAN", 0, False),
        ("DAN", 1, True),
        ("DAN", 1, False),
        ("DAN", 2, False),
        ("Developer Mode", 3, True),
        ("Developer Mode", 3, False),
        ("Developer Mode", 4, False),
        ("AIM", 5, True),
        ("AIM", 2, False),
    ]
    slots = rng.sample(range(n), len(jb) + 12 + len(PII_CLEAR) * 2 + 4 + 1)
    for (name, user, ok), s in zip(jb, slots):
        plants[s].update(jailbreak=name, user=user, jb_success=ok)
    rest = slots[len(jb) :]
    for k, s in enumerate(rest[:12]):
        plants[s].update(redaction=k, english=True)
    for k, s in enumerate(rest[12 : 12 + 2 * len(PII_CLEAR)]):
        plants[s].update(pii=sorted(PII_CLEAR)[k % len(PII_CLEAR)], english=True)
    for k, s in enumerate(rest[12 + 2 * len(PII_CLEAR) : -1]):
        plants[s].update(mislabel=["Spanish", "French", "German", "Russian"][k], english=True)
    plants[rest[-1]].update(threshold=True)
    return plants


def iter_fixture(n: int, seed: int = 0, n_users: int | None = None):
    """(record, meta) for ``n`` conversations; the same ``n`` and ``seed`` give the same records."""
    rng = random.Random(seed)
    users = _users(rng, n_users or max(12, n // 4))
    english = [u for u in users[6:] if u["language"] == "English"]
    weights = [u["weight"] for u in users[6:]]
    for i, plant in enumerate(_plants(rng, n)):
        if "user" in plant:
            user = users[plant["user"]]
        elif plant.get("english"):
            user = rng.choice(english)
        else:
            user = rng.choices(users[6:], weights=weights)[0]
        yield make_conversation(rng, i, user, plant)


def write_fixture(path: str | Path, n: int = 300, seed: int = 0, expected_path: str | Path | None = None) -> dict:
    """Write ``n`` conversations as JSONL (streaming) and the counts built into them; returns the counts."""
    path = Path(path)
    exp = _Expected()
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for rec, meta in iter_fixture(n, seed):
            exp.add(rec, meta)
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    tmp.replace(path)
    result = {"n": n, "seed": seed, **exp.result()}
    expected_path = Path(expected_path) if expected_path else path.with_suffix(".expected.json")
    expected_path.write_text(json.dumps(result, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    return result
