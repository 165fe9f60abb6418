"""The first code cell every notebook shares: engine settings from its parameters, the plot style, its run folder.

    run, stages = start_notebook("02_wildbench", globals(), WILDBENCH)

The engine/Ray block of a parameters cell stays flat literals; what is done with it lives here.
"""

from __future__ import annotations

from typing import Any

ENGINE_PARAMS = ("gpu_memory_utilization", "max_model_len", "tensor_parallel_size", "torch_threads")


def engine_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The ``engines.configure`` keyword arguments a notebook's parameters set (the others keep their default)."""
    return {k: params[k] for k in ENGINE_PARAMS if k in params}


def start_notebook(name: str, params: dict[str, Any], graph: Any = None) -> tuple[Any, Any]:
    """Configure every engine this notebook loads (vLLM settings, CPU threads) from ``params``, set the plot style
    and return ``(run, stages)``: the run folder and ``graph`` bound to it (None without a graph)."""
    from . import engines
    from .plotting import use_style
    from .runs import Run

    engines.configure(**engine_settings(params))
    use_style()
    run = Run.current(name)
    return run, (graph.bind(run, params) if graph is not None else None)
