"""The catalogue of careless and hostile inputs the runner must reject before compute (exit code 2, one line).

    .venv/bin/python tools/hostile_catalogue.py            # docs/reliability.md's summary, measured
    .venv/bin/python tools/hostile_catalogue.py --cases    # every case: input, exit code, message, time to fail
    .venv/bin/python tools/hostile_catalogue.py --only 09_icot

tests/test_hostile_input.py runs the same catalogue. An argument ``@NAME@`` is replaced by the path of a hostile
file made for the case (``FIXTURES``: an alias bomb, a FIFO, random bytes, ...), outside the outputs folder; an
argument ``@ONLINE@`` runs the case without HF_HUB_OFFLINE (the hub is asked, or found unreachable).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFUSED = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there
ONLINE = "@ONLINE@"
NOT_REGULAR = "not a regular file"

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
    (
        "01_magpie",
        ["-p", f"tagger_base_url={REFUSED}", "-p", "tagger_model=gpt-4o-mini", "-p", "tag_mode=generate"],
        "not reachable",
    ),
    (
        "01_magpie",
        ["-p", "tagger_base_url=http://127.0.0.1:8000/v1", "-p", "tag_mode=logprob"],
        "needs tag_mode generate",
    ),
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
    # issue #30: run names matched whole, --outputs a folder
    ("00_quickstart", ["--run-name", "quick\n"], "not a plain folder name"),
    ("00_quickstart", ["--run-name", ""], "not a plain folder name"),
    ("00_quickstart", ["--outputs", "@FILE@"], "is not a folder"),
    ("00_quickstart", ["-p", "prompts_data=@FIFO_JSONL@"], f"is a FIFO, {NOT_REGULAR}"),
    # 05 CDR
    ("05_cdr", ["-f", "@BOMB@"], "YAML aliases"),
    ("05_cdr", ["-p", "learning_rate=.nan"], "'learning_rate' must be a finite number"),
    ("05_cdr", ["-p", "onpolicy_temperature=.inf"], "'onpolicy_temperature' must be a finite number"),
    ("05_cdr", ["-p", "per_subset=" + "9" * 30], "'per_subset' is too large"),
    ("05_cdr", ["-p", "zoo_models=[[smollm2-135m-instruct]]"], "'zoo_models' element 0 must be str"),
    ("05_cdr", ["-p", "eval_data=@EMPTY_JSONL@"], "has no records"),
    ("05_cdr", ["-p", "eval_data=@BROKEN_JSONL@"], "line 2 is not JSON"),
    ("05_cdr", ["-p", "eval_data=@CSV_AS_JSONL@"], "line 1 is not JSON"),
    ("05_cdr", ["-p", "eval_data=@RANDOM_JSONL@"], "parameter 'eval_data'"),
    ("05_cdr", ["-p", "eval_data=@NOFIELD_JSONL@"], "lacks the fields ['prompt', 'chosen', 'rejected', 'subset']"),
    ("05_cdr", ["-p", "eval_data=@LATIN_YAML@"], "unknown format .yaml"),
    ("05_cdr", ["-p", "eval_data=@FIFO_JSONL@"], f"is a FIFO, {NOT_REGULAR}"),
    ("05_cdr", ["-p", "eval_data=no-such-org/no-such-set"], "is not in the local cache"),
    ("05_cdr", ["-p", "gap_data=@NOFIELD_JSONL@"], "parameter 'gap_data'"),
    ("05_cdr", ["-p", "gap_scores_file=/dev/zero"], f"a device or special file, {NOT_REGULAR}"),
    ("05_cdr", ["-p", "gap_scores_file=@FIFO_JSON@"], f"is a FIFO, {NOT_REGULAR}"),
    ("05_cdr", ["-p", "gap_scores_file=@HUGE_SCORES@"], "are not finite numbers within"),
    ("05_cdr", ["-p", "customisation=@NOFIELD_JSON@"], "'criteria' and 'exemplars'"),
    # 06 Tulu
    ("06_tulu", ["-f", "@BOMB@"], "YAML aliases"),
    ("06_tulu", ["-f", "@DEEP@"], "nested deeper than"),
    ("06_tulu", ["-p", "label_noise=[.nan]"], "'label_noise' element 0 must be a finite number"),
    ("06_tulu", ["-p", "seeds=[.inf]"], "'seeds' element 0 must be int"),
    ("06_tulu", ["-p", "rm_data=[5]"], "'rm_data' element 0 must be str"),
    ("06_tulu", ["-p", "algorithms=[[dpo]]"], "'algorithms' element 0 must be str"),
    ("06_tulu", ["-p", "dpo_learning_rate=.nan"], "'dpo_learning_rate' must be a finite number"),
    ("06_tulu", ["-p", "sft_steps=" + "9" * 5000], "value not readable"),
    (
        "06_tulu",
        [
            "-p",
            "world=hub",
            "-p",
            "policy=smollm2-135m-instruct",
            "-p",
            "reward_inits=[sft]",
            "-p",
            "sources=[a]",
            "-p",
            "labellers=[fine]",
            "-p",
            "pref_data=@EMPTY_JSONL@",
        ],
        "parameter 'pref_data'",
    ),
    (
        "06_tulu",
        [
            "-p",
            "world=hub",
            "-p",
            "policy=smollm2-135m-instruct",
            "-p",
            "reward_inits=[sft]",
            "-p",
            "sources=[a]",
            "-p",
            "labellers=[fine]",
        ],
        "hub data set 'allenai/tulu-2.5-preference-data'",
    ),
    # 07 Culture-Gen
    ("07_culturegen", ["-f", "@BOMB@"], "YAML aliases"),
    ("07_culturegen", ["-f", "@LATIN_YAML@"], "is not UTF-8 text"),
    ("07_culturegen", ["-p", "top_p=.nan"], "'top_p' must be a finite number"),
    ("07_culturegen", ["-p", "temperature=.inf"], "'temperature' must be a finite number"),
    ("07_culturegen", ["-p", "cultures=[[Japanese]]"], "'cultures' element 0 must be str"),
    ("07_culturegen", ["-p", "genders=[1]"], "'genders' element 0 must be str"),
    ("07_culturegen", ["-p", "validity_pairs=@EMPTY_JSONL@"], "has no records"),
    ("07_culturegen", ["-p", "validity_pairs=@NOFIELD_JSONL@"], "lacks the fields ['topic', 'symbol', 'nationality']"),
    ("07_culturegen", ["-p", "validity_pairs=@LONG_LINE_JSONL@"], "parameter 'validity_pairs'"),
    ("07_culturegen", ["-p", "cb_data=@NOFIELD_JSONL@"], "parameter 'cb_data'"),
    ("07_culturegen", ["-p", "cb_data=@FIFO_JSONL@"], f"is a FIFO, {NOT_REGULAR}"),
    ("07_culturegen", ["-p", "cb_data=kellycyy/CulturalBench"], "is not in the local cache"),
    ("07_culturegen", ["-p", "frequency_counts_file=@HUGE_SCORES@"], "finite counts >= 0"),
    ("07_culturegen", ["-p", "frequency_counts_file=/dev/zero"], NOT_REGULAR),
    # 08 InfoSumm
    ("08_infosumm", ["-f", "@BOMB@"], "YAML aliases"),
    ("08_infosumm", ["-f", "@DIR@"], "is a folder"),
    ("08_infosumm", ["-f", "@FIFO_YAML@"], "is a FIFO"),
    ("08_infosumm", ["-p", "saliency_min=.nan"], "'saliency_min' must be a finite number"),
    ("08_infosumm", ["-p", "faithfulness_min=-.inf"], "'faithfulness_min' must be a finite number"),
    ("08_infosumm", ["-p", "length_buckets=[a, b]"], "'length_buckets' element 0 must be int"),
    ("08_infosumm", ["-p", "student_init=truncate:0"], "truncate:0 must keep 1 to 30"),
    ("08_infosumm", ["-p", "student_init=truncate:99"], "truncate:99 must keep 1 to 30"),
    ("08_infosumm", ["-p", "prefixes=@NOFIELD_JSONL@"], "lacks the fields ['prefix']"),
    ("08_infosumm", ["-p", "eval_data=@NOFIELD_JSONL@"], "records need a document field"),
    ("08_infosumm", ["-p", "eval_data=@FIFO_JSONL@"], f"is a FIFO, {NOT_REGULAR}"),
    ("08_infosumm", ["-p", "documents_data=/dev/zero"], NOT_REGULAR),
    ("08_infosumm", ["-p", "extra_eval_data=[@EMPTY_JSONL@]"], "has no records"),
    # 09 ICoT
    ("09_icot", ["-f", "@DEEP@"], "nested deeper than"),
    ("09_icot", ["-f", "@DIR@"], "is a folder"),
    ("09_icot", ["-p", "learning_rate=.nan"], "'learning_rate' must be a finite number"),
    ("09_icot", ["-p", "tasks=[[mult:3]]"], "'tasks' element 0 must be str"),
    ("09_icot", ["-p", "tasks=[3]"], "'tasks' element 0 must be str"),
    ("09_icot", ["-p", "n_test=" + "9" * 5000], "value not readable"),
    ("09_icot", ["-p", "n_test=" + "9" * 40], "'n_test' is too large"),
    ("09_icot", ["-p", "task_overrides={mult:3: {learning_rate: fast}}"], "'learning_rate' must be float"),
    ("09_icot", ["-p", "task_overrides={mult:3: {batch_size: -5}}"], "'batch_size' must be in [1..]"),
    ("09_icot", ["-p", "task_overrides={mult:3: {n_epochs: 0}}"], "'n_epochs' must be in [1..]"),
    ("09_icot", ["-p", "tasks=[mult:1]"], "mult:1 has 81 distinct pairs"),
    ("09_icot", ["-p", "tasks=[mult:2]"], "mult:2 has 8100 distinct pairs"),
    ("09_icot", ["-p", "tasks=[mult:50]"], "more than 20 digits"),
    ("09_icot", ["-p", "n_train=0"], "'n_train': 0 takes the whole split for gsm8k only"),
    ("09_icot", ["-p", "init_from=smollm2-135m-instruct"], "is a llama model"),
    ("09_icot", [ONLINE, "-p", "init_from=no-such-org/no-such-gpt2"], "hub model 'no-such-org/no-such-gpt2'"),
    (
        "09_icot",
        ["-p", "tasks=[gsm8k]", "-p", "keep_position=false", "-p", "gsm8k_data=@NOFIELD_JSONL@"],
        "needs question/answer or input/cot/answer",
    ),
    ("09_icot", ["-p", "tasks=[gsm8k]", "-p", "keep_position=false", "-p", "gsm8k_data=@FIFO_TXT@"], "is a FIFO"),
    # 10-12: the runner's checks every notebook gets (params files, numbers, list elements, data files)
    ("10_wildchat", ["-f", "@BOMB@"], "YAML aliases"),
    ("10_wildchat", ["-p", "coverage_tau=.nan"], "'coverage_tau' must be a finite number"),
    ("10_wildchat", ["-p", "other_corpora=[[alpaca]]"], "'other_corpora' element 0 must be str"),
    ("10_wildchat", ["-p", "data=@FIFO_JSONL@"], f"is a FIFO, {NOT_REGULAR}"),
    ("10_wildchat", ["-p", "data=@EMPTY_JSONL@"], "parameter 'data'"),
    ("10_wildchat", ["-p", "expected_file=/dev/zero"], NOT_REGULAR),
    ("11_culturalteaming", ["-f", "@LATIN_YAML@"], "is not UTF-8 text"),
    ("11_culturalteaming", ["-p", "hint_max_tokens=.nan"], "'hint_max_tokens' must be int"),
    ("11_culturalteaming", ["-p", "target_models=[[smollm2-135m-instruct]]"], "'target_models' element 0 must be str"),
    ("11_culturalteaming", ["-p", "n_bootstrap=" + "9" * 40], "'n_bootstrap' is too large"),
    ("11_culturalteaming", ["-p", "sessions_file=@FIFO_YAML@"], "is a FIFO"),
    ("12_participai", ["-f", "@DEEP@"], "nested deeper than"),
    ("12_participai", ["-p", "logprob_margin=.nan"], "'logprob_margin' must be a finite number"),
    ("12_participai", ["-p", "coding_questions=[[Q11_4]]"], "'coding_questions' element 0 must be str"),
    ("12_participai", ["-p", "n_coded=" + "9" * 40], "'n_coded' is too large"),
]


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return str(path)


def _bomb(path: Path) -> str:  # a "billion laughs": 9 levels of 9 aliases, 260 bytes
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return _write(path, ("\n".join(lines) + "\n").encode())


FIXTURES = {  # name -> how to make it in a folder (each file made once per catalogue run)
    "MALFORMED": lambda d: _write(d / "scores.json", b'{"smollm2-135m-instruct": 1.0, "layers:8": '),
    "BOMB": lambda d: _bomb(d / "bomb.yaml"),
    "DEEP": lambda d: _write(d / "deep.yaml", b"n_test: " + b"[" * 5000 + b"]" * 5000 + b"\n"),
    "LATIN_YAML": lambda d: _write(d / "latin.yaml", "n_samples: 3 # Gr\u00fc\u00dfe\n".encode("latin-1")),
    "DIR": lambda d: (d / "folder.yaml").mkdir() or str(d / "folder.yaml"),
    "FIFO_YAML": lambda d: _fifo(d / "fifo.yaml"),
    "FIFO_JSONL": lambda d: _fifo(d / "fifo.jsonl"),
    "FIFO_JSON": lambda d: _fifo(d / "fifo.json"),
    "FIFO_TXT": lambda d: _fifo(d / "fifo.txt"),
    "FILE": lambda d: _write(d / "a-file", b"not a folder\n"),
    "EMPTY_JSONL": lambda d: _write(d / "empty.jsonl", b""),
    "BROKEN_JSONL": lambda d: _write(d / "broken.jsonl", b'{"prompt": "a", "chosen": "b"}\n{"prompt": \n'),
    "CSV_AS_JSONL": lambda d: _write(d / "table.jsonl", b"prompt,chosen,rejected\na,b,c\n"),
    "RANDOM_JSONL": lambda d: _write(d / "random.jsonl", bytes(range(256)) * 64),
    "NOFIELD_JSONL": lambda d: _write(d / "nofield.jsonl", b'{"note": "no field this notebook needs"}\n'),
    "NOFIELD_JSON": lambda d: _write(d / "nofield.json", b'{"note": "no field this notebook needs"}'),
    "LONG_LINE_JSONL": lambda d: _write(d / "long.jsonl", b'{"topic": "' + b"x" * (8 << 20) + b'"}\n'),
    "HUGE_SCORES": lambda d: _write(
        d / "huge.json",
        b'{"smollm2-135m-instruct": 1e308, "layers:8": -1e308, "random": 0.5, "dpo-offline": 0.7, "Japanese": -1}',
    ),
}


class Fixtures:
    """The hostile files of the catalogue, made on first use in one temporary folder."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="hostile-")
        self.dir = Path(self._dir.name)
        self.made: dict[str, str] = {}

    def path(self, name: str) -> str:
        if name not in self.made:
            self.made[name] = FIXTURES[name](self.dir)
        return self.made[name]

    def expand(self, arg: str) -> str:
        for name in FIXTURES:
            if f"@{name}@" in arg:
                arg = arg.replace(f"@{name}@", self.path(name))
        return arg

    def close(self) -> None:
        self._dir.cleanup()


