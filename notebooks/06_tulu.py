# ---
# jupyter:
#   helpers:
#     checkpoints: helpers.tulu.config:published_checkpoints
#     precheck: helpers.tulu.config:check_params
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Tulu 2.5: what matters when learning from preferences
#
# **Question.** Starting from one SFT policy, change one aspect of preference learning at a time and measure
# its effect on several capability categories: (1) the preference **data** (source, label quality, labelling,
# quantity), (2) the learning **algorithm** (DPO vs PPO, plus RLOO and GRPO since TRL has them), (3) the
# **reward model** behind the online algorithms (size, training data), (4) extra unlabelled **prompts** for
# the online algorithms (none, in-domain targeted, out-of-domain). Which aspect moves the scores most?
#
# **Paper.** Ivison et al., *Unpacking DPO and PPO: Disentangling Best Practices for Learning from Preference
# Feedback* (Tulu 2.5), arXiv 2406.09279. On Tulu 2 13B: data matters most (up to +8% on instruction following
# and truthfulness), then the algorithm (PPO beats DPO by up to 2.5% on math, 1.2% overall), then the reward
# model (up to +5% on math, marginal elsewhere), then the policy-training prompts (targeted prompts help their
# own domain). Reported as one table: rows = configurations, columns = categories, deltas vs the SFT start.
#
# **Two worlds, one notebook.** `world = "quick"` (the default) is a controlled world that runs for real in
# minutes on two CPU cores: a small Llama built from a config with its own word tokenizer and ChatML-style
# template, SFT'd with TRL on tasks whose answers a program checks, in four categories that mirror the paper's
# columns; its SFT data carries systematic flaws on a "tricky" half of each category, and preferences come from
# the checkers with controlled defects. `world = "hub"` (`full-gpu.yaml`) runs the paper's pipeline on a hub
# SFT model with `allenai/tulu-2.5-preference-data` and `allenai/tulu-2.5-prompts`, the paper's
# hyperparameters, and lm-evaluation-harness; `cpu-embedded.yaml` runs that real-model path on the embedded
# SmolLM2-135M for a few steps on CPU.
#
# **Training.** SFT, DPO and reward models with TRL (`SFTTrainer`, `DPOTrainer`, `RewardTrainer`); RLOO and GRPO
# with TRL against the trained reward model; PPO with our own compact implementation (`helpers.tulu.ppo`): TRL
# removed its `PPOTrainer` in 1.16, and the paper's recipe (per-token KL penalty, GAE with gamma 1 and lambda
# 0.95, clipped policy and value losses, whitened advantages, -10 for responses without EOS) is short enough to
# own and unit-test. Every stage checkpoints and resumes; every (row, seed) is cached by all its inputs.
#
# **PPO at scale (full profile).** Our PPO runs under `accelerate launch` when `train_launcher` is
# `accelerate-ddp` (`full-gpu.yaml`): one process per GPU, policy, value model and optimizer prepared by
# `Accelerator` (DDP), each process sampling its share of every rollout batch, rewards and statistics gathered,
# only the main process writing checkpoints and records, and a killed run resuming from its last checkpoint, like
# the TRL stages (`helpers.tulu.ppo_launch`; a two-process CPU launch is tested). We did not drive OpenRLHF: its
# Ray + vLLM + DeepSpeed stack does not install or run on the CPU machines where this notebook is built and
# tested, it would be a second PPO whose code differs from the quick world's (so the two worlds would no longer
# compare one algorithm), and at the full profile's 0.5-1.5B scale a policy and a reward model fit in each GPU,
# so data parallelism is enough. What that costs: rollouts use transformers' `generate`, not vLLM, and ZeRO
# sharding is not supported for PPO; at 7B and beyond those would argue for OpenRLHF.
#
# **Learning rates.** The quick world's learning rates were chosen on a development split of prompts, disjoint
# from the evaluation prompts the table reports on (and from the SFT and preference prompts), by
# `tools/tune_tulu.py`; the cell after the grid shows its dev scores. The full profile uses the paper's.

