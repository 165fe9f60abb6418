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
default_pair = ["smollm2-135m-instruct", "layers:8"]  # [non-empty] (strong, weak) for the detailed report, customisation and on-policy labels; both must be zoo members
variant = "sum"  # [sum|mean] density ratio: sum (sequence log-probs) or mean (per-token, each model's own count)
max_prompt_tokens = 1024  # [1..] prompt left-truncation (tokens, per model)
max_response_tokens = 256  # [1..] response right-truncation (tokens, per model)
batch_size = 16  # [1..] scoring rows per forward pass
max_batch_tokens = 0  # [0..] above 0: batches sized by a token budget instead (GPU: e.g. 32768 keeps memory full)
gap_data = "builtin:rewardbench_offline.jsonl"  # [non-empty] two-choice set for the gap score: preference file (prompt/chosen/rejected) or facts (question/correct/wrong); same file as eval_data: a disjoint slice
gap_per_subset = 8  # [0..] preference-file gap sets: items per subset (0: all; from eval_data, after the eval, on-policy and train slices)
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
train_steps = 1  # [1..] optimiser steps for the preference-tuned zoo members
train_batch_size = 2  # [1..] pairs per step
learning_rate = 5e-6  # [0..] learning rate
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
import json, time
from pathlib import Path
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns
from helpers import Generator, LogProbScorer, Run, Sampling, run_stage, stable_id
from helpers.core.data import load_records
from helpers.core.judge import Judge
from helpers import cdr
from helpers.cdr import rewardbench as rb
from helpers.core.executor import Executor
executor = Executor.from_params(globals())  # log-prob scoring runs here (local) or on Ray replicas (ray)

import os, torch
from helpers.core import engines  # vLLM settings and CPU threads for every model this notebook loads
engines.configure(gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len,
                  tensor_parallel_size=tensor_parallel_size, torch_threads=torch_threads)
if torch_threads:
    # On shared cores torch's OpenMP pool can stall at its barriers: with load average 10 on 2 cores,
    # scoring 16 sequences took 31.6 s with 2 threads and 11.6 s with 1 thread (measured here).
    torch.set_num_threads(torch_threads)
