"""Particip-AI (12): the synthetic data's truths are recovered, agreement is computed right on hand examples, the
release loaders read a tiny stand-in in the release's schema (written here) and refuse malformed ones in one line."""

import json
import math
import subprocess
import sys

import pandas as pd
import pytest

from helpers.core.challenges import challenge_map
from helpers.participai import agreement as ag
from helpers.participai import analysis as an
from helpers.participai import coding as co
from helpers.participai import findings as fi
from helpers.participai import offline_data as od
from helpers.participai.release import ReleaseError, check_release, load_release


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic")
    truth = od.write_release(folder, n=2000, seed=3)
    return load_release(str(folder)), truth


def _detail(fit, fit_c, rows) -> dict:
    """``findings``' keyword arguments for a synthetic run."""
    verdict = fi.decision_verdict(fit)
    return dict(fit=fit, fit_controls=fit_c, verdict=verdict, agreement_rows=rows, data_source="synthetic")


def test_regression_recovers_the_known_coefficients_within_their_cis(big):
    rel, truth = big
    frame = an.survey_frame(rel.responses)
    fit = an.logistic(frame, an.RATING_TERMS + an.CONTROL_TERMS)
    t = fit["table"].set_index("term")
    assert fit["n"] == 2000 and fit["dropped"] == 0
    for term, coef in truth["coefficients"].items():
        assert t.loc[term, "ci_low"] <= coef <= t.loc[term, "ci_high"], (term, coef, t.loc[term].to_dict())
    for term in ("genai_use", "age", "woman", "college", "conservative"):  # no effect in the generator
        assert t.loc[term, "ci_low"] <= 0 <= t.loc[term, "ci_high"], term
    assert t.loc["literacy", "odds_ratio"] == pytest.approx(math.exp(t.loc["literacy", "coef"]))
    assert fi.truth_check(fit, rel.truth) == {k: True for k in truth["coefficients"]}
    assert fi.truth_check(fit, {"coefficients": {"benefit": 5.0}}) == {"benefit": False}
    base = an.logistic(frame, an.RATING_TERMS)
    assert fi.decision_verdict(base)["signal"] == "reproduced"  # Q19, Q22 strongest, Q13 and Q16 null by construction
    assert 0.75 < an.share(frame.develop)["share"] < 0.88


def test_verdict_reads_the_table_not_the_paper():
    def fit(coefs, ps):
        rows = [{"term": k, "coef": c, "p": p, "sd": 2.0} for (k, c), p in zip(coefs.items(), ps)]
        return {"n": 300, "error": None, "terms": list(coefs), "table": pd.DataFrame(rows)}

    terms = ["benefit", "misuse_harm", "failure_harm", "not_developing_harm", "not_developing_benefit"]
    paper = fit(dict(zip(terms, [0.1, 0.0, 0.0, 0.5, -0.5])), [0.04, 0.6, 0.7, 1e-6, 1e-6])
    assert fi.decision_verdict(paper)["signal"] == "reproduced"
    harms_drive = fit(dict(zip(terms, [0.1, -0.6, -0.5, 0.05, 0.0])), [0.04, 1e-6, 1e-5, 0.5, 0.9])
    assert fi.decision_verdict(harms_drive)["signal"] == "not reproduced"
    both = fit(dict(zip(terms, [0.1, -0.6, 0.0, 0.5, -0.5])), [0.04, 1e-6, 0.7, 1e-6, 1e-6])
    v = fi.decision_verdict(both)
    assert v["signal"] == "partly reproduced" and v["checks"]["harms_not_significant"] is False
    assert fi.decision_verdict({"n": 10, "error": None, "terms": terms, "table": None})["signal"] == "too small to tell"


