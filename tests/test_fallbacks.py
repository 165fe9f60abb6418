"""No silent fallbacks (issue #9, item 3): failed calls are retried, not stored; every fallback is counted."""

import pytest

from helpers.core.stages import StageGraph
from helpers.core.store import RETRY, JsonlStore, fallback_lines, run_stage


def test_retry_records_are_returned_not_stored_and_recomputed_next_run(tmp_path):
    store = JsonlStore(tmp_path / "s.jsonl")
    fail = {"b"}
    seen = []

    def process(batch):
        seen.extend(it["id"] for it in batch)
        return [
            {"id": it["id"], "ok": it["id"] not in fail, **({RETRY: True} if it["id"] in fail else {})} for it in batch
        ]

    items = [{"id": "a"}, {"id": "b"}]
    out = run_stage(store, items, process)
    assert [r["ok"] for r in out] == [True, False] and store.retry_pending == 1
    assert "b" not in JsonlStore(tmp_path / "s.jsonl")
    fail.clear()
    seen.clear()
    again = JsonlStore(tmp_path / "s.jsonl")
    assert [r["ok"] for r in run_stage(again, items, process)] == [True, True] and seen == ["b"]


def test_malformed_lines_are_counted_in_stage_health(tmp_path):
    graph = StageGraph({"labels": {"params": ["m"]}})
    bound = graph.bind(tmp_path, {"m": 1})
    path = bound.store("labels").path
    path.write_text('{"id": "a"}\nnot json\n{"no_id": 1}\n')
    with pytest.warns(UserWarning, match="malformed"):
        bound.store("labels")
    assert bound.health() == {"malformed_store_lines": 2, "records_to_retry": 0}
    lines = fallback_lines({"judge endpoint errors": 3, **bound.health()})
    assert len(lines) == 1 and "malformed store lines 2" in lines[0] and "judge endpoint errors 3" in lines[0]
    assert fallback_lines({"x": 0}) == []


def test_failed_endpoint_call_is_marked_and_not_cached(tmp_path):
    pytest.importorskip("openai")
    from helpers.core.judge import Judge

    judge = Judge(
        "m",
        base_url="http://127.0.0.1:9/v1",
        health_check=False,
        on_error="empty",
        max_retries=0,
        timeout=2,
        cache_dir=tmp_path,
    )
    texts = judge.complete([[{"role": "user", "content": "hi"}]])
    assert texts == [""] and judge.last_failed == [True] and judge.errors == 1
    assert len(judge._cache) == 0


class FakeJudge:
    """Fails the prompts whose text contains 'FAIL' like an endpoint error (on_error='empty')."""

    base_url, name, max_tokens, temperature = "http://x/v1", "fake@x", 8, 0.0

    def __init__(self):
        self.calls = 0

    def complete(self, prompts, desc="", prefill=""):
        self.calls += len(prompts)
        flat = [str(p) for p in prompts]
        self.last_failed = ["FAIL" in f for f in flat]
        return ["" if f else '{"items": ["rice"]}' for f in self.last_failed]


def test_magpie_tagger_endpoint_error_is_retried_not_a_parse_failure(tmp_path):
    from helpers.magpie.tagging import tag_process

    judge = FakeJudge()
    proc = tag_process(judge, ["category"])
    items = [{"id": "1", "instruction": "write a poem"}, {"id": "2", "instruction": "FAIL me"}]
    store = JsonlStore(tmp_path / "tags.jsonl")
    recs = run_stage(store, items, proc)
    assert recs[1]["tag_errors"] == ["category"] and recs[1]["tag_failures"] == []
    assert "2" not in store and "1" in store and store.retry_pending == 1


def test_culturegen_extractor_endpoint_error_is_retried(tmp_path):
    from helpers.culturegen.data import all_topics
    from helpers.culturegen.extract import llm_extract_stage

    topics = {t.key: t for t in all_topics()}
    key = next(iter(topics))
    rows = [
        {"gen_id": "g1", "topic": key, "gender": "neutral", "text": "My neighbor cooks rice."},
        {"gen_id": "g2", "topic": key, "gender": "neutral", "text": "FAIL here."},
    ]
    store = JsonlStore(tmp_path / "ex.jsonl", key="gen_id")
    judge = FakeJudge()
    out = llm_extract_stage(None, rows, judge, topics, store=store)
    assert set(out) == {"g1", "g2"} and out["g2"] is None
    assert "g1" in store and "g2" not in store


def test_an_unreadable_wildbench_table_is_named_not_skipped(tmp_path):
    from helpers.evaluation import arena

    (tmp_path / "leaderboard.csv").write_bytes(b"model,wb_score\n\xff\xfe\xfa,1\n")
    tables = arena.read_model_tables(tmp_path)
    assert tables == {} and set(tables.unreadable) == {"leaderboard.csv"}
    (tmp_path / "leaderboard.csv").write_text("name,wb_score\na,1\n")
    tables = arena.read_model_tables(tmp_path)
    assert "no 'model' column" in tables.unreadable["leaderboard.csv"]
    (tmp_path / "leaderboard.csv").write_text("model,wb_score\na,1\nb,2\n")
    tables = arena.read_model_tables(tmp_path)
    assert tables == {"leaderboard:wb_score": {"a": 1.0, "b": 2.0}} and tables.unreadable == {}


def test_a_template_error_stops_instead_of_shrinking_the_stop_strings():
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    from helpers.magpie import templates as tpl

    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0, "</s>": 1}, unk_token="<unk>")),
        eos_token="</s>",
        unk_token="<unk>",
    )
    tok.chat_template = "{{ raise_exception('roles must alternate') }}"
    with pytest.raises(tpl.TemplateError, match="stop strings"):
        tpl.stop_strings(tok)
    tok.chat_template = "{% for m in messages %}<|im_start|>{{ m['content'] }}</s>{% endfor %}"
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    assert "<|im_start|>" in tpl.stop_strings(tok, role_words=False)
