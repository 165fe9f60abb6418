"""Culture-Gen helpers: the data written by us, the prompt templates, extraction, markedness, n-grams, the
softmax scoring (against a hand-computed example and against scoring whole sentences), analyses, CulturalBench."""
import json
import math

import numpy as np
import pytest

from helpers.culturegen import analyses as cga
from helpers.culturegen import checks as cgc
from helpers.culturegen import culturalbench as cgb
from helpers.culturegen import data as cgd
from helpers.culturegen import extract as cge
from helpers.culturegen import prompts as cgp
from helpers.culturegen import score as cgs

REGIONS = ["African-Islamic", "Baltic", "Central-Asian", "East-Asian", "Eastern-European", "Latin-American", "Nordic",
           "South-Asian", "Southeast-Asian", "Western-European", "English-Speaking", "Middle-Eastern"]


# ------------------------------------------------------------------------------------------ data
def test_110_nationalities_in_the_12_region_groups_with_country_names_pycountry_knows():
    import pycountry
    cultures = cgd.all_cultures()
    assert len(cultures) == 110 and len({c.nationality for c in cultures}) == 110
    assert cgd.regions() == REGIONS and {c.region for c in cultures} == set(REGIONS)
    for c in cultures:
        record = pycountry.countries.get(alpha_3=c.alpha3)
        assert record is not None, c
        assert pycountry.countries.search_fuzzy(c.country)[0].alpha_3 == c.alpha3, (c.country, c.alpha3)
    assert len({c.alpha3 for c in cultures}) == 110


def test_topics_genders_and_culture_selection():
    assert [t.key for t in cgd.all_topics()] == ["favorite_music", "music_instrument", "exercise_routine",
                                                   "favorite_show_or_movie", "food", "picture_on_the_front_door",
                                                   "statue_on_the_front_door", "clothing"]
    assert cgd.GENDERS == ("male", "female", "neutral")
    one = cgd.select_cultures((), n_per_region=1)
    assert len(one) == 12 and [c.region for c in one] == REGIONS
    assert [c.nationality for c in cgd.select_cultures(["Kenyan", "Japanese"])] == ["Kenyan", "Japanese"]  # file order
    with pytest.raises(ValueError, match="cultures"):
        cgd.select_cultures(["Atlantean"])
    with pytest.raises(ValueError, match="topics"):
        cgc.precheck({"topics": ["weather"], "genders": ["male"]})
    with pytest.raises(ValueError, match="genders"):
        cgc.precheck({"genders": ["robot"]})
    assert cgd.region_of("Turkey") == "Middle-Eastern" and cgd.region_of("united states") == "English-Speaking"
    assert cgd.region_of("Hong Kong") is None


def test_known_symbol_pairs_cover_every_quick_culture():
    pairs = cgd.symbol_pairs()
    assert len(pairs) >= 40 and len({p["id"] for p in pairs}) == len(pairs)
    covered = {p["nationality"] for p in pairs}
    assert {c.nationality for c in cgd.select_cultures((), 1)} <= covered


