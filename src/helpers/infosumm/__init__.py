"""InfoSumm (Jung et al. 2024, arXiv 2403.13780): a summarizer distilled from a small teacher with
information-theoretic critics and expert iteration (no public code; this is an implementation from the paper).

``data``: prefixes, document and reference sets, prompt formats; ``critics``: PMI saliency / faithfulness from
log-probs, brevity, not-a-copy, NLI, extractive fragments; ``pipeline``: the resumable stages (documents, candidates,
critic scores, survivors); ``train``: SFT of the teacher and the student (causal or seq2seq); ``controls``: control
attributes and codes; ``evaluate``: ROUGE with bootstrap CIs, controllability, findings; ``steps``: the notebook's cells;
``results``: the ROUGE table and metrics.json; ``plots``.
"""
