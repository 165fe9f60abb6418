"""BenchBuilder: curate hard, diverse prompts from crowd conversation logs (WildChat record format).

    prompts, counts = extract_prompts(load_records("builtin:wildchat_sample.jsonl"))
    msgs = [labeler_messages(p["prompt"]) for p in prompts]          # ask an LLM which criteria hold
    crit = parse_criteria(judge_text)                                  # -> [1, 4, 6] or None
    labels = cluster_prompts(embeddings, method="kmeans", n_clusters=8)
    chosen, clusters = select_prompts(df, min_score=6, min_cluster_mean=6, per_cluster=2)

Pipeline (BenchBuilder, Li et al. 2024): first user turn of each conversation, English, longer than
32 characters; an LLM marks which of 7 quality criteria a prompt meets (score = count, 0-7); prompt
embeddings are clustered into topics; keep prompts with score >= a threshold inside clusters whose
mean score >= a second threshold; sample a fixed number per cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.store import stable_id
from ..core.textparse import loads_safely

CRITERIA = (
    ("Specificity", "Does the prompt ask for a specific, well-defined output?"),
    ("Domain knowledge", "Does answering need knowledge of one or more specific domains?"),
    ("Complexity", "Does it involve several steps, components or variables to reason about?"),
    ("Problem-solving", "Does it require the assistant to actively work out a solution?"),
    ("Creativity", "Does a good answer need a creative or original approach?"),
    ("Technical accuracy", "Must the answer be technically precise to be useful?"),
    ("Real-world application", "Does it relate to a practical, real-world task?"),
)


class ConversationFormatError(ValueError):
    """A record is not in WildChat's format (no conversation list of role/content turns)."""


# --------------------------------------------------------------------------- prompts from logs
def first_user_turn(record: dict) -> str | None:
    """The first user message of a WildChat record (``conversation`` = list of {role, content, ...})."""
    conv = record.get("conversation")
    if not isinstance(conv, list):
        raise ConversationFormatError(
            f"record {record.get('conversation_hash', '?')} has no 'conversation' list (WildChat format: "
            f"conversation = [{{role, content, language, ...}}, ...])"
        )
    for turn in conv:
        if isinstance(turn, dict) and turn.get("role") == "user":
            content = turn.get("content")
            return content if isinstance(content, str) else None
    return None


def extract_prompts(
    records: Iterable[dict],
    languages: Sequence[str] = ("English",),
    min_chars: int = 32,
    drop_toxic: bool = True,
    dedupe: bool = True,
) -> tuple[list[dict], dict[str, int]]:
    """First-turn prompts that pass the language, length, toxicity and duplicate filters, plus counts.

    ``languages`` empty keeps every language. Counts say how many records each filter removed.
    """
    counts = {"records": 0, "no_user_turn": 0, "language": 0, "too_short": 0, "toxic": 0, "duplicate": 0, "kept": 0}
    seen: set[str] = set()
    out = []
    langs = {lang.lower() for lang in languages}
    for rec in records:
        counts["records"] += 1
        text = first_user_turn(rec)
        if not text or not text.strip():
            counts["no_user_turn"] += 1
            continue
        text = text.strip()
        lang = str(rec.get("language") or (rec["conversation"][0].get("language") if rec["conversation"] else "") or "")
        if langs and lang.lower() not in langs:
            counts["language"] += 1
            continue
        if len(text) <= min_chars:
            counts["too_short"] += 1
            continue
        if drop_toxic and bool(rec.get("toxic")):
            counts["toxic"] += 1
            continue
        norm = " ".join(text.lower().split())
        if dedupe and norm in seen:
            counts["duplicate"] += 1
            continue
        seen.add(norm)
        cid = str(rec.get("conversation_hash") or stable_id(text))
        out.append({"id": stable_id("bb", cid, text), "conversation_hash": cid, "prompt": text, "language": lang})
    counts["kept"] = len(out)
    return out, counts


# --------------------------------------------------------------------------- the 7-criteria labeler
def labeler_messages(prompt: str, max_chars: int = 2000) -> list[dict[str, str]]:
    """Chat messages asking a judge which of the 7 criteria a user prompt meets (answer: a JSON list)."""
    listing = "\n".join(f"{i}. {name}: {desc}" for i, (name, desc) in enumerate(CRITERIA, 1))
    system = (
        "You rate user prompts for a benchmark of hard questions. Criteria:\n"
        + listing
        + "\nReply with only the numbers of the criteria the prompt meets, as a JSON list such as "
        "[1, 3, 6], or [] if it meets none."
    )
    text = prompt if len(prompt) <= max_chars else prompt[:max_chars] + " [truncated]"
    return [{"role": "system", "content": system}, {"role": "user", "content": f"Prompt:\n{text}\n\nCriteria met:"}]


_LIST_RE = re.compile(r"\[([^\[\]]*)\]")


