# ---
# jupyter:
#   helpers:
#     precheck: helpers.evaluation.arena:check_params
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Arena-Hard-Auto: pairwise LLM-judge leaderboard with confidence intervals
#
# **Question.** Given a set of hard prompts, how do models rank against a fixed baseline when an LLM judge
# compares their answers pairwise, how certain is that ranking, and how much of it is answer *style*
# (length, markdown) rather than substance?
#
# **Method** (Arena-Hard-Auto, Li et al. 2024). Every contestant answers every prompt; the judge sees
# the prompt and two answers and ends with one of five labels `[[A>>B]] [[A>B]] [[A=B]] [[B>A]] [[B>>A]]`
# (regex, last match wins). **Two games per prompt**: baseline as A, then swapped, so position bias
# cancels; a prompt is dropped if either game's verdict is missing. Strong verdicts weigh 3. A
# Bradley-Terry model is fitted by logistic regression without intercept (Elo = 400·β + 1000, baseline
# anchored at 1000), and the win rate against the baseline is 1/(1+10^((R_b−R_m)/400)). Intervals come
# from bootstrap resampling. **Style control** adds normalised length and markdown-density differences
# to the design matrix and reads the win rate from the model coefficients only. Benchmark quality:
# **separability with confidence** (share of model pairs whose intervals do not overlap).
#
# **Upstream definitions (the defaults) and ours.** Where lmarena/arena-hard-auto and this notebook define
# a statistic differently, the upstream definition is the default, so the numbers compare with published
# leaderboards, and ours is computed on the same battles and shown beside it:
#
# | | upstream (default) | ours (option) |
# |---|---|---|
# | bootstrap, `bootstrap_method` | `upstream`: a strong verdict becomes 3 identical battles *before* resampling; rows are resampled within each contestant (with style control: over all battles, as v2 does) | `weighted`: the weight-3 battle is resampled as one unit (or whole prompts, `bootstrap_unit = "prompt"`): a strong verdict is one observation, so the intervals are wider |
# | interval level, `ci_level` | 90% (v2; v0.1 used 95%) | the same parameter |
# | style control, `style_method` | `upstream`: features model minus baseline, z-scored with their mean removed, so the coefficient is the win rate **at the average style gap** of the battles; markdown counted after removing fenced code blocks, ordered items only as `1.`; length (m−b)/(m+b), markdown density count/(L+1) with (m−b)/(m+b+1) | `symmetric`: features A minus B over both swapped games (mean 0), so the coefficient is the win rate **at equal style**; markdown counted everywhere, `1)` items too; density count/L with (a−b)/(a+b) |
#
# Two smaller differences remain: length is counted in the answer model's tokens (upstream: tiktoken's
# gpt-4o encoding), and the point rating is the fit on all battles (upstream v2 prints the bootstrap mean
# or median, the same up to Monte Carlo noise).
#
# Prompts come from notebook 03 (BenchBuilder, same run name) or from any Arena-Hard file / hub set.
#
# **Offline caveat.** The quick profile compares the 135M embedded model with itself under different
# system prompts, judged by the same 135M model. Such a judge rarely writes a `[[A>B]]`-style label when
# asked to generate, so the quick profile uses `judge_mode = "logprob"`: the verdict is whichever of the
# five labels the judge finds most likely after `My final verdict is [[`. Every game then has a verdict,
# but a verdict is not a judgement: a small judge tends to prefer one slot whatever the answers, and
# because each prompt is judged in both orders, a judge that always prefers the same slot gives every
# contestant the baseline's rating (win rate 50%). The reliability section measures this for the run at
# hand, and the findings withhold the ranking when the judge fails those checks. The scoring code is exact
# and tested on synthetic battles (tests/test_arena.py).

