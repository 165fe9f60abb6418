"""From a sampled continuation to symbol candidates: first sentence, items (rule-based or an LLM), marked
phrases, 1-4-grams; and the markers that make a generation *marked*.

    s = first_sentence(" sushi and miso soup. Then he sleeps.")   # 'sushi and miso soup'
    rule_items(s)                                                   # ['sushi', 'miso soup']
    markers("traditional Japanese food (washoku)", culture("Japanese"))
    # {'vocabulary': True, 'name': True, 'parenthesis': True}
    mentions_ai("As an AI, I cannot know")                          # True: the paper skips it in markedness
    candidate_ngrams("miso soup", generic_words=("food",))         # ['miso', 'soup', 'miso soup']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ..core.textparse import first_json_object
from .data import Culture

# Markedness (the paper's eval_markedness): "traditional" or "typical" as case-sensitive substrings, the culture's
# nationality or country name as case-insensitive substrings (a vocabulary marker), "(" (a parenthesis marker).
PAPER_VOCAB = ("traditional", "typical")
# The "word" variant (ours): whole words, vocabulary in any case, names case-sensitive with their aliases.
VOCAB_RE = re.compile(r"\b(traditional(?:ly)?|typical(?:ly)?)\b", re.IGNORECASE)
# Marked phrases dropped from the symbol candidates (the paper adds "classic" here; "classical" is a genre)
PHRASE_VOCAB_RE = re.compile(r"\b(traditional(?:ly)?|typical(?:ly)?|classic)\b", re.IGNORECASE)
MARKER_RULES = ("paper", "word")
ABBREVIATIONS = {"st", "mr", "mrs", "ms", "dr", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "mt", "ft"}
_END_RE = re.compile(r"[.!?](?=\s|$|[\"')\]])|\n")
_SPLIT_RE = re.compile(r"\s*(?:;|,|/|&|\band\b|\bor\b|\bwith\b|\bplus\b)\s*", re.IGNORECASE)
# a new clause ends the span: ", so I'd suggest ...", " because ...", " which ..."
_CLAUSE_RE = re.compile(
    r"\s*(?:[,:]\s*(?:so|but|because|since|which|who|that|as|when|while|if|then|although)\b|"
    r"\b(?:because|since|which|who|that|when|while|although|but|so that)\b|\s[-\u2013\u2014]\s|[:(])",
    re.IGNORECASE,
)
_LEAD_RE = re.compile(
    r"^(?:(?:a|an|the|some|his|her|their|my|its|our|your|this|these|those|lots|lot|bit|piece|pieces|"
    r"plate|bowl|cup|glass|pair|kind|kinds|type|types|sort|variety|bunch|little|all|of|many|several|"
    r"various|different|any|one|two|favorite|favourite|usual|good|nice)\s+)+",
    re.IGNORECASE,
)
MAX_ITEM_WORDS = 6


def first_sentence(text: str) -> str:
    """``text`` up to its first sentence end (., !, ? or a line break), without the end mark; 'St.' does not end one."""
    text = text or ""
    for m in _END_RE.finditer(text):
        if m.group() == ".":
            word = re.findall(r"([\w.]+)$", text[: m.start()])
            if word and word[0].lower().rstrip(".") in ABBREVIATIONS:
                continue
        return text[: m.start()].strip()
    return text.strip()


def _name_re(names: Iterable[str]) -> re.Pattern | None:
    names = sorted({n for n in names if n}, key=lambda n: (-len(n), n))  # longest first; a fixed order, not the set's
    if not names:
        return None
    return re.compile(r"(?<![\w])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w])")


def mentions_ai(text: str) -> bool:
    """The paper skips a generation that contains "AI" (case-sensitive, anywhere) as uncooperative."""
    return "AI" in (text or "")


def markers(text: str, culture: Culture | None, rule: str = "paper") -> dict[str, bool]:
    """Which markers ``text`` carries: a vocabulary word, the culture's (or its country's) name, a parenthesis.

    ``rule`` "paper": "traditional" / "typical" case-sensitive substrings, the nationality or country as
    case-insensitive substrings, any "(". ``rule`` "word" (ours): whole words, the vocabulary in any case, names
    case-sensitive with their aliases ('Danish' for 'Dane'; 'Turkey' the country, not 'turkey' the dish; 'Pole'
    not inside 'polenta'). Without a culture (the baseline) only vocabulary words and parentheses count.
    """
    text = text or ""
    if rule == "paper":
        names = [culture.nationality.lower(), culture.country.lower()] if culture else []
        return {
            "vocabulary": any(w in text for w in PAPER_VOCAB),
            "name": any(n in text.lower() for n in names),
            "parenthesis": "(" in text,
        }
    if rule != "word":
        raise ValueError(f"marker_rule must be one of {', '.join(MARKER_RULES)}, not {rule!r}")
    name_re = _name_re(culture.names) if culture else None
    return {
        "vocabulary": bool(VOCAB_RE.search(text)),
        "name": bool(name_re and name_re.search(text)),
        "parenthesis": bool(re.search(r"\([^)]*\)?", text)),
    }


def is_marked(phrase: str, culture: Culture | None) -> bool:
    """A marked phrase (dropped from the symbol candidates): "traditional", "typical", "classic" or the culture's name."""
    name_re = _name_re(culture.names) if culture else None
    return bool(PHRASE_VOCAB_RE.search(phrase or "") or (name_re and name_re.search(phrase or "")))


