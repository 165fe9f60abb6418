# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 00 · Quickstart: the stack end to end
#
# **Question.** Does every piece the experiment notebooks stand on work on this machine: model
# resolution (embedded alias, local folder or hub id), generation through both backends (vLLM and
# transformers), response log-probabilities, resumable stages, metrics and figures?
#
# **Method.** Answer a few factual questions with each backend, compare their throughput, then score a
# correct and a wrong answer to each question with the model's own log-probabilities
# (sum over response tokens, as the density-ratio and DPO rewards do).
# A 135M model is enough to show the plumbing; it says nothing about any paper's effect.

# %% tags=["parameters"]
model = "smollm2-135m-instruct"  # [non-empty] embedded alias, local model folder, or hub id
backends = ["hf", "vllm"]  # [non-empty; hf|vllm] generation backends to run; vllm is skipped (with a note) if not installed
prompts_data = "builtin:quickstart_facts.jsonl"  # [non-empty] questions with a correct and a wrong answer
n_prompts = 8  # [1..] how many questions to use
n_samples = 2  # [1..] samples per question
temperature = 0.7  # [0..] sampling temperature (0: greedy)
max_tokens = 48  # [1..] max new tokens per sample
batch_size = 16  # [1..] transformers backend: rows per batch
seed = 0  # [0..] sampling seed
tensor_parallel_size = 1  # [1..] vLLM: GPUs per model (70B: 4-8)
gpu_memory_utilization = 0.0  # [0..1] vLLM: fraction of GPU memory per engine (CPU build: of RAM for the KV cache); 0: 0.85 on a GPU, 0.3 on a CPU
max_model_len = 0  # [0..] vLLM: context length of an engine (prompt + reply tokens); 0: 2048
torch_threads = 0  # [0..] CPU threads for torch; 0: the cores free right now (os.sched_getaffinity minus the load average)

# %%
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns
from helpers import Generator, LogProbScorer, Run, Sampling, run_stage
from helpers.core.data import load_records
from helpers.core.generation import vllm_available

from helpers.core.plotting import use_style, show
from helpers.core import engines  # vLLM settings and CPU threads for every model this notebook loads
engines.configure(gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len,
                  tensor_parallel_size=tensor_parallel_size, torch_threads=torch_threads)
use_style()
run = Run.current("00_quickstart")
questions = load_records(prompts_data, required=["id", "question", "correct", "wrong"])[:n_prompts]
print(f"{len(questions)} questions; run folder: {run.dir}")

# %% [markdown]
# ## Generation with each backend
# Each backend answers the same chat prompts. Answers are a resumable stage: a rerun of a killed run
# only generates what is missing.

# %%
from helpers.core.store import keyed_store
sampling = Sampling(n=n_samples, temperature=temperature, max_tokens=max_tokens, seed=seed)
answers, speed, skipped = {}, [], []
for backend in backends:
    if backend == "vllm" and not vllm_available():
        print("vLLM is not installed here: skipping the vllm backend (counted in metrics: skipped_backends)")
        skipped.append(backend)
        continue
    gen = Generator(model, backend=backend, batch_size=batch_size)

    def answer(batch, gen=gen):
        outs = gen.generate([[{"role": "user", "content": q["question"]}] for q in batch], sampling, desc=backend)
        return [{"id": q["id"], "answers": [c.text for c in o], "tokens": [c.n_tokens for c in o],
                 "finish": [c.finish_reason for c in o]} for q, o in zip(batch, outs)]

    # the store's file name carries a hash of everything that changes the answers; a changed param writes a new file
    store = keyed_store(run, f"answers_{backend}", {"model": model, "prompts_data": prompts_data, "sampling": sampling.__dict__})
    answers[backend] = run_stage(store, questions, answer, batch_size=len(questions), desc=backend)
    if gen.stats.seconds:
        speed.append({"backend": backend, "tokens": gen.stats.tokens, "seconds": gen.stats.seconds,
                      "tokens_per_s": gen.stats.tokens_per_s})