# %% tags=["parameters"]
prompts_data = "run:03_benchbuilder"  # [non-empty] run:NOTEBOOK (its data/bench_prompts.jsonl, same run name), builtin:NAME, local file, or hub id
fallback_prompts = "builtin:arena_prompts_sample.jsonl"  # used, with a note, when prompts_data is a run that is missing or empty (empty: fail)
prompts_split = "train"  # split for hub data sets
prompts_category = ""  # keep only this category (empty: all)
n_prompts = 10  # [0..] prompts to evaluate (0: all)
answer_model = "smollm2-135m-instruct"  # [non-empty] model behind the baseline and the variant contestants
baseline = "base-greedy"  # [non-empty] the baseline variant (see arena.ANSWER_VARIANTS)
contestants = ["concise-system", "markdown-system"]  # [non-empty] variant contestants of answer_model
extra_checkpoints = []  # other models (folder / hub id), answered greedily; missing ones are skipped with a note
answer_max_tokens = 64  # [1..] max new tokens per answer
judge_model = "smollm2-135m-instruct"  # [non-empty] judge: local model alias/folder/hub id, or the endpoint's model name
judge_base_url = ""  # OpenAI-compatible endpoint of the judge (empty: run it locally)
judge_timeout = 120.0  # [1..] seconds an endpoint request may take (then 2 retries, then a counted failure)
judge_prompt = "short"  # [arena-hard|short] arena-hard (judge answers first, then verdict) or short (verdict only, for small judges)
judge_mode = "logprob"  # [logprob|generate] logprob (local judge: most likely of the five labels after a verdict prefill) or generate (judge writes text, regex parse; needed for endpoints)
judge_max_tokens = 16  # [1..] max tokens of a judgement (generate mode)
backend = "auto"  # [auto|vllm|hf] local generation backend; auto: a suite's shared vLLM server, else vLLM, or transformers for a small job on a CPU
bootstrap_rounds = 100  # [10..] bootstrap resamples for the intervals
bootstrap_method = "upstream"  # [upstream|weighted] upstream (Arena-Hard: a strong verdict becomes 3 battles before resampling) or weighted (the weight-3 battle is one resampling unit; wider intervals)
bootstrap_unit = "battle"  # [battle|prompt] resampling unit of the weighted method: battle or prompt (keeps a prompt's two games together)
ci_level = 0.9  # [0..1] level of the bootstrap intervals, strictly between 0 and 1 (upstream v2 reports 0.9, v0.1 0.95)
style_method = "upstream"  # [upstream|symmetric] upstream (features model minus baseline: win rate at the average style gap) or symmetric (A minus B: win rate at equal style)
min_valid_prompts = 3  # [1..] fewer valid prompts for a contestant: no rating (not enough valid battles)
seed = 0  # [0..] sampling seed
tensor_parallel_size = 1  # [1..] vLLM: GPUs per model (70B: 4-8)
gpu_memory_utilization = 0.0  # [0..1] vLLM: fraction of GPU memory per engine (CPU build: of RAM for the KV cache); 0: 0.85 on a GPU, 0.3 on a CPU
max_model_len = 0  # [0..] vLLM: context length of an engine (prompt + reply tokens); 0: 2048
torch_threads = 0  # [0..] CPU threads for torch; 0: the cores free right now (os.sched_getaffinity minus the load average)
executor = "local"  # [local|ray] where the local judge's calls (judge_mode generate) run: local (this process) or ray (long-lived Ray replicas; README, On a cluster)
ray_address = ""  # executor ray: empty starts Ray on this machine; auto, host:port or ray://host:port joins a running cluster
ray_replicas = 1  # [1..] executor ray: data-parallel replicas, each with its own copy of the judge model
ray_gpus_per_replica = 0  # [0..] executor ray: GPUs per replica (0 on a CPU; above 1: tensor parallel inside the replica, vLLM)
sim_position_bias = 0.3  # [0..1] controlled setting: rate at which the simulated judge gives a close call (a true tie) to the answer in slot A
sim_length_bias = 0.5  # [0..1] controlled setting: rate at which it gives a close call to the longer answer (full rate from a 3x length ratio)
sim_noise = 0.1  # [0..1] controlled setting: rate of uniformly random verdicts
sim_prompts = 100  # [10..] controlled setting: simulated prompts per draw
sim_repeats = 6  # [1..] controlled setting: independent draws (prompts, answers, judge seed) the checks average over

# %%
import pandas as pd

from helpers import run_stage
from helpers.core.notebook import start_notebook
from helpers.core.plotting import show
from helpers.evaluation import arena
from helpers.evaluation.arena import plots as arena_plots
from helpers.evaluation.stages import ARENA

