"""Tulu 2.5 ("Unpacking DPO and PPO") preference-learning ablations: one aspect at a time from one SFT policy.

* ``tasks``, ``checkers``: the quick world's programmatically checkable tasks in four categories (reasoning,
  instruction following, safety, truthfulness) with controlled SFT flaws, and the checkers that grade them;
* ``toy_model``: a word-level tokenizer with a ChatML-style template and small Llama policies / reward
  models built from a config;
* ``preferences``: pairs from checkers (on- or off-policy, fine-grained or overall labels, label noise, size);
* ``trainers``: TRL SFT / DPO / Reward / RLOO / GRPO launches, resumable (helpers.core.training);
* ``ppo``: the pieces of a compact PPO of ours (TRL has none since 1.16), each unit-tested; ``ppo_train`` its loop,
  resumable, in one process or data parallel under ``accelerate launch`` (``ppo_launch``: the job);
* ``evaluate``: greedy decoding + checkers per category; ``hub_eval``: English checker tasks for hub models;
* ``harness``: lm-evaluation-harness (vLLM on GPU, transformers on CPU), local task files, records for the table;
* ``tuning``: learning rates chosen on the dev split (``tools/tune_tulu.py`` writes ``params/06_tulu/tuning.json``);
* ``grid``: the ablation rows and the runner that caches each (row, seed) by all its inputs;
* ``deltas``: deltas vs SFT with bootstrap CIs; ``tables``: the aspect ranking, the paper's findings checked;
* ``hub``: the full profile's hub data (tulu-2.5-preference-data / -prompts, UltraFeedback schema);
* ``plots``: training curves and the delta table.
"""
