# ---
# jupyter:
#   helpers:
#     precheck: helpers.participai.stages:check_params
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 12 · Particip-AI: what people want from AI, what they fear, and what decides "develop it"
#
# **Question.** Asked to imagine uses of today's AI and of AI in ten years, their benefits, the harms of misuse
# and of failure, and the harms and benefits of *not* developing them, do people say a use should be developed,
# and which of these judgements drives that decision? And can an LLM code the free-text answers the way humans do?
#
# **Method** (Particip-AI, Mun et al. 2024, [arXiv 2403.14791](https://arxiv.org/abs/2403.14791)). The survey
# (shown below as data: our wording, the paper's blocks, 0-8 ratings, the develop decision, eight AI-literacy and
# twelve demographic items). Free-text answers are coded with a codebook by an LLM (multi-label, one to four codes,
# few-shot prompts) and checked against human codes: micro- and per-code F1, Jaccard, Krippendorff's alpha, with
# bootstrap CIs and a majority-code baseline; codes are grouped into themes. Descriptive shares with Wilson CIs;
# a logistic regression of the develop decision (Q23) on the five ratings (benefit Q10, harm from misuse Q13, harm
# from failure Q16, harm of not developing Q19, benefit of not developing Q22), then with literacy and demographic
# controls (statsmodels), odds ratios with 95% CIs.
#
# **Paper.** 295 US participants; 82.7% say the application should be developed; Q19 and Q22 are the strongest
# predictors, Q10 weaker, Q13 and Q16 not significant: *the perceived impact of not developing drives the
# decision*. LLM codes vs human codes: micro-F1 about 0.65-0.69 (majority baseline 0.04-0.15).
#
# **Scale and data.** The quick profile reads **synthetic responses written by us** in the release's layout
# (`src/helpers/data/participai_synthetic`, 300 respondents): the develop decision follows a logistic model with known
# coefficients and the answers are written from known codes, so the analyses can be checked against the truth;
# it codes a few answers with the embedded 135M model. Its numbers say the pipeline works, not what people think.
# The full profiles read the public release (CC BY-NC 4.0) from the folder you downloaded
# (`JiMinMun/Particip-AI`); none of its rows or codebook texts ship with this project.

# %% tags=["parameters"]
release_dir = "src/helpers/data/participai_synthetic"  # [non-empty] the release: the downloaded Particip-AI repository folder (questions.json + data/), or our synthetic data in its layout (src/helpers/data/participai_synthetic)
coding_questions = ["Q11_4", "Q7_4"]  # [non-empty] free-text questions to code and check against the human codes (each needs a codebook and human_annotations/<id>.csv)
n_coded = 12  # [0..] human-annotated answers coded per question (0: all; the paper: 80)
coder = "logprobs"  # [logprobs|judge] logprobs: a local model scores each code name (no parsing); judge: the model answers in JSON (local or endpoint)
coder_model = "smollm2-135m-instruct"  # [non-empty] coding model: embedded alias, folder, hub id, or the endpoint's model name
coder_base_url = ""  # OpenAI-compatible endpoint of the judge coder (empty: run the model locally)
coder_timeout = 120.0  # [1..] seconds an endpoint request may take (then 2 retries, then a counted failure)
coder_max_tokens = 64  # [1..] judge coder: tokens of the JSON reply
coder_batch_size = 8  # [1..] answers per coding batch (each batch is stored before the next starts)
n_fewshot = 0  # [0..] example exchanges from the codebook's few-shot file before each request (the paper: all of them)
logprob_margin = 1.0  # [0..] coder logprobs: keep every code within this many nats of the best code
max_codes = 4  # [1..] at most this many codes per answer (the paper: one to four)
backend = "hf"  # [auto|vllm|hf] generation backend of a local judge coder: hf on a CPU, auto picks vLLM where installed
torch_threads = 1  # [0..] CPU threads for torch (0: all free cores)
bootstrap_rounds = 1000  # [10..] bootstrap resamples for the CIs of means and agreement
seed = 0  # [0..] bootstrap seed
show_form = False  # show the ipywidgets form that records one response in the release's schema (JupyterLab only)

# %%
import pandas as pd
from IPython.display import Markdown, display

