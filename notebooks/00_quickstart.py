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

from helpers import Sampling
from helpers import quickstart as qs
from helpers.core.data import load_records
from helpers.core.notebook import start_notebook
from helpers.core.plotting import show
from helpers.quickstart import plots as qs_plots

run, _ = start_notebook("00_quickstart", globals())  # engine settings, plot style, run folder
questions = load_records(prompts_data, required=["id", "question", "correct", "wrong"])[:n_prompts]
print(f"{len(questions)} questions; run folder: {run.dir}")

# %% [markdown]
# ## Generation with each backend
# Each backend answers the same chat prompts. Answers are a resumable stage: a rerun of a killed run
# only generates what is missing.

# %%
sampling = Sampling(n=n_samples, temperature=temperature, max_tokens=max_tokens, seed=seed)
# one stage per backend; its file name carries a hash of everything that changes the answers
answers, speed, skipped, notes = qs.generate_answers(run, questions, model, prompts_data, backends, batch_size, sampling)
for note in notes:
    print(note)
pd.DataFrame(speed)

# %%
pd.set_option("display.max_colwidth", 120)
pd.DataFrame(qs.answer_rows(answers, questions)).head(2 * n_prompts)

# %% [markdown]
# ## Log-probabilities of a correct and a wrong answer
# `LogProbScorer` renders the question with the model's chat template and sums the log-probabilities
# of the answer tokens (plus the end-of-turn token). A model that knows the facts gives the correct
# answer the higher score.

# %%
lp = qs.logprob_table(model, questions)
accuracy = float(lp.prefers_correct.mean())
print(f"correct answer scored higher for {lp.prefers_correct.sum()}/{len(lp)} questions ({accuracy:.0%})")
lp

# %%
fig, caption = qs_plots.quickstart_figure(lp, speed)
show(run, fig, "quickstart", caption)

# %%
metrics = qs.run_metrics(lp, len(questions), speed, skipped, list(answers))
run.log_metrics(metrics)

# %% [markdown]
# ## Findings
# Computed from this run's metrics. vLLM's tokens/s excludes engine start-up (about a minute on a 2-core CPU);
# the log-prob check is the computation the CDR notebook uses for density-ratio rewards, here with one model.

# %%
from IPython.display import Markdown

from helpers.core.report import findings_markdown

Markdown(findings_markdown(metrics))
