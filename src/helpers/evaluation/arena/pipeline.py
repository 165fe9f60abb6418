"""The notebook's stages and tables (04_arena_hard): prompt source, answers, the two judged games per prompt,
ratings with both bootstrap and style definitions, and the agreement with WildBench. One function per step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


# --------------------------------------------------------------------------- prompts
def prompts_source(run_dir: str | Path, prompts_data: str, fallback_prompts: str = "") -> tuple[str, str | None]:
    """(the source to load prompts from, a note when the fallback replaces it). ``run:NOTEBOOK`` is that notebook's
    ``data/bench_prompts.jsonl`` for the same run name; missing or empty, ``fallback_prompts`` is used (with a note)
    or, without one, FileNotFoundError."""
    from .prompts import sibling_run_dir

    if not prompts_data.startswith("run:"):
        return prompts_data, None
    path = sibling_run_dir(run_dir, prompts_data[4:]) / "data" / "bench_prompts.jsonl"
    if path.exists() and path.read_text().strip():
        return str(path), None
    if not fallback_prompts:
        raise FileNotFoundError(f"{path} is missing or empty: run {prompts_data[4:]} with the same run name first")
    return fallback_prompts, (
        f"NOTE: {path} is missing or empty (no BenchBuilder output for this run name); using {fallback_prompts}"
    )


# --------------------------------------------------------------------------- answers
def answer_configs(
    answer_model: str, variants: Sequence[str], extra_checkpoints: Sequence[str] = ()
) -> tuple[dict[str, dict], list[str]]:
    """({name: {model, system, temperature}}, notes): the answer variants of ``answer_model`` (``ANSWER_VARIANTS``;
    unknown ones are refused by the precheck) and every extra checkpoint that holds a model."""
    from ...core.models import ModelNotFoundError, resolve_model
    from .prompts import ANSWER_VARIANTS

    configs = {v: {"model": answer_model, **ANSWER_VARIANTS[v]} for v in variants}
    notes = []
    for ckpt in extra_checkpoints:
        try:
            resolve_model(ckpt)
            configs[ckpt.rstrip("/").split("/")[-1]] = {"model": ckpt, "system": "", "temperature": 0.0}
        except ModelNotFoundError as exc:
            notes.append(f"skipping extra checkpoint {ckpt!r}: {exc}")
    return configs, notes


def generate_answers(
    configs: dict[str, dict], prompts: Sequence[dict], stages: Any, backend: str, max_tokens: int, seed: int
) -> dict[str, dict[str, dict]]:
    """One resumable stage per variant; records keyed by the prompt's id and text (a "run:" source can change under
    the same id), joined by id. Returns {variant: {prompt id: answer}}."""
    from ...core.generation import Generator, Sampling
    from ...core.store import run_stage, stable_id
    from .prompts import answer_messages

    gens, answers = {}, {}
    for name, cfg in configs.items():
        if cfg["model"] not in gens:
            gens[cfg["model"]] = Generator(cfg["model"], backend=backend, n_prompts=len(prompts))
        gen = gens[cfg["model"]]
        sampling = Sampling(temperature=cfg["temperature"], max_tokens=max_tokens, seed=seed)

        def answer(batch, gen=gen, cfg=cfg, sampling=sampling):
            outs = gen.generate([answer_messages(p["prompt"], cfg["system"]) for p in batch], sampling, desc="answers")
            return [
                {"key": p["key"], "id": p["id"], "text": o[0].text, "n_tokens": o[0].n_tokens}
                for p, o in zip(batch, outs)
            ]

        recs = run_stage(
            stages.store("answers", key="key", part=name, variant=cfg, engine=gen.backend_name),
            [{**p, "key": stable_id(p["id"], p["prompt"])} for p in prompts],
            answer,
            batch_size=16,
            desc=name,
        )
        answers[name] = {r["id"]: r for r in recs}
    return answers


def mean_answer_tokens(answers: dict[str, dict[str, dict]]):
    """One row: the mean answer length (tokens) per variant."""
    import numpy as np
    import pandas as pd

    return pd.DataFrame(
        {n: [np.mean([a["n_tokens"] for a in ans.values()])] for n, ans in answers.items()},
        index=["mean answer tokens"],
    )


# --------------------------------------------------------------------------- games
def game_items(
    configs: dict[str, dict],
    baseline: str,
    prompts: Sequence[dict],
    answers: dict,
    judge_model: str,
    judge_base_url: str,
    judge_mode: str,
    judge_max_tokens: int,
    judge_prompt: str,
) -> tuple[list[dict], dict[str, list[dict]]]:
    """Two games per (contestant, prompt): game 1 shows the baseline as A, game 2 swaps them. Returns (items, judge
    messages by item id); an item's id covers the judge, mode, setting, contestant, prompt, game and both answers."""
    from ...core.store import stable_id
    from .games import game_order
    from .prompts import VERDICT_PREFILL, judge_messages

    setting = VERDICT_PREFILL if judge_mode == "logprob" else judge_max_tokens
    items, msgs_by_id = [], {}
    for m in configs:
        if m == baseline:
            continue
        for p in prompts:
            for g in (1, 2):
                a, b = game_order(answers[baseline][p["id"]], answers[m][p["id"]], g)
                msgs = judge_messages(p["prompt"], a["text"], b["text"], judge_prompt)
                gid = stable_id(judge_model, judge_base_url, judge_mode, setting, m, p["id"], g, msgs)
                msgs_by_id[gid] = msgs
                items.append({"id": gid, "model": m, "prompt_id": p["id"], "game": g})
    return items, msgs_by_id


