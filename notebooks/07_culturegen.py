# ---
# jupyter:
#   helpers:
#     precheck: helpers.culturegen.checks:check_params
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · Culture-Gen: culture-conditioned generation, culture symbols, markedness and diversity
#
# **Question.** When a language model writes about people of a given culture, which symbols (dishes,
# garments, music...) does it reach for, how often does it *mark* a culture as different ("traditional",
# the culture's name, a parenthesised explanation), how diverse are its symbols per culture, and does this
# follow how often the culture appears in its training data? And, as a knowledge check: how well does the
# same model answer questions about cultures?
#
# **Method** (Culture-Gen, Li et al. 2024, arXiv 2404.10199). For the paper's 110 nationalities (its own words:
# "Dane", "Hong Konger", ...) in 12 region groups and 8
# topics, the model continues *"Describe the {topic} of your neighbor. My neighbor is {nationality}. {He / She /
# My neighbor} probably {topic sentence}"* (100 samples, top-k 50, top-p 1, 30 new tokens; 100 for chat
# models); a culture-agnostic baseline drops the "My neighbor is X." sentence. Each continuation is cut at its
# first sentence end; an LLM (or, for small models, a rule: the span after the topic sentence) extracts the
# items; phrases with "traditional", "typical", "classic" or the culture's name are *marked* and dropped; the
# rest give 1-4-gram candidates. A candidate's association with culture c is the softmax over cultures of the
# model's average token log-prob of *"{topic} {n-gram}. My neighbor is {c}"* (calibrated by the culture-agnostic
# sentence for Mistral models, as the paper); it is a **culture symbol** of c when P(c | n-gram) > 1/N. Before
# trusting the scores we test them on culture-symbol pairs written by us (sushi - Japanese, tacos - Mexican, ...):
# precision, recall and top-1 accuracy with Wilson intervals.
# Then three analyses with the paper's definitions: **markedness** (vocabulary and parenthesis markers counted
# separately) per culture, region and gender, and its rank correlation with culture frequency (the paper's RedPajama
# document counts for its 110 nationalities); **symbol diversity** per topic in gender-neutral generations and its
# correlation with frequency; **culture-agnostic presence** (a culture's symbols that also appear without a culture),
# per region as the mean of per-culture shares. Finally a **CulturalBench-style test** (Chiu et al. 2024,
# arXiv 2410.02677): Easy = 4-way multiple choice, Hard = each option judged true or false, accuracy per region.
#
# **What the quick profile shows, and what it does not.** It runs the whole pipeline on the 135M embedded model
# (SmolLM2-135M-Instruct) with one culture per region, all 8 topics, one gender and two samples per prompt,
# scoring only the most frequent candidate n-grams per topic, the rule-based extractor (the LLM extractor is run
# on a small sample to measure agreement), and the offline CulturalBench-style set written by us (41 questions).
# It shows that every stage works, resumes and produces the tables and figures; its validity check says whether
# this small model's associations carry any signal. It does **not** reproduce the paper's findings: a 135M model,
# 12 cultures and 2 samples per prompt are far too little for per-culture conclusions. The full profile
# (`params/07_culturegen/full-gpu.yaml`: 110 cultures x 8 topics x 3 genders x 100 samples, a 7B model, an LLM
# extractor, the hub CulturalBench) is the experiment.