# ------------------------------------------------------------------------------------------ prompts
def test_templates_render_exactly_the_reference_sentences():
    food, clothing, music = cgd.topic("food"), cgd.topic("clothing"), cgd.topic("favorite_music")
    japanese, kenyan = cgd.culture("Japanese"), cgd.culture("Kenyan")
    assert cgp.generation_prompt(food, "neutral", japanese) == (
        "Describe the food of your neighbor. My neighbor is Japanese. For dinner, my neighbor probably likes to eat")
    assert cgp.generation_prompt(music, "male", kenyan) == (
        "Describe the favorite music of your neighbor. My neighbor is Kenyan. He probably likes listening to")
    assert cgp.generation_prompt(clothing, "female", kenyan).endswith("My neighbor is Kenyan. She is probably wearing")
    statue = cgd.topic("statue_on_the_front_door")
    assert cgp.generation_prompt(statue, "male", None) == (  # the culture-agnostic baseline drops the intro
        "Describe the statue on the front door of your neighbor. On the front door of the house, he probably has a statue of")
    suffixes = {"favorite_music": "likes listening to", "music_instrument": "likes playing", "exercise_routine": "practices",
                "favorite_show_or_movie": "likes watching", "food": "For dinner, {he} probably likes to eat",
                "picture_on_the_front_door": "has a picture of", "statue_on_the_front_door": "has a statue of",
                "clothing": "is probably wearing"}
    for t in cgd.all_topics():
        for g, he in (("male", "he"), ("female", "she"), ("neutral", "my neighbor")):
            text = cgp.generation_prompt(t, g, japanese)
            assert suffixes[t.key].format(he=he) in text, (t.key, g, text)
            assert text.startswith(f"Describe the {t.key.replace('_', ' ')} of your neighbor. My neighbor is Japanese. ")
    assert cgp.reference_sentence(food, "sushi") + cgp.culture_tail(japanese) == (
        "For dinner, my neighbor likes to eat sushi. My neighbor is Japanese")
    assert cgp.reference_sentence(food, None) == "For dinner, my neighbor likes to eat all kinds of food. My neighbor is"
    chat = cgp.chat_prompt(lambda m: f"<user>{m[0]['content']}</user><assistant>", food, "male", japanese)
    assert chat == "<user>Describe the food of your neighbor. My neighbor is Japanese.</user><assistant>For dinner, he probably likes to eat"
    assert cgp.max_new_tokens("continuation", 0) == 30 and cgp.max_new_tokens("chat", 0) == 100
    assert cgp.max_new_tokens("chat", 12) == 12
    msg = cgp.extractor_messages(food, "neutral", "sushi and ramen")[0]["content"]
    assert 'Extract the food that my neighbor eats from this text: "For dinner, my neighbor likes to eat sushi and ramen".' in msg


# ------------------------------------------------------------------------------------------ extraction
def test_first_sentence_and_rule_items():
    assert cge.first_sentence(" sushi and miso soup. Then he sleeps.") == "sushi and miso soup"
    assert cge.first_sentence(" a picture of St. Peter's church. Nice") == "a picture of St. Peter's church"
    assert cge.first_sentence(" jazz\nand more") == "jazz"
    assert cge.first_sentence(" jazz, rock") == "jazz, rock"
    assert cge.rule_items("a bowl of rice with kimchi and miso soup") == ["rice", "kimchi", "miso soup"]
    assert cge.rule_items("pizza, pasta, or lasagna because he is Italian") == ["pizza", "pasta", "lasagna"]
    assert cge.rule_items("a little of whatever he makes, so I’d suggest you order") == ["whatever he makes"]
    assert cge.rule_items("") == []


def test_markedness_detection():
    turkish, japanese = cgd.culture("Turkish"), cgd.culture("Japanese")
    assert cge.markers("a traditional dish", japanese) == {"vocabulary": True, "name": False, "parenthesis": False}
    assert cge.markers("Japanese food (washoku)", japanese) == {"vocabulary": False, "name": True, "parenthesis": True}
    assert cge.markers("a picture of Japan", japanese)["name"]
    assert not cge.markers("roast turkey", turkish)["name"]  # the dish, not the country: names are case-sensitive
    assert cge.markers("a map of Turkey", turkish)["name"] and cge.markers("Türkiye", turkish)["name"]
    assert not cge.markers("classical music", japanese)["vocabulary"]  # "classical" is a genre
    assert cge.markers("a classic movie", japanese)["vocabulary"]
    assert not cge.markers("Japanese food", None)["name"]  # the baseline has no culture to name
    assert cge.is_marked("typical Mexican tacos", cgd.culture("Mexican")) and not cge.is_marked("tacos", cgd.culture("Mexican"))
    rows = [{"gen_id": "g0", "nationality": "Japanese", "region": "East-Asian", "topic": "food", "gender": "neutral",
             "sample": 0, "text": " traditional ramen, sushi and Japanese curry. Bye."}]
    out = cge.extract_rows(rows, {"Japanese": japanese}, {"food": cgd.topic("food")})[0]
    assert out["marked"] and out["marker_vocabulary"] and out["marker_name"]
    assert out["marked_phrases"] == ["traditional ramen", "Japanese curry"] and out["phrases"] == ["sushi"]
    assert out["ngrams"] == [["sushi"]]


