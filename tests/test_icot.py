"""Stepwise internalization helpers: data format, schedule arithmetic, smoothing, answers, training state."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from helpers.icot import data, evaluate, schedule
from helpers.icot.model import CharTokenizer, Encoded, build, encode_example, inference_skip, make_batch, pack
from helpers.icot.train import TrainConfig, checkpoint_folder, train


def operands_of(example: dict[str, str]) -> tuple[int, int]:
    """Back from an input ``9 1 7 3 * 9 4 3 3`` (digits least significant first) to ``(3719, 3349)``."""
    left, right = example["input"].split("*")
    return tuple(int("".join(reversed(side.split()))) for side in (left, right))


# lines of the reference's 4x4 files (da03/Internalize_CoT_Step_by_Step, data/4_by_4_mult)
REFERENCE_LINES = [
    "9 1 7 3 * 9 4 3 3||1 7 4 3 3 + 0 6 7 8 4 1 ( 1 3 2 2 8 1 ) + 0 0 7 5 1 1 1 ( 1 3 9 7 9 2 1 ) + 0 0 0 7 5 1 1 1 "
    "#### 1 3 9 4 5 4 2 1",
    "5 6 3 2 * 7 4 3 4||5 5 5 6 1 + 0 0 6 4 9 0 ( 5 5 1 1 1 1 ) + 0 0 5 9 0 7 0 ( 5 5 6 0 2 8 0 ) + 0 0 0 0 6 4 9 0 "
    "#### 5 5 6 0 8 2 0 1",
    "4 0 2 3 * 0 0 7 5||0 0 0 0 0 + 0 0 0 0 0 0 ( 0 0 0 0 0 0 ) + 0 0 8 2 4 2 2 ( 0 0 8 2 4 2 2 ) + 0 0 0 0 2 0 6 1 "
    "#### 0 0 8 2 6 2 8 1",
]


# ------------------------------------------------------------------------------- data
def test_worked_example_digit_for_digit():
    ex = data.multiplication_example(3719, 3349, 4)
    assert data.format_line(ex) == REFERENCE_LINES[0]
    assert ex["input"] == "9 1 7 3 * 9 4 3 3" and ex["answer"] == "1 3 9 4 5 4 2 1"


@pytest.mark.parametrize("line", REFERENCE_LINES)
def test_generator_reproduces_reference_lines(line):
    a, b = operands_of(data.parse_line(line))
    assert data.format_line(data.multiplication_example(a, b, 4)) == line


def test_format_parse_round_trip_and_widths():
    ex = data.multiplication_example(12, 34, 2)
    assert data.parse_line(data.format_line(ex)) == ex
    assert ex["cot"] == "8 4 0 + 0 6 3 0"  # 12*4 padded to 3 digits, 12*30 to 4; no running sum with 2 products
    assert ex["answer"] == "8 0 4 0"  # 408 padded to 4 digits
    four = data.multiplication_example(3719, 3349, 4)
    assert len(four["cot"].split()) == 46
    with pytest.raises(data.DataError):
        data.parse_line("1 2 * 3 4 #### 4 0")


def test_splits_are_disjoint_deterministic_and_correct():
    s = data.multiplication_splits(3, n_train=200, n_valid=20, n_test=30, seed=1)
    assert [len(s[k]) for k in ("train", "valid", "test")] == [200, 20, 30]
    pairs = {k: {operands_of(e) for e in v} for k, v in s.items()}
    assert (
        not (pairs["train"] & pairs["test"])
        and not (pairs["train"] & pairs["valid"])
        and not (pairs["valid"] & pairs["test"])
    )
    for e in s["train"][:20]:
        a, b = operands_of(e)
        assert 100 <= a <= 999 and 100 <= b <= 999
        assert int("".join(reversed(e["answer"].split()))) == a * b
    assert s == data.multiplication_splits(3, 200, 20, 30, seed=1)
    assert s["test"] != data.multiplication_splits(3, 200, 20, 30, seed=2)["test"]
    assert data.multiplication_splits(3, 500, 20, 30, seed=1)["test"] == s["test"]  # more training data, same test set
    with pytest.raises(ValueError, match="only 8100 exist"):
        data.multiplication_splits(2, 8000, 100, 100)


def test_gsm8k_cot_is_the_calculator_annotations(tmp_path):
    ex = data.gsm8k_example("How  many?", "He has 4*2=<<4*2=8>>8.\nThen 8+1,000=<<8+1000=1008>>1,008.\n#### 1,008")
    assert ex == {"input": "How many?", "cot": "<<4*2=8>> <<8+1000=1008>>", "answer": "1008"}
    plain = data.gsm8k_example("Q?", "First step.\nSecond step.\n#### 7")
    assert plain["cot"] == "First step. Second step." and plain["answer"] == "7"
    jsonl = tmp_path / "gsm.jsonl"
    jsonl.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"question": "A?", "answer": "x <<1+1=2>> #### 2"},
                {"question": "B?", "cot": "<<2*3=6>>", "answer": "6"},
            ]
        )
    )
    got = data.load_gsm8k(str(jsonl), split="train")
    assert [(g["cot"], g["answer"]) for g in got] == [("<<1+1=2>>", "2"), ("<<2*3=6>>", "6")]
    txt = tmp_path / "test.txt"
    txt.write_text("Q one?||<<4-2=2>> <<2/.5=4>> #### 4\n")
    assert data.load_gsm8k(str(txt))[0]["cot"] == "<<4-2=2>> <<2/.5=4>>"


def test_parse_task():
    assert data.parse_task("mult:4") == ("mult", 4) and data.parse_task("gsm8k") == ("gsm8k", 0)
    for bad in ("mult", "mult:x", "add:3", "gsm8k:2"):
        with pytest.raises(ValueError):
            data.parse_task(bad)


# ------------------------------------------------------------------------------- schedule
def test_steps_per_removed_token_rounds_like_the_reference():
    assert schedule.steps_per_removed_token(25250, 8) == 3156  # round(3156.25)
    assert schedule.steps_per_removed_token(125, 8) == 16  # round(15.625)
    assert schedule.steps_per_removed_token(100, 8) == 12  # round(12.5): Python rounds half to even
    assert schedule.steps_per_removed_token(4, 8) == 0  # more removals than steps: one token every step


def _run(sched, epochs):
    return [sched.advance(e) for e in epochs]


def test_schedule_grows_one_token_every_k_steps_and_flags_increases():
    out = _run(schedule.RemovalSchedule(every=3), [0] * 10)
    assert [r for r, _ in out] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]
    assert [i for i, (_, inc) in enumerate(out) if inc] == [3, 6, 9]  # optimizer resets
    assert [r for r, _ in _run(schedule.RemovalSchedule(every=0), [0] * 4)] == [1, 2, 3, 4]


def test_schedule_waits_for_pretraining_and_removes_all_past_threshold():
    sched = schedule.RemovalSchedule(every=2, remove_all_beyond=2, pretrain_epochs=1)
    out = _run(sched, [0, 0, 0, 1, 1, 1, 1, 1, 1])
    assert [r for r, _ in out] == [0, 0, 0, 0, 0, 1, 1, math.inf, math.inf]
    assert [inc for _, inc in out] == [False] * 5 + [True, False, True, False]
    state = json.loads(json.dumps(sched.state()))  # JSON-able, inf as null
    again = schedule.RemovalSchedule.load(state)
    assert again == sched and again.advance(2) == (math.inf, False)


def test_smoothing_distribution_is_exponential():
    p = schedule.smoothing_distribution(4.0)
    assert abs(float(p.sum()) - 1) < 1e-12
    assert abs(float(p[1] / p[0]) - math.exp(-4)) < 1e-9 and abs(float(p[2] / p[1]) - math.exp(-4)) < 1e-9
    assert abs(float(p[0]) - (1 - math.exp(-4))) < 1e-6
    assert schedule.smoothing_distribution(math.inf).tolist()[:2] == [1.0, 0.0]
    gen = torch.Generator().manual_seed(0)
    offsets = schedule.sample_offsets(1.0, 20000, gen)
    share0 = offsets.count(0) / len(offsets)
    assert abs(share0 - (1 - math.exp(-1))) < 0.015
    assert offsets[:50] == schedule.sample_offsets(1.0, 20000, torch.Generator().manual_seed(0))[:50]


def test_removal_from_the_left():
    cot = [5, 6, 7, 8]
    assert schedule.remove_left(cot, 0) == cot and schedule.remove_left(cot, 1) == [6, 7, 8]
    assert schedule.remove_left(cot, 4) == [] and schedule.remove_left(cot, 9) == []
    assert schedule.remove_left(cot, math.inf) == []
    gen = torch.Generator().manual_seed(0)
    assert schedule.removal_counts("cot", 3, 2, 4.0, gen) == [0, 0]
    assert schedule.removal_counts("nocot", 3, 2, 4.0, gen) == [math.inf, math.inf]
    assert all(k >= 3 for k in schedule.removal_counts("stepwise", 3, 50, 4.0, gen))
    assert schedule.removal_counts("stepwise", 3, 3, math.inf, gen) == [3, 3, 3]


# ------------------------------------------------------------------------------- model inputs
def test_char_tokenizer_and_packing(tmp_path):
    tok = CharTokenizer.fit(["1 2 * 3 4", "#### 4 0 8 0", "( 1 ) +"])
    assert tok.encode("#### 1 2") == [tok.index["####"], tok.index["1"], tok.index["2"]]
    assert tok.decode(tok.encode("1 2 * 3 4")) == "1 2 * 3 4"
    tok.save(tmp_path)
    assert CharTokenizer.load(tmp_path).vocab == tok.vocab
    enc = encode_example(tok, {"input": "1 2 * 3 4", "cot": "8 4", "answer": "8 0"})
    ids, loss_from = pack(enc, enc.cot, tok.eos_id)
    assert ids == enc.prompt + [tok.eos_id] + enc.cot + [tok.eos_id] + enc.answer + [tok.eos_id]
    assert loss_from == len(enc.prompt) + 1


def test_make_batch_masks_the_prompt_and_keeps_positions():
    eos, pad = 1, 0
    encs = [Encoded([5, 6], [7, 8, 9], [3, 4]), Encoded([5], [7, 8, 9], [3, 4])]
    b = make_batch(encs, [1, math.inf], eos, pad)
    assert b["input_ids"][0].tolist() == [5, 6, 1, 8, 9, 1, 3, 4, 1]
    assert b["labels"][0].tolist() == [-100, -100, -100, 8, 9, 1, 3, 4, 1]
    assert b["input_ids"][1].tolist() == [5, 1, 1, 3, 4, 1, 0, 0, 0]
    assert b["attention_mask"][1].tolist() == [1] * 6 + [0] * 3
    assert b["position_ids"][0].tolist() == list(range(9))
    kept = make_batch(encs, [1, math.inf], eos, pad, keep_position=True)["position_ids"]
    assert kept[0].tolist() == [0, 1, 3, 4, 5, 6, 7, 8, 9]  # the first <eos> moves too (upstream's shift)
    assert kept[1].tolist()[:6] == [0, 4, 5, 6, 7, 8]  # all three removed: <eos> at 1 + 3


def _upstream_positions(full: list[int], eos: int, k: int) -> list[int]:
    """Upstream's rule (src/train.py, --keep_position), restated: arange over the whole sequence, then
    ``position_ids[first_eos:] += removed`` with removed = min(k, CoT length), cut to the shortened length."""
    first, second = [i for i, t in enumerate(full) if t == eos][:2]
    removed = min(k, second - first - 1)
    pos = [i + (removed if i >= first else 0) for i in range(len(full))]
    return pos[: len(full) - removed]


@pytest.mark.parametrize("k", [0, 1, 2, 3, 5])
def test_keep_position_matches_upstreams_shift_of_the_first_eos(k):
    eos, pad = 1, 0
    enc = Encoded([5, 6, 7], [8, 9, 10], [3, 4])
    full = pack(enc, enc.cot, eos)[0]
    got = make_batch([enc], [k], eos, pad, keep_position=True)["position_ids"][0].tolist()
    assert got == _upstream_positions(full, eos, k)
    assert got[3] == 3 + min(k, 3)  # the first <eos>


def test_decoding_with_skip_uses_the_training_positions():
    """Greedy decoding of a keep_position model (prompt <eos> shifted by ``skip``) predicts, at every step, the
    token that a teacher-forced forward pass with make_batch's position ids puts first."""
    tok, model = build("config:gpt2-tiny", ["0 1 2 3 4 5 6 7 8 9 * + ( )"], max_positions=64, seed=5)
    model.eval()
    enc = Encoded(tok.encode("1 2 * 3 4"), tok.encode("5 6 7"), [])
    gen = evaluate.greedy_generate(model, [enc.prompt + [tok.eos_id]], tok.eos_id, tok.pad_id, 10, skip=3)[0]
    row = enc.prompt + [tok.eos_id] + gen
    first = len(enc.prompt)
    positions = torch.tensor([list(range(first)) + [p + 3 for p in range(first, len(row))]])
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([row]), position_ids=positions).logits[0]
    assert logits[first : len(row) - 1].argmax(-1).tolist() == gen
    unshifted = evaluate.greedy_generate(model, [enc.prompt + [tok.eos_id]], tok.eos_id, tok.pad_id, 10, skip=0)[0]
    with torch.no_grad():
        logits0 = model(input_ids=torch.tensor([enc.prompt + [tok.eos_id]])).logits[0, -1]
    assert unshifted[0] == int(logits0.argmax())


