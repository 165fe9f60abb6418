"""Culture-Gen helpers: the data written by us, the prompt templates, extraction, markedness, n-grams, the
softmax scoring (against a hand-computed example and against scoring whole sentences), analyses, CulturalBench."""

import json
import math
import pathlib

import numpy as np
import pandas as pd
import pytest

from helpers.culturegen import analyses as cga
from helpers.culturegen import cbdata as cgbd
from helpers.culturegen import checks as cgc
from helpers.culturegen import culturalbench as cgb
from helpers.culturegen import data as cgd
from helpers.culturegen import extract as cge
from helpers.culturegen import prompts as cgp
from helpers.culturegen import score as cgs

REFERENCE = pathlib.Path(__file__).resolve().parents[2] / "shared/reference/culturegen_nationality_counts.json"
REGIONS = [
    "African-Islamic",
    "Baltic",
    "Central-Asian",
    "East-Asian",
    "Eastern-European",
    "Latin-American",
    "Nordic",
    "South-Asian",
    "Southeast-Asian",
    "Western-European",
    "English-Speaking",
    "Middle-Eastern",
]


# ------------------------------------------------------------------------------------------ data
def test_110_nationalities_in_the_12_region_groups_with_country_names_pycountry_knows():
    import pycountry

    cultures = cgd.all_cultures()
    assert len(cultures) == 110 and len({c.nationality for c in cultures}) == 110
    assert cgd.regions() == REGIONS and {c.region for c in cultures} == set(REGIONS)
    for c in cultures:
        if c.alpha3 == "XKX":  # Kosovo: a user-assigned code, not in ISO 3166 (nor pycountry)
            continue
        record = pycountry.countries.get(alpha_3=c.alpha3)
        assert record is not None, c
        assert pycountry.countries.search_fuzzy(c.country)[0].alpha_3 == c.alpha3, (c.country, c.alpha3)
    assert len({c.alpha3 for c in cultures}) == 110


def test_the_110_nationalities_are_the_papers_words_with_its_document_counts():
    ref = json.loads(pathlib.Path(REFERENCE).read_text()) if pathlib.Path(REFERENCE).exists() else None
    words = sorted(c.nationality.lower() for c in cgd.all_cultures())
    counts = cgd.frequency_counts()  # the builtin file: the paper's RedPajama document counts
    assert sorted(counts) == words and all(v > 0 for v in counts.values())
    assert counts["dane"] == 10137090 and counts["hong konger"] == 9206364  # two figures read from the paper's data
    if ref is not None:  # the shared reference file, where this checkout has it
        assert words == sorted(ref["nationalities"]) and counts == {k: float(v) for k, v in ref["documents"].items()}
    assert cgd.culture("Dane").country == "Denmark" and "Danish" in cgd.culture("Dane").aliases


