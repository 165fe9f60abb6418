"""Stepwise internalization of chain-of-thought (Deng et al., arXiv 2405.14838).

``data``: the multiplication generator (reference format) and a GSM8K loader; ``schedule``: which CoT
tokens are removed at each step (removal from the left, smoothing, optimizer resets); ``model``: the
tokenizer and GPT-2 models (from a config or the hub); ``train``: the resumable training loop;
``evaluate``: greedy decoding, answer extraction, accuracy with CIs over seeds, speed, the gated findings;
``diagnostics``: branch point, collapse point, per-position accuracy, the gates; ``checks``: parameter checks;
``steps``: the notebook's cells' work; ``plots``.
"""
