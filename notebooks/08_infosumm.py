# ---
# jupyter:
#   helpers:
#     precheck: helpers.infosumm.data:precheck
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
# source below a threshold); NLI entailment both ways when an NLI model is configured. **Expert iteration:** sample,
# filter, fine-tune the teacher on the survivors (TRL `SFTTrainer`), repeat. The final pairs are annotated with
# **control attributes** (length bucket, a focus keyword chosen with MiniLM embeddings, extractiveness from fragment
# density), and a smaller **student** is trained with them as control codes. **Evaluation:** ROUGE-1/2/L with
# bootstrap CIs against reference summaries, against lead-3 and the zero-shot teacher; controllability of the student.
#
# **What the quick profile shows, and what it does not.** It runs every stage on the 135M embedded model
# (SmolLM2-135M-Instruct) with a handful of documents, one round of a few SFT steps, a layer-truncated copy of the
# teacher as the student and 10 documents with reference summaries written by us. It shows the pipeline works,
# resumes and measures itself; it cannot show that the critics turn a weak teacher into a good summarizer (the paper
# uses Pythia-2.8B, 4.5M pairs and a 568M seq2seq student). The full profile (`params/08_infosumm/full-gpu.yaml`) is
# the experiment: Pythia-2.8B, thousands of documents, three rounds, a T5 student, CNN/DailyMail and XSum.

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
n_documents_per_round = 5  # [1..] documents each sampling round summarises (fresh documents every round)
doc_max_tokens = 64  # [8..] new tokens of a generated document
doc_min_words = 25  # [1..] shorter documents are dropped (counted)
doc_temperature = 0.8  # [0..] sampling temperature of documents
prompt_formats = ["tldr", "in_summary"]  # [non-empty; tldr|in_summary|to_summarize|summary] prompt formats the candidates are sampled under
n_samples = 2  # [1..] candidate summaries per (document, format)
summary_max_tokens = 32  # [4..] new tokens of a candidate summary (cut at its first line)
temperature = 0.8  # [0..] sampling temperature of candidates
top_p = 0.95  # [0..1] nucleus sampling of candidates and documents
seed = 0  # [0..] sampling and training seed
n_rounds = 1  # [0..] expert-iteration rounds (sample, filter, fine-tune); a final sampling round follows
saliency_min = 0.0  # saliency PMI threshold in nats (pass when above)
faithfulness_min = 0.0  # faithfulness PMI threshold in nats (pass when above)
ratio_min = 0.05  # [0..1] brevity: summary words / document words at least this
ratio_max = 0.4  # [0..1] brevity: at most this
copy_max = 0.75  # [0..1] not a copy: ROUGE-L precision against the source at most this
nli_min = 0.75  # [0..1] entailment probability both ways (with nli_model)
min_pairs = 4  # [0..] when fewer candidates pass every critic, add the best-ranked ones that pass brevity and not-a-copy (counted fallback)
sft_steps = 4  # [1..] optimizer steps per teacher fine-tuning round
sft_learning_rate = 5e-05  # [0..] teacher learning rate
sft_batch_size = 4  # [1..] teacher batch size
max_length = 256  # [32..] tokens of a training sequence
save_steps = 0  # [0..] checkpoint every N steps (0: only the final model); a killed round resumes from the last one
report_to = "none"  # [none|trackio|wandb|mlflow|tensorboard] training tracker
lora_r = 0  # [0..] LoRA rank (0: full fine-tuning)
student_init = "truncate:12"  # [non-empty] the student: truncate:N (N of the teacher's layers: the first N-2 and the last 2), a folder or a hub id (a seq2seq model such as google/flan-t5-large)
student_data = "all"  # [all|last] train the student on the survivors of every round, or only of the final teacher's round (paper)
student_steps = 8  # [1..] student optimizer steps
student_learning_rate = 0.0003  # [0..] student learning rate
student_batch_size = 4  # [1..] student batch size
code_dropout = 0.3  # [0..1] probability of leaving out each control code in a training example
length_buckets = [12, 24]  # [1..] word counts closing the short and medium length buckets
density_split = 2.0  # [0..] extractive fragment density at or above which a summary is "high" extractiveness
embedder = "all-minilm-l6-v2"  # [non-empty] sentence embedder that picks focus keywords
eval_data = "builtin:infosumm_reference.jsonl"  # [non-empty] documents with reference summaries: builtin, local JSONL, abisee/cnn_dailymail or EdinburghNLP/xsum
extra_eval_data = []  # more reference sets evaluated the same way (e.g. ["EdinburghNLP/xsum"])
n_eval = 10  # [1..] reference documents per set
eval_max_words = 400  # [0..] reference documents cut to this many words (0: no cut)
eval_max_tokens = 32  # [4..] new tokens of an evaluated summary (greedy)
n_eval_critics = 3  # [0..] reference documents whose summaries (every system) the critics also score (0: none)
n_control_docs = 3  # [0..] reference documents the controllability test uses
bootstrap_rounds = 1000  # [100..] bootstrap resamples for ROUGE CIs

