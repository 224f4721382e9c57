"""`pytest --report DIR` writes report.html beside report.json and junit.xml: one self-contained page
(nothing to fetch: no src, no stylesheet link, no @import, no url(), a CSP that forbids loading),
with the provider x class and provider x check matrices, each cell linked to the case that decided
it, the rule's source quoted, and no key. report.json names each case's failure class and the rule
(check, strength, source) behind its verdict."""
from __future__ import annotations

import json
import re
from pathlib import Path

from fixtures._selftest import run_suite
from specs import get_spec
from suites import MOCK, CaseResult, Report, Secret, Verdict
from suites._result import CheckResult
from suites._secret import leaks
from suites._html import case_anchor

SPEC = get_spec("cloro")


def test_pytest_report_writes_a_self_contained_page(tmp_path: Path) -> None:
    """A run with a planted defect: the FAIL cell links to the failing case, whose details quote the rule."""
    run = run_suite(["-q", "--provider", "cloro", "--mock-defect", "accept_missing", "-k", "cloro.missing or cloro.expired", "--report", str(tmp_path)])
    assert run.returncode == 1, run.stdout[-2000:]
    assert f"report: {tmp_path}/report.json, {tmp_path}/junit.xml, {tmp_path}/report.html" in run.stdout
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    # Nothing is fetched to show it: no external resource of any kind.
    assert not re.search(r"""\ssrc=|<link\b|@import|url\(|<iframe|<object|<embed""", page, re.I)
    assert "default-src 'none'" in page
    assert page.count('<table class="matrix"') == 2
    cell = re.search(r'<td class="cell"><a class="v-FAIL" href="#c-cloro\.missing" data-open="c-cloro\.missing"[^>]*>FAIL', page)
    assert cell, "the missing cell is FAIL and opens cloro.missing"
    assert re.search(r'<td class="cell"><a class="v-PASS" href="#c-cloro\.expired"', page)
    details = page[page.index(f'id="{case_anchor("cloro.missing")}"'):]
    details = details[: details.index("</details>")]
    assert "HTTP/1.1 200 OK" in details and "POST /v1/monitor HTTP/1.1" in details
    assert "<blockquote>If authentication fails, you&#x27;ll receive a `401 Unauthorized` response" in details
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    case = next(c for c in report["cases"] if c["case_id"] == "cloro.missing")
    assert case["failure_class"] == "missing" and case["verdict"] == "FAIL"
    assert case["rule"]["check"] == "request_rejected" and case["rule"]["strength"] == "documented"
    assert case["rule"]["source"].startswith("If authentication fails")
    assert case["request"].startswith("POST /v1/monitor") and case["response"].startswith("HTTP/1.1 200 OK")
    passed = next(c for c in report["cases"] if c["case_id"] == "cloro.expired")
    assert passed["rule"] == {"name": "reject", **passed["rules"]["reject"]}


def test_the_page_is_redacted_once_more_when_written(tmp_path: Path) -> None:
    """Even a result that kept a raw key (a bug upstream) reaches the page as its placeholder only."""
    key = Secret("sk" + "Q7wz" * 9, "CLORO_API_KEY")
    leaked = f"HTTP/1.1 401 Unauthorized\r\n\r\n{{\"error\": \"bad key {key.reveal()[:-3]}\"}}"
    result = CaseResult("cloro.invalid.unknown", "cloro", "invalid", "unknown", "a key", "never issued", MOCK, Verdict.FAIL,
                        [CheckResult("no_credential_echo", Verdict.FAIL, SPEC.failures["invalid"].rule, "no echo", f"echo of {key.reveal()}", True)],
                        request=f"POST /v1/monitor HTTP/1.1\r\nAuthorization: Bearer {key.reveal()}", response=leaked)
    report = Report(MOCK, [key])
    report.add_specs([SPEC])
    report.add(result)
    report.write(tmp_path)
    for name in ("report.html", "report.json", "junit.xml"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert not leaks(text, key), name
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Authorization: Bearer &lt;CLORO_API_KEY&gt;" in page


def test_control_bytes_are_shown_escaped_not_raw(tmp_path: Path) -> None:
    """A response with control bytes renders them as \\xNN (the page stays valid text)."""
    result = CaseResult("cloro.malformed.bad_chars", "cloro", "malformed", "bad_chars", "bytes", "x", MOCK, Verdict.PASS,
                        response="HTTP/1.1 400 Bad Request\r\n\r\nbad \x01\x1b byte")
    report = Report(MOCK)
    report.add(result)
    report.write(tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "bad \\x01\\x1b byte" in page and "\x01" not in page