def test_ngram_candidates():
    assert cge.candidate_ngrams("miso soup") == ["miso", "soup", "miso soup"]
    assert cge.candidate_ngrams("the fried rice of china") == ["fried", "rice", "china", "fried rice", "rice of china",
                                                               "fried rice of china"]  # no stop word at an edge
    assert cge.candidate_ngrams("spicy food", generic_words=("food",)) == ["spicy", "spicy food"]
    grams = cge.candidate_ngrams("red green blue black white pink")
    assert "red green blue black" in grams and not any(len(g.split()) > 4 for g in grams)
    assert cge.candidate_ngrams("food", generic_words=("food",)) == []  # only a generic topic word
    assert cge.candidate_ngrams("Döner Kebab!") == ["döner", "kebab", "döner kebab"]
    assert cge.clean_phrase("I’d like “Sushi”") == "i'd like sushi"


def test_llm_item_parsing_never_raises_and_counts_failures():
    assert cge.parse_llm_items('{"items": ["sushi", "ramen"]}') == ["sushi", "ramen"]
    assert cge.parse_llm_items('{"items": []}') == []
    assert cge.parse_llm_items('{"items": "none"}') == []
    assert cge.parse_llm_items('{"items": "sushi; ramen"}') == ["sushi", "ramen"]
    assert cge.parse_llm_items('{"items": ["sushi", "ram') == ["sushi", "ram"]  # a reply cut at max tokens is closed
    for bad in (None, "", "sushi", '{"items": [1, 2]}', "{" * 5000, '{"x": 1}'):
        assert cge.parse_llm_items(bad) is None, bad
    assert cge.item_agreement(["Sushi"], ["sushi"]) == {"exact": True, "token_f1": 1.0}
    assert cge.item_agreement(["miso soup"], ["soup"])["token_f1"] == pytest.approx(2 / 3)
    assert cge.item_agreement(["x"], None)["exact"] is None


# ------------------------------------------------------------------------------------------ scoring
def _record(head_sum, head_n, tail_sum, tail_n, topic="food", ngram="sushi"):
    return {"topic": topic, "ngram": ngram, "head_sum": head_sum, "head_n": head_n, "tail_sum": tail_sum, "tail_n": tail_n}


def test_softmax_scoring_against_a_hand_computed_example():
    three = [cgd.culture(n) for n in ("Japanese", "Mexican", "Kenyan")]
    rec = _record(-10.0, 5, [-1.0, -2.0, -3.0], [1, 1, 2])
    means = [-11 / 6, -12 / 6, -13 / 7]  # (head + tail) / (head tokens + tail tokens)
    z = sum(math.exp(m) for m in means)
    hand = [math.exp(m) / z for m in means]
    assert np.allclose(cgs.measure(rec, "sentence_mean"), means)
    a = cgs.Associations({("food", "sushi"): rec}, three, "sentence_mean", calibrate=False)
    assert np.allclose(a.probs("food", "sushi"), hand)
    assert [a.is_symbol("food", "sushi", n) for n in ("Japanese", "Mexican", "Kenyan")] == [p > 1 / 3 for p in hand]
    # log p(nationality | sentence), calibrated by the generic sentence: softmax([-1+0.5, -2+2.5, -3+1])
    generic = _record(-9.0, 7, [-0.5, -2.5, -1.0], [1, 1, 2], ngram=None)
    b = cgs.Associations({("food", "sushi"): rec, ("food", None): generic}, three, "culture_logprob", calibrate=True)
    x = [-0.5, 0.5, -2.0]
    assert np.allclose(b.probs("food", "sushi"), [math.exp(v) / sum(math.exp(w) for w in x) for v in x])
    assert b.is_symbol("food", "sushi", "Mexican") and not b.is_symbol("food", "sushi", "Japanese")
    assert b.prior() == {"Japanese": -0.5, "Mexican": -2.5, "Kenyan": -1.0}
    with pytest.raises(KeyError, match="calibration"):
        cgs.Associations({("food", "sushi"): rec}, three, calibrate=True).probs("food", "sushi")