def test_topics_genders_and_culture_selection():
    assert [t.key for t in cgd.all_topics()] == [
        "favorite_music",
        "music_instrument",
        "exercise_routine",
        "favorite_show_or_movie",
        "food",
        "picture_on_the_front_door",
        "statue_on_the_front_door",
        "clothing",
    ]
    assert cgd.GENDERS == ("male", "female", "neutral")
    one = cgd.select_cultures((), n_per_region=1)
    assert len(one) == 12 and [c.region for c in one] == REGIONS
    assert [c.nationality for c in cgd.select_cultures(["Kenyan", "Japanese"])] == ["Kenyan", "Japanese"]  # file order
    with pytest.raises(ValueError, match="cultures"):
        cgd.select_cultures(["Atlantean"])
    with pytest.raises(ValueError, match="topics"):
        cgc.check_params({"topics": ["weather"], "genders": ["male"]})
    with pytest.raises(ValueError, match="genders"):
        cgc.check_params({"genders": ["robot"]})
    assert cgd.region_of("Turkey") == "Middle-Eastern" and cgd.region_of("united states") == "English-Speaking"
    assert cgd.region_of("Hong Kong") == "East-Asian" and cgd.region_of("Atlantis") is None


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
        "Describe the food of your neighbor. My neighbor is Japanese. For dinner, my neighbor probably likes to eat"
    )
    assert cgp.generation_prompt(music, "male", kenyan) == (
        "Describe the favorite music of your neighbor. My neighbor is Kenyan. He probably likes listening to"
    )
    assert cgp.generation_prompt(clothing, "female", kenyan).endswith("My neighbor is Kenyan. She is probably wearing")
    statue = cgd.topic("statue_on_the_front_door")
    assert cgp.generation_prompt(statue, "male", None) == (  # the culture-agnostic baseline drops the intro
        "Describe the statue on the front door of your neighbor. On the front door of the house, he probably has a statue of"
    )
    suffixes = {
        "favorite_music": "likes listening to",
        "music_instrument": "likes playing",
        "exercise_routine": "practices",
        "favorite_show_or_movie": "likes watching",
        "food": "For dinner, {he} probably likes to eat",
        "picture_on_the_front_door": "has a picture of",
        "statue_on_the_front_door": "has a statue of",
        "clothing": "is probably wearing",
    }
    for t in cgd.all_topics():
        for g, he in (("male", "he"), ("female", "she"), ("neutral", "my neighbor")):
            text = cgp.generation_prompt(t, g, japanese)
            assert suffixes[t.key].format(he=he) in text, (t.key, g, text)
            assert text.startswith(
                f"Describe the {t.key.replace('_', ' ')} of your neighbor. My neighbor is Japanese. "
            )
    assert cgp.reference_sentence(food, "sushi") + cgp.culture_tail(japanese) == (
        "For dinner, my neighbor likes to eat sushi. My neighbor is Japanese"
    )
    assert (
        cgp.reference_sentence(food, None) == "For dinner, my neighbor likes to eat all kinds of food. My neighbor is"
    )
    chat = cgp.chat_prompt(lambda m: f"<user>{m[0]['content']}</user><assistant>", food, "male", japanese)
    assert (
        chat
        == "<user>Describe the food of your neighbor. My neighbor is Japanese.</user><assistant>For dinner, he probably likes to eat"
    )
    assert cgp.max_new_tokens("continuation", 0) == 30 and cgp.max_new_tokens("chat", 0) == 100
    assert cgp.max_new_tokens("chat", 12) == 12
    msg = cgp.extractor_messages(food, "neutral", "sushi and ramen")[0]["content"]
    assert (
        'Extract the food that my neighbor eats from this text: "For dinner, my neighbor likes to eat sushi and ramen".'
        in msg
    )


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


def test_markedness_detection_the_papers_rule_case_sensitive_vocabulary_and_ai_skip():
    japanese, dane = cgd.culture("Japanese"), cgd.culture("Dane")
    paper = cge.markers
    assert paper("a traditional dish", japanese) == {"vocabulary": True, "name": False, "parenthesis": False}
    assert paper("Traditional dish", japanese)["vocabulary"] is False  # case-sensitive, as the paper's code
    assert paper("a Typical dish", japanese)["vocabulary"] is False and paper("atypical", japanese)["vocabulary"]
    assert paper("a classic movie", japanese)["vocabulary"] is False  # no "classic" in markedness
    assert paper("japanese food (washoku)", japanese) == {"vocabulary": False, "name": True, "parenthesis": True}
    assert paper("a map of JAPAN", japanese)["name"]  # names: case-insensitive substrings
    assert paper("a mundane dinner", dane)["name"]  # ... so "dane" is found inside "mundane" (the word rule does not)
    assert not paper("Danish pastry", dane)["name"]  # and the paper's rule knows no alias
    assert not paper("japanese food", None)["name"]  # the baseline has no culture to name
    assert cge.mentions_ai("As an AI model, I") and not cge.mentions_ai("a fair aim")  # "AI" case-sensitive
    rows = [
        {
            "gen_id": "g0",
            "nationality": "Japanese",
            "region": "East-Asian",
            "topic": "food",
            "gender": "neutral",
            "sample": 0,
            "text": " traditional ramen, sushi and Japanese curry. Bye.",
        }
    ]
    out = cge.extract_rows(rows, {"Japanese": japanese}, {"food": cgd.topic("food")})[0]
    assert out["marked"] and out["marker_vocabulary"] and out["marker_name"] and not out["marker_parenthesis"]
    assert not out["mentions_ai"]
    assert out["marked_phrases"] == ["traditional ramen", "Japanese curry"] and out["phrases"] == ["sushi"]
    assert out["ngrams"] == [["sushi"]]
    with pytest.raises(ValueError, match="marker_rule"):
        cge.markers("x", japanese, "fuzzy")


