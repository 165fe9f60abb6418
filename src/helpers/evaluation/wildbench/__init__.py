"""WildBench (Lin et al. 2024, arXiv 2406.04770): tasks, judge prompts, parsers and the two scores.

    tasks = load_tasks("builtin:wildbench_tasks.jsonl")            # or "allenai/WildBench" (config v2, split test)
    msgs = score_prompt(task, answer)                                # WB-Score: one answer, checklist, 1-10
    msgs = reward_prompt(task, answer_a, answer_b)                   # WB-Reward: pairwise, A++ .. B++
    wb_score([7, 3, None])                                           # rescaled (s-5)*2, x10; None = parse failure
    game_reward("A+", model_is_a=True, len_model=900, len_baseline=300, K=500)   # -> 0.0 (length penalty)

Everything below the prompt builders is pure and tested (tests/test_wildbench.py). Parse failures
are ``None`` and are counted and left out of every aggregate, never silently scored.
"""

from ...core.stats import bootstrap_ci, rank_agreement  # noqa: F401  (one implementation each, in stats)
from .contestants import *  # noqa: F401,F403
from .pipeline import *  # noqa: F401,F403
from .prompts import *  # noqa: F401,F403
from .reliability import *  # noqa: F401,F403
from .scoring import *  # noqa: F401,F403
from .tables import *  # noqa: F401,F403
from .tasks import *  # noqa: F401,F403
from .verdicts import *  # noqa: F401,F403
