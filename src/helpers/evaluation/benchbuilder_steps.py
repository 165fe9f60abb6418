"""The notebook's steps (03_benchbuilder): the precheck, prompts to label, the labeler stage, the check against
reference scores, topics and selection, the exported prompt set and metrics.json. One function per cell's work;
the pure pieces (prompt filters, parsers, clustering, selection, findings) live in ``benchbuilder``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from . import benchbuilder as bb


# --------------------------------------------------------------------------- precheck
def check_params(params: dict[str, Any]) -> None:
    """The runner's precheck hook (before the kernel starts): yes_no labels come from a local model's next-token
    log-probs, so an endpoint labeler needs labeler_mode list; a simulated world has no more topics than prompts
    (ValueError names the parameter)."""
    if params.get("labeler_mode") == "yes_no" and params.get("labeler_base_url"):
        raise ValueError(
            "parameter 'labeler_mode': yes_no needs next-token log-probs of a local model; clear "
            "labeler_base_url or use labeler_mode list"
        )
    if params.get("sim_repeats") and params.get("sim_topics", 0) > params.get("sim_prompts", 0):
        raise ValueError(
            f"parameter 'sim_topics': at most sim_prompts ({params.get('sim_prompts')}) topics, got "
            f"{params.get('sim_topics')}"
        )


# --------------------------------------------------------------------------- prompts and labels
def prompts_to_label(
    conversations: str, split: str, max_conversations: int, languages: Sequence[str], min_chars: int, max_labels: int
) -> tuple[list[dict], list[dict], dict[str, int]]:
    """(conversations read, prompts after the filters (the first ``max_labels``; 0: all), filter counts)."""
    from ..core.data import load_records

    records = load_records(conversations, split=split, limit=max_conversations or None, required=["conversation"])
    prompts, counts = bb.extract_prompts(records, languages=languages, min_chars=min_chars)
    return records, (prompts[:max_labels] if max_labels else prompts), counts


def labeler(
    labeler_mode: str, make_judge: Callable[[], Any], labeler_model: str, yes_no_threshold: float
) -> Callable[[list[dict]], list[dict]]:
    """The labels stage function. ``list`` (the paper): the labeler writes the criteria met, parsed; an endpoint
    error is no label (not stored, labelled again next run, counted apart from parse failures). ``yes_no``: one
    next-token Yes/No comparison per criterion on a local model; a criterion is met above ``yes_no_threshold``."""
    from ..core.store import RETRY

    if labeler_mode == "list":
        judge = make_judge()

        def label(batch):
            texts = judge.complete([bb.labeler_messages(p["prompt"]) for p in batch], desc="label")
            return [
                {
                    "id": p["id"],
                    "reply": t,
                    "criteria": None if f else bb.parse_criteria(t),
                    **({"endpoint_error": True, RETRY: True} if f else {}),
                }
                for p, t, f in zip(batch, texts, judge.last_failed)
            ]

        return label
    if labeler_mode == "yes_no":

        def label(batch):
            qs = [bb.criterion_messages(p["prompt"], k) for p in batch for k in range(1, 8)]
            m = bb.yes_no_margins(labeler_model, qs).reshape(len(batch), 7)
            return [
                {
                    "id": p["id"],
                    "reply": "margins " + " ".join(f"{x:+.2f}" for x in row),
                    "criteria": bb.criteria_from_margins(row, yes_no_threshold),
                }
                for p, row in zip(batch, m)
            ]

        return label
    raise ValueError(f"labeler_mode must be 'list' or 'yes_no', got {labeler_mode!r}")


def labelled_prompts(prompts: Sequence[dict], labels: Sequence[dict]):
    """(prompts with their labeler reply and quality score, joined by id; labeler endpoint errors; parse-failure
    rate). Prompts whose label is an endpoint error are left out now (labelled again next run)."""
    import pandas as pd

    errors = sum(bool(lab.get("endpoint_error")) for lab in labels)
    kept = {lab["id"] for lab in labels if not lab.get("endpoint_error")}
    by_id = {lab["id"]: lab for lab in labels}
    df = pd.DataFrame(
        [p for p in prompts if p["id"] in kept], columns=list(prompts[0]) if prompts else ["id", "prompt"]
    )
    df = df.assign(
        reply=[by_id[i]["reply"] for i in df["id"]], score=[bb.quality_score(by_id[i]["criteria"]) for i in df["id"]]
    )
    df["score"] = df["score"].astype(float)
    return df, errors, float(df.score.isna().mean())


def labeler_vs_reference(df, quality_ref: str):
    """(Spearman of the labeler's scores against the reference scores over the prompts both scored (NaN below 3),
    those prompts, their reference scores)."""
    from scipy.stats import spearmanr

    from ..core.data import load_records

    ref = {r["conversation_hash"]: r["ref_score"] for r in load_records(quality_ref)}
    both = df[df.score.notna() & df.conversation_hash.isin(ref)]
    rho = float(spearmanr(both.score, both.conversation_hash.map(ref)).statistic) if len(both) >= 3 else float("nan")
    return rho, both, both.conversation_hash.map(ref)


# --------------------------------------------------------------------------- topics and the prompt set
def topics(
    df,
    emb,
    cluster_method: str,
    n_clusters: int,
    min_cluster_size: int,
    min_score: float,
    min_cluster_mean: float,
    per_cluster: int,
    seed: int,
):
    """Cluster the prompts (``df`` gains ``cluster``), name each topic by its keywords, and select up to
    ``per_cluster`` prompts scoring ``min_score`` or more from topics whose mean reaches ``min_cluster_mean``.
    Returns (selected prompts, topic table with names, {cluster: keywords})."""
    df["cluster"] = bb.cluster_prompts(
        emb, cluster_method, n_clusters=n_clusters, min_cluster_size=min_cluster_size, seed=seed
    )
    names = bb.cluster_keywords(df.prompt.tolist(), df.cluster)
    selected, clusters = bb.select_prompts(
        df, min_score=min_score, min_cluster_mean=min_cluster_mean, per_cluster=per_cluster, seed=seed
    )
    clusters["topic"] = clusters.cluster.map(names)
    return selected, clusters, names


def write_bench(path, selected, names: dict[int, str]) -> list[dict]:
    """The curated prompts as JSONL at ``path`` (read by 04_arena_hard); returns the records."""
    from ..core.store import atomic_write_text

    bench = bb.benchmark_records(selected, names)
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in bench))
    return bench


HEADLINE = ["bench_prompts", "labeler_parse_failure_rate", "labeler_spearman_vs_reference", "topics_kept"]


def run_metrics(
    counts: dict[str, Any],
    df,
    clusters,
    labeler_spearman: float,
    n_reference: int,
    label_errors: int,
    health: dict[str, int],
) -> dict[str, Any]:
    """metrics.json: the run's ``counts`` (conversations, labeler_parse_failure_rate, bench_prompts, filter_counts),
    the labelled prompts and topics, the labeler check, the stores' health and the findings computed from them
    (``benchbuilder.findings``). The controlled setting's keys come from ``benchbuilder_sim.controlled_metrics``."""
    from ..core.store import fallback_lines

    m = {
        **counts,
        "prompts_after_filters": len(df),
        "mean_quality_score": float(df.score.mean()) if df.score.notna().any() else None,
        "labeler_spearman_vs_reference": labeler_spearman,
        "topics": int(df.cluster.nunique()),
        "topics_kept": int(clusters.cluster_kept.sum()),
        "headline": HEADLINE,
    }
    m.update(bb.findings(m, n_reference=n_reference))
    m.update(labeler_endpoint_errors=label_errors, **health)
    m["findings"] = list(m.get("findings", [])) + fallback_lines({"labeler endpoint errors": label_errors, **health})
    return m


def findings_report(m: dict[str, Any]) -> str:
    """The report's findings as Markdown: the real run's, then the controlled setting's (labelled as simulated;
    ``controlled_finding``, ``controlled_signal`` and ``controlled_findings`` where the metrics have them)."""
    from ..core.report import findings_markdown

    out = findings_markdown(m)
    if m.get("controlled_finding"):
        out += "\n\n#### Controlled setting (simulated labeler, known truth)\n\n" + findings_markdown(
            {
                "signal": m["controlled_signal"],
                "finding": m["controlled_finding"],
                "findings": m.get("controlled_findings", []),
            }
        )
    return out