def game_judge(
    judge_mode: str, msgs_by_id: dict[str, list[dict]], make_judge: Callable[[], Any], judge_model: str
) -> tuple[Callable[[list[dict]], list[dict]], dict[str, Any]]:
    """(the stage function that judges a batch of games, the judges it loaded: loaded on first use, so a fully cached
    rerun loads none). ``logprob``: the most likely of the five labels after the verdict prefill (with its log-probs
    and margin); ``generate``: the judge's text, parsed; an endpoint error is no verdict (not stored, retried)."""
    from ...core.logprobs import LogProbScorer
    from ...core.store import RETRY
    from .games import parse_verdict
    from .prompts import VERDICT_PREFILL, logprob_verdicts

    judges: dict[str, Any] = {}

    def judge_games(batch):
        msgs = [msgs_by_id[it["id"]] for it in batch]
        if judge_mode == "logprob":
            if "scorer" not in judges:
                judges["scorer"] = LogProbScorer(judge_model, batch_size=8)
            res = logprob_verdicts(judges["scorer"], msgs, desc="judge log-probs")
            return [
                {
                    **it,
                    "judgement": VERDICT_PREFILL + r["verdict"] + "]]",
                    "verdict": r["verdict"],
                    "label_logprobs": r["logprobs"],
                    "margin": r["margin"],
                }
                for it, r in zip(batch, res)
            ]
        if "judge" not in judges:
            judges["judge"] = make_judge()
        texts = judges["judge"].complete(msgs, desc="judge")
        return [
            {
                **it,
                "judgement": t,
                "verdict": None if f else parse_verdict(t),
                **({"endpoint_error": True, RETRY: True} if f else {}),
            }
            for it, t, f in zip(batch, texts, judges["judge"].last_failed)
        ]

    return judge_games, judges


def games_frame(games: Sequence[dict], judge_mode: str):
    """(games table, share of games without a verdict)."""
    import pandas as pd

    cols = ["id", "model", "prompt_id", "game", "judgement", "verdict"] + (
        ["margin"] if judge_mode == "logprob" else []
    )
    gdf = pd.DataFrame(list(games), columns=cols)
    return gdf, float(gdf.verdict.isna().mean())


# --------------------------------------------------------------------------- ratings
def valid_prompts(battles, names: Sequence[str]) -> dict[str, int]:
    """Per contestant, the prompts with a battle (both verdicts parsed)."""
    return {
        m: int(battles[battles.model_a.eq(m) | battles.model_b.eq(m)].prompt_id.nunique()) if len(battles) else 0
        for m in names
    }


def enough_battles(valid: dict[str, int], min_valid_prompts: int) -> bool:
    """Ratings are computed only when every contestant has at least ``min_valid_prompts`` valid prompts."""
    return len(valid) > 0 and min(valid.values()) >= min_valid_prompts


def ratings(battles, answers: dict, baseline: str, bootstrap_method: str, style_method: str, **opts: Any) -> dict:
    """Bradley-Terry leaderboards for every bootstrap definition (raw) and every style definition (style-controlled,
    with ``bootstrap_method``), the ones in use (``board``, ``styled``), the style coefficients, the two comparison
    tables and their summary. ``opts``: rounds, seed, unit, level."""
    from .bootstrap import BOOTSTRAP_METHODS, leaderboard
    from .bradley_terry import fit_bradley_terry
    from .style import (
        STYLE_COLUMNS,
        STYLE_METHODS,
        battle_style_features,
        comparison_summary,
        method_comparison,
        style_covariates,
    )

    boards = {bm: leaderboard(battles, baseline, method=bm, **opts) for bm in BOOTSTRAP_METHODS}
    style_cov = {}
    for sm in STYLE_METHODS:
        fa, fb = battle_style_features(battles, answers, counting=sm)
        style_cov[sm] = style_covariates(battles, fa, fb, baseline, method=sm)
    styled = {
        sm: leaderboard(battles, baseline, method=bootstrap_method, style=S, **opts) for sm, S in style_cov.items()
    }
    coef = dict(zip(STYLE_COLUMNS, fit_bradley_terry(battles, baseline, style=style_cov[style_method])["style_coef"]))
    ci_cmp = method_comparison(boards["upstream"], boards["weighted"], baseline)
    style_cmp = method_comparison(styled["upstream"], styled["symmetric"], baseline)
    return {
        "boards": boards,
        "styled_boards": styled,
        "board": boards[bootstrap_method],
        "styled": styled[style_method],
        "style_coef": coef,
        "ci_cmp": ci_cmp,
        "style_cmp": style_cmp,
        "summary": comparison_summary(ci_cmp, style_cmp),
    }