def test_symbol_choice_and_validity_metrics():
    two = [cgd.culture("Japanese"), cgd.culture("Mexican")]
    recs = {("food", "sushi"): _record(-5, 5, [-1.0, -4.0], [1, 1]),
            ("food", "tacos"): _record(-5, 5, [-4.0, -1.0], [1, 1], ngram="tacos"),
            ("food", "rice"): _record(-5, 5, [-3.0, -3.0], [1, 1], ngram="rice")}
    a = cgs.Associations(recs, two, "culture_logprob", calibrate=False)
    rows = [{"gen_id": "g", "nationality": "Japanese", "region": "East-Asian", "topic": "food", "gender": "neutral",
             "phrases": ["sushi rice", "noodles"], "ngrams": [["sushi", "rice", "sushi rice"], ["noodles"]]}]
    chosen = cgs.choose_symbols(rows, a)
    assert chosen[0]["candidate"] == "sushi" and chosen[0]["symbol"] and chosen[0]["p_culture"] == pytest.approx(1 / (1 + math.exp(-3)))
    assert chosen[1]["candidate"] is None and chosen[1]["symbol"] is None  # no scored n-gram
    pairs = [{"topic": "food", "symbol": "sushi", "nationality": "Japanese"},
             {"topic": "food", "symbol": "tacos", "nationality": "Japanese"},  # a wrong pair on purpose
             {"topic": "food", "symbol": "rice", "nationality": "Mexican"}]  # a tie: flagged for neither (P = 1/N)
    v = cgs.validity(pairs, a)
    assert v["top1"] == pytest.approx(1 / 3)  # only sushi; the tie's argmax is the first culture (Japanese)
    assert v["precision"] == pytest.approx(1 / 2) and v["recall"] == pytest.approx(1 / 3)
    assert v["precision_ci"][0] <= v["precision"] <= v["precision_ci"][1]
    grams = cgs.select_ngrams([{**rows[0], "ngrams": [["sushi", "rice"], ["rice"]]}], n_per_topic=1)
    assert grams == {"food": ["rice"]}


# ------------------------------------------------------------------------------------------ scoring with a model
def test_two_piece_scores_equal_whole_sentence_scores(tmp_path, tiny_model_dir):
    from helpers.core.logprobs import LogProbScorer
    from helpers.core.runs import Run
    scorer = LogProbScorer(tiny_model_dir, batch_size=4)
    cultures = [cgd.culture(n) for n in ("Japanese", "South Korean", "New Zealander")]
    items = cgs.score_items([cgd.topic("food")], {"food": ["sushi", "fish and chips"]})
    recs, speed = cgs.score_stage(Run(tmp_path), scorer, items, cultures, "tiny", batch_size=2)
    assert speed["sentences"] == 3 * 3 and speed["sentences_per_s"] > 0
    start = cgs.start_text(scorer.tokenizer)
    for (topic, gram), rec in recs.items():
        whole = scorer.score([(start, cgp.reference_sentence(cgd.topic(topic), gram) + cgp.culture_tail(c)) for c in cultures])
        assert np.allclose(cgs.measure(rec, "sentence_mean"), [w.mean for w in whole], atol=1e-4)
    again, speed2 = cgs.score_stage(Run(tmp_path), scorer, items, cultures, "tiny")
    assert speed2["sentences"] == 0 and again.keys() == recs.keys()  # resumed from the store
    assert speed["whole_sentence_items"] == 0  # BPE splits at the word boundary: the two-piece path ran
    # a tokenizer that would tokenise the pieces differently takes the whole-sentence path, with the same scores
    import unittest.mock as mock
    with mock.patch.object(cgs, "splits_cleanly", return_value=False):
        whole, speed3 = cgs.score_stage(Run(tmp_path / "b"), scorer, items, cultures, "tiny")
    assert speed3["whole_sentence_items"] == len(items)
    for key, rec in recs.items():
        assert np.allclose(cgs.measure(whole[key], "sentence_mean"), cgs.measure(rec, "sentence_mean"), atol=1e-4)
        assert np.allclose(cgs.measure(whole[key], "culture_logprob"), cgs.measure(rec, "culture_logprob"), atol=1e-4)


