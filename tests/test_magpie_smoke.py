"""Smoke run of notebooks/01_magpie.ipynb: quick profile, HF backend, tiny sizes.

The embedded model writes a few queries; a random tiny model is the tagger (its answers are garbage,
so tag parse failures must be counted, not crash) and the SFT model (a couple of fast steps).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.core.params import PARAMS_DIR


@pytest.mark.slow
def test_magpie_notebook_quick_smoke(tmp_path, tiny_model_dir):
    from helpers.core.run import run_notebook

    overrides = [
        "backend=hf",
        "n_instructions=6",
        "samples_per_call=3",
        "ins_max_tokens=40",
        "n_responses=3",
        "res_max_tokens=12",
        f"tagger_model={tiny_model_dir}",
        "tag_max_tokens=4",
        "min_instruction_words=2",
        f"sft_model={tiny_model_dir}",
        "sft_steps=2",
        "sft_batch_size=2",
        "sft_max_length=64",
    ]
    run_dir = run_notebook(
        "01_magpie",
        files=[str(PARAMS_DIR / "01_magpie" / "quick.yaml")],
        overrides=overrides,
        outputs=tmp_path,
        progress=False,
    )
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["n_samples"] == 6 and sum(m["status_counts"].values()) == 6
    assert 0 <= m["clean_fraction"] <= 1 and m["n_with_response"] <= 3
    assert set(m["headline"]) <= set(m)
    if m["n_with_response"]:
        # log-prob tags: every record gets a label from the allowed set, nothing fails to parse
        assert m["tag_mode"] == "logprob" and m["tag_failures"] == {"quality": 0, "difficulty": 0, "category": 0}
        # the quick preset (pro-relative: the run's own medians); every preset's count on the same records
        assert m["filter_preset"] == "pro-relative" and m["n_kept"] == m["preset_counts"]["pro-relative"]
        assert m["preset_counts"]["none"] == m["n_with_response"] and m["kept_card"]["rule"] == m["filter_rule"]
    data = run_dir / "data"
    kept_rows = [json.loads(x) for x in (data / "magpie_filtered.jsonl").read_text().splitlines()]
    assert len(kept_rows) == m["n_kept"]
    if kept_rows:  # SFT trained on exactly the filtered set (the key covers each row's id and messages)
        from helpers import magpie as mp

        assert m["sft_n_examples"] == len(kept_rows) and m["sft_rows_key"] == mp.sft_rows_key(kept_rows)
        assert m["sft_loss_first"] is not None and Path(m["sft_checkpoint"], "config.json").exists()
    else:
        assert m["sft_skipped"] and m["sft_loss_first"] is None
    rows = [json.loads(x) for x in (data / "magpie_all.jsonl").read_text().splitlines()]
    assert len(rows) == m["n_with_response"]
    assert all(r["conversations"][0]["from"] == "human" for r in rows)
    assert (run_dir / "report.html").exists()
    assert f"Kept **{m['n_kept']} of {m['n_with_response']}" in (run_dir / "DATA_CARD.md").read_text()
    assert (run_dir / "figures" / "neighbor_distances.png").exists()
    # the tagger's agreement with our labelled queries, recomputed from the stored tags
    from helpers.core.data import load_records

    ref = {r["id"]: r for r in load_records("builtin:magpie_tag_reference.jsonl")}
    tagged = [json.loads(x) for f in data.glob("tag_reference-*.jsonl") for x in f.read_text().splitlines()]
    assert len(tagged) == len(ref)
    hits = sum(t["task_category"] == ref[t["id"]]["task_category"] for t in tagged)
    assert m["tag_agreement_category"] == pytest.approx(hits / len(ref))
    lo, hi = m["tag_agreement_category_ci"]
    assert lo <= m["tag_agreement_category"] <= hi
    assert m["signal"] and m["finding"] and "findings" in m
