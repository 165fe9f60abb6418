"""CDR (arXiv 2411.02481): density-ratio rewards from a strong and a weak model, and the pair sweep.

One module per concern (``from helpers import cdr`` gives every name; ``helpers.cdr.rewardbench`` scores):
* ``reward``: ``ratio``, ``DensityRatioReward``, ``score_responses`` (resumable), ``ratio_rewards``;
* ``customise``: the domain router, criteria and exemplars; ``zoo``: derived and preference-tuned models;
* ``sweep``: data slices, gap scores, unordered (strong, weak) pairs; ``verdicts``: findings, prechecks;
* ``pairs``: the sweep's pairs (all, a list or a pairs file); ``sweep_table``: their rewards from cached log-probs;
* ``compare``: the default pair's ratio against its strong and weak members alone (paired bootstrap);
* ``rewardbench``: RewardBench-style scoring; ``offline_data``: our offline preference set.
* ``steps``: the notebook's steps, one function per cell's work; ``plots``: its figures;
* ``baselines``: the default pair against its baselines; ``metrics``: before/after and metrics.json.
"""

from ..core import rehearsal
from ..core.stats import correlation_ci  # noqa: F401  (one implementation, in stats)
from .baselines import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
from .customise import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .pairs import *  # noqa: F401,F403
from .reward import *  # noqa: F401,F403
from .steps import *  # noqa: F401,F403
from .sweep import *  # noqa: F401,F403
from .sweep_table import *  # noqa: F401,F403
from .verdicts import *  # noqa: F401,F403
from .zoo import *  # noqa: F401,F403

# what a rehearsal (``helpers.run --rehearse``) reads in place of the hub preference set
rehearsal.register_hub_fixture("allenai/reward-bench", str(rehearsal.FIXTURES_DIR / "allenai__reward-bench.jsonl"))
