# ---
# jupyter:
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
judge_max_tokens = 96  # [1..] max tokens per judgement (truncated JSON counts as a parse failure)
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

# %%
import warnings
from pathlib import Path
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns
import textwrap
from helpers import Generator, Run, Sampling, run_stage, stable_id
from helpers.core.generation import shutdown_engines
from helpers.core.judge import Judge
from helpers.core.models import ModelNotFoundError, resolve_model
from helpers.evaluation import wildbench as wb
from helpers.core.plotting import show, use_style
from helpers.core.stats import pct, rank_with_ties

from helpers.core import engines  # vLLM settings and CPU threads for every model this notebook loads
engines.configure(gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len,
                  tensor_parallel_size=tensor_parallel_size, torch_threads=torch_threads)
use_style()
pd.set_option("display.max_colwidth", 100)
run = Run.current("02_wildbench")
from helpers.core.store import RETRY, fallback_lines
from helpers.evaluation.stages import WILDBENCH
stages = WILDBENCH.bind(run, globals())  # each stage's file is named by a hash of every parameter that changes it
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
# other notebooks join when their folders exist.

# %%
contestants = [wb.parse_contestant(m) for m in models] + [wb.parse_contestant(v) for v in model_variants]
for folder in optional_checkpoints:
    path = wb.resolve_repo_path(folder)
    try:
        resolve_model(path)
    except ModelNotFoundError as exc:
        print(f"note: optional checkpoint {folder} skipped ({str(exc).splitlines()[0][:120]})")
        continue
    contestants.append(wb.parse_contestant(path))
names = [c.name for c in contestants]
if len(set(names)) != len(names):
    raise ValueError(f"contestant names must be unique, got {names}: add '; name=...' to a variant")
missing = [b for b in baselines if b not in names]
if missing or not baselines:
    raise ValueError(f"baselines {missing or baselines} are not contestants ({names})")
pd.DataFrame([vars(c) for c in contestants])

# %% [markdown]
# ## Answers
# One resumable stage per contestant (a killed run regenerates only what is missing).

# %%
answers, gen = {}, None
order = sorted(contestants, key=lambda c: (c.model != judge_model, c.model))  # the local judge's model last: its engine stays
for c in order[::-1]:
    if gen is None or gen.model_name != c.model:
        if gen is not None and gen.backend_name == "vllm":
            gen = answer = None  # drop every reference, then free the engine before loading the next model
            shutdown_engines()
        gen = Generator(c.model, backend=backend)
    sampling = Sampling(temperature=c.temperature, max_tokens=answer_max_tokens, seed=seed)

    def answer(batch, gen=gen, c=c, sampling=sampling):
        outs = gen.generate([c.messages(t) for t in batch], sampling, desc=c.name,
                            seeds=[int(stable_id(seed, t.id), 16) % 2**31 for t in batch])
        return [{"id": t.id, "text": o[0].text.strip(), "n_tokens": o[0].n_tokens, "finish": o[0].finish_reason}
                for t, o in zip(batch, outs)]

    recs = run_stage(stages.store("answers", part=c.name, contestant=vars(c), engine=gen.backend_name), [{"id": t.id, "t": t} for t in tasks],
                     lambda items, f=answer: f([it["t"] for it in items]), batch_size=len(tasks), desc=f"answers {c.name}")
    answers[c.name] = {r["id"]: r for r in recs}
answers = {c.name: answers[c.name] for c in contestants}
lengths = pd.DataFrame([{"model": m, "mean_chars": np.mean([len(a["text"]) for a in recs.values()]),
                         "empty": sum(not a["text"] for a in recs.values()),
                         "hit_max_tokens": sum(a["finish"] == "length" for a in recs.values())} for m, recs in answers.items()])
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
score_items = [{"id": stable_id("score", judge.name, c.name, t.id, answers[c.name][t.id]["text"], max_words, score_prefill),
                "model": c.name, "task": t.id} for c in contestants for t in tasks]
