# ---
# jupyter:
#   helpers:
#     precheck: helpers.cdr:check_params
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · CDR: density-ratio rewards from a strong and a weak model
#
# **Question.** Does the log-ratio of a stronger and a weaker language model,
# r(x, y) = log p_strong(y|x) - log p_weak(y|x), rank responses like a reward model, and does it get
# better the larger the performance gap between the two models? Do domain-routed criteria and exemplars
# help, and can the reward label on-policy preference data for SimPO/DPO?
#
# **Method.** Every model of a zoo scores every (prompt, response) of a RewardBench-style preference set
# once, each with its own chat template and tokenizer (a resumable stage); every ordered (strong, weak)
# pair's reward is then a difference of cached log-probs. Accuracy follows RewardBench (ties wrong,
# sections weighted by example counts, headline = mean of 4 sections). A temperature-0 router picks a
# domain (SAFETY / REASONING / CHAT) whose criteria and exemplar are put into the prompt of *both* models.
# On-policy: N samples per prompt from a policy, best vs worst/random by the density ratio, a short
# SimPO (or DPO) run with TRL.
#
# **Paper.** Xu et al., *Dr. SoW / CDR: density-ratio rewards*, arXiv 2411.02481 (221-pair sweep,
# RewardBench 82.6 with a DPO-over-SFT Mistral-7B pair, +4 points from customisation).
#
# **Scale.** The quick profile runs offline on the 135M embedded model and models derived from it: it
# exercises every step, but a 135M model cannot show the paper's effects; read its numbers as plumbing.

