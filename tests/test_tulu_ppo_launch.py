"""Our PPO under `accelerate launch` with two CPU processes (the full profile's path, train_launcher accelerate-*):
DDP over the policy and value model, the rollout batch split across processes, statistics gathered, only the main
process writing the checkpoint, records and final model; a run killed after its first checkpoint resumes there."""

from __future__ import annotations

import json
import random

import pytest

from helpers.core.training import TrainOptions

pytestmark = pytest.mark.slow

CPU2 = """compute_environment: LOCAL_MACHINE
distributed_type: MULTI_CPU
mixed_precision: 'no'
num_machines: 1
num_processes: 2
machine_rank: 0
use_cpu: true
main_training_function: main
"""


@pytest.fixture()
def policy_and_rm(tmp_path):
    from helpers.tulu import preferences as pf
    from helpers.tulu.base_world import TrainSettings
    from helpers.tulu.quick_world import QuickSettings, QuickWorld
    from helpers.tulu.toy_model import build_policy, word_tokenizer
    from helpers.tulu.trainers import Stage, train_reward

    w = QuickWorld(QuickSettings(pref_prompts=8, n_curve=2), TrainSettings(), tmp_path)
    tok = word_tokenizer(w.world.vocabulary())
    policy = tmp_path / "policy"
    build_policy("config:llama-xs", tok, seed=0).save_pretrained(policy)
    tok.save_pretrained(policy)
    pairs = pf.off_policy_pairs(w.world, w.pref_tasks(0), random.Random(0))
    rm = train_reward(
        policy, pairs, tmp_path / "rm", Stage(steps=2, learning_rate=1e-3, batch_size=4), preset="config:rm-s", tok=tok
    )
    return policy, rm.folder, [p["prompt"] for p in pairs], w


def test_ppo_under_accelerate_launch_with_two_cpu_processes(policy_and_rm, tmp_path, monkeypatch):
    from helpers.core.launch import launch_command
    from helpers.tulu.ppo import PPOSettings
    from helpers.tulu.ppo_train import train_ppo
    from helpers.tulu.trainers import Stage

    policy, rm, prompts, world = policy_and_rm
    cfg = tmp_path / "cpu2.yaml"
    cfg.write_text(CPU2)
    opts = TrainOptions(launcher=f"accelerate-{cfg}")
    assert opts.processes() == 2
    cmd = launch_command(tmp_path / "job.json", opts, "helpers.tulu.ppo_launch")
    assert cmd[1:3] == ["-m", "accelerate.commands.launch"] and cmd[-2:] == [
        "helpers.tulu.ppo_launch",
        str(tmp_path / "job.json"),
    ]
    stage = Stage(steps=3, learning_rate=1e-4, batch_size=2, save_steps=1, eval_every=1)
    settings = PPOSettings(max_new_tokens=6)
    out = tmp_path / "ppo"
    monkeypatch.setenv("HELPERS_PPO_KILL_AT_STEP", "1")  # every process ends (like a SIGKILL) right after checkpoint 1
    with pytest.raises(RuntimeError, match="accelerate launch of PPO"):
        train_ppo(policy, rm, prompts, out, stage, settings, opts=opts, curve=world.curve_spec())
    work = next(tmp_path.glob(".ppo.work-*"))
    assert (work / "last.pt").is_file() and not out.exists()
    monkeypatch.delenv("HELPERS_PPO_KILL_AT_STEP")
    res = train_ppo(policy, rm, prompts, out, stage, settings, opts=opts, curve=world.curve_spec())
    result = json.loads((out / "train_result.json").read_text())
    assert result["processes"] == 2 and result["resumed_from"] == 1 and result["global_step"] == 3
    assert json.loads((out / "train_config.json").read_text())["processes"] == 2
    steps = [h["step"] for h in res.history if "step" in h]
    assert steps == [0, 1, 2, 3] and {"resumed_from": 1} in res.history
    last = res.history[-1]
    assert all(k in last for k in ("reward", "kl", "pg_loss", "vf_loss", "clipfrac", "eval/average"))
    assert (out / "model.safetensors").is_file() and json.loads((out / "history.json").read_text()) == res.history
    assert not list(tmp_path.glob(".ppo.work-*"))  # the work folder goes once the model is final
    assert train_ppo(policy, rm, prompts, out, stage, settings, opts=opts).cached
