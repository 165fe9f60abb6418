"""tools/compare_runs.py: two suite runs compared by metrics and stage files (records joined by id)."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("compare_runs", ROOT / "tools" / "compare_runs.py")
compare_runs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_runs)


def _run(folder: Path, metrics: dict, records: list[dict]) -> Path:
    (folder / "data").mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "data" / "answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def test_same_results_in_another_order_and_other_timings_are_the_same(tmp_path):
    recs = [{"id": "a", "x": 1.0}, {"id": "b", "x": 2.0, "seconds": 3}]
    a = _run(tmp_path / "a", {"acc": 0.5, "seconds": 10, "n": 3}, recs)
    b = _run(tmp_path / "b", {"acc": 0.5 + 1e-9, "seconds": 99, "n": 3}, [{**recs[1], "seconds": 7}, recs[0]])
    r = compare_runs.compare_notebook(a, b)
    assert r == {"metrics": [], "stages": {}, "only_before": [], "only_after": []}


def test_a_changed_number_record_or_file_is_reported(tmp_path):
    a = _run(tmp_path / "a", {"acc": 0.5, "finding": "x"}, [{"id": "a", "x": 1.0}])
    b = _run(tmp_path / "b", {"acc": 0.6, "finding": "x"}, [{"id": "a", "x": 1.5}])
    (b / "data" / "new.jsonl").write_text("")
    r = compare_runs.compare_notebook(a, b)
    assert r["metrics"] == [".acc: 0.5 -> 0.6"] and r["stages"] == {"data/answers.jsonl": [".a.x: 1.0 -> 1.5"]}
    assert r["only_after"] == ["data/new.jsonl"] and r["only_before"] == []
