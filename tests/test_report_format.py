"""The one JSON writer and the one JUnit writer (specs/_report_format.py) and the report schema
(specs/report.schema.json): the reports of a real suite run and a real gate run validate, a report
broken in each important respect is refused, and the JUnit files (read with junitparser, a reader
apart from the writer) carry the counts their JSON report says."""
from __future__ import annotations

import asyncio
import copy
import io
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest
import yaml
from junitparser import Failure, JUnitXml, Properties, Skipped, TestCase

from drive import MockProcess
from fixtures._selftest import run_suite
from mocks._gate import gate
from mocks._gate_result import write_reports
from specs import SPECS_DIR_ENV, JUnitCase, JUnitSuite, load_all, report_validator, write_json, write_junit
from specs._report_format import REPORT_KINDS, REPORT_SCHEMA_PATH
from suites import Secret

SPECS = load_all()
# A spec with more key states than `valid` (so a live run given only the valid key skips cases) and
# no token exchange (so the valid key alone is a credential); any spec will do when none is.
SUITE_SPEC = next((s for s in SPECS if len(s.keys.states) > 1 and s.exchange is None), SPECS[0])
GATE_SPEC = SPECS[0]
# A client that sends one request without a credential (credential.header broken) and one with
# its key in the query string as well (key.not_in_url broken, and --allow'ed).
CLIENT = """
import os, sys, urllib.error, urllib.request
base, key = os.environ[sys.argv[1]], os.environ[sys.argv[2]]
method, path, header, value = sys.argv[3:7]
for target, headers in ((path, {}), (path + "?key=" + key, {header: value.replace("KEY", key)})):
    req = urllib.request.Request(base + target, data=b"{}" if method != "GET" else None, method=method,
                                 headers={"Content-Type": "application/json", **headers})
    try:
        urllib.request.urlopen(req, timeout=10).read()
    except urllib.error.HTTPError:
        pass
"""


# --- the writers -----------------------------------------------------------------------------------


def _props(case: TestCase) -> dict[str, str]:
    """A test case's <properties>, by name."""
    return {p.name: p.value for props in case.iterchildren(Properties) for p in props}


def _suite(*cases: JUnitCase, time: float | None = None) -> JUnitSuite:
    return JUnitSuite("s", cases, time=time)


def test_junit_counts_outcomes_and_texts_read_back_with_junitparser(tmp_path: Path) -> None:
    """tests/failures/skipped are counted from the cases; message, text, type, properties,
    system-out and times are where a JUnit reader looks for them."""
    path = write_junit(tmp_path / "j.xml", [_suite(
        JUnitCase("ok", "c", properties=(("verdict", "PASS"),), time=0.25),
        JUnitCase("bad", "c", "failure", "FAIL: why", "the long story", type="FAIL", time=0.5),
        JUnitCase("later", "c", "skipped", "no key given"),
        JUnitCase("noted", "c", system_out="NON-STRICT: lenient"),
    )])
    (suite,) = list(JUnitXml.fromfile(str(path)))
    assert (suite.name, suite.tests, suite.failures, suite.skipped, suite.errors) == ("s", 4, 1, 1, 0)
    assert suite.time == 0.75  # the cases' sum when the suite gives none
    ok, bad, later, noted = list(suite)
    assert ok.is_passed and ok.time == 0.25 and not ok.result
    assert _props(ok) == {"verdict": "PASS"}
    (failure,) = bad.result
    assert isinstance(failure, Failure) and (failure.message, failure.text, failure.type) == ("FAIL: why", "the long story", "FAIL")
    (skipped,) = later.result
    assert isinstance(skipped, Skipped) and skipped.message == "no key given"
    assert noted.is_passed and noted.system_out == "NON-STRICT: lenient"
    text = path.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="authconform">\n  <testsuite ')
    assert '<testsuite name="s" tests="4" failures="1" skipped="1" errors="0" time="0.750">' in text


