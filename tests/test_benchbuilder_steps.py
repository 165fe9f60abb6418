"""The helpers behind notebooks/03_benchbuilder.py's cells: precheck, labeler stage, labelled prompts, the check
against reference scores, topics, the exported set, metrics and figures (issue #23). No model is loaded."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.core.store import RETRY  # noqa: E402
from helpers.evaluation import benchbuilder_plots as bbp  # noqa: E402
from helpers.evaluation import benchbuilder_steps as bbs  # noqa: E402


def test_precheck_refuses_yes_no_labels_from_an_endpoint():
    bbs.check_params({"labeler_mode": "yes_no", "labeler_base_url": ""})
    bbs.check_params({"labeler_mode": "list", "labeler_base_url": "http://x"})
    with pytest.raises(ValueError, match="parameter 'labeler_mode'"):
        bbs.check_params({"labeler_mode": "yes_no", "labeler_base_url": "http://x"})


class FakeJudge:
    def complete(self, msgs, desc=""):
        self.last_failed = [False, False, True][: len(msgs)]
        return ["Criteria met: [1, 2, 5]", "no list here", ""][: len(msgs)]


PROMPTS = [{"id": f"p{i}", "prompt": f"prompt {i}", "conversation_hash": f"h{i}"} for i in range(3)]


def test_list_labeler_parses_criteria_and_marks_endpoint_errors_for_retry():
    label = bbs.labeler("list", FakeJudge, "m", 0.0)
    out = label(PROMPTS)
    assert out[0]["criteria"] == [1, 2, 5] and out[1]["criteria"] is None and out[2]["endpoint_error"] and out[2][RETRY]
    with pytest.raises(ValueError, match="labeler_mode must be"):
        bbs.labeler("vote", FakeJudge, "m", 0.0)
    df, errors, fail = bbs.labelled_prompts(PROMPTS, out)
    assert errors == 1 and list(df.id) == ["p0", "p1"] and fail == 0.5  # the endpoint error is left out
    assert df.score.tolist()[0] == 3.0 and np.isnan(df.score.tolist()[1])
    empty, errors, _ = bbs.labelled_prompts([], [])
    assert errors == 0 and list(empty.columns)[:2] == ["id", "prompt"]


def test_labeler_vs_reference(tmp_path):
    ref = tmp_path / "ref.jsonl"
    ref.write_text("".join(json.dumps({"conversation_hash": f"h{i}", "ref_score": i}) + "\n" for i in range(4)))
    df = pd.DataFrame({"conversation_hash": ["h0", "h1", "h2", "h3", "hx"], "score": [1.0, 2.0, 4.0, None, 5.0]})
    rho, both, ref_scores = bbs.labeler_vs_reference(df, str(ref))
    assert rho == pytest.approx(1.0) and len(both) == 3 and ref_scores.tolist() == [0, 1, 2]
    rho, both, _ = bbs.labeler_vs_reference(df.iloc[:2], str(ref))
    assert np.isnan(rho) and len(both) == 2  # fewer than 3 prompts: no correlation
    fig, caption = bbp.labeler_reference_figure(both, both.conversation_hash.map({"h0": 0, "h1": 1}), rho)
    assert caption.startswith("Each dot is one of 2 prompts")


def test_topics_selection_export_metrics_and_figure(tmp_path):
    rng = np.random.default_rng(0)
    emb = np.vstack([rng.normal(0, 0.01, (4, 2)) + [5, 5], rng.normal(0, 0.01, (4, 2)) - [5, 5]])
    df = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(8)],
            "prompt": [f"apple pie {i}" if i < 4 else f"linear algebra {i}" for i in range(8)],
            "score": [6.0, 7.0, 6.0, None, 1.0, 2.0, 1.0, 0.0],
            "conversation_hash": [""] * 8,
        }
    )
    selected, clusters, names = bbs.topics(df, emb, "kmeans", 2, 2, 6, 5, 2, 0)
    assert df.cluster.nunique() == 2 and len(selected) == 2 and int(clusters.cluster_kept.sum()) == 1
    assert set(clusters.topic) == set(names.values())
    bench = bbs.write_bench(tmp_path / "bench.jsonl", selected, names)
    assert [json.loads(x) for x in (tmp_path / "bench.jsonl").read_text().splitlines()] == bench
    assert all(b["category"] == "benchbuilder" and b["score"] >= 6 for b in bench)
    m = bbs.run_metrics(
        {
            "conversations": 9,
            "labeler_parse_failure_rate": 0.125,
            "bench_prompts": len(bench),
            "filter_counts": {"short": 1},
        },
        df,
        clusters,
        float("nan"),
        0,
        2,
        {"malformed_store_lines": 0, "records_to_retry": 0},
    )
    assert m["topics"] == 2 and m["topics_kept"] == 1 and m["prompts_after_filters"] == 8
    assert m["signal"] == "labeler not checked" and any("labeler endpoint errors 2" in f for f in m["findings"])
    fig, caption = bbp.topics_figure(df, emb, clusters, names, 5, 0)
    assert caption.startswith("2 topics from 8 prompts; 1 topics") and len(fig.axes) == 2
