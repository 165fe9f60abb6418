# ---
# jupyter:
#   helpers:
#     checkpoints: helpers.magpie:published_checkpoints
#     precheck: helpers.magpie:check_params
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Magpie: alignment data from nothing but the model's chat template
#
# **Question.** What instruction data does an aligned model write when it is given only the opening of a
# user turn, and how much of it survives cleaning, de-duplication, tagging and the released filters?
#
# **Method** (Magpie, Xu et al. 2024, arXiv 2406.08464). (1) Derive the *pre-query template* from the
# model's own chat template (render a sentinel user message, cut at it). (2) Sample many queries from
# that raw prompt at high temperature, stopping on every special/role token; drop or flag empty,
# truncated and too-short ones. (3) De-duplicate the queries with sentence embeddings *before* paying for
# responses. (4) Answer with the normal chat template (greedy). (5) Tag with an LLM (task category,
# input quality, difficulty), a language detector, optional reward and guard models. (6) Filter
# (presets equivalent to Magpie-Pro / Magpie-Air), export ShareGPT JSONL + a `datasets` folder + a
# data card, and optionally fine-tune a model on the result (TRL `SFTTrainer`).
#
# Every expensive stage is a resumable JSONL stage: rerunning a killed run repeats no finished work.
# On the quick profile the writer, tagger and SFT model are the embedded SmolLM2-135M-Instruct; such a
# small model shows the pipeline and what its data looks like, **not** the paper's data quality or
# its downstream gains (see *Reading it* at the end).