# %%
import os, random, time
import pandas as pd
import torch
from IPython.display import Markdown, display
from helpers.core.runs import Run
from helpers.core.generation import Generator, shutdown_engines
from helpers.core.logprobs import LogProbScorer
from helpers.core.plotting import use_style, show
from helpers.core.training import TrainOptions
from helpers.core.report import findings_markdown
from helpers.core import rehearsal
from helpers.infosumm import data as isd, critics as isc, pipeline as isp, train as ist, controls as isk
from helpers.infosumm import evaluate as ise, plots as isplot

use_style()
run = Run.current("08_infosumm")
from helpers.core import engines  # vLLM settings and CPU threads for every model this notebook loads
engines.configure(gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len,
                  tensor_parallel_size=tensor_parallel_size, torch_threads=torch_threads)
opts = TrainOptions(save_steps=save_steps, report_to=report_to, lora_r=lora_r)
opts.check()
thresholds = isc.Thresholds(saliency_min, faithfulness_min, ratio_min, ratio_max, copy_max, nli_min)
sampling = {"temperature": temperature, "top_p": top_p, "max_tokens": summary_max_tokens, "seed": seed}
t_start = time.perf_counter()
timings = {}
print(f"teacher {teacher_model}; {n_rounds} round(s) of expert iteration + a final sampling round, "
      f"{n_documents_per_round} documents each; torch threads {torch.get_num_threads()}, "
      f"load average {os.getloadavg()[0]:.1f}; run folder {run.dir}")

# %% [markdown]
# ## 1 · Documents
# The teacher continues news-style prefixes written by us (`documents_data` takes documents from a data set instead).
# Every round summarises fresh documents, so the teacher is never scored on documents it was fine-tuned on.

# %%
n_docs_needed = (n_rounds + 1) * n_documents_per_round
teacher_gen = Generator(teacher_model, backend=backend, tensor_parallel_size=tensor_parallel_size)
if documents_data:
    docs = isd.load_pairs(documents_data, limit=n_docs_needed, min_words=doc_min_words, max_words=eval_max_words or 0)
    doc_info = {"generated": 0, "dropped_short": 0, "seconds": 0.0, "source": documents_data}
else:
    docs, doc_info = isp.documents_stage(run, teacher_gen, isd.load_prefixes(prefixes), n_docs_needed, doc_max_tokens,
                                         doc_temperature, top_p, seed, doc_min_words)
    doc_info["source"] = prefixes
timings["documents"] = doc_info["seconds"]
print(f"{len(docs)} documents ({doc_info['dropped_short']} generated documents shorter than {doc_min_words} words dropped); "
      f"mean {sum(len(isc.words(d['document'])) for d in docs) / max(1, len(docs)):.0f} words")
if len(docs) < n_rounds + 1:
    raise RuntimeError(f"only {len(docs)} usable documents for {n_rounds + 1} sampling rounds: raise n_documents_per_round or lower doc_min_words")
