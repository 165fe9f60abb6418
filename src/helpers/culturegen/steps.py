"""The notebook's steps (07_culturegen) that are more than a call: set-up, symbol extraction (rules and the LLM
extractor), scoring and symbol choice, the CulturalBench-style test and metrics.json. One function per cell's
work; the stages, analyses and figures live in ``generate``, ``extract``, ``score``, ``analyses`` and ``plots``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from . import data as cgd
from . import extract as cge


def setup_line(
    chosen: Sequence, chosen_topics: Sequence, genders: Sequence, n_items: int, n_samples: int, executor: Any
) -> str:
    """The plan and the machine: prompts and samples, torch threads, load, where the stages run."""
    import torch

    return (
        f"{len(chosen)} cultures x {len(chosen_topics)} topics x {len(genders)} gender form(s) + the culture-agnostic "
        f"baseline = {n_items} prompts x {n_samples} samples; torch threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f}; generation and scoring run {executor}"
    )


# --------------------------------------------------------------------------- extraction
def extract_symbols(
    run: Any,
    rows: Sequence[dict],
    stages: Any,
    executor: Any,
    *,
    extractor: str,
    n_agreement: int,
    seed: int,
    backend: str,
    extractor_model: str,
    extractor_base_url: str,
    extractor_timeout: float,
    extractor_max_tokens: int,
    marker_rule: str = "paper",
    agreement_set: str = cgd.GOLD_SOURCE,
) -> tuple[list[dict], dict, Any, list[str]]:
    """Rule extraction for every continuation; the LLM extractor on every culture-conditioned one (``extractor``
    llm) and on ``n_agreement`` hand-labelled generations of ``agreement_set`` (drawn with ``seed``), where both
    extractors are checked against the truth. Returns (extracted rows, agreement with the truth, the extractor's
    Judge or None, the lines the notebook prints)."""
    from ..core.generation import shutdown_engines
    from ..core.judge import Judge
    from .analyses import extractor_agreement

    cultures_by_name = {c.nationality: c for c in cgd.all_cultures()}
    topics_by_key = {t.key: t for t in cgd.all_topics()}
    gold = cgd.extraction_gold(agreement_set)
    gold_llm = cge.agreement_sample(gold, n_agreement, seed) if n_agreement else []
    llm_rows = ([r for r in rows if r["nationality"]] if extractor == "llm" else []) + gold_llm
    llm_items, judge = {}, None
    if llm_rows:
        judge = Judge(
            extractor_model,
            base_url=extractor_base_url,
            timeout=extractor_timeout,
            backend=backend,
            cache_dir=run.path("judge_cache"),
            max_tokens=extractor_max_tokens,
            on_error="empty",
            batch_size=256,
            executor=executor,
        )  # executor ray: the extractor's calls go to long-lived Ray replicas
        llm_items = cge.llm_extract_stage(
            run,
            llm_rows,
            judge,
            topics_by_key,
            store=stages.store("extract_llm", key="gen_id", judge=judge.name, temperature=judge.temperature),
        )
        shutdown_engines()  # a vLLM extractor gives its GPU memory back to the log-prob scorer
    ext = cge.extract_rows(rows, cultures_by_name, topics_by_key, llm_items, use=extractor, marker_rule=marker_rule)
    agreement = extractor_agreement(gold, {g["gen_id"]: llm_items.get(g["gen_id"]) for g in gold_llm})
    n_marked = sum(len(r["marked_phrases"]) for r in ext)
    n_phrases = sum(len(r["phrases"]) for r in ext)

    def r2(x):
        return x if x is None else round(x, 2)

    lines = [
        f"extractor: {extractor}; {n_phrases} phrases kept, {n_marked} marked phrases dropped",
        f"against the truth of {agreement['n']} hand-labelled generations: rules exactly right "
        f"{r2(agreement['rule_exact'])} (token F1 {r2(agreement['rule_token_f1'])}); LLM "
        f"({judge.name if judge else 'not run'}) on {agreement['llm_n']}: {r2(agreement['llm_exact'])} (token F1 "
        f"{r2(agreement['llm_token_f1'])}, {agreement['parse_failures']} unparseable replies)",
    ]
    return ext, agreement, judge, lines


EXTRACTED_COLUMNS = [
    "gen_id",
    "nationality",
    "topic",
    "gender",
    "text",
    "sentence",
    "marked",
    "rule_items",
    "llm_items",
    "phrases",
    "marked_phrases",
]


def extraction_examples(agreement: dict, n: int = 12):
    """Hand-labelled generations: the truth, the rules' and the LLM's items side by side (those the LLM read first)."""
    shown = ["id", "sentence", "truth", "rule_items", "rule_exact", "llm_items", "llm_exact"]
    rows = sorted(agreement["rows"], key=lambda r: (not r["llm_read"], r["id"]))
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else shown)[shown].head(n)


# --------------------------------------------------------------------------- scoring
def score_symbols(
    run: Any,
    scorer: Any,
    ext: Sequence[dict],
    chosen: Sequence,
    stages: Any,
    executor: Any,
    *,
    model: str,
    validity_pairs: str,
    n_ngrams_per_topic: int,
    score_batch_size: int,
    score_measure: str,
    calibrate: bool,
) -> dict[str, Any]:
    """Score every candidate n-gram and the known validity pairs under every chosen culture (a keyed stage; on Ray
    replicas with executor ray), then choose each phrase's symbol. Returns pairs, pairs_left_out, scores, speed,
    assoc, symbols, the symbols table, n_symbols (unique culture-topic-symbol triples) and the lines to print."""
    import pandas as pd

    from . import score as cgs

    pairs, left_out = cgs.validity_items(cgd.symbol_pairs(validity_pairs), chosen)
    to_score = cgs.plan_scoring(ext, pairs, n_ngrams_per_topic)
    work = scorer if executor.kind == "local" else cgs.score_spec(model, chosen, batch_size=score_batch_size)
    scores, speed = cgs.score_stage(
        run,
        work,
        to_score,
        chosen,
        model,
        batch_size=score_batch_size,
        store=stages.store(
            "scores",
            cultures=[c.nationality for c in chosen],
            start=cgs.start_text(scorer.tokenizer),
            truncation=[scorer.max_prompt_tokens, scorer.max_response_tokens],
            end_of_turn=scorer.end_of_turn,
        ),
        executor=executor,
    )
    assoc = cgs.Associations(scores, chosen, score_measure, calibrate)
    symbols = cgs.choose_symbols(ext, assoc)
    sym_df = pd.DataFrame(symbols, columns=cgs.SYMBOL_COLUMNS)
    n_symbols = int((sym_df.drop_duplicates(["nationality", "topic", "candidate"]).symbol == True).sum())  # noqa: E712
    rate = speed["sentences_per_s"]
    lines = [
        f"{len(to_score)} n-grams x {len(chosen)} cultures scored"
        + (
            f": {speed['sentences']} sentences in {speed['seconds']:.0f} s ({rate:.1f} sentences/s)"
            if rate
            else " (resumed)"
        ),
        f"{len(sym_df)} kept phrases, {int(sym_df.candidate.notna().sum())} with a scored n-gram; "
        f"{n_symbols} unique (culture, topic, symbol) triples",
    ]
    return {
        "pairs": pairs,
        "pairs_left_out": left_out,
        "scores": scores,
        "speed": speed,
        "assoc": assoc,
        "symbols": symbols,
        "sym_df": sym_df,
        "n_symbols": n_symbols,
        "lines": lines,
    }


def top_symbols(sym_df, n: int = 12):
    """The most culture-specific symbols (p_culture, then culture and candidate)."""
    return (
        sym_df[sym_df.symbol == True]  # noqa: E712 (a column of objects: True, False or None)
        .sort_values(["p_culture", "nationality", "candidate"], ascending=[False, True, True])
        .head(n)
    )


# --------------------------------------------------------------------------- frequency
def frequency(chosen: Sequence, frequency_measure: str, frequency_counts_file: str, assoc: Any) -> tuple[dict, str]:
    """({nationality: frequency}, source): the paper's RedPajama document counts (or another counts file) with
    ``frequency_measure`` documents, the model-prior proxy with model_prior."""
    from .analyses import culture_frequency

    if frequency_measure == "documents":
        return culture_frequency(chosen, counts=cgd.frequency_counts(frequency_counts_file or cgd.COUNTS_SOURCE))
    if frequency_measure == "model_prior":
        return culture_frequency(chosen, prior=assoc.prior())
    raise ValueError(f"frequency_measure must be documents or model_prior, not {frequency_measure!r}")


# --------------------------------------------------------------------------- CulturalBench
def culturalbench(
    run: Any,
    stages: Any,
    scorer: Any,
    *,
    model: str,
    cb_data: str,
    n_cb_questions: int,
    cb_model: str,
    cb_base_url: str,
    cb_timeout: float,
    cb_local_scoring: str,
    score_batch_size: int,
    cb_revision: str = "",
) -> dict[str, Any]:
    """The CulturalBench-style test: answered by an endpoint (keyed by the answering model, its endpoint and the
    questions) or scored locally (the run's scorer when the model is the same). Returns the evaluation (``cb``)
    with its easy and hard questions and the rows skipped as unusable ({reason: count}); the hub set is read at
    ``cb_revision`` (empty: the latest)."""
    from ..core.judge import Judge
    from ..core.logprobs import LogProbScorer
    from . import culturalbench as cgb
    from .cbdata import load_culturalbench_counted

    easy, hard, skipped = load_culturalbench_counted(cb_data, limit=n_cb_questions, revision=cb_revision)
    name = cb_model or model
    if cb_base_url:
        cb = cgb.evaluate(
            run,
            easy,
            hard,
            name,
            judge=Judge(
                name,
                base_url=cb_base_url,
                timeout=cb_timeout,
                cache_dir=run.path("judge_cache"),
                max_tokens=32,
                on_error="empty",
            ),
            stages=stages,
        )
    else:
        cb_scorer = scorer if name == model else LogProbScorer(name, batch_size=score_batch_size)
        cb = cgb.evaluate(run, easy, hard, name, scorer=cb_scorer, mode=cb_local_scoring, stages=stages)
    return {**cb, "easy_questions": easy, "hard_questions": hard, "skipped": skipped}


# --------------------------------------------------------------------------- metrics.json
HEADLINE = [
    "validity_top1",
    "validity_precision",
    "validity_recall",
    "markedness_vocabulary",
    "markedness_parenthesis",
    "markedness_frequency_spearman",
    "cb_easy_accuracy",
    "symbols_found",
    "diversity_spearman",
    "scoring_sentences_per_s",
]


def _corr(c: dict) -> dict:
    return {
        k: c[k]
        for k in (
            "n",
            "spearman",
            "spearman_ci",
            "spearman_p",
            "kendall",
            "kendall_ci",
            "kendall_p",
            "n_boot",
            "n_boot_used",
        )
    }


def run_metrics(
    *,
    model: str,
    chosen: Sequence,
    chosen_topics: Sequence,
    rows: Sequence,
    n_samples: int,
    variants: Sequence[dict],
    val: dict,
    mk: dict,
    mk_corr: dict,
    sc: dict,
    div: dict,
    div_corr,
    pres: dict,
    extractor: str,
    agreement: dict,
    cb: dict,
    gen_stats: dict,
    extractor_errors: int,
    health: dict[str, int],
    frequency_source: str,
    marker_rule: str = "paper",
    calibrated: bool = False,
) -> dict[str, Any]:
    """metrics.json: validity of the scores on known pairs (every variant), markedness (vocabulary and parenthesis
    markers separately) and its correlation with culture frequency, symbols, diversity per topic, agnostic
    presence, extractor agreement, the CulturalBench-style accuracies, speed, the stores' health and the findings
    computed from them (``summary.findings``). ``sc``: ``score_symbols``; ``cb``: ``culturalbench``."""
    from ..core.store import fallback_lines
    from . import culturalbench as cgb
    from .summary import findings

    overall = mk["overall"].iloc[0]
    e_all, h_all, hq_all = cb["easy"].iloc[0], cb["hard_item"].iloc[0], cb["hard_question"].iloc[0]
    pr = pres["culture"]
    sym_df = sc["sym_df"]
    div_all = div_corr[div_corr.topic == "all topics (sum)"].iloc[0]
    base = mk["baseline"].iloc[0] if len(mk["baseline"]) else None
    m = {
        "model": model,
        "n_cultures": len(chosen),
        "n_topics": len(chosen_topics),
        "n_generations": len(rows),
        "validity_top1": val["top1"],
        "validity_top1_ci": val["top1_ci"],
        "validity_precision": val["precision"],
        "validity_precision_ci": val["precision_ci"],
        "validity_recall": val["recall"],
        "validity_recall_ci": val["recall_ci"],
        "validity_chance": 1.0 / len(chosen),
        "validity_pairs": val["n_pairs"],
        "validity_top1_ties": val["top1_ties"],
        "validity_variants": {
            f"{v['measure']}{'+calibration' if v['calibrated'] else ''}": {
                "top1": v["top1"],
                "precision": v["precision"],
                "recall": v["recall"],
            }
            for v in variants
        },
        "calibrated": calibrated,
        "marker_rule": marker_rule,
        "markedness": float(overall.rate),
        "markedness_ci": [float(overall.low), float(overall.high)],
        "markedness_vocabulary": float(overall.vocabulary_rate),
        "markedness_vocabulary_ci": [float(overall.vocabulary_low), float(overall.vocabulary_high)],
        "markedness_parenthesis": float(overall.parenthesis_rate),
        "markedness_parenthesis_ci": [float(overall.parenthesis_low), float(overall.parenthesis_high)],
        "markedness_n": int(overall.n),
        "markedness_ai_skipped": int(mk["ai_skipped"].culture_conditioned.iloc[0]),
        "markedness_baseline_vocabulary": None if base is None else float(base.vocabulary_rate),
        "markedness_baseline_parenthesis": None if base is None else float(base.parenthesis_rate),
        "markedness_no_name": float(mk["overall_no_name"].rate.iloc[0]),
        "markedness_by_region": {
            r.region: {"vocabulary": float(r.vocabulary_rate), "parenthesis": float(r.parenthesis_rate), "n": int(r.n)}
            for r in mk["region"].itertuples()
        },
        "markedness_frequency": {k: _corr(c) for k, c in mk_corr.items()},
        "markedness_frequency_spearman": mk_corr["vocabulary"]["spearman"],
        "markedness_frequency_spearman_ci": mk_corr["vocabulary"]["spearman_ci"],
        "symbols_found": sc["n_symbols"],
        "phrases_scored": int(sym_df.candidate.notna().sum()),
        "diversity_gender": div["gender"],
        "diversity_spearman": None if pd.isna(div_all.spearman) else float(div_all.spearman),
        "diversity_spearman_ci": div_all.spearman_ci,
        "diversity_kendall": None if pd.isna(div_all.kendall) else float(div_all.kendall),
        "diversity_by_topic": {
            r.topic: {
                "n": int(r.n),
                "spearman": None if pd.isna(r.spearman) else float(r.spearman),
                "spearman_ci": r.spearman_ci,
                "kendall": None if pd.isna(r.kendall) else float(r.kendall),
                "kendall_ci": r.kendall_ci,
            }
            for r in div_corr.itertuples()
        },
        "frequency_source": frequency_source,
        "agnostic_presence": float(pr.share.mean()) if len(pr) else None,
        "agnostic_presence_with_symbols": float(pr.share_with_symbols.mean())
        if pr.share_with_symbols.notna().any()
        else None,
        "agnostic_presence_by_region": {r.region: float(r.share) for r in pres["region"].itertuples()},
        "extractor": extractor,
        "extractor_gold_n": agreement["n"],
        "extractor_rule_exact": agreement["rule_exact"],
        "extractor_rule_exact_ci": agreement["rule_exact_ci"],
        "extractor_rule_token_f1": agreement["rule_token_f1"],
        "extractor_checked": agreement["llm_n"],
        "extractor_llm_exact": agreement["llm_exact"],
        "extractor_llm_exact_ci": agreement["llm_exact_ci"],
        "extractor_llm_token_f1": agreement["llm_token_f1"],
        "extractor_parse_failures": agreement["parse_failures"],
        "extractor_rule_exact_llm_subset": agreement["rule_exact_llm_subset"],
        "cb_easy_accuracy": cgb.measured(cb, "easy", e_all.accuracy),
        "cb_easy_accuracy_ci": [float(e_all.low), float(e_all.high)],
        "cb_hard_item_accuracy": cgb.measured(cb, "hard", h_all.accuracy),
        "cb_hard_item_accuracy_ci": [float(h_all.low), float(h_all.high)],
        "cb_hard_question_accuracy": cgb.measured(cb, "hard", hq_all.accuracy),
        "cb_questions": len(cb["easy_questions"]),
        "cb_scoring": cb["how"],
        "cb_skipped_rows": cb.get("skipped", {}),
        "cb_failed_calls": cb["failed_calls"],
        "cb_not_measured": {f: cgb.not_measured(cb, f) for f in ("easy", "hard")},
        "generation_sequences_per_s": gen_stats["sequences_per_s"],
        "scoring_sentences_per_s": sc["speed"]["sentences_per_s"],
        "headline": HEADLINE,
    }
    m.update(
        findings(
            m,
            n_samples=n_samples,
            mk=mk,
            val=val,
            div_corr=div_corr,
            div=div,
            pres=pres,
            agreement=agreement,
            cb=cb,
            mk_corr=mk_corr,
        )
    )
    m.update(extractor_endpoint_errors=extractor_errors, **health)
    m["findings"] = list(m.get("findings", [])) + fallback_lines(
        {"extractor endpoint errors": extractor_errors, **health}
    )
    return m
