"""Smoke runs of notebooks/10_wildchat: the quick profile with tiny samples (every count checked against the fixture's
built-in counts, the prompt set 03 reads), and the full-gpu profile's rehearsal (the public release and the hub
corpora replaced by our files in their schemas, a tiny model with the embedded tokenizer)."""

from __future__ import annotations

import json

import pytest

from helpers.core.params import PARAMS_DIR
from helpers.core.store import read_json

pytestmark = pytest.mark.slow

TINY = ["n_llm_labels=4", "n_diversity=30"]
FIGURES = (
    "corpus_tokens",
    "languages",
    "countries",
    "states",
    "turns",
    "monthly_model",
    "toxicity",
    "jailbreaks",
    "privacy",
    "categories",
    "diversity",
)


def _check(run_dir, conversations: int) -> dict:
    m = read_json(run_dir / "metrics.json")
    assert read_json(run_dir / "run.json")["status"] == "ok"
    assert m["conversations"] == conversations and m["finding"] and m["signal"] and m["findings"]
    assert all(k in m for k in m["headline"]) and "NaN" not in (run_dir / "metrics.json").read_text()
    lo, hi = m["language_agreement_ci"]
    assert lo <= m["language_agreement"] <= hi
    for fig in FIGURES:
        assert (run_dir / "figures" / f"{fig}.png").exists(), fig
    prompts = [json.loads(x) for x in (run_dir / "data" / "prompts.jsonl").read_text().splitlines()]
    assert len(prompts) == m["prompts_written"] > 0 and all(p["conversation"][0]["role"] == "user" for p in prompts)
    html = (run_dir / "report.html").read_text()
    assert "Traceback" not in html and "Finding:" in html
    return m


def test_10_wildchat_quick_smoke(tmp_path, monkeypatch):
    from helpers.core.data import load_records
    from helpers.core.run import run_notebook
    from helpers.core.runs import RUN_DIR_ENV

    run_dir = run_notebook(
        "10_wildchat", [str(PARAMS_DIR / "10_wildchat" / "quick.yaml")], TINY, outputs=tmp_path, progress=False
    )
    m = _check(run_dir, 300)
    assert m["signal"] == "fixture counts reproduced" and m["fixture_checked"] and m["fixture_mismatches"] == 0
    assert m["labelled"] == 4 and set(m["diversity"]) == {"WildChat", "alpaca", "dolly", "oasst"}
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path / "03_benchbuilder" / run_dir.name))  # 03 in the same run name
    assert len(load_records("run:10_wildchat", required=["conversation"])) == m["prompts_written"]


def test_10_wildchat_full_profile_rehearsal(full_gpu_rehearsal):
    """full-gpu.yaml rehearsed in the session's full-gpu suite (conftest): allenai/WildChat-1M read as the fixture,
    tatsu-lab/alpaca, databricks-dolly-15k and oasst1 as our files in their schemas, Llama-3.1-8B a tiny stand-in."""
    run_dir = full_gpu_rehearsal[0] / "10_wildchat" / "full-gpu"
    m = _check(run_dir, 150)
    assert read_json(run_dir / "run.json")["rehearsal"] is True and "rehearsal" in m["release"]
    assert m["source"] == "allenai/WildChat-1M" and not m["fixture_checked"] and m["labelled"] == 6