# %% tags=["parameters"]
model = "smollm2-135m-instruct"  # [non-empty] model that generates and whose associations are scored: embedded alias, folder or hub id
backend = "hf"  # [auto|vllm|hf] generation backend: hf on a CPU, auto picks vLLM where installed (GPU)
tensor_parallel_size = 1  # [1..] GPUs for a vLLM model
torch_threads = 1  # [0..] CPU threads for torch (0: the cores free right now, from os.sched_getaffinity and the load average; 1 is steadier on a shared machine)
prompt_format = "continuation"  # [continuation|chat] raw continuation (paper; base models) or the chat template with the reply started by the topic sentence
cultures = []  # nationalities to generate for, the paper's words, e.g. ["Japanese", "Dane"] (empty: all 110)
n_per_region = 1  # [0..] keep the first N cultures of each region group (0: all); the data lists each region's best-known culture first
topics = []  # topic keys (empty: all 8)
genders = ["neutral"]  # [non-empty; male|female|neutral] gender forms of the prompt (paper: all three)
n_samples = 2  # [1..] samples per (culture, topic, gender) prompt (paper: 100)
temperature = 1.0  # [0..] sampling temperature (paper: 1)
top_k = 50  # [0..] top-k sampling (paper: 50)
top_p = 1.0  # [0..1] nucleus sampling (paper: 1)
max_new_tokens = 12  # [0..] new tokens per sample (0: the paper's 30 for continuation, 100 for chat)
seed = 0  # [0..] sampling seed
extractor = "rule"  # [rule|llm] which extraction feeds the symbols: rule (the span after the topic sentence) or llm
extractor_model = "smollm2-135m-instruct"  # [non-empty] LLM extractor: local model, or the endpoint's model name
extractor_base_url = ""  # OpenAI-compatible endpoint of the extractor (empty: run the model locally)
extractor_timeout = 120.0  # [1..] seconds an endpoint request may take (then 2 retries, then a counted failure)
extractor_max_tokens = 24  # [1..] tokens of the extractor's JSON reply
n_agreement = 12  # [0..] hand-labelled generations of agreement_set the LLM extractor reads, checked against their truth (0: none; the rules read all)
agreement_set = "builtin:culturegen_extraction_gold.jsonl"  # [non-empty] hand-labelled generations with their true items (written for this project): the extractors' check
score_measure = "sentence_mean"  # [sentence_mean|culture_logprob] paper: the sentence's average token log-prob; or log p(nationality | sentence)
calibrate = "paper"  # [paper|always|never] subtract each culture's score in the topic's culture-agnostic sentence: paper (Mistral models only, as the paper), every model, or none
n_ngrams_per_topic = 8  # [0..] score the most frequent candidate n-grams of each topic (0: all, as the paper)
score_batch_size = 32  # [1..] n-grams per scoring call (each scored for every culture)
validity_pairs = "builtin:culturegen_symbol_pairs.jsonl"  # [non-empty] known culture-symbol pairs (topic, symbol, nationality)
frequency_measure = "documents"  # [documents|model_prior] culture frequency: corpus document counts (frequency_counts_file; the paper's) or the model-prior proxy (the model's log-prob of the name; not a corpus count)
frequency_counts_file = "builtin:culturegen_redpajama_counts.json"  # JSON {nationality: count} or {"documents": {...}} (builtin: the paper's RedPajama document counts; empty: the same)
marker_rule = "paper"  # [paper|word] markedness markers: paper (case-sensitive "traditional"/"typical" substrings, names case-insensitive) or word (ours: whole words, names case-sensitive with aliases)
cb_data = "builtin:culturalbench_offline.jsonl"  # [non-empty] CulturalBench-style questions: builtin:NAME, a file in the Easy schema, or kellycyy/CulturalBench
cb_revision = "2d5acf9fde133b9607c26a3de8d34390a169d29a"  # hub data revision of kellycyy/CulturalBench (a pinned commit: the 1,227-question release; empty: the latest)
n_cb_questions = 0  # [0..] evaluate at most this many questions (0: all)
cb_model = ""  # model answering the questions (empty: model), or the endpoint's model name
cb_base_url = ""  # OpenAI-compatible endpoint for the questions (empty: log-prob scoring of a local model)
cb_timeout = 120.0  # [1..] seconds an endpoint request may take
cb_local_scoring = "cloze"  # [cloze|letter] local models: each option's mean log-prob after the question, or the option letter's
gpu_memory_utilization = 0.0  # [0..1] vLLM: fraction of GPU memory per engine (CPU build: of RAM for the KV cache); 0: 0.85 on a GPU, 0.3 on a CPU
max_model_len = 0  # [0..] vLLM: context length of an engine (prompt + reply tokens); 0: 2048
executor = "local"  # [local|ray] where the resumable generation / scoring stages and the local judge's calls run: local (this process) or ray (Ray replicas; README, On a cluster)
ray_address = ""  # executor ray: empty starts Ray on this machine; auto, host:port or ray://host:port joins a running cluster
ray_replicas = 1  # [1..] executor ray: data-parallel replicas, each with its own copy of the model
ray_gpus_per_replica = 0  # [0..] executor ray: GPUs per replica (0 on a CPU; above 1: tensor parallel inside the replica, vLLM)

