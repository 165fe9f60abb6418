"""00_quickstart: the stack end to end (generation with each backend, log-prob scoring, a figure, a finding).

``steps``: the answers stage per backend, the log-prob table, metrics.json; ``verdicts``: ``findings``;
``plots``: the notebook's figure.
"""

from .steps import *  # noqa: F401,F403
from .verdicts import *  # noqa: F401,F403
