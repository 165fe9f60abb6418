# ---
# jupyter:
#   helpers:
#     precheck: helpers.icot.checks:check_params
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 09 · Stepwise internalization of chain-of-thought
#
# **Question.** A model trained to multiply with an explicit chain of thought (partial products and
# running sums) is accurate but slow: it writes dozens of tokens per answer. Can it be taught to drop
# the CoT a token at a time, so that it ends up answering directly (no CoT at inference, as fast as a
# model trained without CoT), and does that beat training without CoT from the start on the same budget?
#
# **Method.** Data in the reference format: digits reversed and space separated, partial products,
# running sums in parentheses from the third product on, the answer padded to 2n digits
# (`input||cot #### answer`). A GPT-2 is trained on `input <eos> cot <eos> #### answer <eos>` with the loss
# after the first `<eos>`. Stepwise internalization (ICoT-SI) removes CoT tokens from the left: one more
# token every round(steps per epoch / `remove_per_epoch`) steps, an extra offset o per example with
# P(o) proportional to exp(-lambda o) (removal smoothing), a fresh AdamW at each increase, the whole CoT
# once `remove_all_beyond` is reached, gradient clipping 1.0. Baselines on the same number of steps and
# examples: no-CoT training from the start, and explicit CoT (which keeps its CoT at inference). All
# three decode greedily; the answer is what follows `####`. With `keep_position`, every position id from the
# first `<eos>` on is shifted by the number of removed tokens (the reference's rule). Each model is tested at
# its best-validation checkpoint (the reference's rule: for stepwise, the best once the whole CoT is gone,
# else the latest). `n_seeds` training seeds per method give the spread.
#
# **When the claim is testable.** Internalizing a CoT needs a CoT that works and time to absorb each removed
# token: the verdict is "untestable" when the explicit-CoT model is below `min_cot_accuracy` on validation
# when removal starts, or each removed token gets less than `min_steps_share` of the reference's steps
# (808K products / batch 32 / 8 removals per epoch: 3,156). Both methods below 5% is "both fail", and no
# speed-up is reported for a model that does not answer. The quick profile is expected to be untestable;
# `cpu-demo` (2x2, 1,000 steps per removed token from a >90% CoT model, about 20 minutes) is built to test it.
#
# **Paper.** Deng, Choi & Shieber, *From Explicit CoT to Implicit CoT: Learning to Internalize CoT Step by
# Step*, arXiv 2405.14838 (code: da03/Internalize_CoT_Step_by_Step). GPT-2 Small, no CoT at inference:
# 4x4 1.00, 5x5 1.00, 7x7 0.95, 9x9 0.99, GSM8K 0.30; plain no-CoT training fails beyond 4x4.
#
# **Scale.** The quick profile trains a 2-layer, 64-wide GPT-2 from a config (character vocabulary)
# for about a minute per method on a 2-core CPU, on the largest multiplication size whose explicit CoT
# such a model learns in that time. The full profile (`full-gpu.yaml`) runs GPT-2 Small from the hub on
# 4x4, 5x5, 7x7, 9x9 and GSM8K on one GPU.

