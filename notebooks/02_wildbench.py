# ---
# jupyter:
#   helpers:
#     precheck: helpers.evaluation.wildbench:check_params
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · WildBench: WB-Score and WB-Reward with a checklist judge
#
# **Question.** How do several models (or variants of one model) rank on real-user-style tasks when an
# LLM judge scores each answer against a task checklist (WB-Score) and compares it pairwise with baseline
# answers (WB-Reward)? How much does the ranking depend on the length penalty K, and how reliable is the judge?
#
# **Method** (Lin et al. 2024, *WildBench*, arXiv 2406.04770). Each task has a conversation history, a
# final user query, a checklist of 5-10 questions and tags merged into 5 task groups.
# * **WB-Score**: the judge reads history, query, one answer and the checklist ("to guide, not limit"),
#   writes strengths and weaknesses and a 1-10 score as JSON. Each score is rescaled to (s-5)*2 (shown x10:
#   5 -> 0, 10 -> 100); per group the mean, then a weighted macro over groups (Creative 0.5, Planning &
#   Reasoning 1.25, Math & Data 1.0, Info/Advice 0.75, Coding 1.25).
# * **WB-Reward**: one game per task against each baseline, A/B order randomised; the judge answers one
#   of A++ / A+ / A=B / B+ / B++ (+1, +0.5, 0, -0.5, -1 for the model). A *slight* win by a response longer
#   than the other by more than K characters becomes a tie. The reward (x100) is mixed over baselines.
#   The **task-macro WB-Reward** (WildBench's `task_macro_reward`, one of the two columns its leaderboard ranks by):
#   per baseline, the reward within each task group, the weighted macro over groups (same weights), then
#   the mixture over baselines. It is reported beside the plain mixture.
# * **Missing task groups and baselines** (`aggregation`). `upstream` (default, as WildBench's leaderboard
#   scripts): a macro divides the weighted sum by all five weights (4.75), so a task group without a value
#   counts 0, and a mixture divides by the number of baselines, so a missing baseline counts 0; a baseline
#   model has no game against itself, so its own slot counts 0 (a tie with itself). `renormalise` (ours):
#   the weights are renormalised over the groups present and the mixture averages over the baselines
#   present, so a baseline model is mixed over the *other* baselines only. Either way a score with nothing
#   at all to average is missing (NaN), not 0. With every group and baseline present both agree.
# * Empty answers are decided without the judge (score 1, automatic loss, as WildBench's eval.py does; its
#   leaderboard scripts leave them out of the per-group numbers instead). Unparseable judgements are
#   counted and left out of every aggregate. Judgements are cached on disk: reruns and added models pay
#   only for new ones.
#
# **Quick profile, plainly.** Offline, the judge is SmolLM2-135M-Instruct judging its own answers (self-
# preference is possible) and the "models" are one model with different system prompts / decoding, plus any
# checkpoint another notebook produced. A 135M judge cannot reproduce the paper's agreement with human
# rankings; the reliability section measures how (un)reliable it is. The full profiles point at the hub set
# `allenai/WildBench` (v2, 1,024 tasks), hub models and a strong judge endpoint.