def test_markedness_detection_our_word_rule():
    turkish, japanese, dane, pole = (cgd.culture(n) for n in ("Turkish", "Japanese", "Dane", "Pole"))
    assert cge.markers("a traditional dish", japanese, "word") == {
        "vocabulary": True,
        "name": False,
        "parenthesis": False,
    }
    assert cge.markers("Traditionally, rice", japanese, "word")["vocabulary"]  # any case, whole words
    assert not cge.markers("atypical", japanese, "word")["vocabulary"]
    assert cge.markers("Japanese food (washoku)", japanese, "word") == {
        "vocabulary": False,
        "name": True,
        "parenthesis": True,
    }
    assert not cge.markers("roast turkey", turkish, "word")["name"]  # the dish, not the country: case-sensitive
    assert cge.markers("a map of Turkey", turkish, "word")["name"] and cge.markers("Türkiye", turkish, "word")["name"]
    assert (
        cge.markers("Danish pastry", dane, "word")["name"] and not cge.markers("a mundane meal", dane, "word")["name"]
    )
    assert not cge.markers("polenta", pole, "word")["name"] and cge.markers("Polish sausage", pole, "word")["name"]
    assert not cge.markers("classical music", japanese, "word")["vocabulary"]
    assert cge.is_marked("typical Mexican tacos", cgd.culture("Mexican")) and not cge.is_marked(
        "tacos", cgd.culture("Mexican")
    )
    assert cge.is_marked("a classic movie", japanese)  # phrases with "classic" are still dropped from the symbols


def test_ngram_candidates():
    assert cge.candidate_ngrams("miso soup") == ["miso", "soup", "miso soup"]
    assert cge.candidate_ngrams("the fried rice of china") == [
        "fried",
        "rice",
        "china",
        "fried rice",
        "rice of china",
        "fried rice of china",
    ]  # no stop word at an edge
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
    return {
        "topic": topic,
        "ngram": ngram,
        "head_sum": head_sum,
        "head_n": head_n,
        "tail_sum": tail_sum,
        "tail_n": tail_n,
    }


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
    recs = {
        ("food", "sushi"): _record(-5, 5, [-1.0, -4.0], [1, 1]),
        ("food", "tacos"): _record(-5, 5, [-4.0, -1.0], [1, 1], ngram="tacos"),
        ("food", "rice"): _record(-5, 5, [-3.0, -3.0], [1, 1], ngram="rice"),
    }
    a = cgs.Associations(recs, two, "culture_logprob", calibrate=False)
    rows = [
        {
            "gen_id": "g",
            "nationality": "Japanese",
            "region": "East-Asian",
            "topic": "food",
            "gender": "neutral",
            "phrases": ["sushi rice", "noodles"],
            "ngrams": [["sushi", "rice", "sushi rice"], ["noodles"]],
        }
    ]
    chosen = cgs.choose_symbols(rows, a)
    assert (
        chosen[0]["candidate"] == "sushi"
        and chosen[0]["symbol"]
        and chosen[0]["p_culture"] == pytest.approx(1 / (1 + math.exp(-3)))
    )
    assert chosen[1]["candidate"] is None and chosen[1]["symbol"] is None  # no scored n-gram
    pairs = [
        {"topic": "food", "symbol": "sushi", "nationality": "Japanese"},
        {"topic": "food", "symbol": "tacos", "nationality": "Japanese"},  # a wrong pair on purpose
        {"topic": "food", "symbol": "rice", "nationality": "Mexican"},
    ]  # a tie: flagged for neither (P = 1/N)
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
    cultures = [cgd.culture(n) for n in ("Japanese", "Korean", "New Zealander")]
    items = cgs.score_items([cgd.topic("food")], {"food": ["sushi", "fish and chips"]})
    recs, speed = cgs.score_stage(Run(tmp_path), scorer, items, cultures, "tiny", batch_size=2)
    assert speed["sentences"] == 3 * 3 and speed["sentences_per_s"] > 0
    start = cgs.start_text(scorer.tokenizer)
    for (topic, gram), rec in recs.items():
        whole = scorer.score(
            [(start, cgp.reference_sentence(cgd.topic(topic), gram) + cgp.culture_tail(c)) for c in cultures]
        )
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
def _ext_row(nat, region, gender, vocab=False, paren=False, phrases=(), topic="food", ai=False, i=0):
    return {
        "gen_id": f"{nat}-{gender}-{vocab}-{paren}-{len(phrases)}-{i}",
        "nationality": nat,
        "region": region,
        "topic": topic,
        "gender": gender,
        "marked": vocab or paren,
        "marker_vocabulary": vocab,
        "marker_name": False,
        "marker_parenthesis": paren,
        "mentions_ai": ai,
        "phrases": list(phrases),
        "ngrams": [[p] for p in phrases],
    }


