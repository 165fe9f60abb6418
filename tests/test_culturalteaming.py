"""CulturalTeaming core (helpers.culturalteaming): hostile input refused, the append-only log, the session state
machine and its resumption, verifier parsing, hints, the target panel, replay and the CulturalBench round trip."""

from __future__ import annotations

import json
import math

import pytest

from helpers.culturalteaming import analysis, export, findings, hints, replay, targets, verifier
from helpers.culturalteaming.log import EventLog, SessionLogError
from helpers.culturalteaming.session import Session
from helpers.culturalteaming.validate import InputError, check_draft, check_survey, escape

OPTS = ["Take off their shoes", "Bow to the door", "Ring a bell", "Wash their hands"]
SURVEY = {"familiarity": 5, "commonness": 4, "usability": 4, "creativity": 3}


class FixedAnswerer:
    """A test double of a verifier/target: always the same probabilities (or a failure)."""

    def __init__(self, probs=(0.7, 0.1, 0.1, 0.1), name="fixed", fail=False):
        self.probs, self.name, self.fail = list(probs), name, fail
        self.calls = self.failures = self.unparsed = 0

    def answer(self, d):
        self.calls += 1
        if self.fail:
            self.failures += 1
            return {"failed": True, "reason": "the endpoint call failed"}
        return verifier.result(self.probs, "fixed")


def draft(**kw):
    args = dict(culture="Japan", question="What do people do before entering a home?", options=OPTS, answer="A")
    args.update(kw)
    return check_draft(**args)


# ----------------------------------------------------------------------------------- hostile input
@pytest.mark.parametrize(
    "kw, message",
    [
        ({"question": "   "}, "the question is empty"),
        ({"question": "x" * 601}, "601 characters long: keep it to 600"),
        ({"options": OPTS[:3]}, "exactly four options"),
        ({"options": [OPTS[0], OPTS[1], OPTS[2], " take off THEIR shoes."]}, "options A and D are the same"),
        ({"options": [OPTS[0], "", OPTS[2], OPTS[3]]}, "the option B is empty"),
        ({"answer": None}, "no correct option is marked"),
        ({"answer": "E"}, "one of A, B, C, D"),
        ({"question": "Which? <script>alert(1)</script>"}, "contains markup"),
        ({"options": [OPTS[0], '<img src=x onerror="alert(1)">', OPTS[2], OPTS[3]]}, "option B contains markup"),
        ({"scenario": "see javascript:alert(1)"}, "scenario contains markup"),
        ({"culture": "<b>Japan</b>"}, "culture contains markup"),
        ({"question": "Why\x00?"}, "control characters"),
    ],
)
def test_hostile_drafts_are_refused_with_a_clear_message(kw, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(".", r"\.")):
        draft(**kw)


def test_valid_draft_and_escaping():
    d = draft(answer="c", scenario="At a friend's home & family.")
    assert d.answer == 2 and d.prompt_question.startswith("At a friend's home & family. What")
    assert escape("<b>\"x\" & 'y'</b>") == "&lt;b&gt;&quot;x&quot; &amp; &#x27;y&#x27;&lt;/b&gt;"
    assert check_draft(**d.to_dict()) == d  # a stored draft validates again
    with pytest.raises(InputError, match="'usability' needs a whole number from 1 to 5"):
        check_survey({**SURVEY, "usability": 9})


# ----------------------------------------------------------------------------------- the log
def test_log_appends_whole_lines_and_refuses_a_concurrent_writer(tmp_path):
    log = EventLog(tmp_path / "s.jsonl")
    assert log.append("start", x=1)["seq"] == 0 and log.append("draft", expect_seq=1)["seq"] == 1
    with pytest.raises(SessionLogError, match="changed elsewhere"):
        log.append("verify", expect_seq=1)  # a second tab that did not see event 1
    assert [e["kind"] for e in log.read()] == ["start", "draft"]


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda raw: raw.replace(b'"kind": "draft"', b'"kind": "draft', 1), "line 2 is not valid JSON"),
        (lambda raw: raw + b'{"seq": 3, "kind": "verify"', "is cut off"),
        (lambda raw: raw + b'{"seq": 7, "kind": "verify"}\n', "line 4 is not event number 3"),
    ],
)
def test_a_corrupted_log_is_refused_and_left_untouched(tmp_path, damage, message):
    s = Session.create(tmp_path, "s1", "Japan", "verifier-only")
    s.submit("What do people do before entering a home?", OPTS, "A")
    s.verify(FixedAnswerer())
    raw = damage(s.log.path.read_bytes())
    s.log.path.write_bytes(raw)
    with pytest.raises(SessionLogError, match=message):
        Session.open(tmp_path, "s1")
    with pytest.raises(SessionLogError, match=message):  # nor can anything be appended to it
        s.finalize()
    assert s.log.path.read_bytes() == raw  # nothing lost, nothing rewritten
    sessions, problems = replay.load_sessions(tmp_path)
    assert sessions == [] and problems[0]["session"] == "s1" and message.split()[0] in problems[0]["message"]


