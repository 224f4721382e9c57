"""The generated engine's parts without a server: symbolic templates never hold a key, mutations
always change it, the oracle follows the spec's decision order, the judge grades by strength, and
the live guard counts, paces and honours 429."""
from __future__ import annotations

import base64
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.database import InMemoryExampleDatabase

from specs import get_spec, load_all
from suites import RawResponse, Secret, Verdict, mock_target
from suites._secret import leaks
from suites._keys import fabricate
from suites.engine._judge import Judge
from suites.engine._live import BudgetSpent, GuardedConnection, Limits, retry_after
from suites.engine._oracle import View, decide
from suites.engine._session import EngineOptions, EngineSession
from suites.engine._strategies import STRATEGIES, Generated, alphabet_of, basis, strategy_for
from suites.engine._template import HOST, Context, KeyExpr, Op, Template

SPECS = {s.id: s for s in load_all()}


def _key(spec_id: str) -> str:
    return fabricate(SPECS[spec_id].credential.token, random.Random(spec_id))


def _context(spec_id: str, key: str) -> Context:
    return Context({"valid": key.encode()}, alphabet_of(SPECS[spec_id]), "127.0.0.1:9", "")


# --- templates: the key exists only in rendered bytes ------------------------------------------


@pytest.mark.parametrize("strategy", list(STRATEGIES))
@pytest.mark.parametrize("spec_id", sorted(SPECS))
def test_generated_items_show_placeholders_never_the_key(spec_id: str, strategy: str) -> None:
    """What Hypothesis prints and stores (repr, description, JSON) holds no 6-char slice of the key;
    the rendered request carries the key's bytes where the template says."""
    key = _key(spec_id)
    secret = Secret(key, "K")
    ctx = _context(spec_id, key)
    seen: set[str] = set()

    @settings(max_examples=40, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(strategy_for(SPECS[spec_id], strategy))
    def check(item: Generated) -> None:
        seen.add(item.kind)
        shown = " ".join([repr(item), item.describe(), item.template.show(dict(item.labels)), json.dumps(item.template.to_json())])
        assert not leaks(shown, secret), f"{item.kind}: the key shows in its description"
        assert f"<{SPECS[spec_id].env('API_KEY')}>" in shown or not item.exprs()
        wire = item.template.render(ctx).encode("127.0.0.1:9")
        if item.intact:
            assert key.encode() in wire
        assert Template.from_json(json.loads(json.dumps(item.template.to_json()))) == item.template

    check()
    assert len(seen) >= 3, f"{strategy} drew only {sorted(seen)}"


def test_every_malformation_class_is_a_named_strategy() -> None:
    """The engine's classes of malformed credentials (suites/engine/_strategies.py), each runnable alone."""
    assert list(STRATEGIES) == ["presence", "scheme", "separator", "token", "encoding", "size", "wire"]
    with pytest.raises(KeyError, match="known: presence"):
        strategy_for(SPECS["cloro"], "nope")


KEY = b"AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd"
ALNUM = alphabet_of(SPECS["cloro"])


@pytest.mark.parametrize("op", [Op("cut", 0), Op("cut", 500), Op("cut_end", 0), Op("cut_end", 500), Op("append", 0, b"0"),
                                Op("shift", 7, b"\x00"), Op("shift", 39, b"\xff"), Op("flip", 3), Op("insert", 0, b" "),
                                Op("drop", 5), Op("percent", 1), Op("base64", 0)])
def test_mutations_always_change_the_key(op: Op) -> None:
    """A mutation never gives back the key itself (nor an empty credential)."""
    out = KeyExpr("valid", (op,)).value(KEY, ALNUM)
    assert out != KEY and out


def test_a_changed_character_is_not_a_case_flip() -> None:
    """`changed` stays within the character's kind; case flips are a mutation of their own."""
    for n in range(len(KEY)):
        for k in range(0, 256, 7):
            out = Op("shift", n, bytes([k])).apply(KEY, ALNUM)
            assert out.lower() != KEY.lower()
    assert Op("flip", 0).apply(KEY, ALNUM) == b"a" + KEY[1:]


def test_jwt_tampering() -> None:
    """alg none, signature stripped, header and payload changed: each a different token."""
    seg = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=")  # noqa: E731
    jwt = seg({"alg": "HS256", "typ": "JWT"}) + b"." + seg({"id": 13, "exp": 1631786426}) + b".c2lnbmF0dXJl"
    none = Op("jwt", 0, b"alg_none").apply(jwt, ALNUM)
    head = json.loads(base64.urlsafe_b64decode(none.split(b".")[0] + b"=="))
    assert head["alg"] == "none" and none.endswith(b".")
    for what in (b"header", b"payload", b"strip_sig", b"drop_sig"):
        assert Op("jwt", 1, what).apply(jwt, ALNUM) != jwt
    payload = Op("jwt", 1, b"payload").apply(jwt, ALNUM).split(b".")[1]
    assert json.loads(base64.urlsafe_b64decode(payload + b"=="))["exp"] == 1631786426 + 2


# --- the oracle: ARCHITECTURE.md's decision order ---------------------------------------------


@pytest.mark.parametrize(
    "spec_id, values, query, expected",
    [
        ("cloro", [], (), "missing"),
        ("cloro", [], ("apiKey",), "token_in_query"),
        ("cloro", [], ("cookie",), "missing"),
        ("cloro", [b"  \t"], (), "empty"),
        ("cloro", [b"Bearer"], (), "malformed/scheme_only"),
        ("cloro", [b"bEARER  K"], (), "accepted"),
        ("cloro", [b"Bearer\tK"], (), "no_scheme"),
        ("crux", [b"Token\tK"], (), "accepted"),
        ("crux", [b"To\xe2\x84\xaaen K"], (), "wrong_scheme"),  # Kelvin sign: ASCII folding only
        ("cloro", [b"Bearer\xc2\xa0K"], (), "no_scheme"),
        ("cloro", [b"Basic K"], (), "wrong_scheme"),
        ("cloro", [b"Bearer K K"], (), "malformed/internal_space"),
        ("cloro", [b"Bearer K!"], (), "malformed/bad_chars"),
        ("cloro", [b"Bearer K\xe9"], (), "malformed/bad_chars"),
        ("flash", [b"Bearer abc"], (), "malformed/shape"),
        ("cloro", [b"Bearer Kx"], (), "invalid/unknown"),
        ("cloro", [b"Bearer E"], (), "expired"),
        ("cloro", [b"Bearer K", b"Bearer K"], (), "duplicate_header"),
    ],
)
def test_oracle(spec_id: str, values: list[bytes], query: tuple[str, ...], expected: str) -> None:
    """Each step of the decision, from what the application sees."""
    spec = SPECS[spec_id]
    k = _key(spec_id) if spec.credential.token.enforce_shape else "K"
    keys = {"valid": Secret(k, "V"), "expired": Secret("E", "E")}
    values = [v.replace(b"K", k.encode()) for v in values]
    assert str(decide(spec, View(tuple(values), frozenset(query)), keys)) == expected


# --- the judge: verdicts by strength ---------------------------------------------------------


def _resp(status: int, body: bytes = b"", headers: tuple = (), layer: str = "app") -> RawResponse:
    return RawResponse(status, "", headers, body, layer)


@pytest.fixture
def cloro_judge():
    """A judge of a cloro target (no server: the judge reads responses handed to it)."""
    spec = get_spec("cloro")
    target = mock_target(spec, "http://127.0.0.1:9", {"valid": "K" * 40})
    return spec, Judge(target), Context({"valid": b"K" * 40}, ALNUM, "127.0.0.1:9", "")


def _item(spec, kind: str, value: tuple, rule=None, **kw) -> Generated:
    b = basis(spec)
    return b.item("test", kind, b.request(((b"Authorization", value),)), rule, **kw)


def test_the_http_layer_is_not_the_application(cloro_judge) -> None:
    """A wire item (CR in the value) refused by the HTTP layer: an HTML 400 or a closed connection is
    the RFC's answer (INFO, never compared with the catalogue); a timeout or a 500 is still a FAIL;
    the same HTML 400 to a non-wire item is judged against the catalogue."""
    spec, judge, ctx = cloro_judge
    k = KeyExpr("valid")
    b = basis(spec)
    wire = b.item("wire", "cr_in_value", b.request(((b"Authorization", (b"Bearer ", k.then(Op("insert", 3, b"\r")))),)))
    assert wire.http_layer
    html = _resp(400, b"<html><center>nginx</center></html>", (("Content-Type", "text/html"),), layer="parser")

    def verdicts(item: Generated, resp: RawResponse) -> dict[str, Verdict]:
        req = item.template.render(ctx)
        return {r.check: r.verdict for r in judge.judge(item, req, resp, ctx).results}

    assert verdicts(wire, html) == {"http_layer": Verdict.INFO, "no_credential_echo": Verdict.PASS}
    reset = RawResponse(0, "", (), b"", "closed", 0.0, "ConnectionResetError: reset by peer")
    assert verdicts(wire, reset)["http_layer"] is Verdict.INFO
    timeout = RawResponse(0, "", (), b"", "closed", 0.0, "timeout after 5.0s: timed out")
    assert verdicts(wire, timeout)["answered_by_app"] is Verdict.FAIL
    assert verdicts(wire, _resp(500))["answered_by_app"] is Verdict.FAIL
    # A JSON 400 that is the provider's own answer is the application's: judged by the catalogue.
    dup = spec.failures["duplicate_header"]
    own = _resp(400, dup.body_bytes(), (("Content-Type", "application/json"),))
    assert "http_layer" not in verdicts(wire, own)
    plain = _item(spec, "x", (b"Bearer ", k.then(Op("append", 0, b"0"))))
    assert not plain.http_layer and "http_layer" not in verdicts(plain, html)


def test_judge_grades(cloro_judge) -> None:
    """2xx without a valid credential: FAIL forced; lenient parsing around the intact key: its
    rule's strength; lenient: INFO; 5xx: FAIL; parser: INFO; the catalogue: its rules; echo: FAIL."""
    spec, judge, ctx = cloro_judge
    k = KeyExpr("valid")
    ok = _resp(200, b'{"success":true}')
    body401 = spec.failures["invalid"].body_bytes()
    challenge = (("WWW-Authenticate", 'Bearer realm="cloro"'),)

    def verdicts(item: Generated, resp: RawResponse) -> dict[str, Verdict]:
        req = item.template.render(ctx)
        return {r.check: r.verdict for r in judge.judge(item, req, resp, ctx).results}

    mutated = _item(spec, "x", (b"Bearer ", k.then(Op("append", 0, b"0"))))
    assert verdicts(mutated, ok)["request_rejected"] is Verdict.FAIL
    raw = _item(spec, "raw", (k,))
    assert verdicts(raw, ok)["request_rejected"] is Verdict.FAIL  # credential.rule is documented
    # Lenient parsing around the intact valid key is NON-STRICT at its RFC rule; the same request
    # without that leniency declared is access without the documented credential: FAIL.
    tab = _item(spec, "tab", (b"Bearer\t", k), spec.credential.separator_rule, leniency=spec.credential.separator_rule)
    assert verdicts(tab, ok)["request_rejected"] is Verdict.NON_STRICT
    assert verdicts(_item(spec, "tab", (b"Bearer\t", k), spec.credential.separator_rule), ok)["request_rejected"] is Verdict.FAIL
    assert verdicts(_item(spec, "tab", (b"Bearer\t", k), lenient=True), ok)["lenient"] is Verdict.INFO
    case = _item(spec, "case", (b"bearer ", k), spec.credential.scheme_rule)
    assert verdicts(case, _resp(401, body401, challenge))["accepted"] is Verdict.NON_STRICT
    assert verdicts(mutated, _resp(500))["answered_by_app"] is Verdict.FAIL
    assert verdicts(mutated, _resp(0, layer="closed"))["answered_by_app"] is Verdict.FAIL
    assert verdicts(mutated, _resp(400, b"Bad Request", layer="parser")) == {"answered_by_app": Verdict.INFO, "no_credential_echo": Verdict.PASS}
    assert set(verdicts(mutated, _resp(401, body401, challenge)).values()) == {Verdict.PASS}
    assert verdicts(mutated, _resp(403, body401, challenge))["status_matches_catalogue"] is Verdict.FAIL
    assert verdicts(mutated, _resp(401, b'{"message":"no"}', challenge))["body_matches_catalogue"] is Verdict.FAIL
    assert verdicts(mutated, _resp(401, body401))["challenge_on_401"] is Verdict.NON_STRICT
    echo = _resp(401, body401[:-1] + b',"k":"' + b"K" * 40 + b'0"}', challenge)
    assert verdicts(mutated, echo)["no_credential_echo"] is Verdict.FAIL
    # A presented token sharing a slice with the catalogue's own words is no echo.
    assert "no_credential_echo" not in {c for c, v in verdicts(_item(spec, "w", (b"Bearer\tInvalid",)), _resp(401, body401, challenge)).items() if v is not Verdict.PASS}


# --- live guard: budget, pace, 429 ----------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class _Conn:
    """A Connection stand-in answering from a script of statuses (and Retry-After values)."""

    def __init__(self, script: list[tuple[int, str | None]]):
        self.script = list(script)
        self.sent = 0

    def send(self, request) -> RawResponse:
        self.sent += 1
        status, after = self.script.pop(0) if self.script else (401, None)
        return RawResponse(status, "", (("Retry-After", after),) if after else (), b"", "app")

    def close(self) -> None:
        pass


def test_budget_is_never_exceeded() -> None:
    """The guard counts before sending and refuses past the budget, 429 retries included."""
    conn, clock = _Conn([(429, "0")] * 3), _Clock()
    guard = GuardedConnection(conn, Limits(budget=5), clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    answers = []
    with pytest.raises(BudgetSpent, match="budget of 5 spent"):
        for _ in range(10):
            answers.append(guard.send(None))  # type: ignore[arg-type]
    assert conn.sent == guard.sent == 5


def test_pace_and_retry_after() -> None:
    """Requests at most rps apart; a 429 waits Retry-After before the one retry; too long a
    Retry-After ends the run (honoured by not sending at all)."""
    conn, clock = _Conn([(200, None), (429, "3"), (200, None), (429, "600")]), _Clock()
    guard = GuardedConnection(conn, Limits(rps=2.0, max_retry_after=60), clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    guard.send(None)  # type: ignore[arg-type]
    assert guard.send(None).status == 200  # type: ignore[arg-type]
    assert clock.slept[:2] == [0.5, 3.0] and conn.sent == 3
    assert guard.send(None).status == 429  # type: ignore[arg-type]
    with pytest.raises(BudgetSpent, match="Retry-After 600s"):
        guard.send(None)  # type: ignore[arg-type]
    assert conn.sent == 4


def test_retry_after_values() -> None:
    """delay-seconds, an HTTP-date, and garbage (RFC 9110 §10.2.3)."""
    assert retry_after("7") == 7.0
    assert retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now=40.0) == pytest.approx(60.0)
    assert retry_after("soon") == retry_after(None) == 1.0


def test_host_part_renders_the_connection_host() -> None:
    """Wire-level heads carry Host as a part filled at send time."""
    t = Template("GET", "/p", head=(b"Host: ", HOST, b"\r\n"))
    raw = t.render(Context({}, b"", "example.test:81", "/api")).encode("x")
    assert raw.startswith(b"GET /api/p HTTP/1.1\r\nHost: example.test:81\r\nContent-Length: 0\r\n\r\n")


class _Recording(InMemoryExampleDatabase):
    """An in-memory example database that notes every key Hypothesis asks it for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[bytes] = []

    def fetch(self, key: bytes):  # type: ignore[override]
        self.asked.append(key)
        return super().fetch(key)


def test_each_search_keeps_its_own_database_namespace(running) -> None:
    """Every key the engine's searches read (and so write) sits under
    `authconform:PROVIDER:STRATEGY:PHASE:`, so one strategy's search never replays another's (the
    test body is one function for all of them)."""
    spec = get_spec(sorted(s.id for s in load_all())[0])
    server = running(spec.id)
    db = _Recording()
    session = EngineSession(mock_target(spec, server.base_url, server.keys()), EngineOptions(database=db, max_examples=5))
    try:
        for name in ("presence", "token"):
            session.run(name)
    finally:
        session.close()
    assert db.asked and all(k.startswith(f"authconform:{spec.id}:".encode()) for k in db.asked), db.asked
    assert {k.split(b":")[2] for k in db.asked} == {b"presence", b"token"}, db.asked


def test_a_response_field_name_is_no_echo(cloro_judge) -> None:
    """A token made of the key and appended text ("ontent") shares a slice with the response's
    Content-Type field name: no echo; the token's key part echoed in a field value or the body is one."""
    spec, judge, ctx = cloro_judge
    appended = _item(spec, "x", (b"Bearer ", KeyExpr("valid").then(Op("append", 0, b"ontent"))))
    req = appended.template.render(ctx)
    body401 = spec.failures["invalid"].body_bytes()
    heads = (("Content-Type", "application/json"), ("WWW-Authenticate", 'Bearer realm="cloro"'))

    def echo(resp: RawResponse) -> Verdict:
        return {r.check: r.verdict for r in judge.judge(appended, req, resp, ctx).results}["no_credential_echo"]

    assert echo(_resp(401, body401, heads)) is Verdict.PASS
    assert echo(_resp(401, body401, (*heads, ("X-Seen", "KKKKKKKontent")))) is Verdict.FAIL
    assert echo(_resp(401, body401[:-1] + b', "seen": "KKKKKKKontent"}', heads)) is Verdict.FAIL