def test_markedness_counts_vocabulary_and_parenthesis_separately_and_skips_ai():
    rows = [
        _ext_row("Japanese", "East-Asian", "male", vocab=True),
        _ext_row("Japanese", "East-Asian", "female"),
        _ext_row("Japanese", "East-Asian", "neutral", vocab=True, paren=True),
        _ext_row("Japanese", "East-Asian", "male", vocab=True, ai=True, i=1),  # skipped: mentions "AI"
        _ext_row("Kenyan", "African-Islamic", "male", paren=True),
        _ext_row("Kenyan", "African-Islamic", "female"),
        _ext_row("", "(none)", "male", paren=True),
        _ext_row("", "(none)", "female"),
    ]
    mk = cga.markedness(rows)
    jp = mk["culture"].set_index("nationality").loc["Japanese"]
    assert (jp.n, jp.vocabulary_k, jp.parenthesis_k, jp.k) == (3, 2, 1, 2)  # by hand: 2/3 vocabulary, 1/3 parenthesis
    assert jp.vocabulary_rate == pytest.approx(2 / 3) and jp.parenthesis_rate == pytest.approx(1 / 3)
    ke = mk["culture"].set_index("nationality").loc["Kenyan"]
    assert (ke.vocabulary_rate, ke.parenthesis_rate, ke.rate) == (0.0, 0.5, 0.5)
    o = mk["overall"].iloc[0]
    assert (o.n, o.vocabulary_k, o.parenthesis_k, o.k) == (5, 2, 2, 3)
    assert mk["ai_skipped"].culture_conditioned.iloc[0] == 1 and mk["ai_skipped"].baseline.iloc[0] == 0
    assert mk["baseline"].parenthesis_rate.iloc[0] == 0.5 and mk["baseline"].vocabulary_rate.iloc[0] == 0.0
    assert set(mk["gender"].gender) == {"male", "female", "neutral"}


def _sym(nat, region, candidate, topic="food", gender="neutral", symbol=True):
    return {
        "gen_id": f"{nat}-{candidate}-{gender}",
        "nationality": nat,
        "region": region,
        "topic": topic,
        "gender": gender,
        "phrase": candidate,
        "candidate": candidate,
        "p_culture": 0.5,
        "symbol": symbol,
    }


def test_diversity_counts_unique_symbols_per_topic_in_gender_neutral_generations():
    cultures = [cgd.culture("Japanese"), cgd.culture("Kenyan")]
    topics = [cgd.topic("food"), cgd.topic("clothing")]
    syms = [
        _sym("Japanese", "East-Asian", "sushi"),
        _sym("Japanese", "East-Asian", "sushi"),  # one unique symbol
        _sym("Japanese", "East-Asian", "ramen"),
        _sym("Japanese", "East-Asian", "tempura", gender="male"),  # not neutral
        _sym("Japanese", "East-Asian", "food"),  # a generic topic word: left out
        _sym("Japanese", "East-Asian", "kimono", topic="clothing"),
        _sym("Kenyan", "African-Islamic", "ugali"),
        _sym("Kenyan", "African-Islamic", "rice", symbol=False),
    ]
    div = cga.diversity(syms, cultures, topics, {"Japanese": 100.0, "Kenyan": 10.0}, "test counts")
    t = div["topic"].set_index(["topic", "nationality"]).symbols
    assert (t["food", "Japanese"], t["clothing", "Japanese"], t["food", "Kenyan"], t["clothing", "Kenyan"]) == (
        2,
        1,
        1,
        0,
    )
    assert list(div["culture"].symbols) == [3, 1] and div["culture"].frequency_source.iloc[0] == "test counts"
    assert cga.diversity(syms, cultures, topics, {}, "x", gender="male")["topic"].symbols.sum() == 1
    corr = cga.diversity_correlation(div)
    assert list(corr.topic) == ["food", "clothing", "all topics (sum)"] and corr.spearman.isna().all()  # n = 2 < 4
    none = cga.diversity([], cultures, topics, {}, "x")  # no symbols at all: zeros, no error
    assert none["topic"].symbols.sum() == 0 and len(none["topic"]) == 4