# %% tags=["parameters"]
model = "smollm2-135m-instruct"  # [non-empty] writes instructions and responses: embedded alias, local folder or hub id
backend = "auto"  # [auto|vllm|hf] auto: vllm when installed, else hf (transformers)
tensor_parallel_size = 1  # [1..] vLLM GPUs per model (70B: 4-8)
hf_batch_size = 64  # [1..] transformers backend: sequences per batch
pre_query_template = ""  # override; empty: derive from the model's chat template
use_default_system = True  # keep the default system turn the chat template inserts (SmolLM2, Qwen2.5)
system_prompts = {}  # variants picked per call: name -> [prompt, probability]; the name default means the template's default
n_instructions = 120  # [1..] query samples to draw in total
samples_per_call = 40  # [1..] samples per call of the identical pre-query prompt (vLLM n)
ins_temperature = 1.0  # [0..] query sampling temperature
ins_top_p = 1.0  # [0..1] query nucleus sampling
ins_max_tokens = 64  # [1..] max tokens per query (a query that hits it is truncated and dropped)
first_line_stop = False  # also stop at the first newline (single-line queries; the reference's Llama-3 default)
role_word_stops = True  # also stop on line-start role words ("assistant" after a turn)
sanitize = True  # strip "Task:/Question:" prefixes, cut at "Answer:/Solution:"
min_instruction_words = 3  # [0..] queries with fewer words are too short (dropped)
seed = 0  # [0..] sampling seed
n_responses = 40  # [0..] queries that get responses (unique ones first); 0: all kept queries
res_temperature = 0.0  # [0..] response temperature (0: greedy)
res_top_p = 1.0  # [0..1] response nucleus sampling
res_max_tokens = 96  # [1..] max response tokens
n_turns = 1  # [1..] conversation turns (2 or more: multi-turn Magpie)
multi_turn_system_prompt = ""  # system prompt for follow-up queries; empty: the built-in multi-round prompt
tagger_model = "smollm2-135m-instruct"  # LLM tagger (alias, folder, hub id, or the model name at tagger_base_url); empty: no LLM tags
tagger_base_url = ""  # OpenAI-compatible endpoint for the tagger (empty: local through the generation helper)
tagger_timeout = 120.0  # [1..] seconds an endpoint request may take (then 2 retries, then a counted failure)
tag_mode = "logprob"  # [generate|logprob] generate: the tagger writes JSON (the reference); logprob: the most likely label after the prefill (local taggers; never a parse failure)
tag_tasks = ["quality", "difficulty", "category"]  # [quality|difficulty|category] tags to ask for
tag_max_tokens = 16  # [1..] tagger answer length (the label comes first when tag_label_first)
tag_reference = "builtin:magpie_tag_reference.jsonl"  # queries labelled by us: the tagger's agreement with them is measured (empty: no check)
tag_label_first = True  # prefill '{"<key>": "' (True) or '{' as the reference (False)
reward_model = ""  # sequence-classification reward model, or the strong model of a density ratio; empty: none
reward_ref_model = ""  # weak model of a density ratio (reward: log p_strong - log p_weak); empty: classifier RM
guard_model = ""  # Llama-Guard-style safety model; empty: none
dedup_threshold = 0.05  # [0..4] duplicate if squared L2 of unit embeddings (2 - 2 cos) is below this
dedup_k = 5  # [1..] neighbours searched per query
filter_preset = "pro-relative"  # [none|pro|air|pro-relative|air-relative|top-reward] pro / air: the paper's absolute thresholds; *-relative: the same rules at quantiles of this run's own tags and rewards; top-reward: the highest-reward share; the params below override it when set
filter_quantile = 0.5  # [0..1] relative presets: a record passes a quality / difficulty / reward threshold at or above this quantile of the values that reach the step (0.5: the median)
filter_top_share = 0.3  # [0..1] air-relative and top-reward: the share the ranking step keeps (rounded up, at least 1)
min_quality = None  # [very poor|poor|average|good|excellent] minimum input quality (absolute)
min_difficulty = None  # [very easy|easy|medium|hard|very hard] minimum difficulty (absolute)
min_reward = None  # minimum instruct_reward
drop_duplicates = None  # drop near-duplicates (all but the earliest copy)
min_response_tokens = None  # minimum response length
languages = None  # list of ISO codes to keep, e.g. ["en"]
top_n_longest = None  # [1..] keep the N longest responses (Air)
top_n_reward = None  # [1..] keep the N highest rewards (needs a reward model)
sft = True  # fine-tune a model on the filtered data
sft_model = "smollm2-135m-instruct"  # model to fine-tune (alias, folder or hub id)
sft_data = "filtered"  # [filtered|all] filtered: the kept records (joined by id); all: every answered record
sft_steps = 4  # [1..] optimizer steps
sft_batch_size = 2  # [1..] conversations per step
sft_lr = 2e-5  # [0..] learning rate (cosine)
sft_max_length = 256  # [8..] tokens per conversation
save_steps = 0  # [0..] SFT: a checkpoint every N optimizer steps, resumed after a kill (0: only the final model)
report_to = "none"  # [none|trackio|wandb|mlflow|tensorboard] SFT training logs go to this tracker (it must be installed)
lora_r = 0  # [0..] SFT: LoRA rank through peft, for models too large to fine-tune fully (0: full fine-tuning)
train_launcher = "local"  # SFT: local (this process), accelerate-ddp (multi-GPU DDP), accelerate-zero3 (DeepSpeed ZeRO-3) or accelerate-cpu
gpu_memory_utilization = 0.0  # [0..1] vLLM: fraction of GPU memory per engine (CPU build: of RAM for the KV cache); 0: 0.85 on a GPU, 0.3 on a CPU
max_model_len = 0  # [0..] vLLM: context length of an engine (prompt + reply tokens); 0: 2048
torch_threads = 0  # [0..] CPU threads for torch; 0: the cores free right now (os.sched_getaffinity minus the load average)
executor = "local"  # [local|ray] where the resumable generation / scoring stages and the local judge's calls run: local (this process) or ray (Ray replicas; README, On a cluster)
ray_address = ""  # executor ray: empty starts Ray on this machine; auto, host:port or ray://host:port joins a running cluster
ray_replicas = 1  # [1..] executor ray: data-parallel replicas, each with its own copy of the model
ray_gpus_per_replica = 0  # [0..] executor ray: GPUs per replica (0 on a CPU; above 1: tensor parallel inside the replica, vLLM)

# %%
import pandas as pd
from IPython.display import Markdown, display

from helpers import Sampling, stable_id
from helpers import magpie as mp
from helpers.core.executor import Executor, run_stage_on
from helpers.core.notebook import start_notebook
from helpers.core.plotting import show
from helpers.core.store import atomic_write_text
from helpers.magpie.stages import GRAPH, point_to