# ----------------------------------------------------------------------------------- the session
def test_a_whole_session_is_logged_and_resumes_after_a_kill(tmp_path):
    s = Session.create(tmp_path, "kr-1", "South Korea", "ai-assisted", annotator="ana")
    s.submit("What do people eat on their birthday?", ["Seaweed soup", "Rice cake soup", "Kimchi stew", "Noodles"], 0)
    v1 = s.verify(FixedAnswerer())
    assert v1["pred"] == 0 and not v1["fooled"] and math.isclose(sum(v1["probs"]), 1)
    assert s.verify(FixedAnswerer()) is v1  # the same draft is not verified twice
    h = s.hint(hints.Hinter())
    assert h["strategy"] == "negate" and "opposite" in h["text"]
    s = Session.open(tmp_path, "kr-1")  # the kernel died: everything is back
    assert s.state == "verified" and len(s.hints) == 1 and s.draft.options[0] == "Seaweed soup"
    s.submit(
        "Which food do people avoid before an exam?", ["Seaweed soup", "Sticky taffy", "Rice cake", "Bananas"], "A"
    )
    assert s.state == "draft" and s.revisions == 1
    v2 = s.verify(FixedAnswerer((0.1, 0.6, 0.2, 0.1)))
    assert v2["fooled"] and v2["pred"] == 1
    t = s.check_targets(targets.TargetPanel([FixedAnswerer((0.1, 0.6, 0.2, 0.1), name="m")], k=1))
    assert t["answers"][0] == {"target": "m", "pred": 1, "correct": False, "confidence": 0.6, "failed": False}
    assert t["wrong"] >= 1 and t["challenging"] and t["n_targets"] == 3
    s.finalize()
    s.survey({**SURVEY, "comment": "fun"})
    kinds = [e["kind"] for e in EventLog(s.log.path).read()]
    assert kinds == ["start", "draft", "verify", "hint", "draft", "verify", "targets", "finalize", "survey"]
    again = Session.open(tmp_path, "kr-1")
    assert (
        again.state == "done"
        and again.final["question"].startswith("Which food")
        and again.survey_answers["comment"] == "fun"
    )


def test_steps_out_of_order_are_refused_and_nothing_is_written(tmp_path):
    s = Session.create(tmp_path, "s", "Japan", "verifier-only")
    with pytest.raises(InputError, match="write a question first"):
        s.verify(FixedAnswerer())
    s.submit("What do people do before entering a home?", OPTS, "A")
    for step, message in [
        (s.finalize, "verify the current draft first"),
        (lambda: s.survey(SURVEY), "finalize the"),
        (lambda: s.hint(hints.Hinter()), "this session is verifier-only"),
        (lambda: s.check_targets(targets.TargetPanel([], k=1)), "verify the current draft first"),
        (lambda: s.submit("What do people do before entering a home?", OPTS, "A"), "identical"),
    ]:
        with pytest.raises(InputError, match=message):
            step()
    with pytest.raises(InputError, match="could not answer"):
        s.verify(FixedAnswerer(fail=True))
    assert s.verify_failures == 1 and s.state == "draft"
    s.verify(FixedAnswerer())
    s.finalize()
    with pytest.raises(InputError, match="finalized"):
        s.submit("Another question about homes?", OPTS, "B")
    assert [e["kind"] for e in s.log.read()] == ["start", "draft", "verify_failed", "verify", "finalize"]
    with pytest.raises(InputError, match="already exists"):
        Session.create(tmp_path, "s", "Japan", "verifier-only")
    with pytest.raises(SessionLogError, match="session id"):
        Session.create(tmp_path, "../evil", "Japan", "verifier-only")