# %% tags=["parameters"]
tasks_data = "builtin:wildbench_tasks.jsonl"  # [non-empty] builtin:NAME, a local JSONL with WildBench fields, or the hub id allenai/WildBench
tasks_config = "v2"  # hub config (ignored for builtin/local files)
tasks_split = "test"  # hub split (ignored for builtin/local files)
n_tasks = 8  # [0..] tasks to use, chosen to cover all 5 groups (0 for all)
models = ["smollm2-135m-instruct"]  # models answered greedily: alias, local folder or hub id (checked before the run)
model_variants = ["smollm2-135m-instruct; name: smollm2-terse; system: Answer in one or two short sentences.", "smollm2-135m-instruct; name: smollm2-t1; temperature: 1.0"]  # variants: "MODEL; name: ..; temperature: ..; system: .."
optional_checkpoints = ["outputs/01_magpie/quick/checkpoints/sft"]  # checkpoints from other notebooks (repo-relative): used if present, skipped with a note if not
baselines = ["smollm2-135m-instruct", "smollm2-terse"]  # contestant names used as WB-Reward baselines (reward: mixture over them)
backend = "auto"  # [auto|vllm|hf] answers and the local judge: auto (vllm if installed), vllm or hf
answer_max_tokens = 64  # [1..] max new tokens per answer
judge_model = "smollm2-135m-instruct"  # [non-empty] local judge model (alias/folder/hub id), or the model name at judge_base_url
judge_base_url = ""  # OpenAI-compatible endpoint of the judge (empty: run judge_model locally)
judge_timeout = 120.0  # [1..] seconds an endpoint request may take (then 2 retries, then a counted failure)
judge_api_key_env = "OPENAI_API_KEY"  # environment variable holding the endpoint's API key
judge_max_tokens = 48  # [1..] max tokens per judgement (truncated JSON counts as a parse failure)
judge_concurrency = 8  # [1..] parallel requests to an endpoint judge
judge_prefill = True  # local judge only: its reply is forced to open with the JSON verdict field (score / choice); ignored with a note for an endpoint judge
K_values = [-1, 100, 300, 500, 1000, 1500]  # [-1..] length penalties for the K table (-1: none)
K = 500  # [-1..] length penalty of the leaderboard's WB-Reward
aggregation = "upstream"  # [upstream|renormalise] missing task group or baseline: upstream (counts 0; divide by all five weights and by every baseline) or renormalise (average over those present)
position_check_tasks = 3  # [0..] per (model, baseline): tasks also judged in the swapped order, to measure position bias
bootstrap_rounds = 500  # [10..] bootstrap resamples over tasks for the 95% CIs
max_words = 1000  # [1..] inputs longer than this many words are truncated in judge prompts
seed = 0  # [0..] seeds the A/B order, task choice and sampling
tensor_parallel_size = 1  # [1..] vLLM: GPUs per model (70B: 4-8)
gpu_memory_utilization = 0.0  # [0..1] vLLM: fraction of GPU memory per engine (CPU build: of RAM for the KV cache); 0: 0.85 on a GPU, 0.3 on a CPU
max_model_len = 0  # [0..] vLLM: context length of an engine (prompt + reply tokens); 0: 2048
torch_threads = 0  # [0..] CPU threads for torch; 0: the cores free right now (os.sched_getaffinity minus the load average)
executor = "local"  # [local|ray] where the local judge's calls (WB-Score, WB-Reward) run: local (this process) or ray (long-lived Ray replicas; README, On a cluster)
ray_address = ""  # executor ray: empty starts Ray on this machine; auto, host:port or ray://host:port joins a running cluster
ray_replicas = 1  # [1..] executor ray: data-parallel replicas, each with its own copy of the judge model
ray_gpus_per_replica = 0  # [0..] executor ray: GPUs per replica (0 on a CPU; above 1: tensor parallel inside the replica, vLLM)
sim_position_bias = 0.3  # [0..1] controlled setting: rate at which the simulated judge gives a close call (a true tie) to the answer in slot A
sim_length_bias = 0.5  # [0..1] controlled setting: rate at which it gives a close call to the longer answer (full rate from a 3x length ratio); WB-Score: +2 to an answer over 500 characters at this rate
sim_noise = 0.1  # [0..1] controlled setting: rate of uniformly random verdicts and scores
sim_tasks = 100  # [10..] controlled setting: simulated tasks per draw
sim_repeats = 20  # [1..] controlled setting: independent draws (tasks, answers, judge seed) the checks average over

# %%
import pandas as pd

from helpers.core.notebook import start_notebook
from helpers.core.plotting import show
from helpers.evaluation import wildbench as wb
from helpers.evaluation.stages import WILDBENCH
from helpers.evaluation.wildbench import plots as wbp

run, stages = start_notebook("02_wildbench", globals(), WILDBENCH)  # engine settings, plot style, run folder
pd.set_option("display.max_colwidth", 100)
all_tasks, skipped = wb.load_tasks(tasks_data, split=tasks_split, config=tasks_config)
tasks = wb.select_tasks(all_tasks, n_tasks, seed=seed)
groups_of = {t.id: t.groups for t in tasks}
print(f"{len(tasks)} of {len(all_tasks)} tasks ({len(skipped)} malformed records skipped); "
      f"{sum(bool(t.history) for t in tasks)} with history; run folder: {run.dir}")
