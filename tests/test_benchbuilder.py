"""BenchBuilder: prompt extraction from WildChat records, criteria parsing, clustering, thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.core.data import load_records
from helpers.evaluation import benchbuilder as bb
from helpers.evaluation.arena import load_arena_prompts


def _rec(text, lang="English", toxic=False, h="h"):
    return {
        "conversation_hash": h,
        "language": lang,
        "toxic": toxic,
        "conversation": [{"role": "user", "content": text, "language": lang}, {"role": "assistant", "content": "ok"}],
    }


def test_builtin_sample_is_wildchat_format():
    recs = load_records(
        "builtin:wildchat_sample.jsonl",
        required=["conversation_hash", "conversation", "turn", "language", "toxic", "redacted", "model", "timestamp"],
    )
    assert 60 <= len(recs) <= 120
    assert all(t["role"] in ("user", "assistant") and "content" in t for r in recs for t in r["conversation"])
    assert len({r["conversation_hash"] for r in recs}) == len(recs)
    prompts, counts = bb.extract_prompts(recs)
    assert counts["too_short"] >= 5 and counts["language"] >= 5 and counts["toxic"] >= 1
    assert 40 <= counts["kept"] <= 90


def test_extract_prompts_filters():
    recs = [
        _rec("hi", h="1"),
        _rec("x" * 40, lang="Chinese", h="2"),
        _rec("y" * 40, toxic=True, h="3"),
        _rec("A long enough question about databases?", h="4"),
        _rec("a long enough question about databases?", h="5"),
        {"conversation_hash": "6", "conversation": [{"role": "assistant", "content": "only bot"}]},
    ]
    prompts, counts = bb.extract_prompts(recs)
    assert [p["conversation_hash"] for p in prompts] == ["4"]
    assert counts == {
        "records": 6,
        "no_user_turn": 1,
        "language": 1,
        "too_short": 1,
        "toxic": 1,
        "duplicate": 1,
        "kept": 1,
    }
    with pytest.raises(bb.ConversationFormatError):
        bb.extract_prompts([{"conversation_hash": "x", "prompt": "no conversation"}])


@pytest.mark.parametrize(
    "text, want",
    [
        ("[1, 3, 6]", [1, 3, 6]),
        ("Criteria met: [7, 1, 1]", [1, 7]),
        ("[]", []),
        ("I think [1, 9]", None),
        ("Specificity and complexity", None),
        ('["a"] then [2]', [2]),
        (None, None),
    ],
)
def test_parse_criteria(text, want):
    assert bb.parse_criteria(text) == want
    assert bb.quality_score(bb.parse_criteria(text)) == (None if want is None else len(want))


def test_labeler_messages_lists_all_criteria():
    msgs = bb.labeler_messages("Explain B-trees")
    assert msgs[0]["role"] == "system" and all(name in msgs[0]["content"] for name, _ in bb.CRITERIA)
    assert "Explain B-trees" in msgs[1]["content"]


def test_cluster_and_keywords():
    rng = np.random.default_rng(0)
    centers = np.eye(4)[:2]
    emb = np.vstack([centers[0] + 0.01 * rng.normal(size=(6, 4)), centers[1] + 0.01 * rng.normal(size=(6, 4))])
    labels = bb.cluster_prompts(emb, "kmeans", n_clusters=2)
    assert len(set(labels[:6])) == 1 and len(set(labels[6:])) == 1 and labels[0] != labels[6]
    hd = bb.cluster_prompts(emb, "hdbscan", min_cluster_size=3)
    assert len(set(hd[:6])) == 1 and hd[0] != hd[6]
    texts = ["python pandas dataframe"] * 6 + ["poem autumn leaves"] * 6
    names = bb.cluster_keywords(texts, labels)
    assert "python" in names[labels[0]] and "poem" in names[labels[6]]
    with pytest.raises(ValueError):
        bb.cluster_prompts(emb, "bertopic")


def test_select_prompts_thresholds_and_sampling():
    df = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(9)],
            "prompt": ["q"] * 9,
            "cluster": [0, 0, 0, 1, 1, 1, 2, 2, -1],
            "score": [7, 6, 5, 2, 7, 3, np.nan, 6, 7],
        }
    )
    sel, table = bb.select_prompts(df, min_score=6, min_cluster_mean=5, per_cluster=1, seed=0)
    t = table.set_index("cluster")
    assert t.loc[0, "mean_score"] == 6 and bool(t.loc[0, "cluster_kept"])
    assert not bool(t.loc[1, "cluster_kept"])  # mean 4 < 5: its 7 is not taken
    assert t.loc[2, "labeled"] == 1 and bool(t.loc[2, "cluster_kept"])  # NaN excluded from the mean
    assert not bool(t.loc[-1, "cluster_kept"])  # outliers never form a topic
    assert sorted(sel["cluster"]) == [0, 2] and (sel["score"] >= 6).all()
    sel2, _ = bb.select_prompts(df, min_score=6, min_cluster_mean=5, per_cluster=1, seed=0)
    assert sel["id"].tolist() == sel2["id"].tolist()


def test_benchmark_records_load_in_arena(tmp_path):
    df = pd.DataFrame(
        {
            "id": ["a"],
            "prompt": ["Explain B-trees in depth"],
            "cluster": [3],
            "score": [6.0],
            "conversation_hash": ["h"],
        }
    )
    recs = bb.benchmark_records(df, {3: "trees, index"})
    import json

    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    prompts, skipped = load_arena_prompts(str(path))
    assert skipped == 0 and prompts == [
        {"id": "a", "prompt": "Explain B-trees in depth", "category": "benchbuilder", "cluster": "trees, index"}
    ]


def test_criteria_from_margins_and_messages():
    assert bb.criteria_from_margins([1, -1, 0.5, 0, -2, 3, 0.1]) == [1, 3, 6, 7]
    assert bb.criteria_from_margins([1, -1, 0.5, 0, -2, 3, 0.1], threshold=1.0) == [6]
    with pytest.raises(ValueError):
        bb.criteria_from_margins([1, 2])
    m = bb.criterion_messages("Explain B-trees", 3)
    assert "Complexity" in m[0]["content"] and "Explain B-trees" in m[0]["content"]


def test_yes_no_margins_match_unpadded_forward(tiny_model_dir):
    import torch

    from helpers.core import hf

    prompts = [bb.criterion_messages("short one", 1), bb.criterion_messages("a much longer prompt " * 5, 2)]
    margins = bb.yes_no_margins(tiny_model_dir, prompts, batch_size=2)
    tok, lm = hf.load_tokenizer(tiny_model_dir), hf.load_causal_lm(tiny_model_dir)
    yes, no = tok("Yes", add_special_tokens=False).input_ids[0], tok("No", add_special_tokens=False).input_ids[0]
    for p, m in zip(prompts, margins):
        ids = torch.tensor([hf.encode(tok, hf.render(tok, p))])
        with torch.inference_mode():
            lp = torch.log_softmax(lm(input_ids=ids).logits[0, -1].float(), -1)
        assert m == pytest.approx(float(lp[yes] - lp[no]), abs=1e-4)
