"""CulturalTeaming (Chiu et al. 2024, arXiv 2404.06664): a human-AI red-teaming tool for cultural multiple-choice
questions, built from the paper (its code is not public).

An annotator writes a scenario and a 4-option question about a culture they know; an LLM verifier answers it with
a probability over the options; the annotator revises (verifier-only, or AI-assisted with hints and rewrites) until
the question fools the verifier, checks it against a target panel, finalizes it and answers a feedback survey.

    validate.py  hostile-input checks of a draft (clear one-line refusals)
    log.py       the append-only per-session JSONL event log (atomic appends, resumable, corruption refused)
    session.py   the session state machine draft -> verify -> revise* -> finalize -> survey, over the log
    verifier.py  probability over the four options: local option log-probs or an endpoint judge
    hints.py     our strategy hints and LLM-written hints/rewrites (AI-assisted level)
    targets.py   the target panel: several models + random + embedding-nearest-to-culture baselines
    replay.py    scripted sessions (YAML of events) replayed through the same core (papermill, CI)
    export.py    finalized questions in CulturalBench's Easy and Hard schemas
    analysis.py  per-question tables, assistance-level comparison, accuracy per model and region
    findings.py  metrics -> the notebook's verdict and sentences;  plots.py: its figures
    ui.py        the ipywidgets view (JupyterLab and Voila);  serve.py: the annotator server (Voila)
"""