pd.DataFrame([{g: g in t.groups for g in wb.GROUPS} for t in tasks]).sum().rename("tasks per group").to_frame().T

# %% [markdown]
# ## Contestants
# `models` are answered greedily; `model_variants` are the same weights with another system prompt or
# temperature (they are *not* different models, and the tables name them as variants); checkpoints from
# other notebooks join when their folders exist. Unique names and baselines that are contestants are
# checked by the precheck (`wb.check_params`), before the kernel starts.

# %%
contestants, notes = wb.contestants_from(models, model_variants, optional_checkpoints)
for note in notes:
    print(note)
pd.DataFrame([vars(c) for c in contestants])

# %% [markdown]
# ## Answers
# One resumable stage per contestant (a killed run regenerates only what is missing).

# %%
answers = wb.generate_answers(contestants, tasks, stages, backend, judge_model, answer_max_tokens, seed)
lengths = wb.answer_lengths(answers)
lengths

# %%
example = tasks[0]
print("QUERY:", example.query, "\n")
for m in answers:
    print(f"[{m}] {answers[m][example.id]['text'][:300]}\n")

# %% [markdown]
# ## The judge
# A local model through the generation helper, or any OpenAI-compatible endpoint (`judge_base_url`).
# Temperature 0; every judgement is cached in the run folder keyed by (judge, prompt, prefill, settings).
#
# **Prefill** (`judge_prefill`, local judges only). A small judge rarely writes the requested JSON: it answers
# in prose. With the prefill, its reply is forced to start with `{"score": ` (WB-Score) or `{"choice": "`
# (WB-Reward), so it writes the verdict first. This changes the protocol: the paper's judge writes its
# analysis *before* the verdict, a prefilled judge decides first. It makes a tiny judge's output parseable;
# it does not make its verdicts informed. The full profiles use an endpoint judge and no prefill.

# %%
from helpers.core.executor import Executor
from helpers.core.judge import Judge
from helpers.core.models import resolve_model

executor = Executor.from_params(globals())  # local, or the long-lived Ray replicas that make the judge calls
if not judge_base_url:
    resolve_model(judge_model)  # a clear error now rather than deep inside the first judging call
judge = Judge(judge_model, base_url=judge_base_url, timeout=judge_timeout, api_key_env=judge_api_key_env, backend=backend,
              cache_dir=run.path("judge_cache"), max_tokens=judge_max_tokens, concurrency=judge_concurrency,
              on_error="empty", executor=executor)
use_prefill = bool(judge_prefill) and not judge_base_url
if judge_prefill and judge_base_url:
    print("note: judge_prefill is ignored: an OpenAI-compatible endpoint cannot continue a prefilled reply")
score_prefill, label_prefill = (wb.SCORE_PREFILL, wb.LABEL_PREFILL) if use_prefill else ("", "")
print(f"{judge}; prefill: {use_prefill} (WB-Score {score_prefill!r}, WB-Reward {label_prefill!r})")

# %% [markdown]
# ## WB-Score

# %%
scores, score_errors = wb.judge_wb_scores(judge, contestants, tasks, answers, stages, max_words, score_prefill)
score_df, score_fail = wb.score_frame(scores)  # endpoint errors are no judgement (retried next run)
print(f"WB-Score: {len(score_df)} judgements, {int(score_df.auto.sum())} automatic (empty answers), "
      f"parse failures {int(score_df.score.isna().sum())} ({score_fail:.0%} of judged); "
      f"{score_errors} endpoint errors (not judgements: retried next run)")
score_table = pd.DataFrame(wb.score_summary(scores, groups_of, rounds=bootstrap_rounds, seed=seed, aggregation=aggregation))
score_table.round(1)

# %% [markdown]
# ## WB-Reward
# One game per (model, baseline, task) with a randomised A/B order; the first `position_check_tasks`
# tasks of each pair are also judged in the swapped order (those extra games only measure position bias).

# %%
game_items = wb.game_items(judge.name, contestants, baselines, tasks, answers, seed, position_check_tasks, max_words,
                           label_prefill)
games_all, reward_errors = wb.judge_wb_games(judge, game_items, tasks, answers, stages, max_words, label_prefill)
if reward_errors:
    print(f"WB-Reward: {reward_errors} endpoint errors (not verdicts: retried next run)")