run, stages = start_notebook("04_arena_hard", globals(), ARENA)  # engine settings, plot style, run folder
source, note = arena.prompts_source(run.dir, prompts_data, fallback_prompts)  # run:03_benchbuilder, or the fallback
if note:
    print(note)
prompts, skipped = arena.load_arena_prompts(source, split=prompts_split, category=prompts_category, limit=n_prompts or None)
print(f"{len(prompts)} prompts from {source} ({skipped} empty records skipped); run folder: {run.dir}")
pd.DataFrame(prompts).head()

# %% [markdown]
# ## Answers
# The baseline and the contestants answer every prompt (a resumable stage per model). Contestants are
# the same model with a different system prompt or temperature, plus any extra checkpoints that exist
# (unknown variants are refused by the precheck, `arena.check_params`, before the kernel starts).

# %%
configs, notes = arena.answer_configs(answer_model, [baseline, *contestants], extra_checkpoints)
for note in notes:
    print(note)
answers = arena.generate_answers(configs, prompts, stages, backend, answer_max_tokens, seed)  # joined by prompt id
arena.mean_answer_tokens(answers)

# %% [markdown]
# ## Judgements: two games per prompt
# Game 1 shows the baseline as A and the contestant as B; game 2 swaps them. Two ways to get a verdict:
#
# * `judge_mode = "generate"`: the judge writes text and the last `[[X]]` label is parsed (Arena-Hard's
#   own procedure; needed for endpoint judges). Unparseable text is a missing verdict.
# * `judge_mode = "logprob"` (local judges): the judge prompt is rendered with the judge's chat template
#   and generation prompt, `My final verdict is [[` is appended, and the five continuations
#   `A>>B]]` … `B>>A]]` are scored by summed log-probability; the most likely one is the verdict. Every
#   game gets a verdict, so this mode measures what the judge *prefers*, not whether it can follow the
#   output format, and it cannot fail to parse. The log-probs and the margin over the runner-up are kept.
#
# Judgements are cached per (judge, mode, contestant, prompt, game, exact judge prompt incl. both answers),
# so a rerun with the same answers costs nothing.

# %%
from helpers.core.executor import Executor
from helpers.core.judge import Judge

executor = Executor.from_params(globals())  # local, or the long-lived Ray replicas that make the judge calls
items, judge_msgs = arena.game_items(configs, baseline, prompts, answers, judge_model, judge_base_url, judge_mode,
                                     judge_max_tokens, judge_prompt)  # style features: from the answers, later
make_judge = lambda: Judge(judge_model, base_url=judge_base_url, timeout=judge_timeout, backend=backend,  # noqa: E731
                           cache_dir=run.path("judge_cache"), max_tokens=judge_max_tokens, batch_size=16, executor=executor)
judge_games, judges = arena.game_judge(judge_mode, judge_msgs, make_judge, judge_model)  # a cached rerun loads no judge
games = run_stage(stages.store("games"), items, judge_games, batch_size=16, desc="games")
judge_endpoint_errors = sum(bool(g.get("endpoint_error")) for g in games)
games = [g for g in games if not g.get("endpoint_error")]  # an endpoint error is no verdict: judged again next run
if judge_endpoint_errors:
    print(f"{judge_endpoint_errors} judge endpoint errors: not verdicts, judged again next run")

# %%
gdf, parse_failure_rate = arena.games_frame(games, judge_mode)
consistency = arena.position_consistency(games)
print(f"{len(gdf)} games ({judge_mode} mode); missing verdicts {gdf.verdict.isna().sum()} ({parse_failure_rate:.0%})")
print("position consistency:", {k: (round(v, 2) if isinstance(v, float) else v) for k, v in consistency.items()})
if judge_mode == "logprob":
    print(f"median log-prob margin of the chosen label over the runner-up: {gdf.margin.median():.2f} nats")
pd.set_option("display.max_colwidth", 100)
gdf[["model", "game", "judgement", "verdict"] + (["margin"] if judge_mode == "logprob" else [])].head(8)