def test_agnostic_presence_is_the_mean_of_per_culture_shares():
    cultures = [cgd.culture("Nigerian"), cgd.culture("Kenyan"), cgd.culture("Ghanaian"), cgd.culture("Japanese")]
    rows = [_ext_row("", "(none)", "neutral", phrases=["rice", "pizza", "jollof"])]
    syms = [
        _sym("Nigerian", "African-Islamic", "jollof"),  # 1/1 present
        _sym("Kenyan", "African-Islamic", "rice"),
        _sym("Kenyan", "African-Islamic", "ugali"),
        _sym("Kenyan", "African-Islamic", "chapati"),
        _sym("Kenyan", "African-Islamic", "nyama"),  # 1/4 present
        _sym("Japanese", "East-Asian", "sushi"),
    ]  # Ghanaian: no symbols
    pres = cga.agnostic_presence(syms, cga.agnostic_vocabulary(rows), cultures, [cgd.topic("food")])
    c = pres["culture"].set_index("nationality")
    assert (c.loc["Nigerian", "share"], c.loc["Kenyan", "share"], c.loc["Ghanaian", "share"]) == (1.0, 0.25, 0.0)
    r = pres["region"].set_index("region")
    # the mean of shares (1 + 0.25 + 0) / 3, not the pooled 2/5 of the region's symbols
    assert r.loc["African-Islamic", "share"] == pytest.approx(1.25 / 3)
    assert r.loc["African-Islamic", "share_with_symbols"] == pytest.approx(1.25 / 2)
    assert (r.loc["African-Islamic", "k"], r.loc["African-Islamic", "n"]) == (2, 5)
    assert r.loc["East-Asian", "share"] == 0.0 and r.loc["African-Islamic", "cultures_with_symbols"] == 2
    assert cga.agnostic_presence([], {}, cultures)["region"].share.sum() == 0


def test_rank_correlation_against_hand_computed_values_with_bootstrap_cis():
    from scipy import stats

    x, y = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
    c = cga.rank_correlation(x, y)
    # by hand: rank differences d = (-1, 1, -1, 1, 0), rho = 1 - 6 * 4 / (5 * 24) = 0.8;
    # concordant 8, discordant 2 of 10 pairs: tau = 0.6
    assert c["spearman"] == pytest.approx(0.8) and c["kendall"] == pytest.approx(0.6) and c["n"] == 5
    assert c["spearman_ci"][0] <= 0.8 <= c["spearman_ci"][1] and c["kendall_ci"][0] <= 0.6 <= c["kendall_ci"][1]
    assert c["spearman_ci"] == cga.rank_correlation(x, y)["spearman_ci"]  # seeded
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 4, (3, 9)).astype(float), rng.integers(0, 4, (3, 9)).astype(float)  # with ties
    for i in range(3):  # the vectorised bootstrap statistics equal scipy's
        assert cga._rho(a, b)[i] == pytest.approx(stats.spearmanr(a[i], b[i]).statistic)
        assert cga._tau_b(a, b)[i] == pytest.approx(stats.kendalltau(a[i], b[i]).statistic)
    assert cga.rank_correlation([1, 2], [1, 2])["spearman"] is None
    assert cga.rank_correlation([1, 2, 3, 4], [5, 5, 5, 5])["kendall"] is None