games = [g for g in games_all if not g["swap_check"]]
judged = [g for g in games_all if g["auto_reward"] is None]
reward_fail = wb.reward_parse_failure_rate(judged)
print(f"WB-Reward: {len(games)} games (+{len(games_all) - len(games)} swapped checks); "
      f"{sum(g['auto_reward'] is not None for g in games_all)} automatic; parse failures "
      f"{sum(g['label'] is None for g in judged)} ({reward_fail:.0%} of judged)")
pd.Series([g["label"] for g in judged]).value_counts(dropna=False).rename("judge labels").to_frame().T

# %%
board_rows, k_rows = wb.reward_summary(games, K_values, K, rounds=bootstrap_rounds, seed=seed, baselines=baselines,
                                       aggregation=aggregation, task_groups_by_id=groups_of)
reward_table = pd.DataFrame(board_rows)
k_table = pd.DataFrame(k_rows)
print(f"WB-Reward (x100) at K={K} against {baselines}: plain mixture and task macro ({aggregation} treatment of "
      "missing task groups and baselines):")
display(reward_table.round(1))
print("WB-Reward for each K (-1 = no length penalty): plain mixture and task macro")
k_table.pivot(index="model", columns="K", values=["wb_reward_mix", "wb_reward_task_macro"]).round(1)

# %% [markdown]
# ## Leaderboard
# WB-Score (task macro), and WB-Reward at the leaderboard's K as WildBench's task macro and as the plain
# mixture, each with a 95% bootstrap CI over tasks. How a baseline's own slot and a missing task group
# count depends on `aggregation` (see the top of the notebook). With few tasks some bootstrap resamples
# miss a task group entirely; under `upstream` that group then counts 0, which pulls the macro intervals
# toward 0 (with hundreds of tasks no resample misses a group and the two treatments agree).

# %%
board = wb.leaderboard(score_table, reward_table, lengths, K, aggregation)  # best first; ties: overlapping CIs
run.save_table(board, "leaderboard")           # per-model WB-Score and WB-Reward (read by 04_arena_hard)
run.save_table(k_table, "wb_reward_by_K")
run.save_table(score_table, "wb_score_by_group")
order = list(board.model)  # best WB-Score first; the same order in every figure below
fig, caption = wbp.leaderboard_figure(board, K, baselines, aggregation, len(tasks))
show(run, fig, "leaderboard", caption)
board.round(1)

# %%
fig, caption = wbp.k_sensitivity_figure(k_table, order, baselines)
show(run, fig, "k_sensitivity", caption)

# %%
group_reward = wb.group_reward_table(games, groups_of, K, baselines, aggregation)
run.save_table(group_reward.reset_index(), "wb_reward_by_group")
fig, caption = wbp.task_groups_figure(score_table, group_reward, order, K, baselines)
show(run, fig, "task_groups", caption)
group_reward.reindex(index=order, columns=list(wb.GROUPS)).round(0)

# %% [markdown]
# ## How reliable is this judge?
# * **Parse failures**: judgements without a usable score / label (left out of every aggregate).
# * **Position bias**: games judged in both orders. *Consistent* = the model's outcome (win / tie / loss)
#   is the same in both orders; *same slot* = both verdicts favour the same position (a pure order effect);
#   *slot-A rate* = share of decisive verdicts that favour whichever answer came first (0.5 = unbiased).
# * **Score spread and tie share**: a judge that gives (almost) the same score to everything, or calls (almost)
#   every game a tie, cannot rank anything; its order consistency is then trivially high (a tie in both
#   orders counts as consistent), so read consistency together with the tie share.
# * **Agreement of the two scores**: Kendall's tau between the WB-Score and WB-Reward rankings.

# %%
rel, reliability = wb.reliability_checks(games_all, score_df, board, score_fail, reward_fail)
fig, caption = wbp.judge_scores_figure(rel["valid_scores"], rel["top_score_share"])
show(run, fig, "judge_scores", caption)
print(wb.judge_verdict({**rel, "judge": judge.name, "score_parse_failure_rate": score_fail,
                        "reward_parse_failure_rate": reward_fail}))  # the same check as the findings
reliability.round(3)

# %%
for text in wb.unparsed_examples(scores, games_all):
    print("--- unparsed judgement:\n", text[:400])