def test_junit_redacts_every_text_and_stays_well_formed(tmp_path: Path) -> None:
    """The redact hook sees every attribute and text: the secret is gone, its placeholder (with
    `<` and `>`) is escaped, so the file still parses and reads back as the placeholder. Control
    characters XML 1.0 cannot carry are shown escaped instead of making the file unreadable."""
    secret = "sk_live_0123456789abcdef"

    def redact(text: str) -> str:
        return text.replace(secret, "<STRIPE_API_KEY>")

    path = write_junit(tmp_path / "j.xml", [JUnitSuite(f"p-{secret}", (
        JUnitCase(f"case {secret}", f"cls.{secret}", "failure", f"got {secret}", f"body {secret}\x1b[0m\x00",
                  properties=(("request", f"Bearer {secret}"),)),
        JUnitCase("s", "c", "skipped", f"skip {secret}"),
        JUnitCase("o", "c", system_out=f"out {secret}\udcab"),
    ))], redact=redact)
    raw = path.read_text(encoding="utf-8")
    assert secret not in raw and "0123456789" not in raw
    (suite,) = list(JUnitXml.fromfile(str(path)))
    bad, skipped, noted = list(suite)
    assert suite.name == "p-<STRIPE_API_KEY>" and bad.name == "case <STRIPE_API_KEY>" and bad.classname == "cls.<STRIPE_API_KEY>"
    assert bad.result[0].message == "got <STRIPE_API_KEY>"
    assert bad.result[0].text == "body <STRIPE_API_KEY>\\x1b[0m\\x00"
    assert _props(bad) == {"request": "Bearer <STRIPE_API_KEY>"}
    assert skipped.result[0].message == "skip <STRIPE_API_KEY>"
    assert noted.system_out == "out <STRIPE_API_KEY>\\udcab"


def test_json_is_indented_redacted_and_ends_with_a_newline(tmp_path: Path) -> None:
    """The JSON writer redacts the serialized text (a key anywhere, keys of objects included)."""
    path = write_json(tmp_path / "sub" / "r.json", {"k-SECRETKEY": ["SECRETKEY", "é"]},
                      redact=lambda text: text.replace("SECRETKEY", "<K>"))
    assert path.read_text(encoding="utf-8") == '{\n  "k-<K>": [\n    "<K>",\n    "é"\n  ]\n}\n'


@pytest.mark.parametrize("write", [
    lambda path: write_json(path, {"a": 1}),
    lambda path: write_junit(path, [_suite(JUnitCase("n", "c"))]),
], ids=["json", "junit"])
def test_a_write_replaces_the_file_whole_and_leaves_no_temporary(tmp_path: Path, write: Callable[[Path], Path]) -> None:
    """The file is written beside its target and renamed over it; its mode is open()'s (the umask's),
    not a temporary file's 0600; a write that cannot land leaves the folder as it was."""
    target = tmp_path / "report"
    target.write_text("old", encoding="utf-8")
    write(target)
    assert target.read_text(encoding="utf-8") != "old"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    folder = tmp_path / "taken"
    folder.mkdir()
    with pytest.raises(OSError):
        write(folder)  # a folder stands where the report would go: rename(2) refuses
    assert folder.is_dir() and sorted(p.name for p in tmp_path.iterdir()) == ["report", "taken"]


def test_a_case_outcome_outside_the_three_is_refused() -> None:
    """passed, failure, skipped: a typo is an error where the case is made, not a silent pass."""
    with pytest.raises(ValueError, match="outcome 'failed'"):
        JUnitCase("n", "c", "failed")


# --- real reports ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A live-mode suite run (report.json, junit.xml, record.json) against a mock that accepts a
    missing credential, given the valid key only (cases needing other keys skip), its spec
    carrying one deviation (so the baseline is judged and reported)."""
    folder = tmp_path_factory.mktemp("suite")
    specs = folder / "specs"
    specs.mkdir()
    doc = yaml.safe_load(Path(SUITE_SPEC.path).read_text(encoding="utf-8"))
    doc["deviations"] = [{"case": "missing", "check": "status_matches_catalogue", "reason": "a test's entry",
                          "link": "https://example.invalid/issue"}]
    (specs / f"{SUITE_SPEC.id}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    mock = MockProcess(SUITE_SPEC.id, ["accept_missing"])
    try:
        mock.wait_ready()
        name = SUITE_SPEC.env("API_KEY")
        run = run_suite(["-q", "--live", "--provider", SUITE_SPEC.id, "--base-url", mock.base_url, "--report", str(folder),
                         "--record", str(folder), "--pace", "200"], {name: Secret(mock.keys["valid"], name)},
                        env={SPECS_DIR_ENV: str(specs)})
    finally:
        mock.stop()
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    return folder


@pytest.fixture(scope="module")
def gate_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gate run (in this process) whose client breaks one rule and one --allow'ed rule."""
    folder = tmp_path_factory.mktemp("gate")
    spec = GATE_SPEC
    command = [sys.executable, "-c", CLIENT, spec.env("BASE_URL"), spec.env("API_KEY"), spec.probe.method,
               spec.probe.path, spec.credential.header, spec.credential.render("KEY")]
    result = asyncio.run(gate(spec, command, allow=("key.not_in_url",), timeout=60, out=io.BytesIO(), err=io.BytesIO()))
    write_reports(result, folder)
    return folder


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_schema_is_a_valid_2020_12_schema_naming_each_kind() -> None:
    """The schema passes its meta-schema, and every kind the writers make has its `$defs` entry."""
    schema = _load(REPORT_SCHEMA_PATH)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(REPORT_KINDS) <= set(schema["$defs"])
    with pytest.raises(ValueError, match="no report kind"):
        report_validator("gate")


