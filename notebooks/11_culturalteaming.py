# ---
# jupyter:
#   helpers:
#     precheck: helpers.culturalteaming.replay:check_params
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 11 · CulturalTeaming: human-AI red-teaming of cultural multiple-choice questions
#
# **Question.** When people write multiple-choice questions about their own culture and revise them against an
# LLM verifier, how many revisions does it take to fool it, how many other models do the finished questions fool,
# and do AI hints (strategies, LLM rewrites) give harder questions than the verifier alone?
#
# **Method.** A session goes draft -> verify -> revise (any number of times) -> finalize -> feedback survey; every
# event is appended to the session's log (`helpers.culturalteaming`). The verifier gives a probability over the
# four options (option-letter log-probs of a local model, or JSON probabilities from an endpoint); its answer is
# the most probable option. AI-assisted sessions also get our strategy hints (negation, a neighbouring culture's
# practice as a distractor, a multi-answer form, ...) and an LLM's hint and rewrite. A target panel (models + a
# random baseline + the option nearest the culture's name by embedding) marks a question *challenging* when at
# least `challenge_k` targets get it wrong. Finalized questions are exported in CulturalBench's Easy and Hard
# schemas and read back through 07's loader.
#
# **Paper.** Chiu et al., *CulturalTeaming: AI-Assisted Interactive Red-Teaming for Challenging LLMs' (Lack of)
# Multicultural Knowledge*, arXiv [2404.06664](https://arxiv.org/abs/2404.06664); CulturalBench, arXiv
# [2410.02677](https://arxiv.org/abs/2410.02677). 45 annotators, 252 questions, 34 cultures; more AI assistance
# gave harder questions.
#
# **Scale.** Annotators use the same core through the view (`python -m helpers.culturalteaming.serve`, README).
# Headless runs replay scripted sessions written by us (`sessions_file`) on the embedded 135M model in the quick
# profile, so the numbers show the pipeline, not the paper's human effect; point `sessions_dir` at the annotators'
# logs to analyse real sessions. The full profile uses hub models and also scores the hub CulturalBench.

# %% tags=["parameters"]
sessions_file = "src/helpers/data/culturalteaming_sessions.yaml"  # [non-empty] scripted sessions (YAML) to replay
sessions_dir = ""  # a folder of annotators' session logs (from the server) to analyse instead of replaying the script
verifier_model = "smollm2-135m-instruct"  # [non-empty] the verifier (embedded alias, local folder or hub id)
verifier_base_url = ""  # OpenAI-compatible endpoint of the verifier (empty: run it here, option log-probs)
target_models = ["smollm2-135m-instruct"]  # models of the target panel (the random and embedding baselines are added)
target_base_url = ""  # endpoint serving the target models (empty: run them here)
challenge_k = 2  # [1..] a question is challenging when at least this many targets answer it wrong
hint_model = "smollm2-135m-instruct"  # LLM writing hints and rewrites (AI-assisted; empty: strategy hints only)
hint_base_url = ""  # endpoint of the hint model (empty: generate here)
hint_max_tokens = 32  # [8..2048] new tokens per LLM hint
endpoint_timeout = 120.0  # [1..] seconds per endpoint request
backend = "hf"  # [non-empty] engine for local models: hf, vllm or auto
embedder = ""  # sentence-embedding model of the embedding baseline (empty: the offline all-MiniLM-L6-v2)
n_bootstrap = 1000  # [100..100000] bootstrap rounds of the assistance-level comparison
cb_data = ""  # CulturalBench to score the targets on (kellycyy/CulturalBench in full profiles; empty: skip)
n_cb_questions = 0  # [0..] CulturalBench Easy questions scored (0: all)
cb_local_scoring = "letter"  # [non-empty] how local targets answer CulturalBench: letter or cloze (07's scorer)
seed = 0  # [0..] random baseline and bootstrap seed
torch_threads = 1  # [0..] CPU threads for torch (0 keeps the default)

# %%
import os

import pandas as pd
import torch
from IPython.display import Markdown, display

from helpers import Run
from helpers.core.plotting import show, use_style
from helpers.culturalteaming import analysis, export, findings, plots, replay
from helpers.culturalteaming.components import Components

if torch_threads:
    torch.set_num_threads(torch_threads)
