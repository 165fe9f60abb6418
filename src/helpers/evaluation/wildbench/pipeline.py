"""The notebook's stages and tables (02_wildbench): contestants, answers, WB-Score and WB-Reward judgements,
the leaderboard and the judge's reliability checks. Each function is one step of the notebook's story."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .contestants import Contestant, parse_contestant
from .tasks import Task, resolve_repo_path


# --------------------------------------------------------------------------- contestants (and the precheck)
def contestants_from(
    models: Sequence[str], model_variants: Sequence[str], optional_checkpoints: Sequence[str] = ()
) -> tuple[list[Contestant], list[str]]:
    """Models, same-weights variants and the optional checkpoints whose folders hold a model; returns
    (contestants, notes), one note per skipped checkpoint."""
    from ...core.models import ModelNotFoundError, resolve_model

    contestants = [parse_contestant(m) for m in models] + [parse_contestant(v) for v in model_variants]
    notes = []
    for folder in optional_checkpoints:
        path = resolve_repo_path(folder)
        try:
            resolve_model(path)
        except ModelNotFoundError as exc:
            notes.append(f"note: optional checkpoint {folder} skipped ({str(exc).splitlines()[0][:120]})")
            continue
        contestants.append(parse_contestant(path))
    return contestants, notes


def check_contestants(names: Sequence[str], baselines: Sequence[str]) -> None:
    """Contestant names are unique and every baseline is one of them (ValueError names the parameter)."""
    if len(set(names)) != len(names):
        raise ValueError(
            f"parameter 'model_variants': contestant names must be unique, got {list(names)}: "
            f"add '; name=...' to a variant"
        )
    missing = [b for b in baselines if b not in names]
    if missing or not baselines:
        raise ValueError(f"parameter 'baselines': {missing or list(baselines)} are not contestants ({list(names)})")


def check_params(params: dict[str, Any]) -> None:
    """The runner's precheck hook (before the kernel starts): the contestants parse, their names are unique and
    the baselines are contestants (the optional checkpoints present now count)."""
    contestants, _ = contestants_from(
        params.get("models", []), params.get("model_variants", []), params.get("optional_checkpoints", [])
    )
    check_contestants([c.name for c in contestants], params.get("baselines", []))


# --------------------------------------------------------------------------- answers
def answer_order(contestants: Sequence[Contestant], judge_model: str) -> list[Contestant]:
    """The order contestants are answered in: the local judge's model last, so its engine stays loaded."""
    return sorted(contestants, key=lambda c: (c.model != judge_model, c.model))[::-1]


def generate_answers(
    contestants: Sequence[Contestant],
    tasks: Sequence[Task],
    stages: Any,
    backend: str,
    judge_model: str,
    max_tokens: int,
    seed: int,
) -> dict[str, dict[str, dict]]:
    """One resumable stage per contestant; returns {contestant: {task id: answer record}} in contestant order."""
    from ...core.generation import Generator, Sampling
    from ...core.store import run_stage, stable_id
    from ...core.vllm_engines import shutdown_engines

    answers, gen = {}, None
    for c in answer_order(contestants, judge_model):
        if gen is None or gen.model_name != c.model:
            if gen is not None and gen.backend_name == "vllm":
                gen = answer = None  # drop every reference, then free the engine before loading the next model
                shutdown_engines()
            gen = Generator(c.model, backend=backend, n_prompts=len(tasks))  # a few prompts on a CPU: transformers
        sampling = Sampling(temperature=c.temperature, max_tokens=max_tokens, seed=seed)

        def answer(items, gen=gen, c=c, sampling=sampling):
            batch = [it["t"] for it in items]
            outs = gen.generate(
                [c.messages(t) for t in batch],
                sampling,
                desc=c.name,
                seeds=[int(stable_id(seed, t.id), 16) % 2**31 for t in batch],
            )
            return [
                {"id": t.id, "text": o[0].text.strip(), "n_tokens": o[0].n_tokens, "finish": o[0].finish_reason}
                for t, o in zip(batch, outs)
            ]

        recs = run_stage(
            stages.store("answers", part=c.name, contestant=vars(c), engine=gen.backend_name),
            [{"id": t.id, "t": t} for t in tasks],
            answer,
            batch_size=len(tasks),
            desc=f"answers {c.name}",
        )
        answers[c.name] = {r["id"]: r for r in recs}
    return {c.name: answers[c.name] for c in contestants}


