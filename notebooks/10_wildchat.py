# ---
# jupyter:
#   helpers:
#     precheck: helpers.wildchat.load:check_params
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 10 · WildChat: who talks to chatbots, in which languages, about what, and how often it turns toxic
#
# **Question.** What does a large log of real user-chatbot conversations look like: how many users and turns,
# which languages and countries, which models over which months, how often a turn is toxic and by which
# detector, how jailbreak templates spread and whether they work, what is redacted and what private data slips
# through, what people ask for, and how diverse the prompts are next to other instruction corpora?
#
# **Method** (WildChat, Zhao et al. 2024, [arXiv 2405.01470](https://arxiv.org/abs/2405.01470); data
# `allenai/WildChat-1M`). One streaming pass over the records reads only the columns the analyses need and
# computes: the corpus table (conversations, users, turns, user and assistant tokens per turn with the model's
# tokenizer, languages) beside other corpora read in their own schemas; languages, with the stored labels
# checked against an offline detector (langdetect) on a sample; countries (world map) and states by
# conversations and by distinct users; turns per conversation; monthly counts per model; **toxicity recomputed
# with the paper's rule** (a turn is toxic if OpenAI's moderation flags it or Detoxify's toxicity is above 0.1; a
# conversation if any turn is) and the stored flags checked against it on every record; jailbreak templates
# (uses, distinct users, success = the next assistant reply toxic); redaction placeholders per entity and an
# offline audit for PII left in the clear; prompt categories (keyword rules on every prompt, an LLM labeler on
# a sample); diversity and coverage of first prompts across corpora with the offline embedder. It ends by
# writing a cleaned prompt set (first user turns, toxic conversations and near duplicates removed, ids kept)
# that BenchBuilder (03) reads with `conversations: run:10_wildchat`.
#
# **Releases.** The paper's counts (1,039,785 conversations, 204,736 users) are those of the full release;
# the public `WildChat-1M` lost its toxic conversations (2024-07) and PII-flagged ones (2024-10), so its counts
# differ by design. The quick profile reads a fixture of 300 conversations written by us in the full schema,
# with every count built in: the run checks each of its counts and rates against them.

# %% tags=["parameters"]
data = "builtin:wildchat_fixture.jsonl"  # [non-empty] WildChat records: builtin:NAME, a .jsonl/.parquet file or folder of shards, or a release id (allenai/WildChat-1M, allenai/WildChat-1M-Full, allenai/WildChat-4.8M)
split = "train"  # split of a hub release
max_conversations = 0  # [0..] read at most this many conversations (0: all)
expected_file = "builtin:wildchat_fixture.expected.json"  # counts built into a fixture, checked against this run's (empty: no check)
other_corpora = ["alpaca", "dolly", "oasst"]  # corpora to compare: a schema name (our offline file), or the name, an equals sign and a source; schemas alpaca, dolly, oasst, sharegpt, lmsys
max_other = 0  # [0..] rows read per other corpus (0: all)
model = "smollm2-135m-instruct"  # [non-empty] its tokenizer counts tokens; it labels prompt categories (local alias, folder or hub id; or the endpoint's model name)
labeler_base_url = ""  # OpenAI-compatible endpoint of the category labeler (empty: the local log-prob labeler)
labeler_timeout = 120.0  # [1..] seconds an endpoint request may take
n_llm_labels = 12  # [0..] first prompts (a uniform sample) the LLM labeler labels (0: none)
n_lang_sample = 0  # [0..] user turns (a uniform sample) the language detector checks (0: all)
n_diversity = 100  # [2..] first prompts per corpus (a uniform sample) embedded for diversity and coverage
coverage_tau = 0.7  # [0..1] cosine similarity at which a prompt counts as covered by another corpus
embedder = "all-minilm-l6-v2"  # [non-empty] sentence embedder (offline MiniLM)
dedup_threshold = 0.05  # [0..4] squared L2 between unit embeddings below which a prompt is a near duplicate (0.05: cosine above 0.975)
max_prompts = 0  # [0..] prompt candidates embedded for near-duplicate removal (0: all)
seed = 0  # [0..] seed of the samples
executor = "local"  # [local|ray] where the LLM labeler runs: this process, or Ray replicas
ray_address = ""  # Ray cluster to join (empty: start one here; auto: a running cluster)
ray_replicas = 1  # [1..] Ray replicas of the labeler
ray_gpus_per_replica = 0  # [0..] GPUs per Ray replica
torch_threads = 1  # [0..] CPU threads for torch (0: the cores free right now)

# %%
import pandas as pd
from IPython.display import Markdown, display

from helpers.core import engines
from helpers.core.executor import Executor
from helpers.core.plotting import show, use_style
from helpers.core.runs import Run
from helpers.wildchat import findings as wf
from helpers.wildchat import load as wl
from helpers.wildchat import plots as wp
from helpers.wildchat import tables as wt
from helpers.wildchat.stages import GRAPH, scan_stage

