"""LLM-judge evaluation and benchmark curation: WildBench, Arena-Hard-Auto and BenchBuilder."""

from ..core import rehearsal

# what a rehearsal (``helpers.run --rehearse``) reads in place of the hub data sets these notebooks load
rehearsal.register_hub_fixture("allenai/WildBench", "builtin:wildbench_tasks.jsonl")
rehearsal.register_hub_fixture("allenai/WildChat-1M", "builtin:wildchat_sample.jsonl")
rehearsal.register_hub_fixture("lmarena-ai/arena-hard-auto-v0.1", "builtin:arena_prompts_sample.jsonl")
