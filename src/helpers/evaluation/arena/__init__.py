"""Arena-Hard-Auto scoring: verdict parsing, the two games per prompt, Bradley-Terry, bootstrap CIs,
win rates against the baseline, style control, separability with confidence, and the prompt loader.

Everything here is pure (no model calls) except ``load_arena_prompts`` (reads files / the hub) and
``logprob_verdicts`` (scores the five verdict labels with a local judge's log-probabilities).

    verdict = parse_verdict(judge_text)                       # "A>>B" ... "B>>A" or None
    battles = battles_from_games(games, baseline="base")     # two games per prompt -> weighted battles
    ratings = fit_bradley_terry(battles, baseline="base")    # Elo-scale, baseline anchored at 1000
    boot = bootstrap_ratings(battles, baseline="base", rounds=100, seed=0)   # method="upstream" (default)
    board = leaderboard(battles, baseline="base", rounds=100)  # rating, 90% CI (upstream v2), win rate vs baseline
    S = style_covariates(battles, feats_a, feats_b, baseline="base")          # style control, upstream definition

Conventions (Arena-Hard-Auto v0.1): game 1 shows the baseline as assistant A and the model as B;
game 2 swaps them. In game 2 "A>B" therefore means the *model* won. Strong verdicts (>>) weigh 3,
the others 1; ties count as half a win for each side. A prompt is dropped if either game's verdict
is missing (unparseable judge output), so both positions always enter the aggregate together.

Upstream definitions and ours (lmarena/arena-hard-auto; the upstream one is every default here):

* Bootstrap (``method``): upstream expands a strong verdict into 3 identical battles *before*
  resampling and resamples those rows (v2: within each contestant's battles; with style control over
  all battles), reporting 90% intervals (v2; v0.1 used 95%). ``"weighted"`` resamples the weight-3
  battle as one unit (a strong verdict is one observation), which gives wider intervals.
* Style control (``style_covariates``): upstream writes each feature model-minus-baseline and
  z-scores it with its mean removed, so the model coefficient is the win rate at the *average* style
  gap; markdown is counted after removing fenced code blocks, ordered list items only as ``1.``, and
  (v2) length as (m-b)/(m+b), markdown as density count/(L+1) with (m-b)/(m+b+1). ``"symmetric"``
  writes the features A-minus-B over the two swapped games, so the coefficient is the win rate at
  *equal* style (and counts markdown everywhere, ``1)`` list items included).
"""

from ...core.stats import rank_agreement  # noqa: F401  (one implementation, in stats)
from .bootstrap import *  # noqa: F401,F403
from .bradley_terry import *  # noqa: F401,F403
from .games import *  # noqa: F401,F403
from .pipeline import *  # noqa: F401,F403
from .prompts import *  # noqa: F401,F403
from .quality import *  # noqa: F401,F403
from .style import *  # noqa: F401,F403
from .verdicts import *  # noqa: F401,F403
