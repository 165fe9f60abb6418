"""The helpers behind notebooks/01_magpie.py's cells (issue #23: cells tell the story, helpers hold the logic)."""

from __future__ import annotations

import json
import math

import numpy as np

from helpers import magpie as mp
from helpers.core.runs import Run


class FakeStages:
    def __init__(self, root):
        self.root = root

    def path(self, stage, suffix, **key):
        return self.root / f"{stage}-{'-'.join(map(str, key.values()))}{suffix}"


def test_instruction_throughput_counts_statuses_and_rate():
    status, seconds, rate = mp.instruction_throughput(
        [{"status": "ok"}, {"status": "ok"}, {"status": "empty"}], [{"seconds": 30.0}, {"seconds": 30.0}]
    )
    assert status == {"ok": 2, "empty": 1} and seconds == 60.0 and rate == 3.0
    assert math.isnan(mp.instruction_throughput([], [])[2])


def test_near_duplicates_point_at_the_earliest_copy_and_unique_queries_go_first(tmp_path):
    ok = [{"id": "a", "instruction": "x"}, {"id": "b", "instruction": "y"}, {"id": "c", "instruction": "z"}]
    stages = FakeStages(tmp_path)
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.001]])
    from helpers.core.store import stable_id

    np.save(stages.path("embeddings", ".npy", texts=stable_id(["x", "y", "z"])), emb)  # cached: no embedder loaded
    out, n_dup = mp.mark_near_duplicates(ok, stages, k=2, threshold=0.1)
    assert np.array_equal(out, emb) and n_dup == 1
    assert ok[2]["min_similar_conversation_id"] == "a" and ok[0]["min_similar_conversation_id"] == "a"
    assert ok[1]["repeat_count"] == 0 and ok[2]["repeat_count"] == 1
    assert [s["id"] for s in mp.unique_first(ok)] == ["a", "b", "c"]
    assert [s["id"] for s in mp.unique_first(ok[::-1])] == ["b", "a", "c"]


def test_response_stats_lines():
    rs = [
        {"tokens": 10, "seconds": 2.0, "response_finish": "length", "n_turns": 2, "early_stop": None},
        {"tokens": 6, "seconds": 2.0, "response_finish": "stop", "n_turns": 1, "early_stop": "empty"},
    ]
    tok_s, lines = mp.response_stats(rs, n_turns=2)
    assert (
        tok_s == 4.0
        and lines[0] == "2 conversations, 16 response tokens in 4 s = 4.0 tokens/s; 1 responses hit res_max_tokens"
    )
    assert lines[1] == "turns per conversation: {2: 1, 1: 1} | early stops: {'empty': 1}"
    assert len(mp.response_stats(rs)[1]) == 1 and math.isnan(mp.response_stats([])[0])


def test_the_writer_frees_its_gpu_only_for_other_models_on_vllm():
    assert mp.writer_gpu_needed_elsewhere(True, "vllm", "w", "t", "", "")
    assert not mp.writer_gpu_needed_elsewhere(True, "vllm", "w", "w", "", "")
    assert mp.writer_gpu_needed_elsewhere(True, "vllm", "w", "", "guard", "")
    assert not mp.writer_gpu_needed_elsewhere(False, "vllm", "w", "t", "g", "r")
    assert not mp.writer_gpu_needed_elsewhere(True, "hf", "w", "t", "g", "r")


def test_tag_failures_and_errors_are_counted_per_task_with_notes():
    tags = {"a": {"tag_failures": ["quality"], "tag_errors": []}, "b": {"tag_failures": [], "tag_errors": ["category"]}}
    failures, errors, notes = mp.tag_failure_counts(tags, ["quality", "category"])
    assert failures == {"quality": 1, "category": 0} and errors == {"quality": 0, "category": 1} and len(notes) == 2
    assert mp.tag_failure_counts({}, ["quality"]) == ({}, {}, [])


def test_without_reward_or_guard_model_nothing_is_scored():
    assert mp.reward_scores(None, "", "", [], [{"id": "a"}]) == ({}, None)
    assert mp.guard_verdicts(None, "", "hf", [], [{"id": "a"}]) == ({}, [])


CHOSEN = [
    {
        "id": "a",
        "instruction": "Why is the sky blue?",
        "pre_query_template": "<t>",
        "gen_input_configs": {},
        "min_neighbor_distance": 0.5,
        "repeat_count": 0,
        "min_similar_conversation_id": "a",
    }
]
RESPONSES = [
    {"id": "a", "response": "Rayleigh scattering.", "turns": [], "response_tokens": 4, "response_finish": "stop"}
]


def test_records_follow_the_reference_schema_and_are_joined_by_id():
    recs = mp.build_records(
        CHOSEN,
        RESPONSES,
        {"a": {"task_category": "Information seeking"}},
        {"a": "safe"},
        {"a": 1.5},
        "rm",
        {"engine": "hf"},
    )
    (r,) = recs
    assert r["conversation_id"] == "a" and r["task_category"] == "Information seeking" and r["difficulty"] is None
    assert r["llama_guard_2"] == "safe" and r["instruct_reward"] == 1.5 and r["reward_model"] == "rm"
    assert r["gen_response_configs"] == {"engine": "hf"} and set(mp.TAG_FIELDS) <= set(r)
    assert mp.category_mix(recs + [{"task_category": None}, {"task_category": None}]) == {
        "None": 2,
        "Information seeking": 1,
    }
    assert mp.embedding_labels([{"id": "a"}, {"id": "z"}], [{**r, "task_category": None}]) == [
        "unparsed",
        "no response",
    ]


def test_stage_counts_and_sft_status():
    counts = mp.stage_counts(
        [{}] * 4,
        {"ok": 3, "empty": 1},
        3,
        1,
        [{}] * 2,
        {"a": {"tag_failures": []}, "b": {"tag_failures": ["quality"]}},
        1,
        "pro",
    )
    assert [c["count"] for c in counts] == [4, 1, 3, 3, 2, 2, 1, 1]
    assert counts[-1]["stage"] == "kept by filters (pro)" and counts[1]["stage"] == "  empty"
    assert mp.sft_status(False, [{}], "all") == "SFT disabled (sft = False)"
    assert "no records in the 'filtered' set" in mp.sft_status(True, [], "filtered")
    assert mp.sft_status(True, [{}], "all") is None


def test_export_writes_both_sets(tmp_path):
    run = Run(tmp_path / "run")
    recs = mp.build_records(CHOSEN, RESPONSES, {}, {}, {}, None, {})
    rows_all, rows = mp.export_sets(run, recs, [])
    assert len(rows_all) == 1 and rows == []
    assert json.loads((tmp_path / "run/data/magpie_all.jsonl").read_text()) == rows_all[0]
    assert (tmp_path / "run/data/magpie_filtered.jsonl").read_text() == ""
    assert (tmp_path / "run/data/magpie_all_dataset").is_dir()
    assert not (tmp_path / "run/data/magpie_filtered_dataset").exists()


def test_sft_key_ignores_when_rows_were_written():
    """A rerun in another minute writes new `created` stamps: the SFT checkpoint key must not change."""
    from helpers.magpie.steps import sft_rows_key

    row = {
        "conversation_id": "c1",
        "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}],
        "created": "2026-01-01T00:00:00",
    }
    later = {**row, "created": "2026-01-01T00:01:00"}
    other = {**row, "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hey"}]}
    assert sft_rows_key([row]) == sft_rows_key([later])
    assert sft_rows_key([row]) != sft_rows_key([other])
