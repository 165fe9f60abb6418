# ---
# jupyter:
#   helpers:
#     precheck: helpers.infosumm.data:check_params
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 · InfoSumm: a summarizer distilled from a small teacher with information-theoretic critics
#
# **Question.** Can a small language model that cannot summarise at first become a summarizer, without human
# references or a large LLM, if its own samples are filtered by critics built from its log-probabilities and it is
# fine-tuned on what survives; and can a smaller, controllable student be distilled from the result?
#
# **Method** (InfoSumm, Jung et al. 2024, arXiv 2403.13780; the paper has no public code, this is an implementation
# from its description). The teacher writes news-style documents from prefixes written by us (or documents come from
# a data set) and samples candidate summaries under several prompt formats ("TL;DR:", "In summary,", ...). Critics
# from the teacher's log-probabilities: **saliency** PMI = log p(doc | summary) - log p(doc) (the summary makes the
# document more predictable) and **faithfulness** PMI = log p(summary | doc) - log p(summary) (the document makes
# the summary predictable); **brevity** as a compression-ratio window; **not a copy** (ROUGE-L precision against the
# source below a threshold); NLI entailment both ways when an NLI model is configured. The PMI critics are per token
# and relative to an empty baseline in the same template (an empty summary, an empty document), so their thresholds
# are in nats per token and a content-free summary scores about 0. Of the candidates that pass, the best
# `keep_per_doc` of each document are kept (best-of-n). **Expert iteration:** sample,
# filter, fine-tune the teacher on the survivors (TRL `SFTTrainer`), repeat. The final pairs are annotated with
# **control attributes** (length bucket, a focus keyword chosen with MiniLM embeddings, extractiveness from fragment
# density), and a smaller **student** is trained with them as control codes; a **control** student of the same size,
# start and budget is trained on as many random (unfiltered) candidates of the same documents. **Evaluation:**
# ROUGE-1/2/L with bootstrap CIs against reference summaries: filtered minus unfiltered student (paired over
# documents), against the zero-shot teacher, lead-1 and lead-3; controllability of the student.
#
# **What the quick profile shows, and what it does not.** It runs every stage on the 135M embedded model
# (SmolLM2-135M-Instruct, an instruct model that already summarises, unlike the paper's base teacher) with a handful
# of documents, no expert-iteration round (the critics select the zero-shot teacher's candidates), two whole-model
# students of a few steps and the 30 documents with reference summaries written by us. It shows the pipeline works,
# resumes and measures itself. The `cpu-demo` profile (`params/08_infosumm/cpu-demo.yaml`, about 20-45 minutes on 2
# cores) gives the critics enough candidates per document and the students enough steps for the paper's direction to
# appear. The full profile (`params/08_infosumm/full-gpu.yaml`) is the experiment: Pythia-2.8B (a base model),
# thousands of documents, three rounds, a PEGASUS-large student (568M, the paper's size and kind), CNN/DailyMail and
# XSum.

