"""The dev split hyperparameters are chosen on (disjoint from the evaluation, SFT, preference and policy prompts), the
selection routine (resumable, a tie keeps the smaller rate), the report the notebook shows, and the shipped tuning file."""

from __future__ import annotations

from dataclasses import replace

import pytest

from helpers.core.params import PARAMS_DIR, load_params_file
from helpers.core.store import JsonlStore
from helpers.tulu import tuning
from helpers.tulu.base_world import TrainSettings
from helpers.tulu.grid import Levels, ablation_rows
from helpers.tulu.quick_world import QuickSettings, QuickWorld
from helpers.tulu.tasks import CATEGORIES, World, split_of


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return QuickWorld(QuickSettings(), TrainSettings(), tmp_path_factory.mktemp("tq"))


def test_dev_prompts_are_disjoint_from_evaluation_sft_preference_and_policy_prompts(quick):
    dev, ev = quick.dev_tasks, quick.eval_tasks
    assert {t.category for t in dev} == set(CATEGORIES) and all(split_of(t) == "dev" for t in dev)
    assert len(dev) >= 100 and all(split_of(t) == "eval" for t in ev)
    used = {r["prompt"] for r in quick.sft_rows()}
    for seed in (0, 1, 2, 100, 101):
        used |= {t.prompt for t in quick.pref_tasks(seed)}
        for which in ("none", "in-domain", "out-of-domain"):
            used |= set(quick.policy_prompts(which, seed))
    dev_ids, dev_text = {t.id for t in dev}, {t.prompt for t in dev}
    assert not dev_ids & {t.id for t in ev} and not dev_text & {t.prompt for t in ev}
    assert not dev_text & used and not {t.prompt for t in ev} & used
    assert {t.prompt for t in quick.curve_tasks} <= dev_text  # the validation curves decode dev prompts too


def test_every_split_of_every_enumerable_space_is_a_hash_partition():
    w = World(seed=0)
    for category in ("instruction", "safety", "truthfulness"):
        pool = w._pools[category]
        shares = {s: sum(split_of(t) == s for t in pool) / len(pool) for s in ("train", "dev", "eval")}
        assert shares["train"] > 0.3 and shares["dev"] > 0.08 and shares["eval"] > 0.2, (category, shares)
    facts = {(t.spec["entity"], t.spec["attribute"]): [] for t in w._pools["truthfulness"]}
    for t in w._pools["truthfulness"]:
        facts[(t.spec["entity"], t.spec["attribute"])].append(split_of(t))
    assert all(sorted(v) == ["dev", "eval", "train"] for v in facts.values())  # each fact: one phrasing per split


class FakeWorld:
    """Dev accuracy = a bump at each algorithm's best rate (DPO: 2e-4; online: 3e-4)."""

    def __init__(self, tmp_path):
        self.root, self.train, self.sft_dir = tmp_path, TrainSettings(), tmp_path / "sft"
        self.dev_tasks = [None] * 10
        self.trained = []

    def world_fingerprint(self):
        return {"w": 1}

    def train_row(self, row, seed, tag=""):
        t = self.train
        lr = t.dpo.learning_rate if row.algorithm == "dpo" else t.online_lrs.get(row.algorithm, t.online.learning_rate)
        self.trained.append((row.algorithm, lr, seed))
        folder = self.root / f"{row.slug}{tag}-s{seed}"
        folder.mkdir(exist_ok=True)
        return type("R", (), {"folder": folder, "history": [], "cached": False})()

    def evaluate(self, folder, split="eval"):
        assert split == "dev"
        if folder == self.sft_dir:
            return [{"category": "reasoning", "correct": False}]
        alg, lr, seed = self.trained[-1]
        best = 2e-4 if alg == "dpo" else 3e-4
        return [{"category": "reasoning", "correct": abs(lr - best) < 1e-12 or (lr == 1e-3 and seed == 0)}]


def test_tune_picks_the_best_dev_rate_and_resumes(tmp_path):
    levels = Levels(
        sources=["on-policy"], algorithms=["dpo", "ppo", "grpo"], rm_inits=["config:rm-s"], prompt_sets=["none"]
    )
    rows = ablation_rows(levels)
    w = FakeWorld(tmp_path)
    store = JsonlStore(tmp_path / "t.jsonl")
    grid = {"dpo": [1e-4, 2e-4], "ppo": [1e-4, 3e-4, 1e-3], "grpo": [1e-4, 1e-3]}
    out = tuning.tune(w, rows, grid, [0, 1], store, progress=False)
    assert out["chosen"] == {"dpo_learning_rate": 2e-4, "ppo_learning_rate": 3e-4, "grpo_learning_rate": 1e-3}
    assert len(w.trained) == 14 and w.train == TrainSettings()  # the world's own settings are restored
    assert not any(p.name.startswith(("dpo-", "ppo-", "grpo-")) for p in tmp_path.iterdir())  # models removed
    assert out["sft_dev"]["average"] == 0.0 and out["n_dev_prompts"] == 10
    again = tuning.tune(w, rows, {**grid, "dpo": [1e-4, 2e-4, 5e-4]}, [0, 1], store, progress=False)
    assert w.trained[14:] == [("dpo", 5e-4, 0), ("dpo", 5e-4, 1)]  # only the new rate trains
    assert again["chosen"] == out["chosen"]


def test_a_tie_keeps_the_smaller_rate():
    runs = [
        {"algorithm": "dpo", "learning_rate": lr, "seed": 0, "dev": {"average": 0.5}, "seconds": 1}
        for lr in (1e-3, 1e-4)
    ]
    assert tuning.summarise(runs, {}, {"dpo": [1e-3, 1e-4]}, [0], 4)["chosen"] == {"dpo_learning_rate": 1e-4}


def test_learning_rates_reach_the_stages():
    t = tuning.with_learning_rate(tuning.with_learning_rate(TrainSettings(), "dpo", 3e-3), "rloo", 7e-4)
    assert t.dpo.learning_rate == 3e-3 and t.online_lrs == {"rloo": 7e-4}
    assert tuning.stage_key(t, "rloo") == tuning.stage_key(
        replace(t, online_lrs={}), "rloo"
    )  # the chosen rate is not in the key


def test_the_shipped_tuning_file_chose_quick_yamls_rates_on_the_dev_split():
    tuned = tuning.load_tuning()
    assert tuned is not None and tuned["split"] == "dev" and tuned["profile"] == "params/06_tulu/quick.yaml"
    assert set(tuned["chosen"]) == set(tuning.PARAM_OF.values()) and not set(tuned["seeds"]) & {0, 1, 2}
    quick = load_params_file(PARAMS_DIR / "06_tulu" / "quick.yaml")
    assert {k: quick[k] for k in tuned["chosen"]} == tuned["chosen"]
    rows, note = tuning.tuning_report(tuned, quick)
    assert "dev split" in note and "departs" not in note and sum(r["chosen"] for r in rows) == 4
    _, other = tuning.tuning_report(tuned, {**quick, "rloo_learning_rate": 0.0, "online_learning_rate": 1e-4})
    assert "rloo_learning_rate = 0.0001 (dev chose 0.0003)" in other
    assert tuning.tuning_report(None, quick)[0] == []
    for r in tuned["runs"]:
        assert set(r["dev"]) == {*CATEGORIES, "average"} and r["dev"]["average"] == pytest.approx(
            sum(r["dev"][c] for c in CATEGORIES) / 4
        )