# %% tags=["parameters"]
eval_data = "builtin:rewardbench_offline.jsonl"  # [non-empty] preference set: allenai/reward-bench (hub) or a local JSONL with prompt/chosen/rejected/subset
eval_split = "filtered"  # hub split (RewardBench: filtered)
per_subset = 4  # [0..] examples per subset (0 for all)
parent_model = "smollm2-135m-instruct"  # [non-empty] the model the derived zoo members (and the on-policy policy) come from
zoo_models = ["smollm2-135m-instruct"]  # real models in the zoo: aliases, local folders (e.g. other notebooks' checkpoints) or hub ids
derived_zoo = ["layers:8", "random", "dpo-offline"]  # built here from parent_model: layers:K (first K blocks), noise:S (weights + S x std noise), random (tiny random Llama), dpo-offline (parent DPO-tuned on a train slice of eval_data: the paper's pair type), simpo/dpo (parent tuned on the on-policy pairs below)
offline_pairs_per_subset = 4  # [0..] dpo-offline: train pairs per subset, a slice of eval_data disjoint from the eval and gap slices
default_pair = ["dpo-offline", "smollm2-135m-instruct"]  # [non-empty] (strong, weak) for the detailed report, customisation and on-policy labels; both zoo members (the paper's type: a DPO child over its parent; the older ["smollm2-135m-instruct", "layers:8"] is the parent over its truncation)
sweep_pairs = None  # the sweep's (strong, weak) pairs: None or "all" (every pair of zoo models once, the strong one has the higher gap score), a list of [strong, weak], or a pairs file (YAML/JSONL/CSV with strong, weak; builtin:NAME or a path)
variant = "sum"  # [sum|mean] density ratio: sum (sequence log-probs) or mean (per-token, each model's own count)
max_prompt_tokens = 1024  # [1..] prompt left-truncation (tokens, per model)
max_response_tokens = 256  # [1..] response right-truncation (tokens, per model)
batch_size = 16  # [1..] scoring rows per forward pass
max_batch_tokens = 0  # [0..] above 0: batches sized by a token budget instead (GPU: e.g. 32768 keeps memory full)
gap_data = "builtin:rewardbench_offline.jsonl"  # [non-empty] two-choice set for the gap score: preference file (prompt/chosen/rejected) or facts (question/correct/wrong); same file as eval_data: a disjoint slice
gap_per_subset = 4  # [0..] preference-file gap sets: items per subset (0: all; from eval_data, after the eval, on-policy and train slices)
gap_scores_file = ""  # optional JSON {model: score} of an external benchmark (e.g. WB-Score from notebook 02); overrides gap_data; every zoo model needs a score
reward_model = ""  # optional trained reward model (sequence classifier) as a baseline; empty for none
router_model = "smollm2-135m-instruct"  # temperature-0 domain router; empty for no router (all CHAT)
customisation = "builtin:cdr_customisation.json"  # criteria system prompts and good/bad exemplars per domain
custom_per_subset = 1  # [0..] examples per subset scored with the customised prompts (0 skips customisation)
custom_criteria_only = False  # also score criteria without the exemplar (an ablation; costs one more scoring pass per model)
onpolicy_prompts = 2  # [0..] prompts for on-policy sampling (taken after the eval slice of the same set)
onpolicy_samples = 3  # [2..] N samples per prompt
onpolicy_temperature = 0.8  # [0..] sampling temperature
onpolicy_max_tokens = 16  # [1..] max new tokens per sample
onpolicy_rejected = "random"  # [random|worst] the rejected sample: random (a random non-best one) or worst
train_steps = 3  # [1..] optimiser steps for the preference-tuned zoo members
train_batch_size = 2  # [1..] pairs per step
learning_rate = 2e-5  # [0..] learning rate
save_steps = 0  # [0..] preference training: a checkpoint every N optimizer steps, resumed after a kill (0: only the final model)
report_to = "none"  # [none|trackio|wandb|mlflow|tensorboard] training logs go to this tracker (it must be installed)
lora_r = 0  # [0..] LoRA rank through peft, for parents too large to fine-tune fully (0: full fine-tuning)
train_launcher = "local"  # local (this process), accelerate-ddp (multi-GPU DDP), accelerate-zero3 (DeepSpeed ZeRO-3) or accelerate-cpu
generation_backend = "hf"  # [hf|vllm|auto] on-policy samples and the router
seed = 0  # [0..] sampling / bootstrap seed
torch_threads = 0  # [0..] CPU threads for torch: 0: the cores free right now (os.sched_getaffinity minus the load average); 1 helps on a shared, busy machine
tensor_parallel_size = 1  # [1..] vLLM: GPUs per model (70B: 4-8)
gpu_memory_utilization = 0.0  # [0..1] vLLM: fraction of GPU memory per engine (CPU build: of RAM for the KV cache); 0: 0.85 on a GPU, 0.3 on a CPU
max_model_len = 0  # [0..] vLLM: context length of an engine (prompt + reply tokens); 0: 2048
executor = "local"  # [local|ray] where the resumable generation / scoring stages and the local judge's calls run: local (this process) or ray (Ray replicas; README, On a cluster)
ray_address = ""  # executor ray: empty starts Ray on this machine; auto, host:port or ray://host:port joins a running cluster
ray_replicas = 1  # [1..] executor ray: data-parallel replicas, each with its own copy of the model
ray_gpus_per_replica = 0  # [0..] executor ray: GPUs per replica (0 on a CPU; above 1: tensor parallel inside the replica, vLLM)

# %%
import pandas as pd

from helpers import cdr
from helpers.cdr import plots as cdr_plots
from helpers.cdr import rewardbench as rb
from helpers.cdr.stages import GRAPH
from helpers.core.executor import Executor
from helpers.core.judge import Judge
from helpers.core.notebook import start_notebook
from helpers.core.plotting import show

run, stages = start_notebook("05_cdr", globals(), GRAPH)  # each stage's file and model folder: a hash of its params
executor = Executor.from_params(globals())  # log-prob scoring runs here (local) or on Ray replicas (ray)
print(cdr.configure_threads(torch_threads))
pd.set_option("display.max_colwidth", 80)