# %% [markdown]
# ## Controlled setting: a simulated judge where the truth is known
# The 135M judge above cannot judge, so its leaderboard says nothing about the method. Here the method runs where
# the truth is known (`helpers.evaluation.simulated`; every number in this section is a **controlled-setting**
# number, not a measurement of the models above). Four simulated contestants answer checkable arithmetic tasks:
# right or wrong at a known rate per difficulty, with or without the working; `sim-verbose` writes answers about
# four times longer than the others. A simulated judge with the real judge's interface checks each answer by
# program and follows that truth (right beats wrong strongly, working beats none slightly, else a tie), except
# that it gives a close call (a true tie) to slot A at rate `sim_position_bias`, to the longer answer at rate
# `sim_length_bias`, and answers at random at rate `sim_noise`. Its replies go through the same WB-Score and
# WB-Reward prompts, parsers and scoring (`game_items`, `parse_label`, the K penalty, `reward_summary`'s bootstrap
# CIs). Each of `sim_repeats` draws has its own tasks, answers and judge seed; in each, three judges see the same
# prompts with the same random numbers (configured; without length bias; without any bias), so their differences
# are the injected biases alone. The truth (what a judge without position or length bias gives on infinitely many
# tasks) is computed exactly.

# %%
from IPython.display import Markdown

from helpers.evaluation import simulated as sim
from helpers.evaluation.wildbench import controlled as wbc

world = sim.SimWorld()  # four contestants of known strength; baseline sim-base
sim_draws = [wbc.draw(world, sim_position_bias, sim_length_bias, sim_noise, sim_tasks, K, seed + r,
                      rounds=bootstrap_rounds, aggregation=aggregation) for r in range(sim_repeats)]
sim_summary = wbc.summarise(sim_draws, world, position_bias=sim_position_bias, length_bias=sim_length_bias,
                            noise=sim_noise, K=K, n_tasks=sim_tasks)
print(f"controlled setting: {len(sim_draws)} draws of {sim_tasks} tasks; true order: "
      f"{' > '.join(sim_summary['true_order'])} (means over draws, configured judge)")
wbc.contestant_table(sim_summary, sim_draws).round(1)

# %%
fig, caption = wbp.controlled_figure(sim_summary)
show(run, fig, "controlled", caption)
controlled = wbc.controlled_metrics(sim_summary)  # finding, signal and lines: into metrics.json below
Markdown(sim.controlled_markdown(controlled))

# %%
executor.close()  # executor ray: stop the replicas (a Ray started here stops) before the report
counts = {"n_tasks": len(tasks), "n_models": len(contestants), "judge": judge.name, "K": K, "aggregation": aggregation,
          "baselines": baselines, "score_parse_failure_rate": score_fail, "reward_parse_failure_rate": reward_fail,
          "judge_prefill": use_prefill, "judge_requests_this_run": judge.requests, "judge_endpoint_errors": judge.errors,
          "judge_malformed_replies": judge.malformed, "score_endpoint_errors": score_errors,
          "reward_endpoint_errors": reward_errors, "tasks_skipped_malformed": len(skipped)}
metrics = wb.run_metrics(board, rel, counts, stages.health())  # the scores, the judge checks and the findings
metrics.update(controlled)  # the controlled setting's numbers, controlled_finding and controlled_signal
run.log_metrics(metrics)
{k: v for k, v in metrics.items() if k != "headline"}

# %% [markdown]
# ## Findings
# Computed from this run's metrics. The leaderboard, the K table and the heatmaps are computed exactly as in
# WildBench; what they *mean* depends on the judge, so the ranking is withheld when the judge fails the
# reliability checks (a dominant tie or score, most replies unparsed). Position consistency is reported only
# for a judge that passes them (a tie in both orders counts as consistent). The same code with `full-*.yaml`
# (1,024 hub tasks, a strong judge endpoint, three baselines) is the paper's setting; `data/leaderboard.csv`,
# `data/wb_reward_by_K.csv` and `data/wb_score_by_group.csv` are written for other notebooks; Arena-Hard's ranking
# comparison reads the point scores of `data/leaderboard.csv` (WB-Score, the WB-Reward task macro and mixture).

# %%
from helpers.core.report import findings_markdown

Markdown(findings_markdown(metrics) + "\n\n" + sim.controlled_markdown(metrics))
