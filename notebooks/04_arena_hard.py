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
backend = "hf"  # [auto|vllm|hf] local generation backend
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

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from helpers import Generator, Run, Sampling, run_stage
from helpers.evaluation import arena
from helpers.core.judge import Judge
from helpers.core.logprobs import LogProbScorer
from helpers.core.models import ModelNotFoundError, resolve_model
from helpers.core.plotting import show, use_style
from helpers.core.stats import pct
from helpers.core.store import stable_id

from helpers.core import engines  # vLLM settings and CPU threads for every model this notebook loads
engines.configure(gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len,
                  tensor_parallel_size=tensor_parallel_size, torch_threads=torch_threads)
use_style()
run = Run.current("04_arena_hard")
from helpers.core.store import RETRY, fallback_lines
from helpers.evaluation.stages import ARENA
stages = ARENA.bind(run, globals())  # each stage's file is named by a hash of every parameter that changes it
source = prompts_data
if prompts_data.startswith("run:"):
    path = arena.sibling_run_dir(run.dir, prompts_data[4:]) / "data" / "bench_prompts.jsonl"
    source = str(path)
    if not path.exists() or not path.read_text().strip():
        if not fallback_prompts:
            raise FileNotFoundError(f"{path} is missing or empty: run {prompts_data[4:]} with the same run name first")
        print(f"NOTE: {path} is missing or empty (no BenchBuilder output for this run name); using {fallback_prompts}")
        source = fallback_prompts
prompts, skipped = arena.load_arena_prompts(source, split=prompts_split, category=prompts_category, limit=n_prompts or None)
print(f"{len(prompts)} prompts from {source} ({skipped} empty records skipped); run folder: {run.dir}")
pd.DataFrame(prompts).head()

# %% [markdown]
# ## Answers
# The baseline and the contestants answer every prompt (a resumable stage per model). Contestants are
# the same model with a different system prompt or temperature, plus any extra checkpoints that exist.

# %%
unknown = [v for v in [baseline, *contestants] if v not in arena.ANSWER_VARIANTS]
if unknown:
    raise ValueError(f"unknown variants {unknown}: choose from {sorted(arena.ANSWER_VARIANTS)}")
configs = {v: {"model": answer_model, **arena.ANSWER_VARIANTS[v]} for v in [baseline, *contestants]}
for ckpt in extra_checkpoints:
    try:
        resolve_model(ckpt)
        configs[ckpt.rstrip("/").split("/")[-1]] = {"model": ckpt, "system": "", "temperature": 0.0}
    except ModelNotFoundError as exc:
        print(f"skipping extra checkpoint {ckpt!r}: {exc}")

gens, answers = {}, {}
for name, cfg in configs.items():
    if cfg["model"] not in gens:
        gens[cfg["model"]] = Generator(cfg["model"], backend=backend)
    gen = gens[cfg["model"]]
    sampling = Sampling(temperature=cfg["temperature"], max_tokens=answer_max_tokens, seed=seed)

    def answer(batch, gen=gen, cfg=cfg, sampling=sampling):
        outs = gen.generate([arena.answer_messages(p["prompt"], cfg["system"]) for p in batch], sampling, desc="answers")
        return [{"key": p["key"], "id": p["id"], "text": o[0].text, "n_tokens": o[0].n_tokens} for p, o in zip(batch, outs)]

    # records keyed by the prompt's id and text (a "run:" source can change under the same id), joined by id
    recs = run_stage(stages.store("answers", key="key", part=name, variant=cfg, engine=gen.backend_name),
                     [{**p, "key": stable_id(p["id"], p["prompt"])} for p in prompts], answer, batch_size=16, desc=name)
    answers[name] = {r["id"]: r for r in recs}
pd.DataFrame({n: [np.mean([a["n_tokens"] for a in ans.values()])] for n, ans in answers.items()}, index=["mean answer tokens"])

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
executor = Executor.from_params(globals())  # local, or the long-lived Ray replicas that make the judge calls
if judge_mode not in ("logprob", "generate"):
    raise ValueError(f"judge_mode must be 'logprob' or 'generate', got {judge_mode!r}")
if judge_mode == "logprob" and judge_base_url:
    raise ValueError("judge_mode='logprob' scores a local judge's next tokens; an endpoint judge needs judge_mode='generate'")