# %%
scoring = dict(batch_size=batch_size, max_prompt_tokens=max_prompt_tokens, max_response_tokens=max_response_tokens,
               max_batch_tokens=max_batch_tokens)  # every log-prob scorer of this run
same_file = gap_data == eval_data and not gap_scores_file
slices = cdr.data_slices(per_subset, onpolicy_prompts, offline_pairs_per_subset if "dpo-offline" in derived_zoo else 0,
                         gap_per_subset if same_file else 0)
eval_set = rb.load_preference_set(eval_data, split=eval_split, per_subset=per_subset or None)
print(f"{len(eval_set)} preference examples from {eval_data}; per section: "
      f"{pd.Series([e['section'] for e in eval_set]).value_counts().to_dict()}")
prompt_of = lambda e: rb.chat_prompt(e["prompt"])  # noqa: E731
items, ids = cdr.response_items(eval_set, prompt_of), [e["id"] for e in eval_set]

# %% [markdown]
# ## The model zoo
# Real models come from `zoo_models`; weaker ones are derived here from `parent_model`: its layer-truncated
# copy (`layers:K`, sharing its tokenizer and template), a tiny random model, and preference-tuned children:
# `dpo-offline` (DPO on a train slice of the preference file, disjoint from the evaluation and gap slices; the
# paper's best pair type is such a child over its parent) and `simpo`/`dpo` trained on the on-policy pairs
# below. Which model is stronger is not assumed: the gap score of every model is measured below.

# %%
zoo, trained_specs = cdr.build_zoo(zoo_models, derived_zoo, parent_model, stages, seed)  # trained ones: below
strong_name, weak_name = default_pair
print("zoo so far:", list(zoo))

# %% [markdown]
# ### The DPO child: the paper's pair type
# `dpo-offline` is the parent after a short TRL DPO run on a train slice of the preference file (disjoint from the
# evaluation and gap slices). Its folder is keyed by its pairs, the parent and the training settings (stage
# `child`), so it is trained once and every later run with the same settings reuses it.

# %%
from helpers.core.training import TrainOptions  # checkpoints every save_steps, resume, tracker, LoRA, launcher

options = TrainOptions(save_steps=save_steps, report_to=report_to, lora_r=lora_r, launcher=train_launcher)
train = dict(parent_model=parent_model, eval_data=eval_data, eval_split=eval_split, train_slice=slices["train"],
             prompt_of=prompt_of, steps=train_steps, learning_rate=learning_rate, batch_size=train_batch_size,
             seed=seed)
onpolicy_log = cdr.train_members([s for s in trained_specs if s == "dpo-offline"], None, zoo, stages, options,
                                 max_length=max_prompt_tokens + max_response_tokens, **train)
for spec, log in onpolicy_log.items():
    print(spec, {k: v for k, v in log.items() if k != "history"})

# %% [markdown]
# ## On-policy preference data and a short SimPO/DPO run
# The parent samples N responses per prompt; the default pair's density ratio scores them; chosen = best,
# rejected = a random non-best (or the worst); prompts whose rewards are all equal are dropped. The set is
# saved as a `datasets` folder in TRL's conversational prompt/chosen/rejected format, which DPOTrainer and
# CPOTrainer(loss_type="simpo") take as is.
#
# The labels come from `default_pair` (in the quick profile: the DPO child over its parent, trained above).
#
# **Backend.** The quick profile samples 2 prompts x 3 responses x 16 tokens (about 100 new tokens) and
# routes 8 prompts with 4 tokens each: transformers `generate` does that in seconds, whereas the vLLM CPU
# engine needs about 55 s just to start, so `generation_backend: hf` here; the on-policy GPU profile
# (2000 prompts x 32 samples x 1024 tokens) uses vLLM, where its throughput pays back the start-up many
# times over.

