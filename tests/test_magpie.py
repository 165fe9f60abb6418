"""Magpie helpers: template derivation, extraction/cleaning, tag parsing, filters, export."""

from __future__ import annotations

import json

import pytest

from helpers import magpie as mp

# --------------------------------------------------------------------------- templates
# Small Jinja templates written for these tests that mimic each family's published format (the real
# family tokenizers are not available offline). They check that the derivation reproduces the
# known-family table from a template of that shape; they do not prove the real templates match.
FAMILY_TEMPLATES = {
    "llama-3": (
        "{{ '<|begin_of_text|>' }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + "
        "'<|end_header_id|>\n\n' + m['content'] | trim + '<|eot_id|>' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
    ),
    "llama-3.1": (
        "{{ '<|begin_of_text|>' }}{% if messages[0]['role'] != 'system' %}{{ '<|start_header_id|>system"
        "<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>' }}"
        "{% endif %}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + "
        "m['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}"
        "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
    ),
    "qwen2": (
        "{% for m in messages %}{% if loop.first and m['role'] != 'system' %}{{ '<|im_start|>system\nYou are a "
        "helpful assistant.<|im_end|>\n' }}{% endif %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + "
        "'<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    ),
    "qwen2.5": (
        "{% for m in messages %}{% if loop.first and m['role'] != 'system' %}{{ '<|im_start|>system\nYou are "
        "Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}{% endif %}{{ '<|im_start|>' "
        "+ m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}"
        "{{ '<|im_start|>assistant\n' }}{% endif %}"
    ),
    "phi-3": (
        "{{ '<s>' }}{% for m in messages %}{{ '<|' + m['role'] + '|>\n' + m['content'] + '<|end|>\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
    ),
    "gemma-2": (
        "{{ '<bos>' }}{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('System role not "
        "supported') }}{% endif %}{% set role = 'model' if m['role'] == 'assistant' else m['role'] %}"
        "{{ '<start_of_turn>' + role + '\n' + m['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
    ),
    "mistral": (
        "{{ '<s>' }}{% for m in messages %}{% if m['role'] == 'user' %}{{ '[INST] ' + m['content'] + ' [/INST]' }}"
        "{% else %}{{ m['content'] + '</s>' }}{% endif %}{% endfor %}"
    ),
    "chatml": (
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    ),
}
FAMILY_SPECIALS = {
    "llama-3": ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
    "llama-3.1": ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
    "phi-3": ["<s>", "<|user|>", "<|assistant|>", "<|end|>"],
    "gemma-2": ["<bos>", "<start_of_turn>", "<end_of_turn>"],
    "mistral": ["<s>", "</s>", "[INST]", "[/INST]"],
}


@pytest.fixture(scope="module")
def smol_tok(embedded_model_dir):
    from helpers.core.hf import load_tokenizer

    return load_tokenizer(embedded_model_dir)


def family_tokenizer(embedded_model_dir, family):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(embedded_model_dir)
    tok.chat_template = FAMILY_TEMPLATES[family]
    if FAMILY_SPECIALS.get(family):
        tok.add_special_tokens({"additional_special_tokens": FAMILY_SPECIALS[family]})
    return tok


@pytest.mark.parametrize("family", sorted(FAMILY_TEMPLATES))
def test_known_family_table_matches_derivation(embedded_model_dir, family):
    tok = family_tokenizer(embedded_model_dir, family)
    known = mp.KNOWN_PRE_QUERY_TEMPLATES[family]
    derived = mp.derive_pre_query_template(tok, default_system=known["with_default_system"], model_name=family)
    assert derived == known["template"]


def test_smollm2_real_template_matches_table(smol_tok):
    """The one real family template available offline: the embedded SmolLM2 tokenizer."""
    assert mp.derive_pre_query_template(smol_tok) == mp.KNOWN_PRE_QUERY_TEMPLATES["smollm2"]["template"]
    assert mp.derive_pre_query_template(smol_tok, default_system=False) == "<|im_start|>user\n"
    assert mp.default_system_prompt(smol_tok) == "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def test_system_prompt_and_next_turn(smol_tok):
    assert (
        mp.derive_pre_query_template(smol_tok, system_prompt="Be terse.")
        == "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\n"
    )
    hist = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
    ]
    assert (
        mp.next_turn_template(smol_tok, hist)
        == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nq1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n<|im_start|>user\n"
    )


