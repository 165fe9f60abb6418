"""helpers.wildchat: every count and rate the analyses report checked against the counts the fixture generator built
in; the paper's toxicity rule, PII patterns, the schema precheck, streaming from JSONL and Parquet, the other
corpora's schemas, diversity and coverage, the cleaned prompt set as BenchBuilder (03) reads it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers.core.data import DataError, builtin_path, load_records
from helpers.wildchat import corpora
from helpers.wildchat import findings as wf
from helpers.wildchat import language as wlang
from helpers.wildchat import load as wl
from helpers.wildchat import phrases as ph
from helpers.wildchat import safety as ws
from helpers.wildchat.offline_corpora import write_other_corpora
from helpers.wildchat.offline_data import write_fixture
from helpers.wildchat.scan import SCAN_COLUMNS, Reservoir, prompt_record, scan_corpus

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = builtin_path("wildchat_fixture.jsonl")
EXPECTED = json.loads(builtin_path("wildchat_fixture.expected.json").read_text())


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """The notebook's pass over the shipped fixture, with the tokenizer left out (checked on its own below)."""
    tmp = tmp_path_factory.mktemp("scan")
    out = scan_corpus(wl.iter_records("builtin:wildchat_fixture.jsonl", SCAN_COLUMNS), prompts_path=tmp / "cand.jsonl")
    return out, tmp / "cand.jsonl"


def _metrics(scan: dict, lang_rows=None) -> dict:
    check = (
        wlang.agreement(lang_rows)
        if lang_rows is not None
        else {"rate": None, "rate_ci": [0, 1], "checked": 0, "disagree": None}
    )
    return wf.scan_metrics("builtin:wildchat_fixture.jsonl", "fixture", scan, check, 0)


def test_the_shipped_fixture_is_what_the_generator_writes(tmp_path):
    expected = write_fixture(tmp_path / "f.jsonl", n=EXPECTED["n"], seed=EXPECTED["seed"])
    assert json.loads(json.dumps(expected)) == EXPECTED
    assert (tmp_path / "f.jsonl").read_bytes() == FIXTURE.read_bytes()


def test_every_count_and_rate_matches_the_built_in_counts(scanned):
    scan, _ = scanned
    rows = wf.fixture_check(_metrics(scan), EXPECTED)
    bad = [r for r in rows if not r["ok"]]
    assert not bad, bad
    assert len(rows) == len(wf.EXPECTED_COUNTS) + 2 + sum(1 for v in EXPECTED["jailbreaks"].values() if v["matches"])
    # a few of them spelled out, so a broken comparison cannot hide them
    c, s = scan["corpus"], scan["safety"]
    assert (c["conversations"], c["users"], c["turns"]) == tuple(
        EXPECTED[k] for k in ("conversations", "users", "turns")
    )
    assert s["toxic_rate"] == EXPECTED["toxic_conversations"] / EXPECTED["conversations"]
    assert s["toxic_by_role"]["user"]["either"] == EXPECTED["toxic_user"]["either"]
    assert s["jailbreaks"] == EXPECTED["jailbreaks"] and s["redactions"] == EXPECTED["redactions"]
    assert c["countries_users"] == EXPECTED["countries_users"] and c["monthly_model"] == EXPECTED["monthly_model"]
    assert scan["prompt_candidates"] == EXPECTED["prompts_non_toxic"] - EXPECTED["prompts_exact_duplicates"]
    assert s["conversation_flag_mismatches"] == s["turn_flag_mismatches"] == s["redacted_flag_mismatches"] == 0
    assert s["detoxify_at_threshold"] == 1 and len(c["languages"]) == 8


def test_the_fixture_check_catches_a_wrong_count(scanned):
    scan, _ = scanned
    m = json.loads(json.dumps(_metrics(scan)))
    m["corpus"]["countries_users"]["Japan"] += 1
    m["safety"]["jailbreaks"]["DAN"]["successes"] -= 1
    bad = {r["measure"] for r in wf.fixture_check(m, EXPECTED) if not r["ok"]}
    assert bad == {"corpus.countries_users", "safety.jailbreaks", "jailbreak_success_DAN"}


def test_every_built_in_count_is_checked():
    covered = set(wf.EXPECTED_COUNTS.values()) | {"language_mislabels_user_turns", "prompts_non_toxic"}
    derived = {"n", "seed", "messages", "models", "jailbreak_matches", "jailbreak_users", "jailbreak_successes"}
    assert set(EXPECTED) - covered - derived == set()


