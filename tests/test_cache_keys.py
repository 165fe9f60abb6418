"""Cache keys cover every input (issue #9, item 2).

For each notebook's stage graph: every parameter is classified; changing a keyed parameter under the
same run folder recomputes exactly the stages that depend on it (and those after them), with fake stage
functions over the real keyed stores; nothing stale is read; the notebooks use the keyed stores.
"""

import json
import re
from pathlib import Path

import pytest

from helpers.cdr.stages import GRAPH as CDR
from helpers.core.params import notebook_path, read_param_specs
from helpers.core.stages import ENGINE_SETTINGS, StageGraph
from helpers.core.store import config_hash, keyed_path, keyed_store, run_stage
from helpers.culturegen.stages import GRAPH as CULTUREGEN
from helpers.evaluation.stages import ARENA, BENCHBUILDER, WILDBENCH
from helpers.magpie.stages import GRAPH as MAGPIE
from helpers.participai.stages import GRAPH as PARTICIPAI
from helpers.wildchat.stages import GRAPH as WILDCHAT

GRAPHS = {
    "01_magpie": MAGPIE,
    "02_wildbench": WILDBENCH,
    "03_benchbuilder": BENCHBUILDER,
    "04_arena_hard": ARENA,
    "05_cdr": CDR,
    "07_culturegen": CULTUREGEN,
    "10_wildchat": WILDCHAT,
    "12_participai": PARTICIPAI,
}


def defaults(nb):
    return {k: s.default for k, s in read_param_specs(notebook_path(nb)).items()}