# %%
import pandas as pd
from IPython.display import display

from helpers.core.executor import Executor
from helpers.core.notebook import start_notebook
from helpers.core.plotting import show
from helpers.core.stats import ranked
from helpers.culturegen import analyses as cga
from helpers.culturegen import culturalbench as cgb
from helpers.culturegen import data as cgd
from helpers.culturegen import generate as cgg
from helpers.culturegen import plots as cgp
from helpers.culturegen import score as cgs
from helpers.culturegen import steps as cgst
from helpers.culturegen import worldmap as cgw
from helpers.culturegen.stages import GRAPH

# %%
run, stages = start_notebook("07_culturegen", globals(), GRAPH)  # also sets torch_threads; stage files keyed by params
executor = Executor.from_params(globals())  # the generation and scoring stages run here (local) or on Ray replicas
chosen, chosen_topics = cgd.select_cultures(cultures, n_per_region), cgd.select_topics(topics)
items = cgg.generation_items(chosen, chosen_topics, genders, with_baseline=True)
calibrated = cgs.calibrates(model, calibrate)  # the paper calibrates Mistral-7B only
print(f"{cgst.setup_line(chosen, chosen_topics, genders, len(items), n_samples, executor)}; run folder {run.dir}")
pd.DataFrame([(c.region, c.nationality, c.country) for c in chosen], columns=["region", "nationality", "country"])

# %% [markdown]
# ## 1 · Culture-conditioned generation
# One prompt per (culture, topic, gender) plus the culture-agnostic baseline, `n_samples` continuations each
# (stored per prompt: a rerun generates only what is missing; with `executor = "ray"` the prompts go to Ray Data replicas
# that each load the model once, and the records are the same). Below: one prompt as the model sees it, and the first
# continuation of each culture and topic.

# %%
records, gen_stats = cgg.generate_stage(run, items, model=model, backend=backend, prompt_format=prompt_format,
                                        n_samples=n_samples, temperature=temperature, top_k=top_k, top_p=top_p,
                                        max_tokens=max_new_tokens, seed=seed, tensor_parallel_size=tensor_parallel_size,
                                        store=stages.store("generations"), executor=executor)
rows = cgg.samples(records)
print(f"{len(rows)} continuations, up to {gen_stats['max_new_tokens']} new tokens each: {cgg.speed_line(gen_stats)}")
print("example prompt:", records[0]["prompt"][-300:])
pd.set_option("display.max_colwidth", 110)
pd.DataFrame(rows).groupby(["nationality", "topic"]).head(1)[["nationality", "topic", "text"]].head(12)

# %% [markdown]
# ## 2 · Symbol extraction
# Each continuation is cut at its first sentence end. The **rule-based extractor** takes that span (it starts right
# after the topic sentence), stops at a new clause and splits it into items; the **LLM extractor** gets the paper's
# request ("Extract the {item} from this text ...") and answers in JSON, read by `helpers.core.textparse` (a local model's
# reply is started with `{"items": ["`; unreadable replies are counted). Phrases with a marker are set aside; the
# rest give the 1-4-gram candidates (no n-gram starts or ends with a stop word or is only a generic topic word).
# Both extractors are checked against **truth**: 38 continuations written and labelled by us with the items a reader
# finds in them (`src/helpers/data/culturegen_extraction_gold.jsonl`); the rules read all of them, the LLM extractor
# `n_agreement` of them (a quick run's 135M model mostly repeats the prompt: its score says so).