def test_the_language_detector_finds_exactly_the_planted_wrong_labels(scanned):
    scan, _ = scanned
    rows = wlang.detect_sample(scan["lang_sample"])
    m = _metrics(scan, rows)
    assert m["language_checked_all"] and m["language_disagreements"] == EXPECTED["language_mislabels_user_turns"]
    wanted = ("language_agreement", "language_disagreements")
    check = [r for r in wf.fixture_check(m, EXPECTED) if r["measure"] in wanted]
    assert len(check) == 2 and all(r["ok"] for r in check)


def test_rule_categories_label_every_phrase_as_generated():
    for lang, bank in [("English", ph.EN_SLOTS), *ph.OTHER_SLOTS.items()]:
        for cat, (templates, slots) in bank.items():
            for t in templates:
                for x in slots:
                    assert ph.rule_category(t.format(x=x)) == cat, (lang, t, x)
    assert all(
        ph.rule_category(j.format(x=a)) == "role_play" for j in ph.JAILBREAKS.values() for a in ph.JAILBREAK_ASKS
    )
    assert ph.rule_category("hello there") == "other"


def test_the_papers_toxicity_rule():
    assert ws.turn_flags({"flagged": True}, {"toxicity": 0.01}) == (True, False)
    assert ws.turn_flags({"flagged": False}, {"toxicity": 0.1}) == (False, False)  # "above 0.1": 0.1 is not toxic
    assert ws.turn_flags({"flagged": False}, {"toxicity": 0.1000001}) == (False, True)
    assert ws.turn_flags(None, None) == (False, False)
    c = ws.SafetyCounter()
    rec = {
        "conversation": [{"role": "user", "content": "x", "toxic": False}, {"role": "assistant", "content": "y"}],
        "openai_moderation": [{"flagged": False}, {"flagged": True, "categories": {"hate": True}}],
        "detoxify_moderation": [{"toxicity": 0.0}, {"toxicity": 0.0}],
        "toxic": False,
    }
    assert c.add(rec) is True
    r = c.result()
    assert r["conversation_flag_mismatches"] == 1 and r["openai_categories"] == {"assistant": {"hate": 1}}


def test_pii_patterns_and_placeholders():
    assert ws.pii_matches("card 4111 1111 1111 1111, not 4111 1111 1111 1112") == ["credit_card"]
    assert ws.pii_matches("mail a.b@example.org or call +44 020-555-0199") == ["email", "phone"]
    assert ws.pii_matches("<PRESIDIO_ANONYMIZED_EMAIL_ADDRESS> at 10.0.0.1") == ["ip_address"]
    assert ws.pii_matches("solve 3x + 5 = 20 and 7x - 2 = 4x + 10 in 2023-04-09") == []
    assert ws.luhn_ok("4111111111111111") and not ws.luhn_ok("4111111111111112")


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"instruction": "hi", "output": "yo"}\n', "not in the WildChat schema: missing conversation_hash"),
        ("", "is empty"),
        (
            '{"conversation_hash": "a", "model": "m", "timestamp": "t", "conversation": "text", "turn": 1, '
            '"language": "English", "toxic": false}\n',
            "'conversation' must be a list",
        ),
        ("not json\n", "the first record is not JSON"),
    ],
)
def test_bad_input_is_one_line_before_compute(tmp_path, content, message):
    path = tmp_path / "data.jsonl"
    path.write_text(content)
    with pytest.raises(wl.WildChatSourceError, match=message) as exc:
        wl.check_params({"data": str(path), "other_corpora": []})
    assert "\n" not in str(exc.value)


def test_unknown_release_and_corpus_are_refused():
    with pytest.raises(wl.WildChatSourceError, match=r"unknown WildChat release .*did you mean allenai/WildChat-1M"):
        wl.check_source("allenai/WildChat-1m")
    assert wl.check_source("allenai/WildChat-4.8M") == "allenai/WildChat-4.8M"
    with pytest.raises(ValueError, match="unknown corpus schema 'alpacca'"):
        wl.check_params({"data": "builtin:wildchat_fixture.jsonl", "other_corpora": ["alpacca"]})


