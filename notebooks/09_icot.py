# ---
# jupyter:
#   helpers:
#     precheck: helpers.icot.train:check_params
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
# three decode greedily; the answer is what follows `####`.
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
seed = 0  # [0..] data split, initialisation and smoothing seed
torch_threads = 1  # [0..] CPU threads for torch (0 keeps the default; 1 is steadier on a shared machine)

# %%
import os, time
import pandas as pd
import torch
from IPython.display import Markdown, display
from helpers import Run, cached_json
from helpers.core.plotting import show, use_style
from helpers.icot import data, evaluate as ev, plots
from helpers.icot.model import decode_settings
from helpers.icot.train import make_config, train

if torch_threads:
    torch.set_num_threads(torch_threads)
use_style()
run = Run.current("09_icot")
device = "cuda" if torch.cuda.is_available() else "cpu"
interactive = not os.environ.get("HELPERS_RUN_DIR")
METHODS = ["cot", "nocot", "stepwise"]  # explicit CoT first: stepwise starts from its state after pretrain_epochs
train_params = dict(init_from=init_from, n_epochs=n_epochs, batch_size=batch_size, learning_rate=learning_rate,
                    pretrain_epochs=pretrain_epochs, remove_per_epoch=remove_per_epoch,
                    removal_smoothing_lambda=removal_smoothing_lambda, remove_all_beyond=remove_all_beyond,
                    keep_position=keep_position, reset_optimizer=reset_optimizer, max_len_train=max_len_train,
                    eval_every=eval_every, seed=seed)
print(f"device {device}, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f} "
      f"on {os.cpu_count()} cores; run folder {run.dir}")

# %% [markdown]
# ## Data
# Multiplication pairs are drawn uniformly among n-digit numbers with `seed`, distinct across the three
# splits (the test set stays the same when `n_train` grows). GSM8K's CoT is its calculator annotations
# (`<<4*2=8>> <<8+3=11>>`), as in the paper's GSM8K-Aug.

# %%
splits = {t: data.load_task(t, n_train, n_valid, n_test, seed=seed, gsm8k_data=gsm8k_data) for t in tasks}
summary = pd.DataFrame([{"task": t, **{f"n_{k}": len(v) for k, v in s.items()},
                         "CoT words (mean)": sum(len(e["cot"].split()) for e in s["train"]) / len(s["train"]),
                         "example (test)": data.format_line(s["test"][0])[:140]} for t, s in splits.items()])
summary

# %% [markdown]
# ## Training: three methods, one budget
# Every method takes `n_epochs` epochs over the same examples in the same order. During `pretrain_epochs`
# the stepwise run *is* explicit-CoT training (no removal yet), so it starts from the explicit-CoT run's
# saved state at that step instead of training those steps twice; its reported time includes them.
# Checkpoints go to `checkpoints/<method>/<task>-<key>/`, where the key hashes every parameter that
# changes the result: rerunning resumes or reuses, and a changed parameter trains afresh.

# %%
results, rows = {}, []
for task in tasks:
    for method in METHODS:
        cfg = make_config(task, method, train_params, task_overrides)
        t0 = time.perf_counter()
        res = train(cfg, splits[task]["train"], splits[task]["valid"], run.dir / "checkpoints",
                    checkpoint_every=checkpoint_every, progress=interactive, device=device)
        results[(task, method)] = (cfg, res)
        last = res.history[-1] if res.history else {}
        rows.append({"task": task, "method": method, "steps": res.steps, "train_s": round(res.seconds, 1),
                     "this_process_s": round(time.perf_counter() - t0, 1), "segments": res.segments,
                     "branched_from": res.branched_from,
                     "final_valid_accuracy": last.get("valid_accuracy"), "final_loss": last.get("loss"),
                     "checkpoint": f"{res.folder.parent.name}/{res.folder.name}"})
training = pd.DataFrame(rows)
run.save_table(training, "training")
training


# %%
def how(r):
    branched = isinstance(r.branched_from, str)
    shared = f" (the first {r.segments[0][1]} shared with explicit CoT)" if branched else ""
    resumed = len(r.segments) - (2 if branched else 1)
    return shared + (f", resumed {resumed} time(s): {r.segments}" if resumed > 0 else "")
