"""InfoSumm's critics: which (document, summary) candidates the teacher is allowed to learn from.

Information-theoretic critics from one model's log-probabilities (``helpers.core.logprobs``, raw text), each
relative to a content-free baseline in the same template and divided by the tokens it is summed over:

    saliency      = [log p(doc | summary) - log p(doc | empty summary)] / doc tokens      nats per document token
    faithfulness  = [log p(summary | doc) - log p(summary | empty doc)] / summary tokens  nats per summary token

The baseline is the same template with the conditioning text left empty, so what the template itself adds ("this
is a summary of an article") cancels: a content-free summary scores about 0 and a summary of another document
below 0. Per-token scores put a long and a short document (or summary) on one scale, so one threshold in nats per
token serves every candidate; the sums stay in the records (``saliency_sum``, ``faithfulness_sum``).

plus brevity (a compression-ratio window), not-a-copy (ROUGE-L precision of the summary against the source
below a threshold) and, when an NLI model is configured, entailment both ways. Extractive fragments
(coverage, density; Grusky et al. 2018) are computed here too: they describe extractiveness.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

# Raw-text templates of the four log-probabilities. Each baseline term is its conditional template with the
# conditioning text left empty, so the two differ only by that text.
DOC_GIVEN_SUMMARY_PROMPT = "Summary: {summary}\n\nArticle:\n"
SUMMARY_GIVEN_DOC_PROMPT = "Article:\n{document}\n\nSummary:"
DOC_PROMPT = DOC_GIVEN_SUMMARY_PROMPT.format(summary="")  # log p(doc | empty summary)
SUMMARY_PROMPT = SUMMARY_GIVEN_DOC_PROMPT.format(document="")  # log p(summary | empty document)
PMI_VERSION = "baseline-relative-per-token-v2"  # part of the critic stage's cache key

CRITICS = ("saliency", "faithfulness", "brevity", "not_copy", "nli")
_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-cased word tokens (the unit of compression ratios, fragments and length buckets)."""
    return _WORD.findall((text or "").lower())


# --------------------------------------------------------------------------- extractive fragments
def extractive_fragments(article: str | Sequence[str], summary: str | Sequence[str]) -> list[list[str]]:
    """The greedy set of shared token sequences of Grusky et al. (2018): at each summary position take the
    longest run that also occurs in the article, then move past it (one token when there is none)."""
    a = words(article) if isinstance(article, str) else list(article)
    s = words(summary) if isinstance(summary, str) else list(summary)
    frags, i = [], 0
    while i < len(s):
        best = 0
        for j in range(len(a)):
            if a[j] != s[i]:
                continue
            k = 0
            while i + k < len(s) and j + k < len(a) and s[i + k] == a[j + k]:
                k += 1
            best = max(best, k)
        if best:
            frags.append(s[i : i + best])
        i += max(best, 1)
    return frags


def coverage_density(article: str, summary: str) -> dict[str, float]:
    """Extractive fragment coverage (share of summary words inside fragments), density (mean squared fragment
    length per summary word) and compression (article words per summary word); zeros for an empty summary."""
    a, s = words(article), words(summary)
    if not s:
        return {"coverage": 0.0, "density": 0.0, "compression": 0.0}
    frags = extractive_fragments(a, s)
    return {
        "coverage": sum(len(f) for f in frags) / len(s),
        "density": sum(len(f) ** 2 for f in frags) / len(s),
        "compression": len(a) / len(s),
    }


# --------------------------------------------------------------------------- ROUGE
_ROUGE = {}


def rouge_scorer(types: tuple[str, ...] = ("rouge1", "rouge2", "rougeL")):
    if types not in _ROUGE:
        from rouge_score import rouge_scorer as rs

        _ROUGE[types] = rs.RougeScorer(list(types), use_stemmer=True)
    return _ROUGE[types]


def rouge_l_precision(source: str, summary: str) -> float:
    """ROUGE-L precision of the summary against the source: the share of summary tokens on the longest common
    subsequence (1.0 for a verbatim copy of source text, however long the source)."""
    if not words(summary):
        return 0.0
    return float(rouge_scorer(("rougeL",)).score(source, summary)["rougeL"].precision)


# --------------------------------------------------------------------------- log-prob critics
def logprob_pairs(document: str, summary: str) -> list[tuple[str, str]]:
    """The (raw prompt, continuation) pairs of one candidate: p(doc|s), p(s|doc), p(s). (p(doc) is per document.)"""
    s = summary.strip()
    return [
        (DOC_GIVEN_SUMMARY_PROMPT.format(summary=s), document),
        (SUMMARY_GIVEN_DOC_PROMPT.format(document=document), " " + s),
        (SUMMARY_PROMPT, " " + s),
    ]