def test_inference_skip_needs_fixed_length_cots():
    encs = [Encoded([1], [2, 3, 4], [5])] * 2
    assert inference_skip("stepwise", True, encs, 2) == 2 and inference_skip("stepwise", True, encs, math.inf) == 3
    assert inference_skip("nocot", True, encs, 0) == 3
    assert inference_skip("cot", True, encs, 2) == 0 and inference_skip("stepwise", False, encs, 2) == 0
    with pytest.raises(ValueError, match="one length"):
        inference_skip("stepwise", True, encs + [Encoded([1], [2], [5])], 2)


# ------------------------------------------------------------------------------- evaluation
def test_answer_extraction():
    assert evaluate.extract_answer("#### 1 2 3") == "1 2 3"
    assert evaluate.extract_answer("7 8 #### 4 0 ") == "4 0"
    assert evaluate.extract_answer("1 2 3") is None
    assert evaluate.is_correct("4 0 8 0", "4080") and evaluate.is_correct(" 4 0 8 0", "4 0 8 0")
    assert not evaluate.is_correct(None, "4") and not evaluate.is_correct("4 0", "4 1")
    eos = 1
    gen = [7, 8, eos, 9, 4, 0, eos]
    assert evaluate.cot_segment(gen, eos) == [7, 8] and evaluate.answer_segment(gen, eos) == [9, 4, 0]
    assert evaluate.answer_segment([eos, 9, 4], eos) == [9, 4] and evaluate.answer_segment([9, 4], eos) == []


