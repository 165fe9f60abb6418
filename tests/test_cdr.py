"""Density-ratio reward against a direct token-by-token computation (same and different tokenizers),
router parsing, customisation, on-policy pairs, derived models, statistics."""

import random

import pytest

from helpers import cdr
from helpers.core.logprobs import token_logprobs_unbatched

CHATS = [
    [{"role": "user", "content": "What is 2 + 2?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}],
]
RESPONSES = ["2 + 2 equals 4.", "Blue, like the sky on a clear summer day."]


@pytest.fixture(scope="module")
def wordpiece_model_dir(tmp_path_factory):
    """A tiny random Llama with the MiniLM BERT WordPiece tokenizer and a small chat template."""
    from transformers import AutoTokenizer

    from helpers.core.models import resolve_embedder
    from helpers.core.tiny import save_model, tiny_model

    tok = AutoTokenizer.from_pretrained(resolve_embedder())
    tok.chat_template = (
        "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} [SEP] {% endfor %}"
        "{% if add_generation_prompt %}[assistant] {% endif %}"
    )
    ends = {"bos_token_id": tok.cls_token_id, "eos_token_id": tok.sep_token_id}  # WordPiece's [CLS] ... [SEP]
    model = tiny_model(tok, seed=5, max_position_embeddings=512, tie_word_embeddings=False, **ends)
    return save_model(model, tok, tmp_path_factory.mktemp("tiny-wordpiece") / "model")


def direct_logprob(path, prompt, response, max_prompt=2048, max_response=1024):
    """Token by token, fresh forward pass each, own template and tokenizer."""
    from helpers.core import hf

    tok = hf.load_tokenizer(path)
    model = hf.load_causal_lm(path, "float32", "cpu")
    p_ids = hf.encode(tok, hf.render(tok, prompt))[-max_prompt:]
    eot = hf.end_of_turn_token(tok)
    text = response if response.endswith(eot) else response + eot
    r_ids = tok(text, add_special_tokens=False).input_ids[:max_response]
    return sum(token_logprobs_unbatched(model, p_ids, r_ids)), len(r_ids)


@pytest.mark.parametrize("variant", ["sum", "mean"])
def test_ratio_matches_direct_computation_same_tokenizer(tiny_model_dir, tiny_model_dir_b, variant):
    reward = cdr.DensityRatioReward(
        tiny_model_dir, tiny_model_dir_b, variant=variant, dtype="float32", device="cpu", batch_size=2
    )
    got = reward.score(list(zip(CHATS, RESPONSES)))
    for (p, r), g in zip(zip(CHATS, RESPONSES), got):
        s, ns = direct_logprob(tiny_model_dir, p, r)
        w, nw = direct_logprob(tiny_model_dir_b, p, r)
        want = s - w if variant == "sum" else s / ns - w / nw
        assert g.reward == pytest.approx(want, abs=1e-4)


def test_ratio_with_different_tokenizers(tiny_model_dir, wordpiece_model_dir):
    reward = cdr.DensityRatioReward(tiny_model_dir, wordpiece_model_dir, variant="sum", dtype="float32", device="cpu")
    got = reward.score(list(zip(CHATS, RESPONSES)))
    for (p, r), g in zip(zip(CHATS, RESPONSES), got):
        s, ns = direct_logprob(tiny_model_dir, p, r)
        w, nw = direct_logprob(wordpiece_model_dir, p, r)
        assert g.strong.n_tokens == ns and g.weak.n_tokens == nw
        assert reward.strong.encode_pair(p, r) != reward.weak.encode_pair(p, r)  # each its own tokenizer
        assert g.reward == pytest.approx(s - w, abs=1e-4)


def test_truncation_params(tiny_model_dir, tiny_model_dir_b):
    reward = cdr.DensityRatioReward(
        tiny_model_dir, tiny_model_dir_b, max_prompt_tokens=5, max_response_tokens=3, dtype="float32", device="cpu"
    )
    g = reward.score([(CHATS[1], RESPONSES[1])])[0]
    assert g.strong.n_tokens == 3
    s, _ = direct_logprob(tiny_model_dir, CHATS[1], RESPONSES[1], 5, 3)
    w, _ = direct_logprob(tiny_model_dir_b, CHATS[1], RESPONSES[1], 5, 3)
    assert g.reward == pytest.approx(s - w, abs=1e-4)


def test_cached_stage_and_token_budget_match_direct_scores(tmp_path, tiny_model_dir):
    from helpers import JsonlStore, LogProbScorer

    scorer = LogProbScorer(tiny_model_dir, dtype="float32", device="cpu", batch_size=1)
    items = [{"id": f"i{k}", "prompt": p, "response": r} for k, (p, r) in enumerate(zip(CHATS, RESPONSES))]
    store = JsonlStore(tmp_path / "lp.jsonl")
    first = cdr.score_responses(store, scorer, items, max_batch_tokens=64)
    plain = scorer.score([(it["prompt"], it["response"]) for it in items])
    assert [first[i["id"]].sum for i in items] == pytest.approx([p.sum for p in plain], abs=1e-4)
    assert len(store) == 2
    again = cdr.score_responses(JsonlStore(tmp_path / "lp.jsonl"), scorer, items)  # resumed: nothing rescored
    assert again == first


def test_unknown_variant():
    with pytest.raises(ValueError, match="variant"):
        cdr.ratio(None, None, "max")


def test_router_parse_and_failure():
    assert cdr.parse_domain(" reasoning.") == "REASONING"
    assert cdr.parse_domain("It is SAFETY related") == "SAFETY"
    assert cdr.parse_domain("unsure") == "CHAT" and cdr.parse_domain(None) == "CHAT"

    def broken(msgs):
        raise RuntimeError("down")

    domains, fallbacks = cdr.route(["a", "b"], broken)
    assert domains == ["CHAT", "CHAT"] and fallbacks["unparsed"] == 2 and fallbacks["error"]
    assert cdr.route(["x", "y"], lambda msgs: ["SAFETY", "no idea"]) == (
        ["SAFETY", "CHAT"],
        {"unparsed": 1, "error": None},
    )


def test_customise_same_for_both_models_and_keeps_system():
    spec = cdr.load_customisation()
    out = cdr.customise(CHATS[1], "SAFETY", spec)
    assert out[0]["role"] == "system" and out[0]["content"].startswith(spec["criteria"]["SAFETY"])
    assert out[0]["content"].endswith("Be brief.")
    assert out[-1]["content"].endswith("Name a colour.") and "Good assistant:" in out[-1]["content"]
    assert CHATS[1][1]["content"] == "Name a colour."  # input untouched
    plain = cdr.customise("hi", "BOGUS", spec, criteria=False, exemplars=False)
    assert plain == [{"role": "user", "content": "hi"}]


def test_best_vs_rest():
    s = ["a", "b", "c", "d"]
    assert cdr.best_vs_rest(s, [1, 3, 2, 0], "worst") == ("b", "d")
    ch, rj = cdr.best_vs_rest(s, [1, 3, 2, 0], "random", random.Random(1))
    assert ch == "b" and rj in {"a", "c", "d"}
    assert cdr.best_vs_rest(s, [2, 2, 2, 2]) is None


def test_preference_dataset_format():
    ds = cdr.preference_dataset([{"prompt": CHATS[0], "chosen": "4", "rejected": "5"}])
    assert ds.column_names == ["prompt", "chosen", "rejected"]
    assert ds[0]["chosen"] == [{"role": "assistant", "content": "4"}]


def test_derived_models(tmp_path, tiny_model_dir):
    from helpers.core import hf

    half = cdr.derive_model("layers:1", tiny_model_dir, tmp_path / "half")
    assert hf.load_causal_lm(half, "float32", "cpu").config.num_hidden_layers == 1
    noisy = cdr.derive_model("noise:0.5", tiny_model_dir, tmp_path / "noise")
    a = hf.load_causal_lm(tiny_model_dir, "float32", "cpu").model.layers[0].mlp.up_proj.weight
    b = hf.load_causal_lm(noisy, "float32", "cpu").model.layers[0].mlp.up_proj.weight
    assert not (a == b).all()
    with pytest.raises(ValueError, match="unknown derived"):
        cdr.derive_model("bogus", tiny_model_dir, tmp_path / "x")


def test_correlation_ci():
    c = cdr.correlation_ci([0, 1, 2, 3, 4, 5], [0.1, 0.3, 0.2, 0.5, 0.6, 0.9], n_boot=200)
    assert 0.8 < c["pearson"] < 1 and c["pearson_low"] < c["pearson"] < c["pearson_high"]
    assert c["spearman_low"] <= c["spearman"] <= c["spearman_high"]
    assert cdr.correlation_ci([1, 2], [3, 4])["pearson"] is None


def test_reward_model_baseline(tmp_path, embedded_model_dir):
    from transformers import AutoTokenizer

    from helpers.core.tiny import save_model, tiny_model

    tok = AutoTokenizer.from_pretrained(embedded_model_dir)
    shape = {"num_hidden_layers": 1, "max_position_embeddings": 2048, "tie_word_embeddings": False}
    save_model(tiny_model(tok, head="classifier", num_labels=1, **shape), tok, tmp_path)
    pairs = list(zip(CHATS, RESPONSES))
    batched = cdr.reward_model_scores(str(tmp_path), pairs, batch_size=2, device="cpu")
    single = [cdr.reward_model_scores(str(tmp_path), [p], batch_size=1, device="cpu")[0] for p in pairs]
    assert batched == pytest.approx(single, abs=1e-4) and batched[0] != batched[1]


@pytest.mark.parametrize("loss", ["simpo", "dpo"])
def test_train_preference_takes_the_dataset_as_is(tmp_path, tiny_model_dir, loss):
    ds = cdr.preference_dataset([{"prompt": CHATS[0], "chosen": "4", "rejected": "5"}] * 2)
    log = cdr.train_preference(tiny_model_dir, ds, tmp_path / loss, loss=loss, steps=1, batch_size=2, max_length=64)
    assert log["steps"] == 1 and log["history"] and (tmp_path / loss / "config.json").exists()
    again = cdr.train_preference(tiny_model_dir, ds, tmp_path / loss, loss=loss, steps=1, batch_size=2, max_length=64)
    assert again == log  # the same inputs: reused, not retrained (a changed input retrains: tests/test_training.py)


def test_unordered_pairs_put_the_higher_score_first_and_count_ties():
    pairs, ties = cdr.unordered_pairs(["a", "b", "c", "d"], {"a": 0.5, "b": 0.9, "c": 0.5, "d": 0.1})
    assert ties == [("a", "c")]
    assert all(gap > 0 for _, _, gap in pairs) and len(pairs) == 5  # 6 unordered pairs, one tied
    assert pairs[0] == ("b", "d", pytest.approx(0.8))
    assert ("b", "a", pytest.approx(0.4)) in pairs and ("a", "b", pytest.approx(-0.4)) not in pairs
    with pytest.raises(KeyError, match="no gap score for e"):
        cdr.unordered_pairs(["a", "e"], {"a": 1.0})


def test_cdr_findings_flip_with_the_interval():
    above = cdr.findings({"ratio_headline": 70.0, "ratio_headline_ci": [60.0, 80.0], "n_examples": 32})
    chance = cdr.findings({"ratio_headline": 55.0, "ratio_headline_ci": [40.0, 70.0], "n_examples": 32})
    assert above["signal"] == "ratio above chance" and chance["signal"] == "ratio not distinguishable from chance"
    assert "70.0 [60.0, 80.0]" in above["finding"]


def test_data_slices_are_disjoint_and_refuse_when_all_is_evaluated():
    s = cdr.data_slices(per_subset=4, onpolicy_prompts=2, train_per_subset=4, gap_per_subset=8)
    assert s == {"eval": (0, 4), "onpolicy": (4, 1), "train": (5, 4), "gap": (9, 8)}
    ranges = [set(range(o, o + c)) for o, c in s.values()]
    assert all(not (a & b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])
    assert cdr.data_slices(0, 0, 0, 0)["eval"] == (0, 0)
    with pytest.raises(ValueError, match="per_subset 0"):
        cdr.data_slices(0, 0, 0, 8)


def test_load_mc_set_reads_facts_and_preference_slices():
    facts = cdr.load_mc_set("builtin:quickstart_facts.jsonl")
    assert len(facts) == 16 and {"prompt", "chosen", "rejected"} <= set(facts[0])
    a = cdr.load_mc_set("builtin:rewardbench_offline.jsonl", per_subset=2, offset=0)
    b = cdr.load_mc_set("builtin:rewardbench_offline.jsonl", per_subset=2, offset=2)
    assert len(a) == len(b) == 16 and not {x["id"] for x in a} & {x["id"] for x in b}


def test_check_params_needs_a_score_for_every_zoo_model(tmp_path):
    scores = tmp_path / "s.json"
    scores.write_text('{"a": 1.0}')
    base = {"zoo_models": ["a", "b"], "derived_zoo": [], "default_pair": ["a", "b"]}
    with pytest.raises(ValueError, match="no score for 'b'"):
        cdr.check_params({**base, "gap_scores_file": str(scores)})
    scores.write_text('{"a": 1.0, "b": 0.5}')
    cdr.check_params({**base, "gap_scores_file": str(scores)})
    with pytest.raises(ValueError, match="per_subset 0"):
        cdr.check_params({**base, "eval_data": "x", "gap_data": "x", "per_subset": 0, "gap_per_subset": 8})


# ------------------------------------------------------------------ issue #9 item 3: degenerate rewards, stable sweep
def test_tied_share_counts_pairs_the_reward_cannot_order():
    assert cdr.tied_share([1.0, 2.0, 3.0, 4.0], [1.0 + 1e-9, 1.0, 3.0, float("nan")]) == pytest.approx(0.75)
    assert cdr.tied_share([1.0, 2.0], [0.0, 3.0]) == 0.0 and cdr.tied_share([], []) is None
    assert cdr.tied_share([float("inf")], [0.0]) == 0.0  # an infinite margin still orders the pair
    with pytest.raises(ValueError, match="differ in length"):
        cdr.tied_share([1.0], [])


HEAD = {
    "ratio_headline": 30.0,
    "ratio_headline_ci": [20.0, 40.0],
    "n_examples": 32,
    "default_pair": "s / w",
    "variant": "sum",
    "strong_alone_mean_headline": 60.0,
}


def test_degenerate_reward_withholds_the_headline_with_the_reason():
    f = cdr.findings({**HEAD, "ratio_tied_share": 0.95, "strong_alone_mean_tied_share": 0.0})
    assert f["reward_reliable"] is False and f["signal"] == "reward degenerate: no headline"
    assert f["ratio_headline_reported"].startswith("n/a: reward degenerate (95% of pairs tied")
    assert "n/a: reward degenerate (95% of pairs tied" in f["findings"][0] and "30.0" not in f["findings"][0]
    assert "degenerate (95% of pairs tied" in f["finding"] and "below chance" not in f["signal"]
    assert f["rewards_degenerate"] == 1
    at = cdr.findings({**HEAD, "ratio_tied_share": cdr.MAX_TIED_SHARE})  # the threshold itself fails
    assert at["signal"] == "reward degenerate: no headline"
    # the baselines table's rows are counted (the headline is one of them), customisation variants too
    many = cdr.findings(
        {
            **HEAD,
            "ratio_tied_share": 1.0,
            "strong_alone_mean_tied_share": 1.0,
            "baseline_tied_share": {
                "ratio sum (s / w)": 1.0,
                "strong alone, mean log-prob": 1.0,
                "weak alone, mean log-prob": 0.1,
            },
            "customisation_tied_share": {"plain": 1.0, "criteria + exemplar": 0.5},
        }
    )
    assert many["rewards_degenerate"] == 3
    assert "the strong model alone (mean log-prob) n/a: reward degenerate (100% of pairs tied" in many["findings"][0]
    assert any(s.startswith("customisation (plain): n/a: reward degenerate") for s in many["findings"])
    assert not any(s.startswith("ratio sum (s / w):") for s in many["findings"])  # the headline sentence says it


def test_non_degenerate_reward_keeps_the_headline():
    plain = cdr.findings(HEAD)
    checked = cdr.findings({**HEAD, "ratio_tied_share": 0.2, "strong_alone_mean_tied_share": 0.0})
    for f in (plain, checked):
        assert f["reward_reliable"] is True and f["signal"] == "ratio below chance"
        assert "headline 30.0 [20.0, 40.0] on 32 examples; the strong model alone (mean log-prob) 60.0." in f["finding"]
        assert f["ratio_headline_reported"] == "30.0 [20.0, 40.0]" and f["rewards_degenerate"] == 0
    assert "Reward reliability: reward checks passed (20% of pairs tied)." in checked["findings"]


def test_sweep_with_degenerate_pairs_and_equal_gaps_says_so():
    f = cdr.findings(
        {
            **HEAD,
            "n_pairs": 6,
            "pairs_rated": 5,
            "pairs_reward_degenerate": 1,
            "pairs_gap_distinct": 1,
            "pairs_headline_distinct": 3,
            "gap_accuracy_pearson": None,
            "pairs_gap_tied": [["a / d", "b / d"], ["a / d", "c / d"]],
        }
    )
    assert any(
        "n/a: gaps degenerate (all 5 pairs have the same gap); 1 pair(s) with a degenerate reward" in s
        for s in f["findings"]
    )
    assert f["rewards_degenerate"] == 1 and f["ranking_ties"] == 2
    assert (
        "Sweep ranking: 2 of 15 pairs of pairs have the same gap, ordered by name: {a / d, b / d, c / d}."
        in f["findings"]
    )


def test_sweep_order_is_the_same_whatever_the_input_order():
    import itertools

    import pandas as pd

    rows = [
        {"strong": "b", "weak": "d", "gap": 0.4, "headline": 50.0},
        {"strong": "a", "weak": "d", "gap": 0.4, "headline": 60.0},
        {"strong": "c", "weak": "d", "gap": 0.1 + 0.2, "headline": 55.0},  # 0.30000000000000004
        {"strong": "a", "weak": "c", "gap": 0.3, "headline": 40.0},
        {"strong": "a", "weak": "b", "gap": 0.0 + 1e-12 + 0.1, "headline": 45.0},
    ]
    seen = set()
    for perm in itertools.permutations(rows):
        out = cdr.rank_sweep(list(perm))
        seen.add((tuple(zip(out.strong, out.weak)), tuple(out.gap_ties)))
        assert cdr.gap_ties(out) == cdr.gap_ties(pd.DataFrame(list(perm))) == [("a / d", "b / d"), ("a / c", "c / d")]
    assert seen == {((("a", "d"), ("b", "d"), ("a", "c"), ("c", "d"), ("a", "b")), (1, 1, 1, 1, 0))}
    empty = cdr.rank_sweep([])
    assert empty.empty and {"strong", "weak", "gap", "headline", "gap_ties"} <= set(empty.columns)
    assert cdr.gap_ties(empty) == []


def test_unordered_pairs_treat_summation_noise_as_a_tie():
    pairs, ties = cdr.unordered_pairs(["a", "b", "c"], {"a": 0.1 + 0.2, "b": 0.3, "c": 0.1})
    assert ties == [("a", "b")] and [p[:2] for p in pairs] == [("a", "c"), ("b", "c")]


def test_onpolicy_seeds_come_from_ids_not_batch_positions():
    from helpers import cdr

    assert cdr.sample_seed(0, "a") == cdr.sample_seed(0, "a") != cdr.sample_seed(1, "a") != cdr.sample_seed(0, "b")
    assert 0 <= cdr.sample_seed(0, "a") < 2**28
    items = cdr.sample_items([{"id": "x", "prompt": "p", "samples": ["u", "v"]}])
    assert items == [{"id": "x/s0", "prompt": "p", "response": "u"}, {"id": "x/s1", "prompt": "p", "response": "v"}]