# --------------------------------------------------------------------------- agreement with WildBench
def wildbench_agreement(board, tables: dict, where: Any = "") -> tuple[list[dict], list[str]]:
    """(rank agreement per WildBench table, [] when nothing is compared; the lines the notebook prints about it).
    Models are matched by exact name; NaN correlations mean fewer than 3 shared models."""
    import pandas as pd

    from ...core.stats import rank_agreement
    from .quality import model_name_overlap

    if not tables:
        return [], [f"no WildBench per-model tables at {where}: judge agreement not computed (absent)"]
    if board is None:
        return [], ["WildBench tables found, but there is no Arena-Hard ranking to compare (not enough valid battles)"]
    ours = dict(zip(board.model, board.rating))
    overlap = model_name_overlap(ours, set().union(*[set(t) for t in tables.values()]))
    lines = [f"WildBench columns: {sorted(tables)}"]
    if not overlap["shared"]:
        lines.append(
            f"NO MODEL NAMES MATCH: Arena-Hard rated {overlap['only_ours']}, WildBench rated "
            f"{overlap['only_theirs']}; agreement cannot be computed (give both notebooks the same contestant "
            "names)"
        )
    else:
        lines.append(
            f"shared models: {overlap['shared']}; only here: {overlap['only_ours']}; only in WildBench: "
            f"{overlap['only_theirs']}"
        )
    rows = [{"wildbench_table": name, **rank_agreement(ours, scores)} for name, scores in tables.items()]
    return pd.DataFrame(rows).to_dict(orient="records"), lines


# --------------------------------------------------------------------------- metrics.json
HEADLINE = [
    "top_contestant",
    "judge_parse_failure_rate",
    "position_bias_rate",
    "enough_valid_battles",
    "separability",
    "ci_level",
]


def _interval(b) -> dict[str, list[float]]:
    return {m: [round(lo, 4), round(hi, 4)] for m, lo, hi in zip(b.model, b.win_rate_low, b.win_rate_high)}


def run_metrics(
    counts: dict[str, Any],
    consistency: dict,
    drop_stats: dict,
    rated: dict,
    sep: dict,
    agreement: list,
    tables: Any,
    health: dict[str, int],
) -> dict[str, Any]:
    """metrics.json: the run's ``counts`` (prompts, prompts_source, games, judge_parse_failure_rate, judge_mode,
    enough_valid_battles, bootstrap_method, bootstrap_rounds, ci_level, style_method, judge_requests,
    judge_endpoint_errors), the judge's position checks, the ratings (``ratings``; {} when not rated), separability,
    the WildBench agreement, the stores' health and the findings computed from them (``findings``)."""
    from ...core.store import fallback_lines
    from .verdicts import findings

    board, styled = rated.get("board"), rated.get("styled")
    summary = rated.get("summary", {})
    m = {
        **counts,
        "prompts_kept": drop_stats["prompts_kept"],
        "prompts_dropped": drop_stats["prompts_dropped"],
        "position_bias_rate": consistency["position_bias_rate"],
        "two_game_consistency": consistency["consistent_rate"],
        "separability": sep["separability"],
        "win_rates": dict(zip(board.model, board.win_rate.round(4))) if board is not None else {},
        "win_rate_ci": _interval(board) if board is not None else {},
        "win_rate_ci_by_bootstrap": {bm: _interval(b) for bm, b in rated.get("boards", {}).items()},
        "win_rates_style_controlled": dict(zip(styled.model, styled.win_rate.round(4))) if board is not None else {},
        "win_rates_style_controlled_by_method": {
            sm: dict(zip(b.model, b.win_rate.round(4))) for sm, b in rated.get("styled_boards", {}).items()
        },
        "ci_width_ratio_weighted_over_upstream": summary.get("ci_width_ratio_weighted_over_upstream"),
        "style_methods_max_gap_points": summary.get("style_methods_max_gap_points"),
        "wildbench_agreement": agreement,
        "wildbench_tables_unreadable": tables.unreadable,
        "headline": HEADLINE,
        **health,
    }
    m.update(findings(m, board=board))
    m["findings"] = list(m.get("findings", [])) + fallback_lines(
        {
            "judge endpoint errors": counts["judge_endpoint_errors"],
            "unreadable WildBench tables": len(tables.unreadable),
            **health,
        }
    )
    return m
