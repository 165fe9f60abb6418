"""The 18 foundational challenges and the map of which notebook informs which (issue #28 item 6): ids, the mapped
metrics exist in each notebook's quick run, the index's "By challenge" view and the README table."""

import re
from pathlib import Path

import pytest

from helpers.core import challenges as ch
from helpers.core.store import read_json

ROOT = Path(__file__).resolve().parents[1]
MAP = ch.challenge_map()


def test_eighteen_challenges_with_the_papers_ids_in_three_groups():
    cs = ch.challenges()
    ids = [c["id"] for c in cs]
    assert len(cs) == 18 and len(set(ids)) == 18
    assert ids == [f"2.{i}" for i in range(1, 8)] + [f"3.{i}" for i in range(1, 7)] + [f"4.{i}" for i in range(1, 6)]
    assert {c["group"] for c in cs} == {
        "Scientific understanding of LLMs",
        "Development and deployment methods",
        "Sociotechnical challenges",
    }
    assert all(c["title"] and c["title"][0].isupper() for c in cs)


def test_the_map_names_known_challenges_and_existing_notebooks():
    assert ch.map_problems() == []
    for nb in MAP:
        assert (ROOT / "notebooks" / f"{nb}.ipynb").exists(), f"challenge_map.yaml names {nb}, which has no notebook"
    assert ch.map_problems(mapping={"x": [{"challenge": "9.9", "metrics": [], "why": ""}]}) == [
        "x: unknown challenge id '9.9' (known: " + ", ".join(c["id"] for c in ch.challenges()) + ")",
        "x: challenge 9.9 names no metric",
    ]


def _sources(nb: str) -> str:
    """The notebook's code and the code of the experiment packages it imports: where its metric keys are written."""
    text = "".join(
        (ROOT / "notebooks" / f"{nb}{s}").read_text()
        for s in (".py", ".ipynb")
        if (ROOT / "notebooks" / f"{nb}{s}").exists()
    )
    for pkg in sorted(set(re.findall(r"helpers\.(\w+)", text)) - {"core"}):
        text += "".join(p.read_text() for p in sorted((ROOT / "src" / "helpers" / pkg).rglob("*.py")))
    return text


@pytest.mark.parametrize("nb", sorted(MAP))
def test_every_mapped_metric_is_written_by_the_notebooks_quick_run(nb):
    """Each key is written by the notebook or its package as a literal key (a cheap check that runs no notebook);
    where a quick run exists under outputs/, its metrics.json must hold the key too."""
    src = _sources(nb)
    keys = {k for e in MAP[nb] for k in e["metrics"]}
    missing = sorted(k for k in keys if not re.search(rf"[\"']{re.escape(k)}[\"']|\b{re.escape(k)}=", src))
    assert not missing, f"{nb} never writes the metric(s) {missing} that challenge_map.yaml names"
    run = ROOT / "outputs" / nb / "quick"
    if (run / "metrics.json").exists() and read_json(run / "run.json").get("status") == "ok":
        metrics = read_json(run / "metrics.json")
        assert keys <= set(metrics), f"{nb}'s quick run lacks {sorted(keys - set(metrics))}"


def _run(nb, finished, status="ok", **metrics):
    return {"notebook": nb, "run_name": "quick", "status": status, "finished_at": finished, "metrics": metrics}


def test_index_section_shows_all_challenges_the_latest_ok_value_and_gaps():
    mapping = {
        "07_culturegen": [{"challenge": "4.1", "metrics": ["markedness", "absent"], "why": "defaults"}],
        "09_icot": [{"challenge": "2.4", "metrics": ["icot_accuracy"], "why": "internalized"}],
    }
    runs = [
        _run("07_culturegen", 1, markedness=0.25, markedness_ci=[0.2, 0.3]),
        _run("07_culturegen", 2, markedness=0.5),  # newest ok run wins
        _run("07_culturegen", 3, status="failed", markedness=0.9),
    ]  # a failed run is never shown
    page = ch.index_section(runs, mapping)
    assert page.count("<tr>") == 19  # header + 18 challenges
    assert "markedness = 0.5" in page and "0.9" not in page and "absent = –" in page
    assert "no run yet" in page  # 09 has no run
    assert page.count(">gap</b>") == 16 and "16 gaps" in page


def test_readme_table_is_generated_from_the_map():
    table = ch.markdown_table({"12_participai": [{"challenge": "4.4", "metrics": ["develop_share"], "why": ""}]})
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| challenge")]
    assert len(rows) == 18
    assert "| 4.4 Socioeconomic impacts of LLMs may be highly disruptive | `12_participai` (develop_share) |" in table
    assert table.count("**gap**") == 17 and table.endswith("1 of 18 challenges informed; 17 gaps.")


def test_outputs_index_has_the_by_challenge_view(tmp_path):
    from helpers.core.report import write_index
    from helpers.core.store import atomic_write_json

    run = tmp_path / "12_participai" / "quick"
    atomic_write_json(
        run / "run.json",
        {"notebook": "12_participai", "run_name": "quick", "status": "ok", "started_at": 1.0, "finished_at": 2.0},
    )
    atomic_write_json(run / "metrics.json", {"develop_share": 0.8, "develop_share_ci": [0.75, 0.84]})
    page = write_index(tmp_path).read_text()
    by = page.split("<h2>By challenge</h2>", 1)[1]
    assert by.count("<tr>") == 19 and "develop_share = 0.8 [0.75, 0.84]" in by
    assert "coding_micro_f1 = –" in by and "no run yet" in by  # a mapped key the run lacks; notebooks never run


def test_map_entries_have_exactly_their_three_fields():
    import yaml

    raw = yaml.safe_load(ch.MAP_FILE.read_text())
    for nb, entries in raw.items():
        for e in entries:  # a comma inside a flow mapping would split "why" into stray keys
            assert set(e) == {"challenge", "metrics", "why"}, (nb, e)


def test_a_per_category_metric_is_shown_rounded():
    from helpers.core.challenges import _value

    shown = _value({"sft_accuracy": {"reasoning": 0.3125, "instruction": 0.29411764705882354}}, "sft_accuracy")
    assert shown == "{reasoning: 0.3125, instruction: 0.2941}"
