"""helpers.tulu (issue #24): the minimum-detectable-effect gate, real PPO (several minibatch updates per rollout, so
clipping acts), reward models initialised from the SFT policy, extra prompts that add rollouts, fine vs overall
labels on the same prompts, and an aspect's effect over levels of one kind."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from helpers.tulu import tables
from helpers.tulu.grid import DataSpec, GridResult, Levels, Row, ablation_rows


# ----------------------------------------------------------------------------------------------- the gate
def test_minimum_detectable_effect_is_2_8_standard_errors():
    se = 0.01
    assert tables.minimum_detectable_effect(-1.96 * se, 1.96 * se) == pytest.approx(2.8 * se)
    wide, narrow = tables.gate(-0.03, 0.03, "ppo_vs_dpo_average"), tables.gate(0.0, 0.008, "ppo_vs_dpo_average")
    assert not wide["testable"] and "untestable here" in wide["reason"] and "4.3 points" in wide["reason"]
    assert "1.2 points" in wide["reason"]
    assert narrow["testable"] and narrow["reason"] is None and narrow["mde"] < narrow["paper_effect"]


def _results(rows, n_prompts, gain, seeds=(0, 1)):
    """SFT right on 40% of prompts; each row gains ``gain[slug]`` of the rest (the same prompts for every seed)."""
    rng = np.random.default_rng(0)
    ids = [(c, i) for c in ("reasoning", "safety") for i in range(n_prompts)]
    base = {x: bool(rng.random() < 0.4) for x in ids}
    sft = [{"id": f"{c}{i}", "category": c, "correct": base[(c, i)]} for c, i in ids]
    res = {}
    for r in rows:
        draw = np.random.default_rng(abs(hash(r.slug)) % 2**32)
        flips = {x: draw.random() < gain.get(r.slug, 0.0) for x in ids}
        for s in seeds:
            recs = [{"id": f"{c}{i}", "category": c, "correct": base[(c, i)] or flips[(c, i)]} for c, i in ids]
            res[(r.slug, s)] = GridResult(r, s, recs)
    return sft, res


def _findings(n_prompts, gain_ppo):
    lv = Levels(sources=["on-policy"], algorithms=["dpo", "ppo"], rm_inits=["sft"], prompt_sets=["none"])
    rows = ablation_rows(lv)
    ppo = next(r for r in rows if r.algorithm == "ppo")
    sft, res = _results(rows, n_prompts, {ppo.slug: gain_ppo})
    cats = ["reasoning", "safety"]
    ranking = tables.aspect_ranking(rows, res, sft, cats, [0, 1], rounds=200)
    return tables.paper_findings(rows, res, sft, cats, [0, 1], ranking, rounds=200), ranking


def test_a_run_too_small_for_the_papers_effect_says_untestable_with_the_numbers():
    checked, ranking = _findings(n_prompts=20, gain_ppo=0.5)  # a large effect, but 40 prompts cannot resolve 1.2 points
    ppo = next(c for c in checked if c["finding"].startswith("PPO beats DPO"))
    assert ppo["status"].startswith("untestable here") and "reproduced" in ppo["status_ungated"]
    assert ppo["mde"] > ppo["paper_effect"] == 0.012 and "points" in ppo["status"]
    assert all(not r["testable"] and r["mde"] > 0 for r in ranking)
    assert tables.signal(checked) == "untestable"


def test_a_run_that_resolves_the_papers_effect_gets_a_verdict():
    checked, _ = _findings(n_prompts=2000, gain_ppo=0.05)  # 3 points on 4,000 prompts: MDE ~0.8
    ppo = next(c for c in checked if c["finding"].startswith("PPO beats DPO"))
    assert ppo["testable"] and "reproduced" in ppo["status"] and ppo["mde"] < 0.012 and "status_ungated" not in ppo
    assert tables.signal(checked).startswith("reproduces ")


def test_the_finding_sentence_carries_the_gate_numbers():
    from helpers.tulu import steps

    checked, ranking = _findings(n_prompts=20, gain_ppo=0.5)
    out = steps.findings({"world": "quick", "n_eval_prompts": 40, "seeds": [0, 1]}, checked=checked, ranking=ranking)
    assert out["signal"] == "untestable" and out["finding"].startswith("Untestable here: with 40 evaluation prompts")
    assert "> 1.2" in out["finding"]


def test_an_aspects_effect_compares_levels_of_one_kind():
    lv = Levels(
        sources=["on-policy", "off-policy"],
        labellers=["fine", "overall"],
        noise=[0.2, 0.4],
        algorithms=["dpo"],
        rm_inits=[],
    )
    rows = ablation_rows(lv)
    assert {r.kind for r in rows if r.aspect == "data" and not r.reference} == {"source", "labeller", "noise"}
    assert [r.label for r in rows if r.aspect == "data" and tables.ranked(r)] == [
        "DPO on on-policy, 20% noise",
        "DPO on off-policy, 20% noise",
    ]


# ----------------------------------------------------------------------------------------------- real PPO
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from helpers.tulu.tasks import World
    from helpers.tulu.toy_model import build_policy, build_reward_model, word_tokenizer

    root = tmp_path_factory.mktemp("tiny")
    world = World(seed=0)
    tok = word_tokenizer(world.vocabulary())
    build_policy("config:rm-s", tok, seed=0).save_pretrained(root / "policy")
    build_reward_model("config:rm-s", tok, seed=0).save_pretrained(root / "rm")
    for name in ("policy", "rm"):
        tok.save_pretrained(root / name)
    prompts = [t.prompt for c in ("reasoning", "instruction") for t in world.tasks(c, 4, seed=0)]
    return root, prompts


def _ppo_step(tiny, minibatch_size, lr=3e-2):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    from helpers.tulu.evaluate import generate
    from helpers.tulu.ppo import PPOSettings, ValueModel
    from helpers.tulu.ppo_train import Single, ppo_step, reward_scorer

    root, prompts = tiny
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(root / "policy")
    model, ref = (AutoModelForCausalLM.from_pretrained(root / "policy") for _ in range(2))
    value = ValueModel(AutoModelForSequenceClassification.from_pretrained(root / "rm"))
    opt = torch.optim.AdamW(list(model.parameters()) + list(value.parameters()), lr=lr)
    s = PPOSettings(max_new_tokens=6, minibatch_size=minibatch_size)
    return ppo_step(
        Single("cpu"), model, ref, value, reward_scorer(root / "rm", device="cpu"), tok, opt, prompts, s, generate
    )


def test_several_minibatch_updates_per_rollout_make_clipping_act(tiny):
    out = _ppo_step(tiny, minibatch_size=2)  # 8 prompts: 4 updates on one rollout
    assert out["updates"] == 4 and len(out["clipfrac_per_update"]) == 4 == len(out["policy_kl_per_update"])
    assert out["clipfrac_per_update"][0] == 0 and out["policy_kl_per_update"][0] == pytest.approx(0, abs=1e-6)
    assert max(out["clipfrac_per_update"][1:]) > 0 and max(out["policy_kl_per_update"][1:]) > 0


def test_one_update_per_rollout_never_clips(tiny):
    out = _ppo_step(tiny, minibatch_size=0)
    assert out["updates"] == 1 and out["clipfrac"] == 0 and out["clipfrac_per_update"] == [0]


# ----------------------------------------------------------------------------------------------- the world
def test_reward_models_start_from_the_sft_policy(tiny, tmp_path):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    from helpers.tulu import preferences as pf
    from helpers.tulu.base_world import BaseWorld, TrainSettings
    from helpers.tulu.grid import RMSpec
    from helpers.tulu.tasks import World
    from helpers.tulu.trainers import Stage

    root, _ = tiny
    world = World(seed=0)
    tasks = [t for c in ("reasoning", "safety") for t in world.tasks(c, 4, seed=0)]
    pairs = pf.off_policy_pairs(world, tasks, random.Random(0))

    class W(BaseWorld):
        sft_dir = root / "policy"
        train = TrainSettings(rm=Stage(steps=1, learning_rate=1e-12, batch_size=4))

        def pairs(self, spec, seed):
            return pairs

    w = W()
    w.root = tmp_path
    assert w.reward_init("sft") == root / "policy"
    rm = AutoModelForSequenceClassification.from_pretrained(
        w.reward_model(RMSpec("sft", DataSpec("off-policy")), 0).folder
    )
    policy = AutoModelForCausalLM.from_pretrained(root / "policy")
    for a, b in (
        (rm.model.embed_tokens.weight, policy.model.embed_tokens.weight),
        (rm.model.layers[0].mlp.up_proj.weight, policy.model.layers[0].mlp.up_proj.weight),
    ):
        assert torch.allclose(a, b, atol=1e-6)  # the backbone is the policy's, only the score head is new


def test_extra_prompts_add_rollouts_instead_of_replacing_base_ones(tmp_path):
    from helpers.tulu.base_world import TrainSettings
    from helpers.tulu.quick_world import QuickSettings, QuickWorld
    from helpers.tulu.trainers import Stage

    w = QuickWorld(QuickSettings(pref_prompts=8, extra_prompts=16), TrainSettings(online=Stage(steps=10)), tmp_path)
    base, more = w.policy_prompts("none", 0), w.policy_prompts("in-domain", 0)
    assert more[: len(base)] == base and len(more) == len(base) + 16
    row = Row("prompts", "x", "ppo", DataSpec("on-policy"), prompts="none")
    assert w.online_steps(row, 0) == 10
    assert (
        w.online_steps(Row("prompts", "x", "ppo", DataSpec("on-policy"), prompts="in-domain"), 0) == 15
    )  # 10 x 48 / 32


def test_fine_and_overall_labels_cover_the_same_prompts(tmp_path, monkeypatch):
    from helpers.tulu.base_world import TrainSettings
    from helpers.tulu.quick_world import QuickSettings, QuickWorld

    w = QuickWorld(QuickSettings(pref_prompts=24), TrainSettings(), tmp_path)
    rng = random.Random(0)
    cands = {
        t.id: [w.world.gold(t), w.world.flawed(t, rng), w.world.gold(t) + " " + w.world.gold(t)]
        for t in w.pref_tasks(0)
    }
    monkeypatch.setattr(w, "candidates", lambda seed: cands)
    fine, overall = (w.pairs(DataSpec("on-policy", lab), 0) for lab in ("fine", "overall"))
    assert fine and sorted(p["task_id"] for p in fine) == sorted(p["task_id"] for p in overall)


def test_same_prompts_counts_a_prompt_drawn_twice_as_often_as_every_labeller_labelled_it():
    from helpers.tulu.quick_world import same_prompts

    out = same_prompts({"fine": [{"task_id": t} for t in "aabc"], "overall": [{"task_id": t} for t in "abd"]})
    assert [p["task_id"] for p in out["fine"]] == ["a", "b"] == [p["task_id"] for p in out["overall"]]


def test_a_zero_width_ci_has_no_resolution():
    g = tables.gate(0.0, 0.0, "ppo_vs_dpo_average")
    assert not g["testable"] and "zero width" in g["reason"]


def test_kl_summary_matches_within_a_factor_or_a_slack():
    from helpers.tulu.kl import kl_summary

    rows = lambda d, p: [{"algorithm": "dpo", "kl": d}, {"algorithm": "ppo", "kl": p}]  # noqa: E731
    assert kl_summary(rows(1.0, 1.8))["kl_matched"] and not kl_summary(rows(1.0, 3.0))["kl_matched"]
    assert kl_summary(rows(-0.01, 0.03))["kl_matched"] and kl_summary(rows(1.0, 3.0))["kl_ratio_ppo_dpo"] == 3.0


def test_ppo_vs_dpo_is_untestable_when_their_kl_from_sft_is_not_matched():
    from helpers.tulu.gate import PPO_VS_DPO, kl_gated
    from helpers.tulu.kl import kl_summary

    checked = [
        {"finding": PPO_VS_DPO, "status": "reproduced", "testable": True},
        {"finding": "other", "status": "reversed", "testable": True},
    ]
    rows = lambda d, p: [{"algorithm": "dpo", "kl": d}, {"algorithm": "ppo", "kl": p}]  # noqa: E731
    far = kl_gated(checked, kl_summary(rows(0.5, 2.0)))
    assert far[0]["status"].startswith("untestable here: PPO and DPO are not at matched KL")
    assert "PPO 2.00, DPO 0.50" in far[0]["status"] and far[0]["status_ungated"] == "reproduced"
    assert far[0]["testable"] is False and far[1] == checked[1] and tables.signal(far).endswith("1 untestable here")
    assert kl_gated(checked, kl_summary(rows(1.0, 1.5))) == checked  # matched: unchanged
    assert kl_gated(checked, {}) == checked  # no KL measured: unchanged
    already = [{**checked[0], "status": "untestable here: MDE", "testable": False}]
    assert kl_gated(already, kl_summary(rows(0.5, 2.0)))[0]["status"] == "untestable here: MDE"


def test_precheck_knows_sft_initialised_reward_models():
    from helpers.core.params import read_param_specs
    from helpers.tulu.config import check_params

    p = {k: s.default for k, s in read_param_specs("notebooks/06_tulu.ipynb").items()}
    assert p["reward_inits"] == ["sft", "sft:config:rm-s"] and p["minibatch_size"] > 0
    check_params(p)
    with pytest.raises(ValueError, match="reward_inits"):
        check_params({**p, "reward_inits": ["sft", "sft:config:nope"]})


def test_a_policy_is_at_zero_kl_from_itself_and_the_frontier_pairs_kl_with_score(tiny):
    import matplotlib

    matplotlib.use("Agg")

    from helpers.tulu import plots
    from helpers.tulu.kl import kl_score_points, sequence_kl

    root, prompts = tiny
    assert sequence_kl(root / "policy", root / "policy", prompts, max_new_tokens=4) == pytest.approx(0, abs=1e-5)
    row = Row("algorithm", "PPO", "ppo", DataSpec("on-policy"))
    sft = [{"id": "a", "category": "x", "correct": False}, {"id": "b", "category": "y", "correct": True}]
    res = {
        (row.slug, 0): GridResult(
            row, 0, [{"id": "a", "category": "x", "correct": True}, {"id": "b", "category": "y", "correct": True}]
        )
    }
    pts = kl_score_points([{"configuration": "PPO", "algorithm": "ppo", "seed": 0, "kl": 0.3}], [row], res, sft)
    assert pts[0]["delta_average"] == 0.5 and pts[0]["kl"] == 0.3
    assert plots.plot_kl_frontier(pts).axes[0].get_xlabel().startswith("KL")


def test_the_finding_sentence_does_not_call_a_zero_width_ci_a_resolution():
    from helpers.tulu import steps

    checked = [
        {
            "finding": "PPO beats DPO, mainly on reasoning",
            "status": "x",
            "testable": False,
            "mde": 0.0,
            "paper_effect": 0.012,
            "detail": "",
        }
    ]
    out = steps.findings({"world": "quick", "n_eval_prompts": 16, "seeds": [0]}, checked=checked, ranking=[])
    assert "PPO beats DPO: no answer differs (the paper: 1.2)" in out["finding"] and "0.0 >" not in out["finding"]
