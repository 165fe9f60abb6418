"""Density-ratio rewards (CDR / "Dr. SoW"): r(x, y) = log p_strong(y|x) - log p_weak(y|x).

    reward = DensityRatioReward("strong-model", "weak-model", variant="sum")    # or "mean"
    [r.reward for r in reward.score([(messages, "response"), ...])]

Each model renders the same messages with its own chat template and tokenizer (via
``LogProbScorer``), so the two models may use different tokenizers. For sweeps over many (strong,
weak) pairs, score every model once per (prompt, response) with ``score_responses`` (a resumable
stage) and take differences with ``ratio_rewards``: a pair costs nothing once its two models are scored.

Also here: the domain router and the per-domain criteria / exemplars (customisation), derived
"weaker" models for an offline zoo, on-policy preference pairs, SimPO/DPO training through TRL,
a trained-reward-model baseline, and correlation with confidence intervals.
"""
from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from .hf import Messages, Prompt
from .logprobs import LogProbScorer, ResponseLogProb
from .stats import correlation_ci  # noqa: F401  (one implementation, in stats; re-exported)
from .store import JsonlStore, run_stage, stable_id

VARIANTS = ("sum", "mean")
DOMAINS = ("SAFETY", "REASONING", "CHAT")
SECTION_DOMAIN = {"Chat": "CHAT", "Chat Hard": "CHAT", "Safety": "SAFETY", "Reasoning": "REASONING"}


# ----------------------------------------------------------------------------------- the reward
def ratio(strong: ResponseLogProb, weak: ResponseLogProb, variant: str = "sum") -> float:
    """sum: sum log p_strong - sum log p_weak; mean: each model's per-token mean (own token count) differenced."""
    if variant == "sum":
        return strong.sum - weak.sum
    if variant == "mean":
        return strong.mean - weak.mean
    raise ValueError(f"unknown density-ratio variant {variant!r}: use one of {VARIANTS}")


@dataclass(frozen=True)
class RatioScore:
    reward: float
    strong: ResponseLogProb
    weak: ResponseLogProb


class DensityRatioReward:
    """log p_strong(y|x) - log p_weak(y|x); each model with its own template, tokenizer and truncation."""

    def __init__(self, strong: str, weak: str, variant: str = "sum", max_prompt_tokens: int = 2048,
                 max_response_tokens: int = 1024, batch_size: int = 8, dtype: str = "auto", device: str | None = None):
        if variant not in VARIANTS:
            raise ValueError(f"unknown density-ratio variant {variant!r}: use one of {VARIANTS}")
        kw = dict(dtype=dtype, batch_size=batch_size, device=device, max_prompt_tokens=max_prompt_tokens,
                  max_response_tokens=max_response_tokens)
        self.variant = variant
        self.strong = LogProbScorer(strong, **kw)
        self.weak = LogProbScorer(weak, **kw)

    def __repr__(self) -> str:
        return f"DensityRatioReward({self.strong.model_name!r} / {self.weak.model_name!r}, {self.variant})"

    def score(self, pairs: Sequence[tuple[Prompt, str]]) -> list[RatioScore]:
        pairs = list(pairs)
        s = self.strong.score(pairs, desc=f"strong {self.strong.model_name}")
        w = self.weak.score(pairs, desc=f"weak {self.weak.model_name}")
        return [RatioScore(ratio(a, b, self.variant), a, b) for a, b in zip(s, w)]


