"""What each cached stage of the WildChat notebook (10) depends on (helpers.core.stages.StageGraph).

``tests/test_cache_keys.py`` checks every parameter is classified.
"""

from typing import Any

from ..core.executor import EXECUTOR_SETTINGS
from ..core.stages import StageGraph

GRAPH = StageGraph(
    {
        # one streaming pass: counts, safety, rule categories, the samples, the prompt candidates
        "scan": {
            "params": [
                "data",
                "split",
                "max_conversations",
                "model",
                "n_lang_sample",
                "n_llm_labels",
                "n_diversity",
                "seed",
            ]
        },
        "languages": {"params": [], "after": ["scan"]},
        "others": {"params": ["other_corpora", "max_other", "model", "n_diversity", "seed"]},
        "labels": {"params": ["model", "labeler_base_url"], "after": ["scan"]},
        "diversity": {"params": ["embedder", "coverage_tau"], "after": ["scan", "others"]},
        "prompts": {"params": ["embedder", "dedup_threshold", "max_prompts"], "after": ["scan"]},
    },
    uncached={
        **EXECUTOR_SETTINGS,
        "torch_threads": "threads only",
        "labeler_timeout": "time limit only",
        "expected_file": "a check of the stored counts, read every run",
    },
)


# --------------------------------------------------------------------------- the stages, each cached by GRAPH
def scan_stage(
    stages,
    data: str,
    split: str,
    max_conversations: int,
    model: str,
    n_lang_sample: int,
    n_prompt_sample: int,
    seed: int,
) -> tuple[dict, "object"]:
    """The one streaming pass (``scan.scan_corpus``) over only the columns it reads; (results, candidates file)."""
    from ..core.hf import load_tokenizer
    from ..core.models import resolve_model
    from .load import iter_records
    from .scan import SCAN_COLUMNS, scan_corpus

    candidates = stages.path("scan", ".candidates.jsonl")

    def compute():
        tok = load_tokenizer(resolve_model(model))
        records = iter_records(data, SCAN_COLUMNS, split, max_conversations or None)
        return scan_corpus(records, tok, candidates, n_lang_sample, n_prompt_sample, seed)

    if not candidates.exists():
        stages.path("scan", ".json").unlink(missing_ok=True)  # the pass writes both: redo it when one is missing
    return stages.json("scan", compute), candidates


def others_stage(stages, specs, max_other: int, model: str, n_sample: int, seed: int) -> dict[str, dict]:
    """Counts and a first-prompt sample of each other corpus, read in its own schema."""
    from ..core.hf import load_tokenizer
    from ..core.models import resolve_model
    from .corpora import iter_corpus, parse_spec
    from .counts import CorpusCounter
    from .scan import Reservoir, first_user_turn

    def compute():
        tok, out = load_tokenizer(resolve_model(model)), {}
        for spec in specs:
            name, source = parse_spec(spec)
            counter, sample = CorpusCounter(tok), Reservoir(n_sample, seed + 2)
            for conv in iter_corpus(name, source, limit=max_other or None):
                counter.add(conv)
                first = first_user_turn(conv["conversation"])
                if first and first[0].strip():
                    sample.add(first[0][:2000])
            out[name] = {"source": source, "corpus": counter.result(), "sample": sample.items}
        return out

    return stages.json("others", compute)


def labels_stage(stages, executor, sample, model: str, labeler_base_url: str, timeout: float, run=None) -> list[dict]:
    """LLM category labels of the sampled first prompts (resumable, by id): local log-prob labeler through the
    notebook's executor, or a judge behind an endpoint."""
    from ..core.executor import run_stage_on
    from ..core.store import run_stage
    from .categories import endpoint_labels, labeler_spec

    store = stages.store("labels")
    items = [{"id": it["id"], "prompt": it["prompt"]} for it in sample]
    if labeler_base_url:
        from ..core.judge import Judge

        judge = Judge(
            model,
            base_url=labeler_base_url,
            timeout=timeout,
            max_tokens=8,
            cache_dir=run.path("judge_cache") if run is not None else None,
        )
        return run_stage(store, items, lambda batch: endpoint_labels(judge, batch), batch_size=8, desc="categories")
    return run_stage_on(executor, store, items, labeler_spec(model), batch_size=8, desc="categories")


def diversity_stage(stages, texts: dict[str, list[str]], embedder: str, tau: float, seed: int) -> dict[str, Any]:
    """Diversity of each corpus's sampled first prompts and the coverage of each corpus by each other."""
    from ..core.embeddings import embed
    from .diversity import coverage, diversity

    def compute():
        emb = {name: embed(t, embedder) for name, t in texts.items()}
        return {
            "diversity": {n: diversity(e, seed=seed) for n, e in emb.items()},
            "coverage": {a: {b: coverage(emb[a], emb[b], tau) for b in emb} for a in emb},
        }

    return stages.json("diversity", compute)


def prompts_stage(stages, candidates, published, embedder: str, threshold: float, max_prompts: int) -> dict[str, Any]:
    """The cleaned prompt set: near duplicates removed (``export.clean_prompts``), published as ``published``."""
    import shutil

    from .export import clean_prompts

    keyed = stages.path("prompts", ".jsonl")
    if not keyed.exists():
        stages.path("prompts", ".json").unlink(missing_ok=True)
    counts = stages.json("prompts", lambda: clean_prompts(candidates, keyed, embedder, threshold, max_prompts))
    tmp = published.with_name(f".{published.name}.tmp")
    shutil.copyfile(keyed, tmp)
    tmp.replace(published)
    return counts