def _plain_quotes(text: str) -> str:
    return text.translate(str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}))


def clean_phrase(phrase: str) -> str:
    """Lower case, letters / digits / inner hyphens and apostrophes only, single spaces."""
    chars = [ch if ch.isalnum() or ch in "-' " else " " for ch in _plain_quotes(phrase or "").lower()]
    words = [w.strip("-'") for w in "".join(chars).split()]
    return " ".join(w for w in words if w)


def rule_items(sentence: str) -> list[str]:
    """The rule-based extractor for small models: the span after the topic sentence, split into items.

    The continuation already starts right after the topic suffix ('... likes to eat'), so its first sentence
    is the span, up to a new clause (', so ...', ' because ...', a parenthesis); it is split on separators
    (',', ';', 'and', 'or', 'with'), leading determiners and quantities are dropped ('a bowl of rice' -> 'rice')
    and each item keeps its first few words.
    """
    items = []
    span = _CLAUSE_RE.split(_plain_quotes(sentence or ""), maxsplit=1)[0]
    for part in _SPLIT_RE.split(span):
        part = _LEAD_RE.sub("", part.strip(" \"'`*-:()[]")).strip()
        words = part.split()
        if words:
            items.append(" ".join(words[:MAX_ITEM_WORDS]))
    return items


def parse_llm_items(text: str | None) -> list[str] | None:
    """The items of an extractor reply ``{"items": [...]}``; [] for none; None when the reply cannot be read.

    A reply cut short after its last item (a local model stopping at max tokens) is closed and read again.
    """
    obj = first_json_object(text)
    if obj is None and text and text.lstrip().startswith("{"):
        head = text.strip().split("\n")[0]
        for tail in ('"]}', "]}", "}"):
            obj = first_json_object(head + tail)
            if obj is not None:
                break
    if not isinstance(obj, dict):
        return None
    items = obj.get("items")
    if items is None or isinstance(items, str) and items.strip().lower() in ("none", ""):
        return [] if "items" in obj else None
    if isinstance(items, str):
        items = [s for s in items.split(";")]
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        return None
    return [s.strip() for s in items if s.strip() and s.strip().lower() != "none"]


def _stopwords() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | {"probably", "likes", "like", "usually", "often"}


def candidate_ngrams(phrase: str, n_max: int = 4, generic_words: Sequence[str] = ()) -> list[str]:
    """1..n_max-grams of a cleaned phrase; none starts or ends with a stop word or is made only of generic topic words."""
    stop = _stopwords()
    generic = {w.lower() for w in generic_words}
    words = clean_phrase(phrase).split()
    out = []
    for n in range(1, n_max + 1):
        for i in range(len(words) - n + 1):
            gram = words[i : i + n]
            if gram[0] in stop or gram[-1] in stop or all(w in generic or w in stop for w in gram):
                continue
            if any(ch.isalpha() for ch in "".join(gram)):
                out.append(" ".join(gram))
    return list(dict.fromkeys(out))


def item_agreement(a: Sequence[str] | None, b: Sequence[str] | None) -> dict[str, float | bool | None]:
    """How two extractions of one sentence agree: exact (same set of cleaned items) and token F1; None if one failed."""
    if a is None or b is None:
        return {"exact": None, "token_f1": None}
    sa, sb = {clean_phrase(x) for x in a} - {""}, {clean_phrase(x) for x in b} - {""}
    ta, tb = {w for x in sa for w in x.split()}, {w for x in sb for w in x.split()}
    if not ta and not tb:
        return {"exact": True, "token_f1": 1.0}
    common = len(ta & tb)
    f1 = 2 * common / (len(ta) + len(tb)) if (ta or tb) else 1.0
    return {"exact": sa == sb, "token_f1": f1}