def test_no_default_system_in_templates_without_one(embedded_model_dir):
    assert mp.default_system_prompt(family_tokenizer(embedded_model_dir, "chatml")) is None
    assert mp.default_system_prompt(family_tokenizer(embedded_model_dir, "gemma-2")) is None  # rejects system role


def test_gemma_rejects_a_system_prompt_clearly(embedded_model_dir):
    with pytest.raises(mp.TemplateError, match="refused"):
        mp.derive_pre_query_template(family_tokenizer(embedded_model_dir, "gemma-2"), system_prompt="x")


def test_model_without_chat_template_raises_clear_error(embedded_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(embedded_model_dir)
    tok.chat_template = None
    with pytest.raises(mp.TemplateError, match="no chat template.*pre_query_template"):
        mp.derive_pre_query_template(tok, model_name="base")


def test_stop_strings_cover_template_tokens(embedded_model_dir, smol_tok):
    stops = mp.stop_strings(smol_tok)
    assert "<|im_end|>" in stops and "<|im_start|>" in stops and "\nassistant" in stops
    assert "\n" not in stops and "\n" in mp.stop_strings(smol_tok, first_line=True)
    llama = mp.stop_strings(family_tokenizer(embedded_model_dir, "llama-3"), role_words=False)
    assert {"<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"} <= set(llama)


# --------------------------------------------------------------------------- cleaning
@pytest.mark.parametrize(
    "raw, finish, expected",
    [
        ("  How do I bake bread at home?  ", "stop", ("How do I bake bread at home?", "ok")),
        ("", "stop", ("", "empty")),
        ("   \n ", "stop", ("", "empty")),
        ("Write a poem about the sea and", "length", ("Write a poem about the sea and", "truncated")),
        ("Hello there", "stop", ("Hello there", "too_short")),
        ("Question: What is 2 + 2 equal to?\nAnswer: 4", "stop", ("What is 2 + 2 equal to?", "ok")),
        ("Task: Sort this list of numbers please.", "stop", ("Sort this list of numbers please.", "ok")),
        ("Explain recursion to a child<|im_end|>junk", "stop", ("Explain recursion to a child", "ok")),
    ],
)
def test_clean_instruction(raw, finish, expected):
    assert mp.clean_instruction(raw, finish, mp.CleanRules(cut_at=("<|im_end|>",))) == expected


def test_clean_first_line_and_no_sanitize():
    rules = mp.CleanRules(first_line=True)
    assert (
        mp.clean_instruction("\nWhat is the capital of Peru?\nMore text here", "stop", rules)[0]
        == "What is the capital of Peru?"
    )
    raw = "Question: is this kept as written?"
    assert mp.clean_instruction(raw, "stop", mp.CleanRules(sanitize=False))[0] == raw
    assert mp.clean_instruction(None)[1] == "empty"


def test_pick_system_prompts():
    names = mp.pick_system_prompts({"a": ["A", 0.9], "b": ["B", 0.1]}, 2000, seed=1)
    assert 0.85 < names.count("a") / 2000 < 0.95
    assert names == mp.pick_system_prompts({"a": ["A", 0.9], "b": ["B", 0.1]}, 2000, seed=1)
    assert mp.pick_system_prompts({}, 3) == ["default"] * 3
    with pytest.raises(ValueError, match="probability"):
        mp.pick_system_prompts({"a": "no prob"}, 3)
    with pytest.raises(ValueError, match="sum to 0"):
        mp.pick_system_prompts({"a": ["A", 0]}, 3)


# --------------------------------------------------------------------------- tags
@pytest.mark.parametrize(
    "task, text, expected",
    [
        (
            "quality",
            '{"input_quality": "good", "explanation": "clear"}',
            {"input_quality": "good", "quality_explanation": "clear"},
        ),
        ("quality", '{"input_quality": "Very Poor"', {"input_quality": "very poor", "quality_explanation": None}),
        (
            "quality",
            'Sure! {"input_quality": "average"} hope that helps',
            {"input_quality": "average", "quality_explanation": None},
        ),
        (
            "difficulty",
            '{"difficulty": "very-hard", "intent": "x", "knowledge": "y"}',
            {"difficulty": "very hard", "intent": "x", "knowledge": "y"},
        ),
        (
            "category",
            '{"task_category": "coding and debugging", "other_task_category": ["Math", "nonsense"]}',
            {"task_category": "Coding & Debugging", "other_task_category": ["Math"]},
        ),
        (
            "category",
            '{"primary_tag": "Information seeking"}',
            {"task_category": "Information seeking", "other_task_category": []},
        ),
    ],
)
def test_parse_tag_valid(task, text, expected):
    assert mp.parse_tag(task, text) == expected


@pytest.mark.parametrize(
    "task, text",
    [
        ("quality", ""),
        ("quality", None),
        ("quality", "I think it is fine."),
        ("quality", '{"input_quality": "great"}'),
        ("difficulty", '{"difficulty": "easy or hard"}'),
        ("category", '{"task_category": 3}'),
        ("category", "{{{{"),
        ("quality", '{"input_quality": ["good"]}'),
    ],
)
def test_parse_tag_garbage_is_none(task, text):
    assert mp.parse_tag(task, text) is None


def test_tag_prompts_prefill(smol_tok):
    raw = mp.tag_prompts("quality", ["How do magnets work?"], smol_tok)[0]
    assert raw.endswith('<|im_start|>assistant\n{"input_quality": "') and "How do magnets work?" in raw
    assert mp.tag_prompts("category", ["q"], smol_tok, label_first=False)[0].endswith("assistant\n{")
    msgs = mp.tag_prompts("difficulty", ["q"])[0]
    assert msgs[0]["role"] == "user" and "very hard" in msgs[0]["content"]


class FakeJudge:
    """Returns canned answers per tag task (garbage for difficulty)."""

    def complete(self, prompts, desc=""):
        if "quality" in desc:
            return ['good", "explanation": "fine"}'] * len(prompts)
        if "difficulty" in desc:
            return ["<<garbage>>"] * len(prompts)
        return ['Math"}'] * len(prompts)


def test_tag_process_counts_failures_without_crashing(smol_tok):
    recs = mp.tag_process(FakeJudge(), mp.TAG_TASKS, smol_tok)(
        [{"id": "a", "instruction": "q"}, {"id": "b", "instruction": "r"}]
    )
    assert [r["id"] for r in recs] == ["a", "b"]
    assert all(r["input_quality"] == "good" and r["task_category"] == "Math" for r in recs)
    assert all(r["difficulty"] is None and r["tag_failures"] == ["difficulty"] for r in recs)


def test_detect_language_and_guard():
    assert mp.detect_language("How can I improve my sleep schedule during the week?") == "en"
    assert mp.detect_language("¿Cuál es la mejor manera de aprender a programar en casa?") == "es"
    assert mp.detect_language("") is None and mp.detect_language("1234 5678") is None
    assert mp.parse_guard("safe") == "safe"
    assert mp.parse_guard("\nunsafe\nS1,S10") == "unsafe S1,S10"
    assert mp.parse_guard("maybe?") is None and mp.parse_guard(None) is None


def test_reward_model_that_cannot_load_raises_clear_error(tmp_path):
    with pytest.raises(mp.RewardLoadError, match="could not be loaded"):
        mp.RewardScorer(str(tmp_path))  # an empty folder is not a model


def test_density_ratio_reward(tiny_model_dir, tiny_model_dir_b):
    from helpers.core.logprobs import LogProbScorer

    pairs = [("What is 2+2?", "It is 4."), ("Name a colour.", "Blue.")]
    scorer = mp.RewardScorer(tiny_model_dir, tiny_model_dir_b)
    got = scorer.score(pairs)
    chats = [([{"role": "user", "content": q}], r) for q, r in pairs]
    a, b = LogProbScorer(tiny_model_dir).score(chats), LogProbScorer(tiny_model_dir_b).score(chats)
    assert got == pytest.approx([x.sum - y.sum for x, y in zip(a, b)])
    assert scorer.kind == "density_ratio" and all(g != 0 for g in got)


# --------------------------------------------------------------------------- filters
def _rec(
    i,
    q="good",
    d="medium",
    reward=0.0,
    dup_of=None,
    instr="Explain how tides work in detail",
    resp="x" * 10,
    lang="en",
    tokens=50,
):
    cid = f"c{i}"
    return {
        "conversation_id": cid,
        "instruction": instr,
        "response": resp,
        "input_quality": q,
        "difficulty": d,
        "instruct_reward": reward,
        "min_similar_conversation_id": dup_of or cid,
        "language": lang,
        "response_tokens": tokens,
    }


def test_pro_preset():
    recs = [
        _rec(0),
        _rec(1, q="poor"),
        _rec(2, q="average", reward=-11),
        _rec(3, dup_of="c0"),
        _rec(4, q=None),
        _rec(5, instr="Complete the following:"),
        _rec(6, q="excellent", reward=-10),
    ]
    kept, steps = mp.apply_filters(recs, mp.filter_spec("pro"))
    assert [r["conversation_id"] for r in kept] == ["c0", "c6"]
    assert steps[0]["remaining"] == 7 and steps[-1]["remaining"] == 2
    assert sum(s["dropped"] for s in steps) == 5


def test_air_preset_and_top_n():
    recs = [
        _rec(0, q="good", d="hard", resp="a" * 5),
        _rec(1, q="average", d="hard"),
        _rec(2, q="excellent", d="easy"),
        _rec(3, q="excellent", d="very hard", resp="b" * 50),
        _rec(4, q="good", d="medium", resp="c" * 30),
    ]
    kept, _ = mp.apply_filters(recs, mp.filter_spec("air"))
    assert {r["conversation_id"] for r in kept} == {"c0", "c3", "c4"}
    kept, steps = mp.apply_filters(recs, mp.filter_spec("air", top_n_longest=2))
    assert [r["conversation_id"] for r in kept] == ["c3", "c4"]
    assert steps[-1]["filter"].startswith("top 2")


def test_reward_filter_skipped_without_scores_and_other_filters():
    recs = [dict(_rec(0), instruct_reward=None), dict(_rec(1), instruct_reward=None)]
    kept, steps = mp.apply_filters(recs, mp.filter_spec("pro"))
    assert len(kept) == 2 and "skipped" in steps[-1]["note"]
    recs = [_rec(0, lang="en", tokens=5), _rec(1, lang="fr"), _rec(2, instr="Hi"), _rec(3)]
    kept, _ = mp.apply_filters(
        recs, mp.filter_spec("none", languages=["en"], min_response_tokens=10, min_instruction_words=3)
    )
    assert [r["conversation_id"] for r in kept] == ["c3"]


def test_zero_survivors_and_bad_preset():
    kept, steps = mp.apply_filters([_rec(0, q="poor")], mp.filter_spec("pro"))
    assert kept == [] and steps[-1]["remaining"] == 0
    assert mp.apply_filters([], mp.filter_spec("air"))[0] == []
    with pytest.raises(ValueError, match="unknown filter preset"):
        mp.filter_spec("ultra")
    with pytest.raises(ValueError, match="min_quality"):
        mp.filter_spec("none", min_quality="great")


# --------------------------------------------------------------------------- export
def test_sharegpt_export_and_card():
    rec = {
        **_rec(0),
        "turns": [{"instruction": "q1", "response": "a1"}, {"instruction": "q2", "response": "a2"}],
        "task_category": "Math",
    }
    row = mp.to_sharegpt(rec)
    assert row["conversations"] == [
        {"from": "human", "value": "q1"},
        {"from": "gpt", "value": "a1"},
        {"from": "human", "value": "q2"},
        {"from": "gpt", "value": "a2"},
    ]
    assert set(mp.SHAREGPT_TAGS) <= set(row) and row["task_category"] == "Math"
    assert mp.to_messages(row)[2] == {"role": "user", "content": "q2"}
    json.dumps(row)
    card = mp.data_card("x", [{"stage": "samples", "count": 10}], 3, 6, {"Math": 3}, {"tok/s": 1.0}, {"a": 1})
    assert "3 / 6 (50.0%)" in card and "| Math | 3 |" in card


def test_flatten_samples_statuses():
    calls = [
        {
            "id": "call-0",
            "system": "default",
            "seed": 3,
            "samples": [
                {"text": "How do I tie a tie quickly?", "n_tokens": 8, "finish_reason": "stop"},
                {"text": "Write a", "n_tokens": 64, "finish_reason": "length"},
            ],
        }
    ]
    rows = mp.flatten_samples(calls, mp.CleanRules(), {"default": "<T>"}, {"temperature": 1.0})
    assert [r["status"] for r in rows] == ["ok", "truncated"]
    assert rows[0]["id"] == "call-0-000" and rows[0]["pre_query_template"] == "<T>"
    assert rows[0]["gen_input_configs"] == {"temperature": 1.0, "seed": 3, "system_prompt": "default"}


def test_instruction_and_response_stages_with_tiny_model(tmp_path, tiny_model_dir):
    """The stage functions run end to end (HF backend, random tiny model) and resume without redoing work."""
    from helpers import Generator, Sampling
    from helpers.core.store import JsonlStore, run_stage

    gen = Generator(tiny_model_dir, backend="hf")
    tmpl = {"default": mp.derive_pre_query_template(gen.tokenizer)}
    sampling = Sampling(n=3, temperature=1.0, max_tokens=6, stop=tuple(mp.stop_strings(gen.tokenizer)))
    items = mp.instruction_calls(2, ["default", "default"], 0, "k")
    store = JsonlStore(tmp_path / "calls.jsonl")
    calls = run_stage(store, items, mp.instruction_process(gen, tmpl, sampling), batch_size=1)
    assert len(calls) == 2 and all(len(c["samples"]) == 3 and c["seconds"] >= 0 for c in calls)
    before = gen.stats.completions
    run_stage(JsonlStore(tmp_path / "calls.jsonl"), items, mp.instruction_process(gen, tmpl, sampling))
    assert gen.stats.completions == before  # resumed: nothing regenerated
    rows = [{"id": "r0", "instruction": "Tell me about tea.", "system": "default"}]
    proc = mp.response_process(
        gen,
        gen.tokenizer,
        {"default": None},
        Sampling(max_tokens=5),
        n_turns=2,
        query_sampling=Sampling(temperature=1.0, max_tokens=5),
        rules=mp.CleanRules(min_words=1),
    )
    out = proc(rows)[0]
    assert out["id"] == "r0" and out["n_turns"] >= 1 and out["response"] == out["turns"][0]["response"]


def test_logprob_tags_always_pick_an_allowed_label(tiny_model_dir):
    from helpers.core.logprobs import LogProbScorer

    recs = mp.logprob_tag_process(LogProbScorer(tiny_model_dir), mp.TAG_TASKS)(
        [{"id": "a", "instruction": "Write a poem about the sea."}, {"id": "b", "instruction": "What is 2 + 2?"}]
    )
    for r in recs:
        assert r["tag_failures"] == []
        assert r["task_category"] in mp.TASK_CATEGORIES and r["input_quality"] in mp.QUALITY_LEVELS
        assert r["difficulty"] in mp.DIFFICULTY_LEVELS and r["margin_category"] >= 0


def test_tag_agreement_counts_exact_matches_with_a_wilson_interval():
    ref = [
        {"id": "1", "task_category": "Math"},
        {"id": "2", "task_category": "Math"},
        {"id": "3", "task_category": "Coding & Debugging"},
        {"id": "4", "task_category": "Others"},
    ]
    pred = {
        "1": {"task_category": "Math"},
        "2": {"task_category": "Reasoning"},
        "3": {"task_category": "Coding & Debugging"},
    }
    [row] = mp.tag_agreement(pred, ref, ["category"])
    assert row["n"] == 4 and row["agreement"] == 0.5 and row["majority_baseline"] == 0.5
    assert row["ci_low"] < 0.5 < row["ci_high"] and row["chance"] == pytest.approx(1 / 12)


def test_shipped_tag_reference_uses_only_allowed_labels():
    from helpers.core.data import load_records

    ref = load_records("builtin:magpie_tag_reference.jsonl")
    assert len(ref) >= 30 and len({r["id"] for r in ref}) == len(ref)
    assert {r["task_category"] for r in ref} == set(mp.TASK_CATEGORIES)
    assert all(r["input_quality"] in mp.QUALITY_LEVELS and r["difficulty"] in mp.DIFFICULTY_LEVELS for r in ref)