def pmi_scores(
    scorer, candidates: Sequence[dict], doc_logprob: dict[str, float] | None = None, desc: str = "critic log-probs"
) -> list[dict]:
    """Saliency and faithfulness of each ``{"doc_id", "document", "summary"}``: per token (``saliency``,
    ``faithfulness``, nats per document / summary token) and summed (``saliency_sum``, ``faithfulness_sum``), each
    relative to the empty-text baseline of its template (module docstring).

    ``doc_logprob`` caches the baseline log p(doc | empty summary) per document id (filled in place). One batched
    ``score`` call covers every term; an empty summary gets None for both critics."""
    doc_logprob = {} if doc_logprob is None else doc_logprob
    todo_docs = {c["doc_id"]: c["document"] for c in candidates if c["doc_id"] not in doc_logprob}
    pairs = [(DOC_PROMPT, d) for d in todo_docs.values()]
    live = [c for c in candidates if words(c["summary"])]
    for c in live:
        pairs.extend(logprob_pairs(c["document"], c["summary"]))
    scores = scorer.score(pairs, desc=desc) if pairs else []
    for k, doc_id in enumerate(todo_docs):
        doc_logprob[doc_id] = scores[k].sum
    out, pos = {}, len(todo_docs)
    for c in live:
        d_s, s_d, s = scores[pos : pos + 3]
        pos += 3
        sal, fai = d_s.sum - doc_logprob[c["doc_id"]], s_d.sum - s.sum
        out[id(c)] = {
            "lp_doc": doc_logprob[c["doc_id"]],
            "lp_doc_given_summary": d_s.sum,
            "lp_summary_given_doc": s_d.sum,
            "lp_summary": s.sum,
            "summary_tokens": s.n_tokens,
            "doc_tokens": d_s.n_tokens,
            "saliency_sum": sal,
            "faithfulness_sum": fai,
            "saliency": sal / max(1, d_s.n_tokens),
            "faithfulness": fai / max(1, s.n_tokens),
        }
    empty = {
        "lp_doc": None,
        "lp_doc_given_summary": None,
        "lp_summary_given_doc": None,
        "lp_summary": None,
        "summary_tokens": 0,
        "doc_tokens": None,
        "saliency_sum": None,
        "faithfulness_sum": None,
        "saliency": None,
        "faithfulness": None,
    }
    return [out.get(id(c), dict(empty)) for c in candidates]


# --------------------------------------------------------------------------- NLI
class NLICritic:
    """Entailment probability of a hypothesis given a premise from a sequence-classification NLI model."""

    def __init__(self, model: str, batch_size: int = 16, max_length: int = 512):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from ..core import rehearsal
        from ..core.hf import device_name
        from ..core.models import resolve_model

        path = resolve_model(model)
        self.name, self.batch_size, self.max_length = model, batch_size, max_length
        self.device = device_name()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForSequenceClassification.from_pretrained(path).to(self.device).eval()
        if self.model.config.pad_token_id is None:
            self.model.config.pad_token_id = self.tokenizer.pad_token_id
        labels = {int(i): str(n).lower() for i, n in self.model.config.id2label.items()}
        found = [i for i, n in labels.items() if n.startswith("entail")]
        if found:
            self.entail_index = found[0]
        elif rehearsal.active():  # a tiny stand-in has no label names: its first label plays entailment
            self.entail_index = 0
        else:
            raise ValueError(f"NLI model {model}: no 'entailment' label among {sorted(labels.values())}")
        self._torch = torch

    def entailment(self, premises: Sequence[str], hypotheses: Sequence[str]) -> list[float]:
        torch = self._torch
        out = []
        for start in range(0, len(premises), self.batch_size):
            enc = self.tokenizer(
                list(premises[start : start + self.batch_size]),
                list(hypotheses[start : start + self.batch_size]),
                truncation=True,
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            ).to(self.device)
            with torch.inference_mode():
                probs = self.model(**enc).logits.float().softmax(-1)
            out.extend(float(p) for p in probs[:, self.entail_index])
        return out


# --------------------------------------------------------------------------- thresholds and verdicts
@dataclass(frozen=True)
class Thresholds:
    saliency_min: float = 0.0  # nats per document token above the empty-summary baseline (strictly above)
    faithfulness_min: float = 0.0  # nats per summary token above the empty-document baseline (strictly above)
    ratio_min: float = 0.05  # summary words / document words, inclusive window
    ratio_max: float = 0.35
    copy_max: float = 0.75  # ROUGE-L precision against the source must stay at or below this
    nli_min: float = 0.75  # entailment probability, both ways (only when an NLI model is configured)

    def as_dict(self) -> dict:
        return asdict(self)


def surface_scores(document: str, summary: str) -> dict:
    """The critics that need no model: compression ratio, ROUGE-L precision against the source, fragments."""
    n_doc, n_sum = len(words(document)), len(words(summary))
    frag = coverage_density(document, summary)
    return {
        "summary_words": n_sum,
        "doc_words": n_doc,
        "ratio": n_sum / n_doc if n_doc else 0.0,
        "copy_rougeL_p": rouge_l_precision(document, summary),
        "coverage": frag["coverage"],
        "density": frag["density"],
    }


def verdicts(scores: dict, t: Thresholds, use_nli: bool) -> dict[str, bool | None]:
    """Pass/fail of each critic for one candidate's stored scores (None: the critic did not run)."""
    empty = scores["summary_words"] == 0
    v = {
        "saliency": (not empty) and scores["saliency"] is not None and scores["saliency"] > t.saliency_min,
        "faithfulness": (not empty)
        and scores["faithfulness"] is not None
        and scores["faithfulness"] > t.faithfulness_min,
        "brevity": (not empty) and t.ratio_min <= scores["ratio"] <= t.ratio_max,
        "not_copy": (not empty) and scores["copy_rougeL_p"] <= t.copy_max,
        "nli": None,
    }
    if use_nli:
        v["nli"] = (not empty) and min(
            scores.get("nli_doc_to_summary") or 0.0, scores.get("nli_summary_to_doc") or 0.0
        ) >= t.nli_min
    v["all"] = all(x for x in v.values() if x is not None)
    return v


def pass_rates(rows: Sequence[dict]) -> dict[str, dict]:
    """Per critic (and ``all``): passed, n and the rate, over rows that carry a ``verdicts`` dict."""
    from ..core.stats import wilson_interval

    out = {}
    for name in CRITICS + ("all",):
        vals = [r["verdicts"].get(name) for r in rows if r["verdicts"].get(name) is not None]
        k, n = sum(bool(x) for x in vals), len(vals)
        if n:
            lo, hi = wilson_interval(k, n)
            out[name] = {"passed": k, "n": n, "rate": k / n, "ci": [lo, hi]}
    return out
