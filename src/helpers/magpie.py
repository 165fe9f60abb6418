"""Magpie (arXiv 2406.08464): instructions sampled from an aligned model's pre-query template.

Pieces, each small and tested:
* templates: ``derive_pre_query_template`` (cut the model's own chat template at a sentinel user
  message), ``next_turn_template`` (multi-turn), ``stop_strings``, ``KNOWN_PRE_QUERY_TEMPLATES``;
* extraction: ``clean_instruction`` (sanitize, drop/flag empty, truncated and too-short samples);
* system-prompt variants: ``pick_system_prompts``;
* tagging: ``tag_messages`` / ``tag_prefill`` / ``parse_tag`` (robust JSON -> label or None),
  ``detect_language``, ``parse_guard``, ``RewardScorer`` (classifier or density ratio);
* filters: ``FilterSpec``, ``PRESETS`` (pro / air), ``apply_filters``;
* export: ``to_sharegpt``, ``data_card``; SFT: ``train_sft``.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from . import hf
from .textparse import first_json_object

SENTINEL = "MAGPIESENTINELQUERY7F3A"

TASK_CATEGORIES = ["Information seeking", "Reasoning", "Planning", "Editing", "Coding & Debugging", "Math",
                   "Role playing", "Data analysis", "Creative writing", "Advice seeking", "Brainstorming", "Others"]
QUALITY_LEVELS = ["very poor", "poor", "average", "good", "excellent"]
DIFFICULTY_LEVELS = ["very easy", "easy", "medium", "hard", "very hard"]

# Pre-query templates of known families as the reference writes them (Llama-3/3.1 and the ChatML
# families without a system turn; Qwen2.5 and SmolLM2 with the template's default system turn).
# "with_default_system" says which derivation reproduces the entry. Differences from the reference
# text: it writes "<s> <|user|>" / "<s> [INST] " (a space that is a detokenisation artefact) and
# "<start_of_turn>user\n\n" for Gemma-2 (one newline more than Gemma's template renders).
KNOWN_PRE_QUERY_TEMPLATES: dict[str, dict[str, Any]] = {
    "llama-3": {"template": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n", "with_default_system": True},
    "llama-3.1": {"template": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n", "with_default_system": False},
    "qwen2": {"template": "<|im_start|>user\n", "with_default_system": False},
    "qwen2.5": {"template": "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
                            "assistant.<|im_end|>\n<|im_start|>user\n", "with_default_system": True},
    "phi-3": {"template": "<s><|user|>\n", "with_default_system": True},
    "gemma-2": {"template": "<bos><start_of_turn>user\n", "with_default_system": True},
    "mistral": {"template": "<s>[INST] ", "with_default_system": True},
    "chatml": {"template": "<|im_start|>user\n", "with_default_system": True},
    "smollm2": {"template": "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
                            "Face<|im_end|>\n<|im_start|>user\n", "with_default_system": True},
}

MULTI_TURN_SYSTEM_PROMPT = (
    "You are a helpful AI assistant. The user will hold a conversation with you over several rounds: an "
    "opening question, then follow-up questions that build on your answers. Give thorough, relevant answers "
    "that help the user with each question.")


class TemplateError(ValueError):
    """A pre-query template could not be derived; the message says what to set instead."""


# --------------------------------------------------------------------------- templates
def _render(tokenizer, messages: list[dict], model_name: str = "model") -> str:
    if not hf.has_chat_template(tokenizer):
        raise TemplateError(
            f"{model_name} has no chat template, so no pre-query template can be derived: use an instruct/chat "
            f"model, or set pre_query_template in params (known families: {', '.join(KNOWN_PRE_QUERY_TEMPLATES)})")
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    except Exception as exc:  # e.g. Gemma: "System role not supported"
        roles = "/".join(m["role"] for m in messages)
        raise TemplateError(f"{model_name}'s chat template refused a {roles} conversation: "
                            f"{type(exc).__name__}: {exc}".splitlines()[0]) from None


def _cut(text: str, model_name: str) -> str:
    if SENTINEL not in text:
        raise TemplateError(f"{model_name}'s chat template dropped or rewrote the user message; set "
                            "pre_query_template in params")
    return text.split(SENTINEL, 1)[0]


def next_turn_template(tokenizer, history: Sequence[dict] = (), model_name: str = "model") -> str:
    """The rendered ``history`` followed by the opening of the next user turn (cut at a sentinel).

    With no history this is the pre-query template (with the default system turn if the template
    inserts one); with a history it is the prompt for a follow-up query (multi-turn Magpie).
    """
    text = _render(tokenizer, list(history) + [{"role": "user", "content": SENTINEL}], model_name)
    return _cut(text, model_name)


def default_system_prompt(tokenizer, model_name: str = "model") -> str | None:
    """The system text the template inserts when none is given, or None (also when it has no system role)."""
    plain = next_turn_template(tokenizer, (), model_name)
    try:
        with_sys = _render(tokenizer, [{"role": "system", "content": SENTINEL + "S"},
                                       {"role": "user", "content": SENTINEL}], model_name)
    except TemplateError:
        return None
    head, rest = with_sys.split(SENTINEL + "S", 1)
    mid = rest.split(SENTINEL, 1)[0]
    if plain.startswith(head) and plain.endswith(mid) and len(plain) > len(head) + len(mid):
        return plain[len(head):len(plain) - len(mid)]
    return None


def _strip_default_system(tokenizer, model_name: str) -> str:
    plain = next_turn_template(tokenizer, (), model_name)
    default = default_system_prompt(tokenizer, model_name)
    if default is None:
        return plain
    with_sys = _render(tokenizer, [{"role": "system", "content": SENTINEL + "S"},
                                   {"role": "user", "content": SENTINEL}], model_name)
    head, rest = with_sys.split(SENTINEL + "S", 1)
    mid = rest.split(SENTINEL, 1)[0]
    eot = hf.end_of_turn_token(tokenizer) or ""
    user_header = mid.split(eot, 1)[1].lstrip("\n") if eot and eot in mid else ""
    system_header = user_header.replace("user", "system", 1)
    if not user_header or "user" not in user_header or not head.endswith(system_header):
        raise TemplateError(f"cannot remove the default system turn of {model_name}'s template automatically: "
                            "set pre_query_template in params or keep the default system turn")
    return head[: len(head) - len(system_header)] + user_header


def derive_pre_query_template(tokenizer, system_prompt: str | None = None, default_system: bool = True,
                              model_name: str = "model") -> str:
    """Left part of the chat template up to where the user's message starts.

    ``system_prompt`` puts that system turn first; otherwise the template's own default system turn
    is kept (``default_system=True``, what the template renders for a bare user message) or removed.
    """
    if system_prompt:
        return next_turn_template(tokenizer, [{"role": "system", "content": system_prompt}], model_name)
    if default_system:
        return next_turn_template(tokenizer, (), model_name)
    return _strip_default_system(tokenizer, model_name)


def special_tokens_in_template(tokenizer) -> list[str]:
    """Special tokens that the chat template writes (role headers, end-of-turn, BOS), plus EOS."""
    text = ""
    if hf.has_chat_template(tokenizer):
        convo = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]
        try:
            text = tokenizer.apply_chat_template(convo, tokenize=False, add_generation_prompt=True)
        except Exception:
            text = ""
    specials = set(tokenizer.all_special_tokens)
    specials |= {t.content for t in getattr(tokenizer, "added_tokens_decoder", {}).values() if getattr(t, "special", False)}
    found = [t for t in specials if t and t in text]
    if tokenizer.eos_token:
        found.append(tokenizer.eos_token)
    return sorted(set(found), key=lambda t: (-len(t), t))


def stop_strings(tokenizer, first_line: bool = False, role_words: bool = True, extra: Sequence[str] = ()) -> list[str]:
    """Every special token of the template, plus line-start role words ("assistant" after a turn end,
    which models often write instead of the end-of-turn token), an optional first-newline stop and extras."""
    stops = special_tokens_in_template(tokenizer)
    if role_words:
        stops += ["\nassistant", "assistant\n", "\nuser\n", "\nUser:", "\nAssistant:"]
    if first_line:
        stops.append("\n")
    stops += [s for s in extra if s]
    return list(dict.fromkeys(stops))


# --------------------------------------------------------------------------- extraction
_PREFIX = re.compile(r"^\s*(?:#+\s*)?(?:\*\*)?(?:task|question|query|instruction|user|prompt|problem)\s*\d*\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*",
                     re.IGNORECASE)
_ANSWER = re.compile(r"\n?\s*(?:\*\*)?(?:answer|solution|response|assistant|output)\s*(?:\*\*)?\s*[:：]", re.IGNORECASE)


@dataclass(frozen=True)
class CleanRules:
    min_words: int = 3  # fewer words -> "too_short"
    max_chars: int = 4000  # longer -> "too_long"
    sanitize: bool = True  # strip "Task:/Question:" prefixes, cut at "Answer:/Solution:"
    first_line: bool = False  # keep only the first non-empty line
    cut_at: tuple[str, ...] = ()  # stop strings to cut at again (backends that hide special tokens)


def sanitize_instruction(text: str) -> str:
    """Strip a leading "Task:"/"Question:"-style label and cut at an "Answer:"/"Solution:" section."""
    text = _PREFIX.sub("", text, count=1)
    m = _ANSWER.search(text)
    if m and m.start() > 0:
        text = text[: m.start()]
    return text.strip()


def clean_instruction(text: str | None, finish_reason: str = "stop", rules: CleanRules = CleanRules()) -> tuple[str, str]:
    """(cleaned text, status); status is ok, empty, truncated (hit max_tokens), too_short or too_long."""
    text = text or ""
    for s in rules.cut_at:
        if s and s in text:
            text = text.split(s, 1)[0]
    text = text.strip()
    if rules.first_line:
        text = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if rules.sanitize:
        text = sanitize_instruction(text)
    if not text:
        return "", "empty"
    if finish_reason == "length":
        return text, "truncated"
    if len(text.split()) < rules.min_words:
        return text, "too_short"
    if len(text) > rules.max_chars:
        return text, "too_long"
    return text, "ok"


def pick_system_prompts(variants: dict | None, n: int, seed: int = 0) -> list[str]:
    """Names of system-prompt variants for ``n`` calls, drawn with the given probabilities.

    ``variants`` maps a name to ``[prompt, probability]``; empty -> every call uses "default" (the
    template's own system turn). Probabilities are normalised; bad entries raise ValueError early.
    """
    if not variants:
        return ["default"] * n
    names, weights = [], []
    for name, spec in variants.items():
        if not (isinstance(spec, (list, tuple)) and len(spec) == 2 and isinstance(spec[0], (str, type(None)))
                and isinstance(spec[1], (int, float)) and spec[1] >= 0):
            raise ValueError(f"system prompt variant {name!r} must be [prompt, probability >= 0], got {spec!r}")
        names.append(name)
        weights.append(float(spec[1]))
    if sum(weights) <= 0:
        raise ValueError("system prompt variants: the probabilities sum to 0")
    rng = random.Random(seed)
    return rng.choices(names, weights=weights, k=n)


# --------------------------------------------------------------------------- tagging
TAG_TASKS = ("quality", "difficulty", "category")
TAG_KEYS = {"quality": "input_quality", "difficulty": "difficulty", "category": "task_category"}
TAG_LABELS = {"quality": QUALITY_LEVELS, "difficulty": DIFFICULTY_LEVELS, "category": TASK_CATEGORIES}

_TAG_INSTRUCTIONS = {
    "quality": ("Rate how clear, specific and well-formed the user query below is, as one of: {labels}.\n"
                "Answer in JSON: {{\"input_quality\": \"<level>\", \"explanation\": \"<one sentence>\"}}"),
    "difficulty": ("Rate how hard it is to answer the user query below well, as one of: {labels}.\n"
                   "Answer in JSON: {{\"difficulty\": \"<level>\", \"intent\": \"<what the user wants>\", "
                   "\"knowledge\": \"<what one needs to know>\"}}"),
    "category": ("Classify the user query below into its main task category, one of: {labels}.\n"
                 "Answer in JSON: {{\"task_category\": \"<category>\", \"other_task_category\": [\"<category>\", ...]}}"),
}


def tag_messages(task: str, instruction: str) -> list[dict]:
    """Chat messages asking a tagger for one tag (quality, difficulty or category) as JSON."""
    if task not in _TAG_INSTRUCTIONS:
        raise ValueError(f"unknown tag task {task!r}: use {', '.join(TAG_TASKS)}")
    text = _TAG_INSTRUCTIONS[task].format(labels=", ".join(TAG_LABELS[task]))
    return [{"role": "user", "content": f"{text}\n\n## User query\n{instruction}"}]


def tag_prefill(task: str, label_first: bool = True) -> str:
    """Start of the tagger's answer: ``{`` (the reference) or ``{"key": "`` so the label comes first."""
    return '{"' + TAG_KEYS[task] + '": "' if label_first else "{"


def normalize_label(value: Any, labels: Sequence[str]) -> str | None:
    """Map free text to one allowed label (case, dashes, extra words tolerated; longest match wins)."""
    if not isinstance(value, str):
        return None
    norm = re.sub(r"[\s_\-]+", " ", value.strip().lower()).strip(" .\"'*")
    norm = norm.replace(" and ", " & ")
    by_norm = {lab.lower(): lab for lab in labels}
    if norm in by_norm:
        return by_norm[norm]
    hits = [lab for key, lab in by_norm.items() if re.search(r"(?<![a-z])" + re.escape(key) + r"(?![a-z])", norm)]
    if not hits:
        return None
    best = max(hits, key=len)
    # two different labels with neither inside the other (e.g. "poor or good"): ambiguous
    if any(h != best and h.lower() not in best.lower() for h in hits):
        return None
    return best


def parse_tag(task: str, text: str | None) -> dict | None:
    """The tag from a tagger's answer (prefill included), or None when no valid label is found.

    Accepts a JSON object anywhere in the text, truncated JSON (the label read with a regex) and
    labels with different case/spacing; anything else is a parse failure (None), never an exception.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    key, labels = TAG_KEYS[task], TAG_LABELS[task]
    obj = first_json_object(text) or {}
    raw = obj.get(key)
    if raw is None:  # other spellings of the key, or a truncated object
        for k in (key, "primary_tag", "quality", "input_quality", "difficulty", "category", "task_category"):
            m = re.search(r'"' + re.escape(k) + r'"\s*:\s*"([^"\n]*)', text)
            if m:
                raw = m.group(1)
                break
    label = normalize_label(raw, labels)
    if label is None:
        return None
    out: dict[str, Any] = {key: label}
    if task == "quality":
        out["quality_explanation"] = _str_or_none(obj.get("explanation"))
    elif task == "difficulty":
        out["intent"] = _str_or_none(obj.get("intent"))
        out["knowledge"] = _str_or_none(obj.get("knowledge"))
    else:
        others = obj.get("other_task_category") or obj.get("other_tags") or []
        others = others if isinstance(others, list) else [others]
        out["other_task_category"] = [x for x in (normalize_label(o, labels) for o in others) if x and x != label]
    return out


def _str_or_none(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def detect_language(text: str | None) -> str | None:
    """ISO 639-1 code from langdetect (seeded, so reruns agree), None for empty/undetectable text."""
    if not text or not text.strip():
        return None
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException
    DetectorFactory.seed = 0
    try:
        return detect(text).split("-")[0].lower()
    except LangDetectException:
        return None


def parse_guard(text: str | None) -> str | None:
    """A Llama-Guard-style verdict ("safe", "unsafe S1,S10") -> "safe" / "unsafe S1,S10", else None."""
    if not isinstance(text, str):
        return None
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    first = lines[0].lower()
    if first.startswith("safe"):
        return "safe"
    if first.startswith("unsafe"):
        cats = ",".join(re.findall(r"S\d+", " ".join(lines[1:]) or lines[0]))
        return f"unsafe {cats}".strip()
    return None


class RewardLoadError(RuntimeError):
    """A configured reward model could not be loaded; the message names it and the fix."""


class RewardScorer:
    """``instruct_reward`` for (instruction, response) pairs.

    * ``kind="classifier"``: a sequence-classification reward model (e.g. an ArmoRM/Skywork RM);
      the score is its first logit on the chat-formatted conversation.
    * ``kind="density_ratio"``: log p_strong(response | instruction) - log p_weak(response | instruction)
      under two chat models sharing a tokenizer (a density-ratio reward; no trained reward model).
    """

    def __init__(self, model: str, ref_model: str = "", batch_size: int = 8, max_length: int = 1024):
        from .models import resolve_model
        self.name = f"{model} / {ref_model}" if ref_model else model
        self.kind = "density_ratio" if ref_model else "classifier"
        self.batch_size = batch_size
        self.max_length = max_length
        try:
            if self.kind == "density_ratio":
                from .logprobs import LogProbScorer
                self.strong = LogProbScorer(model, batch_size=batch_size)
                self.weak = LogProbScorer(ref_model, batch_size=batch_size)
            else:
                import torch
                from transformers import AutoModelForSequenceClassification
                path = resolve_model(model)
                self.tokenizer = hf.load_tokenizer(path)
                self.model = AutoModelForSequenceClassification.from_pretrained(
                    path, dtype=hf.resolve_dtype("auto")).to(hf.device_name()).eval()
                if self.model.config.pad_token_id is None:
                    self.model.config.pad_token_id = self.tokenizer.pad_token_id
                self._torch = torch
        except Exception as exc:
            raise RewardLoadError(f"reward model {self.name!r} could not be loaded ({type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else ''}); set reward_model to a "
                                  "sequence-classification reward model, or reward_model + reward_ref_model to two "
                                  "chat models for a density ratio, or leave it empty") from None

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        pairs = list(pairs)
        if not pairs:
            return []
        chats = [[{"role": "user", "content": q}] for q, _ in pairs]
        if self.kind == "density_ratio":
            strong = self.strong.score(list(zip(chats, [r for _, r in pairs])))
            weak = self.weak.score(list(zip(chats, [r for _, r in pairs])))
            return [s.sum - w.sum for s, w in zip(strong, weak)]
        torch = self._torch
        scores: list[float] = []
        for start in range(0, len(pairs), self.batch_size):
            chunk = pairs[start:start + self.batch_size]
            texts = [hf.render(self.tokenizer, [{"role": "user", "content": q}, {"role": "assistant", "content": r}],
                               add_generation_prompt=False) if hf.has_chat_template(self.tokenizer)
                     else f"User: {q}\nAssistant: {r}" for q, r in chunk]
            enc = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True,
                                 max_length=self.max_length, add_special_tokens=False)
            with torch.inference_mode():
                logits = self.model(**{k: v.to(self.model.device) for k, v in enc.items()}).logits
            scores += [float(x) for x in logits[:, 0].float().cpu()]
        return scores


# --------------------------------------------------------------------------- filters
@dataclass(frozen=True)
class FilterSpec:
    min_quality: str | None = None  # one of QUALITY_LEVELS
    min_difficulty: str | None = None  # one of DIFFICULTY_LEVELS
    min_reward: float | None = None
    drop_duplicates: bool = False
    min_instruction_words: int = 0
    max_instruction_words: int = 0  # 0 = no limit
    min_response_tokens: int = 0
    languages: tuple[str, ...] = ()  # ISO codes to keep; empty = any
    drop_colon_end: bool = False  # instructions ending in ":" (the reference drops them)
    top_n_longest: int = 0  # keep the N longest responses (Air); 0 = all

    def __post_init__(self):
        if self.min_quality is not None and self.min_quality not in QUALITY_LEVELS:
            raise ValueError(f"min_quality must be one of {QUALITY_LEVELS}, got {self.min_quality!r}")
        if self.min_difficulty is not None and self.min_difficulty not in DIFFICULTY_LEVELS:
            raise ValueError(f"min_difficulty must be one of {DIFFICULTY_LEVELS}, got {self.min_difficulty!r}")
        object.__setattr__(self, "languages", tuple(self.languages or ()))


PRESETS = {
    "none": FilterSpec(),
    # Magpie-Pro-300K-Filtered: input_quality >= average, instruct_reward >= -10, no repetition.
    "pro": FilterSpec(min_quality="average", min_reward=-10.0, drop_duplicates=True, drop_colon_end=True),
    # Magpie-Air-300K-Filtered: input_quality >= good, difficulty >= medium, longest responses.
    "air": FilterSpec(min_quality="good", min_difficulty="medium", drop_duplicates=True, drop_colon_end=True),
}


def filter_spec(preset: str = "none", **overrides: Any) -> FilterSpec:
    """A preset with the overrides that are not None applied."""
    if preset not in PRESETS:
        raise ValueError(f"unknown filter preset {preset!r}: use one of {', '.join(PRESETS)}")
    changes = {k: (tuple(v) if k == "languages" else v) for k, v in overrides.items() if v is not None}
    return replace(PRESETS[preset], **changes)


def _level_ok(value: str | None, minimum: str, levels: list[str]) -> bool:
    return value in levels and levels.index(value) >= levels.index(minimum)


def apply_filters(records: Sequence[dict], spec: FilterSpec) -> tuple[list[dict], list[dict]]:
    """Apply each active filter in turn; returns (kept records, one row per step: filter, dropped, remaining).

    Records missing a tag a filter needs are dropped by that filter (counted); a reward filter with
    no reward on any record is skipped and reported as such (no reward model configured).
    """
    kept = list(records)
    steps: list[dict] = [{"filter": "input", "dropped": 0, "remaining": len(kept), "note": ""}]

    def step(name: str, keep_fn, note: str = "") -> None:
        nonlocal kept
        before = len(kept)
        kept = [r for r in kept if keep_fn(r)]
        steps.append({"filter": name, "dropped": before - len(kept), "remaining": len(kept), "note": note})

    if spec.drop_duplicates:
        step("duplicates", lambda r: r.get("min_similar_conversation_id") in (None, r.get("conversation_id")))
    if spec.min_instruction_words:
        step(f"instruction >= {spec.min_instruction_words} words",
             lambda r: len(_instruction(r).split()) >= spec.min_instruction_words)
    if spec.max_instruction_words:
        step(f"instruction <= {spec.max_instruction_words} words",
             lambda r: len(_instruction(r).split()) <= spec.max_instruction_words)
    if spec.drop_colon_end:
        step("instruction ends with ':'", lambda r: not _instruction(r).rstrip().endswith(":"))
    if spec.min_response_tokens:
        step(f"response >= {spec.min_response_tokens} tokens",
             lambda r: (r.get("response_tokens") or 0) >= spec.min_response_tokens)
    if spec.languages:
        step(f"language in {list(spec.languages)}", lambda r: r.get("language") in spec.languages)
    if spec.min_quality:
        step(f"quality >= {spec.min_quality}", lambda r: _level_ok(r.get("input_quality"), spec.min_quality, QUALITY_LEVELS))
    if spec.min_difficulty:
        step(f"difficulty >= {spec.min_difficulty}",
             lambda r: _level_ok(r.get("difficulty"), spec.min_difficulty, DIFFICULTY_LEVELS))
    if spec.min_reward is not None:
        if any(r.get("instruct_reward") is not None for r in records):
            step(f"reward >= {spec.min_reward}",
                 lambda r: r.get("instruct_reward") is not None and r["instruct_reward"] >= spec.min_reward)
        else:
            steps.append({"filter": f"reward >= {spec.min_reward}", "dropped": 0, "remaining": len(kept),
                          "note": "skipped: no reward scores (no reward model configured or it failed)"})
    if spec.top_n_longest and len(kept) > spec.top_n_longest:
        longest = sorted(kept, key=lambda r: -len(r.get("response") or ""))[: spec.top_n_longest]
        ids = {id(r) for r in longest}
        step(f"top {spec.top_n_longest} longest responses", lambda r: id(r) in ids)
    return kept, steps


def _instruction(r: dict) -> str:
    return r.get("instruction") or ""


# --------------------------------------------------------------------------- export
SHAREGPT_TAGS = ["task_category", "other_task_category", "input_quality", "quality_explanation", "difficulty",
                 "intent", "knowledge", "llama_guard_2", "instruct_reward", "reward_model", "language",
                 "min_neighbor_distance", "repeat_count", "min_similar_conversation_id"]


def to_sharegpt(record: dict) -> dict:
    """A record in the reference's exported schema: conversation_id, conversations[{from, value}], tags."""
    turns = record.get("turns") or [{"instruction": record.get("instruction"), "response": record.get("response")}]
    conversations = []
    for t in turns:
        conversations.append({"from": "human", "value": t.get("instruction") or ""})
        conversations.append({"from": "gpt", "value": t.get("response") or ""})
    out = {"conversation_id": record["conversation_id"], "instruction": record.get("instruction"),
           "response": record.get("response"), "conversations": conversations}
    for k in SHAREGPT_TAGS:
        out[k] = record.get(k)
    for k in ("pre_query_template", "gen_input_configs", "gen_response_configs", "created"):
        out[k] = record.get(k)
    return out


def to_messages(record: dict) -> list[dict]:
    """ShareGPT conversations -> chat messages (for SFT)."""
    role = {"human": "user", "gpt": "assistant", "system": "system"}
    return [{"role": role[c["from"]], "content": c["value"]} for c in record["conversations"]]


def data_card(name: str, stages: list[dict], kept: int, total: int, categories: dict, throughput: dict,
              params: dict, notes: Sequence[str] = ()) -> str:
    """A short markdown data card: counts at each stage, kept fraction, category mix, throughput."""
    lines = [f"# Data card: {name}", "", "Magpie data (instructions sampled from the model's pre-query template, "
             "responses with its normal chat template).", "", "## Counts", "", "| stage | records |", "|---|---|"]
    lines += [f"| {s['stage']} | {s['count']} |" for s in stages]
    frac = kept / total if total else 0.0
    lines += ["", f"Kept after filters: **{kept} / {total} ({frac:.1%})** of the records with responses.", "",
              "## Task categories (kept records; None = tagger output not parseable)", "", "| category | records |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in categories.items()] or ["| (none) | 0 |"]
    lines += ["", "## Throughput (this machine)", ""]
    lines += [f"- {k}: {v}" for k, v in throughput.items()]
    lines += ["", "## Settings", ""] + [f"- {k}: `{v}`" for k, v in params.items()]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- SFT
def train_sft(conversations: Sequence[list[dict]], model: str, output_dir: str | Path, max_steps: int = 5,
              learning_rate: float = 2e-5, batch_size: int = 4, max_length: int = 512, seed: int = 42,
              use_cpu: bool | None = None) -> list[dict]:
    """Fine-tune ``model`` on chat conversations with TRL's SFTTrainer; save the model + tokenizer to
    ``output_dir`` (atomically) and return the trainer's log history (losses per step)."""
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from .models import resolve_model
    from .store import atomic_dir, atomic_write_json

    if not conversations:
        raise ValueError("SFT: no conversations to train on (zero records survived the filters)")
    path = resolve_model(model)
    tok = hf.load_tokenizer(path)
    if not hf.has_chat_template(tok):
        raise TemplateError(f"SFT model {model} has no chat template: use a chat model (its template formats the data)")
    ds = Dataset.from_list([{"messages": list(c)} for c in conversations])
    use_cpu = (not torch.cuda.is_available()) if use_cpu is None else use_cpu
    output_dir = Path(output_dir)
    with atomic_dir(output_dir) as tmp:
        cfg = SFTConfig(output_dir=str(tmp / "trainer"), max_steps=max_steps, per_device_train_batch_size=batch_size,
                        learning_rate=learning_rate, lr_scheduler_type="cosine", warmup_steps=0, logging_steps=1,
                        save_strategy="no", report_to=[], use_cpu=use_cpu, max_length=max_length, seed=seed,
                        bf16=False if use_cpu else torch.cuda.is_bf16_supported(), dataloader_num_workers=0,
                        disable_tqdm=True)
        from transformers import AutoModelForCausalLM
        lm = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32 if use_cpu else hf.resolve_dtype("auto"))
        trainer = SFTTrainer(model=lm, args=cfg, train_dataset=ds, processing_class=tok)
        trainer.train()
        import shutil
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        trainer.save_model(str(tmp))
        tok.save_pretrained(str(tmp))
        history = [h for h in trainer.state.log_history]
        atomic_write_json(tmp / "sft_log.json", {"base_model": model, "max_steps": max_steps, "n_examples": len(ds),
                                                  "log_history": history})
    return history


def as_dict(obj: Any) -> dict:
    return asdict(obj)


# --------------------------------------------------------------------------- pipeline stages
# Each ``*_process`` returns a function for ``store.run_stage``: a batch of items in, one record per
# item out (same id), with the batch's generation seconds shared out by tokens so throughput can be
# recomputed from the stored records after a resumed run.
def _share_seconds(records: list[dict], seconds: float, tokens_key: str = "tokens") -> list[dict]:
    total = sum(r.get(tokens_key) or 0 for r in records) or len(records)
    for r in records:
        r["seconds"] = seconds * ((r.get(tokens_key) or 0) if total != len(records) else 1) / total
    return records


def instruction_calls(n_calls: int, system_names: Sequence[str], seed: int, config_key: str) -> list[dict]:
    """One item per sampling call (one prompt, many samples); ids depend on the config, not on order."""
    return [{"id": f"call-{i:05d}-{config_key}", "call": i, "system": system_names[i], "seed": seed + i}
            for i in range(n_calls)]


def instruction_process(gen, templates: dict[str, str], sampling):
    """Sample ``sampling.n`` queries per call from the call's pre-query template (raw prompt)."""
    import time

    def process(batch: list[dict]) -> list[dict]:
        t0 = time.perf_counter()
        outs = gen.generate([templates[it["system"]] for it in batch], sampling, desc="instructions",
                            seeds=[it["seed"] for it in batch])
        took = time.perf_counter() - t0
        recs = [{**it, "samples": [{"text": c.text, "n_tokens": c.n_tokens, "finish_reason": c.finish_reason} for c in o],
                 "tokens": sum(c.n_tokens for c in o)} for it, o in zip(batch, outs)]
        return _share_seconds(recs, took)
    return process


def flatten_samples(calls: Sequence[dict], rules: CleanRules, templates: dict[str, str], gen_config: dict) -> list[dict]:
    """One row per sample: raw text, cleaned instruction, status, and the reference's generation fields."""
    rows = []
    for c in calls:
        for j, s in enumerate(c["samples"]):
            text, status = clean_instruction(s["text"], s["finish_reason"], rules)
            rows.append({"id": f"{c['id']}-{j:03d}", "raw": s["text"], "instruction": text, "status": status,
                         "n_tokens": s["n_tokens"], "finish_reason": s["finish_reason"], "system": c["system"],
                         "pre_query_template": templates[c["system"]],
                         "gen_input_configs": {**gen_config, "seed": c["seed"], "system_prompt": c["system"]}})
    return rows


def response_process(gen, tokenizer, system_prompts: dict[str, str | None], sampling, n_turns: int = 1,
                     query_sampling=None, mt_system_prompt: str = MULTI_TURN_SYSTEM_PROMPT,
                     rules: CleanRules = CleanRules(), model_name: str = "model"):
    """Answer each instruction with the normal chat template; with ``n_turns`` > 1, sample follow-up
    queries from the rendered history + the next user-turn opening (with the multi-turn system prompt)
    and answer them too. A follow-up that fails cleaning ends the conversation early (counted)."""
    import time

    def chat(item_system: str | None, turns: list[dict]) -> list[dict]:
        sys_text = system_prompts.get(item_system) if item_system else None
        msgs = [{"role": "system", "content": sys_text}] if sys_text else []
        for t in turns:
            msgs.append({"role": "user", "content": t["instruction"]})
            if t.get("response") is not None:
                msgs.append({"role": "assistant", "content": t["response"]})
        return msgs

    def process(batch: list[dict]) -> list[dict]:
        t0 = time.perf_counter()
        convs = [[{"instruction": it["instruction"]}] for it in batch]
        tokens = [0] * len(batch)
        stopped = [None] * len(batch)
        for turn in range(n_turns):
            live = [i for i in range(len(batch)) if stopped[i] is None]
            if turn > 0:  # follow-up queries
                prompts = [next_turn_template(tokenizer, [{"role": "system", "content": mt_system_prompt}]
                                              + chat(None, convs[i]), model_name) for i in live]
                outs = gen.generate(prompts, query_sampling, desc=f"turn {turn + 1} queries",
                                    seeds=[query_sampling.seed + 7919 * turn + i for i in live])
                for i, o in zip(live, outs):
                    text, status = clean_instruction(o[0].text, o[0].finish_reason, rules)
                    if status != "ok":
                        stopped[i] = f"turn {turn + 1} query {status}"
                    else:
                        convs[i].append({"instruction": text})
                live = [i for i in live if stopped[i] is None]
            if not live:
                break
            outs = gen.generate([chat(batch[i]["system"], convs[i]) for i in live], sampling, desc=f"turn {turn + 1} responses")
            for i, o in zip(live, outs):
                c = o[0]
                convs[i][-1].update(response=c.text, response_tokens=c.n_tokens, response_finish=c.finish_reason)
                tokens[i] += c.n_tokens
        took = time.perf_counter() - t0
        recs = []
        for it, conv, ntok, why in zip(batch, convs, tokens, stopped):
            conv = [t for t in conv if t.get("response") is not None]
            recs.append({"id": it["id"], "turns": conv, "response": conv[0]["response"],
                         "response_tokens": conv[0]["response_tokens"], "response_finish": conv[0]["response_finish"],
                         "n_turns": len(conv), "early_stop": why, "tokens": ntok})
        return _share_seconds(recs, took)
    return process


def tag_prompts(task: str, instructions: Sequence[str], tokenizer=None, label_first: bool = True) -> list:
    """Prompts for the tagger: raw strings with the answer prefilled when a local tokenizer is given,
    chat messages (no prefill) for an endpoint."""
    msgs = [tag_messages(task, q) for q in instructions]
    if tokenizer is None:
        return msgs
    return [hf.render(tokenizer, m) + tag_prefill(task, label_first) for m in msgs]


def tag_process(judge, tasks: Sequence[str], tokenizer=None, label_first: bool = True):
    """Tag each record with every task; unparseable answers become None tags and are counted per task."""
    def process(batch: list[dict]) -> list[dict]:
        recs = [{"id": it["id"], "tag_failures": []} for it in batch]
        for task in tasks:
            prefill = tag_prefill(task, label_first) if tokenizer is not None else ""
            texts = judge.complete(tag_prompts(task, [it["instruction"] for it in batch], tokenizer, label_first),
                                   desc=f"tag {task}")
            for rec, text in zip(recs, texts):
                parsed = parse_tag(task, prefill + (text or ""))
                rec[f"raw_{task}"] = text
                if parsed is None:
                    rec["tag_failures"].append(task)
                    parsed = {TAG_KEYS[task]: None}
                rec.update(parsed)
        return recs
    return process


def logprob_tag_process(scorer, tasks: Sequence[str]):
    """Tag each record by likelihood: the tagger's chat template, the label-first prefill, then every allowed
    label scored as the continuation (``label"``); the most likely one is the tag. Never a parse failure:
    it measures which label the tagger prefers, not whether it can write JSON. The margin over the
    runner-up is kept as a confidence proxy."""
    from .logprobs import choice_logprobs

    def process(batch: list[dict]) -> list[dict]:
        recs = [{"id": it["id"], "tag_failures": []} for it in batch]
        for task in tasks:
            labels = TAG_LABELS[task]
            raws = [hf.render(scorer.tokenizer, tag_messages(task, it["instruction"])) + tag_prefill(task, True)
                    for it in batch]
            sums = choice_logprobs(scorer, raws, [f'{lab}"' for lab in labels], desc=f"tag {task}")
            for rec, row in zip(recs, sums):
                order = sorted(range(len(labels)), key=lambda i: (-row[i], i))
                rec[TAG_KEYS[task]] = labels[order[0]]
                rec[f"margin_{task}"] = row[order[0]] - row[order[1]]
        return recs
    return process


def tag_agreement(predicted: dict[str, dict], reference: Sequence[dict], tasks: Sequence[str]) -> list[dict]:
    """Exact agreement of the tagger with a labelled reference set, per task, with a Wilson CI and the
    rate of always answering the most common reference label (the baseline a useful tagger must beat).
    ``predicted``: id -> tag record (as ``tag_process``/``logprob_tag_process`` write them)."""
    from collections import Counter

    from .stats import wilson_interval
    rows = []
    for task in tasks:
        key = TAG_KEYS[task]
        gold = [(r["id"], r[key]) for r in reference if r.get(key)]
        hits = sum(1 for rid, g in gold if (predicted.get(rid) or {}).get(key) == g)
        n = len(gold)
        lo, hi = wilson_interval(hits, n)
        majority = Counter(g for _, g in gold).most_common(1)[0][1] / n if n else None
        rows.append({"task": task, "n": n, "agreement": hits / n if n else None, "ci_low": lo, "ci_high": hi,
                     "majority_baseline": majority, "chance": 1 / len(TAG_LABELS[task])})
    return rows


# --------------------------------------------------------------------------- plots
def plot_tag_distributions(df, ax_row=None):
    """Bar charts of task category, input quality and difficulty (None shown as "unparsed")."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2), gridspec_kw={"width_ratios": [2.2, 1, 1]})
    for ax, col, order in zip(axes, ["task_category", "input_quality", "difficulty"],
                              [TASK_CATEGORIES, QUALITY_LEVELS, DIFFICULTY_LEVELS]):
        values = df[col].fillna("unparsed") if col in df and len(df) else []
        counts = {k: int((values == k).sum()) for k in order + ["unparsed"]} if len(values) else {k: 0 for k in order}
        ax.bar(range(len(counts)), list(counts.values()), color="tab:blue")
        ax.set_xticks(range(len(counts)), list(counts.keys()), rotation=40, ha="right")
        ax.set(title=col.replace("_", " "), xlabel="label", ylabel="records")
    fig.tight_layout()
    return fig


def plot_lengths(instr_words: Sequence[int], resp_tokens: Sequence[int]):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].hist(list(instr_words), bins=30, color="tab:green")
    axes[0].set(title="instruction length", xlabel="words", ylabel="instructions")
    axes[1].hist(list(resp_tokens), bins=30, color="tab:orange")
    axes[1].set(title="response length", xlabel="tokens", ylabel="responses")
    fig.tight_layout()
    return fig


def plot_neighbor_distances(distances: Sequence[float | None], threshold: float):
    import matplotlib.pyplot as plt
    import numpy as np
    d = np.array([x for x in distances if x is not None], dtype=float)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.hist(d, bins=40, color="tab:purple")
    ax.axvline(threshold, color="k", ls="--", label=f"threshold {threshold}")
    ax.set(title="distance to the nearest other instruction (2 - 2 cos)", xlabel="squared L2 (unit embeddings)",
           ylabel="instructions")
    ax.legend()
    fig.tight_layout()
    return fig


def embedding_map(emb, seed: int = 0):
    """2-D coordinates of embeddings: t-SNE for 30+ points, PCA below that."""
    import numpy as np
    emb = np.asarray(emb)
    if len(emb) < 3:
        return np.zeros((len(emb), 2))
    if len(emb) >= 30:
        from sklearn.manifold import TSNE
        return TSNE(n_components=2, perplexity=min(30, max(5, len(emb) // 4)), random_state=seed,
                    init="pca").fit_transform(emb)
    from sklearn.decomposition import PCA
    return PCA(n_components=2, random_state=seed).fit_transform(emb)


def plot_embedding_map(xy, labels: Sequence[str | None], title: str = "instruction embeddings"):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 6))
    labs = ["unparsed" if x is None else x for x in labels]
    for lab in sorted(set(labs)):
        pts = [p for p, l in zip(xy, labs) if l == lab]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, label=f"{lab} ({len(pts)})", alpha=0.8)
    ax.set(title=title, xticks=[], yticks=[], xlabel="embedding map, dimension 1", ylabel="embedding map, dimension 2")
    if labs:
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    return fig


def plot_loss(history: Sequence[dict]):
    import matplotlib.pyplot as plt
    pts = [(h["step"], h["loss"]) for h in history if "loss" in h and "step" in h]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o")
    ax.set(title="SFT training loss", xlabel="optimizer step", ylabel="loss (cross-entropy, nats/token)")
    fig.tight_layout()
    return fig


def free_engines() -> None:
    """Release cached vLLM engines and GPU memory (callers drop their own Generator first): lets a
    tagger, guard or reward model use the GPU after the writer model is done."""
    import gc
    from .generation import shutdown_engines
    shutdown_engines()
    gc.collect()
    try:
        import torch
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def findings(m: dict[str, Any], filter_preset: str = "") -> dict[str, Any]:
    """The run's finding, signal and detail sentences, computed from its metrics (no fixed prose)."""
    from .stats import pct
    n, clean = m.get("n_samples", 0), m.get("n_clean", 0)
    other = {k: v for k, v in (m.get("status_counts") or {}).items() if k != "ok" and v}
    details = [f"{clean}/{n} sampled queries were clean ({pct(clean / n if n else None)})"
               + (f"; dropped: {', '.join(f'{v} {k}' for k, v in other.items())}." if other else ".")]
    details.append(f"{pct(m.get('near_duplicate_fraction'))} of the clean queries were near-duplicates of an earlier one.")
    fails = m.get("tag_failures") or {}
    if fails:
        answered = m.get("n_with_response", 0)
        details.append("Tagger parse failures: " + ", ".join(f"{k} {v}/{answered}" for k, v in fails.items()) + ".")
    kept, answered = m.get("n_kept", 0), m.get("n_with_response", 0)
    if m.get("sft_loss_first") is not None:
        details.append(f"SFT on {m.get('sft_data')} records: loss {m['sft_loss_first']:.3f} -> {m['sft_loss_last']:.3f}.")
    for row in m.get("tag_agreement") or []:
        if row.get("agreement") is not None:
            details.append(f"Tagger vs our labels ({row['task']}, n={row['n']}): {pct(row['agreement'])} agreement "
                           f"[{pct(row['ci_low'])}, {pct(row['ci_high'])}]; always answering the most common label "
                           f"scores {pct(row['majority_baseline'])}, chance {pct(row['chance'])}.")
    if answered and kept == 0:
        signal = "filters removed every record"
        details.append(f"The {filter_preset or 'configured'} filters removed all {answered} answered records: "
                       f"at this tagger's quality the filters measure the tagger, not the data.")
    else:
        signal = f"{kept} records kept"
    finding = (f"{clean}/{n} queries clean, {pct(m.get('near_duplicate_fraction'))} near-duplicates; "
               f"the {filter_preset or 'configured'} filters kept {kept}/{answered} answered records.")
    return {"finding": finding, "signal": signal, "findings": details}


def check_params(params: dict[str, Any]) -> None:
    """Cross-parameter checks the runner makes before compute (ValueError names the parameter)."""
    if params.get("tag_mode") == "logprob" and params.get("tagger_base_url"):
        raise ValueError("parameter 'tag_mode': logprob scores a local tagger's next tokens; an endpoint tagger "
                         "(tagger_base_url) needs tag_mode generate")
    unknown = [t for t in params.get("tag_tasks", []) if t not in TAG_TASKS]
    if unknown:
        raise ValueError(f"parameter 'tag_tasks': unknown {unknown} (use {', '.join(TAG_TASKS)})")