# %% tags=["parameters"]
teacher_model = "smollm2-135m-instruct"  # [non-empty] the teacher (a causal LM): embedded alias, folder or hub id
critic_model = ""  # model whose log-probs the critics use (empty: the round-0 teacher, fixed across rounds)
nli_model = ""  # NLI classifier for the entailment critic, e.g. microsoft/deberta-large-mnli (empty: off)
backend = "hf"  # [auto|vllm|hf] generation backend: hf on a CPU, auto picks vLLM where installed (GPU)
tensor_parallel_size = 1  # [1..] GPUs for a vLLM model
gpu_memory_utilization = 0.45  # [0..1] vLLM: fraction of GPU memory per engine, below the usual 0.85 so the log-prob scorer and training fit beside it (0: 0.85 on a GPU, 0.3 of RAM on a CPU)
max_model_len = 0  # [0..] vLLM: context length of an engine (prompt + reply tokens); 0: 2048
torch_threads = 0  # [0..] CPU threads for torch; 0: the cores free right now (os.sched_getaffinity minus the load average)
documents_data = ""  # documents from a data set (builtin:NAME, local JSONL with a document field, or a hub id); empty: the teacher writes them
prefixes = "builtin:infosumm_prefixes.jsonl"  # [non-empty] news-style prefixes the teacher continues into documents
n_documents_per_round = 8  # [1..] documents each sampling round summarises (fresh documents every round)
doc_max_tokens = 64  # [8..] new tokens of a generated document
doc_min_words = 25  # [1..] shorter documents are dropped (counted)
doc_temperature = 0.8  # [0..] sampling temperature of documents
prompt_formats = ["tldr", "in_summary"]  # [non-empty; tldr|in_summary|to_summarize|summary] prompt formats the candidates are sampled under
n_samples = 2  # [1..] candidate summaries per (document, format)
summary_max_tokens = 24  # [4..] new tokens of a candidate summary (cut at its first line)
temperature = 0.8  # [0..] sampling temperature of candidates
top_p = 0.95  # [0..1] nucleus sampling of candidates and documents
seed = 0  # [0..] sampling and training seed
n_rounds = 0  # [0..] expert-iteration rounds (sample, filter, fine-tune); a final sampling round follows
saliency_min = 0.15  # saliency threshold in nats per document token above the empty-summary baseline (pass when above)
faithfulness_min = 0.75  # faithfulness threshold in nats per summary token above the empty-document baseline (pass when above)
ratio_min = 0.05  # [0..1] brevity: summary words / document words at least this
ratio_max = 0.4  # [0..1] brevity: at most this
copy_max = 0.75  # [0..1] not a copy: ROUGE-L precision against the source at most this
nli_min = 0.75  # [0..1] entailment probability both ways (with nli_model)
keep_per_doc = 1  # [0..] best-of-n: candidates kept per document, the best-ranked of those passing every critic (0: all that pass)
min_pairs = 4  # [0..] when fewer candidates pass every critic, add the best-ranked ones that pass brevity and not-a-copy (counted fallback)
sft_steps = 4  # [1..] optimizer steps per teacher fine-tuning round
sft_learning_rate = 5e-05  # [0..] teacher learning rate
sft_batch_size = 4  # [1..] teacher batch size
max_length = 256  # [32..] tokens of a training sequence
save_steps = 0  # [0..] checkpoint every N steps (0: only the final model); a killed round resumes from the last one
report_to = "none"  # [none|trackio|wandb|mlflow|tensorboard] training tracker
lora_r = 0  # [0..] LoRA rank (0: full fine-tuning)
control_arm = True  # also train an equal-size student on random candidates of the same documents (the control; without it the finding is untestable)
student_init = "smollm2-135m-instruct"  # [non-empty] the student: truncate:N (N of the teacher's layers: the first N-2 and the last 2), a folder or a hub id (a seq2seq model such as google/pegasus-large)
student_data = "all"  # [all|last] train the student on the survivors of every round, or only of the final teacher's round (paper)
student_steps = 6  # [1..] student optimizer steps
student_learning_rate = 0.0003  # [0..] student learning rate
student_batch_size = 4  # [1..] student batch size
code_dropout = 0.3  # [0..1] probability of leaving out each control code in a training example
length_buckets = [12, 24]  # [1..] word counts closing the short and medium length buckets
density_split = 2.0  # [0..] extractive fragment density at or above which a summary is "high" extractiveness
embedder = "all-minilm-l6-v2"  # [non-empty] sentence embedder that picks focus keywords
eval_data = "builtin:infosumm_reference.jsonl"  # [non-empty] documents with reference summaries: builtin, local JSONL, abisee/cnn_dailymail or EdinburghNLP/xsum
extra_eval_data = []  # more reference sets evaluated the same way (e.g. ["EdinburghNLP/xsum"])
n_eval = 30  # [0..] reference documents per set (0: all)
eval_max_words = 400  # [0..] reference documents cut to this many words (0: no cut)
eval_max_tokens = 24  # [4..] new tokens of an evaluated summary (greedy)
n_eval_critics = 3  # [0..] reference documents whose summaries (teacher, students) and probes (reference, lead-1, another document's summary, a content-free one) the critics score (0: none)
n_control_docs = 1  # [0..] reference documents the controllability test uses
bootstrap_rounds = 1000  # [100..] bootstrap resamples for ROUGE CIs

# %%
import time

import pandas as pd
from IPython.display import Markdown, display

from helpers.core.generation import Generator
from helpers.core.notebook import start_notebook
from helpers.core.plotting import show
from helpers.core.report import findings_markdown
from helpers.infosumm import controls as isk
from helpers.infosumm import critics as isc
from helpers.infosumm import evaluate as ise
from helpers.infosumm import pipeline as isp
from helpers.infosumm import plots as isplot
from helpers.infosumm import steps as iss
from helpers.infosumm import train as ist

