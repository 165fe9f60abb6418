"""One signature for findings across the experiment packages of notebooks 00-12 (issue #23): ``findings(m, *,
...) -> dict``, the run's metrics first, everything else keyword-only, and a result holding the
finding, the signal and the detail lines the report shows."""

from __future__ import annotations

import importlib
import inspect

import pytest

FINDINGS = [
    "helpers.quickstart",
    "helpers.magpie",
    "helpers.evaluation.wildbench",
    "helpers.evaluation.benchbuilder",
    "helpers.evaluation.arena",
    "helpers.cdr",
    "helpers.tulu.steps",
    "helpers.culturegen.summary",
    "helpers.infosumm.evaluate",
    "helpers.icot.evaluate",
    "helpers.wildchat.findings",
    "helpers.culturalteaming.findings",
    "helpers.participai.findings",
]


@pytest.mark.parametrize("module", FINDINGS)
def test_findings_take_the_metrics_first_and_everything_else_by_keyword(module):
    params = list(inspect.signature(importlib.import_module(module).findings).parameters.values())
    assert params[0].name == "m" and params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, module
    for p in params[1:]:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, (module, p.name)  # findings(m, *, ...)


def test_a_findings_result_holds_finding_signal_and_lines():
    from helpers import cdr
    from helpers.icot import evaluate

    method = {"accuracy": 0.5, "ci_low": 0.4, "ci_high": 0.6, "tokens_per_answer": 5, "answers_per_s": None}
    per_task = {
        "mult:2": {
            "stepwise": method,
            "nocot": method,
            "cot": method,
            "a_only": 0,
            "b_only": 0,
            "p_value": 1.0,
            "signal": "no difference",
        }
    }
    for out in (
        cdr.findings({"ratio_headline": 60.0, "ratio_headline_ci": [55.0, 65.0], "n_examples": 8}),
        evaluate.findings({"per_task": per_task, "headline_task": "mult:2", "init_from": "config:x"}),
    ):
        assert isinstance(out["finding"], str) and isinstance(out["signal"], str) and isinstance(out["findings"], list)


def test_every_notebook_names_its_precheck_hook_check_params():
    import json
    from pathlib import Path

    from helpers.core.precheck import notebook_hook

    hooks = {}
    for nb in sorted(Path(__file__).resolve().parents[1].glob("notebooks/[0-9][0-9]_*.ipynb")):
        target = (json.loads(nb.read_text(encoding="utf-8"))["metadata"].get("helpers") or {}).get("precheck")
        if target:
            hooks[nb.stem] = target
            assert target.endswith(":check_params") and callable(notebook_hook(nb)), (nb.stem, target)
    assert len(hooks) >= 12, hooks
