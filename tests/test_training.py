"""Training stages (helpers.core.training): checkpoints and resume after a real SIGKILL, keys that never
resume a stale checkpoint, LoRA through peft, report_to / launcher checks before compute, and the
accelerate launch path on CPU. Every model is a tiny random Llama built from a config (no download)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from helpers.core import launch as L
from helpers.core import training as T
from helpers.core.params import ParamsError
from helpers.core.precheck import precheck

ROOT = Path(__file__).resolve().parents[1]
SFT_ROWS = [
    {
        "messages": [
            {"role": "user", "content": f"what is {i} + {i}?"},
            {"role": "assistant", "content": f"{i} + {i} = {2 * i}."},
        ]
    }
    for i in range(8)
]
PREF_ROWS = [
    {
        "prompt": [{"role": "user", "content": f"what is {i} + {i}?"}],
        "chosen": [{"role": "assistant", "content": str(2 * i)}],
        "rejected": [{"role": "assistant", "content": str(2 * i + 1)}],
    }
    for i in range(8)
]
CFG = {"max_steps": 4, "per_device_train_batch_size": 2, "learning_rate": 1e-3, "max_length": 64, "seed": 0}


def _missing_tracker() -> str | None:
    return next((r for r in T.REPORTERS[1:] if importlib.util.find_spec(r) is None), None)


# ------------------------------------------------------------------------------------ checks before compute
def test_bad_options_fail_with_one_line_naming_the_param():
    with pytest.raises(T.TrainingError, match="report_to='slack'"):
        T.TrainOptions(report_to="slack").check()
    with pytest.raises(T.TrainingError, match="save_steps=-1"):
        T.TrainOptions(save_steps=-1).check()
    with pytest.raises(T.TrainingError, match="train_launcher='torchrun'"):
        T.TrainOptions(launcher="torchrun").check()
    with pytest.raises(T.TrainingError, match="no accelerate config"):
        T.TrainOptions(launcher="accelerate-nosuch").check()
    T.TrainOptions(save_steps=5, lora_r=8, launcher="accelerate-cpu").check()  # peft is a requirement


def test_uninstalled_tracker_is_stopped_by_the_runner_precheck():
    tracker = _missing_tracker()
    if tracker is None:
        pytest.skip("every tracker is installed here")
    with pytest.raises(T.TrainingError, match=f"package '{tracker}' is not installed"):
        T.TrainOptions(report_to=tracker).check()
    with pytest.raises(ParamsError, match=f"report_to='{tracker}'"):
        precheck({"report_to": tracker, "save_steps": 0, "lora_r": 0, "train_launcher": "local"})
    precheck({"report_to": "none", "save_steps": 0, "lora_r": 0, "train_launcher": "local"})  # defaults pass


def test_runner_cli_rejects_uninstalled_tracker_before_the_kernel_starts():
    tracker = _missing_tracker()
    if tracker is None:
        pytest.skip("every tracker is installed here")
    proc = subprocess.run(
        [sys.executable, "-m", "helpers.run", "05_cdr", "-p", f"report_to={tracker}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "not installed" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_shipped_accelerate_configs_load_with_accelerate():
    from accelerate.commands.config.config_args import load_config_from_file

    assert {"local", "accelerate-ddp", "accelerate-zero3", "accelerate-cpu"} <= set(T.launchers())
    ddp = load_config_from_file(str(T.accelerate_config("accelerate-ddp")))
    assert ddp.distributed_type == "MULTI_GPU" and ddp.mixed_precision == "bf16" and ddp.num_processes == 8
    # ZeRO-3 is validated, not run: DeepSpeed needs CUDA and does not install here
    z3 = load_config_from_file(str(T.accelerate_config("accelerate-zero3")))
    assert z3.distributed_type == "DEEPSPEED"
    assert z3.deepspeed_config == {
        "deepspeed_multinode_launcher": "standard",
        "offload_optimizer_device": "none",
        "offload_param_device": "none",
        "zero3_init_flag": True,
        "zero3_save_16bit_model": True,
        "zero_stage": 3,
    }
    cpu = load_config_from_file(str(T.accelerate_config("accelerate-cpu")))
    assert cpu.use_cpu and cpu.num_processes == 1
    if importlib.util.find_spec("deepspeed") is None:
        with pytest.raises(T.TrainingError, match="needs the `deepspeed` package"):
            T.TrainOptions(launcher="accelerate-zero3").check()


def test_launch_command_and_gpu_count(monkeypatch):
    cmd = L.launch_command("/w/job.json", T.TrainOptions(launcher="accelerate-cpu"))
    assert cmd[1:] == [
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(ROOT / "configs/accelerate/cpu.yaml"),
        "-m",
        "helpers.core.train_job",
        "/w/job.json",
    ]
    monkeypatch.setattr(T, "_gpu_count", lambda: 2)  # a 2-GPU node runs the 8-process DDP config on 2 GPUs
    ddp = T.TrainOptions(launcher="accelerate-ddp")
    assert ddp.processes() == 2 and L.launch_command("j", ddp)[5:7] == ["--num_processes", "2"]
    assert ddp.key() == {"lora_r": 0, "processes": 2}


def test_key_changes_with_what_changes_the_weights_only(tiny_model_dir):
    base = T.stage_key("sft", tiny_model_dir, SFT_ROWS, T.TrainOptions(), CFG)
    same = T.stage_key("sft", tiny_model_dir, SFT_ROWS, T.TrainOptions(save_steps=7, save_total_limit=5), CFG)
    assert base == same  # checkpoint frequency and logging do not change the weights
    for other in (
        T.stage_key("sft", tiny_model_dir, SFT_ROWS, T.TrainOptions(lora_r=4), CFG),
        T.stage_key("sft", tiny_model_dir, SFT_ROWS[:-1], T.TrainOptions(), CFG),
        T.stage_key("sft", tiny_model_dir, SFT_ROWS, T.TrainOptions(), {**CFG, "learning_rate": 2e-3}),
        T.stage_key("dpo", tiny_model_dir, SFT_ROWS, T.TrainOptions(), CFG),
    ):
        assert other != base and T.stable_id(other) != T.stable_id(base)


def test_last_checkpoint_skips_one_cut_by_a_kill(tmp_path):
    (tmp_path / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    (tmp_path / "checkpoints" / "checkpoint-2" / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoints" / "checkpoint-10").mkdir()  # no trainer_state.json: the save was killed
    assert T.last_checkpoint(tmp_path) == str(tmp_path / "checkpoints" / "checkpoint-2")
    assert T.last_checkpoint(tmp_path / "none") is None


# ------------------------------------------------------------------------------------ real training
DRIVER = textwrap.dedent("""
    import json, sys, time
    from helpers.core import launch as L, train_job, training as T
    model, out, lr, sleep = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    rows = [{"messages": [{"role": "user", "content": f"what is {i} + {i}?"},
                          {"role": "assistant", "content": f"{i} + {i} = {2 * i}."}]} for i in range(8)]
    from transformers import TrainerCallback
    steps_here = []
    class Count(TrainerCallback):  # counts the optimizer steps this process runs; sleep: lets the test kill it mid-run
        def on_step_end(self, args, state, control, **kw):
            steps_here.append(state.global_step)
            time.sleep(sleep)
    build = train_job.build_trainer
    def counting_build(spec, dataset=None):
        trainer, tok = build(spec, dataset)
        trainer.add_callback(Count())
        return trainer, tok
    train_job.build_trainer = counting_build
    cfg = {"max_steps": 8, "per_device_train_batch_size": 2, "learning_rate": lr, "max_length": 64, "seed": 0,
           "lr_scheduler_type": "constant"}
    result = L.run_training("sft", model, rows, out, T.TrainOptions(save_steps=2), cfg)
    print("RESULT", json.dumps({"resumed_from": result["resumed_from"], "global_step": result["global_step"],
                                "steps_here": steps_here}))