def changed(value):
    """A different value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "-changed"
    if isinstance(value, list):
        return value + ["changed"]
    if isinstance(value, dict):
        return {**value, "changed": ["x", 0.5]}
    return "changed"


def order(graph: StageGraph):
    done, out = set(), []
    while len(out) < len(graph.stages):
        for s, v in graph.stages.items():
            if s not in done and set(v["after"]) <= done:
                done.add(s)
                out.append(s)
    return out


@pytest.mark.parametrize("nb", list(GRAPHS))
def test_every_parameter_is_classified(nb):
    names = list(defaults(nb))
    graph = GRAPHS[nb]
    assert graph.unclassified(names) == [], (
        f"classify these {nb} parameters in its stages.py (keyed, items or uncached)"
    )
    known = graph.keyed_params() | set(graph.items) | set(graph.uncached)
    assert known - set(names) - set(ENGINE_SETTINGS) == set(), (
        "the stage graph names parameters the notebook does not have"
    )


@pytest.mark.parametrize("nb", list(GRAPHS))
def test_changing_a_parameter_recomputes_exactly_the_affected_stages(nb, tmp_path):
    graph, base = GRAPHS[nb], defaults(nb)
    calls: dict[str, int] = {}

    def run_all(params):
        bound = graph.bind(tmp_path, params)
        out = {}
        for stage in order(graph):

            def process(batch, stage=stage):
                calls[stage] = calls.get(stage, 0) + len(batch)
                # the record carries what it was computed from, so a stale read would show
                return [{"id": it["id"], "made_from": config_hash(bound.config(stage))} for it in batch]

            recs = run_stage(bound.store(stage), [{"id": f"item-{i}"} for i in range(3)], process, desc=stage)
            out[stage] = recs
            for r in recs:
                assert r["made_from"] == config_hash(bound.config(stage)), f"stale record in {stage}"
        return out

    run_all(base)
    assert set(calls) == set(graph.stages)
    calls.clear()
    run_all(base)
    assert calls == {}, "a rerun with the same parameters must recompute nothing"
    for p in sorted(graph.keyed_params()):
        calls.clear()
        params = {**base, p: changed(base[p])}
        run_all(params)
        assert set(calls) == graph.affected(p), f"{nb}: changing {p} recomputed {sorted(calls)}"
        assert graph.affected(p), p
        calls.clear()
        run_all(base)  # back to the defaults: the earlier files are still there and still valid
        assert calls == {}, f"{nb}: going back after {p} recomputed {sorted(calls)}"
    for p in set(graph.items) | set(graph.uncached):
        if p in graph.keyed_params() or p not in base:
            continue
        assert graph.hashes({**base, p: changed(base[p])}) == graph.hashes(base), p


# What the papers' pipelines say must recompute (written out by hand, independent of the graphs).
EXPECTED = {
    "01_magpie": {
        "res_temperature": {"responses", "reward", "guard", "sft"},
        "tag_max_tokens": {"tags", "tag_reference", "sft"},
        "tagger_model": {"tags", "tag_reference", "sft"},
        "guard_model": {"guard", "sft"},
        "reward_model": {"reward", "sft"},
        "sft_lr": {"sft"},
        "min_quality": {"sft"},
        "sft_data": {"sft"},
        "ins_temperature": {"instructions", "embeddings", "responses", "tags", "reward", "guard", "sft"},
        "dedup_threshold": {"sft"},
    },
    "02_wildbench": {
        "judge_max_tokens": {"wb_score", "wb_reward"},
        "max_words": {"wb_score", "wb_reward"},
        "answer_max_tokens": {"answers", "wb_score", "wb_reward"},
        "seed": {"answers", "wb_score", "wb_reward"},
        "judge_model": {"wb_score", "wb_reward"},
    },
    "03_benchbuilder": {"labeler_max_tokens": {"labels"}, "labeler_mode": {"labels"}, "yes_no_threshold": {"labels"}},
    "04_arena_hard": {
        "judge_prompt": {"games"},
        "judge_max_tokens": {"games"},
        "answer_max_tokens": {"answers", "games"},
    },
    "05_cdr": {
        "max_response_tokens": {"onpolicy_rewards", "trained", "logprobs"},
        "max_prompt_tokens": {"onpolicy_rewards", "trained", "logprobs"},
        "learning_rate": {"trained", "child"},
        "onpolicy_temperature": {"onpolicy_samples", "onpolicy_rewards", "trained"},
        "gap_data": {"gap_scores"},
        "train_steps": {"trained", "child"},
        "onpolicy_samples": {
            "onpolicy_samples",
            "onpolicy_rewards",
            "trained",
        },  # not the DPO child: it learns no on-policy pair
        "parent_model": {"derived", "child", "onpolicy_samples", "onpolicy_rewards", "trained"},
    },
    "07_culturegen": {
        "extractor_max_tokens": {"extract_llm"},
        "temperature": {"generations", "extract_llm"},
        "model": {"generations", "extract_llm", "scores", "culturalbench"},
        "cb_local_scoring": {"culturalbench"},
        "cb_base_url": {"culturalbench"},
        "cb_model": {"culturalbench"},
        "cb_data": {"culturalbench"},
        "n_cb_questions": {"culturalbench"},
    },
    "12_participai": {
        "coder_model": {"coding"},
        "coder_max_tokens": {"coding"},
        "n_fewshot": {"coding"},
        "release_dir": {"coding"},
    },
    "10_wildchat": {
        "model": {"scan", "languages", "others", "labels", "diversity", "prompts"},
        "data": {"scan", "languages", "labels", "diversity", "prompts"},
        "other_corpora": {"others", "diversity"},
        "embedder": {"diversity", "prompts"},
        "labeler_base_url": {"labels"},
        "dedup_threshold": {"prompts"},
    },
}
NOTHING = {
    "02_wildbench": ["K", "bootstrap_rounds", "judge_timeout"],
    "04_arena_hard": ["bootstrap_rounds", "style_method"],
    "05_cdr": ["batch_size", "torch_threads", "sweep_pairs"],
    "07_culturegen": ["score_measure", "calibrate"],
    "01_magpie": ["hf_batch_size"],
    "03_benchbuilder": ["min_score", "n_clusters"],
    "12_participai": ["bootstrap_rounds", "coder_batch_size", "n_coded", "coder_timeout"],
    "10_wildchat": ["labeler_timeout", "expected_file", "torch_threads"],
}


@pytest.mark.parametrize("nb", list(GRAPHS))
def test_graph_matches_the_pipeline(nb):
    graph, base = GRAPHS[nb], defaults(nb)
    for p, want in EXPECTED[nb].items():
        got = {s for s, h in graph.hashes({**base, p: changed(base[p])}).items() if h != graph.hashes(base)[s]}
        assert got == want, f"{nb}: {p} changes {sorted(got)}, expected {sorted(want)}"
    for p in NOTHING[nb]:
        assert graph.hashes({**base, p: changed(base[p])}) == graph.hashes(base), p


# the experiment-package modules that open a notebook's stage stores for its cells
STAGE_MODULES = {
    "01_magpie": ["magpie/steps.py"],
    "02_wildbench": ["evaluation/wildbench/pipeline.py"],
    "04_arena_hard": ["evaluation/arena/pipeline.py"],
    "05_cdr": ["cdr/steps.py"],
    "07_culturegen": ["culturegen/steps.py"],
    "10_wildchat": ["wildchat/stages.py"],
}


@pytest.mark.parametrize("nb", list(GRAPHS))
def test_notebooks_use_keyed_stores(nb):
    import helpers

    cells = json.loads(notebook_path(nb).read_text())["cells"]
    src = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    src += "\n".join((Path(helpers.__file__).parent / m).read_text() for m in STAGE_MODULES.get(nb, []))
    assert "run.store(" not in src and "cached_json(run.path(" not in src, "an unkeyed stage store in " + nb
    assert ".bind(run, globals())" in src or re.search(r"start_notebook\(\"\w+\", globals\(\), \w+\)", src)
    for stage in GRAPHS[nb].stages:
        if nb == "07_culturegen" and stage == "culturalbench":  # its stores are opened inside culturalbench.evaluate
            calls = re.findall(r"cgb\.evaluate\((.*?)\)\s*(?:#[^\n]*)?\n", src, flags=re.S)
            assert len(calls) == 2 and all("stages=stages" in c for c in calls), (
                "07: CulturalBench not keyed by its stage"
            )
            continue
        assert re.search(rf'stages\.(store|path|json)\(\s*"{stage}"', src), (
            f"{nb}: stage {stage} is not read through its keyed store"
        )


def test_keyed_store_writes_its_config_and_never_reads_a_stale_file(tmp_path):
    s1 = keyed_store(tmp_path, "answers", {"max_tokens": 8})
    s1.append({"id": "a", "text": "short"})
    cfg = json.loads(s1.path.with_name(s1.path.stem + ".config.json").read_text())
    assert cfg["config"] == {"max_tokens": 8} and cfg["stage"] == "answers"
    s2 = keyed_store(tmp_path, "answers", {"max_tokens": 16})
    assert s2.path != s1.path and "a" not in s2
    assert "a" in keyed_store(tmp_path, "answers", {"max_tokens": 8})
    assert keyed_path(tmp_path, "m", {"b": 1, "a": 2}) == keyed_path(tmp_path, "m", {"a": 2, "b": 1})


def test_logprob_stage_rescored_when_truncation_changes(tmp_path):
    """cdr.score_responses through the notebook's keyed store, with a fake scorer: new truncation, new scores."""
    from helpers.cdr.reward import score_responses
    from helpers.core.logprobs import ResponseLogProb

    class FakeScorer:
        def __init__(self, limit):
            self.model_name, self.limit, self.calls, self.end_of_turn = "fake", limit, 0, "<eot>"

        def score(self, pairs, desc=None):
            self.calls += len(pairs)
            return [ResponseLogProb(-float(min(len(r), self.limit)), -1.0, min(len(r), self.limit)) for _, r in pairs]

    items = [{"id": f"x{i}/chosen", "prompt": "p", "response": "r" * (5 + i)} for i in range(3)]
    base = defaults("05_cdr")
    for limit, fresh in ((4, 3), (4, 0), (6, 3)):
        scorer = FakeScorer(limit)
        bound = CDR.bind(tmp_path, {**base, "max_response_tokens": limit})
        out = score_responses(
            bound.store("logprobs", part="fake", model="fake", end_of_turn=scorer.end_of_turn), scorer, items
        )
        assert scorer.calls == fresh
        assert [out[it["id"]].n_tokens for it in items] == [min(5 + i, limit) for i in range(3)]