use_style()
run = Run.current("11_culturalteaming")
print(f"run folder {run.dir}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

# %% [markdown]
# ## Sessions
# Scripted sessions are replayed event by event through the same `Session` the view uses; each logged event
# carries its script step, so a rerun resumes after the last one. The logs live in a folder keyed by every input
# that changes an answer (models, endpoints, k, seed, the script): a changed parameter replays afresh.

# %%
comp = Components(verifier_model, verifier_base_url, target_models, target_base_url, challenge_k, hint_model,
                  hint_base_url, hint_max_tokens, backend, endpoint_timeout, embedder, seed,
                  cache_dir=run.path("judge"))
if sessions_dir:
    sessions, problems = replay.load_sessions(sessions_dir)
else:
    from helpers.core.store import config_hash
    key = config_hash([replay.load_script(sessions_file), verifier_model, verifier_base_url,
                       target_models, target_base_url, challenge_k, hint_model, hint_base_url, hint_max_tokens,
                       embedder, seed])
    sessions, problems = replay.replay_all(replay.load_script(sessions_file), run.path(f"sessions-{key}"),
                                           comp.verifier, comp.panel, comp.hinter)
print(f"{len(sessions)} sessions ({sum(bool(s.final) for s in sessions)} finalized); {len(problems)} refused steps")
pd.DataFrame(problems) if problems else None

# %% [markdown]
# ## Per question: revisions, verifier, targets
# The verifier's probability of the correct option on the first and final drafts, whether its answer on the
# final draft was wrong (fooled), and how many targets answered the final draft wrong.

# %%
table = analysis.question_table(sessions)
run.save_table(table, "questions")
table.drop(columns=[c for c in table.columns if c.startswith("survey_")]).round(3)

# %%
show(run, plots.plot_revisions(sessions), "revisions",
     f"verifier probability of the correct option on each verified draft of the {len(table)} finalized questions "
     f"(dotted: chance); {int(table.verifier_fooled.sum())} final drafts fooled the verifier.")

# %% [markdown]
# ## Export to CulturalBench, read back through 07's loader
# Easy: one row a question (options A-D, the answer letter). Hard: each option a true/false row. The files are
# read back with `helpers.culturegen.culturalbench` unchanged; the round trip must give the same questions.

# %%
from helpers.core.data import load_records
from helpers.culturegen.culturalbench import load_culturalbench, normalize_hard

paths = export.export(sessions, run.dir / "data" / "export")
easy, hard = load_culturalbench(str(paths["easy"]))
hard_hub = [normalize_hard(r, i) for i, r in enumerate(load_records(str(paths["hard"])))]
qs = export.finalized(sessions)
round_trip = ([(q["question"], q["options"], q["answer"]) for q in easy]
              == [(q["draft"].prompt_question, list(q["draft"].options), q["draft"].answer) for q in qs]
              and [(h["option"], h["label"]) for h in hard_hub] == [(h["option"], h["label"]) for h in hard])
print(f"{len(easy)} Easy questions, {len(hard_hub)} Hard rows; round trip identical: {round_trip}")

# %% [markdown]
# ## Verifier-only vs AI-assisted
# Means per assistance level with 95% percentile bootstrap CIs (questions resampled), and the difference
# AI-assisted minus verifier-only with its own bootstrap CI. With a handful of questions per level the intervals
# are wide: a CI that contains 0 is no difference shown.

# %%
comparison = analysis.compare_levels(table, rounds=n_bootstrap, seed=seed)
run.save_table(comparison, "assistance_levels")
comparison.round(3)

# %% [markdown]
# ## Target panel: accuracy per model and per region
# Each target's answers to the final drafts (from the last target check in each log), with 95% Wilson intervals;
# regions are those 07's loader gives the questions' countries.

# %%
regions = {q["country"]: q["region"] for q in easy}
rows = analysis.target_rows(sessions, regions)
per_target = analysis.accuracy_by(rows, "target")
per_region = analysis.accuracy_by(rows, ["region", "target"])
run.save_table(per_target, "target_accuracy")
run.save_table(per_region, "target_accuracy_region")
display(per_target.round(3))
per_region.round(3)

# %%
best = per_target.sort_values(["accuracy", "target"], ascending=[False, True]).iloc[0]
show(run, plots.plot_target_accuracy(per_target), "target_accuracy",
     f"accuracy of each target on the {len(table)} finalized questions with 95% Wilson intervals; the highest is "
     f"{best.target} at {best.accuracy:.0%} (dotted: chance).")

# %% [markdown]
# ## The hub CulturalBench (full profile)
# The target models on CulturalBench Easy (4 options) and Hard (true/false per option), scored by 07's scorer;
# Hard both per row (as lm-evaluation-harness) and per question (all four rows right, as the data card).

# %%
cb = None
if cb_data:
    from helpers.core import rehearsal
    from helpers.culturegen.culturalbench import evaluate
    src = rehearsal.data_source(cb_data)
    cb_easy, cb_hard = load_culturalbench(src, limit=n_cb_questions)
    name = target_models[0] if target_models else verifier_model
    answerer = comp.answerer(name, target_base_url)
    res = evaluate(run, cb_easy, cb_hard, name, scorer=getattr(answerer, "scorer", None),
                   judge=getattr(answerer, "judge", None), mode=cb_local_scoring)
    acc = lambda t: float(t[t.region == "all"].accuracy.iloc[0])  # noqa: E731
    cb = {"source": cb_data, "model": name, "n_questions": len(cb_easy), "easy": acc(res["easy"]),
          "hard_item": acc(res["hard_item"]), "hard_question": acc(res["hard_question"]), "unparsed": res["unparsed"]}
cb

# %%
lev = {r["metric"]: r for r in comparison.to_dict("records")}
metrics = {
    "headline": ["n_questions", "verifier_fooled_share", "challenging_share", "mean_revisions"],
    "n_questions": len(table), "n_sessions": len(sessions), "scripted": not sessions_dir,
    "verifier": verifier_model, "k": challenge_k, "n_targets": len(comp.panel.targets),
    "verifier_fooled_share": float(table.verifier_fooled.mean()) if len(table) else None,
    "challenging_share": float(table.challenging.mean()) if len(table) else None,
    "mean_revisions": float(table.revisions.mean()) if len(table) else None,
    "hints_shown": int(table.hints.sum()) if len(table) else 0, "refused_steps": len(problems),
    "comparison": lev, "target_accuracy": dict(zip(per_target.target, per_target.accuracy)),
    "n_hard_rows": len(hard_hub), "export_round_trip": bool(round_trip), "culturalbench": cb, **comp.counts(),
}
metrics.update(findings.findings(metrics))
run.log_metrics(metrics)
{k: metrics[k] for k in metrics["headline"] + ["signal"]}

# %% [markdown]
# ## Findings
# Computed from this run's metrics (`metrics.json`).

# %%
from helpers.core.report import findings_markdown

Markdown(findings_markdown(metrics))