# %% [markdown]
# ### How reliable is this judge?
# Parse-failure rate (no verdict label), the verdict distribution per game position, and position bias:
# among prompts with both verdicts, how often the judge preferred whichever answer was shown first
# (or second) in *both* games, i.e. its decision followed the position rather than the answer.

# %%
fig, caption = arena_plots.judge_reliability_figure(gdf, consistency)
show(run, fig, "judge_reliability", caption)

# %% [markdown]
# ## Leaderboard
# Bradley-Terry ratings with bootstrap intervals at `ci_level`, raw and style-controlled, using the
# definitions chosen by `bootstrap_method` and `style_method`. The other definition of each is computed on
# the same battles and printed beside it: the interval widths of the upstream and weighted bootstraps, and
# the style-controlled win rates at the average style gap (upstream) and at equal style (symmetric).
# Computed only when every contestant has at least `min_valid_prompts` prompts with both verdicts parsed.

# %%
battles, drop_stats = arena.battles_from_games(games, baseline=baseline)
print("battle accounting:", drop_stats)
valid = arena.valid_prompts(battles, [m for m in configs if m != baseline])
print("valid prompts per contestant:", valid)
enough = arena.enough_battles(valid, min_valid_prompts)
if bootstrap_method == "upstream" and bootstrap_unit != "battle":
    print(f"note: bootstrap_unit={bootstrap_unit!r} applies to the weighted method only; upstream resamples battle rows")
if not enough:
    print(f"NOT ENOUGH VALID BATTLES: need {min_valid_prompts} valid prompts per contestant; no ratings are reported.")

# %%
rated = arena.ratings(battles, answers, baseline, bootstrap_method, style_method, rounds=bootstrap_rounds, seed=seed,
                      unit=bootstrap_unit, level=ci_level) if enough else {}
board = rated.get("board")
if rated:
    for key, table in (("board", "leaderboard"), ("styled", "leaderboard_style_controlled"),
                       ("ci_cmp", "bootstrap_upstream_vs_weighted"), ("style_cmp", "style_control_upstream_vs_symmetric")):
        run.save_table(rated[key], table)
    print(f"style coefficients ({style_method}, z-scored features):", {k: round(float(v), 3) for k, v in rated["style_coef"].items()})
    print(f"{ci_level:.0%} interval widths in win-rate points, upstream (main) vs weighted (alt) bootstrap:")
    display(rated["ci_cmp"].round(2))
    print("style-controlled win rates (%), upstream (main, average style gap) vs symmetric (alt, equal style):")
    display(rated["style_cmp"].round(2))
board

# %%
if board is not None:
    fig, caption = arena_plots.leaderboard_figure(rated, baseline, bootstrap_method, style_method, ci_level,
                                                  bootstrap_rounds)
    show(run, fig, "leaderboard", caption)
else:
    print("no leaderboard figure: no ratings (not enough valid battles)")

# %% [markdown]
# ### Separability and agreement with the WildBench judges
# Separability with confidence over the models rated here. If notebook 02 (WildBench) wrote its
# leaderboard for the same run name (`data/leaderboard.csv`), its per-model point scores (`wb_score`,
# `wb_reward_mix`, ...; the `*_lo`/`*_hi` interval columns and the per-K / per-group tables are ignored)
# are compared with the Arena-Hard ratings on the models both evaluated, matched by exact name. Rank
# correlations need at least 3 shared models; with fewer, or none, the notebook says so.

# %%
sep = arena.separability(board) if board is not None else {"pairs": 0, "separated": 0, "separability": float("nan")}
print("separability with confidence:", sep)
wb_dir = arena.sibling_run_dir(run.dir, "02_wildbench") / "data"
tables = arena.read_model_tables(wb_dir)
for name, why in tables.unreadable.items():
    print(f"UNREADABLE WildBench table {wb_dir / name}: {why} (left out of the agreement)")
agreement, lines = arena.wildbench_agreement(board, tables, wb_dir)  # models matched by exact name
print(*lines, sep="\n")
if agreement:
    print("rank agreement (NaN = fewer than 3 shared models):")
    display(pd.DataFrame(agreement))