def answer_lengths(answers: dict[str, dict[str, dict]]):
    """Per contestant: mean answer length (characters), empty answers, answers that hit the token limit."""
    import numpy as np
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "model": m,
                "mean_chars": np.mean([len(a["text"]) for a in recs.values()]),
                "empty": sum(not a["text"] for a in recs.values()),
                "hit_max_tokens": sum(a["finish"] == "length" for a in recs.values()),
            }
            for m, recs in answers.items()
        ]
    )


# --------------------------------------------------------------------------- WB-Score
def judge_wb_scores(
    judge: Any,
    contestants: Sequence[Contestant],
    tasks: Sequence[Task],
    answers: dict,
    stages: Any,
    max_words: int,
    prefill: str,
) -> tuple[list[dict], int]:
    """Every (contestant, task) scored by the judge (cached); an empty answer scores 1 without a judge call.
    Returns (scores, endpoint errors): an endpoint error is no judgement (not stored, judged again next run)."""
    from ...core.store import RETRY, run_stage, stable_id
    from .prompts import parse_score, score_prompt

    items = [
        {
            "id": stable_id("score", judge.name, c.name, t.id, answers[c.name][t.id]["text"], max_words, prefill),
            "model": c.name,
            "task": t.id,
        }
        for c in contestants
        for t in tasks
    ]
    task_by_id = {t.id: t for t in tasks}

    def judge_scores(batch):
        todo = [it for it in batch if answers[it["model"]][it["task"]]["text"]]
        texts = dict(
            zip(
                [it["id"] for it in todo],
                judge.complete(
                    [
                        score_prompt(task_by_id[it["task"]], answers[it["model"]][it["task"]]["text"], max_words)
                        for it in todo
                    ],
                    desc="WB-Score",
                    prefill=prefill,
                )
                if todo
                else [],
            )
        )
        failed = {it["id"] for it, f in zip(todo, judge.last_failed if todo else []) if f}
        out = []
        for it in batch:
            if it["id"] in failed:
                out.append({**it, "score": None, "auto": False, "raw": "", "endpoint_error": True, RETRY: True})
            elif it["id"] in texts:  # judged
                out.append({**it, "score": parse_score(texts[it["id"]]), "auto": False, "raw": texts[it["id"]][:1500]})
            else:  # empty answer: worst score without a judge call
                out.append({**it, "score": 1.0, "auto": True, "raw": ""})
        return out

    scores_all = run_stage(
        stages.store("wb_score", judge=judge.name, temperature=judge.temperature),
        items,
        judge_scores,
        batch_size=64,
        desc="WB-Score",
    )
    errors = sum(bool(s.get("endpoint_error")) for s in scores_all)
    return [s for s in scores_all if not s.get("endpoint_error")], errors


def score_frame(scores: Sequence[dict]):
    """(score table, parse-failure rate among judged answers; NaN when nothing was judged)."""
    import pandas as pd

    df = pd.DataFrame(scores, columns=["id", "model", "task", "score", "auto", "raw"])
    df["auto"] = df["auto"].astype(bool)
    fail = float(df.loc[~df.auto, "score"].isna().mean()) if (~df.auto).any() else float("nan")
    return df, fail