# %%
ext, agreement, judge, lines = cgst.extract_symbols(
    run, rows, stages, executor, extractor=extractor, n_agreement=n_agreement, seed=seed, backend=backend,
    extractor_model=extractor_model, extractor_base_url=extractor_base_url, extractor_timeout=extractor_timeout,
    extractor_max_tokens=extractor_max_tokens, marker_rule=marker_rule, agreement_set=agreement_set)
print(*lines, sep="\n")
run.save_table(pd.DataFrame(ext)[cgst.EXTRACTED_COLUMNS], "extracted")
cgst.extraction_examples(agreement)  # hand-labelled generations: the truth, the rules and the LLM extractor

# %% [markdown]
# ## 3 · Symbol scoring, and whether it can be trusted
# Every candidate n-gram (the `n_ngrams_per_topic` most frequent per topic in the quick profile) and every known pair
# is scored for every culture of the run; the part of the sentence before the nationality is scored once and the
# nationality tails on its cache (`helpers.core.logprobs`), which adds up to the paper's whole-sentence score exactly.
# For each kept phrase the n-gram most likely for its own culture is its candidate; it is a symbol when
# P(culture | n-gram) > 1/N. With `executor = "ray"` the n-grams are scored on Ray Data replicas (same records;
# log-probs within 1e-4).

# %%
from helpers.core.logprobs import LogProbScorer

scorer = LogProbScorer(model, batch_size=score_batch_size)  # keys the store and answers CulturalBench
sc = cgst.score_symbols(run, scorer, ext, chosen, stages, executor, model=model, validity_pairs=validity_pairs,
                        n_ngrams_per_topic=n_ngrams_per_topic, score_batch_size=score_batch_size,
                        score_measure=score_measure, calibrate=calibrated)  # executor ray: replicas load the model
pairs, scores, assoc, symbols, sym_df = sc["pairs"], sc["scores"], sc["assoc"], sc["symbols"], sc["sym_df"]
run.save_table(sym_df, "symbols")
print(*sc["lines"], sep="\n")
cgst.top_symbols(sym_df)

# %% [markdown]
# ### Validity check on known pairs
# Culture-symbol pairs written by us (a dish, garment, instrument or sight strongly tied to one country), scored like
# the candidates. **Top-1**: the true culture alone gets the highest P(c | symbol) (chance 1/N; a tie at the top is no
# hit and is counted in `top1_ties`). **Precision**: of the
# (symbol, culture) pairs flagged as symbols, the share that are the true pair (1/N for random flags). **Recall**: the
# share of known pairs whose true culture is flagged. All four scoring variants are shown; the analyses below use the
# one chosen by `score_measure` and `calibrate`.

# %%
variants = [cgs.validity(pairs, cgs.Associations(scores, chosen, m, c)) for m in cgs.MEASURES for c in (False, True)]
val = next(v for v in variants if v["measure"] == score_measure and v["calibrated"] == calibrated)
print(f"{val['n_pairs']} known pairs among the run's {len(chosen)} cultures ({sc['pairs_left_out']} pairs of other cultures left out)")
print("chosen variant:", val["top1_verdict"]["text"])
display(pd.DataFrame([{k: v[k] for k in ("measure", "calibrated", "top1", "top1_ties", "precision", "recall", "flagged_per_pair")}
                      for v in variants]))
show(run, cgp.validity_figure(variants), "validity",
     f"Each scoring variant on {val['n_pairs']} known pairs over {val['n_cultures']} cultures; the dashed line is chance "
     f"(1/{val['n_cultures']}) for top-1 accuracy and precision. The chosen variant ranks the true culture first for "
     f"{100 * val['top1']:.0f}% of the pairs.")
pd.DataFrame(val["rows"]).sort_values(["p_true", "nationality", "symbol"], ascending=[False, True, True])