task_by_id = {t.id: t for t in tasks}

def judge_scores(batch):
    todo = [it for it in batch if answers[it["model"]][it["task"]]["text"]]
    texts = dict(zip([it["id"] for it in todo], judge.complete(
        [wb.score_prompt(task_by_id[it["task"]], answers[it["model"]][it["task"]]["text"], max_words) for it in todo],
        desc="WB-Score", prefill=score_prefill) if todo else []))
    failed = {it["id"] for it, f in zip(todo, judge.last_failed if todo else []) if f}
    out = []
    for it in batch:
        if it["id"] in failed:  # endpoint error: not a judgement; not stored, judged again next run
            out.append({**it, "score": None, "auto": False, "raw": "", "endpoint_error": True, RETRY: True})
        elif it["id"] in texts:  # judged
            out.append({**it, "score": wb.parse_score(texts[it["id"]]), "auto": False, "raw": texts[it["id"]][:1500]})
        else:  # empty answer: worst score without a judge call
            out.append({**it, "score": 1.0, "auto": True, "raw": ""})
    return out

scores_all = run_stage(stages.store("wb_score", judge=judge.name, temperature=judge.temperature), score_items, judge_scores,
                       batch_size=64, desc="WB-Score")
score_errors = sum(bool(s.get("endpoint_error")) for s in scores_all)
scores = [s for s in scores_all if not s.get("endpoint_error")]  # endpoint errors are no judgement (retried next run)
score_df = pd.DataFrame(scores, columns=["id", "model", "task", "score", "auto", "raw"])
score_df["auto"] = score_df["auto"].astype(bool)
score_fail = float(score_df.loc[~score_df.auto, "score"].isna().mean()) if (~score_df.auto).any() else float("nan")
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
game_items = []
for b in baselines:
    for c in contestants:
        if c.name == b:
            continue  # a model is not compared with itself
        for i, t in enumerate(tasks):
            first = wb.model_is_a(t.id, c.name, b, seed)
            for swap in ([False, True] if i < position_check_tasks else [False]):
                m_text, b_text = answers[c.name][t.id]["text"], answers[b][t.id]["text"]
                game_items.append({"id": stable_id("reward", judge.name, c.name, b, t.id, m_text, b_text, first != swap, max_words, label_prefill),
                                   "model": c.name, "baseline": b, "task": t.id, "model_is_a": first != swap,
                                   "swap_check": swap, "len_model": len(m_text), "len_baseline": len(b_text)})

def judge_games(batch):
    auto = {it["id"]: wb.empty_game_reward(answers[it["model"]][it["task"]]["text"], answers[it["baseline"]][it["task"]]["text"]) for it in batch}
    todo = [it for it in batch if auto[it["id"]] is None]
    prompts = []
    for it in todo:
        m_text, b_text = answers[it["model"]][it["task"]]["text"], answers[it["baseline"]][it["task"]]["text"]
        a, bb = (m_text, b_text) if it["model_is_a"] else (b_text, m_text)
        prompts.append(wb.reward_prompt(task_by_id[it["task"]], a, bb, max_words))
    texts = dict(zip([it["id"] for it in todo], judge.complete(prompts, desc="WB-Reward", prefill=label_prefill) if todo else []))
    failed = {it["id"] for it, f in zip(todo, judge.last_failed if todo else []) if f}
    return [{**it, "auto_reward": auto[it["id"]], "label": wb.parse_label(texts.get(it["id"], "")),
             "raw": texts.get(it["id"], "")[:1500], **({"endpoint_error": True, RETRY: True} if it["id"] in failed else {})}
            for it in batch]

games_all = run_stage(stages.store("wb_reward", judge=judge.name, temperature=judge.temperature), game_items, judge_games,
                      batch_size=64, desc="WB-Reward")
