"""Particip-AI (Mun et al. 2024, arXiv 2403.14791): a survey of imagined AI uses, their benefits and harms, and
the develop decision; free-text answers coded by an LLM and checked against human codes (notebook 12)."""