# %%
pool = rb.load_preference_set(eval_data, split=eval_split, per_subset=slices["onpolicy"][1] or None,
                              offset=slices["onpolicy"][0])[:onpolicy_prompts] if onpolicy_prompts else []
rows, prefs = [], None
if onpolicy_prompts and pool:  # the parent samples here or on Ray replicas; the default pair labels every sample
    rows, n_scored = cdr.onpolicy_pairs(pool, prompt_of, stages, executor, scoring, zoo, strong_name, weak_name,
                                        parent_model=parent_model, backend=generation_backend, n=onpolicy_samples,
                                        temperature=onpolicy_temperature, max_tokens=onpolicy_max_tokens,
                                        rejected=onpolicy_rejected, variant=variant, seed=seed)
    prefs = cdr.preference_dataset(rows)
    prefs.save_to_disk(str(run.path("onpolicy_preferences")))
    print(f"{len(rows)} preference pairs from {n_scored} prompts ({n_scored - len(rows)} dropped: all rewards equal)")
    display(pd.DataFrame(rows).head(3))

# %%
onpolicy_specs = [s for s in trained_specs if s != "dpo-offline"]  # simpo / dpo: the parent tuned on these pairs
onpolicy_log.update(cdr.train_members(onpolicy_specs, prefs, zoo, stages, options,
                                      onpolicy_max_tokens=onpolicy_max_tokens,
                                      max_length=max_prompt_tokens + onpolicy_max_tokens + 8, **train))
for spec in onpolicy_specs:
    print(spec, {k: v for k, v in onpolicy_log[spec].items() if k != "history"})

# %% [markdown]
# ## Scoring every model once; every ordered pair by subtraction
# Each model scores all chosen and rejected responses (stage `logprobs_<model>`, resumable). Throughput is
# measured per model in sequences/s; a preference pair needs 2 sequences from each of its 2 models.

# %%
logprobs, timing = cdr.score_zoo(zoo, items, stages, executor, scoring)  # timing: models scored from scratch
timing

# %%
gap_scores, gap_metric = cdr.zoo_gap_scores(zoo, stages, gap_scores_file, gap_data,
                                            slices["gap"] if same_file else (0, gap_per_subset), batch_size)
pd.Series(gap_scores, name=gap_metric).to_frame()

# %%
evaluate = cdr.rewardbench_evaluator(eval_set, seed)  # (chosen rewards, rejected rewards) -> RewardBench-style report
pairs, tied_pairs, gap_tied = cdr.pair_sweep(zoo, gap_scores, logprobs, ids, variant, evaluate, sweep_pairs)
run.save_table(pairs, "pair_sweep")
rated = pairs[~pairs.reward_degenerate].dropna(subset=["headline"])  # a degenerate reward's headline is withheld
corr = cdr.correlation_ci(rated.gap, rated.headline, seed=seed)
print(*cdr.sweep_lines(pairs, tied_pairs, gap_tied, corr, gap_metric), sep="\n")
pairs

# %%
fig, caption = cdr_plots.gap_vs_headline_figure(pairs, rated, corr, gap_metric)
show(run, fig, "gap_vs_accuracy", caption)

# %% [markdown]
# With `sweep_pairs` "all", each point above is one unordered pair of zoo models, strong = the one with the higher
# score (the gap metric), as in the paper's sweep; pairs with equal scores have no strong side and are left out
# (counted above). With a list or a pairs file, the pairs are taken as named (gap = score(strong) - score(weak)).
# Either way every pair is a subtraction of two models' cached log-probs: the sweep costs one scoring per model.
# The y-axis is the RewardBench-style headline of the pair's density ratio (50 = chance). With few
# models the interval is wide: a Fisher-z interval on a handful of points spans most of [-1, 1] unless the
# relation is near perfect. With `gap_scores_file` the gap is an external per-model score (e.g. WB-Score); the
# offline default is the mean token log-likelihood of reference answers, which is only comparable between
# models that share a tokenizer (true of this zoo, not of hub models with different vocabularies).
#
# Ties are counted, not hidden. RewardBench counts a tie (|reward(chosen) - reward(rejected)| <= 1e-6) as wrong, so a
# pair whose reward ties at least 90% of the examples (e.g. two identical models, or collapsed rewards) would read as
# "below chance" while saying nothing: its `tied_share` is in the table, it is marked `reward_degenerate` and left out
# of the correlation. Pairs with the same gap are ordered by name (`gap_ties` counts them), so the table's order does
# not depend on the zoo's order.