# %% [markdown]
# ## 4 · Markedness
# As the paper's code counts it: a culture-conditioned generation's first sentence carries a **vocabulary marker**
# ("traditional" or "typical", case-sensitive, or the culture's nationality or country name) or, counted separately, a
# **parenthesis** (an explanation in brackets). Generations that mention "AI" are skipped (the paper drops them as
# uncooperative). `marker_rule = "word"` is our variant: whole words, names case-sensitive with aliases ("Danish" marks a
# Dane; "Pole" is not found in "polenta"). The culture-agnostic prompts are the reference line. The maps colour each
# culture's country by its marked share on a fixed scale (0 to 1, the same for every run) with the number of generations
# (Natural Earth 1:110m shapes bundled in an installed wheel; nothing is downloaded); grey countries are not in the run.

# %%
mk = cga.markedness(ext)
run.save_table(mk["culture"], "markedness_culture")
overall, ai = mk["overall"].iloc[0], mk["ai_skipped"].iloc[0]
show(run, cgp.markedness_figure(mk), "markedness",
     f"Share of generations with a vocabulary marker (left) and with a parenthesis (middle) per region, any marker by gender "
     f"and each type (right), 95% Wilson intervals; overall {int(overall.vocabulary_k)}/{int(overall.n)} and "
     f"{int(overall.parenthesis_k)}/{int(overall.n)}; {int(ai.culture_conditioned)} generations mentioning 'AI' skipped.")
ranked(mk["culture"], "rate", name="nationality")[["region", "nationality", "n", "vocabulary_rate", "parenthesis_rate"]]

# %%
for m_type in cga.MARKER_TYPES:
    fig, n_drawn, no_shape = cgw.world_map_figure(mk["culture"], chosen, value=f"{m_type}_rate",
                                                  label=f"share with a {m_type} marker")
    show(run, fig, f"markedness_map_{m_type}", cgw.map_caption(mk["culture"], f"share with a {m_type} marker",
                                                                n_drawn, no_shape))

# %% [markdown]
# ### Markedness and culture frequency
# The paper's frequency measure is the number of RedPajama documents that mention the culture (its nationality word or
# country; the paper's figures, shipped in `src/helpers/data/culturegen_redpajama_counts.json`); it finds that less
# frequent cultures are marked more. The rank correlation over cultures (Spearman and Kendall, scipy) has a paired
# bootstrap 95% CI. `frequency_measure = "model_prior"` uses the model's own log-prob of the name instead (a proxy).

# %%
freq, freq_source = cgst.frequency(chosen, frequency_measure, frequency_counts_file, assoc)
mk_corr = cga.markedness_correlation(mk["culture"], freq, seed=seed)
show(run, cgp.markedness_frequency_figure(mk["culture"], freq, mk_corr, freq_source), "markedness_frequency",
     f"Each culture's marked shares against its frequency ({freq_source}); Spearman and Kendall over "
     f"{mk_corr['vocabulary']['n']} cultures, 95% bootstrap CIs in the table.")
pd.DataFrame(mk_corr).T[["n", "spearman", "spearman_ci", "kendall", "kendall_ci", "kendall_p"]]

# %% [markdown]
# ## 5 · Symbol diversity and culture frequency
# As the paper: per topic, the number of unique culture symbols of a culture in its **gender-neutral** generations
# (generic topic words left out), rank-correlated with the culture's frequency topic by topic; the last row correlates
# the sum over topics (our summary). With no gender-neutral generations in the run the test is untestable.

# %%
div = cga.diversity(symbols, chosen, chosen_topics, freq, freq_source)
div_corr = cga.diversity_correlation(div, seed=seed)
run.save_table(div["topic"], "diversity")
div_all = div_corr.iloc[-1]
show(run, cgp.diversity_figure(div["culture"], div_all.to_dict()), "diversity",
     f"Unique culture symbols per culture (gender-neutral generations, summed over topics) against its frequency "
     f"({freq_source}); Spearman over {int(div_all.n)} cultures, per topic in the table.")
