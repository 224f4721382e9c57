"""Drift: `pytest --live --record DIR` keeps what the target answered, `python -m drive drift DIR`
compares it with the mock of the spec. Shown against a local cloro look-alike that departs from the
spec on purpose (a 403 with another body and no challenge for a missing key, another success body),
and against the clean mock run as a live target (no drift). No key in any output."""
from __future__ import annotations

import hmac
import random
import string
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from drive import MockProcess
from _local_server import LocalServer
from fixtures import ROOT
from fixtures._selftest import clean_env, run_suite
from suites import Answer, RecordError, Secret, load_record
from suites._secret import leaks
from suites._drift import shape, shape_diff

KEY = "".join(random.Random("drift").choice(string.ascii_letters + string.digits) for _ in range(40))
UNAUTHORIZED = {"success": False, "error": "Invalid or missing API key"}
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cloro"'}
QUERY_NAMES = ("access_token", "api_key", "token", "apiKey", "key")


async def drifted_cloro(request: web.Request) -> web.Response:
    """cloro as its spec says, except: no credential -> 403 {"detail"} without a challenge, and a
    success body {"success", "data": [...]} instead of {"success", "result": {...}}."""
    values = request.headers.getall("Authorization", [])
    if len(values) > 1:
        return web.json_response({"success": False, "error": "Bad request"}, status=400)
    if not values and not any(n in request.query for n in QUERY_NAMES):
        return web.json_response({"detail": "Authentication credentials were not provided."}, status=403)
    scheme, _, rest = values[0].strip(" \t").partition(" ") if values else ("", "", "")
    if scheme.lower() == "bearer" and hmac.compare_digest(rest.lstrip(" ").encode("utf-8", "surrogateescape"), KEY.encode()):
        return web.json_response({"success": True, "data": [{"model": "CHATGPT", "text": "hi"}]})
    return web.json_response(UNAUTHORIZED, status=401, headers=CHALLENGE)


