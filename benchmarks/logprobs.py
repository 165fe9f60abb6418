"""Log-prob scoring throughput: the transformers path against vLLM's prompt log-probs (not a test).

    .venv/bin/python benchmarks/logprobs.py [--pairs 128] [--device cpu|cuda] [--batch-size 16] [--skip-vllm]

Scores the same (chat prompt, response) pairs from the shipped offline preference set with
``LogProbScorer(backend="hf")`` (batched, left-padded forward) and ``LogProbScorer(backend="vllm")``
(in-process engine, ``prompt_logprobs``), reports sequences/s for each (engine start-up excluded,
reported apart) and the largest per-token difference between the two paths. Writes
``benchmarks/results/logprobs-<device>.json`` for ``benchmarks/update_readme.py``. On a GPU
machine: ``--device cuda`` with the ``vllm`` package; the embedded model is converted locally (no hub).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def random_model(shape_dir: str) -> str:
    """Save a randomly initialised model of ``shape_dir``'s config (with its tokenizer) to a temporary folder."""
    import tempfile

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    out = tempfile.mkdtemp(prefix="random-model-")
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(shape_dir))
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(shape_dir).save_pretrained(out)
    print(f"random-weight model of {shape_dir} in {out}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--pairs", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--repeats", type=int, default=2, help="timed passes per path (best kept)")
    ap.add_argument("--skip-vllm", action="store_true")
    ap.add_argument("--max-model-len", type=int, default=2048)
    ap.add_argument(
        "--random-init",
        metavar="DIR",
        help="a folder with a model's config.json and tokenizer only (no weights): benchmark that architecture "
        "with random weights (a machine without the embedded model's package; throughput is the same)",
    )
    args = ap.parse_args()
    if args.random_init:
        args.model = random_model(args.random_init)

    from helpers.core import engines
    from helpers.core.generation import vllm_available
    from helpers.core.logprobs import LogProbScorer

    torch_threads = engines.apply_threads(0)
    pairs = common.pairs(args.pairs)
    rows, load_before = [], common.loadavg()

    def timed(scorer, name, started):
        best = None
        for _ in range(args.repeats):
            t = time.perf_counter()
            out = scorer.score(pairs)
            took = time.perf_counter() - t
            best = took if best is None else min(best, took)
        tokens = sum(o.n_tokens for o in out)
        rows.append(
            {
                "path": name,
                "sequences": len(pairs),
                "response_tokens": tokens,
                "seconds": round(best, 2),
                "sequences_per_s": round(len(pairs) / best, 1),
                "startup_s": round(started, 1),
                "load": common.loadavg(),
            }
        )
        print(
            f"{name:<34} {len(pairs)} seqs {best:7.2f} s {len(pairs) / best:7.1f} seq/s (start-up {started:.1f} s, "
            f"load {common.loadavg()})",
            flush=True,
        )
        return out

    t = time.perf_counter()
    hf_scorer = LogProbScorer(args.model, backend="hf", batch_size=args.batch_size, device=args.device)
    hf_out = timed(hf_scorer, f"transformers (batch {args.batch_size})", time.perf_counter() - t)
    diff = None
    if vllm_available() and not args.skip_vllm:
        t = time.perf_counter()
        vl = LogProbScorer(args.model, backend="vllm", max_model_len=args.max_model_len)
        vl_out = timed(vl, "vLLM prompt log-probs", time.perf_counter() - t)
        encoded = [hf_scorer.encode_pair(p, r) for p, r in pairs[:16]]
        import torch

        diff = 0.0
        for (p, r), lps in zip(encoded, vl.token_logprobs(encoded)):
            with torch.inference_mode():  # reference: one unpadded forward of prompt + response
                logits = (
                    hf_scorer.model(input_ids=torch.tensor([p + r], device=hf_scorer.model.device)).logits[0].float()
                )
            ref = (
                logits[len(p) - 1 : len(p) + len(r) - 1]
                .log_softmax(-1)
                .gather(-1, torch.tensor(r, device=logits.device)[:, None])
            )
            diff = max(diff, max(abs(a - b) for a, b in zip(ref.squeeze(-1).tolist(), lps)))
        seq_diff = max(abs(a.sum - b.sum) / max(a.n_tokens, 1) for a, b in zip(hf_out, vl_out))
        print(
            f"largest per-token difference vs one-token-at-a-time transformers: {diff:.2e}; "
            f"largest per-token mean difference of sums: {seq_diff:.2e}"
        )
        vl.release()
        del torch
    hf_scorer.release()
    common.write(
        f"logprobs-{args.device}",
        {
            "model": "random weights, shape of " + Path(args.random_init).name if args.random_init else args.model,
            "rows": rows,
            "max_token_diff": diff,
            "load_before": load_before,
            "load_after": common.loadavg(),
            "torch_threads": torch_threads,
        },
    )


if __name__ == "__main__":
    main()
