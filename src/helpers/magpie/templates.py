"""Pre-query templates from a model's own chat template, stop strings, and cleaning of sampled queries."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core import hf

SENTINEL = "MAGPIESENTINELQUERY7F3A"

# Pre-query templates of known families as the reference writes them (Llama-3/3.1 and the ChatML
# families without a system turn; Qwen2.5 and SmolLM2 with the template's default system turn).
# "with_default_system" says which derivation reproduces the entry. Differences from the reference
# text: it writes "<s> <|user|>" / "<s> [INST] " (a space that is a detokenisation artefact) and
# "<start_of_turn>user\n\n" for Gemma-2 (one newline more than Gemma's template renders).
KNOWN_PRE_QUERY_TEMPLATES: dict[str, dict[str, Any]] = {
    "llama-3": {
        "template": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n",
        "with_default_system": True,
    },
    "llama-3.1": {
        "template": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n",
        "with_default_system": False,
    },
    "qwen2": {"template": "<|im_start|>user\n", "with_default_system": False},
    "qwen2.5": {
        "template": "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
        "assistant.<|im_end|>\n<|im_start|>user\n",
        "with_default_system": True,
    },
    "phi-3": {"template": "<s><|user|>\n", "with_default_system": True},
    "gemma-2": {"template": "<bos><start_of_turn>user\n", "with_default_system": True},
    "mistral": {"template": "<s>[INST] ", "with_default_system": True},
    "chatml": {"template": "<|im_start|>user\n", "with_default_system": True},
    "smollm2": {
        "template": "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
        "Face<|im_end|>\n<|im_start|>user\n",
        "with_default_system": True,
    },
}

MULTI_TURN_SYSTEM_PROMPT = (
    "You are a helpful AI assistant. The user will hold a conversation with you over several rounds: an "
    "opening question, then follow-up questions that build on your answers. Give thorough, relevant answers "
    "that help the user with each question."
)


class TemplateError(ValueError):
    """A pre-query template could not be derived; the message says what to set instead."""


# --------------------------------------------------------------------------- templates
def _render(tokenizer, messages: list[dict], model_name: str = "model") -> str:
    if not hf.has_chat_template(tokenizer):
        raise TemplateError(
            f"{model_name} has no chat template, so no pre-query template can be derived: use an instruct/chat "
            f"model, or set pre_query_template in params (known families: {', '.join(KNOWN_PRE_QUERY_TEMPLATES)})"
        )
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    except Exception as exc:  # e.g. Gemma: "System role not supported"
        roles = "/".join(m["role"] for m in messages)
        raise TemplateError(
            f"{model_name}'s chat template refused a {roles} conversation: {type(exc).__name__}: {exc}".splitlines()[0]
        ) from None


def _cut(text: str, model_name: str) -> str:
    if SENTINEL not in text:
        raise TemplateError(
            f"{model_name}'s chat template dropped or rewrote the user message; set pre_query_template in params"
        )
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
        with_sys = _render(
            tokenizer,
            [{"role": "system", "content": SENTINEL + "S"}, {"role": "user", "content": SENTINEL}],
            model_name,
        )
    except TemplateError:
        return None
    head, rest = with_sys.split(SENTINEL + "S", 1)
    mid = rest.split(SENTINEL, 1)[0]
    if plain.startswith(head) and plain.endswith(mid) and len(plain) > len(head) + len(mid):
        return plain[len(head) : len(plain) - len(mid)]
    return None


def _strip_default_system(tokenizer, model_name: str) -> str:
    plain = next_turn_template(tokenizer, (), model_name)
    default = default_system_prompt(tokenizer, model_name)
    if default is None:
        return plain
    with_sys = _render(
        tokenizer, [{"role": "system", "content": SENTINEL + "S"}, {"role": "user", "content": SENTINEL}], model_name
    )
    head, rest = with_sys.split(SENTINEL + "S", 1)
    mid = rest.split(SENTINEL, 1)[0]
    eot = hf.end_of_turn_token(tokenizer) or ""
    user_header = mid.split(eot, 1)[1].lstrip("\n") if eot and eot in mid else ""
    system_header = user_header.replace("user", "system", 1)
    if not user_header or "user" not in user_header or not head.endswith(system_header):
        raise TemplateError(
            f"cannot remove the default system turn of {model_name}'s template automatically: "
            "set pre_query_template in params or keep the default system turn"
        )
    return head[: len(head) - len(system_header)] + user_header


def derive_pre_query_template(
    tokenizer, system_prompt: str | None = None, default_system: bool = True, model_name: str = "model"
) -> str:
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
        convo = [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
        ]
        try:
            text = tokenizer.apply_chat_template(convo, tokenize=False, add_generation_prompt=True)
        except Exception as exc:  # without the rendered template the stop strings would shrink to EOS alone
            raise TemplateError(
                f"the chat template failed on a user/assistant/user conversation ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:200]}), so its special tokens (the stop strings) cannot "
                "be found; fix the template or pass it explicitly"
            ) from exc
    specials = set(tokenizer.all_special_tokens)
    specials |= {
        t.content for t in getattr(tokenizer, "added_tokens_decoder", {}).values() if getattr(t, "special", False)
    }
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
_PREFIX = re.compile(
    r"^\s*(?:#+\s*)?(?:\*\*)?(?:task|question|query|instruction|user|prompt|problem)\s*\d*\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*",
    re.IGNORECASE,
)
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


def clean_instruction(
    text: str | None, finish_reason: str = "stop", rules: CleanRules = CleanRules()
) -> tuple[str, str]:
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
        if not (
            isinstance(spec, (list, tuple))
            and len(spec) == 2
            and isinstance(spec[0], (str, type(None)))
            and isinstance(spec[1], (int, float))
            and spec[1] >= 0
        ):
            raise ValueError(f"system prompt variant {name!r} must be [prompt, probability >= 0], got {spec!r}")
        names.append(name)
        weights.append(float(spec[1]))
    if sum(weights) <= 0:
        raise ValueError("system prompt variants: the probabilities sum to 0")
    rng = random.Random(seed)
    return rng.choices(names, weights=weights, k=n)