def test_the_reports_of_a_real_run_validate(suite_run: Path, gate_run: Path) -> None:
    """report.json, record.json and gate-ID.json as written validate, and hold what the runs did."""
    report, record, gated = _load(suite_run / "report.json"), _load(suite_run / "record.json"), _load(gate_run / f"gate-{GATE_SPEC.id}.json")
    for kind, doc in (("suite_report", report), ("record", record), ("gate_report", gated)):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in report_validator(kind).iter_errors(doc)]
        assert errors == [], (kind, errors[:5])
    verdicts = {c["verdict"] for c in report["cases"]}
    assert {"PASS", "FAIL"} <= verdicts and report["deviations"] and record["cases"]
    assert "SKIP" in verdicts or SUITE_SPEC.keys.states == ("valid",)
    assert {r["verdict"] for r in gated["rules"]} >= {"PASS", "FAIL", "ALLOWED"} and gated["journal"]


def _drop(key: str) -> Callable[[dict], None]:
    return lambda d: d.pop(key)


def _set(key: str, value: Any) -> Callable[[dict], None]:
    return lambda d: d.__setitem__(key, value)


# (kind, what is broken, where in the document, how)
BROKEN = [
    ("suite_report", "a case without its verdict", lambda r: r["cases"][0], _drop("verdict")),
    ("suite_report", "a verdict that is none of the five", lambda r: r["cases"][0], _set("verdict", "OK")),
    ("suite_report", "a check's verdict that is none of the five", lambda r: r["cases"][0]["checks"][0], _set("verdict", "pass")),
    ("suite_report", "a count as a string", lambda r: r["totals"], _set("PASS", "3")),
    ("suite_report", "a totals entry missing", lambda r: r["totals"], _drop("SKIP")),
    ("suite_report", "a matrix cell that is no verdict", lambda r: next(iter(r["matrix"].values())), _set("positive", "GOOD")),
    ("suite_report", "a rule of no known strength", lambda r: r["cases"][0]["rules"][next(iter(r["cases"][0]["rules"]))], _set("strength", "strong")),
    ("suite_report", "a field the schema does not know", lambda r: r, _set("verdicts", {})),
    ("suite_report", "a deviation state that is none", lambda r: r["deviations"][0], _set("state", "gone")),
    ("suite_report", "a duration as a string", lambda r: r["cases"][0], _set("duration", "0.1")),
    ("record", "a status as a string", lambda r: next(c["response"] for c in r["cases"] if c["response"]["status"]), _set("status", "401")),
    ("record", "the wrong kind", lambda r: r, _set("kind", "authconform-report")),
    ("gate_report", "no overall verdict", lambda r: r, _drop("verdict")),
    ("gate_report", "an overall verdict of a rule's vocabulary", lambda r: r, _set("verdict", "NON-STRICT")),
    ("gate_report", "PASS with a failing exit status", lambda r: r, _set("verdict", "PASS")),
    ("gate_report", "a rule without its verdict", lambda r: r["rules"][0], _drop("verdict")),
    ("gate_report", "a rule's verdict that is none of the four", lambda r: r["rules"][0], _set("verdict", "SKIP")),
    ("gate_report", "a PASS rule with violations", lambda r: next(x for x in r["rules"] if x["verdict"] == "PASS"),
     _set("violations", [{"seq": 1, "request": "GET /", "detail": "d", "count": 1}])),
    ("gate_report", "a broken rule without violations", lambda r: next(x for x in r["rules"] if x["verdict"] == "FAIL"), _set("violations", [])),
    ("gate_report", "a request count as a string", lambda r: r, _set("requests", "2")),
    ("gate_report", "a journal entry's header as one string", lambda r: r["journal"][0], _set("headers", ["Host: x"])),
]