def _drift(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "drive", "drift", str(folder)], cwd=ROOT, env=clean_env(), capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def _record(base_url: str, key: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return run_suite(["--live", "--provider", "cloro", "--base-url", base_url, "--record", str(folder)], {"CLORO_API_KEY": Secret(key, "CLORO_API_KEY")})


def test_drift_names_status_body_and_header_differences(tmp_path: Path) -> None:
    """Against the look-alike: exit 1, and exactly the cases that depart are named, with what departs."""
    with LocalServer(drifted_cloro) as url:
        recorded = _record(url, KEY, tmp_path)
    assert (tmp_path / "record.json").exists(), recorded.stdout[-2000:]
    assert f"record: {tmp_path}/record.json" in recorded.stdout
    run = _drift(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    blocks = _blocks(out)
    assert blocks["cloro.missing"] == [
        "status: live 403, mock 401",
        "body shape $.detail: live string, mock absent",
        "body shape $.success: live absent, mock boolean",
        "body shape $.error: live absent, mock string",
        "header WWW-Authenticate: live absent, mock bearer realm",
    ]
    assert "body shape $.data: live array, mock absent" in blocks["cloro.positive"]
    assert "body shape $.result: live absent, mock object" in blocks["cloro.positive"]
    # The look-alike answers the other failure classes as documented: no drift named there.
    positives = {"cloro.positive", *(f"cloro.positive.{v}" for v in ("scheme_lowercase", "scheme_uppercase", "several_spaces", "surrounding_whitespace"))}
    assert set(blocks) == {"cloro.missing", *positives}
    assert out.splitlines()[0].startswith("drift: ") and " cases answer differently live" in out
    secret = Secret(KEY)
    for text in (recorded.stdout, recorded.stderr, out, run.stderr, (tmp_path / "record.json").read_text(encoding="utf-8")):
        assert not leaks(text, secret)


def test_no_drift_when_the_target_is_the_spec_s_own_mock(tmp_path: Path) -> None:
    """The clean mock recorded as a live target answers like a fresh mock: exit 0, "no drift"."""
    mock = MockProcess("cloro").wait_ready()
    try:
        _record(mock.base_url, mock.keys["valid"], tmp_path)
    finally:
        mock.stop()
    run = _drift(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("no drift: ") and "cases answer alike" in run.stdout


def _blocks(out: str) -> dict[str, list[str]]:
    """The drift output as case id -> its indented lines."""
    blocks: dict[str, list[str]] = {}
    current = None
    for line in out.splitlines()[1:]:
        if line.startswith("  ") and current:
            blocks[current].append(line.strip())
        elif line and not line.startswith("note:"):
            current = line.strip()
            blocks[current] = []
    return blocks


def test_shapes_compare_keys_and_types_not_values() -> None:
    """Two error bodies with other messages have one shape; a renamed key or a new type is drift."""
    assert shape('{"success": false, "error": "a"}') == shape('{"error": "b", "success": true}')
    assert shape_diff(shape('{"a": 1, "b": [{"c": "x"}]}'), shape('{"a": "1", "b": [{"c": "y"}]}')) == ["$.a: live number, mock string"]
    assert shape("") == "empty" and shape("Bad Request") == "text"
    assert Answer.parse("(no response: timeout)") == Answer(None, (), "")
    answer = Answer.parse('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="x"\r\n\r\n{"a":1}')
    assert (answer.status, answer.header_all("www-authenticate"), answer.body) == (401, ['Bearer realm="x"'], '{"a":1}')


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no record here; make one with `pytest --live --record"), ("{", "not JSON"),
     ('{"kind": "other", "cases": []}', "not an authconform record"),
     ('{"kind": "authconform-record", "cases": [{"case_id": "x", "provider": "cloro", "response": {}}]}', "cases[0]: a recorded response needs")],
    ids=["missing", "not-json", "wrong-kind", "bad-case"],
)
def test_a_bad_record_is_one_line_naming_the_file(tmp_path: Path, content: str | None, message: str) -> None:
    """load_record says which file and what is wrong; the command exits 2 with that line, no traceback."""
    if content is not None:
        (tmp_path / "record.json").write_text(content, encoding="utf-8")
    with pytest.raises(RecordError) as err:
        load_record(tmp_path)
    assert message in str(err.value) and "\n" not in str(err.value)
    run = _drift(tmp_path)
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr


def test_an_empty_record_is_not_a_pass(tmp_path: Path) -> None:
    """A record of a run whose cases were all skipped (no live key) compares nothing: exit 2, said why."""
    (tmp_path / "record.json").write_text('{"kind": "authconform-record", "mode": "live", "cases": []}', encoding="utf-8")
    run = _drift(tmp_path)
    assert run.returncode == 2 and "nothing compared" in run.stderr and "were the live keys set?" in run.stderr


def test_messages_are_compared_on_refusals_not_ids_nor_successes() -> None:
    """A reworded error is drift (same shape, other text); ids and timestamps are not, nor success data."""
    from specs import load_all
    from suites._drift import compare, message_diff

    live = '{"success": false, "error": "Invalid API key", "request_id": "req_20240101abcd", "at": "2024-01-01T00:00:00Z"}'
    mock = '{"success": false, "error": "Invalid or missing API key", "request_id": "req_99990000wxyz", "at": "2025-02-02T10:00:00Z"}'
    assert message_diff(live, mock) == [("$.error", "Invalid API key", "Invalid or missing API key")]
    assert message_diff("Unauthorized", "Forbidden") == [("$", "Unauthorized", "Forbidden")]
    spec = load_all()[0]
    a, b = (Answer(401, (), body) for body in (live, mock))
    assert [d.line() for d in compare(spec, "x.invalid", "invalid", a, b)] == [
        "message $.error: live 'Invalid API key', mock 'Invalid or missing API key'"]
    assert compare(spec, "x.positive", "positive", Answer(200, (), live), Answer(200, (), mock)) == []


def test_the_suite_package_names_drives_commands() -> None:
    """`python -m suites drift DIR` (the suite never imports drive/) says the command that runs it: exit 2."""
    run = subprocess.run([sys.executable, "-m", "suites", "drift", "rec"], cwd=ROOT, env=clean_env(), capture_output=True,
                         text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert run.returncode == 2 and "`python -m drive drift`" in run.stderr and "Traceback" not in run.stderr, run.stderr
