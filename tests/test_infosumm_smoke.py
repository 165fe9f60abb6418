"""Smoke runs of notebooks/08_infosumm.ipynb: the quick profile cut to seconds (resumed a second time), and a
rehearsal of the full profile (tiny stand-ins for Pythia, the MNLI model, FLAN-T5; CNN/DM and XSum fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.core.params import PARAMS_DIR
from helpers.core.run import run_notebook
from helpers.core.store import read_json

pytestmark = pytest.mark.slow

SIGNALS = {
    "filtered student beats unfiltered",
    "unfiltered student beats filtered",
    "filtered and unfiltered students not distinguishable",
    "untestable",
}
TINY = [
    "n_documents_per_round=2",
    "doc_max_tokens=24",
    "doc_min_words=5",
    "prompt_formats=[tldr]",
    "n_samples=2",
    "summary_max_tokens=12",
    "sft_steps=1",
    "sft_batch_size=2",
    "student_init=truncate:2",
    "student_steps=1",
    "student_batch_size=2",
    "max_length=128",
    "n_eval=3",
    "eval_max_tokens=8",
    "n_control_docs=1",
    "min_pairs=2",
    "ratio_max=1.0",
    "bootstrap_rounds=100",
    "torch_threads=1",
    "n_rounds=1",
    "n_eval_critics=2",
]


def _check(run_dir: Path) -> dict:
    m = read_json(run_dir / "metrics.json")
    assert read_json(run_dir / "run.json")["status"] == "ok"
    assert m["signal"] in SIGNALS and m["finding"] and m["findings"]
    assert all(k in m for k in m["headline"])
    for key in (
        "rougeL_student",
        "rougeL_student_unfiltered",
        "rougeL_lead1",
        "rougeL_lead3",
        "rougeL_teacher_round0",
        "rougeL_teacher_last",
    ):
        lo, hi = m[f"{key}_ci"]
        assert 0 <= lo <= m[key] <= hi <= 1
    assert "NaN" not in (run_dir / "metrics.json").read_text()
    # the control arm: as many pairs as the filtered arm, compared over every evaluated document joined by id
    assert m["control_pairs"] == m["final_pairs"] and m["filtered_minus_unfiltered_n"] == m["n_eval_documents"]
    assert m["critic_checks"]["wrong_document"]["n"] == m["critic_checks"]["content_free"]["n"] > 0
    html = (run_dir / "report.html").read_text()
    assert "Traceback" not in html and "Finding:" in html
    for fig in ("pass_rates", "critic_scores", "rouge"):
        assert (run_dir / "figures" / f"{fig}.png").exists()
    # every candidate's critic values are stored, and the pass rates are recomputable from them
    import pandas as pd

    scored = pd.read_csv(run_dir / "data" / "candidates_scored.csv")
    assert {"saliency", "faithfulness", "ratio", "copy_rougeL_p", "pass_all"} <= set(scored.columns)
    rounds = m["pass_rates"]
    assert set(rounds) == {f"round{r}" for r in range(m["n_rounds"] + 1)}
    for r, g in scored.groupby("round"):
        assert rounds[f"round{r}"]["all"] == pytest.approx(g.pass_all.astype(bool).mean())
    return m


def test_08_infosumm_quick_smoke(tmp_path):
    quick = str(PARAMS_DIR / "08_infosumm" / "quick.yaml")
    run_dir = run_notebook("08_infosumm", [quick], TINY, outputs=tmp_path, progress=False)
    m = _check(run_dir)
    assert m["n_rounds"] == 1 and m["teacher_model"] == "smollm2-135m-instruct"
    ckpt = run_dir / "checkpoints"
    assert (ckpt / "teacher_round1" / "train_config.json").exists() and (
        ckpt / "student" / "train_config.json"
    ).exists()
    stamp = (ckpt / "student" / "train_config.json").stat().st_mtime
    n_summaries = len((run_dir / "data" / "summaries.jsonl").read_text().splitlines())
    # the same command again: every stage is read back, nothing is retrained or regenerated
    again = run_notebook("08_infosumm", [quick], TINY, outputs=tmp_path, progress=False)
    m2 = read_json(again / "metrics.json")
    assert m2["rougeL_student"] == m["rougeL_student"] and m2["pass_rates"] == m["pass_rates"]
    assert (ckpt / "student" / "train_config.json").stat().st_mtime == stamp
    assert len((run_dir / "data" / "summaries.jsonl").read_text().splitlines()) == n_summaries
    # a run killed after the teacher's round: the student and the evaluation are gone; the rerun keeps the round's
    # candidates, critic scores and fine-tuned teacher, and redoes only what is missing
    import shutil

    teacher_stamp = (ckpt / "teacher_round1" / "train_config.json").stat().st_mtime
    cands = (run_dir / "data" / "candidates_round1.jsonl").read_text()
    shutil.rmtree(ckpt / "student")
    (run_dir / "data" / "summaries.jsonl").unlink()
    (run_dir / "metrics.json").unlink()
    third = run_notebook("08_infosumm", [quick], TINY, outputs=tmp_path, progress=False)
    assert (ckpt / "teacher_round1" / "train_config.json").stat().st_mtime == teacher_stamp
    assert (run_dir / "data" / "candidates_round1.jsonl").read_text() == cands
    assert (ckpt / "student" / "train_config.json").exists()
    assert len((run_dir / "data" / "summaries.jsonl").read_text().splitlines()) == n_summaries
    assert read_json(third / "metrics.json")["pass_rates"] == m["pass_rates"]


def test_08_infosumm_full_profile_rehearsal(full_gpu_rehearsal):
    run_dir = full_gpu_rehearsal[0] / "08_infosumm" / "full-gpu"  # the session's full-gpu suite rehearsal (conftest)
    m = _check(run_dir)
    assert m["n_rounds"] == 3 and m["nli_model"] == "microsoft/deberta-large-mnli"
    assert "nli" in m["pass_rates"]["round0"]
    assert set(m["rouge"]) == {"abisee/cnn_dailymail", "EdinburghNLP/xsum", "builtin:infosumm_reference.jsonl"}
    cfg = json.loads((run_dir / "checkpoints" / "student" / "config.json").read_text())
    assert cfg["architectures"] == ["PegasusForConditionalGeneration"]  # the paper's student kind (a stand-in)


def test_08_infosumm_bad_params_fail_before_compute(tmp_path):
    from helpers.core.params import ParamsError

    quick = str(PARAMS_DIR / "08_infosumm" / "quick.yaml")
    for bad in (
        ["prompt_formats=[tldr,bogus]"],
        ["length_buckets=[30,10]"],
        ["student_init=truncate:x"],
        ["ratio_min=2"],
    ):
        with pytest.raises(ParamsError):
            run_notebook("08_infosumm", [quick], bad, outputs=tmp_path, progress=False)