@pytest.mark.parametrize(("kind", "what", "where", "how"), BROKEN, ids=[b[1] for b in BROKEN])
def test_a_report_broken_in_one_respect_is_refused(suite_run: Path, gate_run: Path, kind: str, what: str,
                                                    where: Callable[[dict], dict], how: Callable[[dict], None]) -> None:
    """The real report, changed in one place, no longer validates: the schema can fail."""
    files = {"suite_report": suite_run / "report.json", "record": suite_run / "record.json",
             "gate_report": gate_run / f"gate-{GATE_SPEC.id}.json"}
    doc = _load(files[kind])
    validator = report_validator(kind)
    assert validator.is_valid(doc)
    broken = copy.deepcopy(doc)
    how(where(broken))
    assert not validator.is_valid(broken), what


def test_the_junit_files_carry_the_counts_their_reports_say(suite_run: Path, gate_run: Path) -> None:
    """junit.xml: a testsuite per provider whose tests/failures/skipped are its cases, FAILs and
    SKIPs in report.json, each case's verdict its property; the baseline suite fails its stale
    entries. gate-ID.xml: a case per rule, failed where the rule is FAIL or NON-STRICT, skipped
    where ALLOWED."""
    report = _load(suite_run / "report.json")
    suites = {s.name: s for s in JUnitXml.fromfile(str(suite_run / "junit.xml"))}
    providers = sorted({c["provider"] for c in report["cases"]})
    assert set(suites) == {*providers, "baseline"}
    for provider in providers:
        cases = [c for c in report["cases"] if c["provider"] == provider]
        suite = suites[provider]
        assert (suite.tests, suite.failures, suite.skipped, suite.errors) == (
            len(cases), sum(c["verdict"] == "FAIL" for c in cases), sum(c["verdict"] == "SKIP" for c in cases), 0)
        written = list(suite)
        assert len(written) == suite.tests
        assert [(t.name, _props(t)["verdict"]) for t in written] == [
            (c["case_id"], c["verdict"]) for c in cases]
        assert [t.name for t in written if t.is_skipped] == [c["case_id"] for c in cases if c["verdict"] == "SKIP"]
        assert [t.name for t in written if not t.is_passed and not t.is_skipped] == [c["case_id"] for c in cases if c["verdict"] == "FAIL"]
    baseline = suites["baseline"]
    assert (baseline.tests, baseline.failures) == (len(report["deviations"]), sum(d["state"] in ("stale", "unknown") for d in report["deviations"]))

    gated = _load(gate_run / f"gate-{GATE_SPEC.id}.json")
    (suite,) = list(JUnitXml.fromfile(str(gate_run / f"gate-{GATE_SPEC.id}.xml")))
    rules = gated["rules"]
    assert (suite.tests, suite.failures, suite.skipped, suite.errors) == (
        len(rules), sum(r["verdict"] in ("FAIL", "NON-STRICT") for r in rules), sum(r["verdict"] == "ALLOWED" for r in rules), 0)
    written = list(suite)
    assert [t.name for t in written] == [r["id"] for r in rules]
    assert [t.name for t in written if t.is_skipped] == [r["id"] for r in rules if r["verdict"] == "ALLOWED"] == ["key.not_in_url"]
    failed = [t for t in written if not t.is_passed and not t.is_skipped]
    assert [t.name for t in failed] == [r["id"] for r in rules if r["verdict"] in ("FAIL", "NON-STRICT")]
    assert "credential.header" in [t.name for t in failed]
    assert all(t.result[0].type == r["verdict"] for t, r in zip(failed, (r for r in rules if r["verdict"] in ("FAIL", "NON-STRICT"))))


def test_a_write_that_fails_leaves_the_last_whole_file_and_no_temporary(tmp_path: Path) -> None:
    """report.html, the journal file and every report go through specs.atomic_file: a failure mid-write
    leaves the previous file whole and nothing beside it; the journal refused (a folder in its place)
    leaves no temporary file either."""
    from mocks._serve import write_entries
    from specs import atomic_file, write_text

    page = write_text(tmp_path / "report.html", "<p>whole</p>")
    inode = page.stat().st_ino
    with pytest.raises(RuntimeError):
        with atomic_file(page) as out:
            out.write("<p>half")
            raise RuntimeError("stopped mid-write")
    assert page.read_text() == "<p>whole</p>" and sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    assert write_text(page, "<p>new</p>").stat().st_ino != inode  # replaced by rename, not truncated in place
    (tmp_path / "journal").mkdir()
    with pytest.raises(OSError):
        write_entries([{"seq": 1}], str(tmp_path / "journal"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal", "report.html"]
