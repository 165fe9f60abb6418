"""Arena-Hard scoring: verdicts, the swap, Bradley-Terry against a direct ML fit, bootstrap coverage, style control."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from helpers.evaluation import arena
from helpers.evaluation.arena import (
    NotEnoughBattles,
    battles_from_games,
    bootstrap_ratings,
    fit_bradley_terry,
    leaderboard,
    model_view,
    parse_verdict,
    position_consistency,
    separability,
    style_features,
    style_matrix,
    win_rate_vs_baseline,
)


@pytest.mark.parametrize(
    "text, want",
    [
        ("My final verdict is: [[A>>B]]", "A>>B"),
        ("[[A>B]] at first, but on reflection [[B>A]]", "B>A"),  # last match wins
        ("verdict [[ A = B ]]", "A=B"),
        ("[[B<<A]]", "A>>B"),  # mirrored spelling
        ("[[B>>A]].", "B>>A"),
        ("A is better", None),
        ("[[C>A]]", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_verdict(text, want):
    assert parse_verdict(text) == want


def test_swap_logic_model_view():
    # Game 1: baseline is A. "A>>B" = baseline much better = model much worse.
    assert model_view("A>>B", 1) == "B>>A"
    assert model_view("B>A", 1) == "A>B"
    # Game 2: model is A, so the verdict already reads from the model's side.
    assert model_view("A>>B", 2) == "A>>B"
    assert model_view("A=B", 1) == "A=B"
    assert arena.game_order("base", "mod", 1) == ("base", "mod")
    assert arena.game_order("base", "mod", 2) == ("mod", "base")
    with pytest.raises(ValueError):
        model_view("A>B", 3)


def test_battles_from_games_weights_and_drops():
    games = [
        {"prompt_id": "p1", "model": "m", "game": 1, "verdict": "B>>A"},  # model wins strongly
        {"prompt_id": "p1", "model": "m", "game": 2, "verdict": "A>B"},  # model wins
        {"prompt_id": "p2", "model": "m", "game": 1, "verdict": "A=B"},
        {"prompt_id": "p2", "model": "m", "game": 2, "verdict": None},  # -> whole prompt dropped
        {"prompt_id": "p3", "model": "m", "game": 1, "verdict": "A>B"},  # no game 2 -> dropped
    ]
    df, stats = battles_from_games(games, baseline="base")
    assert stats == {
        "games": 5,
        "parsed": 4,
        "parse_failures": 1,
        "prompts": 3,
        "prompts_kept": 1,
        "prompts_dropped": 2,
    }
    assert len(df) == 2
    g1 = df[df.game == 1].iloc[0]
    assert (g1.model_a, g1.model_b, g1.score_a, g1.weight) == ("base", "m", 0.0, 3.0)
    g2 = df[df.game == 2].iloc[0]
    assert (g2.model_a, g2.model_b, g2.score_a, g2.weight) == ("m", "base", 1.0, 1.0)


def test_position_consistency():
    games = [
        {"prompt_id": "p1", "model": "m", "game": 1, "verdict": "A>B"},  # picks first both times
        {"prompt_id": "p1", "model": "m", "game": 2, "verdict": "A>B"},
        {"prompt_id": "p2", "model": "m", "game": 1, "verdict": "B>A"},  # model wins both: consistent
        {"prompt_id": "p2", "model": "m", "game": 2, "verdict": "A>>B"},
        {"prompt_id": "p3", "model": "m", "game": 1, "verdict": None},
        {"prompt_id": "p3", "model": "m", "game": 2, "verdict": "A>B"},
    ]
    pc = position_consistency(games)
    assert pc["pairs_with_both_verdicts"] == 2
    assert pc["consistent_rate"] == 0.5
    assert pc["first_position_bias"] == 0.5 and pc["second_position_bias"] == 0.0


def _synthetic_battles(
    strengths: dict[str, float], baseline: str, n_per_model: int, rng, tie_p: float = 0.0, all_pairs: bool = False
) -> pd.DataFrame:
    """Battles drawn from a BT model with natural-log strengths; optional ties; random positions."""
    models = list(strengths)
    pairs = (
        [(a, b) for i, a in enumerate(models) for b in models[i + 1 :]]
        if all_pairs
        else [(m, baseline) for m in models if m != baseline]
    )
    rows = []
    for a, b in pairs:
        for k in range(n_per_model):
            if rng.random() < 0.5:
                a, b = b, a
            p = 1 / (1 + np.exp(-(strengths[a] - strengths[b])))
            u = rng.random()
            score = 0.5 if u < tie_p else float(rng.random() < p)
            w = 3.0 if rng.random() < 0.3 else 1.0
            rows.append(
                {"model_a": a, "model_b": b, "score_a": score, "weight": w, "prompt_id": f"{a}-{b}-{k}", "game": 1}
            )
    return pd.DataFrame(rows)


def test_bt_matches_direct_maximum_likelihood():
    rng = np.random.default_rng(0)
    strengths = {"base": 0.0, "m1": 0.8, "m2": -0.5, "m3": 0.3}
    df = _synthetic_battles(strengths, "base", 60, rng, tie_p=0.15, all_pairs=True)
    fit = fit_bradley_terry(df, "base")["ratings"]
    models = ["base", "m1", "m2", "m3"]
    res = minimize(arena.bradley_terry_nll, np.zeros(3), args=(df, "base"), method="BFGS", options={"gtol": 1e-9})
    assert res.success
    # natural-log strength s -> Elo: 400 * s / ln(10) + 1000
    direct = {m: 1000 + 400 * s / np.log(10) for m, s in zip(models, np.concatenate([[0], res.x]))}
    for m in models:
        assert fit[m] == pytest.approx(direct[m], abs=0.05), m
    assert fit["base"] == 1000.0


def test_win_rate_formula():
    assert win_rate_vs_baseline(1000, 1000) == 0.5
    assert win_rate_vs_baseline(1400, 1000) == pytest.approx(10 / 11)
    assert win_rate_vs_baseline(float("inf")) == 1.0


def test_win_rate_single_model_equals_weighted_share():
    # With one model against the baseline the BT win rate is the weighted win share (ties = half).
    df = pd.DataFrame(
        {
            "model_a": ["base", "m", "base", "m"],
            "model_b": ["m", "base", "m", "base"],
            "score_a": [0.0, 1.0, 1.0, 0.5],
            "weight": [3.0, 1.0, 1.0, 1.0],
            "prompt_id": ["p1", "p1", "p2", "p2"],
            "game": [1, 2, 1, 2],
        }
    )
    r = fit_bradley_terry(df, "base")["ratings"]["m"]
    share = (3 + 1 + 0 + 0.5) / 6
    assert win_rate_vs_baseline(r) == pytest.approx(share, abs=1e-5)


def test_no_battles_is_a_clear_error():
    empty, _ = battles_from_games([{"prompt_id": "p", "model": "m", "game": 1, "verdict": None}], "base")
    with pytest.raises(NotEnoughBattles):
        fit_bradley_terry(empty, "base")


def test_bootstrap_ci_coverage_on_known_strengths():
    strengths = {"base": 0.0, "m1": 0.6, "m2": -0.4}
    truth = {m: 1000 + 400 * s / np.log(10) for m, s in strengths.items()}
    hits, trials = {"m1": 0, "m2": 0}, 40
    for t in range(trials):
        rng = np.random.default_rng(100 + t)
        df = _synthetic_battles(strengths, "base", 150, rng)
        board = leaderboard(df, "base", rounds=60, seed=t, method="weighted", level=0.95).set_index("model")
        for m in hits:
            hits[m] += board.loc[m, "ci_low"] <= truth[m] <= board.loc[m, "ci_high"]
    for m, h in hits.items():
        assert 0.8 <= h / trials <= 1.0, (m, h)


def test_bootstrap_prompt_unit_and_reproducible():
    rng = np.random.default_rng(1)
    df = _synthetic_battles({"base": 0.0, "m": 0.5}, "base", 50, rng)
    a = bootstrap_ratings(df, "base", rounds=5, seed=3, unit="prompt", method="weighted")
    b = bootstrap_ratings(df, "base", rounds=5, seed=3, unit="prompt", method="weighted")
    assert a.equals(b) and a.shape == (5, 2)
    assert (a["base"] == 1000).all()


def test_style_features_and_matrix():
    f = style_features("# Title\n- a\n- b\n1. c\n**bold** text", n_tokens=20)
    assert (f.headers, f.lists, f.bold, f.length) == (1, 3, 1, 20)
    plain = style_features("plain", n_tokens=10)
    M = style_matrix([f, plain], [plain, plain], zscore=False)
    assert M[0, 0] == pytest.approx((20 - 10) / 30)
    assert M[0, 1] == 1.0 and M[1].tolist() == [0, 0, 0, 0]
    Z = style_matrix([f, plain, f], [plain, plain, plain])
    assert np.allclose(Z.mean(axis=0), 0)


def test_style_control_removes_length_effect():
    # The judge prefers the longer answer only; model "long" is equally good but usually longer.
    rng = np.random.default_rng(2)
    rows, feats_a, feats_b = [], [], []
    for k in range(2000):
        model = "long" if k % 2 else "same"
        model_len = int(rng.integers(150, 500)) if model == "long" else int(rng.integers(50, 300))
        base_len = int(rng.integers(50, 300))
        game = 1 + (k // 2) % 2
        la, lb = (base_len, model_len) if game == 1 else (model_len, base_len)
        p_a = 1 / (1 + np.exp(-3.0 * (la - lb) / (la + lb)))  # only length matters
        rows.append(
            {
                "model_a": "base" if game == 1 else model,
                "model_b": model if game == 1 else "base",
                "score_a": float(rng.random() < p_a),
                "weight": 1.0,
                "prompt_id": f"p{k}",
                "game": game,
            }
        )
        feats_a.append(arena.StyleFeatures(la, 0, 0, 0))
        feats_b.append(arena.StyleFeatures(lb, 0, 0, 0))
    df = pd.DataFrame(rows)
    raw = fit_bradley_terry(df, "base")["ratings"]
    styled = fit_bradley_terry(df, "base", style=style_matrix(feats_a, feats_b))
    assert win_rate_vs_baseline(raw["long"]) > 0.65
    assert abs(win_rate_vs_baseline(styled["ratings"]["long"]) - 0.5) < 0.07
    assert abs(win_rate_vs_baseline(styled["ratings"]["same"]) - 0.5) < 0.07
    assert styled["style_coef"][0] > 0  # longer answers are preferred


def test_separability():
    board = pd.DataFrame(
        {"model": list("abc"), "rating": [3, 2, 1], "ci_low": [2.6, 1.5, 0.5], "ci_high": [3.5, 2.5, 1.6]}
    )
    s = separability(board)
    assert s == {"pairs": 3, "separated": 2, "separability": 2 / 3}
    agree = arena.agreement_with_confidence(board, {"a": 6, "b": 5, "c": 7})
    assert agree["separated_pairs"] == 2 and agree["agreement"] == 0.5


def test_normalise_prompt_shapes():
    v01 = {"question_id": "q1", "category": "arena-hard-v0.1", "cluster": "Python", "turns": [{"content": "Write X"}]}
    v2 = {"uid": "u1", "category": "hard_prompt", "subcategory": "coding", "prompt": "Do Y"}
    assert arena.normalise_prompt(v01) == {
        "id": "q1",
        "prompt": "Write X",
        "category": "arena-hard-v0.1",
        "cluster": "Python",
    }
    assert arena.normalise_prompt(v2)["prompt"] == "Do Y"
    assert arena.normalise_prompt({"id": "x", "prompt": "  "}) is None


def test_judge_messages_and_variants():
    m = arena.judge_messages("Q?", "ans-a", "ans-b", "short")
    assert m[0]["role"] == "system" and all(v in m[0]["content"] for v in arena.VERDICTS)
    assert m[1]["content"].index("ans-a") < m[1]["content"].index("ans-b")
    assert all(v in arena.JUDGE_SYSTEM["arena-hard"] for v in arena.VERDICTS)
    with pytest.raises(ValueError):
        arena.judge_messages("Q", "a", "b", "nope")
    assert arena.answer_messages("Q", "") == [{"role": "user", "content": "Q"}]


def test_read_model_tables_and_rank_agreement(tmp_path):
    assert arena.read_model_tables(tmp_path / "absent") == {}
    # 02_wildbench's leaderboard shape: point scores plus *_lo/*_hi interval columns, and a per-K table beside it.
    pd.DataFrame(
        {
            "model": ["a", "b", "c"],
            "wb_score": [3.0, 2.0, 1.0],
            "wb_score_lo": [2.0, 1.0, 0.0],
            "wb_score_hi": [4.0, 3.0, 2.0],
            "wb_reward_mix": [0.5, -0.1, 0.2],
            "wb_reward_lo": [0.1, -0.5, 0.0],
            "wb_reward_hi": [0.9, 0.3, 0.4],
            "mean_chars": [10, 20, 30],
            "K": [500] * 3,
            "note": ["x", "y", "z"],
        }
    ).to_csv(tmp_path / "leaderboard.csv", index=False)
    pd.DataFrame({"model": ["a", "b"], "K": [100, 100], "wb_reward": [9.0, 8.0]}).to_csv(
        tmp_path / "wb_reward_by_K.csv", index=False
    )
    tables = arena.read_model_tables(tmp_path)
    assert tables == {
        "leaderboard:wb_score": {"a": 3.0, "b": 2.0, "c": 1.0},
        "leaderboard:wb_reward_mix": {"a": 0.5, "b": -0.1, "c": 0.2},
    }
    assert arena.model_name_overlap(["a", "x"], tables["leaderboard:wb_score"]) == {
        "shared": ["a"],
        "only_ours": ["x"],
        "only_theirs": ["b", "c"],
    }
    agree = arena.rank_agreement(tables["leaderboard:wb_score"], {"a": 10, "b": 5, "c": 7, "d": 0})
    assert agree["shared_models"] == 3 and agree["spearman"] == pytest.approx(0.5)
    assert arena.rank_agreement({"a": 1}, {"a": 2})["spearman"] is None


class _FixedScorer:
    """Stands in for LogProbScorer: returns preset sums per continuation, records what it was given."""

    def __init__(self, tokenizer, sums):
        self.tokenizer, self.sums, self.pairs = tokenizer, sums, []

    def score(self, pairs, desc=None):
        from helpers.core.logprobs import ResponseLogProb

        self.pairs.extend(pairs)
        return [ResponseLogProb(self.sums[i // 5][i % 5], 0.0, 1) for i in range(len(pairs))]


def test_logprob_verdicts_argmax_and_margin():
    class Tok:  # raw-string rendering needs no template; messages go through apply_chat_template
        def apply_chat_template(self, msgs, tokenize, add_generation_prompt):
            return "|".join(m["content"] for m in msgs) + ("<gen>" if add_generation_prompt else "")

    sums = [[-5.0, -1.0, -3.0, -2.0, -9.0], [-4.0, -4.0, -7.0, -8.0, -0.5]]
    scorer = _FixedScorer(Tok(), sums)
    msgs = [arena.judge_messages("q", "a1", "b1", "short"), arena.judge_messages("q", "a2", "b2", "short")]
    out = arena.logprob_verdicts(scorer, msgs)
    assert [o["verdict"] for o in out] == ["A>B", "B>>A"]
    assert out[0]["margin"] == pytest.approx(1.0) and out[1]["margin"] == pytest.approx(3.5)
    assert out[0]["logprobs"] == dict(zip(arena.VERDICTS, sums[0]))
    # the prompt is the rendered chat plus the prefill, and the five labels are scored after it
    assert scorer.pairs[0][0].endswith("<gen>" + arena.VERDICT_PREFILL)
    assert [c for _, c in scorer.pairs[:5]] == ["A>>B]]", "A>B]]", "A=B]]", "B>A]]", "B>>A]]"]


def test_logprob_verdicts_match_direct_computation(tiny_model_dir):
    import torch

    from helpers.core import hf
    from helpers.core.logprobs import LogProbScorer

    scorer = LogProbScorer(tiny_model_dir, batch_size=3)
    msgs = [
        arena.judge_messages("What is 2+2?", "4", "Five, probably.", "short"),
        arena.judge_messages("Name a colour. " * 6, "Blue is a colour that many people like.", "red", "arena-hard"),
    ]
    out = arena.logprob_verdicts(scorer, msgs)
    tok, lm = scorer.tokenizer, scorer.model
    for m, o in zip(msgs, out):
        assert o["verdict"] in arena.VERDICTS
        prompt = tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True) + "My final verdict is [["
        p_ids = hf.encode(tok, prompt)
        direct = {}
        for label in arena.VERDICTS:  # unbatched, unpadded forward over prompt + label
            c_ids = tok(label + "]]", add_special_tokens=False).input_ids
            with torch.inference_mode():
                logits = lm(input_ids=torch.tensor([p_ids + c_ids])).logits[0].float()
            lp = logits[len(p_ids) - 1 : -1].log_softmax(-1).gather(-1, torch.tensor(c_ids)[:, None])
            direct[label] = float(lp.sum())
        assert o["logprobs"] == pytest.approx(direct, abs=1e-3)
        best = max(direct.values())
        assert direct[o["verdict"]] >= best - 1e-3  # the verdict is the argmax (up to float noise on near-ties)
        assert o["margin"] >= 0
        # the shared-prefix fast path agrees with LogProbScorer.score on the raw (prompt, label) strings
        pair_scores = scorer.score([(prompt, label + "]]") for label in arena.VERDICTS])
        assert [o["logprobs"][v] for v in arena.VERDICTS] == pytest.approx([x.sum for x in pair_scores], abs=1e-3)


@pytest.mark.parametrize("label", ["A>>B", "A>B", "B>A", "B>>A", "A=B"])
def test_pure_position_bias_gives_baseline_ratings(label):
    # A judge that returns the same label in every game (pure position bias) says nothing about the
    # models: over the two swapped games each model wins once and loses once, so every rating is the
    # baseline's (previously NaN when all battles had score_a == 1 or 0).
    games = [
        {"prompt_id": p, "model": m, "game": g, "verdict": label} for p in range(4) for m in ("x", "y") for g in (1, 2)
    ]
    battles, _ = battles_from_games(games, baseline="base")
    ratings = fit_bradley_terry(battles, baseline="base")["ratings"]
    assert ratings == pytest.approx({"base": 1000.0, "x": 1000.0, "y": 1000.0}, abs=1e-6)
    board = leaderboard(battles, baseline="base", rounds=20, seed=0)
    assert np.isfinite(board.rating).all() and board.win_rate.to_numpy() == pytest.approx(0.5, abs=1e-6)


# ----------------------------------------------------------------- upstream definitions (Arena-Hard-Auto) and ours
def _one_strong_win_three_losses() -> pd.DataFrame:
    # one strong win (weight 3) and three plain losses of "m" against the baseline: win share 3/6 either way
    return pd.DataFrame(
        {
            "model_a": ["m"] * 4,
            "model_b": ["base"] * 4,
            "score_a": [1.0, 0.0, 0.0, 0.0],
            "weight": [3.0, 1.0, 1.0, 1.0],
            "prompt_id": list("abcd"),
            "game": [2] * 4,
        }
    )


def test_expand_strong_makes_three_identical_rows():
    ex = arena.expand_strong(_one_strong_win_three_losses())
    assert len(ex) == 6 and (ex.weight == 1.0).all()
    assert ex.score_a.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0] and ex.prompt_id.tolist()[:3] == ["a"] * 3
    with pytest.raises(ValueError):
        arena.expand_strong(pd.DataFrame({"model_a": ["m"], "model_b": ["b"], "score_a": [1.0], "weight": [1.5]}))


def test_upstream_bootstrap_resamples_the_expanded_rows():
    # Upstream: 6 rows (3 wins, 3 losses) resampled -> win share k/6 with k ~ Binomial(6, 1/2), sd sqrt(1/24) = 0.204.
    # Weighted: 4 units; c strong-win draws ~ Binomial(4, 1/4) -> share 3c / (3c + 4 - c) in {0, .5, .75, .9, 1}, sd 0.306.
    df = _one_strong_win_three_losses()
    rounds = 600
    shares = {}
    for method in ("upstream", "weighted"):
        boot = bootstrap_ratings(df, "base", rounds=rounds, seed=1, method=method)
        shares[method] = np.array([win_rate_vs_baseline(r) for r in boot["m"]])
    up_support = np.arange(7) / 6
    w_support = np.array([3 * c / (3 * c + 4 - c) for c in range(5)])
    assert np.all(np.min(np.abs(shares["upstream"][:, None] - up_support[None]), axis=1) < 1e-5)
    assert np.all(np.min(np.abs(shares["weighted"][:, None] - w_support[None]), axis=1) < 1e-5)
    assert np.any(np.isclose(shares["upstream"], 1 / 6, atol=1e-5))  # a value the weighted bootstrap cannot produce
    from scipy.stats import binom

    p_c = binom.pmf(np.arange(5), 4, 0.25)
    sd_weighted = np.sqrt(np.sum(p_c * w_support**2) - np.sum(p_c * w_support) ** 2)  # 0.306
    assert shares["upstream"].std() == pytest.approx(np.sqrt(0.25 / 6), rel=0.12)
    assert shares["weighted"].std() == pytest.approx(sd_weighted, rel=0.12)


def test_upstream_bootstrap_resamples_within_each_contestant():
    rng = np.random.default_rng(0)
    df = _synthetic_battles({"base": 0.0, "m1": 0.5, "m2": -0.2}, "base", 40, rng)
    expanded = arena.expand_strong(df)
    per_model = {m: int(((expanded.model_a == m) | (expanded.model_b == m)).sum()) for m in ("m1", "m2")}
    totals = {True: [], False: []}
    for stratify in (True, False):
        r = np.random.default_rng(5)
        for _ in range(30):
            eff = df.weight.to_numpy() * arena.bootstrap_weights(df, r, "upstream", stratify=stratify)
            assert np.allclose(eff, np.round(eff))  # whole expanded rows are drawn
            totals[stratify].append(
                {m: eff[((df.model_a == m) | (df.model_b == m)).to_numpy()].sum() for m in per_model}
            )
    # v2 (no style control): every resample keeps each contestant's number of expanded rows
    assert all(t == pytest.approx(per_model) for t in totals[True])
    # pooled over all rows (v2 with style control, v0.1): only the grand total is fixed
    assert any(t != pytest.approx(per_model) for t in totals[False])
    assert all(sum(t.values()) == pytest.approx(sum(per_model.values())) for t in totals[False])


def test_leaderboard_interval_level_per_method():
    rng = np.random.default_rng(4)
    df = _synthetic_battles({"base": 0.0, "m": 0.4}, "base", 80, rng)
    for method, level, q in (("upstream", None, (5, 95)), ("weighted", None, (2.5, 97.5)), ("upstream", 0.8, (10, 90))):
        board = leaderboard(df, "base", rounds=50, seed=2, method=method, level=level).set_index("model")
        boot = bootstrap_ratings(df, "base", rounds=50, seed=2, method=method)
        assert board.loc["m", ["ci_low", "ci_high"]].tolist() == pytest.approx(np.percentile(boot["m"], q).tolist())
        assert board.loc["m", "level"] == (level or arena.DEFAULT_LEVEL[method])
    with pytest.raises(ValueError):
        leaderboard(df, "base", rounds=5, level=1.0)


def test_upstream_intervals_are_narrower_with_strong_verdicts():
    rng = np.random.default_rng(7)
    df = _synthetic_battles({"base": 0.0, "m": 0.3}, "base", 300, rng)  # 30% of battles are strong (weight 3)
    up = leaderboard(df, "base", rounds=200, seed=0, method="upstream", level=0.9).set_index("model")
    wt = leaderboard(df, "base", rounds=200, seed=0, method="weighted", level=0.9).set_index("model")
    assert up.loc["m", "rating"] == pytest.approx(wt.loc["m", "rating"])  # same point estimate
    ratio = (wt.loc["m", "ci_high"] - wt.loc["m", "ci_low"]) / (up.loc["m", "ci_high"] - up.loc["m", "ci_low"])
    # expected sd ratio sqrt(E[w^2] / E[w]) = sqrt(3.4 / 1.6) = 1.46 for weights 1 (70%) and 3 (30%)
    assert 1.2 < ratio < 1.8


def _style_case(strong_long: bool = False):
    """5 prompts at equal length (model wins 5 of 10 games) and 5 where the model is 3x longer (wins 8 of 10)."""
    rows, fa, fb = [], [], []
    outcomes = {"e": [1, 0] * 5, "l": [1] * 8 + [0] * 2}
    for kind, (lm, lb) in (("e", (100, 100)), ("l", (300, 100))):
        for i in range(5):
            for game in (1, 2):
                won = outcomes[kind][2 * i + game - 1]
                a, b = ("base", "m") if game == 1 else ("m", "base")
                score_a = float(won) if game == 2 else 1.0 - won
                w = 3.0 if strong_long and kind == "l" else 1.0
                rows.append(
                    {
                        "model_a": a,
                        "model_b": b,
                        "score_a": score_a,
                        "weight": w,
                        "prompt_id": f"{kind}{i}",
                        "game": game,
                    }
                )
                la, lb_ = (lb, lm) if game == 1 else (lm, lb)
                fa.append(arena.StyleFeatures(la, 0, 0, 0))
                fb.append(arena.StyleFeatures(lb_, 0, 0, 0))
    return pd.DataFrame(rows), fa, fb


@pytest.mark.parametrize(
    "strong_long, want_upstream",
    [
        # gap x = (300-100)/400 = 0.5 on half the rows: P(win | 0) = 1/2, P(win | 0.5) = 4/5. The fit is saturated,
        # so logit P(win | x) = ln(4) * x / 0.5. Upstream reads it at the mean gap 0.25: logit = ln 2 -> 2/3.
        (False, 2 / 3),
        # strong verdicts on the long prompts: upstream's mean is over expanded rows, (10*0 + 30*0.5)/40 = 0.375
        # -> logit = 0.75 ln 4 -> 4^0.75 / (1 + 4^0.75) = 0.739 (the rows' weights keep P(win | 0.5) = 4/5)
        (True, 4**0.75 / (1 + 4**0.75)),
    ],
)
def test_style_control_upstream_reads_the_win_rate_at_the_mean_gap(strong_long, want_upstream):
    df, fa, fb = _style_case(strong_long)
    up = fit_bradley_terry(df, "base", style=arena.style_covariates(df, fa, fb, "base", "upstream"))
    sym = fit_bradley_terry(df, "base", style=arena.style_covariates(df, fa, fb, "base", "symmetric"))
    assert win_rate_vs_baseline(up["ratings"]["m"]) == pytest.approx(want_upstream, abs=1e-6)
    assert win_rate_vs_baseline(sym["ratings"]["m"]) == pytest.approx(0.5, abs=1e-6)  # ours: equal style, x = 0
    assert up["style_coef"][0] > 0 and list(up["style_coef"][1:]) == [0, 0, 0]  # constant markdown columns dropped


def test_upstream_style_covariates_formula_and_orientation():
    m = arena.StyleFeatures(9, 1, 0, 0)  # header density 1/(9+1) = 0.1
    b = arena.StyleFeatures(4, 0, 2, 0)  # list density 2/(4+1) = 0.4
    gap = arena.upstream_style_gap([m], [b])[0]
    assert gap.tolist() == pytest.approx([5 / 13, 0.1 / 1.1, -0.4 / 1.4, 0.0])
    # the same pair shown in both orders gets the same standardised gap, signed by who is A
    df = pd.DataFrame(
        {
            "model_a": ["base", "m", "base", "m"],
            "model_b": ["m", "base", "m", "base"],
            "score_a": [0.0, 1.0, 1.0, 0.0],
            "weight": [1.0, 1.0, 1.0, 1.0],
            "prompt_id": ["p", "p", "q", "q"],
            "game": [1, 2, 1, 2],
        }
    )
    plain = arena.StyleFeatures(4, 0, 0, 0)
    Z = arena.style_covariates(df, [b, m, plain, plain], [m, b, plain, plain], "base", "upstream")
    assert Z[0] == pytest.approx(-Z[1]) and Z[2] == pytest.approx(-Z[3])
    x = np.array([5 / 13, 5 / 13, 0, 0])  # length gaps model minus baseline per row; mean 5/26, std ddof=1
    assert Z[1, 0] == pytest.approx((x[1] - x.mean()) / x.std(ddof=1))
    with pytest.raises(ValueError):
        arena.style_covariates(df.assign(model_a="x"), [m] * 4, [b] * 4, "base", "upstream")


def test_markdown_counting_upstream_strips_code_blocks():
    text = (
        "# Title\n```python\n# a comment\n- not a list\n**not bold**\n```\n"
        "1) paren item\n2. dot item\n- bullet\n**bold** and __also__"
    )
    up = style_features(text, n_tokens=50)
    ours = style_features(text, n_tokens=50, counting="symmetric")
    assert (up.headers, up.lists, up.bold) == (1, 2, 2)  # code block removed, "1)" is no list item upstream
    assert (ours.headers, ours.lists, ours.bold) == (2, 4, 3)
    with pytest.raises(ValueError):
        style_features(text, counting="other")


def test_method_comparison_table():
    main = pd.DataFrame(
        {"model": ["base", "m"], "win_rate": [0.5, 0.6], "win_rate_low": [0.5, 0.55], "win_rate_high": [0.5, 0.65]}
    )
    alt = pd.DataFrame(
        {"model": ["m", "base"], "win_rate": [0.64, 0.5], "win_rate_low": [0.5, 0.5], "win_rate_high": [0.8, 0.5]}
    )
    cmp = arena.method_comparison(main, alt, "base").set_index("model")
    assert list(cmp.index) == ["m"]
    assert cmp.loc["m"].to_dict() == pytest.approx(
        {
            "win_rate": 60,
            "win_rate_alt": 64,
            "ci_width": 10,
            "ci_width_alt": 30,
            "width_ratio_alt_over_main": 3.0,
            "win_rate_diff_points": 4,
        }
    )

    summary = arena.comparison_summary(
        arena.method_comparison(main, alt, "base"),
        arena.method_comparison(main, alt.assign(win_rate=[0.55, 0.5]), "base"),
    )
    assert summary == pytest.approx({"ci_width_ratio_weighted_over_upstream": 3.0, "style_methods_max_gap_points": 5.0})


def test_findings_state_the_interval_definitions_from_the_metrics():
    board = pd.DataFrame(
        {"model": ["a", "base"], "win_rate": [0.6, 0.5], "ci_low": [1010, 1000], "ci_high": [1030, 1000]}
    )
    m = {
        "judge_parse_failure_rate": 0.0,
        "position_bias_rate": 0.1,
        "two_game_consistency": 0.9,
        "enough_valid_battles": True,
        "separability": 1.0,
        "bootstrap_method": "upstream",
        "ci_level": 0.9,
        "bootstrap_rounds": 100,
        "ci_width_ratio_weighted_over_upstream": 1.45,
        "style_method": "upstream",
        "style_methods_max_gap_points": 2.34,
    }
    f = arena.findings(m, board=board)
    assert f["finding"].endswith("separability 100% of model pairs at 90% intervals.")
    text = " ".join(f["findings"])
    assert "90% bootstrap, upstream definition over 100 rounds" in text and "1.45x as wide" in text
    assert "differ by up to 2.3 points" in text
    # a degenerate judge: no ranking, but the statistics' definitions are still stated
    f = arena.findings({**m, "position_bias_rate": 1.0, "two_game_consistency": 0.0}, board=board)
    assert f["signal"] == "judge degenerate: no ranking" and any("1.45x" in d for d in f["findings"])
