"""notebooks/06_tulu.ipynb end to end: the quick profile with tiny params (cached rows, a new row trains alone), the
middle profile on the embedded model, and killed training runs (TRL DPO and our PPO) that resume from their last
checkpoint. The full profile is rehearsed by tests/test_rehearsal.py with every other full profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers.core.params import PARAMS_DIR
from helpers.core.run import run_notebook
from helpers.core.store import read_json

pytestmark = pytest.mark.slow

TINY = [
    "sft_examples=400",
    "sft_steps=30",
    "pref_prompts=8",
    "samples_per_prompt=2",
    "extra_prompts=8",
    "n_eval=4",
    "dpo_steps=2",
    "rm_steps=2",
    "online_steps=2",
    "online_batch_size=4",
    "minibatch_size=2",
    "n_heldout=4",
    "num_generations=2",
    "eval_every=1",
    "save_steps=1",
    "bootstrap_rounds=100",
]


def _results(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "data" / "results.jsonl").read_text().splitlines()]


def test_06_tulu_quick_smoke(tmp_path):
    quick = str(PARAMS_DIR / "06_tulu" / "quick.yaml")
    run_dir = run_notebook("06_tulu", [quick], TINY, outputs=tmp_path, progress=False)
    m = read_json(run_dir / "metrics.json")
    assert (m["signal"] == "untestable" or m["signal"].startswith("reproduces ")) and m["finding"]
    assert (
        sum(line.count("untestable here") > 0 for line in m["findings"]) >= 1
    )  # 16 prompts resolve no 1.2-point effect
    assert m["ppo_updates_per_rollout"] == 2 and 0 <= m["ppo_clipfrac"] <= 1 and set(m["kl_from_sft"]) >= {"dpo", "ppo"}
    assert set(m["aspect_order"]) == {"data", "algorithm", "reward model", "prompts"}
    for key in m["headline"]:
        if f"{key}_ci" in m:
            lo, hi = m[f"{key}_ci"]
            assert lo <= m[key] <= hi
    assert "NaN" not in (run_dir / "metrics.json").read_text()
    html = (run_dir / "report.html").read_text()
    assert "Traceback" not in html and "Finding:" in html
    for fig in ("deltas", "aspect_ranking", "training_curves"):
        assert (run_dir / "figures" / f"{fig}.png").exists()
    results = _results(run_dir)
    seeds = yaml.safe_load(Path(quick).read_text())["seeds"]  # the quick profile's training seeds
    assert len(results) == 8 * len(seeds) and {r["seed"] for r in results} == set(seeds)
    deltas = (run_dir / "data" / "deltas.csv").read_text()
    assert "PPO, extra prompts: in-domain" in deltas and "RLOO" in deltas and "GRPO" in deltas
    ppo = next(r for r in results if r["slug"].startswith("ppo"))
    assert any("kl" in h and "reward" in h for h in ppo["history"]) and any("eval/average" in h for h in ppo["history"])
    rm = (run_dir / "data" / "reward_models.csv").read_text()
    assert "sft on" in rm and "sft-rm-s on" in rm and "held_out_accuracy" in rm
    # the same command again trains nothing: every (row, seed) comes back from data/results.jsonl
    before = (run_dir / "data" / "results.jsonl").read_text()
    run_notebook("06_tulu", [quick], TINY, outputs=tmp_path, progress=False)
    assert (run_dir / "data" / "results.jsonl").read_text() == before
    # a new row (10% label noise) is the only one trained
    run_notebook("06_tulu", [quick], TINY + ["label_noise=[0.2, 0.1]"], outputs=tmp_path, progress=False)
    new = _results(run_dir)[len(results) :]
    assert len(new) == len(seeds) and all(r["row"]["data"]["noise"] == 0.1 for r in new)  # one per seed


def test_06_tulu_middle_profile_on_the_embedded_model(tmp_path):
    """cpu-embedded.yaml, cut further: the embedded SmolLM2 through TRL DPO, RewardTrainer and one step of our PPO."""
    mid = str(PARAMS_DIR / "06_tulu" / "cpu-embedded.yaml")
    cuts = [
        "labellers=[fine]",
        "dpo_steps=1",
        "rm_steps=1",
        "n_eval=1",
        "eval_max_new_tokens=8",
        "n_heldout=4",
        "max_new_tokens=8",
        "max_length=128",
    ]
    run_dir = run_notebook("06_tulu", [mid], cuts, outputs=tmp_path, progress=False)
    assert read_json(run_dir / "run.json")["status"] == "ok"
    m = read_json(run_dir / "metrics.json")
    assert m["world"] == "hub" and m["policy"] == "smollm2-135m-instruct" and m["n_rows"] == 5
    folders = sorted(p.name for p in (run_dir / "models").iterdir() if (p / "config.json").exists())
    assert any(f.startswith("dpo-") for f in folders) and any(f.startswith("ppo-") for f in folders)
    assert any(f.startswith("rm-") for f in folders)
    assert "sft on ultrafeedback" in (run_dir / "data" / "reward_models.csv").read_text()


@pytest.fixture()
def tiny_policy_and_rm(tmp_path):
    import random

    from helpers.tulu import preferences as pf
    from helpers.tulu.base_world import TrainSettings
    from helpers.tulu.quick_world import QuickSettings, QuickWorld
    from helpers.tulu.toy_model import build_policy, word_tokenizer
    from helpers.tulu.trainers import Stage, train_reward

    w = QuickWorld(QuickSettings(pref_prompts=8), TrainSettings(), tmp_path)
    tok = word_tokenizer(w.world.vocabulary())
    policy = tmp_path / "policy"
    build_policy("config:llama-xs", tok, seed=0).save_pretrained(policy)
    tok.save_pretrained(policy)
    pairs = pf.off_policy_pairs(w.world, w.pref_tasks(0), random.Random(0))
    rm = train_reward(
        policy, pairs, tmp_path / "rm", Stage(steps=2, learning_rate=1e-3, batch_size=4), preset="config:rm-s", tok=tok
    )
    return policy, rm.folder, pairs, w


class Kill(RuntimeError):
    pass


def _killer(at_step: list[int]):
    """An eval_fn that raises on its ``at_step[0]``-th call (a kill mid-run), then behaves."""
    calls = {"n": 0}

    def fn(model):
        calls["n"] += 1
        if at_step and calls["n"] == at_step[0]:
            raise Kill("killed")
        return {"average": 0.0}

    return fn


def test_a_killed_dpo_run_resumes_from_its_last_checkpoint(tiny_policy_and_rm, tmp_path):
    from helpers.tulu.trainers import Stage, train_dpo

    policy, _, pairs, _ = tiny_policy_and_rm
    stage = Stage(steps=4, learning_rate=1e-4, batch_size=4, save_steps=2, eval_every=1)
    with pytest.raises(Kill):  # calls: step 0 (train begin), 1, 2, 3 -> killed at step 3, after checkpoint-2
        train_dpo(policy, pairs, tmp_path / "dpo", stage, eval_fn=_killer([4]))
    assert not (tmp_path / "dpo").exists() and list(tmp_path.glob(".dpo.work-*/checkpoints/checkpoint-2"))
    res = train_dpo(policy, pairs, tmp_path / "dpo", stage, eval_fn=_killer([]))
    assert res.history[0] == {"resumed_from": "checkpoint-2"} and not res.cached
    assert max(h.get("step", 0) for h in res.history) == 4 and (tmp_path / "dpo" / "history.json").exists()
    assert not list(tmp_path.glob(".dpo.work-*"))  # the work folder goes once the model is final
    assert train_dpo(policy, pairs, tmp_path / "dpo", stage).cached


def test_a_killed_ppo_run_resumes_from_its_last_checkpoint(tiny_policy_and_rm, tmp_path):
    from helpers.tulu.ppo import PPOSettings
    from helpers.tulu.ppo_train import train_ppo
    from helpers.tulu.trainers import Stage

    policy, rm, pairs, _ = tiny_policy_and_rm
    prompts = [p["prompt"] for p in pairs]
    stage = Stage(steps=4, learning_rate=1e-4, batch_size=4, save_steps=2, eval_every=1)
    settings = PPOSettings(max_new_tokens=6)
    with pytest.raises(Kill):
        train_ppo(
            policy, rm, prompts, tmp_path / "ppo", stage, settings, eval_fn=_killer([4])
        )  # step 0, 1, 2, killed at 3
    assert list(tmp_path.glob(".ppo.work-*/last.pt"))
    res = train_ppo(policy, rm, prompts, tmp_path / "ppo", stage, settings, eval_fn=_killer([]))
    steps = [h["step"] for h in res.history if "step" in h]
    assert {"resumed_from": 2} in res.history and steps == [0, 1, 2, 3, 4]
    assert all(k in res.history[-1] for k in ("reward", "kl", "pg_loss", "vf_loss", "clipfrac", "eval/average"))
    assert train_ppo(policy, rm, prompts, tmp_path / "ppo", stage, settings).cached
