"""Hub data for the full profile: Tulu 2.5 preference splits, Tulu 2.5 prompts, UltraFeedback-schema files.

    pairs = load_pairs("allenai/tulu-2.5-preference-data", "ultrafeedback_mean_aspects", limit=1000)
    pairs = load_pairs("builtin:tulu_ultrafeedback_mini.jsonl", "ultrafeedback", labeller="overall")
    prompts = load_prompts("allenai/tulu-2.5-prompts:ultrafeedback_prompts", limit=2000)

``allenai/tulu-2.5-preference-data`` keeps each source in its own split (``hh_rlhf_60k``, ``shp_2``,
``ultrafeedback_mean_aspects``, ``nectar_60k``, ...) with ``chosen`` / ``rejected`` message lists;
``allenai/tulu-2.5-prompts`` has prompt splits (``ultrafeedback_prompts``, ...) whose rows carry the prompt as
``instruction``, ``messages`` or ``conversation`` (the paper's loader accepts all three). Files in the
UltraFeedback schema (``instruction`` + ``completions`` with per-aspect ``annotations``, ``overall_score``)
are binarised here: chosen = the best completion, rejected = a random worse one, by the mean of the aspect
ratings (``fine``) or by the single overall score (``overall``).

Under ``--rehearse`` a hub id reads ``src/helpers/data/hub_fixtures/<org>__<name>.jsonl`` (the hub's schema,
a ``split`` column per row) instead of the hub.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from ..core.data import load_records
from ..core.store import stable_id

PREFERENCE_DATA = "allenai/tulu-2.5-preference-data"
PROMPT_DATA = "allenai/tulu-2.5-prompts"
UF_ASPECTS = ("helpfulness", "honesty", "instruction_following", "truthfulness")


def fixture(source: str) -> Path | None:
    """The rehearsal stand-in for a hub data set id (None outside a rehearsal or when there is none)."""
    from ..core import rehearsal

    if not rehearsal.active() or source.count("/") != 1 or source.startswith((".", "/", "builtin:")):
        return None
    path = rehearsal.FIXTURES_DIR / f"{source.replace('/', '__')}.jsonl"
    return path if path.exists() else None


def _records(source: str, split: str, limit: int | None) -> list[dict]:
    local = fixture(source)
    if local is not None:
        rows = [r for r in load_records(str(local)) if r.get("split") == split]
        if not rows:
            raise ValueError(f"rehearsal fixture {local.name} has no rows for split {split!r}")
        return rows[:limit] if limit else rows
    if source.startswith("builtin:") or Path(source).expanduser().exists():
        return load_records(source, limit=limit)
    return load_records(source, split=split, limit=limit)


def _text(content) -> str:
    return content if isinstance(content, str) else str(content or "")


def messages_to_pair(row: dict) -> dict | None:
    """A single-turn (user, assistant) pair from Tulu's chosen / rejected message lists (None for multi-turn)."""
    chosen, rejected = row.get("chosen"), row.get("rejected")
    if not (isinstance(chosen, list) and isinstance(rejected, list) and len(chosen) == 2 == len(rejected)):
        return None
    if (
        chosen[0].get("role") != "user"
        or chosen[-1].get("role") != "assistant"
        or rejected[-1].get("role") != "assistant"
    ):
        return None
    prompt = _text(chosen[0].get("content"))
    return {
        "prompt": prompt,
        "chosen": _text(chosen[-1].get("content")),
        "rejected": _text(rejected[-1].get("content")),
    }


def binarize_ultrafeedback(rows: Sequence[dict], labeller: str, seed: int = 0) -> list[dict]:
    """UltraFeedback-schema rows -> pairs: best completion vs a random strictly worse one (ties dropped)."""
    rng = random.Random(seed)
    out = []
    for row in rows:
        comps = [c for c in row.get("completions") or [] if c.get("response")]
        scores = [uf_score(c, labeller) for c in comps]
        ok = [(c, s) for c, s in zip(comps, scores) if s is not None]
        if len(ok) < 2:
            continue
        top = max(s for _, s in ok)
        worse = [c for c, s in ok if s < top]
        if not worse:
            continue
        best = rng.choice([c for c, s in ok if s == top])
        out.append(
            {"prompt": row["instruction"], "chosen": best["response"], "rejected": rng.choice(worse)["response"]}
        )
    return out


def uf_score(completion: dict, labeller: str) -> float | None:
    if labeller == "overall":
        value = completion.get("overall_score")
        return float(value) if value not in (None, "N/A", "") else None
    ratings = []
    for aspect in UF_ASPECTS:
        rating = ((completion.get("annotations") or {}).get(aspect) or {}).get("Rating")
        if rating not in (None, "N/A", ""):
            ratings.append(float(rating))
    return sum(ratings) / len(ratings) if ratings else None


def load_pairs(source: str, split: str, labeller: str = "fine", limit: int | None = None, seed: int = 0) -> list[dict]:
    """Preference pairs ``{id, prompt, chosen, rejected, source}`` from a Tulu split or an UltraFeedback-schema file.

    For Tulu's UltraFeedback splits the labeller picks the split (``ultrafeedback_mean_aspects`` for ``fine``,
    ``ultrafeedback_overall`` for ``overall``); other splits have one labelling."""
    if labeller == "overall" and split.endswith("mean_aspects"):
        split = split.replace("mean_aspects", "overall")
    rows = _records(source, split, limit)
    if rows and "completions" in rows[0]:
        pairs = binarize_ultrafeedback(rows, labeller, seed)
    else:
        pairs = [p for p in (messages_to_pair(r) for r in rows) if p]
    if not pairs:
        raise ValueError(f"no single-turn preference pairs in {source} split {split!r}")
    return [
        {
            "id": stable_id(split, p["prompt"], p["chosen"], p["rejected"]),
            **p,
            "source": split,
            "category": "hub",
            "label_correct": None,
        }
        for p in pairs
    ]


def prompt_of(row: dict) -> str | None:
    """The last user turn of a prompt row (``instruction``, ``prompt``, ``messages``, ``conversation`` or ``chosen``)."""
    for key in ("instruction", "prompt"):
        if isinstance(row.get(key), str) and row[key].strip():
            return row[key]
    for key in ("messages", "conversation", "chosen"):
        msgs = row.get(key)
        if isinstance(msgs, list):
            users = [m for m in msgs if isinstance(m, dict) and m.get("role") == "user"]
            if users:
                return _text(users[-1].get("content"))
    return None


def load_prompts(spec: str, limit: int | None = None) -> list[str]:
    """Prompts from ``hub_id:split`` (e.g. ``allenai/tulu-2.5-prompts:ultrafeedback_prompts``), a local file or a
    ``builtin:`` set (rows with one of the prompt fields above)."""
    source, _, split = spec.partition(":") if not spec.startswith("builtin:") else (spec, "", "")
    rows = _records(source, split or "train", limit)
    prompts = [p for p in (prompt_of(r) for r in rows) if p]
    if not prompts:
        raise ValueError(f"no prompts in {spec}")
    return prompts
