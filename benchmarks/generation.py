"""Generation throughput on this machine, four ways, in one process (not a test).

    .venv/bin/python benchmarks/generation.py [--model smollm2-135m-instruct] [--prompts 32] [--max-tokens 64]

1. helper vLLM path      Generator(backend="vllm").generate(...)
2. raw vLLM              the same engine's LLM.generate on the same token ids (no helper around it)
3. helper transformers   Generator(backend="hf", batch_size=B).generate(...): left-padded, length-sorted batches
4. naive transformers    model.generate one prompt at a time

Same prompts, greedy decoding, same max_tokens. Tokens/s counts generated tokens only (no padding).
Targets: the helper adds at most 10% over raw vLLM; batched transformers is at least 3x the naive loop.
"""

from __future__ import annotations

import argparse
import json
import time

TOPICS = [
    "photosynthesis",
    "the French revolution",
    "binary search",
    "black holes",
    "compound interest",
    "the water cycle",
    "TCP handshakes",
    "sourdough bread",
    "prime numbers",
    "the immune system",
    "supply and demand",
    "plate tectonics",
    "recursion",
    "the Roman empire",
    "vaccines",
    "rainbows",
]


def make_prompts(n: int) -> list[list[dict]]:
    styles = [
        "Explain {} to a ten-year-old.",
        "Write three short facts about {}.",
        "What is the most common misconception about {}?",
        "Summarise {} in two sentences.",
    ]
    return [[{"role": "user", "content": styles[i % len(styles)].format(TOPICS[i % len(TOPICS)])}] for i in range(n)]


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--skip-vllm", action="store_true")
    ap.add_argument("--json", help="also write the table here")
    args = ap.parse_args()

    import torch

    from helpers import Generator, Sampling
    from helpers.core.generation import vllm_available
    from helpers.core.hf import encode

    prompts = make_prompts(args.prompts)
    sampling = Sampling(temperature=0.0, max_tokens=args.max_tokens)
    rows = []

    def add(name, tokens, seconds):
        rows.append(
            {"path": name, "tokens": tokens, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 1)}
        )
        print(f"{name:<24} {tokens:6d} tokens {seconds:8.2f} s {tokens / seconds:8.1f} tok/s", flush=True)

    if vllm_available() and not args.skip_vllm:
        from vllm import SamplingParams

        gen = Generator(args.model, backend="vllm")
        gen.generate(prompts[:2], Sampling(max_tokens=4))  # warm-up
        ids = [{"prompt_token_ids": encode(gen.tokenizer, gen.render(p))} for p in prompts]
        raw_params = SamplingParams(temperature=0.0, max_tokens=args.max_tokens, seed=0)
        llm = gen._backend.llm
        for _ in range(2):  # alternate, keep the best of each: the machine is shared
            outs, t_helper = timed(lambda: gen.generate(prompts, sampling))
            add("helper vLLM", sum(c[0].n_tokens for c in outs), t_helper)
            raw, t_raw = timed(lambda: llm.generate(ids, raw_params, use_tqdm=False))
            add("raw vLLM", sum(len(r.outputs[0].token_ids) for r in raw), t_raw)

    gen_hf = Generator(args.model, backend="hf", batch_size=args.batch_size)
    gen_hf.generate(prompts[:2], Sampling(max_tokens=4))  # warm-up
    outs, t = timed(lambda: gen_hf.generate(prompts, sampling))
    add(f"helper hf (batch {args.batch_size})", sum(c[0].n_tokens for c in outs), t)

    model, tok = gen_hf._backend.model, gen_hf.tokenizer

    def naive():
        total = 0
        for p in prompts:
            enc = tok(gen_hf.render(p), return_tensors="pt", add_special_tokens=False)
            with torch.inference_mode():
                out = model.generate(
                    **enc, max_new_tokens=args.max_tokens, do_sample=False, pad_token_id=tok.pad_token_id
                )
            total += out.shape[1] - enc.input_ids.shape[1]
        return total

    n, t = timed(naive)
    add("naive hf (one at a time)", n, t)

    best = {}
    for r in rows:
        best[r["path"]] = max(best.get(r["path"], 0), r["tokens_per_s"])
    print("\n| path | tokens/s |\n|---|---|")
    for k, v in best.items():
        print(f"| {k} | {v} |")
    ratios = {}
    if "helper vLLM" in best:
        ratios["helper_vllm_overhead_pct"] = round(100 * (best["raw vLLM"] / best["helper vLLM"] - 1), 1)
    hf_key = f"helper hf (batch {args.batch_size})"
    ratios["batched_hf_over_naive"] = round(best[hf_key] / best["naive hf (one at a time)"], 2)
    print("\n" + json.dumps(ratios))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "best": best, "ratios": ratios, "args": vars(args)}, f, indent=2)


if __name__ == "__main__":
    main()