def parse_criteria(text: str | None) -> list[int] | None:
    """The criteria numbers (1-7) from the judge's reply: the first ``[...]`` list of integers; None if none.

    A list with integers outside 1-7 counts as a parse failure (None), not as a score.
    """
    if not text:
        return None
    for m in _LIST_RE.finditer(text):
        inner = m.group(1).strip()
        if not inner:
            return []
        values = loads_safely(f"[{inner}]")
        if not isinstance(values, list):
            continue
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            continue  # not a list of numbers (e.g. quoted words): look further
        return sorted(set(values)) if all(1 <= v <= 7 for v in values) else None
    return None


def quality_score(criteria: list[int] | None) -> int | None:
    """Number of criteria met (0-7), None where the judge's reply could not be parsed."""
    return None if criteria is None else len(criteria)


# --------------------------------------------------------------------------- topics
def embed_texts(texts: Sequence[str], model_path: str, batch_size: int = 32) -> np.ndarray:
    """Unit-norm sentence embeddings (CPU) from a sentence-transformers folder."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path, device="cpu")
    return np.asarray(
        model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    )


def cluster_prompts(
    embeddings: np.ndarray, method: str = "kmeans", n_clusters: int = 8, min_cluster_size: int = 8, seed: int = 0
) -> np.ndarray:
    """Topic label per prompt. ``kmeans`` (fixed count) or ``hdbscan`` (density, -1 = outlier; BERTopic's
    clusterer, here without the UMAP step). The cluster count is capped at the number of prompts."""
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int)
    if method == "kmeans":
        from sklearn.cluster import KMeans

        k = max(1, min(n_clusters, n))
        return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(embeddings)
    if method == "hdbscan":
        from sklearn.cluster import HDBSCAN

        if n < max(2, min_cluster_size):
            return np.full(n, -1)
        return HDBSCAN(min_cluster_size=min_cluster_size, metric="euclidean", copy=True).fit_predict(embeddings)
    raise ValueError(f"unknown clustering method {method!r}: use 'kmeans' or 'hdbscan'")


def cluster_keywords(texts: Sequence[str], labels: Sequence[int], top: int = 4) -> dict[int, str]:
    """A short name per cluster: its top class-TF-IDF words (all of a cluster's prompts as one document)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    labels = np.asarray(labels)
    clusters = sorted(set(labels.tolist()))
    docs = [" ".join(t for t, lab in zip(texts, labels) if lab == c) for c in clusters]
    try:
        vec = TfidfVectorizer(stop_words="english", max_features=5000, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z+#]+\b")
        m = vec.fit_transform(docs)
    except ValueError:  # no words at all
        return {c: f"cluster {c}" for c in clusters}
    vocab = np.array(vec.get_feature_names_out())
    names = {}
    for row, c in enumerate(clusters):
        weights = m[row].toarray().ravel()
        best = [
            vocab[i] for i in np.argsort(-weights, kind="stable")[:top] if weights[i] > 0
        ]  # equal weights: alphabetical
        names[c] = ("outliers: " if c == -1 else "") + (", ".join(best) or f"cluster {c}")
    return names


# --------------------------------------------------------------------------- selection
def select_prompts(
    df: pd.DataFrame,
    min_score: float,
    min_cluster_mean: float,
    per_cluster: int,
    seed: int = 0,
    drop_outliers: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """BenchBuilder's two thresholds and per-cluster sampling.

    ``df`` needs columns ``cluster`` and ``score`` (NaN = unlabeled; excluded from means and never
    selected). Returns (selected prompts, per-cluster table with size, labeled, mean_score, kept flag
    and how many were sampled). Clusters are visited in a fixed order; sampling is seeded.
    """
    rng = np.random.default_rng(seed)
    rows, picked = [], []
    for cluster, group in df.groupby("cluster", sort=True):
        labeled = group[group["score"].notna()]
        mean = float(labeled["score"].mean()) if len(labeled) else float("nan")
        eligible = labeled[labeled["score"] >= min_score]
        keep = len(labeled) > 0 and mean >= min_cluster_mean and not (drop_outliers and cluster == -1)
        take = min(per_cluster, len(eligible)) if keep else 0
        if take:
            idx = rng.choice(len(eligible), size=take, replace=False)
            picked.append(eligible.iloc[np.sort(idx)])
        rows.append(
            {
                "cluster": cluster,
                "size": len(group),
                "labeled": len(labeled),
                "mean_score": mean,
                "eligible": len(eligible),
                "cluster_kept": keep,
                "sampled": take,
            }
        )
    selected = pd.concat(picked, ignore_index=True) if picked else df.iloc[0:0].copy()
    return selected, pd.DataFrame(rows)


def benchmark_records(
    selected: pd.DataFrame, names: dict[int, str], category: str = "benchbuilder"
) -> list[dict[str, Any]]:
    """The curated prompt set in the shape ``arena.load_arena_prompts`` reads (id, prompt, category, cluster)."""
    return [
        {
            "id": r["id"],
            "prompt": r["prompt"],
            "category": category,
            "cluster": names.get(int(r["cluster"]), ""),
            "cluster_id": int(r["cluster"]),
            "score": None if pd.isna(r["score"]) else int(r["score"]),
            "conversation_hash": r.get("conversation_hash", ""),
        }
        for _, r in selected.iterrows()
    ]


# --------------------------------------------------------------------------- yes/no labeler (small local models)
def criterion_messages(prompt: str, k: int, max_chars: int = 1500) -> list[dict[str, str]]:
    """One yes/no question: does the user prompt meet criterion ``k`` (1-7)?"""
    name, desc = CRITERIA[k - 1]
    text = prompt if len(prompt) <= max_chars else prompt[:max_chars] + " [truncated]"
    return [{"role": "user", "content": f'Here is a user prompt:\n"""{text}"""\n\n{name}: {desc} Answer Yes or No.'}]


def yes_no_margins(model: str, prompts: Sequence, batch_size: int = 16, desc: str = "yes/no") -> np.ndarray:
    """log p(Yes) - log p(No) for the first reply token of each prompt, under a local chat model.

    A labeler for models too small to write a parseable list: each criterion becomes one next-token
    comparison, so there are no parse failures (the decision is the model's own preference).
    """
    import torch
    from tqdm.auto import tqdm

    from ..core import hf
    from ..core.models import resolve_model

    path = resolve_model(model)
    tok = hf.load_tokenizer(path)
    lm = hf.load_causal_lm(path)
    yes = tok("Yes", add_special_tokens=False).input_ids[0]
    no = tok("No", add_special_tokens=False).input_ids[0]
    ids = [hf.encode(tok, hf.render(tok, p)) for p in prompts]
    out = np.zeros(len(ids))
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    pad = tok.pad_token_id or 0
    for start in tqdm(range(0, len(order), batch_size), desc=desc, leave=False):
        idx = order[start : start + batch_size]
        width = max(len(ids[i]) for i in idx)
        x = torch.full((len(idx), width), pad, dtype=torch.long)
        mask = torch.zeros_like(x)
        for r, i in enumerate(idx):  # left padding: the last position is every row's next token
            x[r, width - len(ids[i]) :] = torch.tensor(ids[i])
            mask[r, width - len(ids[i]) :] = 1
        pos = (mask.cumsum(1) - 1).clamp(min=0)
        with torch.inference_mode():
            logits = (
                lm(input_ids=x.to(lm.device), attention_mask=mask.to(lm.device), position_ids=pos.to(lm.device))
                .logits[:, -1]
                .float()
            )
        logp = torch.log_softmax(logits, dim=-1)
        out[idx] = (logp[:, yes] - logp[:, no]).cpu().numpy()
    return out


def criteria_from_margins(margins: Sequence[float], threshold: float = 0.0) -> list[int]:
    """Criteria (1-7) whose yes-minus-no margin exceeds ``threshold``."""
    if len(margins) != len(CRITERIA):
        raise ValueError(f"need one margin per criterion ({len(CRITERIA)}), got {len(margins)}")
    return [k for k, m in enumerate(margins, 1) if m > threshold]


def findings(m: dict[str, Any], *, n_reference: int = 0) -> dict[str, Any]:
    """Finding, signal and detail sentences computed from the run's metrics (no fixed prose)."""
    from ..core.stats import correlation_pvalue, pct

    rho = m.get("labeler_spearman_vs_reference")
    p = correlation_pvalue(rho, n_reference)
    counts = m.get("filter_counts") or {}
    details = [
        f"{m.get('conversations', 0)} conversations -> {m.get('prompts_after_filters', 0)} prompts after the "
        f"filters" + (f" ({', '.join(f'{k}: {v}' for k, v in counts.items())})" if counts else "") + ".",
        f"Labeler parse failures {pct(m.get('labeler_parse_failure_rate'))}; mean quality score "
        f"{m.get('mean_quality_score') if m.get('mean_quality_score') is None else round(m['mean_quality_score'], 2)}.",
        f"{m.get('topics_kept', 0)} of {m.get('topics', 0)} topics passed the cluster threshold; "
        f"{m.get('bench_prompts', 0)} prompts selected.",
    ]
    if rho is None or rho != rho:
        signal = "labeler not checked"
    elif p is not None and p < 0.05 and rho > 0:
        signal = "labeler agrees with the reference"
    else:
        signal = "labeler carries no measurable signal"
    if rho is not None and rho == rho:
        details.append(
            f"Labeler vs reference scores: Spearman {rho:.2f} over {n_reference} prompts"
            + (f" (p = {p:.2g})." if p is not None else ".")
        )
    finding = f"{m.get('bench_prompts', 0)} prompts selected from {m.get('topics_kept', 0)} topics; " + (
        f"labeler Spearman vs reference {rho:.2f}: {signal}." if rho is not None and rho == rho else f"{signal}."
    )
    return {"finding": finding, "signal": signal, "findings": details}