# %% [markdown]
# ## Controlled setting: a simulated judge where the truth is known
# The 135M judge above cannot judge, so its ratings say nothing about the method. Here the method runs where the
# truth is known (`helpers.evaluation.simulated`; every number in this section is a **controlled-setting** number,
# not a measurement of the models above). Four simulated contestants answer checkable arithmetic prompts: right or
# wrong at a known rate per difficulty, with or without the working; `sim-verbose` writes answers about four times
# longer than the others. A simulated judge with the real judge's interface checks each answer by program and
# follows that truth (right beats wrong: `>>`; working beats none: `>`; else a tie), except that it gives a close
# call (a true tie) to slot A at rate `sim_position_bias`, to the longer answer at rate `sim_length_bias`, and
# answers at random at rate `sim_noise`. Its replies go through the same games (`game_items`, `game_judge` in
# generate mode, `parse_verdict`), `battles_from_games`, Bradley-Terry, the bootstrap `leaderboard` (with
# `bootstrap_method`, `ci_level`, `bootstrap_rounds`) and style control. Each of `sim_repeats` draws has its own
# prompts, answers and judge seed; in each, three judges see the same prompts with the same random numbers
# (configured; without length bias; without any bias), so their differences are the injected biases alone. The
# truth (the win rate against `sim-base` that a judge without position or length bias gives on infinitely many
# prompts) is computed exactly.

# %%
from IPython.display import Markdown

from helpers.evaluation import simulated as sim
from helpers.evaluation.arena import controlled as arena_sim

world = sim.SimWorld()  # four contestants of known strength; baseline sim-base
sim_draws = [arena_sim.draw(world, sim_position_bias, sim_length_bias, sim_noise, sim_prompts, seed + r,
                            rounds=bootstrap_rounds, level=ci_level, bootstrap_method=bootstrap_method,
                            unit=bootstrap_unit, style_method=style_method, judge_prompt=judge_prompt)
             for r in range(sim_repeats)]
sim_summary = arena_sim.summarise(sim_draws, world, position_bias=sim_position_bias, length_bias=sim_length_bias,
                                  noise=sim_noise, n_prompts=sim_prompts, level=ci_level, rounds=bootstrap_rounds,
                                  bootstrap_method=bootstrap_method, style_method=style_method)
print(f"controlled setting: {len(sim_draws)} draws of {sim_prompts} prompts; true order: "
      f"{' > '.join(sim_summary['true_order'])} (win rates in %, means over draws, configured judge)")
arena_sim.contestant_table(sim_summary, sim_draws).round(1)

# %%
fig, caption = arena_plots.controlled_figure(sim_summary)
show(run, fig, "controlled", caption)
controlled = arena_sim.controlled_metrics(sim_summary)  # finding, signal and lines: into metrics.json below
Markdown(sim.controlled_markdown(controlled))

# %%
executor.close()  # executor ray: stop the replicas (a Ray started here stops) before the report
counts = {"prompts": len(prompts), "prompts_source": source, "games": len(gdf), "judge_parse_failure_rate": parse_failure_rate,
          "judge_mode": judge_mode, "enough_valid_battles": enough, "bootstrap_method": bootstrap_method,
          "bootstrap_rounds": bootstrap_rounds, "ci_level": ci_level, "style_method": style_method,
          "judge_requests": {k: getattr(v, "requests", None) for k, v in judges.items()},
          "judge_endpoint_errors": judge_endpoint_errors}
metrics = arena.run_metrics(counts, consistency, drop_stats, rated, sep, agreement, tables, stages.health())
metrics.update(controlled)  # the controlled setting's numbers, controlled_finding and controlled_signal
run.log_metrics(metrics)

# %% [markdown]
# ## Findings
# Computed from this run's metrics. Read the position-bias rate and the two-game consistency first: a judge
# whose verdict follows the slot carries no information about the answers, so its ranking is withheld; in
# generate mode a judge that emits no label gives no battles at all. In log-prob mode the margin of the chosen
# label says how sure the judge was, not whether it was right. The interval level and bootstrap definition are
# stated with the numbers (separability depends on both), and the style-controlled column shows how much of a
# win comes from length and markdown.

# %%
from helpers.core.report import findings_markdown

Markdown(findings_markdown(metrics) + "\n\n" + sim.controlled_markdown(metrics))
