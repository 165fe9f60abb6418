"""LLM-judge evaluation and benchmark curation: WildBench, Arena-Hard-Auto and BenchBuilder."""