# %%
run, _ = start_notebook("08_infosumm", globals())  # engine settings, plot style, run folder
opts = iss.train_options(save_steps, report_to, lora_r)  # checked now: tracker installed, peft for LoRA
thresholds = isc.Thresholds(saliency_min, faithfulness_min, ratio_min, ratio_max, copy_max, nli_min)
sampling = {"temperature": temperature, "top_p": top_p, "max_tokens": summary_max_tokens, "seed": seed}
t_start, timings = time.perf_counter(), {}
print(f"{iss.setup_line(teacher_model, n_rounds, n_documents_per_round)}; run folder {run.dir}")

# %% [markdown]
# ## 1 · Documents
# The teacher continues news-style prefixes written by us (`documents_data` takes documents from a data set instead).
# Every round summarises fresh documents, so the teacher is never scored on documents it was fine-tuned on.

# %%
teacher_gen = Generator(teacher_model, backend=backend, tensor_parallel_size=tensor_parallel_size)
docs, doc_info = iss.documents(run, teacher_gen, documents_data, prefixes, (n_rounds + 1) * n_documents_per_round,
                               doc_max_tokens, doc_temperature, top_p, seed, doc_min_words, eval_max_words)
timings["documents"] = doc_info["seconds"]
print(f"{len(docs)} documents ({doc_info['dropped_short']} generated documents shorter than {doc_min_words} words dropped); "
      f"mean {sum(len(isc.words(d['document'])) for d in docs) / max(1, len(docs)):.0f} words")
doc_sets = iss.round_document_sets(docs, n_rounds)  # one disjoint set per sampling round
pd.set_option("display.max_colwidth", 160)
pd.DataFrame(docs)[["document"]].head(3)

# %% [markdown]
# ## 2 · Expert iteration: sample, criticise, fine-tune
# Round r samples `n_samples` candidates per document and prompt format from the round's teacher, scores every
# candidate with every critic (stored: thresholds can change without re-scoring), keeps the best `keep_per_doc` of
# each document among those that pass all of them (ranked by saliency per token) and fine-tunes the teacher on the
# survivors (`{document}\n\nTL;DR:` -> summary) for the next round. The critics use the round-0 teacher's
# log-probabilities throughout (or `critic_model`). When fewer than `min_pairs` pass, the best-ranked candidates that
# meet the hard constraints are added and counted as a fallback. For the control arm, each round also draws as many
# random non-empty candidates of the same documents, critics ignored.

# %%
from helpers.core.logprobs import LogProbScorer

scorer = LogProbScorer(critic_model or teacher_model, batch_size=8, max_prompt_tokens=2048, max_response_tokens=1024)
nli = isc.NLICritic(nli_model) if nli_model else None
it = iss.expert_iteration(run, teacher_model, teacher_gen, doc_sets, scorer, nli, thresholds, opts, timings,
                          n_rounds=n_rounds, backend=backend, tensor_parallel_size=tensor_parallel_size,
                          prompt_formats=prompt_formats, n_samples=n_samples, sampling=sampling, min_pairs=min_pairs,
                          sft_steps=sft_steps, sft_learning_rate=sft_learning_rate, sft_batch_size=sft_batch_size,
                          max_length=max_length, seed=seed, keep_per_doc=keep_per_doc)
teacher_paths, rounds, all_rows, train_logs = it["teacher_paths"], it["rounds"], it["all_rows"], it["train_logs"]
run.save_table(iss.candidates_table(all_rows), "candidates_scored")
iss.pass_rate_table(rounds)

# %%
show(run, isplot.pass_rate_figure(rounds), "pass_rates",
     f"Share of candidates passing each critic per round, 95% Wilson intervals; {len(all_rows)} candidates in "
     f"{len(rounds)} sampling rounds, {sum(rd['n_kept'] for rd in rounds)} kept.")
show(run, isplot.score_distribution_figure(all_rows, thresholds.as_dict()), "critic_scores",
     "Distribution of each critic's score per round; dashed lines are the thresholds (pass: above the PMI "
     "thresholds, inside the ratio window, at or below the copy threshold).")
display(Markdown("Examples: the best and worst candidates of each round by saliency."))
iss.examples_table(all_rows)