""")


def _driver(tmp_path, model, out, lr, sleep):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.Popen(
        [sys.executable, str(script), model, str(out), str(lr), str(sleep)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(proc) -> dict:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]
    return json.loads(out.rsplit("RESULT ", 1)[1].splitlines()[0])


@pytest.mark.slow
def test_sigkill_then_resume_from_the_last_checkpoint_and_a_changed_param_starts_fresh(tmp_path, tiny_model_dir):
    out = tmp_path / "sft"
    proc = _driver(tmp_path, tiny_model_dir, out, 1e-3, sleep=1.5)
    deadline = time.time() + 240
    work = None
    while time.time() < deadline and proc.poll() is None:
        works = list(tmp_path.glob(".sft.work-*"))
        if works and T.last_checkpoint(works[0]):
            work = works[0]
            break
        time.sleep(0.2)
    assert work is not None, proc.communicate()[0][-3000:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = Path(T.last_checkpoint(work)).name
    step = int(killed_at.split("-")[1])
    assert 2 <= step < 8 and not (out / "train_config.json").exists()

    # a changed learning rate is another stage: it starts from step 0 and leaves the killed one alone
    fresh = _finish(_driver(tmp_path, tiny_model_dir, out, 2e-3, sleep=0))
    assert fresh == {"resumed_from": None, "global_step": 8, "steps_here": list(range(1, 9))}
    assert work.is_dir() and T.last_checkpoint(work)

    # the killed configuration resumes from its checkpoint and finishes the remaining steps only
    resumed = _finish(_driver(tmp_path, tiny_model_dir, out, 1e-3, sleep=0))
    assert resumed == {"resumed_from": killed_at, "global_step": 8, "steps_here": list(range(step + 1, 9))}
    result = json.loads((out / "train_result.json").read_text())
    logged = [h["step"] for h in result["history"] if "loss" in h]
    assert logged == list(range(1, 9)), (
        logged
    )  # the loss curve spans the kill: steps before it come from the checkpoint
    assert not work.exists()  # the work folder goes once the model is in place
    assert json.loads((out / "train_config.json").read_text())["config"]["learning_rate"] == 1e-3


@pytest.mark.slow
def test_lora_trains_adapters_and_saves_a_merged_model(tmp_path, tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    result = L.run_training(
        "sft",
        tiny_model_dir,
        SFT_ROWS,
        tmp_path / "lora",
        T.TrainOptions(lora_r=4, lora_alpha=8),
        {**CFG, "learning_rate": 5e-2},
    )
    assert result["global_step"] == 4 and result["lora_r"] == 4
    assert not (tmp_path / "lora" / "adapter_config.json").exists()  # merged: a normal model folder
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).state_dict()
    tuned = AutoModelForCausalLM.from_pretrained(tmp_path / "lora", dtype=torch.float32).state_dict()
    assert set(base) == set(tuned)
    # LoRA touched the linear layers only: the embedding is the base model's, an attention matrix moved
    assert torch.equal(base["model.embed_tokens.weight"], tuned["model.embed_tokens.weight"])
    assert not torch.allclose(
        base["model.layers.0.self_attn.q_proj.weight"], tuned["model.layers.0.self_attn.q_proj.weight"]
    )
    # reused when nothing changed; retrained (full fine-tuning) when lora_r changes
    assert (
        L.run_training(
            "sft",
            tiny_model_dir,
            SFT_ROWS,
            tmp_path / "lora",
            T.TrainOptions(lora_r=4, lora_alpha=8),
            {**CFG, "learning_rate": 5e-2},
        )
        == result
    )
    full = L.run_training(
        "sft", tiny_model_dir, SFT_ROWS, tmp_path / "lora", T.TrainOptions(), {**CFG, "learning_rate": 5e-2}
    )
    assert full["lora_r"] == 0
    tuned = AutoModelForCausalLM.from_pretrained(tmp_path / "lora", dtype=torch.float32).state_dict()
    assert not torch.equal(base["model.embed_tokens.weight"], tuned["model.embed_tokens.weight"])


@pytest.mark.slow
def test_accelerate_launch_runs_the_job_in_a_subprocess(tmp_path, tiny_model_dir, monkeypatch):
    from helpers.core import train_job

    def not_here(*a, **k):
        raise AssertionError("the accelerate launcher must not train in this process")

    monkeypatch.setattr(train_job, "run", not_here)
    opts = T.TrainOptions(save_steps=2, launcher="accelerate-cpu")
    result = L.run_training("dpo", tiny_model_dir, PREF_ROWS, tmp_path / "dpo", opts, {**CFG, "beta": 0.1})
    assert result["launcher"] == "accelerate-cpu" and result["processes"] == 1 and result["global_step"] == 4
    assert [h["step"] for h in result["history"] if "loss" in h] == [1, 2, 3, 4]
    assert (tmp_path / "dpo" / "model.safetensors").is_file() and not list(tmp_path.glob(".dpo.work-*"))
    key = json.loads((tmp_path / "dpo" / "train_config.json").read_text())
    assert key["options"] == {"lora_r": 0, "processes": 1}