from helpers.core.plotting import show, use_style
from helpers.core.report import findings_markdown
from helpers.core.runs import Run
from helpers.participai import agreement as pag
from helpers.participai import analysis as paa
from helpers.participai import coding as pac
from helpers.participai import findings as paf
from helpers.participai import instrument as pai
from helpers.participai import plots as pap
from helpers.participai import release as par
from helpers.participai.stages import GRAPH

# %%
use_style()
run = Run.current("12_participai")
stages = GRAPH.bind(run, globals())
rel = par.load_release(release_dir)
source = "synthetic responses written by us" if rel.synthetic else f"the public release at {rel.root}"
print(f"{len(rel.responses)} responses ({source}); codebooks {sorted(rel.codebooks)}; human-coded questions "
      f"{sorted(rel.human_codes)}; run folder {run.dir}")

# %% [markdown]
# ## 1 · The instrument
# The survey as data (`src/helpers/data/participai_instrument.yaml`): our wording, the paper's structure and the
# release's question ids, so the same loaders read our responses and the release's. With `show_form = True` an
# ipywidgets form records a response in the same schema.

# %%
inst = pai.load_instrument()
display(Markdown(pai.instrument_markdown(inst)))
if show_form:
    collected = []
    display(pai.form(inst, collected.append))

# %% [markdown]
# ## 2 · Descriptives
# Shares with 95% Wilson intervals, mean ratings with bootstrap intervals.

# %%
frame = paa.survey_frame(rel.responses)
shares = {"Tech-X should exist (Q1)": paa.share(frame.Q1), "Tech-X 10 should exist (Q4)": paa.share(frame.Q4),
          "should be developed (Q23)": paa.share(frame.develop)}
means = {paa.TERM_LABELS[k]: paa.mean_ci(frame[k], bootstrap_rounds, seed) for k in paa.RATING_TERMS}
display(pd.DataFrame([{"item": k, "share": v["share"], "ci": v["ci"], "n": v["n"]} for k, v in shares.items()]))
pd.DataFrame([{"rating (0-8)": k, "mean": v["mean"], "ci": v["ci"], "n": v["n"]} for k, v in means.items()])

# %% [markdown]
# Use-case domains, harm themes and who is harmed, from the release's LLM codes where it has them (the human codes
# otherwise); each answer counts once per code or theme.

# %%
harm_codes = {f"{q}|{rid}": c for q in ("Q11_4", "Q14_4") for rid, c in rel.codes(q)[0].items()}
tables = {f"use-case domains (Q7, {rel.codes('Q7_4')[1]} codes)": paa.code_shares(rel.codes("Q7_4")[0]),
          "harm themes (Q11, Q14)": paa.code_shares(harm_codes, rel.themes.get("Q11_4")),
          f"who is harmed (Q12, {rel.codes('Q12')[1]} codes)": paa.code_shares(rel.codes("Q12")[0])}
show(run, pap.shares_figure(tables), "descriptives",
     "Share of answers per use-case domain, harm theme and harmed group, with 95% Wilson intervals (top 8 each).")

# %% [markdown]
# ## 3 · What drives the develop decision
# Logistic regression of "should be developed" on the five ratings, then with AI literacy (mean of six items),
# generative-AI use, age group, gender, education and political views. Odds ratios per rating point.

# %%
fit = paa.logistic(frame, paa.RATING_TERMS)
fit_c = paa.logistic(frame, paa.RATING_TERMS + paa.CONTROL_TERMS)
verdict = paf.decision_verdict(fit)
for name, f in (("ratings only", fit), ("with controls", fit_c)):
    note = f"; {f['error']}" if f["error"] else ""
    print(f"{name}: n={f['n']} ({f['dropped']} rows with a missing value left out){note}")
    if f["table"] is not None:
        display(f["table"][["term", "coef", "se", "odds_ratio", "or_low", "or_high", "p"]].round(4))
print(f"verdict: {verdict['signal']}; standardized ranking: {verdict['ranking']}; checks: {verdict['checks']}")

# %%
if fit["table"] is not None:
    show(run, pap.odds_ratio_figure({"ratings only": fit, "with controls": fit_c}, paa.TERM_LABELS), "odds_ratios",
         f"Odds ratios of 'should be developed' per rating point with 95% CIs (n={fit['n']}); the paper's finding is "
         f"{verdict['signal']} here.")