# %% [markdown]
# ## 3 · Final pairs and control attributes
# Each final pair is annotated with its **length bucket** (summary words against `length_buckets`), a **focus
# keyword** (the content word shared by document and summary that is closest to the summary in MiniLM embedding
# space) and its **extractiveness** (extractive fragment coverage and density; "high" at density >= `density_split`).

# %%
pairs = iss.final_pairs(it["survivors"], n_rounds, student_data, length_buckets, density_split, embedder)
control_pairs = (iss.final_pairs(it["control"], n_rounds, student_data, length_buckets, density_split, embedder)
                 if control_arm else [])  # the control arm: random candidates of the same documents, same count
ctrl_df = pd.DataFrame([{"summary": p["summary"][:120], **p["controls"]} for p in pairs])
run.save_table(ctrl_df, "final_pairs")
print(f"{len(pairs)} final pairs ({sum(1 for p in pairs if p.get('fallback'))} from the fallback), "
      f"{len(control_pairs)} control pairs; length buckets {ctrl_df.length.value_counts().to_dict()}, extractiveness "
      f"{ctrl_df.extractive.value_counts().to_dict()}, {int(ctrl_df.focus.notna().sum())} with a focus keyword")
ctrl_df.head(8)

# %% [markdown]
# ## 4 · Student distillation, and the control arm
# The student reads its control codes (`<length=short> <focus=rain> <extractive=low>`, each left out with probability
# `code_dropout`, so it also summarises without them) on the first line, then the document and "TL;DR:". It starts
# from a whole model (quick: the embedded 135M model; full: a PEGASUS-large seq2seq model, trained with
# `Seq2SeqTrainer`). **Control arm:** a second student, same start, same steps and settings, trained on as many
# candidates drawn at random (critics ignored) from the same documents: what the critics add is the difference.

# %%
t0 = time.perf_counter()
student_base = iss.student_base(student_init, teacher_model, run.dir / "checkpoints")
train_cfg = dict(code_dropout=code_dropout, steps=student_steps, learning_rate=student_learning_rate,
                 batch_size=student_batch_size, max_length=max_length, seed=seed)
student_path, train_logs["student"] = iss.train_student("student", student_base, pairs, run.dir / "checkpoints",
                                                        opts, **train_cfg)
if control_arm:
    unfiltered_path, train_logs["student_unfiltered"] = iss.train_student(
        "student_unfiltered", student_base, control_pairs, run.dir / "checkpoints", opts, **train_cfg)
timings["student"] = time.perf_counter() - t0
losses = {k: [h["loss"] for h in v if "loss" in h] for k, v in train_logs.items()}
print(f"students from {student_init} ({'seq2seq' if ist.is_seq2seq(student_path) else 'causal'}), "
      f"{len(pairs)} pairs each, {timings['student']:.0f} s")
iss.loss_table(losses)

# %% [markdown]
# ## 5 · Evaluation against reference summaries
# Greedy summaries of the reference documents ("TL;DR:" format) from the zero-shot teacher (round 0), the teacher
# after the last round, the student and the unfiltered student (no control codes); lead-1 and lead-3 copy the first
# one and three sentences. ROUGE-1/2/L F1 (`rouge-score`, stemmed) with 95% bootstrap intervals over documents;
# paired differences join documents by id.

# %%
t0 = time.perf_counter()
systems = {"teacher round 0": teacher_paths[0], f"teacher round {n_rounds}": teacher_paths[-1], "student": student_path,
           **({"student (unfiltered)": unfiltered_path} if control_arm else {})}
eval_sets = iss.evaluate_systems(run, systems, [eval_data] + list(extra_eval_data), n_eval=n_eval,
                                 eval_max_words=eval_max_words, eval_max_tokens=eval_max_tokens, backend=backend,
                                 tensor_parallel_size=tensor_parallel_size, bootstrap_rounds=bootstrap_rounds, seed=seed)
timings["evaluation"] = time.perf_counter() - t0
main = eval_sets[eval_data]
rouge_df = iss.rouge_frame(eval_sets)
run.save_table(rouge_df, "rouge")
show(run, isplot.rouge_figure(main["rouge"]), "rouge", iss.rouge_caption(main, eval_data))
rouge_df

# %% [markdown]
# **Are the critics selective?** On the first `n_eval_critics` reference documents the critics score the models'
# summaries and four probes: the reference summary, lead-1 (a copy of the first sentence), the reference summary of
# another document and a content-free summary. The last two should fail the PMI critics; lead-1 should not win.

