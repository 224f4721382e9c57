"""Each strategy finds the planted defect it targets, within its default example budget, shrunk to a
minimal request; the clean mock of the same provider shows no such finding.

Mocks run as `python -m mocks serve ID --defect NAME` subprocesses; the separator class, which no
mock defect covers, is shown on two tiny local servers that split the credential the way real
sloppy parsers do.
"""
from __future__ import annotations

import random
import string
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from aiohttp import web

from drive import MockProcess
from _local_server import LocalServer
from specs import Rule, get_spec
from suites import Verdict, mock_target
from suites.engine._session import EngineOptions, EngineSession, Finding, StrategyRun
from suites.engine._strategies import Generated
from suites.engine._template import KeyExpr, Op

pytestmark = pytest.mark.slow


def _credential_expr(item: Generated) -> KeyExpr:
    """The key expression of the item's (first) credential header."""
    return item.exprs()[0]


def _ops(item: Generated) -> tuple[Op, ...]:
    return _credential_expr(item).ops


@dataclass(frozen=True)
class Planted:
    """A defect, the strategy that targets it, what it must report, and what minimal looks like."""

    strategy: str
    provider: str
    defect: str
    check: str
    verdict: Verdict
    minimal: Callable[[Generated], bool]
    why: str

    @property
    def id(self) -> str:
        return f"{self.strategy}-{self.provider}-{self.defect}"


PLANTED = (
    Planted("presence", "claid", "accept_query_key", "request_rejected", Verdict.FAIL,
            lambda i: i.kind == "query" and i.template.query[0] == b"access_token=", "the first query name, the key intact"),
    Planted("presence", "cloro", "accept_missing", "request_rejected", Verdict.FAIL,
            lambda i: i.kind == "no_header", "no credential at all"),
    Planted("scheme", "cryptocloud", "accept_raw_key", "request_rejected", Verdict.FAIL,
            lambda i: i.kind == "raw_key", "the raw key, nothing else"),
    Planted("scheme", "flash", "accept_other_scheme", "request_rejected", Verdict.FAIL,
            lambda i: i.kind == "wrong_keyword" and i.template.headers[-1][1][0] == b"Token ", "`Token <key>`"),
    Planted("scheme", "claid", "case_sensitive_scheme", "accepted", Verdict.NON_STRICT,
            lambda i: i.kind == "case" and sum(a != b for a, b in zip(i.template.headers[-1][1][0], b"Bearer ")) == 1,
            "one letter of the keyword in the other case"),
    Planted("token", "cloro", "prefix_compare", "request_rejected", Verdict.FAIL,
            lambda i: _ops(i) == (Op("append", 0, b"0"),), '<key> + "0"'),
    Planted("token", "crux", "case_insensitive_compare", "request_rejected", Verdict.FAIL,
            lambda i: i.kind == "case_flipped" and _ops(i) == (Op("flip", 0),), "the first letter's case flipped"),
    Planted("token", "flash", "short_compare", "request_rejected", Verdict.FAIL,
            lambda i: _ops(i) == (Op("cut_end", 1),), "the key without its last character"),
    Planted("token", "cryptocloud", "echo_credential", "no_credential_echo", Verdict.FAIL,
            lambda i: _ops(i) == (Op("cut_end", 1),), "the longest wrong prefix of the key"),
    Planted("encoding", "crux", "crash_non_ascii", "answered_by_app", Verdict.FAIL,
            lambda i: i.kind == "latin1.after" and _ops(i) == (Op("append", 0, b"\xe9"),), "one Latin-1 byte after the key"),
    Planted("size", "flash", "crash_long_header", "answered_by_app", Verdict.FAIL,
            lambda i: i.kind == "long_token", "the first length past 1024 bytes"),
    Planted("wire", "cloro", "crash_duplicate_header", "answered_by_app", Verdict.FAIL,
            lambda i: i.kind == "duplicate_same" and i.template.headers[-2][0] == b"Authorization", "the same line twice"),
)


@pytest.fixture(scope="module")
def mocks(mock_processes: Any) -> dict[tuple[str, str | None], MockProcess]:
    """Every defective mock the table needs, and a clean one per provider, started together."""
    wanted: list[tuple[str, str | None]] = [(p.provider, p.defect) for p in PLANTED]
    wanted += [(p, None) for p in dict.fromkeys(p.provider for p in PLANTED)]
    return dict(zip(wanted, mock_processes.start([(p, (d,) if d else ()) for p, d in wanted])))


