"""LLM-assisted multi-label coding of free-text answers with a codebook (the paper's few-shot prompt layout).

Two coders, one record shape ({id, qid, rid, codes, parse_failed}):

* ``logprobs`` (a local model, ``helpers.core.logprobs.choice_logprobs``): the prompt ends with the reply opened
  as ``{"``; each code's name (closed by ``"``) is scored as the continuation; the best code is kept, and every
  other code within ``margin`` nats of it, up to ``max_codes``. Nothing to parse: no parse failures.
* ``judge`` (``helpers.core.judge.Judge``, a local model or an OpenAI-compatible endpoint): the reply is read as
  JSON ``{"code": true, ...}`` (``helpers.core.textparse``); a reply with no JSON object or no known code is a
  counted parse failure (codes empty); an endpoint error is not stored and is retried by the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.store import RETRY, JsonlStore, run_stage, stable_id
from ..core.textparse import first_json_object
from .release import Codebook, Release

CODERS = ("logprobs", "judge")
PREFILL = '{"'


def code_prompt(book: Codebook, qid: str, answer: str, n_fewshot: int = 0) -> list[dict]:
    """Chat messages asking for the codes of one answer: system, ``n_fewshot`` example exchanges, the request."""
    code_list = "\n".join(f"{code}: {definition}" for code, definition in book.codes.items())
    first, rest = book.template["user"].split("{}", 1)
    user = first + code_list + rest.replace("{}", " ".join(str(answer).split()), 1)  # no str.format: braces in text
    shots = book.fewshot_for(qid)[: 2 * max(0, n_fewshot)]
    system = [{"role": "system", "content": book.template["system"]}] if book.template.get("system") else []
    return system + list(shots) + [{"role": "user", "content": user}]


def coding_items(release: Release, questions: Sequence[str], n_per_question: int = 0) -> list[dict]:
    """The answers to code: each question's human-annotated answers (sorted ids; the first ``n_per_question``,
    0: all), with the text from raw_data.csv."""
    items = []
    for qid in questions:
        rids = sorted(release.human_codes.get(qid, {}))
        rids = rids[:n_per_question] if n_per_question else rids
        texts = release.answers.get(qid, {})
        for rid in rids:  # the id carries the text's hash: an edited answer is coded afresh, never read stale
            text = str(texts.get(rid, ""))
            items.append({"id": f"{qid}|{rid}|{stable_id(text, length=8)}", "qid": qid, "rid": rid, "text": text})
    return items


def codebook_fingerprint(release: Release, questions: Sequence[str]) -> dict[str, str]:
    """A hash per codebook the questions use (codes, definitions, template, few-shot): keys the coding store."""
    books = {release.codebook_for(q).name: release.codebook_for(q) for q in questions}
    return {name: stable_id(b.codes, b.template, b.fewshot, length=10) for name, b in sorted(books.items())}


def pick_codes(scores: dict[str, float], margin: float, max_codes: int) -> list[str]:
    """The best-scoring code and every other code within ``margin`` of it, best first, at most ``max_codes``."""
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    if not ranked:
        return []
    top = ranked[0][1]
    return [code for code, s in ranked if s >= top - margin][: max(1, max_codes)]


def parse_codes(text: str | None, known: Sequence[str], max_codes: int = 4) -> list[str] | None:
    """Codes marked true in the JSON object of a reply (unknown names dropped); None when nothing usable."""
    obj = first_json_object(text)
    if not isinstance(obj, dict):
        return None
    codes = [k for k, v in obj.items() if k in known and v not in (False, None, 0, "false", "no")]
    return codes[:max_codes] or None


def logprob_coder(scorer, release: Release, n_fewshot: int, margin: float, max_codes: int):
    from ..core import hf
    from ..core.logprobs import choice_logprobs

    def process(batch: list[dict]) -> list[dict]:
        out = []
        for qid in dict.fromkeys(it["qid"] for it in batch):
            group = [it for it in batch if it["qid"] == qid]
            book = release.codebook_for(qid)
            codes = list(book.codes)
            raws = [
                hf.render(scorer.tokenizer, code_prompt(book, qid, it["text"], n_fewshot)) + PREFILL for it in group
            ]
            rows = choice_logprobs(scorer, raws, [f'{c}"' for c in codes], desc=f"coding {qid}")
            for it, row in zip(group, rows):
                scores = dict(zip(codes, row))
                out.append(
                    {
                        "id": it["id"],
                        "qid": qid,
                        "rid": it["rid"],
                        "codes": pick_codes(scores, margin, max_codes),
                        "parse_failed": False,
                        "scores": {c: round(s, 4) for c, s in scores.items()},
                    }
                )
        return sorted(out, key=lambda r: [it["id"] for it in batch].index(r["id"]))

    return process


def judge_coder(judge, release: Release, n_fewshot: int, max_codes: int):
    prefill = PREFILL if judge._gen is not None else ""  # endpoints cannot continue a prefilled reply

    def process(batch: list[dict]) -> list[dict]:
        prompts = [code_prompt(release.codebook_for(it["qid"]), it["qid"], it["text"], n_fewshot) for it in batch]
        texts = judge.complete(prompts, desc="coding", prefill=prefill)
        failed = judge.last_failed or [False] * len(batch)
        out = []
        for it, text, err in zip(batch, texts, failed):
            codes = parse_codes(text, list(release.codebook_for(it["qid"]).codes), max_codes)
            rec: dict[str, Any] = {
                "id": it["id"],
                "qid": it["qid"],
                "rid": it["rid"],
                "codes": codes or [],
                "parse_failed": codes is None and not err,
                "reply": (text or "")[:300],
            }
            if err:
                rec[RETRY] = True
            out.append(rec)
        return out

    return process


def coding_stage(store: JsonlStore, items: list[dict], process, batch_size: int = 16) -> list[dict]:
    """Code the items not in ``store`` yet (resumable); returns one record per item, in order."""
    return run_stage(store, items, process, batch_size=batch_size, desc="coding")


def by_question(records: list[dict]) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for r in records:
        out.setdefault(r["qid"], {})[r["rid"]] = list(r["codes"])
    return out


def parse_failures(records: list[dict]) -> int:
    return sum(bool(r.get("parse_failed")) for r in records)