reward_errors = sum(bool(g.get("endpoint_error")) for g in games_all)
games_all = [g for g in games_all if not g.get("endpoint_error")]  # endpoint errors are no verdict (retried next run)
if reward_errors:
    print(f"WB-Reward: {reward_errors} endpoint errors (not verdicts: retried next run)")
games = [g for g in games_all if not g["swap_check"]]
judged = [g for g in games_all if g["auto_reward"] is None]
reward_fail = float(np.mean([g["label"] is None for g in judged])) if judged else float("nan")
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
board = score_table[["model", "wb_score", "wb_score_lo", "wb_score_hi", "wb_score_plain_mean"]].merge(
    reward_table[["model", "wb_reward_task_macro", "wb_reward_task_macro_lo", "wb_reward_task_macro_hi",
                  "wb_reward_mix", "wb_reward_lo", "wb_reward_hi"]], on="model", how="left").merge(
    lengths[["model", "mean_chars"]], on="model")
board["K"] = K
board["aggregation"] = aggregation
board = rank_with_ties(board, "wb_score", low="wb_score_lo", high="wb_score_hi")  # best first; equal scores by name; ties: overlapping CIs
run.save_table(board, "leaderboard")           # per-model WB-Score and WB-Reward (read by 04_arena_hard)
run.save_table(k_table, "wb_reward_by_K")
run.save_table(score_table, "wb_score_by_group")

order = list(board.model)  # best WB-Score first; the same order in every figure below
fig, axes = plt.subplots(1, 2, figsize=(12, 0.55 * len(order) + 2.8), sharey=True)
y = np.arange(len(order))[::-1]
series = [(axes[0], "wb_score", "wb_score_lo", "wb_score_hi", "WB-Score task macro", "tab:blue", 0.0),
          (axes[1], "wb_reward_task_macro", "wb_reward_task_macro_lo", "wb_reward_task_macro_hi", "task macro", "tab:blue", -0.12),
          (axes[1], "wb_reward_mix", "wb_reward_lo", "wb_reward_hi", "plain mixture", "tab:gray", 0.12)]
for ax, col, lo, hi, label, colour, dy in series:
    d = board.set_index("model").reindex(order)
    ok = d[col].notna().to_numpy()
    ax.errorbar(d[col][ok], y[ok] + dy, xerr=[(d[col] - d[lo])[ok], (d[hi] - d[col])[ok]], fmt="o", ms=5, capsize=3,
                color=colour, label=label)
for ax in axes:
    ax.axvline(0, color="k", lw=0.8)
axes[0].set(title="WB-Score (task macro), 95% CI", xlabel="WB-Score (0 = judge score 5, 100 = score 10)",
            yticks=y, yticklabels=order, ylabel="model")
axes[1].set(title=f"WB-Reward at K={K}, 95% CI", xlabel="WB-Reward (x100; 0 = even with the baselines)")
axes[1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)  # below the axis, never over the points
reward_cols = ["wb_reward_task_macro", "wb_reward_task_macro_lo", "wb_reward_task_macro_hi", "wb_reward_mix",
               "wb_reward_lo", "wb_reward_hi"]
lo_r, hi_r, no_signal = wb.diverging_limits(board[reward_cols])  # symmetric around 0, never a degenerate range
axes[1].set_xlim(1.1 * lo_r, 1.1 * hi_r)
for ax, cols in ((axes[0], ["wb_score"]), (axes[1], ["wb_reward_task_macro", "wb_reward_mix"])):
    if board[cols].isna().all().all():
        ax.text(0.5, 0.5, "no valid judgement", ha="center", va="center", transform=ax.transAxes)
    elif ax is axes[1] and no_signal:
        ax.text(0.5, 0.5, "no signal: every reward is 0", ha="center", va="center", transform=ax.transAxes,
                bbox={"facecolor": "white", "edgecolor": "grey", "alpha": 0.9})