# --------------------------------------------------------------------------- WB-Reward
def game_items(
    judge_name: str,
    contestants: Sequence[Contestant],
    baselines: Sequence[str],
    tasks: Sequence[Task],
    answers: dict,
    seed: int,
    position_check_tasks: int,
    max_words: int,
    prefill: str,
) -> list[dict]:
    """One game per (model, baseline, task), A/B order randomised; the first ``position_check_tasks`` tasks of each
    pair also in the swapped order. A model is not compared with itself."""
    from ...core.store import stable_id
    from .scoring import model_is_a

    items = []
    for b in baselines:
        for c in contestants:
            if c.name == b:
                continue
            for i, t in enumerate(tasks):
                first = model_is_a(t.id, c.name, b, seed)
                for swap in [False, True] if i < position_check_tasks else [False]:
                    m_text, b_text = answers[c.name][t.id]["text"], answers[b][t.id]["text"]
                    items.append(
                        {
                            "id": stable_id(
                                "reward", judge_name, c.name, b, t.id, m_text, b_text, first != swap, max_words, prefill
                            ),
                            "model": c.name,
                            "baseline": b,
                            "task": t.id,
                            "model_is_a": first != swap,
                            "swap_check": swap,
                            "len_model": len(m_text),
                            "len_baseline": len(b_text),
                        }
                    )
    return items


def judge_wb_games(
    judge: Any, items: Sequence[dict], tasks: Sequence[Task], answers: dict, stages: Any, max_words: int, prefill: str
) -> tuple[list[dict], int]:
    """Every game judged (cached); a game with an empty answer is decided without the judge. Returns (games,
    endpoint errors): an endpoint error is no verdict (retried next run)."""
    from ...core.store import RETRY, run_stage
    from .prompts import parse_label, reward_prompt
    from .scoring import empty_game_reward

    task_by_id = {t.id: t for t in tasks}

    def judge_games(batch):
        auto = {
            it["id"]: empty_game_reward(
                answers[it["model"]][it["task"]]["text"], answers[it["baseline"]][it["task"]]["text"]
            )
            for it in batch
        }
        todo = [it for it in batch if auto[it["id"]] is None]
        prompts = []
        for it in todo:
            m_text, b_text = answers[it["model"]][it["task"]]["text"], answers[it["baseline"]][it["task"]]["text"]
            a, bb = (m_text, b_text) if it["model_is_a"] else (b_text, m_text)
            prompts.append(reward_prompt(task_by_id[it["task"]], a, bb, max_words))
        texts = dict(
            zip([it["id"] for it in todo], judge.complete(prompts, desc="WB-Reward", prefill=prefill) if todo else [])
        )
        failed = {it["id"] for it, f in zip(todo, judge.last_failed if todo else []) if f}
        return [
            {
                **it,
                "auto_reward": auto[it["id"]],
                "label": parse_label(texts.get(it["id"], "")),
                "raw": texts.get(it["id"], "")[:1500],
                **({"endpoint_error": True, RETRY: True} if it["id"] in failed else {}),
            }
            for it in batch
        ]

    games_all = run_stage(
        stages.store("wb_reward", judge=judge.name, temperature=judge.temperature),
        list(items),
        judge_games,
        batch_size=64,
        desc="WB-Reward",
    )
    errors = sum(bool(g.get("endpoint_error")) for g in games_all)
    return [g for g in games_all if not g.get("endpoint_error")], errors


def reward_parse_failure_rate(judged: Sequence[dict]) -> float:
    """Share of judged games without a label (NaN when none was judged)."""
    return sum(g["label"] is None for g in judged) / len(judged) if judged else float("nan")


# --------------------------------------------------------------------------- leaderboard
def leaderboard(score_table, reward_table, lengths, K: float, aggregation: str):
    """WB-Score and WB-Reward (task macro and mixture) per model with their CIs, best WB-Score first (ties: equal
    scores by name; overlapping CIs marked)."""
    from ...core.stats import rank_with_ties

    board = (
        score_table[["model", "wb_score", "wb_score_lo", "wb_score_hi", "wb_score_plain_mean"]]
        .merge(
            reward_table[
                [
                    "model",
                    "wb_reward_task_macro",
                    "wb_reward_task_macro_lo",
                    "wb_reward_task_macro_hi",
                    "wb_reward_mix",
                    "wb_reward_lo",
                    "wb_reward_hi",
                ]
            ],
            on="model",
            how="left",
        )
        .merge(lengths[["model", "mean_chars"]], on="model")
    )
    board["K"] = K
    board["aggregation"] = aggregation
    return rank_with_ties(board, "wb_score", low="wb_score_lo", high="wb_score_hi")


