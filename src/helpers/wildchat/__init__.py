"""WildChat (Zhao et al. 2024, arXiv 2405.01470): the corpus analyses of real user-chatbot conversations.

``load``: releases, the schema check (the notebook's precheck) and the streaming reader; ``scan``: the one pass;
``counts``: corpus table, languages, countries and states, turns, months x models, tokens; ``safety``: toxicity by
the paper's rule, jailbreak templates, redactions, PII audit; ``language``: the stored labels vs langdetect;
``categories``: keyword rules and the LLM labeler; ``corpora``: other corpora in their own schemas; ``diversity``:
embedding diversity, coverage, near duplicates; ``export``: the cleaned prompt set (``run:10_wildchat``);
``tables``, ``plots``, ``findings``, ``stages``; ``offline_data`` / ``offline_corpora``: the fixtures, written by us.
"""

from ..core import rehearsal

# what a rehearsal reads in place of the other corpora's hub data sets (the WildChat releases resolve to the
# fixture in load.resolve; LMSYS-Chat-1M shares WildChat's conversation / role / content / language fields)
for _hub, _local in {
    "tatsu-lab/alpaca": "builtin:wildchat_alpaca_style.jsonl",
    "databricks/databricks-dolly-15k": "builtin:wildchat_dolly_style.jsonl",
    "OpenAssistant/oasst1": "builtin:wildchat_oasst_style.jsonl",
    "lmsys/lmsys-chat-1m": "builtin:wildchat_fixture.jsonl",
}.items():
    rehearsal.register_hub_fixture(_hub, _local)
