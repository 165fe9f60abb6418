"""What both worlds share: training one grid row (DPO, PPO, RLOO, GRPO) and the reward models behind it.

A world (``QuickWorld``, ``HubWorld``) provides the SFT start (``sft_dir``), preference ``pairs(spec, seed)``,
``policy_prompts(which, seed)``, ``heldout_pairs()``, ``evaluate(folder)`` and ``curve_eval(model)``; this
base turns a grid ``Row`` into the training it names, with every stage cached by its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..core.store import stable_id
from ..core.training import TrainOptions
from .grid import RMSpec, Row
from .ppo import PPOSettings
from .ppo_train import reward_scorer, train_ppo
from .trainers import Online, Stage, StageResult, train_dpo, train_online, train_reward


@dataclass(frozen=True)
class TrainSettings:
    """The preference-learning stages (the notebook's params fill them; the paper's values in full-gpu.yaml)."""

    dpo: Stage = Stage(steps=32, learning_rate=2e-4, batch_size=16)
    beta: float = 0.1
    rm: Stage = Stage(steps=60, learning_rate=1e-3, batch_size=32)
    online: Stage = Stage(steps=24, learning_rate=1e-4, batch_size=16)
    online_lrs: dict = field(default_factory=dict)  # per online algorithm (ppo / rloo / grpo); else online's rate
    ppo: PPOSettings = PPOSettings()
    num_generations: int = 4  # RLOO / GRPO samples per prompt (PPO: one per prompt, as in the paper)
    options: TrainOptions = TrainOptions()  # LoRA, tracker (checkpoint cadence is each Stage's save_steps)


class BaseWorld:
    root: Path
    train: TrainSettings
    tok = None  # the quick world's word tokenizer (reward models built from a config need it)

    @property
    def sft_dir(self) -> Path:
        raise NotImplementedError

    def reward_model(self, spec: RMSpec, seed: int) -> StageResult:
        """The reward model ``spec`` names, trained with TRL's RewardTrainer on its data (cached per seed)."""
        pairs = self.pairs(spec.data, seed)
        folder = (
            self.root
            / "models"
            / f"rm-{spec.init.split(':')[-1].split('/')[-1]}-{stable_id(asdict(spec), length=6)}-s{seed}"
        )
        stage = replace(self.train.rm, seed=seed)
        if spec.init.startswith("config:"):  # a random-initialised classifier of that shape (kept for comparison)
            return train_reward(
                self.sft_dir, pairs, folder, stage, preset=spec.init, tok=self.tok, opts=self.train.options
            )
        return train_reward(self.reward_init(spec.init), pairs, folder, stage, opts=self.train.options)

    def reward_init(self, init: str):
        """The model a reward model starts from: ``sft`` is the SFT policy (the paper: RMs start from the SFT model);
        a world may know others (the quick world: ``sft:config:<preset>``, a model of that size SFT'd on the same
        data); anything else is a model to load."""
        return self.sft_dir if init == "sft" else init

    def online_steps(self, row: Row, seed: int) -> int:
        """PPO / RLOO / GRPO steps: extra prompts ADD rollouts (the base prompts keep their number of rollouts,
        the extra ones come on top: steps x all prompts / base prompts), so they never replace base prompts."""
        import math

        steps = self.train.online.steps
        if row.prompts == "none":
            return steps
        base, all_ = len(self.policy_prompts("none", seed)), len(self.policy_prompts(row.prompts, seed))
        return math.ceil(steps * all_ / max(1, base))

    def train_row(self, row: Row, seed: int, tag: str = "") -> StageResult:
        """Train ``row`` for ``seed`` into ``models/<slug><tag>-s<seed>`` (cached by every input)."""
        t = self.train
        folder = self.root / "models" / f"{row.slug}{tag}-s{seed}"
        if row.algorithm == "dpo":
            return train_dpo(
                self.sft_dir,
                self.pairs(row.data, seed),
                folder,
                replace(t.dpo, seed=seed),
                beta=t.beta,
                opts=t.options,
                eval_fn=self.curve_eval,
            )
        rm = self.reward_model(row.rm, seed)
        prompts = self.policy_prompts(row.prompts, seed)
        stage = replace(
            t.online,
            seed=seed,
            learning_rate=t.online_lrs.get(row.algorithm) or t.online.learning_rate,
            steps=self.online_steps(row, seed),
        )
        if row.algorithm == "ppo":
            return train_ppo(
                self.sft_dir,
                rm.folder,
                prompts,
                folder,
                stage,
                t.ppo,
                eval_fn=self.curve_eval,
                opts=t.options,
                curve=self.curve_spec(),
            )
        online = Online(
            kl_coef=t.ppo.kl_coef,
            temperature=t.ppo.temperature,
            max_new_tokens=t.ppo.max_new_tokens,
            num_generations=t.num_generations,
            clip=t.ppo.clip,
        )
        per_step = replace(stage, batch_size=max(1, stage.batch_size // t.num_generations))  # the same samples per step
        return train_online(
            row.algorithm,
            self.sft_dir,
            prompts,
            reward_scorer(rm.folder).trl_reward(),
            folder,
            per_step,
            online,
            opts=t.options,
            eval_fn=self.curve_eval,
            key_extra={"rm": str(rm.folder)},
        )

    def rm_accuracy(self, specs: Sequence[RMSpec], seeds: Sequence[int]) -> list[dict]:
        """Held-out pairwise accuracy (and training-pair accuracy) of every reward model the grid trained."""
        held = self.heldout_pairs()
        out = []
        for spec in dict.fromkeys(specs):
            for seed in seeds:
                scorer = reward_scorer(self.reward_model(spec, seed).folder)
                out.append(
                    {
                        "reward model": spec.label(),
                        "init": spec.init,
                        "seed": seed,
                        "held_out_accuracy": scorer.pairwise_accuracy(held),
                        "train_accuracy": scorer.pairwise_accuracy(self.pairs(spec.data, seed)),
                        "n_held_out": len(held),
                    }
                )
        return out

    def curve_spec(self) -> dict | None:
        """What a PPO job launched in other processes needs to decode the validation curve (None: no curve there)."""
        return None

    # provided by each world
    def pairs(self, spec, seed: int) -> list[dict]: ...
    def policy_prompts(self, which: str, seed: int) -> list[str]: ...
    def heldout_pairs(self) -> list[dict]: ...
    def curve_eval(self, model) -> dict: ...