run, stages = start_notebook("01_magpie", globals(), GRAPH)  # engine settings, plot style, run folder
pd.set_option("display.max_colwidth", 110)
# the writer as plain data: the instruction and response stages build its Generator in this process
# (executor local) or once per Ray replica (executor ray); the records are the same either way
executor = Executor.from_params(globals())
writer = dict(model=model, backend=backend, tensor_parallel_size=tensor_parallel_size, batch_size=hf_batch_size)
tok, engine_name, on_gpu = mp.writer_setup(model, backend)
print(f"writer {model} ({engine_name}); stages run {executor} | run folder: {run.dir}")

# %% [markdown]
# ## 1 · Pre-query templates
# Derived from the chat template: render a conversation whose user message is a sentinel and cut
# there. SmolLM2's template inserts a default system turn; keeping it is what makes this model write
# questions rather than fragments (measured in the reference notes). A params override wins.

# %%
variants = {name: spec[0] for name, spec in system_prompts.items()}
variants.setdefault("default", None)
templates = {}
for name, sys_text in variants.items():
    if pre_query_template:
        templates[name] = pre_query_template
    else:
        templates[name] = mp.derive_pre_query_template(tok, system_prompt=sys_text, default_system=use_default_system,
                                                       model_name=model)
stops = mp.stop_strings(tok, first_line=first_line_stop, role_words=role_word_stops)
pd.DataFrame([{"variant": k, "pre_query_template": repr(v)} for k, v in templates.items()] +
             [{"variant": "stop strings", "pre_query_template": repr(stops)}])

# %% [markdown]
# ## 2 · Instructions
# Each call samples `samples_per_call` queries from one identical raw prompt (vLLM shares its prefix).
# Samples that are empty, hit `ins_max_tokens` (truncated) or are too short are flagged and dropped.