def group_reward_table(
    games: Sequence[dict], groups_of: dict[str, list[str]], K: float, baselines: Sequence[str], aggregation: str
):
    """WB-Reward mixture per model (rows) and task group (columns)."""
    import pandas as pd

    from .tables import group_rewards

    return pd.DataFrame(
        group_rewards(games, groups_of, K, baselines=baselines, aggregation=aggregation),
        columns=["model", "group", "wb_reward_mix"],
    ).pivot(index="model", columns="group", values="wb_reward_mix")


# --------------------------------------------------------------------------- reliability
def swapped_pairs(games_all: Sequence[dict]) -> list[tuple[str | None, str | None]]:
    """(label with the model in slot A, label with the model in slot B) for each game judged in both orders."""
    pair_of: dict = {}
    for g in games_all:
        if g["auto_reward"] is None:
            pair_of.setdefault((g["model"], g["baseline"], g["task"]), {})[g["model_is_a"]] = g["label"]
    return [(p[True], p[False]) for p in pair_of.values() if True in p and False in p]


def reliability_checks(games_all: Sequence[dict], score_df, board, score_fail: float, reward_fail: float):
    """The judge's reliability numbers (dict: position consistency, tie share, top-score share, Kendall tau, valid
    scores) and their table."""
    import pandas as pd

    from ...core.stats import rank_agreement
    from .reliability import position_consistency

    pos = position_consistency(swapped_pairs(games_all))
    valid = score_df.loc[~score_df.auto, "score"].dropna()
    labels = [g["label"] for g in games_all if g["auto_reward"] is None and g["label"] is not None]
    tie_share = labels.count("A=B") / len(labels) if labels else float("nan")
    top_share = float(valid.value_counts(normalize=True).iloc[0]) if len(valid) else float("nan")
    tau = rank_agreement(dict(zip(board.model, board.wb_score)), dict(zip(board.model, board.wb_reward_mix)))["kendall"]
    table = pd.DataFrame(
        [
            {"check": "WB-Score parse failures", "value": score_fail},
            {"check": "WB-Reward parse failures", "value": reward_fail},
            {"check": "pairs judged in both orders", "value": pos["pairs"]},
            {"check": "consistent across orders", "value": pos["consistent_rate"]},
            {"check": "same slot wins both orders", "value": pos["same_slot_rate"]},
            {"check": "slot-A share of decisive verdicts", "value": pos["a_slot_rate"]},
            {"check": "distinct 1-10 scores used", "value": valid.nunique()},
            {"check": "std of valid 1-10 scores", "value": float(valid.std()) if len(valid) > 1 else float("nan")},
            {"check": "share of the most common score", "value": top_share},
            {"check": "share of tie (A=B) verdicts", "value": tie_share},
            {"check": "Kendall tau WB-Score vs WB-Reward", "value": tau},
        ]
    )
    return {
        "position": pos,
        "tie_share": tie_share,
        "top_score_share": top_share,
        "kendall_tau": tau,
        "valid_scores": valid,
    }, table


def unparsed_examples(scores: Sequence[dict], games_all: Sequence[dict], n: int = 2) -> list[str]:
    """Up to ``n`` raw judge replies without a usable score and ``n`` without a usable label."""
    return [s["raw"] for s in scores if s["score"] is None and not s["auto"]][:n] + [
        g["raw"] for g in games_all if g["auto_reward"] is None and g["label"] is None
    ][:n]