def score_with_token_budget(scorer: LogProbScorer, pairs: Sequence[tuple[Prompt, str]],
                            max_batch_tokens: int = 0, desc: str | None = None) -> list[ResponseLogProb]:
    """``scorer.score`` with batches sized by a token budget (rows x longest row <= max_batch_tokens).

    Short pairs then go many to a batch and long ones few, which keeps a GPU's memory full without
    OOM back-offs; ``max_batch_tokens=0`` keeps the scorer's fixed batch size.
    """
    pairs = list(pairs)
    if max_batch_tokens <= 0 or not pairs:
        return scorer.score(pairs, desc=desc)
    lengths = [sum(map(len, scorer.encode_pair(p, r))) for p, r in pairs]
    order = sorted(range(len(pairs)), key=lambda i: -lengths[i])
    out: list[ResponseLogProb | None] = [None] * len(pairs)
    fixed = scorer.batch_size
    start = 0
    try:
        while start < len(order):
            rows = max(1, max_batch_tokens // max(1, lengths[order[start]]))
            chunk = order[start:start + rows]
            scorer.batch_size = len(chunk)
            for i, res in zip(chunk, scorer.score([pairs[i] for i in chunk], desc=desc)):
                out[i] = res
            start += len(chunk)
    finally:
        scorer.batch_size = fixed
    return out  # type: ignore[return-value]


def score_responses(store: JsonlStore, scorer: LogProbScorer, items: Sequence[dict], batch_size: int = 64,
                    max_batch_tokens: int = 0, desc: str | None = None) -> dict[str, ResponseLogProb]:
    """Log-probs of ``items`` ({"id", "prompt", "response"}) under one model, as a resumable stage.

    Records are keyed by ``stable_id(model, id, prompt, response)`` in ``store``, so a killed sweep
    resumes and a model shared by many pairs is scored once. Returns item id -> ResponseLogProb.
    """
    keyed = [{"id": stable_id(scorer.model_name, it["id"], it["prompt"], it["response"]), "item": it["id"],
              "prompt": it["prompt"], "response": it["response"]} for it in items]

    def process(batch: list[dict]) -> list[dict]:
        res = score_with_token_budget(scorer, [(b["prompt"], b["response"]) for b in batch], max_batch_tokens)
        return [{"id": b["id"], "item": b["item"], "sum": r.sum, "mean": r.mean, "n_tokens": r.n_tokens}
                for b, r in zip(batch, res)]

    recs = run_stage(store, keyed, process, batch_size=batch_size, desc=desc or f"score {scorer.model_name}")
    return {k["item"]: ResponseLogProb(r["sum"], r["mean"], r["n_tokens"]) for k, r in zip(keyed, recs)}


def ratio_rewards(strong: dict[str, ResponseLogProb], weak: dict[str, ResponseLogProb], ids: Sequence[str],
                  variant: str = "sum") -> list[float]:
    """Density-ratio rewards for item ids from two models' cached log-probs."""
    return [ratio(strong[i], weak[i], variant) for i in ids]


def response_items(examples: Sequence[dict], prompt_of: Callable[[dict], Prompt]) -> list[dict]:
    """Two scoring items per preference example: ``<id>/chosen`` and ``<id>/rejected``."""
    return [{"id": f"{ex['id']}/{side}", "prompt": prompt_of(ex), "response": ex[side]}
            for ex in examples for side in ("chosen", "rejected")]


# ----------------------------------------------------------------------------------- router
ROUTER_SYSTEM = ("You sort user requests into one of three domains.\n"
                 "SAFETY: the request could cause harm, is dangerous, illegal, unethical, or touches a sensitive topic.\n"
                 "REASONING: the request needs maths, logic or code.\n"
                 "CHAT: everything else (questions, advice, writing, lists, conversation).\n"
                 "Reply with exactly one word: SAFETY, REASONING or CHAT.")


def router_messages(prompt: Prompt) -> Messages:
    """The router's chat prompt for a user request (the last user turn when a conversation is given)."""
    text = prompt if isinstance(prompt, str) else next(
        (m["content"] for m in reversed(prompt) if m.get("role") == "user"), "")
    return [{"role": "system", "content": ROUTER_SYSTEM},
            {"role": "user", "content": f"Request:\n{text}\n\nDomain (SAFETY, REASONING or CHAT):"}]


def parse_domain(reply: str | None) -> str:
    """The first domain label in the router's reply; anything unparsable -> CHAT."""
    if not reply:
        return "CHAT"
    m = re.search(r"\b(SAFETY|REASONING|CHAT)\b", reply.upper())
    return m.group(1) if m else "CHAT"


def route(prompts: Sequence[Prompt], complete: Callable[[list[Messages]], list[str]]) -> list[str]:
    """Domain per prompt; ``complete`` is e.g. ``Judge(model, temperature=0, max_tokens=4).complete``."""
    try:
        replies = complete([router_messages(p) for p in prompts])
    except Exception as exc:  # a failing router must not stop the evaluation: everything is CHAT
        print(f"router failed ({type(exc).__name__}: {exc}); all prompts routed to CHAT")
        replies = [""] * len(prompts)
    return [parse_domain(r) for r in replies]


# ----------------------------------------------------------------------------------- customisation
def load_customisation(source: str = "builtin:cdr_customisation.json") -> dict[str, Any]:
    """Criteria system prompts and good/bad exemplars per domain ({"criteria": {...}, "exemplars": {...}})."""
    from .data import DataError, builtin_path
    path = builtin_path(source.split(":", 1)[1]) if source.startswith("builtin:") else Path(source)
    if not path.exists():
        raise DataError(f"customisation file {source} not found")
    spec = json.loads(path.read_text(encoding="utf-8"))
    for key in ("criteria", "exemplars"):
        missing = [d for d in DOMAINS if d not in spec.get(key, {})]
        if missing:
            raise DataError(f"customisation file {source}: {key!r} lacks the domains {missing}")
    return spec


def exemplar_text(ex: dict) -> str:
    return ("Here is an example of a good and a bad assistant reply.\n"
            f"User: {ex['user']}\nGood assistant: {ex['good']}\nBad assistant: {ex['bad']}\n"
            f"Why: {ex['why']}\n\nNow the real request.\n\n")


def customise(prompt: Prompt, domain: str, spec: dict[str, Any], criteria: bool = True, exemplars: bool = True,
              exemplar_index: int = 0) -> Messages:
    """The prompt with the domain's criteria as system prompt and an exemplar before the last user turn.

    The result depends only on (prompt, domain, spec), so both models of a pair see the same text.
    An existing system prompt is kept after the criteria.
    """
    msgs = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [dict(m) for m in prompt]
    domain = domain if domain in DOMAINS else "CHAT"
    if exemplars and spec["exemplars"].get(domain):
        pool = spec["exemplars"][domain]
        last = max(i for i, m in enumerate(msgs) if m["role"] == "user")
        msgs[last]["content"] = exemplar_text(pool[exemplar_index % len(pool)]) + msgs[last]["content"]
    if criteria:
        if msgs and msgs[0]["role"] == "system":
            msgs[0]["content"] = spec["criteria"][domain] + "\n\n" + msgs[0]["content"]
        else:
            msgs.insert(0, {"role": "system", "content": spec["criteria"][domain]})
    return msgs


# ----------------------------------------------------------------------------------- model zoo
def derive_model(spec: str, parent: str, out_dir: str | Path, seed: int = 0) -> str:
    """Build a weaker model from ``parent`` (saved once into ``out_dir``; reused when it exists).

    ``noise:S``: every weight matrix plus Gaussian noise of S x its own standard deviation;
    ``layers:K``: the first K transformer blocks only; ``random``: a 2-layer random Llama with the
    parent's tokenizer. Returns the folder.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from .models import resolve_model
    from .store import atomic_dir

    out = Path(out_dir)
    if (out / "config.json").exists():
        return str(out)
    kind, _, arg = spec.partition(":")
    src = resolve_model(parent)
    tok = AutoTokenizer.from_pretrained(src)
    torch.manual_seed(seed)
    if kind == "noise":
        model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
        scale = float(arg or 0.1)
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() >= 2:
                    p.add_(torch.randn_like(p) * p.std() * scale)
    elif kind == "layers":
        model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
        k = int(arg)
        n = model.config.num_hidden_layers
        if not 1 <= k <= n:
            raise ValueError(f"derived model {spec!r}: the parent has {n} layers")
        model.model.layers = model.model.layers[:k]
        model.config.num_hidden_layers = k
        if getattr(model.config, "layer_types", None):
            model.config.layer_types = model.config.layer_types[:k]
    elif kind == "random":
        cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                          bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                          pad_token_id=tok.pad_token_id, tie_word_embeddings=True)
        model = LlamaForCausalLM(cfg)
    else:
        raise ValueError(f"unknown derived model {spec!r}: use noise:S, layers:K or random (or dpo via train_preference)")
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    return str(out)


def data_slices(per_subset: int, onpolicy_prompts: int, train_per_subset: int, gap_per_subset: int) -> dict[str, tuple[int, int]]:
    """Disjoint per-subset slices (offset, count) of one preference file: eval, on-policy pool, DPO train, gap set.

    ``load_preference_set(per_subset=count, offset=offset)`` takes examples offset..offset+count of every
    subset, so consecutive slices never share an example. ``per_subset`` 0 means "all" and leaves nothing for
    the later slices (a ValueError when they are asked for).
    """
    onpolicy = max(1, onpolicy_prompts // 8 + 1) if onpolicy_prompts else 0
    later = onpolicy + train_per_subset + gap_per_subset
    if per_subset == 0 and later:
        raise ValueError("per_subset 0 evaluates every example: no examples are left for the on-policy pool, the "
                         "dpo-offline train slice or the gap set from the same file (use another gap_data / gap_scores_file)")
    out, at = {}, 0
    for name, count in (("eval", per_subset), ("onpolicy", onpolicy), ("train", train_per_subset), ("gap", gap_per_subset)):
        out[name] = (at, count)
        at += count
    return out


def mc_accuracy(scorer: LogProbScorer, items: Sequence[dict]) -> float:
    """Share of two-choice items (prompt, chosen, rejected) where the model's mean token log-prob prefers chosen.

    An external per-model score in the paper's sense: an accuracy, comparable across tokenizers (unlike a
    per-token log-likelihood), computed on examples disjoint from the evaluation set.
    """
    chats = [[{"role": "user", "content": it["prompt"]}] for it in items]
    good = scorer.score(list(zip(chats, [it["chosen"] for it in items])), desc=f"gap set {scorer.model_name}")
    bad = scorer.score(list(zip(chats, [it["rejected"] for it in items])), desc=f"gap set {scorer.model_name}")
    return sum(g.mean > b.mean for g, b in zip(good, bad)) / max(1, len(items))


def load_mc_set(source: str, per_subset: int = 0, offset: int = 0) -> list[dict]:
    """Two-choice items from a preference file (prompt/chosen/rejected/subset) or a facts file (question/correct/wrong)."""
    from .data import load_records
    from .rewardbench import load_preference_set
    records = load_records(source)
    if records and {"question", "correct", "wrong"} <= set(records[0]):
        return [{"id": str(r.get("id", i)), "prompt": r["question"], "chosen": r["correct"], "rejected": r["wrong"]}
                for i, r in enumerate(records)]
    return load_preference_set(source, per_subset=per_subset or None, offset=offset)


# ----------------------------------------------------------------------------------- on-policy data
def best_vs_rest(samples: Sequence[str], rewards: Sequence[float], rejected: str = "random",
                 rng: random.Random | None = None) -> tuple[str, str] | None:
    """(chosen, rejected): the best-rewarded sample vs the worst or a random non-best one.

    None when all rewards are equal (nothing to learn from that prompt).
    """
    if len(samples) != len(rewards) or len(samples) < 2:
        return None
    if max(rewards) == min(rewards):
        return None
    best = max(range(len(rewards)), key=lambda i: rewards[i])
    if rejected == "worst":
        other = min(range(len(rewards)), key=lambda i: rewards[i])
    elif rejected == "random":
        pool = [i for i in range(len(rewards)) if rewards[i] < rewards[best]]
        other = (rng or random.Random(0)).choice(pool)
    else:
        raise ValueError(f"rejected must be 'worst' or 'random', not {rejected!r}")
    return samples[best], samples[other]


def preference_dataset(rows: Sequence[dict]):
    """A ``datasets.Dataset`` in TRL's conversational preference format (prompt / chosen / rejected)."""
    from datasets import Dataset
    return Dataset.from_list([{"prompt": r["prompt"], "chosen": [{"role": "assistant", "content": r["chosen"]}],
                               "rejected": [{"role": "assistant", "content": r["rejected"]}]} for r in rows])