def _run(mock: MockProcess, strategy: str) -> StrategyRun:
    """The strategy with its default budget (no database, so nothing is replayed from earlier runs)."""
    target = mock_target(get_spec(mock.provider), mock.base_url, mock.keys)
    session = EngineSession(target, EngineOptions(database=None))
    try:
        return session.run(strategy)
    finally:
        session.close()


def _found(run: StrategyRun, check: str, verdict: Verdict) -> list[Finding]:
    return [f for f in run.findings if f.check == check and f.verdict is verdict]


@pytest.mark.parametrize("planted", PLANTED, ids=[p.id for p in PLANTED])
def test_strategy_finds_its_planted_defect(planted: Planted, mocks) -> None:
    """Found within the default budget, shrunk to the minimal request; absent on the clean mock."""
    run = _run(mocks[(planted.provider, planted.defect)], planted.strategy)
    found = _found(run, planted.check, planted.verdict)
    assert found, f"{planted.defect}: not found by {planted.strategy} in {run.examples} examples: {run.summary()}"
    finding = found[0]
    assert finding.item is not None and finding.how in ("shrunk", "simplest of its kind")
    assert planted.minimal(finding.item), f"not minimal ({planted.why}): {finding.request}"
    assert "replay this request: python -m suites.engine.replay" in finding.message()
    clean = _run(mocks[(planted.provider, None)], planted.strategy)
    same = [f for f in _found(clean, planted.check, planted.verdict) if f.kind == finding.kind]
    assert not same, f"the clean {planted.provider} mock shows it too: {same[0].message()}"


def test_long_header_shrinks_to_the_threshold(mocks) -> None:
    """crash_long_header: 500 past 1024 bytes; the shrunk value is exactly 1025 bytes long."""
    mock = mocks[("flash", "crash_long_header")]
    finding = _found(_run(mock, "size"), "answered_by_app", Verdict.FAIL)[0]
    (pad,) = _ops(finding.item)
    value = b"Bearer " + mock.keys["valid"].encode() + pad.data * pad.n
    assert len(value) == 1025


# --- the separator class: sloppy parsers no mock defect plants ---------------------------------

SPEC = get_spec("cloro")
KEY = "".join(random.Random("separator").choice(string.ascii_letters + string.digits) for _ in range(40))
BODY = SPEC.failures["invalid"].body_bytes()
CHALLENGE = SPEC.credential.challenge.value  # type: ignore[union-attr]


def _server(accepts: Callable[[str], bool]) -> Callable[[web.Request], object]:
    """A cloro look-alike whose only bug is how it reads the credential header."""

    async def handle(request: web.Request) -> web.Response:
        if request.path.startswith("/__authconform__/"):
            return web.json_response({})
        values = request.headers.getall("Authorization", [])
        if len(values) == 1 and accepts(values[0]):
            return web.json_response({"success": True})
        return web.Response(status=401, body=BODY, content_type="application/json", headers={"WWW-Authenticate": CHALLENGE})

    return handle


def _prefix_strip(value: str) -> bool:
    # Bug: strips the keyword as a prefix, then any whitespace (Unicode's too), so "Bearer<key>" passes.
    return value.startswith("Bearer") and value[len("Bearer"):].strip() == KEY


def _unicode_split(value: str) -> bool:
    # Bug: str.split() splits on every Unicode space (NBSP, U+3000, ...), not HTTP's SP.
    parts = value.split()
    return len(parts) == 2 and parts[0] == "Bearer" and parts[1] == KEY


@pytest.mark.parametrize(
    "accepts, kind, verdict, rule",
    [(_prefix_strip, "none", Verdict.FAIL, SPEC.failures["no_scheme"].rule), (_unicode_split, "unicode_space", Verdict.NON_STRICT, SPEC.credential.separator_rule)],
    ids=["prefix_strip", "unicode_split"],
)
def test_separator_finds_sloppy_splitting(accepts: Callable[[str], bool], kind: str, verdict: Verdict, rule: Rule) -> None:
    """`Bearer<key>` accepted: FAIL (security: judged at the no_scheme rule); `Bearer<NBSP><key>`: NON-STRICT (RFC 9110
    §11.4's 1*SP); both shrunk to the plainest request of their kind."""
    with LocalServer(_server(accepts)) as url:
        target = mock_target(SPEC, url, {"valid": KEY})
        session = EngineSession(target, EngineOptions(database=None))
        try:
            run = session.run("separator")
        finally:
            session.close()
    found = _found(run, "request_rejected", verdict)
    assert found, run.summary()
    item = found[0].item
    assert item is not None and item.kind == kind and found[0].result.rule == rule
    if kind == "unicode_space":
        assert item.template.headers[-1][1][0] == "Bearer\u00a0".encode()
    assert run.verdict is verdict