# %% tags=["parameters"]
tasks = ["mult:3"]  # [non-empty] tasks: mult:N (N-digit multiplication, generated here) or gsm8k
init_from = "config:gpt2-tiny"  # [non-empty] start: config:gpt2-tiny, config:gpt2-mini or config:gpt2-small (random GPT-2 from a config, character vocabulary) or a pretrained GPT-2 (hub id such as openai-community/gpt2, or a folder)
gsm8k_data = "openai/gsm8k"  # GSM8K source: a hub id (openai/gsm8k; whynlp/gsm8k-aug is the paper's augmented set), a local JSONL (question/answer or input/cot/answer) or a .txt in the reference format
n_train = 8000  # [0..] training examples per task (gsm8k: 0 takes the whole split)
n_valid = 64  # [0..] validation examples decoded during training for the curves
n_test = 500  # [1..] test examples per task
n_epochs = 10  # [1..] epochs for every method (the same budget: steps and examples)
cot_epochs = 0  # [0..] epochs for the explicit-CoT baseline (a reference kept with its CoT); 0: n_epochs
batch_size = 64  # [1..] examples per optimizer step
learning_rate = 0.003  # [0..] AdamW learning rate (the reference: 5e-5 for GPT-2 Small)
pretrain_epochs = 7  # [0..] explicit-CoT epochs before removal starts (the reference: 0)
remove_per_epoch = 10.0  # [0.01..] CoT tokens removed per epoch: one more every round(steps per epoch / this) steps
removal_smoothing_lambda = 4.0  # [0..] smoothing: extra offset o with P(o) proportional to exp(-lambda o); 0 turns it off
remove_all_beyond = 0  # [0..] remove the whole CoT once this many tokens are scheduled (the reference: 39 on GSM8K); 0 never
keep_position = True  # removed tokens leave a gap in the position ids (the reference's --keep_position; CoTs of one length only)
reset_optimizer = True  # a fresh AdamW at each increase of the removal count (the reference's --reset_optimizer)
max_len_train = 0  # [0..] drop training sequences longer than this many tokens (the reference: 150 on GSM8K); 0 keeps all
task_overrides = {}  # per-task training parameters on top of the above, e.g. {"gsm8k": {"keep_position": False}}
eval_every = 50  # [0..] steps between validation decodes (training curves); 0 decodes only at the end
checkpoint_every = 250  # [1..] steps between checkpoints (a killed run resumes from the last one)
eval_batch_size = 250  # [1..] test examples decoded together
speed_batch_size = 1  # [1..] batch size when timing answers per second (the paper: 1)
n_speed = 50  # [1..] test examples timed per method
seed = 0  # [0..] data split seed, and the first training seed (initialisation, data order, smoothing)
n_seeds = 1  # [1..] training seeds per method (seed, seed+1, ...): the spread across seeds
min_cot_accuracy = 0.9  # [0..1] gate: explicit-CoT validation accuracy needed when removal starts
min_steps_share = 0.25  # [0..1] gate: steps per removed token needed, as a share of the reference's (3,156 for mult)
torch_threads = 1  # [0..] CPU threads for torch (0 keeps the default; 1 is steadier on a shared machine)

# %%
import pandas as pd
from IPython.display import Markdown, display

from helpers import Run
from helpers.core.plotting import show, use_style
from helpers.icot import data, plots, steps
from helpers.icot import evaluate as ev

# %%
device, line = steps.configure_device(torch_threads)
use_style()
run = Run.current("09_icot")
train_params = dict(init_from=init_from, n_epochs=n_epochs, cot_epochs=cot_epochs, batch_size=batch_size,
                    learning_rate=learning_rate, pretrain_epochs=pretrain_epochs, remove_per_epoch=remove_per_epoch,
                    removal_smoothing_lambda=removal_smoothing_lambda, remove_all_beyond=remove_all_beyond,
                    keep_position=keep_position, reset_optimizer=reset_optimizer, max_len_train=max_len_train,
                    eval_every=eval_every, seed=seed)
seeds = steps.training_seeds(seed, n_seeds)
print(f"{line}; training seeds {seeds}; run folder {run.dir}")

# %% [markdown]
# ## Data
# Multiplication pairs are drawn uniformly among n-digit numbers with `seed`, distinct across the three
# splits (the test set stays the same when `n_train` grows). GSM8K's CoT is its calculator annotations
# (`<<4*2=8>> <<8+3=11>>`), as in the paper's GSM8K-Aug.

# %%
splits = {t: data.load_task(t, n_train, n_valid, n_test, seed=seed, gsm8k_data=gsm8k_data) for t in tasks}
steps.data_summary(splits)

# %% [markdown]
# ## Training: three methods, one budget
# Every method takes `n_epochs` epochs over the same examples in the same order (per training seed). During `pretrain_epochs`
# the stepwise run *is* explicit-CoT training (no removal yet), so it starts from the explicit-CoT run's
# saved state at that step instead of training those steps twice; its reported time includes them.
# Checkpoints go to `checkpoints/<method>/<task>-<key>/`, where the key hashes every parameter that
# changes the result: rerunning resumes or reuses, and a changed parameter trains afresh.

