"""The catalogue of careless and hostile inputs the runner must reject before compute (exit code 2, one line).

    .venv/bin/python tools/hostile_catalogue.py            # prints the README's reliability table (measured)

tests/test_hostile_input.py runs the same catalogue.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFUSED = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there

# (notebook, extra CLI args, text the one-line message must contain)
CASES: list[tuple[str, list[str], str]] = [
    ("00_quickstart", ["-p", "n_prompts=-1"], "'n_prompts' must be in [1..]"),
    ("00_quickstart", ["-p", "batch_size=0"], "'batch_size' must be in [1..]"),
    ("00_quickstart", ["-p", "backends=[]"], "'backends' must not be empty"),
    ("00_quickstart", ["-p", "backends=[tpu]"], "'backends' must be one of hf | vllm"),
    ("00_quickstart", ["-p", "model="], "'model' must not be empty"),
    ("00_quickstart", ["-p", "temperature=-0.5"], "'temperature' must be in [0..]"),
    ("00_quickstart", ["-p", "n_prompts=lots"], "'n_prompts' must be int"),
    ("00_quickstart", ["-p", "n_prompt=3"], "unknown parameter 'n_prompt' (did you mean 'n_prompts'?)"),
    ("00_quickstart", ["-p", "model=./no/such/model"], "not found"),
    ("00_quickstart", ["-p", "prompts_data=missing.jsonl"], "file"),
    ("00_quickstart", ["-p", "prompts_data=builtin:nope.jsonl"], "builtin data set 'nope.jsonl' not found"),
    ("00_quickstart", ["-f", "params/00_quickstart/none.yaml"], "params file"),
    ("01_magpie", ["-p", "n_instructions=-5"], "'n_instructions' must be in [1..]"),
    ("01_magpie", ["-p", "samples_per_call=0"], "'samples_per_call' must be in [1..]"),
    ("01_magpie", ["-p", "filter_preset=ultra"], "'filter_preset' must be one of none | pro | air"),
    ("01_magpie", ["-p", f"tagger_base_url={REFUSED}", "-p", "tagger_model=gpt-4o-mini", "-p", "tag_mode=generate"],
     "not reachable"),
    ("01_magpie", ["-p", "tagger_base_url=http://127.0.0.1:8000/v1", "-p", "tag_mode=logprob"], "needs tag_mode generate"),
    ("02_wildbench", ["-p", f"judge_base_url={REFUSED}", "-p", "judge_model=gpt-4o"], "not reachable"),
    ("04_arena_hard", ["-p", "contestants=[]"], "'contestants' must not be empty"),
    ("04_arena_hard", ["-p", "contestants=[no-such-variant]"], "unknown variant(s) 'no-such-variant'"),
    ("05_cdr", ["-p", "default_pair=[smollm2-135m-instruct, layers:99]"], "not in the zoo"),
    ("05_cdr", ["-p", "gap_scores_file=@MALFORMED@"], "is not readable JSON"),
    ("05_cdr", ["-p", "derived_zoo=[layers:x]"], "unknown member 'layers:x'"),
    ("00_quickstart", ["--run-name", "../../etc"], "not a plain folder name"),
    ("00_quickstart", ["--run-name", "/tmp/abs"], "not a plain folder name"),
    ("00_quickstart", ["--run-name", "."], "not a plain folder name"),
    ("00_quickstart", ["--run-name", "/"], "not a plain folder name"),
    ("00_quickstart", ["--run-name", "two\nlines"], "not a plain folder name"),
    ("00_quickstart", ["--run-name", "x" * 300], "not a plain folder name"),
]


def malformed_scores_file() -> str:
    fd, path = tempfile.mkstemp(suffix=".json", prefix="scores-")
    os.write(fd, b'{"smollm2-135m-instruct": 1.0, "layers:8": ')
    os.close(fd)
    return path


def run_case(notebook: str, args: list[str], outputs: str) -> tuple[int, str, float]:
    """Run the CLI once; returns (exit code, stderr, seconds)."""
    args = [a.replace("@MALFORMED@", malformed_scores_file()) for a in args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    start = time.time()
    proc = subprocess.run([sys.executable, "-m", "helpers.run", notebook, *args, "--outputs", outputs],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    return proc.returncode, proc.stderr.strip(), time.time() - start


def main() -> None:
    print("| notebook | input | exit code | message | time to fail |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as outputs:
        for notebook, args, _ in CASES:
            rc, err, seconds = run_case(notebook, args, outputs)
            shown = " ".join(a if len(a) < 60 else a[:20] + f"...({len(a)} chars)" for a in args).replace("\n", "\\n")
            msg = err.replace("|", "/")
            msg = msg if len(msg) <= 150 else msg[:147] + "..."
            print(f"| {notebook} | `{shown}` | {rc} | {msg} | {seconds:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