_SHARED: Fixtures | None = None


def run_case(notebook: str, args: list[str], outputs: str, fixtures: Fixtures | None = None) -> tuple[int, str, float]:
    """Run the CLI once; returns (exit code, stderr, seconds)."""
    global _SHARED
    if fixtures is None:
        _SHARED = _SHARED or Fixtures()
        fixtures = _SHARED
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if ONLINE in args:
        env.pop("HF_HUB_OFFLINE")
        env["HF_HUB_ETAG_TIMEOUT"] = env["HF_HUB_DOWNLOAD_TIMEOUT"] = "10"
    args = [fixtures.expand(a) for a in args if a != ONLINE]
    tail = [] if "--outputs" in args else ["--outputs", outputs]
    start = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "helpers.run", notebook, *args, *tail],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    return proc.returncode, proc.stderr.strip(), time.time() - start


def held(rc: int, err: str, message: str) -> bool:
    """The promise: exit code 2, one line, naming what is wrong."""
    return rc == 2 and len(err.splitlines()) == 1 and message in err


def _measure_one(case: tuple[str, list[str], str], fixtures: Fixtures) -> dict:
    notebook, args, message = case
    with tempfile.TemporaryDirectory() as outputs:  # a fresh outputs folder: 'wrote' is this case's own writing
        rc, err, seconds = run_case(notebook, args, outputs, fixtures)
        return {
            "notebook": notebook,
            "args": args,
            "rc": rc,
            "err": err,
            "seconds": seconds,
            "held": held(rc, err, message),
            "wrote": any(Path(outputs).iterdir()),
        }