pd.DataFrame(speed)

# %%
rows = [{"backend": b, "question": q["question"], "answer": r["answers"][0], "finish": r["finish"][0]}
        for b, recs in answers.items() for q, r in zip(questions, recs)]
pd.set_option("display.max_colwidth", 120)
pd.DataFrame(rows).head(2 * n_prompts)

# %% [markdown]
# ## Log-probabilities of a correct and a wrong answer
# `LogProbScorer` renders the question with the model's chat template and sums the log-probabilities
# of the answer tokens (plus the end-of-turn token). A model that knows the facts gives the correct
# answer the higher score.

# %%
scorer = LogProbScorer(model)
chats = [[{"role": "user", "content": q["question"]}] for q in questions]
good = scorer.score(list(zip(chats, [q["correct"] for q in questions])))
bad = scorer.score(list(zip(chats, [q["wrong"] for q in questions])))
lp = pd.DataFrame({"question": [q["question"] for q in questions],
                   "logp_correct": [s.sum for s in good], "logp_wrong": [s.sum for s in bad]})
lp["prefers_correct"] = lp.logp_correct > lp.logp_wrong
accuracy = float(lp.prefers_correct.mean())
print(f"correct answer scored higher for {lp.prefers_correct.sum()}/{len(lp)} questions ({accuracy:.0%})")
lp

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
lo, hi = lp[["logp_correct", "logp_wrong"]].min().min(), lp[["logp_correct", "logp_wrong"]].max().max()
axes[0].scatter(lp.logp_wrong, lp.logp_correct, c=lp.prefers_correct.map({True: "tab:green", False: "tab:red"}))
axes[0].plot([lo, hi], [lo, hi], "k--", lw=1)
axes[0].set(xlabel="log p(wrong answer)", ylabel="log p(correct answer)",
            title=f"Above the diagonal = prefers correct ({accuracy:.0%})")
if speed:
    sp = pd.DataFrame(speed)
    sns.barplot(data=sp, x="backend", y="tokens_per_s", ax=axes[1])
    axes[1].set(title="Generation throughput on this machine", xlabel="backend", ylabel="generated tokens / s")
else:
    axes[1].set_axis_off()
    axes[1].set_title("Generation throughput")
    axes[1].text(0.5, 0.5, "answers reused from an earlier run:\nno fresh timing", ha="center")
show(run, fig, "quickstart", f"Left: each question's log-probability of the correct vs the wrong answer (green: correct "
     f"preferred, {accuracy:.0%} of {len(lp)}). Right: generated tokens per second of each backend on this machine.")

# %%
from helpers.core.stats import chance_verdict

verdict = chance_verdict(int(lp.prefers_correct.sum()), len(lp), what="questions")
metrics = {"logprob_accuracy": accuracy, "logprob_accuracy_ci": verdict["ci"], "n_questions": len(questions),
           **{f"tokens_per_s_{s['backend']}": round(s["tokens_per_s"], 1) for s in speed},
           "skipped_backends": skipped, "signal": f"log-prob preference {verdict['signal']}",
           "finding": f"The correct answer got the higher log-probability on {verdict['text']}.",
           "findings": [f"Backends run: {', '.join(answers) or 'none'}" + (f"; skipped (not installed): {', '.join(skipped)}." if skipped else ".")]
                       + [f"{s['backend']}: {s['tokens_per_s']:.1f} generated tokens/s" for s in speed],
           "headline": ["logprob_accuracy"] + [f"tokens_per_s_{s['backend']}" for s in speed]}
run.log_metrics(metrics)

# %% [markdown]
# ## Findings
# Computed from this run's metrics. vLLM's tokens/s excludes engine start-up (about a minute on a 2-core CPU);
# the log-prob check is the computation the CDR notebook uses for density-ratio rewards, here with one model.

# %%
from IPython.display import Markdown
from helpers.core.report import findings_markdown
Markdown(findings_markdown(metrics))
