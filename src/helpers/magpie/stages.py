"""What each cached stage of the Magpie notebook depends on (helpers.core.stages.StageGraph).

Each stage's store is named by a hash of these parameters and of the stages before it; run-time
inputs (the resolved engine, the derived templates and stop strings, the SFT rows) are added by the
notebook. ``tests/test_cache_keys.py`` checks that every notebook parameter is classified here.
"""

from ..core.executor import EXECUTOR_SETTINGS
from ..core.stages import StageGraph
from ..core.store import point_to  # noqa: F401  (point_to: 01 links checkpoints/sft; it lives in the core)

_TAGGER = ["tagger_model", "tagger_base_url", "tag_mode", "tag_tasks", "tag_max_tokens", "tag_label_first"]
_FILTERS = [
    "filter_preset",
    "filter_quantile",
    "filter_top_share",
    "min_quality",
    "min_difficulty",
    "min_reward",
    "drop_duplicates",
    "min_response_tokens",
    "languages",
    "top_n_longest",
    "top_n_reward",
    "dedup_threshold",
    "dedup_k",
    "n_responses",
]

GRAPH = StageGraph(
    {
        "instructions": {
            "params": [
                "model",
                "pre_query_template",
                "use_default_system",
                "system_prompts",
                "n_instructions",
                "samples_per_call",
                "ins_temperature",
                "ins_top_p",
                "ins_max_tokens",
                "first_line_stop",
                "role_word_stops",
                "seed",
            ]
        },
        # cleaning rules decide which samples are instructions and what their text is
        "embeddings": {"params": ["min_instruction_words", "sanitize"], "after": ["instructions"]},
        "responses": {
            "params": [
                "res_temperature",
                "res_top_p",
                "res_max_tokens",
                "n_turns",
                "multi_turn_system_prompt",
                "min_instruction_words",
                "sanitize",
            ],
            "after": ["instructions"],
        },
        "tags": {
            "params": [*_TAGGER, "min_instruction_words", "sanitize"],
            "after": ["instructions"],
        },  # tags see the instruction only
        "tag_reference": {"params": [*_TAGGER, "tag_reference"]},
        "reward": {"params": ["reward_model", "reward_ref_model"], "after": ["responses"]},
        "guard": {"params": ["guard_model"], "after": ["responses"]},
        "sft": {
            "params": [
                "sft_model",
                "sft_data",
                "sft_steps",
                "sft_batch_size",
                "sft_lr",
                "sft_max_length",
                "lora_r",
                "train_launcher",
                *_FILTERS,
            ],
            "after": ["responses", "tags", "reward", "guard"],
        },
    },
    items={
        "n_responses": "chooses which instructions are answered (records joined by id)",
        "dedup_threshold": "orders the instructions to answer (unique first)",
        "dedup_k": "neighbours used for the near-duplicate check",
    },
    uncached={
        **EXECUTOR_SETTINGS,
        "backend": "the resolved engine is a run-time input of the generating stages",
        "tensor_parallel_size": "parallelism only",
        "hf_batch_size": "batching only",
        "tagger_timeout": "time limit only",
        "sft": "switches the SFT stage on or off",
        "save_steps": "checkpoint frequency only (the work folder is keyed by helpers.core.training)",
        "report_to": "logging only",
    },
)
