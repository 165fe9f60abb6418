"""Magpie (arXiv 2406.08464): alignment data sampled from an aligned model's own pre-query template.

One module per step, each small and tested (``from helpers import magpie as mp`` gives every name):
* ``templates``: ``derive_pre_query_template``, ``next_turn_template``, ``stop_strings``, ``clean_instruction``;
* ``tagging``: tag prompts, robust parsing, the log-prob mode, ``tag_agreement``, ``detect_language``, ``parse_guard``;
* ``RewardScorer``, ``RewardLoadError``: ``helpers.core.reward``'s (a classifier or a density ratio);
* ``filters``: ``FilterSpec``, ``PRESETS`` (the paper's pro / air; pro-relative, air-relative, top-reward), ``apply_filters``,
  ``describe_spec`` (the rule in words), ``preset_counts``;
* ``card``: ``kept_summary`` / ``kept_markdown``, the data card's account of what the filters kept;
* ``export``: ``to_sharegpt``, ``data_card``, ``train_sft``;
* ``pipeline``: the notebook's resumable stages; ``plots``; ``verdicts``: ``findings``, ``check_params``.
* ``steps``: the rest of the notebook's steps (de-duplication, tags, records, export, SFT), one function per cell.
"""

from ..core.reward import RewardLoadError, RewardScorer  # noqa: F401
from .card import *  # noqa: F401,F403
from .export import *  # noqa: F401,F403
from .filters import *  # noqa: F401,F403
from .pipeline import *  # noqa: F401,F403
from .plots import *  # noqa: F401,F403
from .steps import *  # noqa: F401,F403
from .tagging import *  # noqa: F401,F403
from .templates import *  # noqa: F401,F403
from .verdicts import *  # noqa: F401,F403
