"""Our PPO's training loop: in the notebook's process, or data parallel in several under ``accelerate launch``.

    res = train_ppo(policy_dir, reward_dir, prompts, out_dir, Stage(steps=30, learning_rate=1e-4, batch_size=16),
                    PPOSettings(kl_coef=0.05), eval_fn=..., opts=TrainOptions(launcher="accelerate-ddp"))

``opts.launcher`` is the notebooks' ``train_launcher``: ``local`` runs ``run_job`` here; ``accelerate-<config>``
writes the job to ``<work>/job.json`` and runs it in every process of ``accelerate launch`` (``ppo_launch``).
There the policy, the value model and their optimizer go through ``Accelerator.prepare`` (DDP), each process
samples ``batch_size`` responses of the step's prompts (the same global draw everywhere, one slice each),
advantages are whitened over the whole batch, rewards / KL / losses are gathered, and only the main process
writes the checkpoint, the history and the final model.

Every ``save_steps`` the policy, value model, optimizer and history go to ``<work>/last.pt`` (atomic), and a
rerun resumes there (``helpers.core.training.resumable``: the work folder is keyed by every input, the number of
processes included). The prompts and the sampling seed of step ``n`` depend only on (seed, n, process), so a
resumed run draws what the uninterrupted one would have.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import torch

from ..core.hf import device_name
from ..core.launch import launch_command, run_launched
from ..core.store import atomic_write_json, stable_id
from ..core.training import TrainOptions, accelerate_settings, resumable
from .ppo import (
    PPOSettings,
    ValueModel,
    apply_no_eos_penalty,
    gae,
    kl_rewards,
    pack,
    policy_loss,
    response_view,
    token_logprobs,
    value_loss,
    whiten,
)


class Single:
    """What the loop asks of an ``accelerate.Accelerator``, for one process without it."""

    num_processes, process_index, is_main_process = 1, 0, True

    def __init__(self, device: str):
        self.device = torch.device(device)

    def prepare(self, *objs):
        return objs

    def unwrap_model(self, model):
        return model

    def backward(self, loss):
        loss.backward()

    def clip_grad_norm_(self, params, max_norm: float):
        return torch.nn.utils.clip_grad_norm_(params, max_norm)

    def gather(self, x):
        return x

    def reduce(self, x, reduction: str = "sum"):
        return x

    def wait_for_everyone(self):
        pass


def train_ppo(
    policy: str | Path,
    reward: str | Path,
    prompts: Sequence[str],
    out_dir: str | Path,
    stage,
    settings: PPOSettings = PPOSettings(),
    eval_fn: Callable | None = None,
    key_extra: dict | None = None,
    opts: TrainOptions | None = None,
    curve: dict | None = None,
):
    """PPO from the policy folder against the reward-model folder; the final policy lands in ``out_dir``.
    ``eval_fn(model)`` (local) or ``curve`` (launched: what ``curve_eval`` decodes) adds the validation
    accuracy to the history every ``stage.eval_every`` steps."""
    from .trainers import StageResult, cached_stage

    out_dir, opts = Path(out_dir), opts or TrainOptions()
    key = {
        "stage": "ppo",
        "policy": str(policy),
        "reward": str(reward),
        "prompts": stable_id(list(prompts)),
        **asdict(stage),
        **asdict(settings),
        **(key_extra or {}),
    }
    if opts.launcher != "local":
        key["processes"] = opts.processes()
    if done := cached_stage(out_dir, key):
        return done
    with resumable(out_dir, key) as work:
        spec = {
            "policy": str(policy),
            "reward": str(reward),
            "prompts": list(prompts),
            "stage": asdict(stage),
            "settings": asdict(settings),
            "work": str(work.path),
            "final": str(work.final),
            "result": str(Path(work.path) / "result.json"),
            "curve": curve,
        }
        if opts.launcher == "local":
            result = run_job(spec, eval_fn=eval_fn)
        else:
            result = launch(spec, opts)
        atomic_write_json(Path(work.final) / "train_result.json", {k: v for k, v in result.items() if k != "history"})
    return StageResult(out_dir, result["history"])


def reward_scorer(folder: str | Path, device: str | None = None):
    """A reward model this grid trained, as a ``core.reward.RewardScorer`` scoring as the grid always has: 128 texts a
    batch, no truncation, the checkpoint's own dtype."""
    from ..core.reward import RewardScorer

    return RewardScorer(folder, batch_size=128, max_length=None, device=device, dtype=None)