# %% tags=["parameters"]
world = "quick"  # [quick|hub] quick: the controlled world (config-built policy, checkable tasks); hub: a hub SFT model with Tulu 2.5 data
policy = "config:llama-xs"  # [non-empty] SFT start: config:llama-xs / llama-s / llama-m (quick world, SFT here) or a chat model (alias, folder or hub id) used as it is
seeds = [0, 1]  # [non-empty; 0..] training seeds of every row
sources = ["on-policy", "off-policy"]  # [non-empty] preference sources, the first is the reference: on-policy / off-policy (quick) or splits of pref_data (hub)
labellers = ["fine", "overall"]  # [non-empty; fine|overall] labelling: the mean of fine-grained aspect ratings, or one overall rating
label_noise = [0.2]  # [non-empty; 0..1] share of preference labels flipped (the first: the imperfect labels DPO and every RM train on)
data_sizes = [0]  # [non-empty; 0..] preference pairs used (0: all of them)
algorithms = ["dpo", "ppo", "rloo", "grpo"]  # [non-empty; dpo|ppo|rloo|grpo] learning algorithms (DPO first: the data rows use it)
reward_inits = ["sft", "sft:config:rm-s"]  # reward models, the largest first (the reference): sft (the SFT policy), sft:config:<preset> (quick: that preset SFT'd on the same data), config:<preset> (quick: random init) or models to initialise from (hub)
rm_data = ["reference"]  # [non-empty] reward-model training data: reference (the reference data), noise:R (R of the labels flipped) or another source
prompt_sets = ["none", "in-domain"]  # [non-empty; none|in-domain|out-of-domain] extra unlabelled prompts ADDED to PPO / RLOO / GRPO's (more rollouts, not a share of them)
n_entities = 24  # [2..] quick world: made-up creatures in the knowledge base (truthfulness)
sft_examples = 4000  # [1..] quick world: SFT examples (a quarter per category)
sft_flaw_rate = 0.65  # [0..1] quick world: share of flawed SFT answers on the tricky prompts of each category
sft_steps = 500  # [1..] quick world: SFT optimizer steps
sft_learning_rate = 0.008  # [0..] quick world: SFT learning rate
sft_batch_size = 32  # [1..] quick world: SFT batch size
pref_prompts = 128  # [1..] quick world: preference prompts per category
samples_per_prompt = 4  # [2..] quick world: SFT samples per prompt for on-policy pairs
sample_temperature = 0.7  # [0.01..] quick world: sampling temperature of those SFT samples
extra_prompts = 128  # [0..] quick world: extra prompts added by in-domain / out-of-domain
n_eval = 48  # [1..] evaluation prompts per category (quick: checker tasks held out from training; hub: English checker tasks)
pref_data = "allenai/tulu-2.5-preference-data"  # hub world: preference data (a hub id whose splits are the sources, or an UltraFeedback-schema file)
pref_limit = 0  # [0..] hub world: pairs read per source (0: the whole split)
n_heldout = 200  # [0..] reward models' held-out pairs: hub: pairs after the training ones; quick: prompts per category of the eval and dev splits (0: the eval prompts)
in_domain_prompts = "allenai/tulu-2.5-prompts:math_prompts"  # hub world: targeted extra prompts (hub_id:split or a file)
ood_prompts = "allenai/tulu-2.5-prompts:ultrafeedback_code_math_prompts"  # hub world: out-of-domain extra prompts (the paper's mixed code and math set)
prompt_limit = 0  # [0..] hub world: extra prompts read (0: all)
harness_tasks = []  # hub world: lm-evaluation-harness tasks (gsm8k, ifeval, truthfulqa_mc2, mmlu, or a task YAML file); vLLM on a GPU, hf on CPU
harness_limit = 0  # [0..] hub world: examples per harness task (0: all)
eval_max_new_tokens = 256  # [1..] hub world: tokens per evaluation answer
backend = "auto"  # [auto|vllm|hf] hub world: generation backend for evaluation
tensor_parallel_size = 1  # [1..] hub world: GPUs per vLLM engine in evaluation
dpo_steps = 32  # [1..] DPO optimizer steps
dpo_learning_rate = 0.0002  # [0..] DPO learning rate (the paper: 5e-7); quick: chosen on the dev split (tools/tune_tulu.py)
dpo_batch_size = 16  # [1..] DPO pairs per device step
dpo_grad_accum = 1  # [1..] DPO gradient accumulation (the effective batch is batch size times this)
dpo_warmup_ratio = 0.0  # [0..1] DPO warmup (the paper: 0.1, linear decay)
beta = 0.1  # [0..] DPO beta
rm_steps = 60  # [1..] reward-model optimizer steps
rm_learning_rate = 0.001  # [0..] reward-model learning rate (the paper: 1e-5)
rm_batch_size = 32  # [1..] reward-model pairs per device step
rm_grad_accum = 1  # [1..] reward-model gradient accumulation
rm_warmup_ratio = 0.0  # [0..1] reward-model warmup (the paper: 0.03)
online_steps = 24  # [1..] PPO / RLOO / GRPO optimizer steps
online_learning_rate = 0.0001  # [0..] PPO / RLOO / GRPO learning rate unless their own is set (the paper: 1e-6)
ppo_learning_rate = 0.0001  # [0..] PPO learning rate (0: online_learning_rate); quick: chosen on the dev split (tools/tune_tulu.py)
rloo_learning_rate = 0.0003  # [0..] RLOO learning rate (0: online_learning_rate); quick: chosen on the dev split
grpo_learning_rate = 0.0003  # [0..] GRPO learning rate (0: online_learning_rate); quick: chosen on the dev split
online_batch_size = 16  # [1..] responses per step (RLOO / GRPO: this over num_generations prompts)
kl_coef = 0.05  # [0..] KL coefficient (PPO: per-token penalty in the reward; RLOO / GRPO: their beta)
temperature = 0.7  # [0.01..] rollout sampling temperature
max_new_tokens = 24  # [1..] rollout response length (the paper: 1024)
ppo_epochs = 1  # [1..] PPO epochs per rollout batch
minibatch_size = 4  # [0..] PPO minibatch (0: the whole rollout batch in one update, so the ratio stays 1 and clipping never acts)
clip = 0.2  # [0..] PPO / RLOO / GRPO policy clip
value_clip = 0.2  # [0..] PPO value clip
vf_coef = 0.1  # [0..] PPO value-loss weight
no_eos_penalty = -10.0  # PPO: the score of a response that never ends
num_generations = 4  # [1..] RLOO / GRPO samples per prompt
max_length = 64  # [8..] tokens per training sequence
eval_every = 8  # [0..] steps between validation decodes (training curves); 0: none
save_steps = 16  # [0..] steps between checkpoints (a killed run resumes there); 0: only the final model
gradient_checkpointing = False  # recompute activations in the backward pass (large models)
lora_r = 0  # [0..] LoRA rank for DPO / RM / RLOO / GRPO (0: full fine-tuning)
report_to = "none"  # [none|trackio|wandb|mlflow|tensorboard] experiment tracker
train_launcher = "local"  # how PPO runs: local (this process) or accelerate-ddp / accelerate-cpu (accelerate launch, data parallel)
bootstrap_rounds = 500  # [100..] bootstrap resamples per confidence interval
torch_threads = 1  # [0..] CPU threads for torch (0 keeps the default; 1 is steadier on a shared machine)