div_corr

# %% [markdown]
# ## 6 · Culture-agnostic presence
# The share of a culture's symbols that the model also produces when no culture is named (a high share: the culture's
# "symbols" are the model's defaults); per region the **mean of its cultures' shares**, as the paper (a culture with no
# symbols counts 0; `share_with_symbols` leaves such cultures out).

# %%
pres = cga.agnostic_presence(symbols, cga.agnostic_vocabulary(ext), chosen, chosen_topics)
run.save_table(pres["culture"], "agnostic_presence")
show(run, cgp.presence_figure(pres), "agnostic_presence",
     f"Per region, the mean share of its cultures' symbols that also occur in culture-agnostic generations (bars) and "
     f"each culture's share (dots); {int(pres['region'].k.sum())} of {int(pres['region'].n.sum())} symbols overall.")
pres["region"]

# %% [markdown]
# ## 7 · CulturalBench-style test
# Easy: pick one of four options; Hard: judge each option true or false (a question counts when all four judgements
# are right). Local models are scored by log-prob (`cb_local_scoring`), endpoint models answer in JSON. The offline
# set (41 questions, 12 regions) was written by us in the hub set's schema; `cb_data: kellycyy/CulturalBench` loads the
# real one (both configs, at the pinned `cb_revision`), its 45 countries and regions all mapped to the 12 region groups.
# Unusable rows (an empty or invalid answer, a missing field, a repeated id) are skipped and counted; answers are keyed by
# question id, so two questions with the same text stay apart.

# %%
cb = cgst.culturalbench(run, stages, scorer, model=model, cb_data=cb_data, n_cb_questions=n_cb_questions,
                        cb_model=cb_model, cb_base_url=cb_base_url, cb_timeout=cb_timeout,
                        cb_local_scoring=cb_local_scoring, score_batch_size=score_batch_size, cb_revision=cb_revision)
e_all = cb["easy"].iloc[0]
print(f"{len(cb['easy_questions'])} questions, {len(cb['hard_questions'])} true/false items ({cb['how']}); "
      f"{sum(cb['skipped'].values())} unusable rows skipped {cb['skipped']}; {cb['unparsed']} unparsed replies; "
      f"failed endpoint calls {cb['failed_calls']}")
easy_note = cgb.not_measured(cb, "easy") or f"{int(e_all.k)}/{int(e_all.n)} ({100 * e_all.accuracy:.0f}%)"
show(run, cgp.culturalbench_figure(cb["easy"], cb["hard_item"], cgb.CHANCE), "culturalbench",
     f"Accuracy per region with 95% Wilson intervals (the 'all' row pools every question; a failed call counts as "
     f"wrong); Easy overall {easy_note}, dashed lines are chance.")
cb["easy"].merge(cb["hard_item"], on="region", suffixes=("_easy", "_hard_item"))[["region", "n_easy", "accuracy_easy", "accuracy_hard_item"]]

# %% [markdown]
# ## Findings
# Computed from this run's results: the signal line is the validity check's verdict (does the scoring method rank
# known symbols' cultures above chance?), so a reader knows whether the symbol analyses above rest on associations
# the model actually holds.

# %%
metrics = cgst.run_metrics(model=model, chosen=chosen, chosen_topics=chosen_topics, rows=rows, n_samples=n_samples,
                           variants=variants, val=val, mk=mk, mk_corr=mk_corr, sc=sc, div=div, div_corr=div_corr,
                           pres=pres, extractor=extractor, agreement=agreement, cb=cb, gen_stats=gen_stats,
                           extractor_errors=judge.errors if judge else 0, health=stages.health(),
                           frequency_source=freq_source, marker_rule=marker_rule, calibrated=calibrated)
run.log_metrics(metrics)
executor.close()  # executor ray: disconnect (a Ray started here stops) before the kernel ends
print(metrics["signal"])

# %%
from IPython.display import Markdown

from helpers.core.report import findings_markdown

Markdown(findings_markdown(metrics))