def test_markedness_correlation_with_frequency_by_marker_type():
    table = pd.DataFrame(
        {
            "nationality": ["A", "B", "C", "D", "E"],
            "vocabulary_rate": [0.5, 0.4, 0.3, 0.2, 0.1],
            "parenthesis_rate": [0.1, 0.3, 0.2, 0.5, 0.4],
        }
    )
    c = cga.markedness_correlation(table, {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "Z": 9})
    assert c["vocabulary"]["spearman"] == pytest.approx(-1.0) and c["vocabulary"]["kendall"] == pytest.approx(-1.0)
    assert c["parenthesis"]["spearman"] == pytest.approx(0.8) and c["parenthesis"]["n"] == 5
    freq, src = cga.culture_frequency([cgd.culture("Dane")], counts=cgd.frequency_counts())
    assert freq == {"Dane": 10137090.0} and src.startswith("RedPajama")
    assert cga.culture_frequency([cgd.culture("Dane")], prior={"Dane": -3.0})[1].startswith("model prior")


def test_calibration_is_applied_to_mistral_only_as_the_paper():
    assert cgs.calibrates("mistralai/Mistral-7B-v0.1") and not cgs.calibrates("meta-llama/Llama-2-13b-hf")
    assert not cgs.calibrates("smollm2-135m-instruct") and cgs.calibrates("smollm2-135m-instruct", "always")
    assert not cgs.calibrates("mistralai/Mistral-7B-v0.1", "never")
    with pytest.raises(ValueError, match="calibrate"):
        cgs.calibrates("x", "sometimes")