# %% [markdown]
# ## The default pair on RewardBench sections, next to the baselines
# Same examples, same scoring: the density ratio (sum and mean), the strong model alone (reference-free
# mean and sum log-prob, RewardBench's "avg"/"sum" variants), the weak model alone, and a trained reward
# model when `reward_model` is set. Subset CIs are Wilson intervals, section and headline CIs a
# bootstrap over examples within subsets.
#
# A caveat on those bootstrap CIs at this size: a subset at 0/4 or 4/4 never varies under resampling, so a
# section whose two subsets are both at 0% or 100% gets a zero-width interval (e.g. Safety "50.0 [50.0, 50.0]"
# when should-refuse is 0/4 and should-respond 4/4). That is an artefact of 4 examples per subset, not
# certainty: the subset Wilson intervals below (about [0, 49%] and [51%, 100%] at 0/4 and 4/4) are the
# honest ones. A 0%/100% split inside a section is itself the signature of a reward that prefers one
# response style (e.g. longer) regardless of which one is right: the length check below the tables
# measures that directly.

# %%
S, W = logprobs[strong_name], logprobs[weak_name]
methods = cdr.baseline_methods(S, W, ids, strong_name, weak_name)
if reward_model:
    methods[f"reward model {reward_model}"] = cdr.reward_model_method(reward_model, items, ids, batch_size)
reports = {m: evaluate(*cr) for m, cr in methods.items()}
comparison = cdr.member_comparison(eval_set, methods, f"ratio {variant} ({strong_name} / {weak_name})",
                                   "strong alone, mean log-prob", "weak alone, mean log-prob", seed=seed)
method_tied = {m: cdr.tied_share(*cr) for m, cr in methods.items()}  # >= cdr.MAX_TIED_SHARE: the reward is degenerate
table = cdr.baseline_table(reports, method_tied)
run.save_table(table, "baselines")
table

# %% [markdown]
# **Reading the default pair.** The finding below compares the ratio with the child (strong) alone and the parent
# (weak) alone on the same examples, with paired bootstrap CIs of the differences. Compare the ratio's rows with the
# mean (length-normalised) variant too: when the weak model is a poor language model,
# the sum ratio grows with response length, and the length check above measures how often each method prefers
# the longer response. The paper's pairs are a DPO model over its SFT parent: two good models whose ratio
# isolates what preference tuning changed.

# %%
main = reports[f"ratio {variant} ({strong_name} / {weak_name})"]
print(cdr.comparison_sentence(comparison, strong_name, weak_name)[0])  # the ratio vs the child and the parent alone
display(main.table().round(1))
prefers_longer, lines = cdr.length_preference(S, ids, methods)  # how much of the ranking is response length?
print(*lines, sep="\n")
subsets = pd.DataFrame(main.subsets)
run.save_table(subsets, "default_pair_subsets")
subsets.round(3)

# %% [markdown]
# ## Customisation: router, criteria and exemplars
# The router (temperature 0, parse failure -> CHAT) picks a domain per prompt; the domain's criteria
# become the system prompt and one good/bad exemplar is put before the user turn; the same modified
# prompt goes to both models. Router accuracy is measured against the section the example comes from
# (Chat and Chat Hard -> CHAT).
#
# Cost: the customised prompts are several times longer than the plain ones (criteria ~40-80 tokens,
# exemplar ~60-100 tokens), so each variant costs more than the plain scoring of the same examples. The
# quick profile therefore customises 1 example per subset (8 in all) and compares off (plain) vs on
# (criteria + exemplar); `custom_criteria_only: true` adds the criteria-without-exemplar ablation, and the
# offline-ci / GPU profiles customise more examples. With 8 examples, one flipped pair moves a section by
# 50 points: the quick table shows that the machinery works, not whether customisation helps.

