"""What each cached stage of the CDR notebook (05) depends on (helpers.core.stages.StageGraph).

Model folders (derived and trained) are keyed the same way, so a changed parameter gives a new folder,
and the log-prob and gap stores take the model's folder as a run-time input: a retrained model is
rescored, an untouched hub model is not. ``tests/test_cache_keys.py`` checks every parameter.
"""

from ..core.executor import EXECUTOR_SETTINGS
from ..core.stages import StageGraph

GRAPH = StageGraph(
    {
        "derived": {"params": ["parent_model", "seed"]},
        "onpolicy_samples": {
            "params": [
                "parent_model",
                "eval_data",
                "eval_split",
                "onpolicy_samples",
                "onpolicy_temperature",
                "onpolicy_max_tokens",
                "seed",
            ]
        },
        "onpolicy_rewards": {
            "params": ["default_pair", "variant", "max_prompt_tokens", "max_response_tokens"],
            "after": ["onpolicy_samples", "derived"],
        },
        "child": {
            "params": ["train_steps", "train_batch_size", "learning_rate", "lora_r", "train_launcher"],
            "after": ["derived"],
        },  # dpo-offline, + its offline pairs (the data slice) and max_length
        "trained": {
            "params": [
                "onpolicy_rejected",
                "train_steps",
                "train_batch_size",
                "learning_rate",
                "max_prompt_tokens",
                "per_subset",
                "offline_pairs_per_subset",
                "onpolicy_prompts",
                "lora_r",
                "train_launcher",
            ],
            "after": ["onpolicy_rewards"],
        },
        "logprobs": {
            "params": ["max_prompt_tokens", "max_response_tokens"]
        },  # + the model's folder and end-of-turn token
        "gap_scores": {"params": ["gap_data", "gap_per_subset"]},  # + the gap items and each model's folder
    },
    items={
        "per_subset": "selects evaluation examples (records keyed by model, id, prompt and response)",
        "zoo_models": "one log-prob store per model",
        "derived_zoo": "one folder and store per model",
        "onpolicy_prompts": "selects on-policy prompts",
        "offline_pairs_per_subset": "slices the data (gap items and the child's pairs are inputs)",
        "custom_per_subset": "selects customisation examples (scored through the log-prob stores)",
        "eval_data": "evaluation examples (records keyed by their prompt and response)",
        "eval_split": "evaluation examples (records keyed by their prompt and response)",
        "sweep_pairs": "selects the pairs computed from the cached log-probs (no stage of its own)",
    },
    uncached={
        **EXECUTOR_SETTINGS,
        "batch_size": "batching only",
        "max_batch_tokens": "batching only",
        "torch_threads": "threads only",
        "generation_backend": "engine only",
        "reward_model": "scored every run (a load failure stops the run)",
        "router_model": "replies cached by the judge cache (keyed by model and prompt)",
        "customisation": "prompts are part of the log-prob record keys",
        "custom_criteria_only": "selects variants",
        "gap_scores_file": "read every run",
        "save_steps": "checkpoint frequency only (the work folder is keyed by helpers.core.training)",
        "report_to": "logging only",
    },
)
