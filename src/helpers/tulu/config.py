"""From the notebook's parameters to the world, the training settings and the grid levels; the runner's precheck.

world, levels = build(params, run.dir)     # params: the notebook's parameter values by name
check_params(params)                       # metadata.helpers.precheck: ValueError naming the parameter
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.training import TrainOptions
from .base_world import TrainSettings
from .grid import ALGORITHMS, PROMPT_SETS, Levels
from .ppo import PPOSettings
from .preferences import LABELLERS
from .trainers import Stage

QUICK_SOURCES = ("on-policy", "off-policy")
PARAM_NAMES = (  # every parameter of notebooks/06_tulu.ipynb (tests check the two lists agree)
    "world",
    "policy",
    "seeds",
    "sources",
    "labellers",
    "label_noise",
    "data_sizes",
    "algorithms",
    "reward_inits",
    "rm_data",
    "prompt_sets",
    "n_entities",
    "sft_examples",
    "sft_flaw_rate",
    "sft_steps",
    "sft_learning_rate",
    "sft_batch_size",
    "pref_prompts",
    "samples_per_prompt",
    "sample_temperature",
    "extra_prompts",
    "n_eval",
    "pref_data",
    "pref_limit",
    "n_heldout",
    "in_domain_prompts",
    "ood_prompts",
    "prompt_limit",
    "harness_tasks",
    "harness_limit",
    "eval_max_new_tokens",
    "backend",
    "tensor_parallel_size",
    "dpo_steps",
    "dpo_learning_rate",
    "dpo_batch_size",
    "dpo_grad_accum",
    "dpo_warmup_ratio",
    "beta",
    "rm_steps",
    "rm_learning_rate",
    "rm_batch_size",
    "rm_grad_accum",
    "rm_warmup_ratio",
    "online_steps",
    "online_learning_rate",
    "ppo_learning_rate",
    "rloo_learning_rate",
    "grpo_learning_rate",
    "online_batch_size",
    "kl_coef",
    "temperature",
    "max_new_tokens",
    "ppo_epochs",
    "minibatch_size",
    "clip",
    "value_clip",
    "vf_coef",
    "no_eos_penalty",
    "num_generations",
    "max_length",
    "eval_every",
    "save_steps",
    "gradient_checkpointing",
    "lora_r",
    "report_to",
    "train_launcher",
    "bootstrap_rounds",
    "torch_threads",
)
ONLINE = ("ppo", "rloo", "grpo")


def _stage(p: dict, prefix: str, **extra) -> Stage:
    return Stage(
        steps=p[f"{prefix}_steps"],
        learning_rate=p[f"{prefix}_learning_rate"],
        batch_size=p[f"{prefix}_batch_size"],
        grad_accum=p.get(f"{prefix}_grad_accum", 1),
        warmup_ratio=p.get(f"{prefix}_warmup_ratio", 0.0),
        max_length=p["max_length"],
        save_steps=p["save_steps"],
        eval_every=p["eval_every"],
        gradient_checkpointing=p["gradient_checkpointing"],
        **extra,
    )


def train_settings(p: dict) -> TrainSettings:
    ppo = PPOSettings(
        kl_coef=p["kl_coef"],
        temperature=p["temperature"],
        max_new_tokens=p["max_new_tokens"],
        clip=p["clip"],
        value_clip=p["value_clip"],
        vf_coef=p["vf_coef"],
        ppo_epochs=p["ppo_epochs"],
        minibatch_size=p["minibatch_size"],
        no_eos_penalty=p["no_eos_penalty"],
    )
    online_lrs = {a: p[f"{a}_learning_rate"] for a in ONLINE if p.get(f"{a}_learning_rate")}  # 0: online_learning_rate
    return TrainSettings(
        dpo=_stage(p, "dpo"),
        beta=p["beta"],
        rm=_stage(p, "rm"),
        online=_stage(p, "online"),
        ppo=ppo,
        online_lrs=online_lrs,
        num_generations=p["num_generations"],
        options=TrainOptions(report_to=p["report_to"], lora_r=p["lora_r"], launcher=p.get("train_launcher", "local")),
    )


def levels(p: dict) -> Levels:
    return Levels(
        sources=p["sources"],
        labellers=p["labellers"],
        noise=[float(x) for x in p["label_noise"]],
        sizes=[int(x) for x in p["data_sizes"]],
        algorithms=p["algorithms"],
        rm_inits=p["reward_inits"],
        rm_data=p["rm_data"],
        prompt_sets=p["prompt_sets"],
    )


def build(p: dict, root: str | Path):
    """The world the ``world`` parameter names, and the grid's levels."""
    lv, train = levels(p), train_settings(p)
    if p["world"] == "quick":
        from .quick_world import QuickSettings, QuickWorld

        sft = Stage(
            steps=p["sft_steps"],
            learning_rate=p["sft_learning_rate"],
            batch_size=p["sft_batch_size"],
            scheduler="cosine",
            warmup_ratio=0.02,
            max_length=p["max_length"],
            save_steps=p["save_steps"],
            eval_every=p["eval_every"] and max(p["eval_every"], p["sft_steps"] // 5),
        )
        s = QuickSettings(
            policy=p["policy"],
            n_entities=p["n_entities"],
            sft_examples=p["sft_examples"],
            sft_flaw_rate=p["sft_flaw_rate"],
            sft=sft,
            pref_prompts=p["pref_prompts"],
            samples_per_prompt=p["samples_per_prompt"],
            sample_temperature=p["sample_temperature"],
            extra_prompts=p["extra_prompts"],
            n_eval=p["n_eval"],
            n_heldout=p["n_heldout"],
        )
        return QuickWorld(s, train, root), lv
    from .hub_world import HubSettings, HubWorld

    s = HubSettings(
        policy=p["policy"],
        pref_data=p["pref_data"],
        pref_limit=p["pref_limit"],
        n_heldout=p["n_heldout"],
        in_domain_prompts=p["in_domain_prompts"],
        ood_prompts=p["ood_prompts"],
        prompt_limit=p["prompt_limit"],
        n_eval=p["n_eval"],
        eval_max_new_tokens=p["eval_max_new_tokens"],
        backend=p["backend"],
        harness_tasks=tuple(p["harness_tasks"]),
        harness_limit=p["harness_limit"],
        tensor_parallel_size=p["tensor_parallel_size"],
    )
    return HubWorld(s, train, root, lv.base_data()), lv


def check_params(p: dict[str, Any]) -> None:
    """Cross-parameter checks before any compute (the runner's notebook hook); ValueError names the parameter."""
    from .toy_model import is_config_spec, preset

    quick = p.get("world") == "quick"
    if quick and not is_config_spec(p.get("policy", "")):
        raise ValueError(
            "parameter 'policy': the quick world builds its policy from a config (config:llama-xs, "
            "config:llama-s, config:llama-m); a real model needs world hub"
        )
    for key in ("policy", "reward_inits"):
        for name in [p[key]] if isinstance(p.get(key), str) else p.get(key) or []:
            if is_config_spec(name):
                try:
                    preset(name)
                except ValueError as exc:
                    raise ValueError(f"parameter {key!r}: {exc}") from None
                if not quick:
                    raise ValueError(f"parameter {key!r}: {name} is a quick-world model; world hub takes models")
            elif name.startswith("sft:"):  # quick world: a model of that preset SFT'd on the policy's data
                if not quick or not is_config_spec(name[4:]):
                    raise ValueError(
                        f"parameter {key!r}: {name}: sft:<preset> is the quick world's SFT'd model of a "
                        "preset (sft:config:rm-s)"
                    )
                try:
                    preset(name[4:])
                except ValueError as exc:
                    raise ValueError(f"parameter {key!r}: {exc}") from None
            elif name != "sft":
                from ..core.models import ModelNotFoundError, resolve_model

                try:
                    resolved = resolve_model(name)
                except ModelNotFoundError as exc:
                    raise ValueError(f"parameter {key!r}: {exc}") from None
                if resolved == name:  # a hub id: online, it must exist
                    from ..core.precheck import check_hub_model

                    check_hub_model(key, name)
    if quick and [s for s in p.get("sources", []) if s not in QUICK_SOURCES]:
        raise ValueError(f"parameter 'sources': the quick world's sources are {' / '.join(QUICK_SOURCES)}")
    for key, allowed in (("labellers", LABELLERS), ("algorithms", ALGORITHMS), ("prompt_sets", PROMPT_SETS)):
        bad = [v for v in p.get(key, []) if v not in allowed]
        if bad:
            raise ValueError(f"parameter {key!r}: unknown {bad}; choose from {', '.join(allowed)}")
    for level in p.get("rm_data", []):
        if level != "reference" and not level.startswith("noise:") and (quick and level not in QUICK_SOURCES):
            raise ValueError(f"parameter 'rm_data': {level!r} is not reference, noise:R or a source")
        if level.startswith("noise:"):
            try:
                assert 0 <= float(level.split(":", 1)[1]) <= 1
            except (ValueError, AssertionError):
                raise ValueError(f"parameter 'rm_data': {level!r} needs a rate in [0, 1] (noise:0.4)") from None
    online = [a for a in p.get("algorithms", []) if a != "dpo"]
    if (online or len(p.get("prompt_sets", [])) > 1) and not p.get("reward_inits"):
        raise ValueError(
            "parameter 'reward_inits': PPO / RLOO / GRPO and the prompts aspect need at least one reward model"
        )
    if not quick and "overall" in p.get("labellers", []):
        base = (p.get("sources") or [""])[0]
        if not (base.endswith("mean_aspects") or p.get("pref_data", "").endswith((".jsonl", ".json"))):
            raise ValueError(
                "parameter 'labellers': 'overall' needs an UltraFeedback source (a *_mean_aspects split or an "
                "UltraFeedback-schema file) as the first of 'sources'"
            )
    if not quick:
        for key in ("in_domain_prompts", "ood_prompts"):
            needed = {"in_domain_prompts": "in-domain", "ood_prompts": "out-of-domain"}[key]
            if needed in p.get("prompt_sets", []) and not p.get(key):
                raise ValueError(
                    f"parameter {key!r}: the prompt set {needed!r} needs a source (hub_id:split or a file)"
                )
    launcher = p.get("train_launcher", "local")
    try:
        TrainOptions(report_to=p.get("report_to", "none"), lora_r=p.get("lora_r", 0), launcher=launcher).check()
    except ValueError as exc:
        name = next((k for k in ("report_to", "train_launcher") if k in str(exc)), "lora_r")
        raise ValueError(f"parameter {name!r}: {exc}") from None
    if launcher != "local":
        from .ppo_train import check_launcher

        try:
            check_launcher(launcher)
        except ValueError as exc:
            raise ValueError(f"parameter 'train_launcher': {exc}") from None
    if p.get("harness_tasks") and not quick:
        from .harness import harness_available

        if not harness_available():
            raise ValueError("parameter 'harness_tasks': lm-evaluation-harness is not installed (pip install lm-eval)")
        missing = [
            t for t in p["harness_tasks"] if str(t).endswith((".yaml", ".yml")) and not Path(t).expanduser().is_file()
        ]
        if missing:
            raise ValueError(f"parameter 'harness_tasks': no task file {missing[0]}")
    if p.get("num_generations", 2) < 2 and any(a in ("rloo", "grpo") for a in p.get("algorithms", [])):
        raise ValueError("parameter 'num_generations': RLOO and GRPO need at least 2 samples per prompt")
    if not quick:
        _check_hub_world_data(p)


def _check_hub_world_data(p: dict[str, Any]) -> None:
    """Hub world: pref_data and the prompt sets it uses are loadable (a local file is read, bounded; a hub id is
    cached offline or known to the hub online), before any model loads."""
    from ..core.data import check_source

    check_source("pref_data", p.get("pref_data", ""))
    for key, needed in (("in_domain_prompts", "in-domain"), ("ood_prompts", "out-of-domain")):
        if needed in p.get("prompt_sets", []) and p.get(key):
            check_source(key, str(p[key]).split(":", 1)[0] if "/" in str(p[key]).split(":", 1)[0] else p[key])


def published_checkpoints(p: dict[str, Any]) -> list[str]:
    """The model folders a run publishes under its run folder, for other notebooks to read (the runner's
    ``metadata.helpers.checkpoints``): ``checkpoints/<slug>-s<seed>`` for every training of the grid, hub world only
    (the quick world's toy models are not chat models a judge could read)."""
    if p.get("world") != "hub":
        return []
    from .grid import ablation_rows, unique_runs

    return [f"checkpoints/{r.slug}-s{s}" for r in unique_runs(ablation_rows(levels(p))) for s in p["seeds"]]


def publish_checkpoints(run_dir: str | Path, models_dir: str | Path, rows, seeds) -> dict[str, str]:
    """Link ``run_dir/checkpoints/<slug>-s<seed>`` to each final model in ``models_dir`` (core.store.point_to, as
    01 links checkpoints/sft): stable paths for the judge notebooks. Returns {"<label> (seed s)": path}."""
    from ..core.store import is_finished, point_to
    from .grid import unique_runs

    out = {}
    for r in unique_runs(rows):
        for s in seeds:
            name = f"{r.slug}-s{s}"
            if is_finished(Path(models_dir) / name):
                point_to(Path(run_dir) / "checkpoints" / name, Path(models_dir) / name)
                out[f"{r.label} (seed {s})"] = str(Path(run_dir) / "checkpoints" / name)
    return out
