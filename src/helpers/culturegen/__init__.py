"""Culture-Gen (Li et al. 2024, arXiv 2404.10199) and a CulturalBench-style test (Chiu et al. 2024).

``data``: nationalities, regions, topics, known symbol pairs (written by us); ``prompts``: the prompt templates;
``generate``: the resumable generation stage; ``extract``: first sentence, items, markers, n-grams; ``score``:
P(culture | n-gram) from log-probs, symbols, the validity check; ``analyses``: markedness, diversity,
culture-agnostic presence; ``summary``: findings; ``cbdata``: CulturalBench loader; ``culturalbench``: its scoring;
``plots``.
"""