# %%
import time

import pandas as pd
from IPython.display import Markdown, display

from helpers import Run
from helpers.core.plotting import show, use_style
from helpers.tulu import config, gate, grid, kl, plots, steps, tables

steps.configure(torch_threads)  # TRL's progress bars off, torch threads
pd.set_option("display.max_colwidth", 90)
use_style()
run = Run.current("06_tulu")
P = {k: v for k, v in globals().items() if k in config.PARAM_NAMES}
world_, levels = config.build(P, run.dir)
rows = grid.ablation_rows(levels)
started = time.perf_counter()
print(f"{steps.setup_line(world, rows, seeds)}; run folder {run.dir}")

# %% [markdown]
# ## The SFT start
# Quick world: the policy is trained here with TRL's `SFTTrainer` on generated prompts whose SFT answers are
# right except on each category's *tricky* half, where `sft_flaw_rate` of them carry the category's typical
# mistake (stopping one arithmetic step early; a list one item short or without its ending; refusing a safe
# request with a violent verb, or complying with a harmful one with a mild verb; repeating a planted
# misconception). Greedy decoding then fails mostly on the tricky prompts: the room preference learning has.
# Hub world: the SFT model is used as it is. Evaluation prompts are never trained on.

# %%
world_.prepare()
sft_records = world_.evaluate(world_.sft_dir)
categories = list(dict.fromkeys(r["category"] for r in sft_records))
sft_summary = pd.DataFrame(sft_records).groupby("category", sort=False).agg(prompts=("correct", "size"), accuracy=("correct", "mean"))
if "tricky" in sft_records[0]:
    split = pd.DataFrame(sft_records).pivot_table(index="category", columns="tricky", values="correct", aggfunc="mean", sort=False)
    sft_summary = sft_summary.join(split.rename(columns={False: "accuracy, plain prompts", True: "accuracy, tricky prompts"}))