per_round = max(1, len(docs) // (n_rounds + 1))
doc_sets = [docs[r * per_round:(r + 1) * per_round] for r in range(n_rounds + 1)]
pd.set_option("display.max_colwidth", 160)
pd.DataFrame(docs)[["document"]].head(3)

# %% [markdown]
# ## 2 · Expert iteration: sample, criticise, fine-tune
# Round r samples `n_samples` candidates per document and prompt format from the round's teacher, scores every
# candidate with every critic (stored: thresholds can change without re-scoring), keeps what passes all of them and
# fine-tunes the teacher on the survivors (`{document}\n\nTL;DR:` -> summary) for the next round. The critics use the
# round-0 teacher's log-probabilities throughout (or `critic_model`). When fewer than `min_pairs` pass, the
# best-ranked candidates that meet the hard constraints are added and counted as a fallback.

# %%
scorer = LogProbScorer(critic_model or teacher_model, batch_size=8, max_prompt_tokens=2048, max_response_tokens=1024)
nli = isc.NLICritic(nli_model) if nli_model else None
teacher_paths, rounds, all_rows, train_logs = [teacher_model], [], [], {}
survivors_by_round = {}
for r in range(n_rounds + 1):
    t0 = time.perf_counter()
    path = teacher_paths[-1]
    gen = teacher_gen if r == 0 else Generator(path, backend=backend, tensor_parallel_size=tensor_parallel_size)
    cands = isp.candidates_stage(run, r, gen, isp.model_key(path), doc_sets[r], prompt_formats, n_samples, sampling)
    shutdown_engines()  # a vLLM engine gives the GPU back before scoring and training
    rows = isp.judge(isp.critic_stage(run, f"round{r}", scorer, cands, nli), thresholds, nli is not None)
    kept, fallback = isp.survivors(rows, min_pairs)
    survivors_by_round[r] = kept
    all_rows += rows
    rounds.append({"round": r, "n_documents": len(doc_sets[r]), "n_candidates": len(rows), "n_kept": len(kept),
                   "fallback": fallback, "pass_rates": isc.pass_rates(rows), "teacher": str(path)})
    if r < n_rounds:
        if not kept:
            raise RuntimeError(f"round {r}: no candidate meets even the hard constraints (brevity, not a copy); "
                               f"loosen ratio_min/ratio_max/copy_max or raise summary_max_tokens")
        examples = [{"prompt": isd.summary_prompt(k["document"], "tldr"), "completion": " " + k["summary"]} for k in kept]
        out, hist = ist.sft(path, examples, run.dir / "checkpoints" / f"teacher_round{r + 1}", {"stage": "teacher", "round": r + 1},
                            opts, max_steps=sft_steps, learning_rate=sft_learning_rate, batch_size=sft_batch_size,
                            max_length=max_length, seed=seed)
        teacher_paths.append(out)
        train_logs[f"teacher_round{r + 1}"] = hist
    timings[f"round{r}"] = time.perf_counter() - t0
    pr = rounds[-1]["pass_rates"].get("all", {})
    print(f"round {r}: {len(rows)} candidates, {pr.get('passed', 0)} pass every critic, {fallback} fallback, "
          f"{len(kept)} kept; {timings[f'round{r}']:.0f} s")
rates = pd.DataFrame([{"round": rd["round"], **{k: f"{v['passed']}/{v['n']} ({100 * v['rate']:.0f}%)" for k, v in rd["pass_rates"].items()},
                       "fallback": rd["fallback"]} for rd in rounds])
run.save_table(pd.DataFrame([{"id": x["id"], "round": x["round"], "doc_id": x["doc_id"], "format": x["format"], "summary": x["summary"],
                              **x["scores"], **{f"pass_{k}": v for k, v in x["verdicts"].items()}} for x in all_rows]), "candidates_scored")
rates

# %%
show(run, isplot.pass_rate_figure(rounds), "pass_rates",
     f"Share of candidates passing each critic per round, 95% Wilson intervals; {len(all_rows)} candidates in "
     f"{len(rounds)} sampling rounds, {sum(rd['n_kept'] for rd in rounds)} kept.")
show(run, isplot.score_distribution_figure(all_rows, thresholds.as_dict()), "critic_scores",
     "Distribution of each critic's score per round; dashed lines are the thresholds (pass: above the PMI "
     "thresholds, inside the ratio window, at or below the copy threshold).")
ex = pd.DataFrame([{"round": x["round"], "format": x["format"], "summary": x["summary"][:140],
                    "saliency": round(x["scores"]["saliency"], 1) if x["scores"]["saliency"] is not None else None,
                    "faithfulness": round(x["scores"]["faithfulness"], 1) if x["scores"]["faithfulness"] is not None else None,
                    "ratio": round(x["scores"]["ratio"], 2), "copy": round(x["scores"]["copy_rougeL_p"], 2),
                    "passes all": x["verdicts"]["all"]} for x in all_rows])
display(Markdown("Examples: the best and worst candidates of each round by saliency."))
ex.sort_values(["round", "saliency"], ascending=[True, False]).groupby("round").head(3)

# %% [markdown]
# ## 3 · Final pairs and control attributes
# Each final pair is annotated with its **length bucket** (summary words against `length_buckets`), a **focus
# keyword** (the content word shared by document and summary that is closest to the summary in MiniLM embedding
# space) and its **extractiveness** (extractive fragment coverage and density; "high" at density >= `density_split`).

# %%
final = survivors_by_round[n_rounds] if student_data == "last" else [k for r in sorted(survivors_by_round) for k in survivors_by_round[r]]
final = list({(k["doc_id"], k["summary"]): k for k in final}.values())
kw = isk.pick_keywords([k["summary"] for k in final], [isk.candidate_keywords(k["document"], k["summary"]) for k in final], embedder)
pairs = [{**k, "controls": isk.annotate(k["document"], k["summary"], length_buckets, density_split, w)} for k, w in zip(final, kw)]
ctrl_df = pd.DataFrame([{"summary": p["summary"][:120], **p["controls"]} for p in pairs])
run.save_table(ctrl_df, "final_pairs")
n_fallback_total = sum(rd["fallback"] for rd in rounds)
print(f"{len(pairs)} final pairs ({sum(1 for p in pairs if p.get('fallback'))} from the fallback); length buckets "
      f"{ctrl_df.length.value_counts().to_dict()}, extractiveness {ctrl_df.extractive.value_counts().to_dict()}, "
      f"{int(ctrl_df.focus.notna().sum())} with a focus keyword")
ctrl_df.head(8)

# %% [markdown]
# ## 4 · Student distillation
# The student reads its control codes (`<length=short> <focus=rain> <extractive=low>`, each left out with probability
# `code_dropout`, so it also summarises without them) on the first line, then the document and "TL;DR:". Quick: the
# teacher's first layers (`truncate:N`: the first N-2 layers and the last 2, a damaged model that the quick profile's few steps cannot repair); full: a seq2seq model from the hub (trained with `Seq2SeqTrainer`).

# %%
t0 = time.perf_counter()
if student_init.startswith("truncate:"):
    student_base = ist.truncated_copy(teacher_model, int(student_init.split(":", 1)[1]), run.dir / "checkpoints" / f"student_init_{student_init.replace(':', '')}")
elif ist.looks_seq2seq(student_init) and rehearsal.active():  # core's stand-ins are causal: a tiny T5 instead
    student_base = ist.rehearsal_seq2seq(student_init)
else:
    student_base = student_init
rng = random.Random(seed)
s_examples = [{"prompt": isk.student_prompt(p["document"], isk.drop_codes({k: p["controls"][k] for k in ("length", "focus", "extractive")}, code_dropout, rng)),
               "completion": " " + p["summary"]} for p in pairs]
student_path, s_hist = ist.sft(student_base, s_examples, run.dir / "checkpoints" / "student", {"stage": "student"}, opts,
                               max_steps=student_steps, learning_rate=student_learning_rate, batch_size=student_batch_size,
                               max_length=max_length, seed=seed)
train_logs["student"] = s_hist
timings["student"] = time.perf_counter() - t0
losses = {k: [h["loss"] for h in v if "loss" in h] for k, v in train_logs.items()}
print(f"student {student_init} ({'seq2seq' if ist.is_seq2seq(student_path) else 'causal'}) on {len(s_examples)} pairs, "
      f"{timings['student']:.0f} s")
pd.DataFrame([{"stage": k, "steps": len(v), "first loss": v[0] if v else None, "last loss": v[-1] if v else None} for k, v in losses.items()])

# %% [markdown]
# ## 5 · Evaluation against reference summaries
# Greedy summaries of the reference documents ("TL;DR:" format) from the zero-shot teacher (round 0), the teacher
# after the last round and the student (no control codes); lead-3 copies the first three sentences. ROUGE-1/2/L F1
# (`rouge-score`, stemmed) with 95% bootstrap intervals over documents; the critics also score every system's summaries
# of the first `n_eval_critics` documents.

# %%
t0 = time.perf_counter()
systems = {"teacher round 0": teacher_paths[0], f"teacher round {n_rounds}": teacher_paths[-1], "student": student_path}
eval_sets = {}
for src in [eval_data] + list(extra_eval_data):
    refs = isd.load_pairs(src, limit=n_eval, max_words=eval_max_words)
    refs = [x for x in refs if x["summary"]]
    outs = {"lead-3": [isd.lead_k(x["document"], 3) for x in refs]}
    for name, path in systems.items():
        prompts = [isk.student_prompt(x["document"], None) if name == "student" else isd.summary_prompt(x["document"], "tldr") for x in refs]
        outs[name] = isp.summarise_stage(run, name, path, prompts, eval_max_tokens, backend, tensor_parallel_size)
    shutdown_engines()
    table = ise.rouge_table(outs, [x["summary"] for x in refs], rounds=bootstrap_rounds, seed=seed)
    eval_sets[src] = {"refs": refs, "outs": outs, "rouge": table}
timings["evaluation"] = time.perf_counter() - t0
main = eval_sets[eval_data]
rouge_df = pd.DataFrame([{**{k: v for k, v in r.items() if not k.endswith("_ci")}, "set": s,
                          **{f"{t}_ci": f"{r[t + '_ci'][0]:.3f}-{r[t + '_ci'][1]:.3f}" for t in ise.ROUGE_TYPES}}
                         for s, e in eval_sets.items() for r in e["rouge"]])
run.save_table(rouge_df, "rouge")
show(run, isplot.rouge_figure(main["rouge"]), "rouge",
     f"ROUGE F1 on {len(main['refs'])} documents of {eval_data} with 95% bootstrap CIs; lead-3 ROUGE-L "
     f"{next(r['rougeL'] for r in main['rouge'] if r['system'] == 'lead-3'):.3f}, student "
     f"{next(r['rougeL'] for r in main['rouge'] if r['system'] == 'student'):.3f}.")
rouge_df

# %%
t0 = time.perf_counter()
refs, outs = main["refs"], main["outs"]
crit_rows = []
for name in outs if n_eval_critics else []:
    c = [{"id": f"{name}-{x['id']}", "round": name, "doc_id": x["id"], "format": "tldr", "document": x["document"], "summary": o}
         for x, o in zip(refs[:n_eval_critics], outs[name][:n_eval_critics])]
    crit_rows += isp.judge(isp.critic_stage(run, "eval", scorer, c, nli), thresholds, nli is not None)
crit_summary = ise.critic_summary(crit_rows)
run.save_table(crit_summary, "eval_critics")
timings["evaluation_critics"] = time.perf_counter() - t0
examples = pd.DataFrame({"reference": [x["summary"] for x in refs], **{k: v for k, v in outs.items()}}).head(4)
print(f"critics on the summaries of {min(n_eval_critics, len(refs))} reference documents per system (share passing, mean PMI in nats):")
display(crit_summary)
examples

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
# Computed from this run: the signal compares the student with lead-3 on ROUGE-L (paired bootstrap over documents);
# the details give each round's pass rates, what expert iteration changed, and what a teacher of this size can show.

# %%
refs_s = [x["summary"] for x in refs]
d_sl = ise.paired_difference(outs["student"], outs["lead-3"], refs_s, rounds=bootstrap_rounds, seed=seed)
d_lf = ise.paired_difference(outs[f"teacher round {n_rounds}"], outs["teacher round 0"], refs_s, rounds=bootstrap_rounds, seed=seed)
by = {r["system"]: r for r in main["rouge"]}
timings["total"] = time.perf_counter() - t_start
metrics = {
    "teacher_model": teacher_model, "critic_model": critic_model or teacher_model, "nli_model": nli_model or None,
    "n_rounds": n_rounds, "n_documents": len(docs), "documents_dropped": doc_info["dropped_short"],
    "pass_rates": {f"round{rd['round']}": {k: v["rate"] for k, v in rd["pass_rates"].items()} for rd in rounds},
    "pass_rate_round0": rounds[0]["pass_rates"].get("all", {}).get("rate"),
    "pass_rate_round0_ci": rounds[0]["pass_rates"].get("all", {}).get("ci"),
    "pass_rate_last": rounds[-1]["pass_rates"].get("all", {}).get("rate"),
    "pass_rate_last_ci": rounds[-1]["pass_rates"].get("all", {}).get("ci"),
    "fallback_pairs": n_fallback_total, "final_pairs": len(pairs),
    "rougeL_student": by["student"]["rougeL"], "rougeL_student_ci": by["student"]["rougeL_ci"],
    "rougeL_lead3": by["lead-3"]["rougeL"], "rougeL_lead3_ci": by["lead-3"]["rougeL_ci"],
    "rougeL_teacher_round0": by["teacher round 0"]["rougeL"], "rougeL_teacher_round0_ci": by["teacher round 0"]["rougeL_ci"],
    "rougeL_teacher_last": by[f"teacher round {n_rounds}"]["rougeL"], "rougeL_teacher_last_ci": by[f"teacher round {n_rounds}"]["rougeL_ci"],
    "rouge": {s: e["rouge"] for s, e in eval_sets.items()},
    "student_minus_lead3_rougeL": d_sl["mean"], "student_minus_lead3_rougeL_ci": d_sl["ci"],
    "teacher_last_minus_round0_rougeL": d_lf["mean"], "teacher_last_minus_round0_rougeL_ci": d_lf["ci"],
    "controllability": ctrl, "controllability_if_ignored": ctrl_chance,
    "eval_critic_pass_all": dict(zip(crit_summary.system, crit_summary.pass_all.astype(float))),
    "timings_s": {k: round(v, 1) for k, v in timings.items()},
    "headline": ["pass_rate_round0", "pass_rate_last", "rougeL_student", "rougeL_lead3", "rougeL_teacher_round0",
                 "rougeL_teacher_last", "student_minus_lead3_rougeL"],
}
s_loss = losses.get("student") or [None]
d_st = ise.paired_difference(outs["student"], outs[f"teacher round {n_rounds}"], refs_s, rounds=bootstrap_rounds, seed=seed)
metrics.update({"student_minus_teacher_last_rougeL": d_st["mean"], "student_minus_teacher_last_rougeL_ci": d_st["ci"],
                "student_loss_first": s_loss[0], "student_loss_last": s_loss[-1], "student_init": student_init})
metrics.update(ise.findings(teacher_model, rounds, main["rouge"], d_sl, d_lf, ctrl, ctrl_chance, len(pairs),
                            n_fallback_total, len(docs), student={"init": student_init, "loss_first": s_loss[0],
                            "loss_last": s_loss[-1], "steps": len(losses.get("student") or []), "minus_teacher": d_st},
                            eval_critics=metrics["eval_critic_pass_all"]))
run.log_metrics(metrics)
print(f"total {timings['total']:.0f} s; load average {os.getloadavg()[0]:.1f}")
print(metrics["signal"])

# %%
Markdown(findings_markdown(metrics))