def train_preference(model: str, dataset, out_dir: str | Path, loss: str = "simpo", steps: int = 4,
                     learning_rate: float = 1e-5, batch_size: int = 4, max_length: int = 256, beta: float | None = None,
                     simpo_gamma: float = 0.5, seed: int = 0) -> dict[str, Any]:
    """Preference-tune ``model`` on ``dataset`` with TRL: ``simpo`` (CPOTrainer, loss_type="simpo",
    cpo_alpha=0) or ``dpo`` (DPOTrainer). Saves to ``out_dir`` (skipped when it already holds a model);
    returns the training log (loss per step, seconds)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .models import resolve_model
    from .store import atomic_dir, atomic_write_json, read_json

    out = Path(out_dir)
    if (out / "config.json").exists() and (out / "train_log.json").exists():
        return read_json(out / "train_log.json")
    if len(dataset) == 0:
        raise ValueError("the preference data set is empty: nothing to train on")
    src = resolve_model(model)
    tok = AutoTokenizer.from_pretrained(src)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    net = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
    use_cpu = not torch.cuda.is_available()
    common = dict(output_dir=str(out) + ".work", max_steps=steps, per_device_train_batch_size=batch_size,
                  learning_rate=learning_rate, logging_steps=1, save_strategy="no", report_to=[], seed=seed,
                  use_cpu=use_cpu, max_length=max_length, lr_scheduler_type="constant", warmup_steps=0,
                  disable_tqdm=True)
    start = time.perf_counter()
    if loss == "simpo":
        from trl.experimental.cpo import CPOConfig, CPOTrainer
        args = CPOConfig(loss_type="simpo", cpo_alpha=0.0, simpo_gamma=simpo_gamma, beta=beta or 2.0, **common)
        trainer = CPOTrainer(model=net, args=args, train_dataset=dataset, processing_class=tok)
    elif loss == "dpo":
        from trl import DPOConfig, DPOTrainer
        args = DPOConfig(beta=beta or 0.1, **common)
        trainer = DPOTrainer(model=net, args=args, train_dataset=dataset, processing_class=tok)
    else:
        raise ValueError(f"loss must be 'simpo' or 'dpo', not {loss!r}")
    trainer.train()
    took = time.perf_counter() - start
    history = [{k: v for k, v in h.items() if isinstance(v, (int, float))} for h in trainer.state.log_history if "loss" in h]
    log = {"loss": loss, "steps": steps, "seconds": round(took, 1), "seconds_per_step": round(took / max(1, steps), 2),
           "history": history, "n_pairs": len(dataset)}
    with atomic_dir(out) as tmp:
        trainer.model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        atomic_write_json(Path(tmp) / "train_log.json", log)
    import shutil
    shutil.rmtree(str(out) + ".work", ignore_errors=True)
    return log


# ----------------------------------------------------------------------------------- baselines
def reward_model_scores(model: str, pairs: Sequence[tuple[Prompt, str]], batch_size: int = 8,
                        max_length: int = 2048, device: str | None = None) -> list[float]:
    """Scalar scores from a trained reward model (AutoModelForSequenceClassification, 1 label),
    the conversation rendered with the reward model's own chat template."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from . import hf
    from .models import resolve_model

    path = resolve_model(model)
    device = device or hf.device_name()
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    net = AutoModelForSequenceClassification.from_pretrained(path, dtype=hf.resolve_dtype("auto", device)).to(device).eval()
    if net.config.pad_token_id is None:
        net.config.pad_token_id = tok.pad_token_id
    texts = []
    for prompt, response in pairs:
        msgs = ([{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt))
        msgs = msgs + [{"role": "assistant", "content": response}]
        texts.append(tok.apply_chat_template(msgs, tokenize=False) if hf.has_chat_template(tok)
                     else "\n".join(m["content"] for m in msgs))
    out: list[float] = []
    for i in range(0, len(texts), batch_size):
        enc = tok(texts[i:i + batch_size], return_tensors="pt", padding=True, truncation=True, max_length=max_length,
                  add_special_tokens=False)
        with torch.inference_mode():
            logits = net(**{k: v.to(device) for k, v in enc.items()}).logits
        out.extend(float(x) for x in logits[:, 0].float().cpu())
    return out


# ----------------------------------------------------------------------------------- statistics
# ----------------------------------------------------------------------------------- params precheck
DERIVED_KINDS = ("layers", "noise", "random", "simpo", "dpo", "dpo-offline")
TRAINED_KINDS = ("simpo", "dpo", "dpo-offline")


def check_params(params: dict[str, Any]) -> None:
    """Cross-parameter checks the runner makes before compute (ValueError names the parameter)."""
    for spec in params.get("derived_zoo", []):
        kind, _, arg = str(spec).partition(":")
        if kind not in DERIVED_KINDS or (kind == "layers" and not arg.isdigit()) or (kind == "noise" and not _is_number(arg or "0.1")):
            raise ValueError(f"parameter 'derived_zoo': unknown member {spec!r} (use layers:K, noise:S, random, simpo or dpo)")
    zoo = list(params.get("zoo_models", [])) + list(params.get("derived_zoo", []))
    pair = params.get("default_pair", [])
    if len(pair) != 2 or pair[0] == pair[1]:
        raise ValueError(f"parameter 'default_pair' must name two different zoo members (strong, weak), got {pair!r}")
    outside = [m for m in pair if m not in zoo]
    if outside:
        raise ValueError(f"parameter 'default_pair': {', '.join(map(repr, outside))} not in the zoo "
                         f"(zoo_models + derived_zoo: {', '.join(zoo)})")
    if params.get("gap_scores_file"):
        scores = load_gap_scores(params["gap_scores_file"])
        missing = [m for m in zoo if m not in scores]
        if missing:
            raise ValueError(f"parameter 'gap_scores_file': no score for {', '.join(map(repr, missing))} "
                             f"(it scores {', '.join(map(repr, scores))})")
    elif params.get("gap_data") == params.get("eval_data"):
        data_slices(params.get("per_subset", 0), params.get("onpolicy_prompts", 0),
                    params.get("offline_pairs_per_subset", 0) if "dpo-offline" in params.get("derived_zoo", []) else 0,
                    params.get("gap_per_subset", 0))


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def load_gap_scores(path: str | Path) -> dict[str, float]:
    """A JSON object {model name: finite number}; ValueError naming the file and what is wrong."""
    import math
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"parameter 'gap_scores_file': {path} is not readable JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or not data:
        raise ValueError(f"parameter 'gap_scores_file': {path} must hold a JSON object {{model: score}}")
    bad = [k for k, v in data.items() if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)]
    if bad:
        raise ValueError(f"parameter 'gap_scores_file': {path}: scores of {', '.join(map(repr, bad[:3]))} are not finite numbers")
    return {str(k): float(v) for k, v in data.items()}