run.save_table(sft_summary.reset_index(), "sft_accuracy")
sft_summary.round(3)

# %% [markdown]
# ## Preference data
# One pair per prompt: the best candidate against a random worse one (UltraFeedback's binarisation), then the
# defects: labels flipped at random (`label_noise`), fewer pairs (`data_sizes`). Quick world: *on-policy*
# candidates are `samples_per_prompt` SFT samples at `sample_temperature`, labelled by the checkers (`fine`: the mean
# of every aspect a checker rates; `overall`: one holistic 1-5 rating that also weighs length and form, with
# rater noise); *off-policy* pairs are another model's answers in other words (a correct one against the
# category's typical mistake). `label accuracy` is the share of pairs whose chosen answer really is better.

# %%
data_specs = list(dict.fromkeys([r.data for r in rows] + [r.rm.data for r in rows if r.rm]))
data_table = pd.DataFrame([{"data": spec.label(), "pairs": len(ps := world_.pairs(spec, seeds[0])),
                            "label accuracy": (lambda a: None if a is None else round(a, 3))(
                                sum(p["label_correct"] for p in ps) / len(ps) if ps and ps[0]["label_correct"] is not None else None),
                            **{c: sum(p["category"] == c for p in ps) for c in categories if world == "quick"}}
                           for spec in data_specs])
run.save_table(data_table, "preference_data")
data_table

# %% [markdown]
# ## The grid: one aspect at a time
# The reference configuration takes the first level of every aspect; each other row changes one aspect. Data
# rows use DPO (the paper's data comparison); reward-model and prompt rows use PPO with the reference data.
# Every row trains once per seed from the same SFT policy; its result is stored under a key of all its inputs
# (`data/results.jsonl`), so a rerun reuses it and a new row trains alone. Models land in `models/`.

# %%
results = grid.run_grid(world_, rows, seeds, run.store("results"))
timing = pd.DataFrame([{"configuration": r.row.label, "seed": r.seed, "seconds": r.seconds} for r in results.values()])
run.save_table(timing, "timing")
display(Markdown(f"{len(results)} trained (row, seed) pairs; training and evaluation took {timing.seconds.sum():.0f} s "
                 f"in all (stored runs count the time they took when they ran)."))
pd.DataFrame([{"aspect": r.aspect, "configuration": r.label, "algorithm": r.algorithm, "reference": r.reference,
               "key": r.slug} for r in rows])

# %%
if world == "quick":  # where the learning rates come from: the dev split (tools/tune_tulu.py -> params/06_tulu/tuning.json)
    from helpers.tulu import tuning
    tuned_rows, tuned_note = tuning.tuning_report(tuning.load_tuning(), P, world_.world_fingerprint())
    display(Markdown(tuned_note))
    if tuned_rows:
        display(pd.DataFrame(tuned_rows).pivot(index="learning_rate", columns="algorithm", values="dev_mean").round(3))

# %% [markdown]
# ## Reward models
# Each reward model starts from an SFT model, as in the paper (`sft`: the SFT policy itself; `sft:config:<preset>`:
# a model of another size SFT'd on the same data), gets a fresh scalar head and is trained with TRL's
# `RewardTrainer` (loss -log sigmoid(r_chosen - r_rejected)) on the same imperfect labels DPO trains on, once per
# seed. Held-out accuracy: the share of clean pairs on prompts no model saw (quick: on-policy pairs on up to
# `n_heldout` prompts per category of the evaluation and dev splits; hub: pairs of the reference source after the
# training ones) that it orders like the checker (or the data's label); `n_held_out` counts them.