setting = arena.VERDICT_PREFILL if judge_mode == "logprob" else judge_max_tokens
items, judge_msgs = [], {}
for m in configs:
    if m == baseline:
        continue
    for p in prompts:
        for g in (1, 2):
            a, b = arena.game_order(answers[baseline][p["id"]], answers[m][p["id"]], g)
            msgs = arena.judge_messages(p["prompt"], a["text"], b["text"], judge_prompt)
            gid = stable_id(judge_model, judge_base_url, judge_mode, setting, m, p["id"], g, msgs)
            judge_msgs[gid] = msgs
            items.append({"id": gid, "model": m, "prompt_id": p["id"], "game": g})  # style features: from the answers, later
_judges = {}  # loaded on first use: a fully cached rerun loads no judge

def judge_games(batch):
    msgs = [judge_msgs[it["id"]] for it in batch]
    if judge_mode == "logprob":
        if "scorer" not in _judges:
            _judges["scorer"] = LogProbScorer(judge_model, batch_size=8)
        res = arena.logprob_verdicts(_judges["scorer"], msgs, desc="judge log-probs")
        return [{**it, "judgement": arena.VERDICT_PREFILL + r["verdict"] + "]]", "verdict": r["verdict"],
                 "label_logprobs": r["logprobs"], "margin": r["margin"]} for it, r in zip(batch, res)]
    if "judge" not in _judges:
        _judges["judge"] = Judge(judge_model, base_url=judge_base_url, timeout=judge_timeout, backend=backend, cache_dir=run.path("judge_cache"),
                                 max_tokens=judge_max_tokens, batch_size=16, executor=executor)
    texts = _judges["judge"].complete(msgs, desc="judge")
    # an endpoint error is no verdict: not stored (RETRY), judged again next run, counted apart from parse failures
    return [{**it, "judgement": t, "verdict": None if f else arena.parse_verdict(t),
             **({"endpoint_error": True, RETRY: True} if f else {})}
            for it, t, f in zip(batch, texts, _judges["judge"].last_failed)]

games = run_stage(stages.store("games"), items, judge_games, batch_size=16, desc="games")
judge_endpoint_errors = sum(bool(g.get("endpoint_error")) for g in games)
games = [g for g in games if not g.get("endpoint_error")]
if judge_endpoint_errors:
    print(f"{judge_endpoint_errors} judge endpoint errors: not verdicts, judged again next run")
gdf = pd.DataFrame(games, columns=["id", "model", "prompt_id", "game", "judgement", "verdict"] + (["margin"] if judge_mode == "logprob" else []))
parse_failure_rate = float(gdf.verdict.isna().mean())
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
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.15, 1]})
labels = [*arena.VERDICTS, "unparsed"]
counts = (gdf.assign(verdict=gdf.verdict.fillna("unparsed")).groupby(["game", "verdict"]).size()
          .unstack(fill_value=0).reindex(index=[1, 2], columns=labels, fill_value=0))
counts.index = ["game 1\n(baseline shown as A)", "game 2\n(baseline shown as B)"]
colours = [*plt.get_cmap("RdBu")(np.linspace(0.1, 0.9, len(arena.VERDICTS))), "lightgrey"]
counts.plot.bar(stacked=True, ax=axes[0], color=colours, width=0.55, rot=0)
axes[0].legend(title="verdict label", bbox_to_anchor=(1.01, 1), loc="upper left")  # outside the bars
axes[0].set(title="Verdict labels by game position", xlabel="game", ylabel="games (count)")
n_pairs = consistency["pairs_with_both_verdicts"]
rates = {"two games agree": consistency["consistent_rate"], "first slot won both": consistency["first_position_bias"],
         "second slot won both": consistency["second_position_bias"]}
