"""What each cached stage of the WildBench (02), BenchBuilder (03) and Arena-Hard (04) notebooks depends on.

See helpers.core.stages.StageGraph; run-time inputs (a contestant's configuration, the resolved engine,
the judge's identity) are added by the notebooks. ``tests/test_cache_keys.py`` checks every parameter.
"""

from ..core.executor import EXECUTOR_SETTINGS
from ..core.stages import StageGraph

_WB_JUDGE = ["judge_model", "judge_base_url", "judge_max_tokens", "judge_prefill", "max_words"]

WILDBENCH = StageGraph(
    {
        "answers": {"params": ["tasks_data", "tasks_config", "tasks_split", "answer_max_tokens", "seed"]},
        "wb_score": {"params": _WB_JUDGE, "after": ["answers"]},
        "wb_reward": {"params": _WB_JUDGE, "after": ["answers"]},
    },
    items={
        "n_tasks": "selects tasks (records joined by task id)",
        "models": "one answers store per contestant",
        "model_variants": "one answers store per contestant",
        "optional_checkpoints": "one answers store per contestant",
        "baselines": "selects games",
        "position_check_tasks": "selects swapped games",
    },
    uncached={
        **EXECUTOR_SETTINGS,
        "backend": "the resolved engine is a run-time input of the answers",
        "judge_timeout": "time limit only",
        "judge_api_key_env": "credentials only",
        "judge_concurrency": "parallelism only",
        "K_values": "analysis of stored verdicts",
        "K": "analysis of stored verdicts",
        "aggregation": "analysis of stored verdicts",
        "bootstrap_rounds": "analysis of stored verdicts",
        **{
            k: "controlled setting: simulated in seconds every run, nothing stored"
            for k in ("sim_position_bias", "sim_length_bias", "sim_noise", "sim_tasks", "sim_repeats")
        },
    },
)

BENCHBUILDER = StageGraph(
    {
        "labels": {
            "params": ["labeler_mode", "yes_no_threshold", "labeler_model", "labeler_base_url", "labeler_max_tokens"]
        }
    },
    items={
        k: "selects prompts (ids are hashes of the prompt text)"
        for k in ("conversations", "conversations_split", "max_conversations", "languages", "min_chars", "max_labels")
    },
    uncached={
        **EXECUTOR_SETTINGS,
        "labeler_timeout": "time limit only",
        "backend": "engine of a local labeler",
        **{
            k: "clustering and selection are recomputed every run"
            for k in (
                "embedder",
                "cluster_method",
                "n_clusters",
                "min_cluster_size",
                "min_score",
                "min_cluster_mean",
                "per_cluster",
                "seed",
            )
        },
        "quality_ref": "read every run",
        **{
            k: "controlled setting: simulated in seconds every run"
            for k in (
                "sim_repeats",
                "sim_prompts",
                "sim_topics",
                "sim_separability_link",
                "sim_label_signal",
                "sim_label_noise",
                "sim_label_bias",
                "sim_contestants",
                "sim_skill_shift",
                "sim_judge_noise",
                "sim_min_score",
                "sim_min_cluster_mean",
                "sim_per_cluster",
                "sim_bootstrap_rounds",
            )
        },
    },
)

ARENA = StageGraph(
    {
        "answers": {"params": ["answer_model", "answer_max_tokens", "seed"]},
        "games": {
            "params": ["judge_model", "judge_base_url", "judge_mode", "judge_max_tokens", "judge_prompt"],
            "after": ["answers"],
        },
    },
    items={
        k: "selects prompts (records keyed by the prompt's id and text)"
        for k in ("prompts_data", "fallback_prompts", "prompts_split", "prompts_category", "n_prompts")
    }
    | {
        "baseline": "one answers store per variant",
        "contestants": "one answers store per variant",
        "extra_checkpoints": "one answers store per variant",
    },
    uncached={
        **EXECUTOR_SETTINGS,
        "judge_timeout": "time limit only",
        "backend": "the resolved engine is a run-time input of the answers",
        **{
            k: "analysis of stored verdicts"
            for k in (
                "bootstrap_rounds",
                "bootstrap_method",
                "bootstrap_unit",
                "ci_level",
                "style_method",
                "min_valid_prompts",
            )
        },
        **{
            k: "controlled setting: simulated in seconds every run, nothing stored"
            for k in ("sim_position_bias", "sim_length_bias", "sim_noise", "sim_prompts", "sim_repeats")
        },
    },
)