def extract_rows(
    rows: Sequence[dict],
    cultures_by_name: dict[str, Culture],
    topics_by_key: dict,
    llm_items: dict[str, list[str] | None] | None = None,
    use: str = "rule",
    marker_rule: str = "paper",
) -> list[dict]:
    """Per sampled continuation: its first sentence, markers (``marker_rule``), whether it mentions "AI", items
    (rule / LLM), kept and marked phrases, n-grams.

    ``use`` picks which extraction feeds the candidates ("rule" or "llm"); a failed LLM extraction gives no items.
    ``marker_vocabulary`` / ``marker_parenthesis`` are the paper's two marker types (the first includes the name).
    """
    llm_items = llm_items or {}
    out = []
    for r in rows:
        c = cultures_by_name.get(r["nationality"])
        t = topics_by_key[r["topic"]]
        sent = first_sentence(r["text"])
        rule = rule_items(sent)
        llm = llm_items.get(r["gen_id"], "missing")
        items = rule if use == "rule" else ([] if llm in (None, "missing") else llm)
        kept = [p for p in items if not is_marked(p, c)]
        mk = markers(sent, c, marker_rule)
        flags = {
            "marker_vocabulary": mk["vocabulary"] or mk["name"],
            "marker_name": mk["name"],
            "marker_parenthesis": mk["parenthesis"],
        }
        out.append(
            {
                **r,
                "sentence": sent,
                **flags,
                "marked": any(mk.values()),
                "mentions_ai": mentions_ai(r["text"]),
                "rule_items": rule,
                "llm_items": None if llm == "missing" else llm,
                "llm_failed": llm is None,
                "phrases": [clean_phrase(p) for p in kept if clean_phrase(p)],
                "marked_phrases": [p for p in items if is_marked(p, c)],
                "ngrams": [candidate_ngrams(p, generic_words=t.generic_words) for p in kept],
            }
        )
    return out


def llm_extract_stage(
    run, rows: Sequence[dict], judge, topics_by_key: dict, desc: str = "LLM extraction", store=None
) -> dict:
    """Ask ``judge`` (helpers.core.judge.Judge, local or endpoint) for the items of each row's first sentence (resumable).

    Returns {gen_id: items, or None when the reply could not be parsed}; local judges get the JSON opening
    as a prefill. Unparseable replies are kept (as None) so that failures are counted, not retried forever;
    a failed endpoint call is not stored (``RETRY``) and is asked again by the next run (its items are None
    now, and ``judge.errors`` counts it). ``store``: a keyed store from the notebook's stage graph, which
    must come after the generations (a changed generation keeps its gen_id).
    """
    from ..core.store import RETRY, run_stage, stable_id
    from .prompts import EXTRACTOR_PREFILL, extractor_messages

    prefill = "" if judge.base_url else EXTRACTOR_PREFILL
    if store is None:
        store = run.store(
            "extract-llm-" + stable_id(judge.name, judge.max_tokens, prefill, "v1", length=10), key="gen_id"
        )

    def process(batch):
        msgs = [extractor_messages(topics_by_key[r["topic"]], r["gender"], first_sentence(r["text"])) for r in batch]
        replies = judge.complete(msgs, desc=desc, prefill=prefill)
        failed = list(getattr(judge, "last_failed", None) or [False] * len(replies))
        return [
            {"gen_id": r["gen_id"], "reply": t, "items": parse_llm_items(t), **({RETRY: True} if f else {})}
            for r, t, f in zip(batch, replies, failed)
        ]

    recs = run_stage(store, [{"gen_id": r["gen_id"], **r} for r in rows], process, batch_size=256, desc=desc)
    return {r["gen_id"]: r["items"] for r in recs}


def agreement_sample(rows: Sequence[dict], n: int, seed: int = 0) -> list[dict]:
    """``n`` culture-conditioned rows (e.g. hand-labelled ones), drawn with ``seed``, for the extractor check (all
    when n >= rows)."""
    import random

    pool = [r for r in rows if r["nationality"]]
    return pool if n >= len(pool) else random.Random(seed).sample(pool, n)