# %%
rm_specs = [r.rm for r in rows if r.rm]
rm_table = pd.DataFrame(world_.rm_accuracy(rm_specs, seeds)) if rm_specs else pd.DataFrame()
if len(rm_table):
    run.save_table(rm_table, "reward_models")
    display(rm_table.groupby("reward model", sort=False)[["held_out_accuracy", "train_accuracy"]].agg(["mean", "min", "max"]).round(3))

# %% [markdown]
# ## PPO's updates and every policy's distance from the SFT start
# PPO takes several minibatch updates per rollout (`minibatch_size`, `ppo_epochs`), so after the first one the
# probability ratio departs from 1 and the clip (0.2) can act: the clip fraction and the policy's KL from the
# rollout policy are logged per update. DPO and the online algorithms are compared at their KL from the SFT
# policy (nats per response, sampled from each final policy on the evaluation prompts): scores at very different
# KL compare distances, not algorithms.

# %%
ppo_diag = steps.ppo_diagnostics(rows, results)
kl_records = kl.kl_rows(world_, rows, seeds, run.store("kl"), max_new_tokens=max_new_tokens)
kl_info = kl.kl_summary(kl_records)
if kl_records:
    run.save_table(pd.DataFrame(kl_records), "kl_from_sft")
    display(pd.DataFrame(kl_records).groupby("algorithm", sort=False)["kl"].agg(["mean", "min", "max"]).round(3))
pd.Series({**ppo_diag, **{k: v for k, v in kl_info.items() if k != "kl_from_sft"}}, dtype=object)

# %%
if kl_records:  # the KL-vs-score frontier: one point per (algorithm, seed)
    frontier = kl.kl_score_points(kl_records, rows, results, sft_records)
    run.save_table(pd.DataFrame(frontier), "kl_frontier")
    show(run, plots.plot_kl_frontier(frontier), "kl_frontier",
         "change in average accuracy against KL from the SFT policy, one point per algorithm and seed; mean KL: "
         + ", ".join(f"{a.upper()} {v:.2f}" for a, v in kl_info["kl_from_sft"].items()) + " nats per response.")

# %% [markdown]
# ## The table
# Rows = configurations, columns = categories and their average; each cell is the change in accuracy (points)
# against the SFT start, averaged over seeds and evaluation prompts, with a 95% bootstrap CI that resamples
# both prompts and seeds.

# %%
table = tables.delta_table(rows, results, sft_records, categories, seeds, bootstrap_rounds)
run.save_table(pd.DataFrame(table), "deltas")
show(run, plots.plot_deltas(table, [*categories, "average"]), "deltas",
     f"change vs the SFT policy in accuracy points per category (95% CI over {len(sft_records)} evaluation prompts "
     f"and {len(seeds)} seeds); blue = better than SFT, red = worse. SFT accuracy: "
     + ", ".join(f"{c} {sft_summary.loc[c, 'accuracy']:.0%}" for c in categories) + ".")
tables.wide(table)

# %% [markdown]
# ## Which aspect matters most?
# An aspect's effect is the spread of the average score between its best and its worst configuration (their
# paired difference, with a CI; picking the best and worst on the same data makes it an upper-leaning estimate,
# equally for every aspect), over levels of one kind (data: the preference source; reward model: its size; no
# deliberately broken level). `mde` is the minimum detectable effect (2.8 x the SE of that CI): an aspect whose
# `mde` exceeds the paper's effect (`paper_effect`) cannot be resolved here. The paper's order is data > algorithm > reward model > prompts. Ties are reported, not
# broken silently: equal effects are listed by aspect name (never in the paper's order by default) and joined by "="
# below; `ties` / `tied_with` name the aspects each one cannot be ordered against (equal effects or overlapping CIs);
# a tied best or worst configuration or largest category lists every tied member (`*_ties` counts them).