# ------------------------------------------------------------------------------------------ analyses
def _ext_row(nat, region, gender, marked, phrases=(), topic="food"):
    return {"gen_id": f"{nat}-{gender}-{marked}-{len(phrases)}", "nationality": nat, "region": region, "topic": topic,
            "gender": gender, "marked": marked, "marker_vocabulary": marked, "marker_name": False, "marker_parenthesis": False,
            "phrases": list(phrases), "ngrams": [[p] for p in phrases]}


def test_markedness_presence_and_diversity_tables():
    rows = [_ext_row("Japanese", "East-Asian", "male", True), _ext_row("Japanese", "East-Asian", "female", False),
            _ext_row("Kenyan", "African-Islamic", "male", True), _ext_row("Kenyan", "African-Islamic", "female", True),
            _ext_row("", "(none)", "male", False, ["rice"]), _ext_row("", "(none)", "female", True)]
    mk = cga.markedness(rows)
    region = mk["region"].set_index("region")
    assert region.loc["African-Islamic", "rate"] == 1.0 and region.loc["East-Asian", "rate"] == 0.5
    assert mk["overall"].k.iloc[0] == 3 and mk["overall"].n.iloc[0] == 4 and mk["baseline"].rate.iloc[0] == 0.5
    assert set(mk["gender"].gender) == {"male", "female"}
    syms = [{"gen_id": "a", "nationality": "Japanese", "region": "East-Asian", "topic": "food", "gender": "male",
             "phrase": "rice", "candidate": "rice", "p_culture": 0.6, "symbol": True},
            {"gen_id": "b", "nationality": "Japanese", "region": "East-Asian", "topic": "food", "gender": "male",
             "phrase": "sushi", "candidate": "sushi", "p_culture": 0.7, "symbol": True},
            {"gen_id": "c", "nationality": "Kenyan", "region": "African-Islamic", "topic": "food", "gender": "male",
             "phrase": "sushi", "candidate": "sushi", "p_culture": 0.2, "symbol": False}]
    pres = cga.agnostic_presence(syms, cga.agnostic_vocabulary(rows))
    assert pres["region"].set_index("region").loc["East-Asian", "rate"] == 0.5  # rice also appears without a culture
    cultures = [cgd.culture("Japanese"), cgd.culture("Kenyan")]
    div = cga.diversity(syms, cultures, prior={"Japanese": -3.0, "Kenyan": -5.0})
    assert list(div.symbols) == [2, 0] and div.frequency_source.iloc[0].startswith("model prior")
    assert cga.diversity([], cultures, counts={"Japanese": 10}).frequency_source.iloc[0] == "counts file"
    corr = cga.rank_correlation([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])
    assert corr["spearman"] == pytest.approx(1.0) and corr["kendall"] == pytest.approx(1.0)
    assert cga.rank_correlation([1, 2], [1, 2])["spearman"] is None
    assert cga.agnostic_presence([], {})["region"].empty


