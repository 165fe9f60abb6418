"""Control attributes of a (document, summary) pair and the control codes the student is trained with.

    attrs = annotate(document, summary, buckets=(12, 24), density_split=2.0, keyword=kw)
    code = control_prefix({"length": "short", "focus": "rain", "extractive": "low"})   # "<length=short> <focus=rain> ..."

Length bucket from the summary's word count, a focus keyword (the summary word shared with the document that is
closest in MiniLM embedding space to the summary), extractiveness from fragment density (low / high).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .critics import coverage_density, words

LENGTHS = ("short", "medium", "long")
EXTRACTIVE = ("low", "high")
STOP = set(
    """a an the and or but if of to in on at by for with from as is are was were be been being it its this that
these those he she they them his her their we you i not no said says will would can could has have had do does did
than then there here also about after before over under into out up down more most some such other which who whom
what when where while very just new one two three year years last next week day time""".split()
)


def length_bucket(n_words: int, buckets: Sequence[int]) -> str:
    """short when n <= buckets[0], medium when n <= buckets[1], long above."""
    lo, hi = buckets
    return "short" if n_words <= lo else "medium" if n_words <= hi else "long"


def extractive_band(density: float, split: float) -> str:
    return "high" if density >= split else "low"


def candidate_keywords(document: str, summary: str | None = None, min_len: int = 4) -> list[str]:
    """Content words of the document (in order, unique); with a summary, only those the summary also uses."""
    keep = set(words(summary)) if summary is not None else None
    out = []
    for w in words(document):
        if len(w) >= min_len and w not in STOP and not w.isdigit() and w not in out and (keep is None or w in keep):
            out.append(w)
    return out


def pick_keywords(texts: Sequence[str], candidates: Sequence[list[str]], embedder: str) -> list[str | None]:
    """For each text, the candidate word whose MiniLM embedding is closest to the text's (None without candidates)."""
    from ..core.embeddings import embed

    vocab = sorted({w for cs in candidates for w in cs})
    if not vocab:
        return [None] * len(texts)
    index = {w: i for i, w in enumerate(vocab)}
    w_emb = embed(vocab, model=embedder)
    t_emb = embed(list(texts), model=embedder)
    out = []
    for t, cs in zip(t_emb, candidates):
        out.append(max(cs, key=lambda w: float(w_emb[index[w]] @ t)) if cs else None)
    return out


def annotate(document: str, summary: str, buckets: Sequence[int], density_split: float, keyword: str | None) -> dict:
    frag = coverage_density(document, summary)
    return {
        "length": length_bucket(len(words(summary)), buckets),
        "focus": keyword,
        "extractive": extractive_band(frag["density"], density_split),
        "coverage": frag["coverage"],
        "density": frag["density"],
        "summary_words": len(words(summary)),
    }


def control_prefix(codes: dict) -> str:
    """The control codes as the student reads them before the document (absent or None codes are left out)."""
    parts = [f"<{k}={codes[k]}>" for k in ("length", "focus", "extractive") if codes.get(k)]
    return " ".join(parts)


def drop_codes(codes: dict, p_drop: float, rng: random.Random) -> dict:
    """Each code kept with probability 1 - p_drop, so the student also summarises with fewer (or no) codes."""
    return {k: (v if rng.random() >= p_drop else None) for k, v in codes.items()}


def hit(request: dict, output: str, document: str, buckets: Sequence[int], density_split: float) -> dict:
    """Whether an output honours each requested attribute (None where the attribute was not requested)."""
    frag = coverage_density(document, output)
    out = {}
    if request.get("length"):
        out["length"] = length_bucket(len(words(output)), buckets) == request["length"]
    if request.get("focus"):
        out["focus"] = request["focus"] in set(words(output))
    if request.get("extractive"):
        out["extractive"] = extractive_band(frag["density"], density_split) == request["extractive"]
    return out


def student_prompt(document: str, codes: dict | None) -> str:
    """What the student reads: its control codes (if any) on the first line, then the document and "TL;DR:"."""
    from .data import summary_prompt

    prefix = control_prefix(codes or {})
    return (prefix + "\n" if prefix else "") + summary_prompt(document, "tldr")


def requests_for(document: str, keyword: str | None, attributes: Sequence[str]) -> list[dict]:
    """The control requests a controllability test makes for one document: each length bucket, the focus keyword
    (when the document has one) and each extractiveness band, one attribute at a time."""
    reqs = []
    if "length" in attributes:
        reqs += [{"length": b} for b in LENGTHS]
    if "focus" in attributes and keyword:
        reqs.append({"focus": keyword})
    if "extractive" in attributes:
        reqs += [{"extractive": b} for b in EXTRACTIVE]
    return reqs