# %%
engines.configure(torch_threads=torch_threads)
use_style()
run = Run.current("10_wildchat")
stages = GRAPH.bind(run, globals())  # each stage's file is named by a hash of every parameter that changes it
executor = Executor.from_params(globals())  # the LLM labeler runs here (local) or on Ray replicas
print(f"source: {wl.release_name(data)}; the labeler runs {executor}; run folder {run.dir}")

# %% [markdown]
# ## 1. The release and the paper's headline counts
# One streaming pass over the records (cached: a rerun reads the stored result).

# %%
scan, candidates = scan_stage(stages, data, split, max_conversations, model, n_lang_sample,
                              max(n_llm_labels, n_diversity), seed)
corpus, safety = scan["corpus"], scan["safety"]
print(f"{corpus['conversations']:,} conversations read at {scan['conversations_per_s']:,.0f} conversations/s "
      f"(this run's pass; a cached pass shows the speed of the run that computed it)")
paper = pd.DataFrame(wf.paper_table({"corpus": corpus}, data))
run.save_table(paper, "paper_comparison")
paper

# %% [markdown]
# ## 2. The corpus next to other instruction corpora
# Each corpus is read in its own schema and counted by the same code (offline: small files of ours in the
# Alpaca, Dolly and OpenAssistant schemas; full profiles: the hub sets). Users are distinct hashed IPs
# (WildChat), the tree's first prompter (OASST); Alpaca and Dolly have none.

# %%
from helpers.wildchat.stages import others_stage

others = others_stage(stages, other_corpora, max_other, model, n_diversity, seed)
compare = pd.DataFrame([wt.corpus_row("WildChat", corpus)] + [wt.corpus_row(n, o["corpus"]) for n, o in others.items()])
run.save_table(compare, "corpus_comparison")
show(run, wp.corpus_tokens(compare), "corpus_tokens", "Mean tokens per user and assistant turn, counted with "
     f"{model}'s tokenizer, for each corpus.")
compare

# %% [markdown]
# ## 3. Languages, and the stored labels against an offline detector

# %%
from helpers.wildchat import language as wlang
from helpers.wildchat.counts import share_table

checked = stages.json("languages", lambda: wlang.detect_sample(scan["lang_sample"]))
lang_check = wlang.agreement(checked)
per_lang = wt.language_agreement(checked)
lang_shares = share_table(corpus["turn_languages"], top=12, label="name")
run.save_table(per_lang, "language_agreement")
lo, hi = lang_check["rate_ci"]
show(run, wp.languages(lang_shares, per_lang), "languages", f"Left: share of user turns per stored language. Right: "
     f"agreement with langdetect on {lang_check['checked']} sampled user turns; overall {lang_check['rate']:.1%} "
     f"(95% CI {lo:.1%}-{hi:.1%}).")
display(pd.DataFrame(lang_check["confusions"]).head(10))
lang_shares

# %% [markdown]
# ## 4. Countries and states, by conversations and by distinct users

# %%
from helpers.core.worldmap import draw_world_map

values, no_shape = wt.country_values(corpus)
fig, _ = draw_world_map(values, "Share of conversations per country (grey: none)", "share of conversations")
show(run, fig, "countries", "Share of conversations per country (GeoIP country of the user turns)"
     + (f"; not drawn (no shape in the 1:110m map): {', '.join(no_shape)}." if no_shape else "."))
show(run, wp.states(wt.states(corpus)), "states", "Conversations and distinct users per state or region.")
countries = wt.countries(corpus)
run.save_table(countries, "countries")
countries

# %% [markdown]
# ## 5. Turns per conversation, and conversations per month and model

# %%
from helpers.wildchat.counts import monthly_frame, turns_frame

turns = turns_frame(corpus["turns_histogram"])
show(run, wp.turns(turns), "turns", f"Share of conversations by number of user turns; mean "
     f"{corpus['turns_per_conversation']:.2f} turns per conversation.")
months = monthly_frame(corpus["monthly_model"])
run.save_table(months.reset_index(), "monthly_model")
show(run, wp.monthly(months), "monthly_model", "Conversations per month, stacked by the model that served them.")
display(turns)
months

# %% [markdown]
# ## 6. Toxicity by the paper's rule, by role and by detector
# Recomputed from the per-turn moderation fields of every record; the stored `toxic` flags are checked
# against the rule (mismatches counted). A Detoxify score exactly at 0.1 is not toxic (the rule says *above*).

# %%
by_role, cats = wt.toxicity(safety)
run.save_table(by_role, "toxicity_by_role")
show(run, wp.toxicity(by_role, cats), "toxicity", f"Share of turns flagged by OpenAI only, Detoxify only or both; "
     f"{safety['toxic_conversations']} of {safety['conversations']} conversations toxic; stored flags vs the rule: "
     f"{safety['conversation_flag_mismatches']} conversation and {safety['turn_flag_mismatches']} turn mismatches.")
display(cats)
by_role