valid_board = board.dropna(subset=["wb_score"])
show(run, fig, "leaderboard",
     f"Per model, left: WB-Score task macro with a 95% bootstrap CI over {len(tasks)} tasks; right: WB-Reward at K={K} "
     f"against {', '.join(baselines)} as WildBench's task macro (blue) and as the plain mixture (grey), {aggregation} "
     f"treatment of missing groups and baselines. {len(valid_board)} of {len(board)} models have a valid WB-Score.")
board.round(1)

# %%
kt = k_table.copy()
kt["K_label"] = kt.K.map(lambda k: "none" if k < 0 else str(int(k)))
fig, ax = plt.subplots(figsize=(8, 4))
if kt.wb_reward_mix.notna().any():
    sns.lineplot(data=kt, x="K_label", y="wb_reward_mix", hue="model", hue_order=order, marker="o", sort=False, ax=ax)
    ax.legend(title="model", bbox_to_anchor=(1.01, 1), loc="upper left")  # outside the lines
else:
    ax.text(0.5, 0.5, "no valid judgement", ha="center", va="center", transform=ax.transAxes)
ax.axhline(0, color="k", lw=0.8)
lo_k, hi_k, flat = wb.diverging_limits(kt.wb_reward_mix)  # symmetric around 0, never a degenerate range
ax.set_ylim(1.1 * lo_k, 1.1 * hi_k)
if flat and kt.wb_reward_mix.notna().any():
    ax.text(0.5, 0.8, "no signal: every reward is 0", ha="center", va="center", transform=ax.transAxes,
            bbox={"facecolor": "white", "edgecolor": "grey", "alpha": 0.9})
ax.set(title="K-sensitivity of WB-Reward", xlabel="length penalty K (characters; none = no penalty)",
       ylabel="WB-Reward mixture (x100)")
span = kt.wb_reward_mix.dropna()
show(run, fig, "k_sensitivity",
     f"WB-Reward mixture against {', '.join(baselines)} for each length penalty K (a slight win by an answer more than K "
     f"characters longer counts as a tie); over all models and K the values span "
     + (f"{span.min():.1f} to {span.max():.1f}." if len(span) else "nothing (no valid judgement)."))

# %%
group_reward = pd.DataFrame(wb.group_rewards(games, groups_of, K, baselines=baselines, aggregation=aggregation),
                            columns=["model", "group", "wb_reward_mix"]).pivot(index="model", columns="group", values="wb_reward_mix")
run.save_table(group_reward.reset_index(), "wb_reward_by_group")
groups = list(wb.GROUPS)
heat_score = score_table.set_index("model")[[f"score[{g}]" for g in groups]]
heat_score.columns = groups
panels = [("WB-Score per task group", "WB-Score", heat_score.reindex(index=order, columns=groups)),
          (f"WB-Reward mixture per task group (K={K})", "WB-Reward (x100)", group_reward.reindex(index=order, columns=groups))]
fig, axes = plt.subplots(1, 2, figsize=(15, 0.5 * len(order) + 3.4))
notes = []
for k, (ax, (title, unit, data)) in enumerate(zip(axes, panels)):
    vmin, vmax, no_signal = wb.diverging_limits(data)  # symmetric around 0; +-1 when everything is 0 or missing
    sns.heatmap(data.astype(float), annot=True, fmt=".0f", cmap="RdBu", center=0, vmin=vmin, vmax=vmax, ax=ax,
                linewidths=0.5, linecolor="white", cbar_kws={"label": unit, "shrink": 0.8},
                xticklabels=[textwrap.fill(g.replace("/", "/ "), 12) for g in groups], yticklabels=order if k == 0 else False)
    ax.set_facecolor("#d9d9d9")  # missing cells grey, so they never read as 0 (white)
    ax.grid(False)
    ax.tick_params(axis="x", rotation=0)
    ax.tick_params(axis="y", rotation=0)
    ax.set(title=title, xlabel="task group", ylabel="model" if k == 0 else "")
    if data.isna().all().all():
        msg = "no valid judgement"
    elif no_signal:
        msg = "no signal: every value is 0"
    else:
        msg = ""
    if msg:
        notes.append(f"{unit}: {msg}")
        ax.text(0.5, 0.5, msg, ha="center", va="center", transform=ax.transAxes,
                bbox={"facecolor": "white", "edgecolor": "grey", "alpha": 0.9})