def test_wilson_and_paired_verdict():
    half = evaluate.summarize([{"correct": i < 5, "n_generated": 1, "n_cot_tokens": 0} for i in range(10)])
    assert abs(half["ci_low"] - 0.2366) < 1e-3 and abs(half["ci_high"] - 0.7634) < 1e-3  # Wilson (scipy's binomtest)
    t = evaluate.paired_test([True] * 30 + [False] * 70, [False] * 100)
    assert t["a_only"] == 30 and t["b_only"] == 0 and t["p_value"] < 1e-6
    assert evaluate.paired_test([True, False], [True, False])["p_value"] == 1.0
    assert evaluate.verdict(0.3, 0.0, 100, 1e-9) == "internalization beats no-CoT"
    assert evaluate.verdict(0.0, 0.3, 100, 1e-9) == "no-CoT beats internalization"
    assert evaluate.verdict(0.0, 0.0, 500, 1.0) == "no difference at this budget"
    assert evaluate.verdict(0.5, 0.45, 20, 0.6) == "too small to tell"


def test_batched_left_padded_decoding_matches_one_by_one():
    tok, model = build("config:gpt2-tiny", ["0 1 2 3 4 5 6 7 8 9 * + ( )"], max_positions=64, seed=3)
    model.eval()
    prompts = [
        tok.encode("1 2 3") + [tok.eos_id],
        tok.encode("4") + [tok.eos_id],
        tok.encode("5 6 7 8 9 1") + [tok.eos_id],
    ]
    for skip in (0, 4):
        batched = evaluate.greedy_generate(model, prompts, tok.eos_id, tok.pad_id, 12, batch_size=8, skip=skip)
        single = [evaluate.greedy_generate(model, [p], tok.eos_id, tok.pad_id, 12, skip=skip)[0] for p in prompts]
        assert batched == single
        assert all(0 < len(g) <= 12 for g in batched)