display(Markdown(" ".join(
    f"**{r.task} {r.method}**: {r.steps} steps{how(r)} in {r.train_s:.0f} s of training, final validation "
    f"accuracy {r.final_valid_accuracy:.0%}." for r in training.itertuples() if r.final_valid_accuracy is not None)))

# %% [markdown]
# ## Test accuracy, tokens per answer, answers per second
# ICoT-SI and no-CoT answer without CoT (the stepwise model writes whatever CoT its schedule left it; once
# everything is removed that is none); explicit CoT writes its CoT. Accuracy is exact match of the whole
# answer, with 95% Wilson intervals. Tokens per answer count everything a model generates after the prompt
# (CoT, separators, answer). Speed is greedy answering at batch size `speed_batch_size` on `n_speed` test
# examples, timed on this machine (device above).

# %%
records, speeds = {}, {}
for (task, method), (cfg, res) in results.items():
    skip, max_new = decode_settings(res.tok, method, cfg.keep_position, splits[task]["train"])
    key = f"{task.replace(':', '')}_{method}_{cfg.key()}"  # stored per checkpoint: a changed config decodes afresh
    records[(task, method)] = ev.evaluate_stage(run.store(f"test_{key}"), res.model, res.tok, splits[task]["test"],
                                                max_new, eval_batch_size, skip)
    timed = lambda res=res, skip=skip, max_new=max_new: {"answers_per_s": ev.answers_per_second(
        res.model, res.tok, splits[task]["test"][:n_speed], max_new, speed_batch_size, skip), "device": device}
    speeds[(task, method)] = cached_json(run.path(f"speed_{key}.json"), timed)["answers_per_s"]
per_task = {t: ev.task_report({m: records[(t, m)] for m in METHODS}, {m: speeds[(t, m)] for m in METHODS}) for t in tasks}
table = pd.DataFrame(ev.table_rows(per_task))
run.save_table(table, "results")
cells = table.assign(cell=[f"{a:.2f} [{lo:.2f}, {hi:.2f}]" for a, lo, hi in zip(table.accuracy, table.ci_low, table.ci_high)])
display(cells.pivot(index=["method", "inference"], columns="task", values="cell"))
table.round(3)

# %%
tops = table[table.accuracy == table.accuracy.max()].sort_values(["task", "method"])  # ties named, in a fixed order
best = tops.iloc[0]
show(run, plots.plot_accuracy(table.to_dict("records")), "test_accuracy",
     f"test accuracy per task and method with 95% Wilson intervals ({int(table.n.iloc[0])} test examples per bar); "
     f"the highest is {plots.METHOD_LABELS[best.method]} on {best.task} at {best.accuracy:.0%}"
     + (f" (tied with {len(tops) - 1} other bar(s))" if len(tops) > 1 else "") + f", the lowest {table.accuracy.min():.0%}.")

# %%
for task in tasks:
    hist = {m: results[(task, m)][1].history for m in METHODS}
    sw = [r for r in hist["stepwise"] if r.get("valid_accuracy") is not None]
    removing = lambda r: r["scheduled_removed"] is None or r["scheduled_removed"] > 0
    start = next((r for r in sw if removing(r)), None)
    before = max((r for r in sw if not removing(r)), key=lambda r: r["step"], default=None)
    gone = next((r for r in sw if r["valid_cot_tokens"] == 0 and removing(r)), None)
    caption = (f"{task}: top, validation accuracy of each model decoding as it was trained at that step (stepwise "
               f"and explicit CoT are one run until removal starts); bottom, CoT tokens removed by the schedule and "
               f"written by the models. "
               + (f"Removal began after step {before['step']} (validation accuracy {before['valid_accuracy']:.0%} then); "
                  if start and before else "The schedule removed no token in this budget; " if not start else "")
               + (f"the stepwise model stopped writing CoT by step {gone['step']} and ended at {sw[-1]['valid_accuracy']:.0%}"
                  if gone else f"it still wrote {sw[-1]['valid_cot_tokens']:.1f} CoT tokens at the end ({sw[-1]['valid_accuracy']:.0%})")
               + f", against {hist['nocot'][-1].get('valid_accuracy', 0):.0%} for no-CoT training and "
                 f"{hist['cot'][-1].get('valid_accuracy', 0):.0%} for explicit CoT.")
    show(run, plots.plot_training(hist, title=task), f"training_{task.replace(':', '')}", caption)