values = [0.0 if v != v else 100 * v for v in rates.values()]
bars = axes[1].bar(list(rates), values, color=["tab:green", "tab:red", "tab:orange"], width=0.55)
for bar, v in zip(bars, rates.values()):
    axes[1].annotate(pct(v), (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                     xytext=(0, 2), textcoords="offset points")
axes[1].set(ylim=(0, 110), title=f"Two-game consistency (n={n_pairs} prompt pairs)", xlabel="position check",
            ylabel="share of prompt pairs (%)")
n_unparsed = int(gdf.verdict.isna().sum())
show(run, fig, "judge_reliability",
     f"Left: how often the judge gave each verdict label in game 1 (baseline shown as A) and game 2 (swapped); "
     f"{n_unparsed} of {len(gdf)} games had no verdict. Right: of {n_pairs} prompt pairs with both verdicts, "
     f"{pct(consistency['consistent_rate'])} gave the same outcome for the contestant in both orders and "
     f"{pct(consistency['position_bias_rate'])} followed the slot (the same position won both games).")

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
names = [m for m in configs if m != baseline]
valid = {m: int(battles[battles.model_a.eq(m) | battles.model_b.eq(m)].prompt_id.nunique()) if len(battles) else 0
         for m in names}
print("valid prompts per contestant:", valid)
board = styled = None
boards, styled_boards, summary = {}, {}, {}
enough = len(valid) > 0 and min(valid.values()) >= min_valid_prompts
if bootstrap_method == "upstream" and bootstrap_unit != "battle":
    print(f"note: bootstrap_unit={bootstrap_unit!r} applies to the weighted method only; upstream resamples battle rows")
if not enough:
    print(f"NOT ENOUGH VALID BATTLES: need {min_valid_prompts} valid prompts per contestant; no ratings are reported.")
else:
    opts = dict(rounds=bootstrap_rounds, seed=seed, unit=bootstrap_unit, level=ci_level)
    boards = {bm: arena.leaderboard(battles, baseline, method=bm, **opts) for bm in arena.BOOTSTRAP_METHODS}
    style_cov = {}
    for sm in arena.STYLE_METHODS:
        fa, fb = arena.battle_style_features(battles, answers, counting=sm)
        style_cov[sm] = arena.style_covariates(battles, fa, fb, baseline, method=sm)
    styled_boards = {sm: arena.leaderboard(battles, baseline, method=bootstrap_method, style=S, **opts)
                     for sm, S in style_cov.items()}
    board, styled = boards[bootstrap_method], styled_boards[style_method]
    style_coef = dict(zip(arena.STYLE_COLUMNS, arena.fit_bradley_terry(battles, baseline, style=style_cov[style_method])["style_coef"]))
    ci_cmp = arena.method_comparison(boards["upstream"], boards["weighted"], baseline)
    style_cmp = arena.method_comparison(styled_boards["upstream"], styled_boards["symmetric"], baseline)
    summary = arena.comparison_summary(ci_cmp, style_cmp)
    run.save_table(board, "leaderboard")
    run.save_table(styled, "leaderboard_style_controlled")
    run.save_table(ci_cmp, "bootstrap_upstream_vs_weighted")
    run.save_table(style_cmp, "style_control_upstream_vs_symmetric")
    print(f"style coefficients ({style_method}, z-scored features):", {k: round(float(v), 3) for k, v in style_coef.items()})
    print(f"{ci_level:.0%} interval widths in win-rate points, upstream (main) vs weighted (alt) bootstrap:")
    display(ci_cmp.round(2))
    print(f"style-controlled win rates (%), upstream (main, average style gap) vs symmetric (alt, equal style):")
    display(style_cmp.round(2))
board

# %%
if board is not None:
    alt_boot = [bm for bm in arena.BOOTSTRAP_METHODS if bm != bootstrap_method][0]
    alt_style = [sm for sm in arena.STYLE_METHODS if sm != style_method][0]
    order = list(board.sort_values(["win_rate", "model"]).model)  # the same row order in both panels
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.55 * len(order) + 2.6), sharey=True)
    panels = [(axes[0], boards[bootstrap_method], boards[alt_boot], f"{bootstrap_method} bootstrap", f"{alt_boot} bootstrap",
               "Raw win rate"),
              (axes[1], styled, styled_boards[alt_style], f"{style_method} style control", f"{alt_style} style control",
               "Style-controlled win rate")]
    y = np.arange(len(order))
    for ax, main, alt, main_label, alt_label, title in panels:
        for b, dy, colour, label in ((main, -0.12, "tab:blue", f"{main_label} (in use)"), (alt, 0.12, "tab:gray", alt_label)):
            b = b.set_index("model").reindex(order)
            ax.errorbar(100 * b.win_rate, y + dy, xerr=[100 * (b.win_rate - b.win_rate_low), 100 * (b.win_rate_high - b.win_rate)],
                        fmt="o", ms=5, capsize=3, color=colour, label=label)
        ax.axvline(50, color="k", lw=0.8, ls="--")
        ax.set(title=f"{title} vs {baseline}, {ci_level:.0%} CI", xlabel="win rate against the baseline (%)", xlim=(-2, 102))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)  # below the axis, never over the bars
    axes[0].set(yticks=y, yticklabels=[f"{m} (baseline)" if m == baseline else m for m in order], ylabel="contestant")
    ratio, gap = summary["ci_width_ratio_weighted_over_upstream"], summary["style_methods_max_gap_points"]
    show(run, fig, "leaderboard",
         f"Win rate of each contestant against {baseline} (dot) with {ci_level:.0%} bootstrap intervals over "
         f"{bootstrap_rounds} rounds; the dashed line is a tie with the baseline. Left: raw ratings, blue with the "
         f"{bootstrap_method} bootstrap in use, grey with the {alt_boot} one (median width ratio weighted/upstream "
         f"{ratio:.2f}). Right: style-controlled, blue with the {style_method} definition, grey with the {alt_style} one "
         f"(largest gap between them {gap:.1f} points).")
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
agreement = []
if not tables:
    print(f"no WildBench per-model tables at {wb_dir}: judge agreement not computed (absent)")