# ------------------------------------------------------------------------------- training state
def _tiny(method="stepwise", **kw):
    base = dict(
        task="mult:2",
        method=method,
        init_from="config:gpt2-tiny",
        n_epochs=3,
        batch_size=16,
        learning_rate=1e-3,
        remove_per_epoch=4,
        pretrain_epochs=1,
        eval_every=4,
        seed=0,
    )
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def tiny_splits():
    return data.multiplication_splits(2, n_train=64, n_valid=8, n_test=8, seed=0)


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_checkpoint_key_follows_every_result_param(tmp_path, tiny_splits):
    torch.set_num_threads(1)
    a = train(_tiny(), tiny_splits["train"], tiny_splits["valid"], tmp_path)
    assert a.steps == 12 and json.loads((a.folder / "config.json").read_text())["learning_rate"] == 1e-3
    again = train(_tiny(), tiny_splits["train"], tiny_splits["valid"], tmp_path)  # loads, trains nothing
    assert again.folder == a.folder and again.segments == a.segments
    b = train(_tiny(learning_rate=2e-3), tiny_splits["train"], tiny_splits["valid"], tmp_path)
    assert b.folder != a.folder and b.folder.parent == a.folder.parent
    assert checkpoint_folder(tmp_path, _tiny(seed=1)) != checkpoint_folder(tmp_path, _tiny())
    rows = a.history
    # every eval_every steps, plus the last step before the first CoT token goes (branch 4 + 1 step per token)
    assert [r["step"] for r in rows] == [4, 5, 8, 12] and all("valid_accuracy" in r for r in rows)
    assert a.removal_start == 5 and a.best["step"] in (5, 8, 12)