def test_the_cli_refuses_a_file_not_in_the_schema(tmp_path):
    bad = tmp_path / "alpaca.jsonl"
    bad.write_text(builtin_path("wildchat_alpaca_style.jsonl").read_text())
    proc = subprocess.run(
        [sys.executable, "-m", "helpers.run", "10_wildchat", "-p", f"data={bad}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "not in the WildChat schema" in proc.stderr


def test_parquet_reads_only_the_columns_asked_and_counts_the_same(tmp_path, scanned):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    folder = tmp_path / "shards"
    folder.mkdir()
    for i in range(3):  # a folder of shards, as the hub snapshot is
        pq.write_table(pa.Table.from_pylist(rows[i * 100 : (i + 1) * 100]), folder / f"train-{i:05d}.parquet")
    assert wl.check_source(str(folder)) == str(folder)
    first = next(wl.iter_records(str(folder), columns=["turn", "language"]))
    assert set(first) == {"turn", "language"}
    again = scan_corpus(wl.iter_records(str(folder), SCAN_COLUMNS))
    assert again["corpus"] == scanned[0]["corpus"] and again["safety"] == scanned[0]["safety"]
    assert len(list(wl.iter_records(str(folder), ["turn"], limit=7))) == 7


def test_reservoir_is_bounded_and_reproducible():
    a, b = Reservoir(5, seed=1), Reservoir(5, seed=1)
    for i in range(1000):
        a.add(i)
        b.add(i)
    assert len(a.items) == 5 and a.items == b.items and a.seen == 1000 and max(a.items) > 5
    everything = Reservoir(0)
    for i in range(10):
        everything.add(i)
    assert everything.items == list(range(10))


def test_other_corpora_in_their_own_schemas(tmp_path):
    made = write_other_corpora(tmp_path)
    for name, info in made.items():
        convs = list(corpora.iter_corpus(name, str(tmp_path / f"wildchat_{name}_style.jsonl")))
        assert len(convs) == info["conversations"]
        assert all(c["conversation"][0]["role"] == "user" for c in convs)
    share = tmp_path / "sg.jsonl"
    turns = [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]
    share.write_text(json.dumps({"id": "1", "conversations": turns}))
    (conv,) = corpora.iter_corpus("sharegpt", str(share))
    assert conv["turn"] == 1 and conv["conversation"][1] == {"role": "assistant", "content": "yo", "language": None}
    lmsys = list(corpora.iter_corpus("lmsys", "builtin:wildchat_fixture.jsonl", limit=5))
    assert len(lmsys) == 5 and lmsys[0]["language"]
    assert corpora.parse_spec("oasst=OpenAssistant/oasst1") == ("oasst", "OpenAssistant/oasst1")


def test_the_oasst_trees_users_and_turns():
    from helpers.wildchat.counts import CorpusCounter

    counter = CorpusCounter()
    rows = [json.loads(x) for x in builtin_path("wildchat_oasst_style.jsonl").read_text().splitlines()]
    for conv in corpora.iter_corpus("oasst", "builtin:wildchat_oasst_style.jsonl"):
        counter.add(conv)
    r = counter.result()
    assert r["conversations"] == len({x["message_tree_id"] for x in rows})
    assert r["user_turns"] == sum(x["role"] == "prompter" for x in rows)
    firsts = {x["message_tree_id"]: x["user_id"] for x in reversed(rows) if x["parent_id"] is None}
    assert r["users"] == len(set(firsts.values()))


def test_tokens_per_turn_are_the_tokenizers():
    from helpers.core.hf import load_tokenizer
    from helpers.core.models import resolve_model
    from helpers.wildchat.counts import CorpusCounter

    tok = load_tokenizer(resolve_model("smollm2-135m-instruct"))
    counter = CorpusCounter(tok)
    counter.tokens.batch = 7  # several batches
    recs = list(wl.iter_records("builtin:wildchat_fixture.jsonl", ["conversation"], limit=40))
    for rec in recs:
        counter.add(rec)
    texts = [t["content"] for r in recs for t in r["conversation"] if t["role"] == "user"]
    want = sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts) / len(texts)
    assert counter.result()["user_tokens_per_turn"] == pytest.approx(want)


def test_diversity_coverage_and_near_duplicates():
    from helpers.wildchat.diversity import coverage, diversity, near_duplicates

    eye = np.eye(4, dtype=np.float32)
    assert diversity(eye)["diversity"] == pytest.approx(1.0)
    same = np.tile(eye[:1], (5, 1))
    assert diversity(same)["diversity"] == pytest.approx(0.0)
    lo, hi = diversity(eye, rounds=50)["diversity_ci"]
    assert lo == pytest.approx(1.0) and hi == pytest.approx(1.0)  # resampling never pairs a prompt with itself
    assert coverage(eye, eye[:2])["rate"] == 1.0 and coverage(eye[:2], eye[2:])["rate"] == 0.0
    emb = np.array([[1, 0], [0.999, 0.0447], [0, 1]], dtype=np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    assert near_duplicates(emb, 0.05) == [1]


def test_benchbuilder_reads_the_cleaned_prompt_set_through_run(tmp_path, monkeypatch):
    """03's loader (core.data.load_records with conversations: run:10_wildchat) reads what 10 publishes, ids kept."""
    from helpers.core.runs import RUN_DIR_ENV, run_source
    from helpers.evaluation import benchbuilder as bb
    from helpers.wildchat.export import PROMPTS_FILE

    published = tmp_path / "10_wildchat" / "quick" / "data" / PROMPTS_FILE
    published.parent.mkdir(parents=True)
    texts = [
        ("h1", "Write a Python function that sorts a list of records by date.", "English"),
        ("h2", "请用Python写一个函数，把一个字符串反转过来。", "Chinese"),
    ]
    published.write_text(
        "".join(json.dumps(prompt_record(h, t, lang, ph.rule_category(t))) + "\n" for h, t, lang in texts)
    )
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path / "03_benchbuilder" / "quick"))
    assert run_source("run:10_wildchat") == published
    records = load_records("run:10_wildchat", required=["conversation"])
    prompts, counts = bb.extract_prompts(records, languages=["English"], min_chars=32)
    assert [p["conversation_hash"] for p in prompts] == ["h1"] and counts["language"] == 1
    assert prompts[0]["prompt"] == texts[0][1]
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path / "03_benchbuilder" / "other-run"))
    with pytest.raises(DataError, match="run 10_wildchat with the same run name first"):
        load_records("run:10_wildchat")