def measure(cases=CASES, jobs: int = 1):
    """One row per case, in catalogue order, as each is done; ``jobs`` cases run at once (each its own process)."""
    from concurrent.futures import ThreadPoolExecutor

    fixtures = Fixtures()
    try:
        for name in FIXTURES:  # made up front: the threads only read them
            fixtures.path(name)
        with ThreadPoolExecutor(max(1, jobs)) as pool:
            yield from pool.map(lambda case: _measure_one(case, fixtures), cases)
    finally:
        fixtures.close()


def _case_row(r: dict) -> str:
    msg = r["err"].replace("|", "/")
    msg = msg if len(msg) <= 150 else msg[:147] + "..."
    return f"| {r['notebook']} | `{_shown(r['args'])}` | {r['rc']} | {msg} | {r['seconds']:.1f} s |"


def _shown(args: list[str]) -> str:
    return " ".join(a if len(a) < 60 else a[:20] + f"...({len(a)} chars)" for a in args).replace("\n", "\\n")


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", action="store_true", help="one row per case instead of one per notebook")
    ap.add_argument("--only", action="append", default=[], help="only these notebooks")
    ap.add_argument("--jobs", type=int, default=1, help="cases run at once (times to fail grow with a busy machine)")
    a = ap.parse_args(argv)
    cases = [c for c in CASES if not a.only or c[0] in a.only]
    if a.cases:
        print("| notebook | input | exit code | message | time to fail |")
        print("|---|---|---|---|---|")
    rows = []
    for r in measure(cases, a.jobs):
        rows.append(r)
        print(
            _case_row(r)
            if a.cases
            else f"{len(rows)}/{len(cases)} {'held' if r['held'] else 'NOT HELD'}: "
            f"{r['notebook']} `{_shown(r['args'])}` {r['seconds']:.1f} s",
            flush=True,
            file=sys.stdout if a.cases else sys.stderr,
        )
    if a.cases:
        return
    print("| notebook | cases | exit 2, one line, named | wrote under outputs/ | time to fail (median, max) |")
    print("|---|---|---|---|---|")
    for nb in dict.fromkeys(r["notebook"] for r in rows):
        mine = [r for r in rows if r["notebook"] == nb]
        times = [r["seconds"] for r in mine]
        print(
            f"| {nb} | {len(mine)} | {sum(r['held'] for r in mine)} | {sum(r['wrote'] for r in mine)} | "
            f"{statistics.median(times):.1f} s, {max(times):.1f} s |"
        )
    print(
        f"| all | {len(rows)} | {sum(r['held'] for r in rows)} | {sum(r['wrote'] for r in rows)} | "
        f"{statistics.median([r['seconds'] for r in rows]):.1f} s, {max(r['seconds'] for r in rows):.1f} s |"
    )
    for r in rows:
        if not r["held"]:
            print(f"NOT HELD: {r['notebook']} `{_shown(r['args'])}`: exit {r['rc']}: {r['err'][-300:]}")


if __name__ == "__main__":
    main()
