"""RewardBench scoring as the reference computes it, the loader, CIs and the offline set."""

import json

import pytest

from helpers.cdr import rewardbench as rb
from helpers.cdr.offline_data import generate_offline_set


def test_ties_are_wrong():
    assert rb.pairwise_correct([1.0, 2.0, 0.5, float("nan")], [0.5, 2.0, 0.7, 0.0]) == [True, False, False, False]


def test_section_scores_weighted_by_reference_counts_and_math_prm_upweighted():
    acc = {"math-prm": 0.5, "hep-python": 1.0, "hep-go": 0.0}
    secs = rb.section_scores(acc)
    # math-prm counts 984 (not its 447 examples), each hep subset 164
    assert secs["Reasoning"] == pytest.approx((0.5 * 984 + 1.0 * 164 + 0.0) / (984 + 164 + 164))
    chat = rb.section_scores({"alpacaeval-easy": 1.0, "mt-bench-easy": 0.0})["Chat"]
    assert chat == pytest.approx(100 / 128)


def test_headline_is_plain_mean_of_four_sections():
    assert rb.headline_score({"Chat": 0.9, "Chat Hard": 0.5, "Safety": 0.7, "Reasoning": 0.3}) == pytest.approx(0.6)
    with pytest.raises(rb.PreferenceDataError):
        rb.headline_score({"Chat": 0.9})


def test_wilson_interval_known_value():
    lo, hi = rb.wilson_interval(8, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.490, 0.943)
    assert rb.wilson_interval(0, 0) == (0.0, 1.0)


def test_report_on_offline_set_uses_observed_counts():
    ex = rb.load_preference_set(per_subset=10)
    correct = [e["subset"] in ("offline-chat-ontopic", "offline-math") for e in ex]
    rep = rb.rewardbench_report(ex, correct, n_boot=200)
    assert rep.sections["Chat"]["score"] == pytest.approx(0.5)
    assert rep.sections["Chat Hard"]["score"] == 0.0
    assert rep.headline == pytest.approx((0.5 + 0 + 0 + 0.5) / 4)
    lo, hi = rep.headline_ci
    assert lo <= rep.headline <= hi
    assert all(r["ci_low"] <= r["accuracy"] <= r["ci_high"] for r in rep.subsets)


def test_offline_set_covers_four_sections_deterministically():
    a, b = generate_offline_set(20, seed=3), generate_offline_set(20, seed=3)
    assert a == b
    assert {rb.section_of(r["subset"]) for r in a} == set(rb.SECTIONS)
    assert all(r["chosen"] != r["rejected"] for r in a)
    assert len({r["id"] for r in a}) == len(a) == 160
    fmt = [r for r in a if "letter 'z'" in r["prompt"]]
    assert all(not any(c.isdigit() or c in "zZ" for c in r["chosen"]) for r in fmt)


def test_shipped_offline_file_matches_generator():
    from helpers.core.data import load_records

    assert load_records("builtin:rewardbench_offline.jsonl") == generate_offline_set(100, seed=0)
    assert len(rb.load_preference_set()) == 800


def test_loader_slices_and_rejects_bad_files(tmp_path):
    first = rb.load_preference_set(per_subset=2)
    second = rb.load_preference_set(per_subset=2, offset=2)
    assert not {e["id"] for e in first} & {e["id"] for e in second}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b", "subset": "nope"}) + "\n")
    with pytest.raises(rb.PreferenceDataError, match="no RewardBench section"):
        rb.load_preference_set(str(bad))
    from helpers.core.data import DataError

    missing = tmp_path / "missing.jsonl"
    missing.write_text(json.dumps({"prompt": "p", "chosen": "a"}) + "\n")
    with pytest.raises(DataError, match="lacks the fields"):
        rb.load_preference_set(str(missing))


def test_hub_style_rows_load(tmp_path):
    rows = [
        {
            "prompt": "q",
            "chosen": "a",
            "rejected": "b",
            "subset": s,
            "id": i,
            "chosen_model": "x",
            "rejected_model": "y",
        }
        for i, s in enumerate(["alpacaeval-easy", "xstest-should-respond", "math-prm", "llmbar-natural"])
    ]
    f = tmp_path / "rb.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ex = rb.load_preference_set(str(f))
    assert [e["section"] for e in ex] == ["Chat", "Safety", "Reasoning", "Chat Hard"]
    rep = rb.rewardbench_report(ex, [True, False, True, True], n_boot=100)
    assert rep.subsets[0]["weight"] in (100, 984, 250, 100)
