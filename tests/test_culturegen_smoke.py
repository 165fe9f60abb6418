"""Smoke runs of notebooks/07_culturegen.ipynb: the quick profile with tiny counts, and a rehearsal of the full GPU
profile with counts cut and the models swapped for the embedded / tiny ones."""

import json
from pathlib import Path

import pytest

from helpers.core.params import PARAMS_DIR
from helpers.core.store import read_json

pytestmark = pytest.mark.slow

TINY = [
    "topics=[food, clothing]",
    "n_samples=1",
    "max_new_tokens=8",
    "n_agreement=3",
    "n_ngrams_per_topic=3",
    "n_cb_questions=6",
]


def _recompute_markedness(run_dir: Path) -> float:
    """Markedness from the stored generations (data/generations-*.jsonl), through the same extraction helpers."""
    from helpers.culturegen import analyses as cga
    from helpers.culturegen import data as cgd
    from helpers.culturegen import extract as cge
    from helpers.culturegen import generate as cgg

    (gen_file,) = (run_dir / "data").glob("generations-*.jsonl")
    records = [json.loads(line) for line in gen_file.read_text().splitlines() if line.strip()]
    rows = cgg.samples(records)
    ext = cge.extract_rows(rows, {c.nationality: c for c in cgd.all_cultures()}, {t.key: t for t in cgd.all_topics()})
    return float(cga.markedness(ext)["overall"].rate.iloc[0])


def test_07_culturegen_quick_smoke(tmp_path):
    from helpers.core.run import run_notebook

    run_dir = run_notebook(
        "07_culturegen",
        files=[str(PARAMS_DIR / "07_culturegen" / "quick.yaml")],
        overrides=TINY,
        outputs=tmp_path,
        progress=False,
    )
    m = read_json(run_dir / "metrics.json")
    assert m["n_cultures"] == 12 and m["n_topics"] == 2 and m["n_generations"] == (12 + 1) * 2
    assert all(k in m for k in m["headline"]) and m["finding"] and m["signal"] and m["findings"]
    assert m["signal"] in (
        "symbols carry signal",
        "associations indistinguishable from chance",
        "associations below chance",
    )
    for key in ("validity_top1", "markedness", "cb_easy_accuracy"):
        lo, hi = m[f"{key}_ci"]
        assert lo <= m[key] <= hi
    assert m["cb_questions"] == 6 and m["extractor_checked"] == 3 and m["extractor_gold_n"] == 38
    lo, hi = m["extractor_rule_exact_ci"]  # the rules against the hand-labelled truth
    assert lo <= m["extractor_rule_exact"] <= hi
    assert m["markedness"] == pytest.approx(_recompute_markedness(run_dir))  # the headline, recomputed from the JSONL
    from helpers.culturegen import cbdata as cgbd
    from helpers.culturegen import culturalbench as cgb  # Easy accuracy, recomputed from the stored option scores

    (cb_file,) = (run_dir / "data").glob("culturalbench_local-*.jsonl")  # the keyed culturalbench stage
    records = [json.loads(line) for line in cb_file.read_text().splitlines() if line.strip()]
    easy, hard = cgbd.load_culturalbench("builtin:culturalbench_offline.jsonl", limit=6)
    preds, _ = cgb.local_predictions(records, easy, hard, "cloze")
    assert m["cb_easy_accuracy"] == pytest.approx(sum(p["pred"] == q["answer"] for p, q in zip(preds, easy)) / 6)
    for key in ("markedness_vocabulary", "markedness_parenthesis"):  # the paper's two marker types, separately
        lo, hi = m[f"{key}_ci"]
        assert lo <= m[key] <= hi
    assert m["frequency_source"].startswith("RedPajama") and set(m["markedness_frequency"]) == {
        "vocabulary",
        "parenthesis",
    }
    assert m["calibrated"] is False and m["marker_rule"] == "paper" and m["cb_skipped_rows"] == {}
    assert set(m["diversity_by_topic"]) == {"food", "clothing", "all topics (sum)"}
    for fig in (
        "validity",
        "markedness",
        "markedness_map_vocabulary",
        "markedness_map_parenthesis",
        "markedness_frequency",
        "diversity",
        "agnostic_presence",
        "culturalbench",
    ):
        assert (run_dir / "figures" / f"{fig}.png").exists(), fig
    html = (run_dir / "report.html").read_text()
    assert "Traceback" not in html and m["finding"].split(":")[0] in html


def test_07_culturegen_full_profile_rehearsal(full_gpu_rehearsal):
    """full-gpu.yaml rehearsed (helpers.core.rehearsal): Mistral-7B and the Qwen extractor become tiny stand-ins, counts
    cut by rehearse.yaml; the LLM extractor reads every culture-conditioned generation, the options are scored by letter."""
    run_dir = full_gpu_rehearsal[0] / "07_culturegen" / "full-gpu"  # the session's full-gpu suite rehearsal (conftest)
    m = read_json(run_dir / "metrics.json")
    assert read_json(run_dir / "run.json")["rehearsal"] is True
    assert m["n_cultures"] == 3 and m["n_generations"] == (3 + 1) * 3  # three gender forms, the baseline included
    assert m["extractor"] == "llm" and m["extractor_checked"] == 3  # hand-labelled generations (rehearse.yaml)
    assert m["extractor_gold_n"] == 38 and m["calibrated"] is True  # Mistral-7B: calibrated, as the paper
    assert m["cb_scoring"] == "letter" and m["cb_questions"] == 3
    assert m["validity_pairs"] > 0 and m["finding"] and m["signal"]
