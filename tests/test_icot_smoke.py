"""Smoke runs of notebooks/09_icot.ipynb: the quick profile with tiny sizes, and a rehearsal of the full profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.core.params import PARAMS_DIR
from helpers.core.run import run_notebook
from helpers.core.store import read_json

pytestmark = pytest.mark.slow

SIGNALS = {
    "internalization beats no-CoT",
    "no-CoT beats internalization",
    "no difference at this budget",
    "too small to tell",
    "untestable",
    "both fail",
}
TINY = [
    "tasks=[mult:2]",
    "n_train=128",
    "n_valid=8",
    "n_test=24",
    "n_epochs=2",
    "batch_size=32",
    "pretrain_epochs=1",
    "eval_every=2",
    "checkpoint_every=3",
    "n_speed=4",
    "eval_batch_size=16",
]


def _check_run(run_dir: Path, n_test: int) -> dict:
    m = read_json(run_dir / "metrics.json")
    assert all(k in m for k in m["headline"]) and m["signal"] in SIGNALS and m["finding"]
    for name in ("icot_accuracy", "nocot_accuracy", "cot_accuracy"):
        lo, hi = m[f"{name}_ci"]
        assert 0 <= lo <= m[name] <= hi <= 1
    assert "NaN" not in (run_dir / "metrics.json").read_text()
    html = (run_dir / "report.html").read_text()
    assert "Traceback" not in html and "Finding:" in html
    assert (run_dir / "figures" / "test_accuracy.png").exists()
    # recompute the headline accuracy from the stored per-example predictions
    task = m["headline_task"].replace(":", "")
    stored = list((run_dir / "data").glob(f"test_{task}_stepwise_*.jsonl"))
    assert len(stored) == 1
    recs = [json.loads(line) for line in stored[0].read_text().splitlines()]
    from helpers.icot.evaluate import is_correct

    assert len(recs) == n_test
    assert sum(is_correct(r["prediction"], r["gold"]) for r in recs) / len(recs) == m["icot_accuracy"]
    return m


def test_09_icot_quick_smoke(tmp_path):
    quick = str(PARAMS_DIR / "09_icot" / "quick.yaml")
    run_dir = run_notebook("09_icot", [quick], TINY, outputs=tmp_path, progress=False)
    m = _check_run(run_dir, 24)
    assert m["headline_task"] == "mult:2" and m["train_steps"] == 8
    assert (run_dir / "figures" / "training_mult2.png").exists()
    ckpts = sorted(p.parent.name for p in (run_dir / "checkpoints").glob("*/*/config.json"))
    assert len(ckpts) == 3 and all(c.startswith("mult2-") for c in ckpts)
    training = (run_dir / "data" / "training.csv").read_text()
    assert "stepwise" in training and "nocot" in training
    # the same command again reuses every checkpoint and stored prediction: nothing is retrained
    again = run_notebook("09_icot", [quick], TINY, outputs=tmp_path, progress=False)
    assert read_json(again / "metrics.json")["icot_accuracy"] == m["icot_accuracy"]
    # a changed result parameter trains afresh under the same run name
    run_notebook("09_icot", [quick], TINY + ["learning_rate=0.002"], outputs=tmp_path, progress=False)
    assert len(list((run_dir / "checkpoints").glob("*/*/config.json"))) == 6


def test_09_icot_full_profile_rehearsal(full_gpu_rehearsal):
    """full-gpu.yaml rehearsed (helpers.core.rehearsal): the hub GPT-2 becomes a tiny stand-in loaded through the
    pretrained path and tokenizer, GSM8K a generated set in the hub's schema, counts cut by rehearse.yaml."""
    run_dir = full_gpu_rehearsal[0] / "09_icot" / "full-gpu"  # the session's full-gpu suite rehearsal (conftest)
    assert read_json(run_dir / "run.json")["status"] == "ok"
    m = _check_run(run_dir, 4)
    assert m["tasks"] == ["mult:4", "gsm8k"] and m["headline_task"] == "mult:4"
    assert set(m["per_task"]) == {"mult:4", "gsm8k"} and m["init_from"] == "openai-community/gpt2"
    assert (run_dir / "figures" / "training_gsm8k.png").exists()
    cfg = json.loads(next((run_dir / "checkpoints" / "stepwise").glob("gsm8k-*/config.json")).read_text())
    assert cfg["remove_all_beyond"] == 39 and cfg["keep_position"] is False and cfg["learning_rate"] == 5e-5