# %% [markdown]
# ## 7. Jailbreak templates
# A template is found by its identifying phrase in a user turn; it *succeeded* when the next assistant turn is
# toxic by the paper's rule. Rates come with Wilson intervals (few uses).

# %%
jb = wt.jailbreaks(safety)
run.save_table(jb, "jailbreaks")
show(run, wp.jailbreaks(jb), "jailbreaks", "Uses, distinct users and toxic replies per jailbreak template.")
jb

# %% [markdown]
# ## 8. Redaction placeholders and PII left in the clear
# Placeholders are `<PRESIDIO_ANONYMIZED_{ENTITY}>` and `<TRUFFLEHOG_REDACTED_*>`; the audit looks for e-mail
# addresses, phone numbers, IP addresses and Luhn-valid card numbers in user turns (offline patterns).

# %%
redactions, pii = wt.privacy(safety)
run.save_table(redactions, "redactions")
run.save_table(pii, "pii_in_clear")
show(run, wp.privacy(redactions, pii), "privacy", f"Left: placeholders per entity ({safety['redacted_conversations']} "
     f"conversations). Right: PII strings in clear ({safety['pii_conversations']} conversations).")
display(redactions)
pii

# %% [markdown]
# ## 9. What people ask for: prompt categories
# Keyword rules label every first prompt; the LLM labeler (the model's most likely category name after the
# prompt, or a judge behind an endpoint) labels a uniform sample, and we measure how often the two agree.

# %%
from helpers.wildchat.categories import label_agreement
from helpers.wildchat.stages import labels_stage

sample = scan["prompt_sample"][:n_llm_labels] if n_llm_labels else []
labels = labels_stage(stages, executor, sample, model, labeler_base_url, labeler_timeout, run) if sample else []
executor.close()
cat_check = label_agreement(sample, labels)
cat_table = wt.categories(scan["categories"], cat_check["llm_counts"])
run.save_table(cat_table, "categories")
show(run, wp.categories(cat_table), "categories", f"Share of prompts per category: rules on all {scan['prompts_seen']} "
     f"first prompts, the LLM on {cat_check['labelled']}; agreement {cat_check['rate'] or 0:.0%}.")
cat_table

# %% [markdown]
# ## 10. Diversity and coverage against the other corpora
# Uniform samples of first prompts, embedded with the offline MiniLM: diversity is the mean pairwise cosine
# distance; corpus A covers a prompt of B when A has a prompt within cosine `coverage_tau` of it.

# %%
from helpers.wildchat.stages import diversity_stage

texts = {"WildChat": [p["prompt"] for p in scan["prompt_sample"][:n_diversity]]}
texts.update({n: o["sample"][:n_diversity] for n, o in others.items()})
div = diversity_stage(stages, texts, embedder, coverage_tau, seed)
cov = wt.coverage_frame(div["coverage"])
run.save_table(cov.reset_index(names="covering"), "coverage")
show(run, wp.diversity(div["diversity"], cov), "diversity", "Left: prompt diversity per corpus. Right: share of "
     f"the column corpus's prompts that the row corpus covers (cosine >= {coverage_tau}).")
cov

# %% [markdown]
# ## 11. The cleaned prompt set for BenchBuilder
# First user turns of non-toxic conversations, exact duplicates dropped during the pass, near duplicates by
# embedding here; ids (conversation hashes) kept. Written to `data/prompts.jsonl`, which 03 reads with
# `conversations: run:10_wildchat` in a run with the same name.

# %%
from helpers.wildchat.export import PROMPTS_FILE
from helpers.wildchat.stages import prompts_stage

cleaned = prompts_stage(stages, candidates, run.path(PROMPTS_FILE), embedder, dedup_threshold, max_prompts)
print(f"{cleaned['kept']} prompts written to {run.path(PROMPTS_FILE)} ({scan['prompt_exact_duplicates']} exact and "
      f"{cleaned['near_duplicates']} near duplicates removed)")
pd.DataFrame(list(cleaned["languages"].items()), columns=["language", "prompts"])

# %% [markdown]
# ## 12. The fixture check
# With a fixture, every count and rate this run reports is compared with the counts the generator built in.

# %%
metrics = wf.scan_metrics(data, wl.release_name(data), scan, lang_check, n_lang_sample)
check = []
if expected_file:
    check = wf.fixture_check(metrics, wl.read_expected(expected_file))
    print(f"{sum(r['ok'] for r in check)} of {len(check)} built-in counts and rates reproduced")
    display(pd.DataFrame([r for r in check if not r["ok"]] or [{"all": "match"}]))

# %% [markdown]
# ## Findings
# Computed from this run's metrics: the signal is the fixture check on a fixture, and the comparison with the
# paper on a release.

# %%
from helpers.core.report import findings_markdown

metrics = wf.final_metrics(metrics, scan, cat_check, div, cleaned, check)
metrics.update(stages.health())
run.log_metrics(metrics)
display(Markdown(findings_markdown(metrics)))