def test_agreement_on_hand_examples():
    human = {"a": ["x"], "b": ["x", "y"], "c": [], "d": ["z"]}
    model = {"a": ["x"], "b": ["y", "z"], "c": [], "e": ["x"]}  # d and e are not shared: left out
    pairs = [({"x"}, {"x"}), ({"x", "y"}, {"y", "z"}), (set(), set())]
    assert ag.micro_f1(pairs) == pytest.approx(4 / 6)  # TP 2 (a:x, b:y), FP 1 (b:z), FN 1 (b:x)
    assert ag.jaccard(pairs) == pytest.approx((1 + 1 / 3 + 1) / 3)  # both empty counts as full agreement
    per = ag.per_code_f1(pairs, ["x", "y", "z", "w"])
    assert per["x"] == {"f1": pytest.approx(2 / 3), "support": 2, "predicted": 1} and "w" not in per
    assert per["z"]["f1"] == 0
    # Krippendorff's nominal alpha, two coders, units 1..4 valued (1,1), (1,0), (0,0), (0,0):
    # o_10 = o_01 = 1, n = 8, n_1 = 3, n_0 = 5: alpha = 1 - (n - 1) * 2 / (2 * n_0 * n_1) = 1 - 14 / 30
    assert ag.krippendorff_alpha([({"x"}, {"x"}), ({"y"}, set())], ["x", "y"]) == pytest.approx(8 / 15)
    assert ag.krippendorff_alpha([(set(), set())], ["x"]) is None  # one value only: undefined
    a = ag.agreement(human, model, ["x", "y", "z"], rounds=200)
    assert a["n"] == 3 and a["micro_f1"] == pytest.approx(4 / 6)
    assert a["micro_f1_ci"][0] <= a["micro_f1"] <= a["micro_f1_ci"][1]
    assert a["majority_code"] == "x" and a["majority_f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))  # x for all
    assert ag.agreement({"a": ["x"]}, {"b": ["x"]}, ["x"])["n"] == 0
    assert ag.to_themes({"a": ["x", "y", "q"]}, {"x": "T", "y": "T"}) == {"a": ["T", "q"]}
    table = ag.per_code_table({"Q1": a}, {"Q1": {"x": "theme X"}})
    assert list(table.code) == ["x", "y", "z"] and table.theme.tolist() == ["theme X", "", ""]  # by support


def test_generator_writes_its_truths(tmp_path):
    truth = od.write_release(tmp_path, n=120, seed=5, n_human=30, drop_rate=0.0, add_rate=0.0)
    rel = load_release(str(tmp_path))
    assert rel.synthetic and len(rel.responses) == 120
    assert set(rel.human_codes) == {"Q7_4", "Q11_4", "Q14_4", "Q12", "Q17_4"}
    for qid, coded in rel.human_codes.items():
        assert len(coded) == 30 and all(coded[r] == truth["codes"][qid][r] for r in coded)
    assert rel.llm_codes["Q11_4"] == truth["codes"]["Q11_4"]  # no noise asked: the "paper LLM" codes are the truth
    assert (
        ag.agreement(rel.human_codes["Q11_4"], rel.llm_codes["Q11_4"], list(rel.codebooks["harms"].codes), rounds=20)[
            "micro_f1"
        ]
        == 1.0
    )


def _write_standin(root):
    """A tiny folder in the public release's schema (file names, columns, JSON shapes), every row written here."""
    data = root / "data"
    (data / "codes" / "harms-coding").mkdir(parents=True)
    for sub in ("coding_results", "human_annotations", "themes"):
        (data / sub).mkdir()
    (root / "questions.json").write_text(json.dumps({"Q1": "Q1. Should it exist?", "Q23": "Q23. Develop?"}))
    cols = ["ResponseIdHash", "Q1", "Q4", "Q11_4", "Q10_1", "Q13_1", "Q16_1", "Q19_1", "Q22_1", "Q23"]
    rows = [
        ["h1", "Yes", "Yes", "steal {money} from people", 8, 2, 3, 7, 1, "should be developed"],
        ["h2", "No", "Yes", "nothing bad", 2, 6, 7, 1, 6, "should not be developed"],
    ]
    pd.DataFrame(rows, columns=cols).to_csv(data / "raw_data.csv", index=False)
    harms = data / "codes" / "harms-coding"
    (harms / "code-def-0101v1.json").write_text(json.dumps({"crime": "helps crime", "no-harm": "no harm", "na": "n/a"}))
    (harms / "q11_4-prompt-template-0101v1.json").write_text(
        json.dumps({"system": "Code answers.", "user": 'Codes:\n{}\n\nAnswer: "{}"'})
    )
    (harms / "q11_4-fewshot-0101v1.json").write_text(
        json.dumps(
            [
                {"role": "user", "content": 'Codes: ... Answer: "rob a bank"'},
                {"role": "assistant", "content": '{"crime": true}'},
            ]
        )
    )
    (data / "coding_results" / "Q11_4_codes_merged_0101v1.csv").write_text(
        "ResponseIdHash,Q11_4,code1,code2\nh1,steal,crime,\nh2,nothing bad,no-harm,\n"
    )
    (data / "human_annotations" / "Q11_4.csv").write_text(
        "ResponseIdHash,Q11_4,code1,code2\nh1,steal,crime,na\nh2,x,no-harm,\n"
    )
    (data / "themes" / "Q11-14-themes-0101v1.json").write_text(json.dumps({"crime": "security", "no-harm": "other"}))
    return root


def test_loaders_read_the_release_schema(tmp_path):
    rel = load_release(str(_write_standin(tmp_path / "Particip-AI")))
    assert not rel.synthetic and list(rel.responses.ResponseIdHash) == ["h1", "h2"]
    book = rel.codebook_for("Q11_4")
    assert book.name == "harms" and book.questions == ["Q11_4", "Q11_5", "Q14_4", "Q14_5"]
    assert book.fewshot_for("Q11_4")[1]["content"] == '{"crime": true}' and book.fewshot_for("Q14_4") == []
    assert rel.llm_codes["Q11_4"] == {"h1": ["crime"], "h2": ["no-harm"]}
    assert rel.human_codes["Q11_4"] == {"h1": ["crime", "na"], "h2": ["no-harm"]}
    assert rel.themes["Q11_4"]["crime"] == "security" and rel.codes("Q12") == ({}, "no")
    assert load_release(str(tmp_path / "Particip-AI" / "data")).root == rel.root  # the data/ folder works too
    msgs = co.code_prompt(book, "Q11_4", rel.answers["Q11_4"]["h1"], n_fewshot=1)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert "crime: helps crime" in msgs[-1]["content"] and "steal {money} from people" in msgs[-1]["content"]
    items = co.coding_items(rel, ["Q11_4"], n_per_question=1)
    assert [(it["qid"], it["rid"], it["text"]) for it in items] == [("Q11_4", "h1", "steal {money} from people")]
    assert items[0]["id"].startswith("Q11_4|h1|")
    fp = co.codebook_fingerprint(rel, ["Q11_4"])
    book.codes["crime"] = "helps crime (edited)"
    assert co.codebook_fingerprint(rel, ["Q11_4"]) != fp  # an edited codebook keys a new coding store
    frame = an.survey_frame(rel.responses)
    assert list(frame.develop) == [1.0, 0.0] and frame.literacy.isna().all()  # no literacy items in this stand-in


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda r: (r / "data" / "raw_data.csv").write_text("ResponseIdHash,Q1\nh1,Yes\n"), "lacks the columns"),
        (
            lambda r: (r / "data" / "human_annotations" / "Q11_4.csv").rename(
                r / "data" / "human_annotations" / "Q12.csv"
            ),
            "no human_annotations/Q11_4.csv",
        ),
        (lambda r: (r / "data" / "human_annotations" / "Q11_4.csv").unlink(), "holds no <question>.csv files"),
        (
            lambda r: (r / "data" / "codes" / "harms-coding" / "code-def-0101v1.json").write_text("{oops"),
            "not readable JSON",
        ),
        (
            lambda r: (r / "data" / "codes" / "harms-coding" / "q11_4-prompt-template-0101v1.json").write_text(
                '{"user": "x"}'
            ),
            "two {} slots",
        ),
        (lambda r: (r / "questions.json").unlink(), "has no questions.json"),
    ],
)
def test_malformed_release_is_one_line(tmp_path, breakage, message):
    root = _write_standin(tmp_path / "rel")
    breakage(root)
    with pytest.raises(ReleaseError, match=message.replace("{", r"\{").replace("}", r"\}")) as exc:
        check_release(str(root), ["Q11_4"])
    assert "\n" not in str(exc.value)
    with pytest.raises(ReleaseError, match="not found"):
        check_release(str(tmp_path / "absent"), ["Q11_4"])


