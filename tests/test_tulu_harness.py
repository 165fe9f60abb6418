"""lm-evaluation-harness for real on this CPU: the hf backend on a tiny random Llama (built from a config, the embedded
model's tokenizer and chat template) and a local GSM8k-schema task (jsonl + task YAML written by helpers.tulu.harness:
the hub is unreachable here), its per-document results parsed into the notebook's records and delta table."""

from __future__ import annotations

import time

import pytest

from helpers.tulu import deltas, harness
from helpers.tulu.grid import DataSpec, GridResult, Row

pytestmark = pytest.mark.skipif(not harness.harness_available(), reason="lm-eval is not installed")


def test_local_task_runs_through_lm_eval_and_joins_the_delta_table(tiny_model_dir, tiny_model_dir_b, tmp_path):
    started = time.perf_counter()
    task = harness.write_local_task(tmp_path / "tasks", max_gen_toks=12)
    assert harness.harness_args(tiny_model_dir, [str(task)], backend="auto")["model"] == "hf"  # no GPU here
    result = harness.evaluate_harness(tiny_model_dir, [str(task)], limit=6, backend="hf")
    assert result["config"]["model"] == "hf" and "tulu_arith" in result["results"]
    records = harness.harness_records(result)
    assert [r["id"] for r in records] == [f"tulu_arith-{i}" for i in range(6)]
    assert {r["category"] for r in records} == {"reasoning (local arithmetic)"}
    # the records agree with the harness's own aggregate (exact match after the strict-match filter)
    accuracy = sum(r["correct"] for r in records) / len(records)
    assert accuracy == pytest.approx(result["results"]["tulu_arith"]["exact_match,strict-match"])
    # the notebook's table: a second model's records as one grid row against the first as the SFT start
    other = harness.run_harness(tiny_model_dir_b, [str(task)], limit=6, backend="hf")
    row = Row("algorithm", "DPO", "dpo", DataSpec("x"), reference=True)
    results = {(row.slug, 0): GridResult(row, 0, other)}
    table = deltas.delta_table([row], results, records, ["reasoning (local arithmetic)"], [0], rounds=100)
    assert [t["column"] for t in table] == ["reasoning (local arithmetic)", "average"]
    expected = sum(r["correct"] for r in other) / len(other) - accuracy
    assert table[0]["delta"] == pytest.approx(expected) and table[0]["low"] <= table[0]["delta"] <= table[0]["high"]
    assert time.perf_counter() - started < 90


def test_records_take_the_first_filter_of_each_document(tmp_path):
    """The local task YAML names the metric; one record per document, under the task's first filter."""
    import yaml

    task = yaml.safe_load(harness.write_local_task(tmp_path, rows=harness.arithmetic_rows(2)).read_text())
    assert task["dataset_path"] == "json" and task["metric_list"][0]["metric"] == "exact_match"
    samples = {
        "tulu_arith": [
            {"doc_id": 0, "filter": "strict-match", "exact_match": 1.0},
            {"doc_id": 0, "filter": "flexible-extract", "exact_match": 0.0},
            {"doc_id": 1, "filter": "strict-match", "exact_match": 0.0},
        ]
    }
    recs = harness.harness_records({"samples": samples})
    assert recs == [
        {"id": "tulu_arith-0", "category": "reasoning (local arithmetic)", "correct": True},
        {"id": "tulu_arith-1", "category": "reasoning (local arithmetic)", "correct": False},
    ]