# %%
t0 = time.perf_counter()
refs, outs = main["refs"], main["outs"]
scored_systems = {k: v for k, v in outs.items() if k.startswith(("student", "teacher round 0"))}
crit_rows = isp.judge(isp.critic_stage(run, "eval", scorer, iss.critic_check_rows(refs, scored_systems, n_eval_critics),
                                       nli), thresholds, nli is not None)
crit_summary, checks = ise.critic_summary(crit_rows), ise.critic_checks(crit_rows)
run.save_table(crit_summary, "eval_critics")
timings["evaluation_critics"] = time.perf_counter() - t0
print(f"critics on {min(n_eval_critics, len(refs))} reference documents (share passing; mean PMI in nats per token):")
display(crit_summary)
pd.DataFrame({"reference": [x["summary"] for x in refs], **outs}).head(4)

# %% [markdown]
# ## 6 · Controllability
# For `n_control_docs` reference documents the student gets one code at a time: each length bucket, the document's
# focus keyword (the content word closest to the document in MiniLM space) and each extractiveness band. A request is
# honoured when the output lands in the bucket, contains the keyword, or falls in the band. The same check applied to
# the student's uncontrolled output (no codes) gives the rate if the codes were ignored.

# %%
cdocs = refs[:n_control_docs]
doc_kw = isk.pick_keywords([x["document"] for x in cdocs], [isk.candidate_keywords(x["document"]) for x in cdocs], embedder) if cdocs else []
reqs = [(x, q) for x, w in zip(cdocs, doc_kw) for q in isk.requests_for(x["document"], w, ("length", "focus", "extractive"))]
ctrl_outs = isp.summarise_stage(run, "student-controlled", student_path, [isk.student_prompt(x["document"], q) for x, q in reqs],
                                eval_max_tokens, backend, tensor_parallel_size) if reqs else []
free = dict(zip([x["id"] for x in refs], outs["student"]))
ctrl_rows = [{"doc_id": x["id"], "request": q, "output": o, "hits": isk.hit(q, o, x["document"], length_buckets, density_split),
              "ignored_hits": isk.hit(q, free[x["id"]], x["document"], length_buckets, density_split)} for (x, q), o in zip(reqs, ctrl_outs)]
ctrl = ise.controllability(ctrl_rows)
ctrl_chance = {a: v["rate"] for a, v in ise.controllability([{"hits": r["ignored_hits"]} for r in ctrl_rows]).items()}
if ctrl:
    show(run, isplot.controllability_figure(ctrl, ctrl_chance), "controllability",
         "Share of control requests the student honoured (95% Wilson CIs); red marks: the same check on its output "
         "without codes. " + ", ".join(f"{a}: {v['hit']}/{v['n']}" for a, v in ctrl.items()) + ".")
pd.DataFrame([{"request": str(r["request"]), "output": r["output"][:120], **r["hits"]} for r in ctrl_rows]).head(12)

# %% [markdown]
# ## Findings
# Computed from this run. The signal is the critics' test: the student trained on critic-selected candidates minus
# the equal-size student trained on random ones (ROUGE-L, paired bootstrap over documents joined by id). It is
# "untestable" without the control arm, with fewer than 20 training pairs per arm (a whole model memorises them) or
# with both students at the floor. The details give pass rates, the critics' sanity probes, the students against
# the zero-shot teacher, lead-1 and lead-3.

# %%
import os

timings["total"] = time.perf_counter() - t_start
metrics = iss.run_metrics(teacher_model=teacher_model, critic_model=critic_model, nli_model=nli_model,
                          n_rounds=n_rounds, docs=docs, doc_info=doc_info, it=it, pairs=pairs,
                          control_pairs=control_pairs, main=main, eval_sets=eval_sets, ctrl=ctrl,
                          ctrl_chance=ctrl_chance, crit_summary=crit_summary, checks=checks, timings=timings,
                          losses=losses, student_init=student_init, bootstrap_rounds=bootstrap_rounds, seed=seed,
                          train_logs=train_logs)
run.log_metrics(metrics)
print(f"total {timings['total']:.0f} s; load average {os.getloadavg()[0]:.1f}")
print(metrics["signal"])

# %%
Markdown(findings_markdown(metrics))