show(run, fig, "task_groups",
     f"Per model (rows, best WB-Score first) and task group (columns), the WB-Score (left) and the WB-Reward mixture "
     f"against {', '.join(baselines)} at K={K} (right); blue above 0, red below, white at 0, on a scale symmetric around 0 "
     f"per panel; a grey cell has no task of that group or no valid judgement. "
     + ("; ".join(notes) + "." if notes else f"Scales: +-{wb.diverging_limits(panels[0][2])[1]:.0f} and "
        f"+-{wb.diverging_limits(panels[1][2])[1]:.0f}."))
group_reward.reindex(index=order, columns=groups).round(0)

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
from helpers.core.stats import rank_agreement
pair_of = {}
for g in games_all:
    if g["auto_reward"] is None:
        pair_of.setdefault((g["model"], g["baseline"], g["task"]), {})[g["model_is_a"]] = g["label"]
pairs = [(p[True], p[False]) for p in pair_of.values() if True in p and False in p]
pos = wb.position_consistency(pairs)
valid_scores = score_df.loc[~score_df.auto, "score"].dropna()
judged_labels = [g["label"] for g in judged if g["label"] is not None]
tie_share = judged_labels.count("A=B") / len(judged_labels) if judged_labels else float("nan")
top_score_share = float(valid_scores.value_counts(normalize=True).iloc[0]) if len(valid_scores) else float("nan")
tau = rank_agreement(dict(zip(board.model, board.wb_score)), dict(zip(board.model, board.wb_reward_mix)))["kendall"]
reliability = pd.DataFrame([
    {"check": "WB-Score parse failures", "value": score_fail},
    {"check": "WB-Reward parse failures", "value": reward_fail},
    {"check": "pairs judged in both orders", "value": pos["pairs"]},
    {"check": "consistent across orders", "value": pos["consistent_rate"]},
    {"check": "same slot wins both orders", "value": pos["same_slot_rate"]},
    {"check": "slot-A share of decisive verdicts", "value": pos["a_slot_rate"]},
    {"check": "distinct 1-10 scores used", "value": valid_scores.nunique()},
    {"check": "std of valid 1-10 scores", "value": float(valid_scores.std()) if len(valid_scores) > 1 else float("nan")},
    {"check": "share of the most common score", "value": top_score_share},
    {"check": "share of tie (A=B) verdicts", "value": tie_share},
    {"check": "Kendall tau WB-Score vs WB-Reward", "value": tau}])
fig, ax = plt.subplots(figsize=(6, 3.2))
if len(valid_scores):
    sns.histplot(valid_scores, bins=np.arange(0.5, 11), ax=ax)
else:
    ax.text(0.5, 0.5, "no valid score", ha="center", va="center", transform=ax.transAxes)
ax.set(title="Judge's 1-10 scores (valid ones)", xlabel="judge score (1-10)", ylabel="judgements (count)",
       xticks=range(1, 11), xlim=(0.5, 10.5))
show(run, fig, "judge_scores",
     f"Distribution of the {len(valid_scores)} valid WB-Score judgements (parse failures and automatic scores for empty "
     "answers left out)" + (f"; {valid_scores.nunique()} distinct scores were used and the most common covers "
                            f"{pct(top_score_share)} of them." if len(valid_scores) else "; the judge gave no valid score."))