print(f"torch threads: {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
from helpers.core.plotting import use_style, show
use_style()
pd.set_option("display.max_colwidth", 80)
run = Run.current("05_cdr")
from helpers.core.store import fallback_lines
from helpers.cdr.stages import GRAPH
stages = GRAPH.bind(run, globals())  # each stage's file and model folder is named by a hash of every parameter that changes it
same_file = gap_data == eval_data and not gap_scores_file
slices = cdr.data_slices(per_subset, onpolicy_prompts, offline_pairs_per_subset if "dpo-offline" in derived_zoo else 0,
                         gap_per_subset if same_file else 0)
eval_set = rb.load_preference_set(eval_data, split=eval_split, per_subset=per_subset or None)
sections = pd.Series([e["section"] for e in eval_set]).value_counts()
print(f"{len(eval_set)} preference examples from {eval_data}; per section: {sections.to_dict()}")
prompt_of = lambda e: rb.chat_prompt(e["prompt"])
items = cdr.response_items(eval_set, prompt_of)
ids = [e["id"] for e in eval_set]

# %% [markdown]
# ## The model zoo
# Real models come from `zoo_models`; weaker ones are derived here from `parent_model`: its layer-truncated
# copy (`layers:K`, sharing its tokenizer and template), a tiny random model, and preference-tuned children:
# `dpo-offline` (DPO on a train slice of the preference file, disjoint from the evaluation and gap slices; the
# paper's best pair type is such a child over its parent) and `simpo`/`dpo` trained on the on-policy pairs
# below. Which model is stronger is not assumed: the gap score of every model is measured below.

# %%
zoo = {m: m for m in zoo_models}
trained_specs = [s for s in derived_zoo if s in cdr.TRAINED_KINDS]
for spec in derived_zoo:  # each derived model's folder is keyed by everything that makes it
    if spec not in trained_specs:
        zoo[spec] = cdr.derive_model(spec, parent_model, stages.path("derived", "", part=spec, spec=spec), seed=seed)
resolve = lambda name: zoo.get(name, name)
strong_name, weak_name = default_pair
print("zoo so far:", list(zoo))

# %% [markdown]
# ## On-policy preference data and a short SimPO/DPO run
# The parent samples N responses per prompt; the default pair's density ratio scores them; chosen = best,
# rejected = a random non-best (or the worst); prompts whose rewards are all equal are dropped. The set is
# saved as a `datasets` folder in TRL's conversational prompt/chosen/rejected format, which DPOTrainer and
# CPOTrainer(loss_type="simpo") take as is.
#
# **Backend.** The quick profile samples 2 prompts x 3 responses x 16 tokens (about 100 new tokens) and
# routes 8 prompts with 4 tokens each: transformers `generate` does that in seconds, whereas the vLLM CPU
# engine needs about 55 s just to start, so `generation_backend: hf` here; the on-policy GPU profile
# (2000 prompts x 32 samples x 1024 tokens) uses vLLM, where its throughput pays back the start-up many
# times over. The labels come from the default pair, here the parent over its 8-layer truncation.

# %%
pool = rb.load_preference_set(eval_data, split=eval_split, per_subset=slices["onpolicy"][1] or None,
                              offset=slices["onpolicy"][0])[:onpolicy_prompts] if onpolicy_prompts else []
onpolicy_log, rows = {}, []
if onpolicy_prompts and pool:
    from helpers.core.executor import run_stage_on
    from helpers.core.generation import pick_backend
    # the parent samples here or on Ray replicas (executor); each prompt's seed comes from its id, not its batch
    sampler = cdr.onpolicy_spec(parent_model, generation_backend, onpolicy_samples, onpolicy_temperature, onpolicy_max_tokens, seed)
    sampled = run_stage_on(executor, stages.store("onpolicy_samples", engine=pick_backend(generation_backend), seeds="per-id"),
                           [{"id": e["id"], "prompt": prompt_of(e)} for e in pool], sampler, batch_size=8, desc="on-policy samples")
    # the default pair scores every sample through its log-prob store (the sweep below reuses the same stores)
    label = {name: cdr.score_responses(stages.store("logprobs", part=name, model=resolve(name), end_of_turn=cdr.end_of_turn(resolve(name))),
                                       cdr.logprob_spec(resolve(name), batch_size=batch_size, max_prompt_tokens=max_prompt_tokens,
                                                        max_response_tokens=max_response_tokens, max_batch_tokens=max_batch_tokens),
                                       cdr.sample_items(sampled), batch_size=64, desc=f"on-policy {name}", executor=executor)
             for name in (strong_name, weak_name)}
    def annotate(batch):
        return [{**r, "rewards": cdr.ratio_rewards(label[strong_name], label[weak_name], [f"{r['id']}/s{k}" for k in range(len(r["samples"]))], variant)}
                for r in batch]
    scored = run_stage(stages.store("onpolicy_rewards", strong=resolve(strong_name), weak=resolve(weak_name), samples=stable_id(sampled)),
                       sampled, annotate, batch_size=8)
    rng = __import__("random").Random(seed)
    for r in scored:
        pair = cdr.best_vs_rest(r["samples"], r["rewards"], onpolicy_rejected, rng)
        if pair:
            rows.append({"prompt": r["prompt"], "chosen": pair[0], "rejected": pair[1]})
    prefs = cdr.preference_dataset(rows)
    prefs.save_to_disk(str(run.path("onpolicy_preferences")))
    print(f"{len(rows)} preference pairs from {len(scored)} prompts ({len(scored) - len(rows)} dropped: all rewards equal)")
    display(pd.DataFrame(rows).head(3))
for spec in trained_specs:
    if spec == "dpo-offline":  # the paper's pair type: a preference-tuned child over its parent, on data disjoint from eval
        off, count = slices["train"]
        train = rb.load_preference_set(eval_data, split=eval_split, per_subset=count, offset=off)
        data, loss = cdr.preference_dataset([{"prompt": prompt_of(e), "chosen": e["chosen"], "rejected": e["rejected"]} for e in train]), "dpo"
    else:
        if not rows:
            raise ValueError(f"derived model {spec!r} needs on-policy pairs: set onpolicy_prompts > 0")
        data, loss = prefs, spec
    out_dir = stages.path("trained", "", part=spec, spec=spec, loss=loss, parent_model=parent_model, seed=seed,
                          onpolicy_max_tokens=onpolicy_max_tokens, data=stable_id([data[i] for i in range(len(data))]))
    from helpers.core.training import TrainOptions  # checkpoints every save_steps, resume after a kill, tracker, LoRA, launcher
    onpolicy_log[spec] = cdr.train_preference(parent_model, data, out_dir, loss=loss, steps=train_steps,
                                              learning_rate=learning_rate, batch_size=train_batch_size,
                                              max_length=max_prompt_tokens + onpolicy_max_tokens + 8, seed=seed,
                                              options=TrainOptions(save_steps=save_steps, report_to=report_to, lora_r=lora_r,
                                                                   launcher=train_launcher))
    zoo[spec] = str(out_dir)
    print(spec, f"({loss} on {len(data)} pairs)", {k: v for k, v in onpolicy_log[spec].items() if k != "history"})

# %% [markdown]
# ## Scoring every model once; every ordered pair by subtraction
# Each model scores all chosen and rejected responses (stage `logprobs_<model>`, resumable). Throughput is
# measured per model in sequences/s; a preference pair needs 2 sequences from each of its 2 models.

# %%
logprobs, timing = {}, []
for name, path in zoo.items():  # each scorer is plain data: loaded in this process or once per Ray replica
    scorer = cdr.logprob_spec(path, batch_size=batch_size, max_prompt_tokens=max_prompt_tokens, max_response_tokens=max_response_tokens,
                              max_batch_tokens=max_batch_tokens)
    store = stages.store("logprobs", part=name, model=path, end_of_turn=cdr.end_of_turn(path))
    fresh = len(items) - sum(1 for it in items if stable_id(path, it["id"], it["prompt"], it["response"]) in store)
    t0 = time.perf_counter()
    logprobs[name] = cdr.score_responses(store, scorer, items, batch_size=64, desc=f"score {name}", executor=executor)
    took = time.perf_counter() - t0
    if fresh == len(items):
        timing.append({"model": name, "sequences": fresh, "seconds": round(took, 1), "seq_per_s": fresh / took})
timing = pd.DataFrame(timing)
timing

# %%
if gap_scores_file:
    gap_scores, gap_metric = cdr.load_gap_scores(gap_scores_file), f"external score ({Path(gap_scores_file).name})"
else:  # an accuracy on a held-out two-choice set: comparable across tokenizers, unlike a per-token log-likelihood
    off, count = slices["gap"] if same_file else (0, gap_per_subset)
    gap_items = cdr.load_mc_set(gap_data, per_subset=count, offset=off)
    gap_store = stages.store("gap_scores", items=stable_id(count, off, [it["id"] for it in gap_items]))
    def gap(batch):
        return [{"id": b["id"], "path": b["path"], "score": cdr.mc_accuracy(LogProbScorer(b["path"], batch_size=batch_size), gap_items)}
                for b in batch]
    recs = run_stage(gap_store, [{"id": stable_id(n, p), "name": n, "path": p} for n, p in zoo.items()], gap, batch_size=1, desc="gap set")
    gap_scores = {n: r["score"] for n, r in zip(zoo, recs)}
    gap_metric = f"accuracy on {len(gap_items)} held-out two-choice items"
pd.Series(gap_scores, name=gap_metric).to_frame()


# %%
def evaluate(chosen, rejected):
    return rb.rewardbench_report(eval_set, rb.pairwise_correct(chosen, rejected), seed=seed)

pair_list, tied_pairs = cdr.unordered_pairs(list(zoo), gap_scores)
pairs = []
for s, w, gap in pair_list:
    ch = cdr.ratio_rewards(logprobs[s], logprobs[w], [i + "/chosen" for i in ids], variant)
    rj = cdr.ratio_rewards(logprobs[s], logprobs[w], [i + "/rejected" for i in ids], variant)
    rep, acc = evaluate(ch, rj), float(np.mean(rb.pairwise_correct(ch, rj)))
    share = cdr.tied_share(ch, rj)  # pairs the reward cannot order (|chosen - rejected| <= cdr.TIE_TOLERANCE)
    pairs.append({"strong": s, "weak": w, "gap": gap, "accuracy": acc, **{k: 100 * v for k, v in rep.flat().items()},
                  "headline": 100 * rep.headline if rep.headline is not None else None,
                  "tied_share": share, "reward_degenerate": not cdr.reward_reliability(share)[0]})
pairs = cdr.rank_sweep(pairs)  # largest gap first; equal gaps by strong, weak name (stable); gap_ties counts them
pairs["reward_degenerate"] = pairs["reward_degenerate"].astype(bool)
gap_tied = cdr.gap_ties(pairs)
run.save_table(pairs, "pair_sweep")
rated = pairs[~pairs.reward_degenerate].dropna(subset=["headline"])  # a degenerate reward's headline is withheld
corr = cdr.correlation_ci(rated.gap, rated.headline, seed=seed)
print(f"{len(pairs)} unordered pairs (strong = the higher {gap_metric}); {len(tied_pairs)} left out with equal scores"
      + (f": {tied_pairs}" if tied_pairs else ""))
if pairs.reward_degenerate.any():
    print(f"{int(pairs.reward_degenerate.sum())} pair(s) left out of the correlation, reward degenerate "
          f"(>= {cdr.MAX_TIED_SHARE:.0%} of pairs tied): " + ", ".join(f"{s} / {w}" for s, w in pairs[pairs.reward_degenerate][["strong", "weak"]].values))
if gap_tied:
    print(f"{len(gap_tied)} pair(s) of pairs with the same gap (ordered by name): " + "; ".join(f"{a} = {b}" for a, b in gap_tied))
print("gap vs RewardBench-style headline:", {k: (round(v, 3) if isinstance(v, float) else v) for k, v in corr.items()})
pairs

# %%
fig, ax = plt.subplots(figsize=(10, 4.8))
ax.axhline(50, color="grey", lw=1, ls="--", label="chance (50)")
ax.scatter(rated.gap, rated.headline, color="tab:blue", zorder=3)
bad = pairs[pairs.reward_degenerate]
if len(bad):
    ax.scatter(bad.gap, bad.headline, color="grey", marker="x", zorder=3,
               label=f"reward degenerate (>= {cdr.MAX_TIED_SHARE:.0%} of pairs tied): left out")
for k, (_, r) in enumerate(pairs.iterrows(), start=1):  # numbered points, names in the legend box (no overlapping labels)
    ax.annotate(str(k), (r.gap, r.headline), xytext=(4, 4), textcoords="offset points", fontsize=8)
key = "\n".join(f"{k}: {r.strong[:22]} / {r.weak[:22]}" for k, (_, r) in enumerate(pairs.iterrows(), start=1))
ax.text(1.02, 1.0, key, transform=ax.transAxes, va="top", fontsize=8, family="monospace")
if corr["pearson"] is not None:
    b, a = np.polyfit(rated.gap, rated.headline, 1)
    xs = np.linspace(pairs.gap.min(), pairs.gap.max(), 10)
    ax.plot(xs, a + b * xs, "k-", lw=1, label="least-squares line")
    title = f"Pearson r = {corr['pearson']:.2f} [{corr['pearson_low']:.2f}, {corr['pearson_high']:.2f}] over {corr['n']} pairs"
else:
    title = f"{corr['n']} pairs: too few (or constant) for a correlation"
ax.set(xlabel=f"performance gap, strong - weak ({gap_metric})", ylabel="RewardBench-style headline of the ratio (%)",
       title=title)
ax.legend(loc="lower right", fontsize=8)
show(run, fig, "gap_vs_accuracy", f"Each numbered point is one (strong, weak) pair of the zoo (names on the right): x its "
     f"gap in {gap_metric}, y the RewardBench-style headline of its density-ratio reward; the dashed line is chance; "
     f"grey crosses: pairs whose reward ties at least {cdr.MAX_TIED_SHARE:.0%} of the pairs, left out of the fit.")

# %% [markdown]
# Each point above is one unordered pair of zoo models, strong = the one with the higher score (the gap
# metric), as in the paper's sweep; pairs with equal scores have no strong side and are left out (counted
# above). The y-axis is the RewardBench-style headline of the pair's density ratio (50 = chance). With few
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
def side(f):
    return [f(i + "/chosen") for i in ids], [f(i + "/rejected") for i in ids]
methods = {
    f"ratio sum ({strong_name} / {weak_name})": side(lambda k: cdr.ratio(S[k], W[k], "sum")),
    f"ratio mean ({strong_name} / {weak_name})": side(lambda k: cdr.ratio(S[k], W[k], "mean")),
    f"strong alone, mean log-prob": side(lambda k: S[k].mean),
    f"strong alone, sum log-prob": side(lambda k: S[k].sum),
    f"weak alone, mean log-prob": side(lambda k: W[k].mean),
}
if reward_model:
    rm = cdr.reward_model_scores(reward_model, [(it["prompt"], it["response"]) for it in items], batch_size=batch_size)
    rm = dict(zip([it["id"] for it in items], rm))
    methods[f"reward model {reward_model}"] = side(lambda k: rm[k])
reports = {m: evaluate(*cr) for m, cr in methods.items()}
method_tied = {m: cdr.tied_share(*cr) for m, cr in methods.items()}  # >= cdr.MAX_TIED_SHARE: the reward is degenerate
table = pd.DataFrame([{"method": m, **{k: round(100 * v, 1) for k, v in r.flat().items()},
                       "headline_ci": f"[{100 * r.headline_ci[0]:.1f}, {100 * r.headline_ci[1]:.1f}]" if r.headline_ci else "",
                       "tied_share": None if method_tied[m] is None else round(method_tied[m], 3), "reward": cdr.degenerate_note(method_tied[m]) or "ok"}
                      for m, r in reports.items()])
run.save_table(table, "baselines")
table

# %% [markdown]
# **Reading the default pair.** Compare the ratio's rows with the strong model alone and with the mean
# (length-normalised) variant before reading anything into them: when the weak model is a poor language model,
# the sum ratio grows with response length, and the length check above measures how often each method prefers
# the longer response. The paper's pairs are a DPO model over its SFT parent: two good models whose ratio
# isolates what preference tuning changed.

# %%
main = reports[f"ratio {variant} ({strong_name} / {weak_name})"]
display(main.table().round(1))
# How much of the ranking is response length? Share of examples (with unequal token counts) where a
# method prefers the response with more tokens under the strong model's tokenizer.
longer = np.array([S[i + "/chosen"].n_tokens > S[i + "/rejected"].n_tokens for i in ids])
unequal = np.array([S[i + "/chosen"].n_tokens != S[i + "/rejected"].n_tokens for i in ids])
prefers_longer = {m: float(np.mean((np.array(ch) > np.array(rj))[unequal] == longer[unequal])) for m, (ch, rj) in methods.items()}
print(f"chosen is the longer response in {longer[unequal].mean():.0%} of {unequal.sum()} examples with unequal lengths")
print("share of those where each method prefers the longer response:")
print(pd.Series(prefers_longer).round(2).to_string())
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
custom_rows, router_acc, router_domains, router_fallbacks = None, float("nan"), {}, {"unparsed": 0, "error": None}
custom_tied = {}
if custom_per_subset:
    spec = cdr.load_customisation(customisation)
    cset = rb.load_preference_set(eval_data, split=eval_split, per_subset=custom_per_subset)
    if router_model:
        judge = Judge(router_model, backend=generation_backend, cache_dir=run.path("router_cache"), temperature=0.0, max_tokens=4, executor=executor)
        domains, router_fallbacks = cdr.route([prompt_of(e) for e in cset], judge.complete)
        if router_fallbacks["unparsed"] or router_fallbacks["error"]:
            print(f"router fallbacks to CHAT: {router_fallbacks['unparsed']} of {len(cset)} replies named no domain"
                  + (f"; the router failed: {router_fallbacks['error']}" if router_fallbacks["error"] else ""))
    else:
        domains = ["CHAT"] * len(cset)
    gold = [cdr.SECTION_DOMAIN[e["section"]] for e in cset]
    router_acc = float(np.mean([d == g for d, g in zip(domains, gold)]))
    router_domains = {k: int(v) for k, v in pd.Series(domains).value_counts().items()}
    print(f"router accuracy {router_acc:.0%} (all-CHAT would score {np.mean([g == 'CHAT' for g in gold]):.0%}); routed: {pd.Series(domains).value_counts().to_dict()}")
    cids = [e["id"] for e in cset]
    variants_c = {"plain": lambda e, d: prompt_of(e)}
    if custom_criteria_only:
        variants_c["criteria"] = lambda e, d: cdr.customise(prompt_of(e), d, spec, exemplars=False)
    variants_c["criteria + exemplar"] = lambda e, d: cdr.customise(prompt_of(e), d, spec)
    custom_reports = {}
    for label_c, make in variants_c.items():
        citems = [{"id": f"{e['id']}/{side_}", "prompt": make(e, d), "response": e[side_]}
                  for e, d in zip(cset, domains) for side_ in ("chosen", "rejected")]
        lp = {}
        for name in (strong_name, weak_name):
            scorer = cdr.logprob_spec(resolve(name), batch_size=batch_size, max_prompt_tokens=max_prompt_tokens,
                                      max_response_tokens=max_response_tokens, max_batch_tokens=max_batch_tokens)
            # same store as the main scoring: records are keyed by (model, id, prompt, response), so the
            # "plain" variant of examples already scored above costs nothing
            lp[name] = cdr.score_responses(stages.store("logprobs", part=name, model=resolve(name), end_of_turn=cdr.end_of_turn(resolve(name))),
                                           scorer, citems, batch_size=64, desc=f"{label_c}: {name}", executor=executor)
        ch = cdr.ratio_rewards(lp[strong_name], lp[weak_name], [i + "/chosen" for i in cids], variant)
        rj = cdr.ratio_rewards(lp[strong_name], lp[weak_name], [i + "/rejected" for i in cids], variant)
        custom_reports[label_c] = rb.rewardbench_report(cset, rb.pairwise_correct(ch, rj), seed=seed)
        custom_tied[label_c] = cdr.tied_share(ch, rj)
    custom_rows = pd.DataFrame([{"prompting": k, **{m: round(100 * v, 1) for m, v in r.flat().items()},
                                 "tied_share": None if custom_tied[k] is None else round(custom_tied[k], 3)} for k, r in custom_reports.items()])
    run.save_table(custom_rows, "customisation")
custom_rows

# %% [markdown]
# ## Before / after the on-policy run
# The trained model and its parent are both in the zoo, so the evaluation helpers give their numbers
# directly: the reference-free mean log-prob accuracy on the preference set and the held-out gap metric.

# %%
ba = []
for key in [parent_model] + trained_specs:
    if key not in logprobs or key not in gap_scores:
        continue
    r = evaluate(*side(lambda k, key=key: logprobs[key][k].mean))
    ba.append({"model": key, "mean-logprob headline": round(100 * r.headline, 1) if r.headline is not None else None,
               gap_metric: round(gap_scores[key], 4), **{f"train {k}": v for k, v in onpolicy_log.get(key, {}).items() if k in ("steps", "seconds", "n_pairs")}})
ba = pd.DataFrame(ba)
if onpolicy_log:
    hist = pd.DataFrame(next(iter(onpolicy_log.values()))["history"])
    print(hist[[c for c in ("step", "loss", "rewards/accuracies", "rewards/margins") if c in hist]].to_string(index=False))
ba

# %% [markdown]
# **Reading it.** The paper's SimPO gains (ArenaHard +15) come from tens of thousands of pairs on an 8B
# model; the two rows above show how far this run's `train_steps` moved the policy on the preference set and
# the gap metric.

# %%
pair_speed = None
if len(timing) and {strong_name, weak_name} <= set(timing.model):
    t = timing.set_index("model")
    sec_per_pair = 2 / t.loc[strong_name, "seq_per_s"] + 2 / t.loc[weak_name, "seq_per_s"]
    pair_speed = 1 / sec_per_pair
child = [r for r in pairs.to_dict(orient="records") if {r["strong"], r["weak"]} & set(trained_specs) and parent_model in (r["strong"], r["weak"])]
main_label = f"ratio {variant} ({strong_name} / {weak_name})"
metrics = {
    "default_pair": f"{strong_name} / {weak_name}", "variant": variant, "n_examples": len(eval_set),
    "headline": ["ratio_headline_reported", "ratio_headline", "gap_accuracy_pearson", "pairs_per_s"],
    "ratio_headline": 100 * main.headline if main.headline is not None else None,
    "ratio_headline_ci": [100 * x for x in main.headline_ci] if main.headline_ci else None,
    **{f"ratio_{k}": 100 * v for k, v in main.flat().items() if k != "headline"},
    "section_ci": {s: [100 * v["ci_low"], 100 * v["ci_high"]] for s, v in main.sections.items()},
    "strong_alone_mean_headline": 100 * reports["strong alone, mean log-prob"].headline if reports["strong alone, mean log-prob"].headline is not None else None,
    "tie_tolerance": cdr.TIE_TOLERANCE, "max_tied_share": cdr.MAX_TIED_SHARE,
    "ratio_tied_share": method_tied[main_label], "strong_alone_mean_tied_share": method_tied["strong alone, mean log-prob"],
    "baseline_tied_share": method_tied, "customisation_tied_share": custom_tied,
    "pairs_tied_share": {f"{s} / {w}": t for s, w, t in zip(pairs.strong, pairs.weak, pairs.tied_share)},
    "pairs_reward_degenerate": int(pairs.reward_degenerate.sum()), "pairs_rated": len(rated),
    "pairs_gap_distinct": int(pd.to_numeric(rated.gap).round(9).nunique()),
    "pairs_headline_distinct": int(pd.to_numeric(rated.headline).round(9).nunique()),
    "pairs_gap_tied": [list(t) for t in gap_tied],
    "n_pairs": len(pairs), "pairs_tied": len(tied_pairs), "tied_pairs": [list(t) for t in tied_pairs],
    "child_parent_pairs": [{k: r[k] for k in ("strong", "weak", "gap", "headline", "tied_share")} for r in child],
    "gap_scores": gap_scores, "gap_metric": gap_metric,
    "gap_accuracy_pearson": corr["pearson"], "gap_accuracy_pearson_low": corr["pearson_low"],
    "gap_accuracy_pearson_high": corr["pearson_high"],
    "gap_accuracy_pearson_ci": [corr["pearson_low"], corr["pearson_high"]] if corr["pearson"] is not None else None,
    "gap_accuracy_spearman": corr["spearman"],
    "pairs_per_s": pair_speed, "seq_per_s": dict(zip(timing.model, timing.seq_per_s)) if len(timing) else {},
    "ratio_prefers_longer": prefers_longer[main_label],
    "router_accuracy": router_acc if router_acc == router_acc else None, "router_domains": router_domains, "router_fallbacks": router_fallbacks, "torch_threads": torch.get_num_threads(),
    "customisation": custom_rows.set_index("prompting").to_dict(orient="index") if custom_rows is not None else {},
    "onpolicy_pairs": len(rows), "trained": {k: {"pairs": v["n_pairs"], "steps": v["steps"]} for k, v in onpolicy_log.items()},
    "train_seconds_per_step": {k: v["seconds_per_step"] for k, v in onpolicy_log.items()},
}
metrics.update(stages.health())
metrics.update(cdr.findings(metrics))
metrics["findings"] = list(metrics.get("findings", [])) + fallback_lines(stages.health())
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