def test_stepwise_branches_from_explicit_cot_step_for_step(tmp_path, tiny_splits):
    torch.set_num_threads(1)
    alone = train(_tiny(), tiny_splits["train"], tiny_splits["valid"], tmp_path / "alone")
    cot = train(_tiny("cot"), tiny_splits["train"], tiny_splits["valid"], tmp_path / "shared")
    assert (cot.folder / "branch-4").is_dir()
    branched = train(_tiny(), tiny_splits["train"], tiny_splits["valid"], tmp_path / "shared")
    assert branched.segments == [[0, 4], [4, 12]] and alone.segments == [[0, 12]]
    assert branched.branched_from == "cot@4" and alone.branched_from is None
    wa, wb = _weights(alone.model), _weights(branched.model)
    assert all(torch.equal(wa[k], wb[k]) for k in wa), "branching must not change the result"
    assert [r["loss"] for r in alone.history] == [r["loss"] for r in branched.history]


@pytest.mark.slow
def test_killed_training_resumes_without_redoing_steps(tmp_path):
    """SIGKILL a real training process after a checkpoint, rerun it: same final step and weights as an
    uninterrupted run, and the rerun starts at the checkpoint."""
    cfg = _tiny(n_epochs=15, eval_every=0, pretrain_epochs=0)
    spec = {
        "config": cfg.__dict__,
        "data": {"n_train": 64, "n_valid": 8, "n_test": 8, "seed": 0},
        "checkpoint_every": 5,
        "threads": 1,
    }
    paths = {}
    for name in ("killed", "clean"):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps({**spec, "root": str(tmp_path / name)}))
    cmd = [sys.executable, "-m", "helpers.icot.train"]
    proc = subprocess.Popen(cmd + [str(paths["killed"])], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    state_file = checkpoint_folder(tmp_path / "killed", cfg).parent
    deadline, killed_at = time.time() + 240, None
    while time.time() < deadline:
        states = list(state_file.glob("*/last/trainer_state.json"))
        if states:
            step = json.loads(states[0].read_text())["step"]
            if step >= 10:
                proc.send_signal(signal.SIGKILL)
                killed_at = step
                break
        if proc.poll() is not None:
            pytest.fail("training finished before it could be killed")
        time.sleep(0.02)
    proc.wait()
    assert killed_at is not None and killed_at < 60, "the kill should land mid-run"
    resumed = json.loads(
        subprocess.run(cmd + [str(paths["killed"])], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    clean = json.loads(
        subprocess.run(cmd + [str(paths["clean"])], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    assert resumed["steps"] == clean["steps"] == 60
    last_segment = resumed["segments"][-1]
    assert last_segment[1] == 60 and last_segment[0] >= killed_at, "the rerun starts from the checkpoint"
    wa = torch.load(Path(resumed["folder"]) / "last" / "train_state.pt", weights_only=False)["model"]
    wb = torch.load(Path(clean["folder"]) / "last" / "train_state.pt", weights_only=False)["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa), "resuming reproduces the uninterrupted run"


def test_summary_and_headline_task():
    recs = [{"correct": c, "n_generated": 10, "n_cot_tokens": 0} for c in [True] * 3 + [False]]
    s = evaluate.summarize(recs)
    assert s["accuracy"] == 0.75 and s["ci_low"] < 0.75 < s["ci_high"] and s["tokens_per_answer"] == 10
    assert evaluate.summarize([])["accuracy"] is None
    assert evaluate.headline_task(["mult:4", "mult:9", "gsm8k"]) == "mult:9"
    assert evaluate.headline_task(["gsm8k"]) == "gsm8k"


def test_gsm8k_task_from_one_local_file_is_cut_into_splits(tmp_path):
    path = tmp_path / "gsm.jsonl"
    path.write_text(
        "\n".join(json.dumps({"question": f"Q{i}?", "answer": f"<<{i}+1={i + 1}>> #### {i + 1}"}) for i in range(10))
    )
    s = data.load_task("gsm8k", n_train=0, n_valid=2, n_test=3, gsm8k_data=str(path))
    assert [e["input"] for e in s["test"]] == ["Q0?", "Q1?", "Q2?"] and len(s["valid"]) == 2 and len(s["train"]) == 5
    folder = tmp_path / "gsm8k"
    folder.mkdir()
    (folder / "train.jsonl").write_text(path.read_text())
    (folder / "test.txt").write_text("Q?||<<1+1=2>> #### 2\nR?||<<2+2=4>> #### 4\nS?||<<3+3=6>> #### 6\n")
    s = data.load_task("gsm8k", n_train=4, n_valid=1, n_test=2, gsm8k_data=str(folder))
    assert len(s["train"]) == 4 and len(s["valid"]) == 1 and [e["answer"] for e in s["test"]] == ["2", "4"]


def test_gsm8k_rehearsal_fixture_has_the_hub_schema(monkeypatch):
    from helpers.core import rehearsal

    monkeypatch.setenv(rehearsal.REHEARSAL_ENV, "1")
    s = data.load_task("gsm8k", n_train=0, n_valid=4, n_test=10, gsm8k_data="whynlp/gsm8k-aug")
    assert len(s["test"]) == 10 and len(s["valid"]) == 4 and s["train"]
    ex = s["test"][0]
    assert ex["cot"].startswith("<<") and ex["cot"].split("=")[-1].rstrip(">") == ex["answer"]


def test_findings_are_computed_from_the_numbers():
    def m(acc, tokens, speed):
        return {
            "accuracy": acc,
            "ci_low": max(acc - 0.05, 0),
            "ci_high": min(acc + 0.05, 1),
            "tokens_per_answer": tokens,
            "answers_per_s": speed,
        }

    per_task = {
        "mult:3": {
            "stepwise": m(0.4, 9, 90.0),
            "nocot": m(0.1, 9, 91.0),
            "cot": m(0.9, 33, 30.0),
            "a_only": 160,
            "b_only": 10,
            "p_value": 1e-30,
            "signal": "internalization beats no-CoT",
        }
    }
    f = evaluate.findings({"per_task": per_task, "headline_task": "mult:3", "init_from": "config:gpt2-tiny"})
    assert f["signal"] == "internalization beats no-CoT"
    assert "40%" in f["finding"] and "10%" in f["finding"] and "90%" in f["finding"] and "33 tokens" in f["finding"]
    assert len(f["findings"]) == 1 and "3.0x" in f["findings"][0]


def test_check_params_names_the_bad_parameter():
    from helpers.icot.checks import check_params

    good = {"tasks": ["mult:3"], "init_from": "config:gpt2-tiny", "task_overrides": {}, "keep_position": True}
    check_params(good)
    for change, message in [
        ({"tasks": ["mult:x"]}, "'tasks'"),
        ({"init_from": "config:gpt9"}, "'init_from'"),
        ({"init_from": "./no/such/model"}, "'init_from'"),
        ({"task_overrides": {"mult:3": {"learning_rat": 1}}}, "unknown training parameters"),
        ({"task_overrides": {"mult:4": {}}}, "not one of the tasks"),
        ({"tasks": ["mult:3", "gsm8k"]}, "'keep_position'"),
    ]:
        with pytest.raises(ValueError, match=message):
            check_params({**good, **change})
    check_params({**good, "tasks": ["gsm8k"], "task_overrides": {"gsm8k": {"keep_position": False}}})


def test_plots_have_titles_and_labels():
    from helpers.core.plotting import check_labels
    from helpers.icot import plots

    rows = [
        {"step": s, "valid_accuracy": s / 10, "valid_cot_tokens": 5 - s / 2, "mean_removed_tokens": s / 2}
        for s in range(1, 10)
    ]
    assert check_labels(plots.plot_training({"stepwise": rows, "nocot": rows, "cot": rows}, "mult:2")) == []
    table = [
        {"task": "mult:2", "method": m, "accuracy": 0.5, "ci_low": 0.4, "ci_high": 0.6}
        for m in ("cot", "nocot", "stepwise")
    ]
    assert check_labels(plots.plot_accuracy(table)) == []


def test_task_report_pairs_stepwise_with_nocot():
    def recs(pattern):
        return [{"id": str(i), "correct": c, "n_generated": 9, "n_cot_tokens": 0} for i, c in enumerate(pattern)]

    report = evaluate.task_report(
        {"cot": recs([True] * 40), "nocot": recs([False] * 40), "stepwise": recs([True] * 30 + [False] * 10)},
        {"cot": 10.0, "nocot": 30.0, "stepwise": 30.0},
    )
    assert report["stepwise"]["accuracy"] == 0.75 and report["a_only"] == 30 and report["b_only"] == 0
    assert report["signal"] == "internalization beats no-CoT"
    rows = evaluate.table_rows({"mult:2": report})
    assert [(r["method"], r["inference"]) for r in rows] == [
        ("cot", "explicit CoT"),
        ("nocot", "no CoT"),
        ("stepwise", "no CoT"),
    ]
    assert rows[0]["answers_per_s"] == 10.0


def test_decode_settings():
    from helpers.icot.model import decode_settings

    ex = data.multiplication_splits(2, 20, 0, 0)["train"]
    tok = CharTokenizer.fit(t for e in ex for t in (e["input"], e["cot"], e["answer"]))
    assert decode_settings(tok, "cot", True, ex) == (0, int(1.5 * (8 + 5)) + 8)  # CoT 8 tokens, "#### a b c d" 5
    assert decode_settings(tok, "nocot", True, ex)[0] == 8 and decode_settings(tok, "stepwise", False, ex)[0] == 0