fails = [r for r in (score_fail, reward_fail) if r == r]
if fails and max(fails) > 0.5:
    print(f"VERDICT: this judge ({judge.name}) did not follow the judgement format in {score_fail:.0%} of WB-Score and "
          f"{reward_fail:.0%} of WB-Reward calls; those are excluded, so the scores above rest on few or no judgements "
          "and say nothing reliable about the contestants.")
elif pos["pairs"] and pos["consistent_rate"] < 0.6:
    print(f"VERDICT: the judge's verdicts change with the A/B order in {1 - pos['consistent_rate']:.0%} of the pairs "
          "judged both ways: rankings here mostly reflect position, not quality.")
degenerate = [f"gave the same score to {top_score_share:.0%} of the answers it scored"] if top_score_share > 0.8 else []
degenerate += [f"called {tie_share:.0%} of the games it judged a tie"] if tie_share > 0.8 else []
if degenerate:
    print(f"VERDICT: this judge ({judge.name}) {' and '.join(degenerate)}: its verdicts are (near) constant, so the "
          "leaderboard differences are noise, WB-Reward is ~0 by construction and the order consistency is trivial. "
          "The run shows the pipeline working, not how the contestants compare.")
reliability.round(3)

# %%
bad = [s["raw"] for s in scores if s["score"] is None and not s["auto"]][:2] + [g["raw"] for g in judged if g["label"] is None][:2]
for text in bad:
    print("--- unparsed judgement:\n", text[:400])

# %%
executor.close()  # executor ray: stop the replicas (a Ray started here stops) before the report
verdict = wb.findings(board.to_dict(orient="records"), score_fail, reward_fail, tie_share, top_score_share, pos,
                      aggregation=aggregation)
metrics = {
    "n_tasks": len(tasks), "n_models": len(contestants), "judge": judge.name, "K": K,
    "wb_score": dict(zip(board.model, board.wb_score.round(2))),
    "wb_reward_mix": dict(zip(board.model, board.wb_reward_mix.round(2))),
    "wb_reward_task_macro": dict(zip(board.model, board.wb_reward_task_macro.round(2))),
    "wb_reward_task_macro_ci": {m: [round(lo, 2), round(hi, 2)] for m, lo, hi in
                                zip(board.model, board.wb_reward_task_macro_lo, board.wb_reward_task_macro_hi)},
    "aggregation": aggregation, "baselines": baselines,
    "best_by_wb_score": verdict["best_by_wb_score"], "judge_reliable": verdict["judge_reliable"],
    "ranking_ties": verdict["ranking_ties"], "tied_with_best": verdict["tied_with_best"],
    "score_parse_failure_rate": score_fail, "reward_parse_failure_rate": reward_fail,
    "position_consistency": pos["consistent_rate"] if verdict["judge_reliable"] else None,
    "position_consistency_raw": pos["consistent_rate"], "position_same_slot_rate": pos["same_slot_rate"],
    "tie_share": tie_share, "top_score_share": top_score_share,
    "slot_a_rate": pos["a_slot_rate"], "position_pairs": pos["pairs"],
    "score_reward_kendall_tau": tau, "judge_prefill": use_prefill, "judge_requests_this_run": judge.requests, "judge_endpoint_errors": judge.errors, "judge_malformed_replies": judge.malformed,
    "score_endpoint_errors": score_errors, "reward_endpoint_errors": reward_errors, "tasks_skipped_malformed": len(skipped),
    **stages.health(),
    "finding": verdict["finding"], "signal": verdict["signal"],
    "findings": verdict["findings"] + fallback_lines({"WB-Score endpoint errors": score_errors, "WB-Reward endpoint errors": reward_errors,
                                                      "tasks skipped (malformed)": len(skipped), **stages.health()}),
    "headline": ["best_by_wb_score", "ranking_ties", "score_parse_failure_rate", "reward_parse_failure_rate", "tie_share",
                 "top_score_share"],
}
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
from IPython.display import Markdown
from helpers.core.report import findings_markdown
Markdown(findings_markdown(metrics))