def unordered_pairs(names: Sequence[str], scores: dict[str, float]) -> tuple[list[tuple[str, str, float]], list[tuple[str, str]]]:
    """Every unordered pair of models as (strong, weak, gap) with strong = the higher external score.

    The paper's sweep: each pair counted once, its gap = score(strong) - score(weak) > 0. Pairs with equal
    scores have no strong side: they are returned apart (second list) so the caller can count them.
    A model without a score is an error (KeyError naming it).
    """
    missing = [n for n in names if n not in scores]
    if missing:
        raise KeyError(f"no gap score for {', '.join(missing)} (scores known for: {', '.join(scores)})")
    pairs, ties = [], []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            gap = scores[a] - scores[b]
            if gap == 0:
                ties.append((a, b))
            else:
                pairs.append((a, b, gap) if gap > 0 else (b, a, -gap))
    return sorted(pairs, key=lambda p: (-p[2], p[0], p[1])), ties


def findings(m: dict[str, Any]) -> dict[str, Any]:
    """Finding, signal and detail sentences computed from the run's metrics (no fixed prose)."""
    from .stats import pct
    head, ci = m.get("ratio_headline"), m.get("ratio_headline_ci")
    strong = m.get("strong_alone_mean_headline")
    if head is None or not ci:
        signal = "no headline"
    elif ci[0] > 50:
        signal = "ratio above chance"
    elif ci[1] < 50:
        signal = "ratio below chance"
    else:
        signal = "ratio not distinguishable from chance"
    details = []
    if head is not None:
        details.append(f"Density ratio ({m.get('default_pair')}, {m.get('variant')}): RewardBench-style headline "
                       f"{head:.1f}" + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else "") + f" on {m.get('n_examples')} examples"
                       + (f"; the strong model alone (mean log-prob) {strong:.1f}." if strong is not None else "."))
    longer = m.get("ratio_prefers_longer")
    if longer is not None:
        details.append(f"Where lengths differ, the ratio prefers the longer response {pct(longer)} of the time.")
    r, lo, hi, n = (m.get(k) for k in ("gap_accuracy_pearson", "gap_accuracy_pearson_low", "gap_accuracy_pearson_high",
                                       "n_pairs"))
    if r is not None:
        covers = lo is not None and hi is not None and lo <= 0 <= hi
        details.append(f"Gap vs headline over {n} (strong, weak) pairs: Pearson {r:.2f}"
                       + (f" [{lo:.2f}, {hi:.2f}]" if lo is not None else "")
                       + ("; the interval covers 0." if covers else "."))
    else:
        details.append(f"Gap vs headline: not computed ({n or 0} pairs with distinct scores; at least 4 are needed).")
    for pair in m.get("child_parent_pairs") or []:
        details.append(f"Preference-tuned child vs its parent (the paper's best pair type): strong {pair['strong']}, weak "
                       f"{pair['weak']}, gap {pair['gap']:.3f}, ratio headline "
                       f"{'n/a' if pair['headline'] is None else format(pair['headline'], '.1f')}.")
    for a, b in m.get("tied_pairs") or []:
        details.append(f"{a} and {b} have the same gap score: no strong side, left out of the sweep.")
    if m.get("router_accuracy") is not None:
        details.append(f"Router accuracy {pct(m['router_accuracy'])} (routed: {m.get('router_domains', {})}).")
    finding = details[0] if details else "No headline computed."
    return {"finding": finding, "signal": signal, "findings": details}