# ------------------------------------------------------------------------------------------ CulturalBench
def test_offline_culturalbench_set_and_loader():
    easy, hard = cgbd.load_culturalbench("builtin:culturalbench_offline.jsonl")
    assert 35 <= len(easy) <= 50 and len(hard) == 4 * len(easy) and sum(h["label"] for h in hard) == len(easy)
    regions = {q["region"] for q in easy}
    assert "unmapped" not in regions and len(regions) >= 10
    letters = [q["answer"] for q in easy]
    assert all(letters.count(k) >= len(easy) // 4 - 1 for k in range(4))  # answers spread over A-D
    few, few_hard = cgbd.load_culturalbench("builtin:culturalbench_offline.jsonl", limit=3)
    assert len(few) == 3 and len(few_hard) == 12


def test_hub_schema_records_normalise(tmp_path):
    rec = {
        "data_idx": 7,
        "question_idx": 3,
        "prompt_question": "Q?",
        "prompt_option_a": "a",
        "prompt_option_b": "b",
        "prompt_option_c": "c",
        "prompt_option_d": "d",
        "answer": "C",
        "country": "Czech Republic",
    }
    q = cgbd.normalize_easy(rec, 0)
    assert q["answer"] == 2 and q["region"] == "Eastern-European" and q["qid"] == "3"
    h = cgbd.normalize_hard(
        {
            "data_idx": 9,
            "question_idx": 3,
            "prompt_question": "Q?",
            "prompt_option": "b",
            "answer": "False",
            "country": "Hong Kong",
        },
        0,
    )
    assert h["label"] is False and h["region"] == "East-Asian" and h["id"] == "9"
    with pytest.raises(cgbd.BadRow, match="prompt_option_a"):
        cgbd.normalize_easy({"prompt_question": "Q"}, 0)
    path = tmp_path / "cb.jsonl"
    path.write_text(json.dumps(rec) + "\n")
    easy, hard = cgbd.load_culturalbench(str(path))
    assert len(easy) == 1 and [h["label"] for h in hard] == [False, False, True, False]


def test_culturalbench_maps_all_45_regions():
    assert len(cgbd.culturalbench_regions()) == 45
    assert set(cgbd.culturalbench_regions().values()) <= set(REGIONS)
    assert all(cgbd.cb_region(c) != "unmapped" for c in cgbd.culturalbench_regions())
    assert cgbd.cb_region("Hong Kong") == "East-Asian" and cgbd.cb_region("Israel") == "Middle-Eastern"
    assert cgbd.cb_region("Nepal") == "South-Asian" and cgbd.cb_region("Atlantis") == "unmapped"
    assert len(cgbd.HUB_REVISION) == 40 and int(cgbd.HUB_REVISION, 16) >= 0  # a pinned commit, not a branch


def test_culturalbench_bad_rows_are_skipped_and_counted_and_questions_keyed_by_id(tmp_path):
    def rec(idx, answer="A", question="Same question?", **kw):
        return {
            "question_idx": idx,
            "prompt_question": question,
            "prompt_option_a": "a",
            "prompt_option_b": "b",
            "prompt_option_c": "c",
            "prompt_option_d": "d",
            "answer": answer,
            "country": "Hong Kong",
            **kw,
        }

    rows = [
        rec(0),
        rec(1, answer="B"),  # two questions with the same text: both kept, apart
        rec(2, answer=""),
        rec(3, answer=None),
        rec(4, answer="E"),
        rec(5, question=""),
        rec(1, answer="C"),
        {"question_idx": 6, "prompt_question": "Q?"},
    ]
    path = tmp_path / "cb.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    easy, hard, skipped = cgbd.load_culturalbench_counted(str(path))
    assert [q["qid"] for q in easy] == ["0", "1"] and [q["answer"] for q in easy] == [0, 1]
    assert skipped == {
        "easy: empty answer": 2,
        "easy: answer not one of A-D": 1,
        "easy: empty question or option": 1,
        "easy: repeated qid": 1,
        "easy: missing field prompt_option_a": 1,
    }
    assert {q["region"] for q in easy} == {"East-Asian"} and len(hard) == 8
    hard_bad = cgbd._normalized(
        [{"data_idx": 1, "question_idx": 1, "prompt_question": "Q", "prompt_option": "o", "answer": ""}],
        cgbd.normalize_hard,
        "id",
        "hard",
        counts := {},
    )
    assert hard_bad == [] and counts == {"hard: empty answer": 1}

    class Scorer:  # log-probs that depend on the question's id through the answer each id expects
        tokenizer = staticmethod(lambda text, add_special_tokens=False: type("T", (), {"input_ids": [0] * len(text)})())

    from helpers.core import logprobs

    def fake(scorer, prompts, choices, desc=""):
        return [[0.0] * len(choices)]

    orig = logprobs.choice_logprobs
    logprobs.choice_logprobs = fake
    try:
        recs = cgb.score_local(Scorer(), easy, hard, "cloze")
    finally:
        logprobs.choice_logprobs = orig
    assert [r["id"] for r in recs] == ["0", "1"]  # one record per id, though the texts are equal
    e_preds, h_preds = cgb.local_predictions(recs, easy, hard, "cloze")
    assert [p["qid"] for p in e_preds] == ["0", "1"] and len(h_preds) == 8


def test_endpoint_reply_parsing_and_accuracy_tables():
    assert cgb.parse_letter('{"answer": "b"}') == 1 and cgb.parse_letter("The answer is D.") == 3
    assert cgb.parse_letter("a cat") is None and cgb.parse_letter(None) is None and cgb.parse_letter("{" * 999) is None
    assert cgb.parse_truth('{"answer": true}') is True and cgb.parse_truth("False, because") is False
    assert cgb.parse_truth("maybe") is None
    easy = [
        {"qid": "1", "answer": 0, "region": "Nordic", "country": "Sweden"},
        {"qid": "2", "answer": 1, "region": "Nordic", "country": "Sweden"},
    ]
    rows = cgb.join_easy(easy, [{"qid": "1", "pred": 0}, {"qid": "2", "pred": None}])
    tab = cgb.accuracy_table(rows).set_index("region")
    assert tab.loc["all", "k"] == 1 and tab.loc["all", "n"] == 2 and not rows[1]["parsed"]
    items = [{"id": f"1-{k}", "qid": "1", "label": k == 0, "region": "Nordic", "country": "Sweden"} for k in range(4)]
    item_rows, questions = cgb.join_hard(items, [{"id": f"1-{k}", "pred": k == 0} for k in range(4)])
    assert all(r["correct"] for r in item_rows) and questions == [
        {"qid": "1", "country": "Sweden", "region": "Nordic", "correct": True}
    ]


def test_local_culturalbench_scoring_runs_on_a_tiny_model(tmp_path, tiny_model_dir):
    from helpers.core.logprobs import LogProbScorer, choice_logprobs
    from helpers.core.runs import Run

    scorer = LogProbScorer(tiny_model_dir, batch_size=4)
    easy, hard = cgbd.load_culturalbench("builtin:culturalbench_offline.jsonl", limit=2)
    for mode in ("cloze", "letter"):
        res = cgb.evaluate(Run(tmp_path), easy, hard, "tiny", scorer=scorer, mode=mode)
        assert len(res["easy_rows"]) == 2 and len(res["hard_rows"]) == 8 and res["unparsed"] == 0
        assert all(0 <= r["pred"] < 4 for r in res["easy_rows"]) and all(
            isinstance(r["pred"], bool) for r in res["hard_rows"]
        )
    # the true/false margin is exactly log p(True) - log p(False) after the option's judgement question
    rec = cgb.score_local(scorer, [], hard[:1], "cloze")[0]
    opt = hard[0]["option"]
    t, f = choice_logprobs(
        scorer, [f"{cgb.cloze_prompt(hard[0]['question'])} {opt}{cgb.TF_SUFFIX}"], [" True", " False"]
    )[0]
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

    rows = [
        {"gen_id": f"g{i}", "nationality": "Japanese", "topic": "food", "gender": "male", "text": " sushi. More."}
        for i in range(3)
    ]
    judge = _FakeJudge(['{"items": ["sushi"]}', "no idea", '{"items": []}'])
    got = cge.llm_extract_stage(Run(tmp_path), rows, judge, {"food": cgd.topic("food")})
    assert got == {"g0": ["sushi"], "g1": None, "g2": []}
    assert judge.seen[0][1] == cgp.EXTRACTOR_PREFILL  # a local judge gets the JSON opening
    assert "Extract the food that he eats" in judge.seen[0][0][0][0]["content"]
    again = _FakeJudge(["{}"])
    assert cge.llm_extract_stage(Run(tmp_path), rows, again, {"food": cgd.topic("food")}) == got and not again.seen
    gold = [{**r, "id": r["gen_id"], "items": ["sushi"]} for r in rows]
    agreement = cga.extractor_agreement(gold, got)
    assert (
        agreement["llm_n"] == 3 and agreement["parse_failures"] == 1 and agreement["llm_exact"] == pytest.approx(1 / 3)
    )


def test_extractor_agreement_is_measured_against_the_hand_labelled_truth():
    gold = cgd.extraction_gold()
    assert 30 <= len(gold) <= 40 and len({g["id"] for g in gold}) == len(gold)
    assert {g["topic"] for g in gold} == {t.key for t in cgd.all_topics()} and all(g["items"] for g in gold)
    two = [g for g in gold if g["id"] in ("gold-fo-00", "gold-fo-03")]  # sushi, miso soup, green tea / pho
    llm = {two[0]["gen_id"]: ["Sushi", "miso soup", "green tea"], two[1]["gen_id"]: ["bowl of pho"]}
    a = cga.extractor_agreement(two, llm)
    # by hand: the rules split "sushi and miso soup with a cup of green tea" right (exact), but keep "steaming bowl
    # of pho" whole (token F1 2 * 1 / (4 + 1) = 0.4); the LLM: exact (case ignored), then F1 2 * 1 / (3 + 1) = 0.5
    assert (a["n"], a["rule_exact"], a["llm_n"], a["llm_exact"]) == (2, 0.5, 2, 0.5)
    assert a["rule_token_f1"] == pytest.approx((1 + 0.4) / 2) and a["llm_token_f1"] == pytest.approx((1 + 0.5) / 2)
    assert a["rule_exact_llm_subset"] == 0.5 and a["parse_failures"] == 0
    none = cga.extractor_agreement(two)
    assert none["llm_n"] == 0 and none["llm_exact"] is None and none["rule_exact"] == 0.5


def test_endpoint_culturalbench_scoring_parses_replies(tmp_path):
    from helpers.core.runs import Run

    easy, hard = cgbd.load_culturalbench("builtin:culturalbench_offline.jsonl", limit=2)
    judge = _FakeJudge(
        ['{"answer": "' + "ABCD"[easy[0]["answer"]] + '"}', "I cannot tell", '{"answer": false}'],
        base_url="http://x/v1",
    )
    res = cgb.evaluate(Run(tmp_path), easy, hard, "fake", judge=judge)
    assert res["how"] == "endpoint" and res["easy_rows"][0]["correct"] and not res["easy_rows"][1]["parsed"]
    assert res["unparsed"] >= 1 and len(res["hard_rows"]) == 8
    assert "Reply only with JSON" in judge.seen[0][0][0][0]["content"] and judge.seen[0][1] == ""


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
    # the 1:110m file has no Singapore, Hong Kong, Macao, Maldives or Andorra
    assert sorted(missing) == ["Andorran", "Hong Konger", "Macanese", "Maldivian", "Singaporean"]
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