# ----------------------------------------------------------------------------------- verifier
@pytest.mark.parametrize(
    "text, pred, how",
    [
        ('{"probabilities": {"A": 0.1, "B": 0.6, "C": 0.2, "D": 0.1}}', 1, "json probabilities"),
        ('Sure! {"A": "10%", "B": "20%", "C": "60%"}', 2, "json probabilities"),
        ('{"answer": "d", "confidence": 0.9}', 3, "json answer + confidence"),
        ("The answer is C.", 2, "letter only"),
    ],
)
def test_verifier_reads_probabilities_robustly(text, pred, how):
    probs, got = verifier.parse_probabilities(text)
    assert got == how and max(range(4), key=lambda k: probs[k]) == pred and math.isclose(sum(probs), 1)


def test_endpoint_verifier_counts_failures_and_unreadable_replies():
    class FakeJudge:
        name = "fake@endpoint"
        last_failed: list = []

        def complete(self, prompts, desc=""):
            self.last_failed = [False, True, False]
            return ['{"answer": "B", "confidence": 0.7}', "", "I would say A or B"]

    v = verifier.EndpointVerifier(FakeJudge())
    out = v.answer_many([draft()] * 3)
    assert out[0]["pred"] == 1 and out[1]["failed"] and out[2]["failed"] and "unreadable" in out[2]["reason"]
    assert (v.calls, v.failures, v.unparsed) == (3, 1, 1)


@pytest.fixture()
def tiny_scorer(tiny_model_dir):
    from helpers.core.logprobs import LogProbScorer

    return LogProbScorer(tiny_model_dir, backend="hf", device="cpu")


def test_local_verifier_is_a_softmax_over_the_option_letters(tiny_scorer):
    from helpers.core.logprobs import choice_logprobs

    d = draft()
    res = verifier.LocalVerifier(tiny_scorer, name="tiny").answer(d)
    sums = choice_logprobs(tiny_scorer, [verifier.mc_prompt(d)], [" A", " B", " C", " D"])[0]
    assert res["probs"] == pytest.approx(verifier.softmax(sums)) and math.isclose(sum(res["probs"]), 1)
    assert res["pred"] == max(range(4), key=lambda k: sums[k])


# ----------------------------------------------------------------------------------- hints and targets
def test_llm_hints_are_parsed_validated_and_failures_counted():
    d = draft()
    hint, rewrite, why = hints.parse_llm_hint(
        '{"hint": "Ask what is NOT done", "question": "Which is NOT done?", '
        '"options": ["a", "b", "c", "d"], "answer": "B"}',
        d,
    )
    assert hint == "Ask what is NOT done" and rewrite["answer"] == 1 and why == "ok"
    hint, rewrite, why = hints.parse_llm_hint('{"hint": "Use a neighbouring culture as a distra', d)
    assert hint.startswith("Use a neighbouring") and rewrite is None
    hint, rewrite, why = hints.parse_llm_hint('{"hint": "A", "question": "Q?", "options": ["a", "a", "b", "c"]}', d)
    assert hint is None and rewrite is None and "rewrite refused" in why

    class Broken:
        name, base_url, last_failed = "broken", "http://x", [True]

        def complete(self, prompts, desc="", prefill=""):
            return [""]

    h = hints.Hinter(Broken())
    out = h.hint(d, {"fooled": False, "confidence": 0.9})
    assert out["text"] and out["llm_status"] == "the call failed" and (h.llm_calls, h.llm_failures) == (1, 1)
    assert (
        hints.pick_strategy(d, None, 0) == "stereotype" and hints.pick_strategy(d, {"confidence": 0.9}, 0) == "negate"
    )


def test_target_panel_baselines_and_threshold():
    d = check_draft(
        "Mexico", "Which dish is eaten at Mexican birthdays?", ["Sushi", "Fondue", "Mexican tamales", "Haggis"], "C"
    )
    emb = targets.EmbeddingBaseline().answer(d)
    assert emb["pred"] == 2  # the option naming the culture is nearest its name
    r = targets.RandomBaseline(seed=3)
    assert r.answer(d) == r.answer(d)
    panel = targets.TargetPanel([FixedAnswerer(name="a"), FixedAnswerer((0, 0, 1, 0), name="b")], k=2)
    res = panel.check(d)
    assert [a["target"] for a in res["answers"]] == ["a", "b", "random", "embedding"]
    assert res["wrong"] == 1 + (res["answers"][2]["pred"] != 2) and res["challenging"] == (res["wrong"] >= 2)
    with pytest.raises(ValueError, match="between 1 and the 4 targets"):
        targets.TargetPanel([FixedAnswerer(name="a"), FixedAnswerer(name="b")], k=5)