# %% [markdown]
# ## 4 · LLM-assisted coding, checked against human codes
# Each question's human-annotated answers (the first `n_coded`) are coded by `coder_model` with the question's
# codebook (stored per answer: a rerun codes only what is missing). The release's own LLM codes are scored against
# the same human codes, as the paper did.

# %%
items = pac.coding_items(rel, coding_questions, n_coded)
store = stages.store("coding", codebooks=pac.codebook_fingerprint(rel, coding_questions))
if coder == "logprobs":
    from helpers.core.logprobs import LogProbScorer
    worker = pac.logprob_coder(LogProbScorer(coder_model), rel, n_fewshot, logprob_margin, max_codes)
else:
    from helpers.core.judge import Judge
    judge = Judge(coder_model, base_url=coder_base_url, timeout=coder_timeout, backend=backend,
                  max_tokens=coder_max_tokens, cache_dir=run.path("judge_cache"), on_error="empty")
    worker = pac.judge_coder(judge, rel, n_fewshot, max_codes)
records = pac.coding_stage(store, items, worker, coder_batch_size)
n_parse_failures = pac.parse_failures(records)
print(f"{len(records)} answers coded by {coder_model} ({coder}); {n_parse_failures} replies could not be parsed")

# %%
coded = pac.by_question(records)
results = {}
for qid in coding_questions:
    codes = list(rel.codebook_for(qid).codes)
    results[(qid, f"{coder}:{coder_model}")] = pag.agreement(rel.human_codes[qid], coded.get(qid, {}), codes,
                                                             bootstrap_rounds, seed)
    if qid in rel.llm_codes:
        results[(qid, "release LLM codes")] = pag.agreement(rel.human_codes[qid], rel.llm_codes[qid], codes,
                                                            bootstrap_rounds, seed)
agree = pag.agreement_table(results)
show(run, pap.agreement_figure(agree), "agreement", "Micro-F1 against the human codes with 95% bootstrap CIs; dots: "
     "the majority-code baseline (every answer gets the most frequent human code).")
agree.round(3)

# %% [markdown]
# Per-code F1 of this run's coder (support: answers the humans gave the code; predicted: answers the coder gave it),
# with each code's theme where the release groups its codes into themes; then the agreement on themes (both sides'
# codes mapped to their themes), for the questions whose codebook has them.

# %%
for qid in [q for q in coding_questions if q in rel.themes]:
    th = pag.agreement(pag.to_themes(rel.human_codes[qid], rel.themes[qid]),
                       pag.to_themes(coded.get(qid, {}), rel.themes[qid]), sorted(set(rel.themes[qid].values())),
                       bootstrap_rounds, seed)
    if th["n"]:
        lo, hi = th["micro_f1_ci"]
        print(f"{qid} themes: micro-F1 {th['micro_f1']:.2f} [{lo:.2f}, {hi:.2f}] over {th['n']} answers "
              f"(majority-theme baseline {th['majority_f1']:.2f})")
pag.per_code_table({q: results[(q, f"{coder}:{coder_model}")] for q in coding_questions}, rel.themes).round(3)

# %% [markdown]
# ## Findings
# Computed from this run: the signal is whether the paper's finding about the develop decision holds here.

# %%
ours = [dict(question=q, coder=c, **results[(q, c)]) for (q, c) in results]
metrics = paf.run_metrics(source, len(rel.responses), shares["should be developed (Q23)"], fit, fit_c, verdict, ours,
                          f"{coder}:{coder_model}", len(records), n_parse_failures)
metrics.update(truth_in_ci=paf.truth_check(fit_c, rel.truth), **stages.health())  # truth: synthetic data only
now, future = shares["Tech-X should exist (Q1)"], shares["Tech-X 10 should exist (Q4)"]
metrics.update(exist_now_share=now["share"], exist_now_share_ci=now["ci"], exist_future_share=future["share"],
               exist_future_share_ci=future["ci"])
metrics.update(paf.findings(metrics, fit=fit, fit_controls=fit_c, verdict=verdict, agreement_rows=ours,
                            data_source=source))
run.log_metrics(metrics)
Markdown(findings_markdown(metrics))