class _CulturalBenchEndpoint:
    """Stands in for helpers.core.judge.Judge behind an endpoint: answers every question, counts the calls."""

    def __init__(self, base_url):
        self.base_url, self.max_tokens, self.temperature, self.calls, self.last_failed = base_url, 32, 0.0, 0, []

    def complete(self, prompts, desc="", prefill=""):
        self.calls += len(prompts)
        self.last_failed = [False] * len(prompts)
        return ['{"answer": "A"}'] * len(prompts)


def test_culturalbench_recomputed_when_the_answering_endpoint_or_model_changes(tmp_path):
    """culturegen.culturalbench.evaluate through the notebook's keyed stage: a new cb_base_url or answering model
    asks again; the same ones read the stored answers; going back finds the first answers still valid."""
    from helpers.core.runs import Run
    from helpers.culturegen import cbdata as cgbd
    from helpers.culturegen import culturalbench as cgb

    easy, hard = cgbd.load_culturalbench("builtin:culturalbench_offline.jsonl", limit=2)
    base = defaults("07_culturegen")
    n = len(easy) + len(hard)

    def answer(url, model="served-model", via_stages=True):
        judge = _CulturalBenchEndpoint(url)
        params = {**base, "cb_base_url": url, "cb_model": model}
        stages = CULTUREGEN.bind(tmp_path, params) if via_stages else None
        res = cgb.evaluate(Run(tmp_path), easy, hard, model, judge=judge, stages=stages)
        assert len(res["easy_rows"]) == len(easy) and len(res["hard_rows"]) == len(hard)
        return judge.calls

    assert answer("http://one.example/v1") == n
    assert answer("http://one.example/v1") == 0
    assert answer("http://two.example/v1") == n
    assert answer("http://two.example/v1", model="other-model") == n
    assert answer("http://one.example/v1") == 0
    # without the stage graph (a direct call), the endpoint and the model still key the stored answers
    assert answer("http://one.example/v1", via_stages=False) == n
    assert answer("http://one.example/v1", via_stages=False) == 0
    assert answer("http://two.example/v1", via_stages=False) == n
    assert answer("http://two.example/v1", model="other-model", via_stages=False) == n