# ----------------------------------------------------------------------------------- replay, export, analysis
SCRIPT = "builtin:culturalteaming_sessions.yaml"


def test_script_errors_are_clear(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("sessions:\n  - {id: a, culture: Japan, assistance: verifier-only, events: [draft, jump]}\n")
    with pytest.raises(Exception, match="'jump' is not one of draft, verify"):
        replay.load_script(str(bad))
    bad.write_text("sessions:\n  - {id: a, culture: Japan, assistance: sometimes, events: []}\n")
    with pytest.raises(Exception, match="assistance must be one of"):
        replay.load_script(str(bad))
    with pytest.raises(ValueError, match="parameter 'challenge_k'"):
        replay.check_params({"sessions_file": SCRIPT, "target_models": ["m"], "challenge_k": 4})


def test_replay_resumes_and_export_loads_back_through_07s_loader(tmp_path):
    from helpers.core.data import load_records
    from helpers.culturegen.cbdata import load_culturalbench, normalize_hard

    scripts = replay.load_script(SCRIPT)
    assert len({s["culture"] for s in scripts}) >= 4 and {s["assistance"] for s in scripts} == {
        "verifier-only",
        "ai-assisted",
    }
    v, panel = FixedAnswerer(), targets.TargetPanel([FixedAnswerer(name="t")], k=2)
    half = {**scripts[1], "events": scripts[1]["events"][:3]}  # killed after three steps
    replay.replay(half, tmp_path / "logs", v, panel, hints.Hinter())
    sessions, problems = replay.replay_all(scripts, tmp_path / "logs", v, panel, hints.Hinter())
    assert problems == [] and all(s.state == "done" for s in sessions)
    steps = [e.get("step") for e in sessions[1].events]
    assert steps[1:] == list(range(len(scripts[1]["events"])))  # each step logged once, in order
    paths = export.export(sessions, tmp_path / "export")
    easy, hard = load_culturalbench(str(paths["easy"]))
    hub_hard = [normalize_hard(r, i) for i, r in enumerate(load_records(str(paths["hard"])))]
    qs = export.finalized(sessions)
    assert [(q["question"], q["options"], q["answer"], q["country"]) for q in easy] == [
        (q["draft"].prompt_question, list(q["draft"].options), q["draft"].answer, q["culture"]) for q in qs
    ]
    assert [(h["qid"], h["option"], h["label"]) for h in hub_hard] == [
        (h["qid"], h["option"], h["label"]) for h in hard
    ]
    assert all(q["region"] != "unmapped" for q in easy)
    rec = json.loads(paths["easy"].read_text().splitlines()[0])
    assert set(rec) == {
        "data_idx",
        "question_idx",
        "prompt_question",
        "prompt_option_a",
        "prompt_option_b",
        "prompt_option_c",
        "prompt_option_d",
        "answer",
        "country",
        "session_id",
    }


def test_analysis_tables_and_the_signal(tmp_path):
    scripts = replay.load_script(SCRIPT)
    fooling = FixedAnswerer((0.1, 0.1, 0.1, 0.7), name="m")  # every scripted answer is A/C/D: mostly wrong
    sessions, _ = replay.replay_all(scripts, tmp_path, fooling, targets.TargetPanel([fooling], k=1), hints.Hinter())
    table = analysis.question_table(sessions)
    assert len(table) == len(scripts) and set(table.assistance) == {"verifier-only", "ai-assisted"}
    assert (table.revisions >= 1).all() and table.targets_wrong.between(0, 3).all()
    comp = analysis.compare_levels(table, rounds=200).set_index("metric").to_dict("index")
    row = comp["targets_wrong"]
    assert row["diff_low"] <= row["difference"] <= row["diff_high"]
    assert row["vo_low"] <= row["vo_mean"] <= row["vo_high"]
    assert findings.assistance_signal(comp) in findings.SIGNALS[:3]
    rows = analysis.target_rows(sessions, {"Japan": "East-Asian"})
    acc = analysis.accuracy_by(rows, "target")
    assert list(acc.target) == ["embedding", "m", "random"] and (acc.n == len(scripts)).all()
    assert findings.assistance_signal({"targets_wrong": {**row, "vo_n": 1}}) == "too few sessions to tell"