def test_clean_prompts_drops_near_duplicates_and_keeps_ids(tmp_path, scanned):
    from helpers.wildchat.export import clean_prompts, read_jsonl

    _, candidates = scanned
    out = tmp_path / "prompts.jsonl"
    counts = clean_prompts(candidates, out, "all-minilm-l6-v2", threshold=0.05)
    kept = read_jsonl(out)
    assert counts["candidates"] == EXPECTED["prompts_non_toxic"] - EXPECTED["prompts_exact_duplicates"]
    assert counts["kept"] == len(kept) == counts["candidates"] - counts["near_duplicates"]
    assert len({r["id"] for r in kept}) == len(kept) and all(not r["toxic"] for r in kept)
    texts = [
        "Write a poem about autumn rain in an old city.",
        "Write a poem about the autumn rain in an old city.",
        "Explain how the stock market works in simple terms.",
    ]  # the second is no exact duplicate, but near
    near = tmp_path / "near.jsonl"
    near.write_text("".join(json.dumps(prompt_record(f"h{i}", t, "English", "x")) + "\n" for i, t in enumerate(texts)))
    clean = clean_prompts(near, tmp_path / "p2.jsonl", "all-minilm-l6-v2", threshold=0.05)
    assert clean["near_duplicates"] == 1
    assert [r["conversation_hash"] for r in read_jsonl(tmp_path / "p2.jsonl")] == ["h0", "h2"]


def test_every_notebook_parameter_is_classified_by_the_stage_graph():
    from helpers.core.params import notebook_path, read_param_specs
    from helpers.wildchat.stages import GRAPH

    assert GRAPH.unclassified(read_param_specs(notebook_path("10_wildchat"))) == []


def test_the_labeler_names_a_category_per_prompt(tmp_path):
    from helpers.core.models import DEFAULT_MODEL, resolve_model
    from helpers.core.rehearsal import tiny_model
    from helpers.wildchat.categories import LABELS, label_agreement, labeler_worker, parse_label

    model = tiny_model("tiny-llama-labeler", resolve_model(DEFAULT_MODEL), tmp_path)
    sample = [
        {"id": "a", "prompt": "Write a poem about rain.", "rule_category": "creative_writing"},
        {"id": "b", "prompt": "Solve the equation 3x + 5 = 20.", "rule_category": "math"},
    ]
    out = labeler_worker(model)(sample)
    assert [r["id"] for r in out] == ["a", "b"] and all(r["llm_category"] in LABELS and r["margin"] >= 0 for r in out)
    agree = label_agreement(sample, out)
    assert agree["labelled"] == 2 and 0 <= agree["rate"] <= 1
    assert parse_label("Category: Creative writing.") == "creative_writing" and parse_label("no idea") is None