# %%
results, training = steps.train_all(tasks, train_params, task_overrides, splits, run.dir / "checkpoints", checkpoint_every,
                                    steps.interactive(), device, seeds)  # explicit CoT first: stepwise branches from it
run.save_table(training, "training")
training

# %%
display(Markdown(steps.training_summary(training)))

# %% [markdown]
# ## Test accuracy, tokens per answer, answers per second
# ICoT-SI and no-CoT answer without CoT (the stepwise model writes whatever CoT its schedule left it; once
# everything is removed that is none); explicit CoT writes its CoT. Accuracy is exact match of the whole
# answer, with 95% Wilson intervals. Tokens per answer count everything a model generates after the prompt
# (CoT, separators, answer). Speed is greedy answering at batch size `speed_batch_size` on `n_speed` test
# examples, timed on this machine (device above), for the first training seed. With several seeds, accuracy
# and its interval pool the seeds' answers; the dots are the seeds.

# %%
records, speeds, positions = steps.evaluate_all(results, splits, run, eval_batch_size, n_speed, speed_batch_size, device)
per_task = steps.task_reports(results, records, speeds, positions, splits, min_branch_accuracy=min_cot_accuracy,
                              min_steps_share=min_steps_share)
table = pd.DataFrame(ev.table_rows(per_task))
run.save_table(table, "results")
display(steps.accuracy_cells(table))
table.round(3)

# %%
show(run, plots.plot_accuracy(table.to_dict("records")), "test_accuracy", plots.accuracy_caption(table))

# %%
for task in tasks:
    hist = {m: results[(task, m, seeds[0])][1].history for m in steps.METHODS}
    show(run, plots.plot_training(hist, title=f"{task}, seed {seeds[0]}"), f"training_{task.replace(':', '')}",
         plots.training_caption(task, hist))

# %% [markdown]
# ## Where it breaks: branch point, collapse, positions
# The explicit-CoT model's validation accuracy at the step removal starts (beside the stepwise run's own check
# there, which differs only by smoothing's rare early removals), the steps each removed token gets, the first check where validation accuracy falls below half of the branch
# point (and the CoT token removed last by then), and, on the test set, the token accuracy at each target
# position given the true prefix (teacher forcing): which answer digit a model cannot produce without its CoT.

# %%
diagnostics = steps.diagnostics_table(per_task)
run.save_table(diagnostics, "diagnostics")
diagnostics

# %%
for task in tasks:
    frame = steps.positions_frame(positions, task)
    run.save_table(frame, f"positions_{task.replace(':', '')}")
    show(run, plots.plot_positions(frame, task), f"positions_{task.replace(':', '')}", plots.positions_caption(frame, task))

# %% [markdown]
# ## Does stepwise internalization beat no-CoT training at this budget?
# Both answer the same test examples without CoT, so the comparison is paired: an exact McNemar test on
# the examples only one of them gets right (pooled over seeds). The signal is "untestable" when the gate
# fails (reasons in the finding), "both fail" when both are below 5%; otherwise "internalization beats
# no-CoT" (or the reverse) at p < 0.05, "no difference at this budget" when both Wilson intervals are
# narrower than +-10 points, else "too small to tell".

# %%
steps.significance_table(per_task)

# %%
import torch

head = ev.headline_task(tasks)
metrics = steps.run_metrics(per_task, head, records, results, init_from=init_from, tasks=tasks, device=device,
                            torch_threads=torch.get_num_threads())
run.log_metrics(metrics)
{k: metrics[k] for k in metrics["headline"] + ["signal"]}

# %%
display(Markdown(steps.reading_it(per_task[head], head, results[(head, "stepwise", seeds[0])][0],
                                  len(splits[head]["train"]))))

# %% [markdown]
# ## Findings
# Computed from this run's metrics (`metrics.json`): the signal compares stepwise internalization with no-CoT
# training on the headline task (the largest multiplication); one line per task follows.

# %%
from helpers.core.report import findings_markdown

Markdown(findings_markdown(metrics))