elif board is None:
    print("WildBench tables found, but there is no Arena-Hard ranking to compare (not enough valid battles)")
else:
    ours = dict(zip(board.model, board.rating))
    overlap = arena.model_name_overlap(ours, set().union(*[set(t) for t in tables.values()]))
    print(f"WildBench columns: {sorted(tables)}")
    if not overlap["shared"]:
        print(f"NO MODEL NAMES MATCH: Arena-Hard rated {overlap['only_ours']}, WildBench rated {overlap['only_theirs']}; "
              "agreement cannot be computed (give both notebooks the same contestant names)")
    else:
        print(f"shared models: {overlap['shared']}; only here: {overlap['only_ours']}; only in WildBench: {overlap['only_theirs']}")
    for name, scores in tables.items():
        agreement.append({"wildbench_table": name, **arena.rank_agreement(ours, scores)})
    agreement = pd.DataFrame(agreement)
    print("rank agreement (NaN = fewer than 3 shared models):")
    display(agreement)
    agreement = agreement.to_dict(orient="records")

# %%
executor.close()  # executor ray: stop the replicas (a Ray started here stops) before the report
rated = board is not None
interval = lambda b: {m: [round(lo, 4), round(hi, 4)] for m, lo, hi in zip(b.model, b.win_rate_low, b.win_rate_high)}  # noqa: E731
metrics = {"prompts": len(prompts), "prompts_source": source, "games": len(gdf), "judge_parse_failure_rate": parse_failure_rate,
           "prompts_kept": drop_stats["prompts_kept"], "prompts_dropped": drop_stats["prompts_dropped"],
           "position_bias_rate": consistency["position_bias_rate"], "two_game_consistency": consistency["consistent_rate"],
           "judge_mode": judge_mode, "enough_valid_battles": enough, "separability": sep["separability"],
           "bootstrap_method": bootstrap_method, "bootstrap_rounds": bootstrap_rounds, "ci_level": ci_level,
           "style_method": style_method,
           "win_rates": dict(zip(board.model, board.win_rate.round(4))) if rated else {},
           "win_rate_ci": interval(board) if rated else {},
           "win_rate_ci_by_bootstrap": {bm: interval(b) for bm, b in boards.items()},
           "win_rates_style_controlled": dict(zip(styled.model, styled.win_rate.round(4))) if rated else {},
           "win_rates_style_controlled_by_method": {sm: dict(zip(b.model, b.win_rate.round(4))) for sm, b in styled_boards.items()},
           "ci_width_ratio_weighted_over_upstream": summary.get("ci_width_ratio_weighted_over_upstream"),
           "style_methods_max_gap_points": summary.get("style_methods_max_gap_points"),
           "wildbench_agreement": agreement, "wildbench_tables_unreadable": tables.unreadable, "judge_requests": {k: getattr(v, "requests", None) for k, v in _judges.items()},
           "headline": ["top_contestant", "judge_parse_failure_rate", "position_bias_rate", "enough_valid_battles", "separability",
                        "ci_level"]}
metrics.update(judge_endpoint_errors=judge_endpoint_errors, **stages.health())
metrics.update(arena.findings(metrics, board))
metrics["findings"] = list(metrics.get("findings", [])) + fallback_lines({"judge endpoint errors": judge_endpoint_errors,
                                                                              "unreadable WildBench tables": len(tables.unreadable), **stages.health()})
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
from IPython.display import Markdown
from helpers.core.report import findings_markdown
Markdown(findings_markdown(metrics))