def test_runner_refuses_a_missing_release_before_compute(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "helpers.run",
            "12_participai",
            "-p",
            f"release_dir={tmp_path / 'none'}",
            "--outputs",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "release folder" in out.stderr
    assert not (tmp_path / "out" / "12_participai").exists()


class FakeJudge:
    _gen = None  # an endpoint: no prefill

    def __init__(self, replies):
        self.replies, self.last_failed = replies, []

    def complete(self, prompts, desc="", prefill=""):
        self.last_failed = [r is None for r in self.replies[: len(prompts)]]
        return [r or "" for r in self.replies[: len(prompts)]]


def test_judge_coder_counts_parse_failures_and_retries_endpoint_errors(tmp_path):
    rel = load_release(str(_write_standin(tmp_path / "rel")))
    items = co.coding_items(rel, ["Q11_4"])
    records = co.judge_coder(FakeJudge(['Sure! {"crime": true, "made-up": true}', None]), rel, 0, 4)(items)
    assert records[0]["codes"] == ["crime"] and not records[0]["parse_failed"]
    assert records[1]["codes"] == [] and not records[1]["parse_failed"] and records[1][co.RETRY]
    records = co.judge_coder(FakeJudge(["no json here", '{"unknown": true}']), rel, 0, 4)(items)
    assert co.parse_failures(records) == 2
    assert co.pick_codes({"a": -1.0, "b": -1.5, "c": -3.0, "d": -1.2}, margin=1.0, max_codes=2) == ["a", "d"]
    assert co.parse_codes('{"crime": false, "no-harm": true}', ["crime", "no-harm"]) == ["no-harm"]


def test_run_metrics_write_the_keys_the_challenge_map_names(big):
    rel, _ = big
    frame = an.survey_frame(rel.responses)
    fit, fit_c = an.logistic(frame, an.RATING_TERMS), an.logistic(frame, an.RATING_TERMS + an.CONTROL_TERMS)
    a = ag.agreement(rel.human_codes["Q11_4"], rel.llm_codes["Q11_4"], list(rel.codebooks["harms"].codes), rounds=20)
    rows = [dict(question="Q11_4", coder="logprobs:m", **a), dict(question="Q11_4", coder="release LLM codes", **a)]
    m = fi.run_metrics(
        "synthetic",
        len(frame),
        an.share(frame.develop),
        fit,
        fit_c,
        fi.decision_verdict(fit),
        rows,
        "logprobs:m",
        80,
        0,
    )
    assert {k for e in challenge_map()["12_participai"] for k in e["metrics"]} <= set(m)
    assert (
        set(m["headline"]) <= set(m)
        and m["ratings_not_developing_harm_or"] > 1 > m["ratings_not_developing_benefit_or"]
    )
    m.update(fi.findings(m, **_detail(fit, fit_c, rows)))
    assert m["signal"] in fi.SIGNALS and "reproduced" in m["finding"] and len(m["findings"]) >= 8
    assert not any("could not be parsed" in s for s in m["findings"])
    m.update(coding_parse_failures=3, records_to_retry=2)
    lines = fi.findings(m, **_detail(fit, fit_c, rows))["findings"]
    assert "3 of 80 coder replies could not be parsed" in " ".join(lines) and "retry (endpoint errors) 2" in lines[-1]


def test_instrument_is_the_release_schema_and_the_form_records_it():
    from helpers.participai import instrument as ins

    inst = ins.load_instrument()
    ids = ins.question_ids(inst)
    assert len(ids) == 53 and ids[:3] == ["Q1", "Q2", "Q3"] and ids[-1] == "D-Q12"  # raw_data.csv after ResponseIdHash
    assert ins.scale_index("Very Rarely(I have used it a few times before.)", inst["scales"]["genai_use"]) == 1
    assert (
        ins.scale_index("Bachelor's degree", inst["scales"]["education"]) == 3 and ins.scale_index("x", ["y"]) is None
    )
    md = ins.instrument_markdown(inst)
    assert "| Q19_1 |" in md and "0-8" in md and "(reverse-scored)" in md
    got = []
    form = ins.form(inst, got.append)
    form.children[-1].click()  # Submit
    assert list(got[0]) == ["ResponseIdHash", *ids] and got[0]["Q10_1"] == 4


def test_codebook_entries_have_exactly_their_fields():
    from helpers.participai.instrument import load_codebooks

    for book, spec in load_codebooks().items():
        for code, entry in spec["codes"].items():  # a comma in a flow mapping would split a definition
            assert set(entry) == {"theme", "definition", "phrases"} and len(entry["phrases"]) == 3, (book, code)
