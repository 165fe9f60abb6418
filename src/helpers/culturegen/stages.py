"""What each cached stage of the Culture-Gen notebook (07) depends on (helpers.core.stages.StageGraph).

``tests/test_cache_keys.py`` checks every parameter is classified.
"""

from ..core.executor import EXECUTOR_SETTINGS
from ..core.stages import StageGraph

GRAPH = StageGraph(
    {
        "generations": {
            "params": ["model", "prompt_format", "n_samples", "temperature", "top_k", "top_p", "max_new_tokens", "seed"]
        },
        "extract_llm": {
            "params": ["extractor_model", "extractor_base_url", "extractor_max_tokens"],
            "after": ["generations"],
        },
        "scores": {"params": ["model", "cultures", "n_per_region"]},  # + the scorer's truncation and start text
        "culturalbench": {
            "params": [
                "model",
                "cb_model",
                "cb_base_url",
                "cb_local_scoring",
                "cb_data",
                "cb_revision",
                "n_cb_questions",
            ]
        },
    },
    items={
        "cultures": "selects prompts (records keyed by culture, topic, gender)",
        "n_per_region": "selects prompts",
        "topics": "selects prompts",
        "genders": "selects prompts",
        "extractor": "selects rows for the LLM extractor",
        "n_agreement": "selects rows for the agreement check",
        "agreement_set": "selects hand-labelled rows for the agreement check",
        "n_ngrams_per_topic": "selects n-grams to score",
        "validity_pairs": "selects n-grams to score",
    },
    uncached={
        **EXECUTOR_SETTINGS,
        "backend": "engine only",
        "tensor_parallel_size": "parallelism only",
        "torch_threads": "threads only",
        "extractor_timeout": "time limit only",
        "cb_timeout": "time limit only",
        "score_batch_size": "batching only",
        "score_measure": "analysis of stored scores",
        "calibrate": "analysis of stored scores",
        "frequency_counts_file": "read every run",
        "frequency_measure": "analysis only",
        "marker_rule": "analysis of stored generations",
    },
)