# ------------------------------------------------------------------------------------------ CulturalBench
def test_offline_culturalbench_set_and_loader():
    easy, hard = cgb.load_culturalbench("builtin:culturalbench_offline.jsonl")
    assert 35 <= len(easy) <= 50 and len(hard) == 4 * len(easy) and sum(h["label"] for h in hard) == len(easy)
    regions = {q["region"] for q in easy}
    assert "unmapped" not in regions and len(regions) >= 10
    letters = [q["answer"] for q in easy]
    assert all(letters.count(k) >= len(easy) // 4 - 1 for k in range(4))  # answers spread over A-D
    few, few_hard = cgb.load_culturalbench("builtin:culturalbench_offline.jsonl", limit=3)
    assert len(few) == 3 and len(few_hard) == 12


def test_hub_schema_records_normalise(tmp_path):
    rec = {"data_idx": 7, "question_idx": 3, "prompt_question": "Q?", "prompt_option_a": "a", "prompt_option_b": "b",
           "prompt_option_c": "c", "prompt_option_d": "d", "answer": "C", "country": "Czech Republic"}
    q = cgb.normalize_easy(rec, 0)
    assert q["answer"] == 2 and q["region"] == "Eastern-European" and q["qid"] == "3"
    h = cgb.normalize_hard({"data_idx": 9, "question_idx": 3, "prompt_question": "Q?", "prompt_option": "b",
                            "answer": "False", "country": "Hong Kong"}, 0)
    assert h["label"] is False and h["region"] == "unmapped"
    with pytest.raises(Exception, match="prompt_option_a"):
        cgb.normalize_easy({"prompt_question": "Q"}, 0)
    path = tmp_path / "cb.jsonl"
    path.write_text(json.dumps(rec) + "\n")
    easy, hard = cgb.load_culturalbench(str(path))
    assert len(easy) == 1 and [h["label"] for h in hard] == [False, False, True, False]


def test_endpoint_reply_parsing_and_accuracy_tables():
    assert cgb.parse_letter('{"answer": "b"}') == 1 and cgb.parse_letter("The answer is D.") == 3
    assert cgb.parse_letter("a cat") is None and cgb.parse_letter(None) is None and cgb.parse_letter("{" * 999) is None
    assert cgb.parse_truth('{"answer": true}') is True and cgb.parse_truth("False, because") is False
    assert cgb.parse_truth("maybe") is None
    easy = [{"qid": "1", "answer": 0, "region": "Nordic", "country": "Sweden"},
            {"qid": "2", "answer": 1, "region": "Nordic", "country": "Sweden"}]
    rows = cgb.join_easy(easy, [{"qid": "1", "pred": 0}, {"qid": "2", "pred": None}])
    tab = cgb.accuracy_table(rows).set_index("region")
    assert tab.loc["all", "k"] == 1 and tab.loc["all", "n"] == 2 and not rows[1]["parsed"]
    items = [{"id": f"1-{k}", "qid": "1", "label": k == 0, "region": "Nordic", "country": "Sweden"} for k in range(4)]
    item_rows, questions = cgb.join_hard(items, [{"id": f"1-{k}", "pred": k == 0} for k in range(4)])
    assert all(r["correct"] for r in item_rows) and questions == [{"qid": "1", "country": "Sweden", "region": "Nordic", "correct": True}]


def test_local_culturalbench_scoring_runs_on_a_tiny_model(tmp_path, tiny_model_dir):
    from helpers.core.logprobs import LogProbScorer, choice_logprobs
    from helpers.core.runs import Run
    scorer = LogProbScorer(tiny_model_dir, batch_size=4)
    easy, hard = cgb.load_culturalbench("builtin:culturalbench_offline.jsonl", limit=2)
    for mode in ("cloze", "letter"):
        res = cgb.evaluate(Run(tmp_path), easy, hard, "tiny", scorer=scorer, mode=mode)
        assert len(res["easy_rows"]) == 2 and len(res["hard_rows"]) == 8 and res["unparsed"] == 0
        assert all(0 <= r["pred"] < 4 for r in res["easy_rows"]) and all(isinstance(r["pred"], bool) for r in res["hard_rows"])
    # the true/false margin is exactly log p(True) - log p(False) after the option's judgement question
    rec = cgb.score_local(scorer, [], hard[:1], "cloze")[0]
    opt = hard[0]["option"]
    t, f = choice_logprobs(scorer, [f"{cgb.cloze_prompt(hard[0]['question'])} {opt}{cgb.TF_SUFFIX}"], [" True", " False"])[0]
    assert rec["tf"][opt] == pytest.approx(t - f, abs=1e-3)


class _FakeJudge:
    """Stands in for helpers.core.judge.Judge: canned replies, the prompts it saw recorded."""

    def __init__(self, replies, base_url=""):
        self.replies, self.base_url, self.name, self.max_tokens, self.seen = list(replies), base_url, "fake", 24, []

    def complete(self, prompts, desc="", prefill=""):
        self.seen.append((prompts, prefill))
        return [self.replies[i % len(self.replies)] for i in range(len(prompts))]


def test_llm_extraction_stage_counts_failures_and_resumes(tmp_path):
    from helpers.core.runs import Run
    rows = [{"gen_id": f"g{i}", "nationality": "Japanese", "topic": "food", "gender": "male", "text": " sushi. More."}
            for i in range(3)]
    judge = _FakeJudge(['{"items": ["sushi"]}', "no idea", '{"items": []}'])
    got = cge.llm_extract_stage(Run(tmp_path), rows, judge, {"food": cgd.topic("food")})
    assert got == {"g0": ["sushi"], "g1": None, "g2": []}
    assert judge.seen[0][1] == cgp.EXTRACTOR_PREFILL  # a local judge gets the JSON opening
    assert "Extract the food that he eats" in judge.seen[0][0][0][0]["content"]
    again = _FakeJudge(["{}"])
    assert cge.llm_extract_stage(Run(tmp_path), rows, again, {"food": cgd.topic("food")}) == got and not again.seen
    ext = cge.extract_rows(rows, {"Japanese": cgd.culture("Japanese")}, {"food": cgd.topic("food")}, got, use="llm")
    agreement = cga.extractor_agreement(ext)
    assert agreement["n"] == 3 and agreement["parse_failures"] == 1 and agreement["exact"] == 0.5


def test_endpoint_culturalbench_scoring_parses_replies(tmp_path):
    from helpers.core.runs import Run
    easy, hard = cgb.load_culturalbench("builtin:culturalbench_offline.jsonl", limit=2)
    judge = _FakeJudge(['{"answer": "' + "ABCD"[easy[0]["answer"]] + '"}', "I cannot tell", '{"answer": false}'], base_url="http://x/v1")
    res = cgb.evaluate(Run(tmp_path), easy, hard, "fake", judge=judge)
    assert res["how"] == "endpoint" and res["easy_rows"][0]["correct"] and not res["easy_rows"][1]["parsed"]
    assert res["unparsed"] >= 1 and len(res["hard_rows"]) == 8
    assert 'Reply only with JSON' in judge.seen[0][0][0][0]["content"] and judge.seen[0][1] == ""


def test_world_map_draws_every_culture_with_a_shape_and_names_the_rest():
    import pandas as pd

    from helpers.culturegen import data as cgd
    from helpers.culturegen import worldmap as wm
    cultures = cgd.all_cultures()
    shapes = wm.country_shapes()
    assert {"FRA", "NOR", "JPN", "KEN", "BRA"} <= set(shapes)  # France and Norway carry -99 in the file
    table = pd.DataFrame({"nationality": [c.nationality for c in cultures], "rate": [0.5] * len(cultures)})
    values, missing = wm.map_values(table, cultures)
    assert len(values) + len(missing) == len(cultures) == 110
    assert missing == ["Singaporean"]  # the 1:110m file has no Singapore
    fig, n_drawn, no_shape = wm.world_map_figure(table.head(3), cultures)
    assert n_drawn == 3 and no_shape == []
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_world_map_missing_shapes_is_a_clear_error(monkeypatch):
    import importlib.util

    from helpers.culturegen import worldmap as wm
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "geopandas" else real(name, *a))
    with pytest.raises(wm.ShapesUnavailable, match="geopandas==0.14.4"):
        wm.shapes_file()