# %%
n_calls = max(1, -(-n_instructions // samples_per_call))
call_names = mp.pick_system_prompts(system_prompts, n_calls, seed)
ins_sampling = Sampling(n=samples_per_call, temperature=ins_temperature, top_p=ins_top_p, max_tokens=ins_max_tokens,
                        stop=stops, seed=seed)
ins_key = stable_id(model, templates, ins_sampling.__dict__, length=8)
calls = run_stage_on(executor, stages.store("instructions", templates=templates, stops=stops, engine=engine_name),
                     mp.instruction_calls(n_calls, call_names, seed, ins_key), mp.instruction_spec(writer, templates, ins_sampling),
                     batch_size=4, desc="instruction calls")
rules = mp.CleanRules(min_words=min_instruction_words, sanitize=sanitize, first_line=first_line_stop, cut_at=tuple(stops))
gen_config = {"temperature": ins_temperature, "top_p": ins_top_p, "input_generator": model}
samples = mp.flatten_samples(calls, rules, templates, gen_config)[:n_instructions]
status, ins_seconds, ins_per_min = mp.instruction_throughput(samples, calls)
print(f"{len(samples)} samples in {ins_seconds:.0f} s of generation = {ins_per_min:.0f} instructions/min; status: {dict(status)}")
pd.DataFrame([{"instruction": s["raw"][:150], "status": s["status"]} for s in samples[:12]])

# %% [markdown]
# ## 3 · De-duplication (before responses)
# Queries are embedded with the offline all-MiniLM-L6-v2. For each: `min_neighbor_distance` (to the
# nearest other query), `repeat_count` (neighbours closer than the threshold) and
# `min_similar_conversation_id` (the earliest of them, the copy that is kept).

# %%
ok = [s for s in samples if s["status"] == "ok"]
if not ok:
    print("No instruction survived cleaning: look at the raw samples above (template, stops, max tokens).")
emb, n_dup = mp.mark_near_duplicates(ok, stages, dedup_k, dedup_threshold)  # embeddings cached by the query texts
print(f"{len(ok)} clean queries, {n_dup} near-duplicates of an earlier one ({n_dup / max(len(ok), 1):.0%}), "
      f"{len({s['instruction'] for s in ok})} distinct strings")
fig = mp.plot_neighbor_distances([s["min_neighbor_distance"] for s in ok], dedup_threshold)
show(run, fig, "neighbor_distances", f"Distance of each clean query to its nearest other query; {n_dup} of {len(ok)} fall below the threshold {dedup_threshold:g} and count as near-duplicates.")

# %% [markdown]
# ## 4 · Responses
# The normal chat template with the generation prompt (the same system turn the query was sampled
# with), greedy by default. Unique queries go first, so the response budget is not spent on copies.

# %%
chosen = mp.unique_first(ok)[: n_responses or len(ok)]
res_sampling = Sampling(temperature=res_temperature, top_p=res_top_p, max_tokens=res_max_tokens, seed=seed)
q_sampling = Sampling(temperature=ins_temperature, top_p=ins_top_p, max_tokens=ins_max_tokens, stop=stops, seed=seed + 1)
mt_prompt = multi_turn_system_prompt or mp.MULTI_TURN_SYSTEM_PROMPT
res_spec = mp.response_spec(writer, variants, res_sampling, n_turns=n_turns, query_sampling=q_sampling,
                            mt_system_prompt=mt_prompt, rules=rules)
res_store = stages.store("responses", templates=templates, stops=stops, engine=engine_name, variants=variants,
                         multi_turn_system_prompt=mt_prompt)
responses = run_stage_on(executor, res_store, chosen, res_spec, batch_size=16, desc="responses") if chosen else []
res_tok_s, lines = mp.response_stats(responses, n_turns)
print(*lines, sep="\n")

# %% [markdown]
# ## 5 · Tags
# Two ways to get a tag (`tag_mode`). **generate** (the reference): the tagger answers one JSON question per tag
# at temperature 0, its answer prefilled (label first on small models) and parsed robustly: anything without a
# valid label becomes `None` and is counted, never an exception. **logprob** (local taggers): after the same
# prompt and prefill, every allowed label is scored as the continuation and the most likely one is the tag, so
# nothing fails to parse and the tags measure what the tagger prefers. Either way the tagger is checked against
# `tag_reference`, queries labelled by us: exact agreement per tag with a Wilson CI, next to the rate of always
# answering the most common label. Language comes from `langdetect`; reward and safety only when configured.

# %%
notes = []
if mp.writer_gpu_needed_elsewhere(on_gpu, engine_name, model, tagger_model, guard_model, reward_model):
    gen = None  # the writer is done: give its GPU memory to the tagger/guard/reward models
    mp.free_engines()

# %%
tags, tag_agreement = {}, []
if tagger_model and chosen:
    tag_proc = mp.make_tag_process(tag_mode, tagger_model, tag_tasks, base_url=tagger_base_url, timeout=tagger_timeout,
                                   backend=backend, cache_dir=run.path("tagger_cache"), max_tokens=tag_max_tokens,
                                   label_first=tag_label_first, executor=executor)
    tags, tag_agreement = mp.tag_records(chosen, stages, tag_proc, tag_reference, tag_tasks)
    if tag_reference:  # how far can these tags be trusted? the same tagger on queries labelled by us
        display(pd.DataFrame(tag_agreement).round(3))
tag_failures, tag_errors, tag_notes = mp.tag_failure_counts(tags, tag_tasks)  # endpoint errors: retried next run
notes += tag_notes
print("tagger:", tagger_model or "none", "| parse failures per task:", tag_failures, f"of {len(tags)}",
      "| endpoint errors per task (retried next run):", tag_errors)

# %%
# a configured reward or guard model that cannot load stops the run (RewardLoadError): no silent skip
reward_scores, reward_name = mp.reward_scores(stages, reward_model, reward_ref_model, chosen, responses)
safety, guard_notes = mp.guard_verdicts(stages, guard_model, backend, chosen, responses)  # joined by id
notes += guard_notes

# %% [markdown]
# ## 6 · Records, filters and export
# One record per conversation in the reference schema; then the filters run one at a time so each
# one's toll is visible. The paper's presets use absolute thresholds: `pro` is input_quality ≥ average,
# reward ≥ -10 (skipped when no reward model is configured) and no near-duplicates; `air` is input_quality ≥
# good, difficulty ≥ medium and optionally the N longest responses; both drop queries ending in ":". They assume
# a 70B-class tagger and a trained reward model. The relative presets keep each rule but put its threshold at a
# quantile (`filter_quantile`) of this run's own tags and rewards, or keep the top share (`filter_top_share`) by
# reward (`top-reward`) or by response length (`air-relative`), so a tagged set never ends empty. With log-prob
# tags a quality or difficulty quantile is taken of the tagger's expected level (its label probabilities
# weighted by level), which still ranks the records when one label wins on all of them. What every preset would
# keep on the same records is shown beside the chosen one.

# %%
response_configs = {"prompt": "chat template", "temperature": res_temperature, "top_p": res_top_p,
                    "repetition_penalty": 1.0, "max_tokens": res_max_tokens, "stop_tokens": [tok.eos_token],
                    "output_generator": model, "engine": engine_name}
records = mp.build_records(chosen, responses, tags, safety, reward_scores, reward_name, response_configs)
overrides = dict(min_quality=min_quality, min_difficulty=min_difficulty, min_reward=min_reward,
                 drop_duplicates=drop_duplicates, min_response_tokens=min_response_tokens, languages=languages,
                 top_n_longest=top_n_longest, top_n_reward=top_n_reward, min_instruction_words=min_instruction_words)
spec = mp.filter_spec(filter_preset, filter_quantile, filter_top_share, **overrides)
kept, steps = mp.apply_filters(records, spec)
preset_counts = mp.preset_counts(records, filter_quantile, filter_top_share, **overrides)  # every preset, same records
kept_fraction = len(kept) / len(records) if records else 0.0
print(f"kept {len(kept)} / {len(records)} records ({kept_fraction:.0%}) with preset {filter_preset!r}: "
      f"{mp.describe_spec(spec)}")
display(pd.DataFrame(steps))
pd.DataFrame([{"preset": k, "kept": v, "of": len(records)} for k, v in preset_counts.items()])

# %%
if records and not kept:
    print("ZERO records survived the filters: the data set below is empty. See which filter removed them.")
    notes.append("zero records survived the filters")
kept_card = mp.kept_summary(records, kept, steps, filter_preset, spec, preset_counts)
rows_all, rows = mp.export_sets(run, records, kept)  # ShareGPT JSONL and `datasets` folders under data/
stage_counts = mp.stage_counts(samples, status, len(ok), n_dup, records, tags, len(kept), filter_preset)
category_mix = mp.category_mix(kept)
throughput = {"instructions per minute (query samples)": round(ins_per_min, 1),
              "response tokens per second": round(res_tok_s, 1), "backend": engine_name,
              "device": "GPU" if on_gpu else "CPU"}
filter_metrics = {"filter_preset": filter_preset, "filter_rule": kept_card["rule"], "filter_quantile": filter_quantile,
                  "filter_top_share": filter_top_share, "preset_counts": preset_counts, "kept_card": kept_card}

# %% [markdown]
# ## 7 · What is in it

# %%
df = pd.DataFrame(records)
fig = mp.plot_tag_distributions(df)
show(run, fig, "tags", f"Tags of the {len(df)} answered records (tag_mode {tag_mode}); unparsed: the tagger gave no valid label.")
fig = mp.plot_lengths([len(s["instruction"].split()) for s in ok], [r["response_tokens"] for r in records])
show(run, fig, "lengths", f"Lengths of the {len(ok)} clean instructions (words) and the {len(records)} responses (tokens; at most {res_max_tokens}).")
if len(ok) >= 3:
    xy = mp.embedding_map(emb, seed)
    fig = mp.plot_embedding_map(xy, mp.embedding_labels(ok, records), "instruction embeddings (t-SNE), coloured by task category")
    show(run, fig, "embedding_map", "Each dot is a clean query placed by its MiniLM embedding (t-SNE, or PCA below 30 queries), coloured by its task category; nearby dots are similar queries.")
cols = ["instruction", "response", "task_category", "input_quality", "difficulty", "language", "min_neighbor_distance"]
examples = df[cols].head(8) if len(df) else pd.DataFrame(columns=cols)
run.save_table(examples, "examples")
examples

# %% [markdown]
# ## 8 · SFT on the filtered data (optional)
# TRL `SFTTrainer` on the kept conversations (`sft_data = "filtered"`: the exported rows joined to the kept
# records by id) or on every answered one (`"all"`); the checkpoint is saved to
# `outputs/01_magpie/<run-name>/checkpoints/sft` (a normal model folder: other notebooks pass that
# path as their model). A rerun reuses a finished checkpoint.

# %%
# TrainOptions: checkpoints every save_steps, resume after a kill, tracker, LoRA, launcher
from helpers.core.training import TrainOptions

sft_rows = mp.sft_rows_for(sft_data, rows_all, kept)  # filtered: joined to the kept records by id
# the checkpoint folder is keyed by the training rows and every SFT setting; checkpoints/sft points at the current one
sft_dir = stages.path("sft", "", rows=mp.sft_rows_key(sft_rows))
sft_link = run.dir / "checkpoints" / "sft"
sft_history, skip = [], mp.sft_status(sft, sft_rows, sft_data)
if skip:
    print(skip)
else:  # a finished sft_dir trained on the same inputs is reused inside train_sft
    options = TrainOptions(save_steps=save_steps, report_to=report_to, lora_r=lora_r, launcher=train_launcher)
    sft_history, line = mp.run_sft(sft_rows, sft_model, sft_dir, options, max_steps=sft_steps, learning_rate=sft_lr,
                                   batch_size=sft_batch_size, max_length=sft_max_length, seed=seed)
    print(f"SFT on {len(sft_rows)} {sft_data} conversations ({train_launcher}, lora_r={lora_r}): {line}")
    point_to(sft_link, sft_dir)
    show(run, mp.plot_loss(sft_history), "sft_loss", f"Training loss per logged step of the SFT run ({len(sft_history)} log entries).")
sft_metrics = mp.sft_metrics(sft_rows, sft_history, sft_data, skip, sft_link)  # losses, rows trained on (their key)

# %%
metrics = {"n_samples": len(samples), "n_clean": len(ok), "clean_fraction": len(ok) / max(len(samples), 1),
           "status_counts": dict(status), "near_duplicate_fraction": n_dup / max(len(ok), 1),
           "n_with_response": len(records), "n_kept": len(kept), "kept_fraction": kept_fraction,
           "tag_failures": tag_failures, "tag_errors": tag_errors, "tag_mode": tag_mode, **stages.health(), "tag_agreement": tag_agreement,
           **{f"tag_agreement_{r['task']}": r["agreement"] for r in tag_agreement},
           **{f"tag_agreement_{r['task']}_ci": [r["ci_low"], r["ci_high"]] for r in tag_agreement}, "instructions_per_min": ins_per_min, "response_tokens_per_s": res_tok_s,
           "backend": engine_name, "category_mix": category_mix, "filter_steps": steps,
           **sft_metrics, **filter_metrics,
           "headline": ["clean_fraction", "kept_fraction", *(["tag_agreement_category"] if "category" in tag_tasks and tag_agreement else []),
                        "instructions_per_min"]}
metrics.update(mp.findings(metrics, filter_preset=filter_preset))
run.log_metrics(metrics)
executor.close()  # executor ray: disconnect (a Ray started here stops) before the kernel ends
{k: metrics.get(k) for k in metrics["headline"]}

# %% [markdown]
# ## Findings
# Computed from this run's metrics. The pre-query template is the only prompt: everything in the data set was
# written by the model itself. The released Pro/Air filters assume a 70B-class tagger and a trained reward model;
# with no reward model configured the reward clause is skipped (shown in the filter table). A few SFT steps show
# the plumbing and a loss curve, not the paper's AlpacaEval gains (Llama-3-8B + Magpie-Pro-MT SFT+DPO: 38.5 LC vs
# 22.9 for the official instruct model, from the model cards); the full profiles run the same code with 8B/70B models.

# %%
from helpers.core.report import findings_markdown

Markdown(findings_markdown(metrics))

# %% [markdown]
# ## Data card
# What the run kept: the preset's rule in words (from the params), each filter's toll, what every preset would
# keep, categories, lengths, example rows and the SFT run on it. Written to `DATA_CARD.md` beside the data.

# %%
sft_line = mp.sft_card_line(metrics, sft_steps)  # what SFT trained on, or why it did not
card = mp.data_card(f"Magpie from {model}", stage_counts, len(kept), len(records), category_mix, throughput,
                    {"filter_preset": filter_preset, "filters": mp.spec_fields(spec), "tagger": tagger_model or None,
                     "dedup_threshold": dedup_threshold, "n_turns": n_turns}, notes,
                    kept_section=mp.kept_markdown(kept_card, sft_line))
atomic_write_text(run.dir / "DATA_CARD.md", card)
Markdown(card)