# %%
custom_rows, custom_tied = None, {}
router = {"accuracy": float("nan"), "domains": {}, "fallbacks": {"unparsed": 0, "error": None}}
if custom_per_subset:
    cset = rb.load_preference_set(eval_data, split=eval_split, per_subset=custom_per_subset)
    judge = Judge(router_model, backend=generation_backend, cache_dir=run.path("router_cache"), temperature=0.0,
                  max_tokens=4, executor=executor) if router_model else None
    domains, router["fallbacks"], lines = cdr.route_examples(cset, prompt_of, judge)
    router["accuracy"], router["domains"], line = cdr.router_accuracy(cset, domains)
    print(*lines, line, sep="\n")
    custom_reports, custom_tied = cdr.customisation_reports(
        cset, domains, cdr.load_customisation(customisation), prompt_of, stages, executor, scoring, zoo, strong_name,
        weak_name, variant, seed, criteria_only=custom_criteria_only)
    custom_rows = cdr.customisation_table(custom_reports, custom_tied)
    run.save_table(custom_rows, "customisation")
custom_rows

# %% [markdown]
# ## Before / after the on-policy run
# The trained model and its parent are both in the zoo, so the evaluation helpers give their numbers
# directly: the reference-free mean log-prob accuracy on the preference set and the held-out gap metric.

# %%
ba = cdr.before_after_table([parent_model] + trained_specs, logprobs, gap_scores, gap_metric, onpolicy_log, ids, evaluate)
if onpolicy_log:
    hist = pd.DataFrame(next(iter(onpolicy_log.values()))["history"])
    print(hist[[c for c in ("step", "loss", "rewards/accuracies", "rewards/margins") if c in hist]].to_string(index=False))
ba

# %% [markdown]
# **Reading it.** The paper's SimPO gains (ArenaHard +15) come from tens of thousands of pairs on an 8B
# model; the two rows above show how far this run's `train_steps` moved the policy on the preference set and
# the gap metric.

# %%
import torch

metrics = cdr.run_metrics(strong=strong_name, weak=weak_name, variant=variant, eval_set=eval_set, main=main,
                          reports=reports, method_tied=method_tied, custom_tied=custom_tied, pairs=pairs, rated=rated,
                          gap_tied=gap_tied, tied_pairs=tied_pairs, trained_specs=trained_specs,
                          parent_model=parent_model, gap_scores=gap_scores, gap_metric=gap_metric, corr=corr,
                          timing=timing, prefers_longer=prefers_longer, router=router, custom_rows=custom_rows,
                          onpolicy_rows=len(rows), onpolicy_log=onpolicy_log, torch_threads=torch.get_num_threads(),
                          health=stages.health(), comparison=comparison, sweep_pairs=sweep_pairs)
run.log_metrics(metrics)
executor.close()  # executor ray: disconnect (a Ray started here stops) before the kernel ends
{k: metrics[k] for k in metrics["headline"]}

# %% [markdown]
# ## Findings
# Computed from this run's metrics. On the quick profile the zoo is the embedded 135M model and copies derived
# from it, scored on a few examples per subset of our templated offline set: the paper's claims concern 7B
# pairs on the hub RewardBench (`allenai/reward-bench`, split `filtered`), which the full profiles score on a
# GPU; `offline-ci.yaml` scores more of the offline set so the section CIs are usable.

# %%
from IPython.display import Markdown

from helpers.core.report import findings_markdown

Markdown(findings_markdown(metrics))