# %% [markdown]
# ## Does stepwise internalization beat no-CoT training at this budget?
# Both answer the same test examples without CoT, so the comparison is paired: an exact McNemar test on
# the examples only one of them gets right. The signal is "internalization beats no-CoT" (or the reverse)
# at p < 0.05; otherwise "no difference at this budget" when both Wilson intervals are narrower than
# +-10 points, else "too small to tell".

# %%
pd.DataFrame([{"task": t, "signal": v["signal"], "stepwise only": v["a_only"], "no-CoT only": v["b_only"],
               "McNemar p": v["p_value"]} for t, v in per_task.items()])

# %%
head = ev.headline_task(tasks)
h = per_task[head]
ci = lambda m: [h[m]["ci_low"], h[m]["ci_high"]]
speedup = h["stepwise"]["answers_per_s"] / h["cot"]["answers_per_s"] if h["cot"]["answers_per_s"] else None
metrics = {
    "headline": ["icot_accuracy", "nocot_accuracy", "cot_accuracy", "icot_speedup_over_cot"],
    "headline_task": head, "p_value": h["p_value"],
    "icot_accuracy": h["stepwise"]["accuracy"], "icot_accuracy_ci": ci("stepwise"),
    "nocot_accuracy": h["nocot"]["accuracy"], "nocot_accuracy_ci": ci("nocot"),
    "cot_accuracy": h["cot"]["accuracy"], "cot_accuracy_ci": ci("cot"),
    "icot_tokens_per_answer": h["stepwise"]["tokens_per_answer"], "cot_tokens_per_answer": h["cot"]["tokens_per_answer"],
    "icot_answers_per_s": h["stepwise"]["answers_per_s"], "cot_answers_per_s": h["cot"]["answers_per_s"],
    "icot_speedup_over_cot": speedup, "n_test": len(records[(head, "stepwise")]), "init_from": init_from,
    "tasks": tasks, "train_steps": results[(head, "stepwise")][1].steps, "per_task": per_task, "device": device,
    "train_seconds": {f"{t}/{m}": r.seconds for (t, m), (_, r) in results.items()},
    "torch_threads": torch.get_num_threads(),
}
metrics.update(ev.findings(per_task, head, init_from))
run.log_metrics(metrics)
{k: metrics[k] for k in metrics["headline"] + ["signal"]}

# %%
from helpers.icot.schedule import steps_per_removed_token
sw_cfg = results[(head, "stepwise")][0]
per_token = steps_per_removed_token(-(-len(splits[head]["train"]) // sw_cfg.batch_size), sw_cfg.remove_per_epoch)
kept = h["stepwise"]["accuracy"] / h["cot"]["accuracy"] if h["cot"]["accuracy"] else None
display(Markdown(
    f"**Reading it.** The explicit-CoT model shows what this model and budget learn *with* a CoT "
    f"({h['cot']['accuracy']:.0%} on {head}); the stepwise model keeps "
    + (f"{min(kept, 1):.0%} of that" if kept is not None else f"an accuracy of {h['stepwise']['accuracy']:.0%}")
    + f" while writing {h['stepwise']['cot_tokens_per_answer']:.1f} CoT tokens per answer instead of "
      f"{h['cot']['cot_tokens_per_answer']:.1f}"
    + (f", at {speedup:.1f}x the explicit model's answers per second. " if speedup else ". ")
    + f"Each removed token got {max(per_token, 1)} training steps here; the paper gives GPT-2 Small a removal every "
      f"few thousand steps over 808K products for tens of epochs, so a gap between this run and the paper's "
      f"4x4-9x9 numbers (1.00, 1.00, 0.95, 0.99) speaks to budget and model size, which `full-gpu.yaml` removes."))

# %% [markdown]
# ## Findings
# Computed from this run's metrics (`metrics.json`): the signal compares stepwise internalization with no-CoT
# training on the headline task (the largest multiplication); one line per task follows.

# %%
from helpers.core.report import findings_markdown
Markdown(findings_markdown(metrics))