# %%
ranking = tables.aspect_ranking(rows, results, sft_records, categories, seeds, bootstrap_rounds)
run.save_table(pd.DataFrame(ranking), "aspect_ranking")
n_tied = tables.ranking_ties(ranking)["aspect_ranking_ties"]
if ranking:
    show(run, plots.plot_ranking(ranking), "aspect_ranking",
         "largest effect of each aspect on the average accuracy (best minus worst configuration of that aspect, "
         f"points, 95% CI); the order here is {tables.order_text(ranking, points=False)}"
         + (f" ({n_tied} aspect pair(s) tied: equal effects or overlapping CIs)." if n_tied else "."))
pd.DataFrame(ranking).round(3)

# %% [markdown]
# ## Training curves
# Reward and KL are what each trainer logs (PPO: the reward model's score of the sampled responses and the mean
# per-token KL to the SFT reference; RLOO / GRPO: TRL's reward and per-token KL; DPO: its implicit reward margin,
# as it has no reward model); accuracy is the checkers' on a small validation set, decoded every `eval_every` steps.
# Reference data, reference reward model, no extra prompts; mean over seeds.

# %%
algorithm_rows = [r for r in rows if r.aspect == "algorithm"]
curves = {r.algorithm.upper(): [results[(r.slug, s)].history for s in seeds] for r in algorithm_rows}
last = {k: plots.mean_curve(v, "eval/average")[-1:] for k, v in curves.items()}
show(run, plots.plot_curves(curves), "training_curves",
     "reward, KL to the SFT reference and validation accuracy over optimizer steps per algorithm (mean over seeds); "
     "final validation accuracy: " + ", ".join(f"{k} {v[0][1]:.0%}" for k, v in last.items() if v) + ".")

# %% [markdown]
# ## The paper's findings in this world
# Each finding the grid can test, with the numbers behind it. First the gate: a finding is *untestable here* when
# its minimum detectable effect (2.8 x the SE of its CI: 80% power at 5%) is larger than the paper's effect
# (`paper_effect`: 1.2 points PPO over DPO on average, 2.5 on math, 5 for the reward model's size on math, 1.2 where
# the paper gives no number); the ungated status stays in `status_ungated`. Otherwise: *reproduced* when its CI
# excludes zero in the paper's direction (for the order: the aspects in the paper's order with no two aspects' CIs overlapping),
# *reversed* when it excludes zero the other way, *inconclusive* otherwise; `point_estimate_agrees` says whether
# the point estimate alone points the paper's way. A tie is never read as the paper's order: an order that matches
# the paper's only through equal effects is *tied*, one whose CIs overlap *tied within CIs*, and "mainly on
# reasoning" is not reproduced when reasoning is tied with another category (`ties` counts the tied members).

# %%
checked = tables.paper_findings(rows, results, sft_records, categories, seeds, ranking, bootstrap_rounds)
checked = gate.kl_gated(checked, kl_info)  # PPO vs DPO only at matched KL
pd.DataFrame(checked)

# %%
metrics = steps.run_metrics(ranking=ranking, table=table, checked=checked, rm_table=rm_table, sft_summary=sft_summary,
                            world=world, policy=policy, seeds=seeds, n_rows=len(rows), n_eval_prompts=len(sft_records),
                            started=started, extra={**ppo_diag, **kl_info})
run.log_metrics(metrics)
{k: metrics[k] for k in metrics["headline"] + ["signal"]}

# %%
online = steps.online_note(rows, table, rm_table)
# the hub world publishes its final policies at stable paths (links) that the judge notebooks read
published = config.publish_checkpoints(run.dir, world_.root / "models", rows, seeds) if world == "hub" else {}
run.write_json("checkpoints.json", published or steps.checkpoint_links(world_.root / "models", rows, seeds))
display(Markdown(steps.quick_note(online, len(seeds), len(sft_records)) if world == "quick"
                 else steps.hub_note(online, len(published), run.dir.name)))
if world == "hub":
    arena_rows, line = steps.arena_rows(run.dir, published)
    print(line)
    if arena_rows is not None and len(arena_rows):
        display(arena_rows)
for n in getattr(getattr(world_, "s", None), "notes", None) or []:
    display(Markdown(f"*Note: {n}*"))

# %% [markdown]
# ## Findings
# Computed from this run's metrics (`metrics.json`): the signal counts the paper's findings this grid reproduces.

# %%
from helpers.core.report import findings_markdown

Markdown(findings_markdown(metrics))