def run_job(spec: dict, eval_fn: Callable | None = None, accelerator=None) -> dict:
    """The loop of one process (``accelerator`` None: this process alone). Returns {history, processes,
    resumed_from, global_step}; the main process saves the final model and writes ``spec["result"]``."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    from .evaluate import generate
    from .trainers import Stage

    stage, s = Stage(**spec["stage"]), PPOSettings(**spec["settings"])
    acc = accelerator or Single(device_name())
    device, main = acc.device, acc.is_main_process
    tok = AutoTokenizer.from_pretrained(spec["policy"])
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    f32 = dict(dtype=torch.float32)  # trained in float32 (AdamW on bf16 weights loses small updates)
    model = AutoModelForCausalLM.from_pretrained(spec["policy"], **f32).to(device)
    ref = AutoModelForCausalLM.from_pretrained(spec["policy"], **f32).to(device).eval()
    value = ValueModel(AutoModelForSequenceClassification.from_pretrained(spec["reward"], **f32)).to(device)
    scorer = reward_scorer(spec["reward"], device=str(device))
    opt = torch.optim.AdamW(
        list(model.parameters()) + list(value.parameters()), lr=stage.learning_rate, weight_decay=0.0
    )
    ckpt, start, history, resumed = Path(spec["work"]) / "last.pt", 0, [], None
    if ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)  # load_state_dict moves it to the device
        model.load_state_dict(state["policy"])
        value.load_state_dict(state["value"])
        opt.load_state_dict(state["optimizer"])
        start = resumed = state["step"]
        history = state["history"] + [{"resumed_from": start}]
    model, value, opt = acc.prepare(model, value, opt)
    if eval_fn is None and spec.get("curve") and main:
        eval_fn = curve_eval(spec["curve"], tok)
    evaluate = (
        (lambda: {f"eval/{k}": v for k, v in eval_fn(acc.unwrap_model(model)).items() if v is not None})
        if eval_fn and main
        else (lambda: {})
    )
    if start == 0 and eval_fn:
        history.append({"step": 0, **evaluate()})
    prompts, size, rank = spec["prompts"], stage.batch_size, acc.process_index
    for step in range(start + 1, stage.steps + 1):
        draw = random.Random(f"ppo-prompts-{stage.seed}-{step}")  # the same global batch in every process
        batch = [prompts[draw.randrange(len(prompts))] for _ in range(size * acc.num_processes)][
            rank * size : (rank + 1) * size
        ]
        torch.manual_seed(int(stable_id("ppo-sample", stage.seed, step, rank, length=8), 16))
        row = {**ppo_step(acc, model, ref, value, scorer, tok, opt, batch, s, generate), "step": step}
        if stage.eval_every and (step % stage.eval_every == 0 or step == stage.steps):
            row.update(evaluate())
        history.append(row)
        if stage.save_steps and step % stage.save_steps == 0 and step < stage.steps:
            if main:
                _save(
                    ckpt,
                    {
                        "policy": acc.unwrap_model(model).state_dict(),
                        "value": acc.unwrap_model(value).state_dict(),
                        "optimizer": opt.state_dict(),
                        "step": step,
                        "history": history,
                    },
                )
            acc.wait_for_everyone()
            _kill_hook(step)
    result = {"history": history, "processes": acc.num_processes, "resumed_from": resumed, "global_step": stage.steps}
    if main:
        acc.unwrap_model(model).save_pretrained(spec["final"])
        tok.save_pretrained(spec["final"])
        (Path(spec["final"]) / "history.json").write_text(json.dumps(history), encoding="utf-8")
        atomic_write_json(spec["result"], result)
    acc.wait_for_everyone()
    return result


def _kill_hook(step: int) -> None:
    """Tests of the launched path: ``HELPERS_PPO_KILL_AT_STEP=n`` ends every process right after checkpoint n
    (as a SIGKILL would, with no cleanup)."""
    import os

    if os.environ.get("HELPERS_PPO_KILL_AT_STEP") == str(step):
        os._exit(137)


def _save(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def ppo_step(acc, model, ref, value, scorer, tok, opt, prompts: Sequence[str], s: PPOSettings, generate) -> dict:
    """One rollout and ``ppo_epochs`` of updates in this process; returns the step's statistics over every process
    (reward, KL, losses, clip fraction)."""
    device = acc.device
    policy, critic = acc.unwrap_model(model), acc.unwrap_model(value)
    texts, ids = generate(
        policy, tok, prompts, s.max_new_tokens, do_sample=True, temperature=s.temperature, return_ids=True
    )
    ids = [(p, r if r else [tok.eos_token_id]) for p, r in ids]
    batch = {k: v.to(device) for k, v in pack(ids, tok.pad_token_id).items()}
    ended = torch.tensor([r[-1] == tok.eos_token_id for _, r in ids], device=device)
    with torch.no_grad():
        old_logp, mask = token_logprobs(policy, batch, s.temperature)
        ref_logp, _ = token_logprobs(ref, batch, s.temperature)
        old_values, _ = response_view(critic(batch["input_ids"], batch["attention_mask"]), batch)
        raw = torch.tensor(scorer.score(list(zip(prompts, texts))), device=device)
        scores = apply_no_eos_penalty(raw, ended, s.no_eos_penalty)
        rewards, kl = kl_rewards(old_logp, ref_logp, scores, mask, s.kl_coef)
        adv, returns = gae(rewards.cpu(), old_values.cpu(), mask.cpu(), s.gamma, s.lam)
        adv, returns = adv.to(device), returns.to(device)
        if s.whiten_advantages:
            adv = whiten(adv, mask, all_reduce_sum=(lambda t: acc.reduce(t, "sum")) if acc.num_processes > 1 else None)
    n = len(prompts)
    size = s.minibatch_size or n
    stats = torch.zeros(3, device=device)  # pg loss, value loss, clip fraction
    updates, per_update = 0, []  # per minibatch update: (clip fraction, KL of the updated policy from the rollout one)
    params = [p for g in opt.param_groups for p in g["params"]]
    for _ in range(s.ppo_epochs):
        for start in range(0, n, size):
            idx = torch.arange(start, min(n, start + size), device=device)
            mb = {k: v[idx] for k, v in batch.items()}
            logp, m = token_logprobs(model, mb, s.temperature)
            vals, _ = response_view(value(mb["input_ids"], mb["attention_mask"]), mb)
            T = m.shape[1]
            pg, clipfrac = policy_loss(logp, old_logp[idx][:, :T], adv[idx][:, :T], m, s.clip)
            vf = value_loss(vals, old_values[idx][:, :T], returns[idx][:, :T], m, s.value_clip)
            opt.zero_grad()
            acc.backward(pg + s.vf_coef * vf)
            acc.clip_grad_norm_(params, 1.0)
            opt.step()
            stats += torch.stack([pg.detach(), vf.detach(), clipfrac.detach()]).float()
            per_update.append(
                torch.stack([clipfrac.detach().float(), update_kl(logp.detach(), old_logp[idx][:, :T], m)])
            )
            updates += 1
    stats = acc.reduce(stats / max(1, updates), "mean")
    per_update = acc.reduce(torch.stack(per_update), "mean").tolist() if per_update else []
    raw_all, ended_all = acc.gather(raw.float()), acc.gather(ended.float())
    lengths = acc.gather(mask.sum(1).float())
    kl_sum, kl_per = acc.reduce(torch.stack([kl.sum(), mask.sum()]).float(), "sum"), acc.gather(kl.sum(1).float())
    return {
        "reward": float(raw_all.mean()),
        "score": float(acc.gather(scores.float()).mean()),
        "kl": float(kl_sum[0] / kl_sum[1].clamp(min=1)),
        "kl_per_response": float(kl_per.mean()),
        "no_eos": float(1 - ended_all.mean()),
        "response_length": float(lengths.mean()),
        "pg_loss": float(stats[0]),
        "vf_loss": float(stats[1]),
        "clipfrac": float(stats[2]),
        "updates": updates,
        "clipfrac_per_update": [round(c, 6) for c, _ in per_update],
        "policy_kl_per_update": [round(k, 8) for _, k in per_update],
    }


def update_kl(logp: torch.Tensor, old_logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """How far one update moved the policy from the one that sampled the rollout: the mean over response tokens of
    (r - 1) - log r, r = exp(logp - old_logp) (a non-negative estimate of KL(old || new); 0 before any update)."""
    log_ratio = (logp - old_logp) * mask
    return ((torch.exp(log_ratio) - 1 - log_ratio) * mask).sum() / mask.sum().clamp(min=1)


# --------------------------------------------------------------------------- under accelerate launch
JOB_MODULE = "helpers.tulu.ppo_launch"  # what every launched process runs (``ppo_launch.main`` -> ``run_job``)


def check_launcher(launcher: str) -> None:
    """ValueError when the launcher cannot run our PPO (sharded DeepSpeed / FSDP configs)."""
    cfg = accelerate_settings(launcher)
    if cfg.get("distributed_type") in ("DEEPSPEED", "FSDP"):
        raise ValueError(
            f"{launcher}: our PPO is data parallel (each process generates with the whole policy); "
            "use accelerate-ddp on GPUs (or a CPU config), not a sharded DeepSpeed / FSDP one"
        )


def launch(spec: dict, opts: TrainOptions, timeout: float | None = None) -> dict:
    """Run the PPO job ``spec`` under ``accelerate launch``, wait, return the main process's result."""
    check_launcher(opts.launcher)
    spec = {**spec, "use_cpu": bool(accelerate_settings(opts.launcher).get("use_cpu"))}
    return run_launched(
        spec,
        lambda spec_path: launch_command(spec_path, opts, JOB_MODULE),
        f"accelerate launch of PPO ({opts.launcher})",
        timeout,
    )


def curve_eval(curve: dict, tok):
    """The validation decode a launched job runs on its main process: ``{"kind": "quick", "tasks": [Task dicts]}``
    (the quick world's checkers) or ``{"kind": "english", "tasks": [...]}`` (the hub world's English checkers)."""
    if curve["kind"] == "quick":
        from .evaluate import by_category, evaluate_tasks
        from .tasks import Task

        tasks = [Task(**t) for t in curve["tasks"]]
        return lambda model: by_category(evaluate_tasks(model, tok, tasks))
    from .hub_eval import english_curve

    return lambda model: english_curve(model, tok, curve["tasks"])
