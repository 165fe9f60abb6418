"""How a suite's notebooks feed each other: the model folders a notebook's run publishes for later notebooks.

(What a notebook reads of other runs is ``runs.suite_needs``; the notebook declares what it writes in its metadata,
``metadata.helpers.checkpoints = "module:function"``, read through ``precheck.notebook_hook``.)
"""

from __future__ import annotations

from typing import Any

from .params import notebook_path
from .precheck import notebook_hook


def published_checkpoints(notebook: str, params: dict[str, Any]) -> list[str]:
    """The model folders (relative to its run folder) a run of ``notebook`` with ``params`` publishes for other
    notebooks to read, e.g. 01's ``checkpoints/sft`` and 06's ``checkpoints/<slug>-s<seed>``: what the notebook's
    ``metadata.helpers.checkpoints`` function returns for those params (none when it declares none). Lets the
    rehearsal test check that every ``outputs/<nb>/<run>/checkpoints/...`` a profile reads is written by a profile."""
    hook = notebook_hook(notebook_path(notebook), "checkpoints")
    return list(hook(params)) if hook else []
