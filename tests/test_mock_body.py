"""Request bodies as input: content codings (decoded, bounded, or 415), and the wait for a body
measured by its progress. Real TCP to 127.0.0.1; every wait bounded, timeouts shortened for tests."""
from __future__ import annotations

import gzip
import json
import socket
import time
import zlib
from typing import Any

import pytest

from specs import ADMIN_PREFIX
from mocks._protocol import QuietRequestHandler
from specs import ProviderSpec
from _helpers import IDS, SPECS, probe_request, send

# 200 MiB of zeros in ~200 KiB: decoded whole it would take the process's memory with it.
BOMB = gzip.compress(b"\0" * (200 << 20), compresslevel=9)


def _key(server: Any) -> str:
    return server.state.keys()["valid"]


def _body(spec: ProviderSpec) -> bytes:
    """The probe's own body, or a JSON object when it has none."""
    return spec.probe.encode() or b"{}"


def _bad_request_status(spec: ProviderSpec) -> int:
    failure = spec.failures.get("bad_request")
    return failure.status if failure is not None else 400


@pytest.mark.parametrize("provider", IDS)
def test_gzip_and_deflate_bodies_are_decoded(running: Any, provider: str) -> None:
    """A gzip or deflate body is read as what it encodes: the valid key gets the probe's success,
    and the journal holds the decoded body (so the gate judges what the client meant)."""
    spec = SPECS[provider]
    server = running(provider)
    auth = spec.credential.render(_key(server))
    body = spec.probe.encode()
    for coding, packed in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body)), ("GZip, identity", gzip.compress(body))):
        reply = probe_request(server.base_url, spec, auth, body=packed, extra=[("Content-Encoding", coding)])
        assert reply.status == spec.probe.success.status, (coding, reply.status, reply.body[:200])
    assert {e["body"] for e in server.entries()} == {body.decode()}


@pytest.mark.parametrize("provider", IDS)
def test_a_plain_body_labelled_gzip_is_a_bad_request_after_auth(running: Any, provider: str) -> None:
    """`Content-Encoding: gzip` on a plain body (a 500 and a traceback before): a client error for a
    request past the credential; a request without one still gets its auth failure first."""
    spec = SPECS[provider]
    server = running(provider)
    auth = spec.credential.render(_key(server))
    for coding in ("gzip", "deflate", "x-gzip"):
        labelled = [("Content-Encoding", coding)]
        reply = probe_request(server.base_url, spec, auth, body=_body(spec), extra=labelled)
        assert reply.status == _bad_request_status(spec), (coding, reply.status)
        anonymous = probe_request(server.base_url, spec, None, body=_body(spec), extra=labelled)
        assert anonymous.status == spec.failures["missing"].status, (coding, anonymous.status)
        wrong = probe_request(server.base_url, spec, spec.credential.render("x" * 8), body=_body(spec), extra=labelled)
        assert wrong.status < 500 and wrong.status != spec.probe.success.status


@pytest.mark.parametrize("provider", IDS)
def test_other_codings_are_415_naming_what_works(running: Any, provider: str) -> None:
    """RFC 9110 §8.4 / §15.5.16: a coding the mock does not decode is 415 with Accept-Encoding."""
    spec = SPECS[provider]
    server = running(provider)
    auth = spec.credential.render(_key(server))
    for coding in ("br", "zstd", "x-custom", "compress", "gzip, gzip, gzip, gzip, gzip"):
        reply = probe_request(server.base_url, spec, auth, body=_body(spec), extra=[("Content-Encoding", coding)])
        assert reply.status == 415 and reply.header("Accept-Encoding") == "gzip, deflate", (coding, reply.status)
        anonymous = probe_request(server.base_url, spec, None, body=_body(spec), extra=[("Content-Encoding", coding)])
        assert anonymous.status == spec.failures["missing"].status


@pytest.mark.parametrize("provider", IDS)
def test_a_gzip_bomb_is_413_in_bounded_time(running: Any, provider: str) -> None:
    """200 MiB of zeros gzipped: decoding stops past the 1 MiB bound (413) at once; anonymous: 401 first."""
    spec = SPECS[provider]
    server = running(provider)
    began = time.monotonic()
    reply = probe_request(server.base_url, spec, spec.credential.render(_key(server)), body=BOMB, extra=[("Content-Encoding", "gzip")])
    assert reply.status == 413
    assert probe_request(server.base_url, spec, None, body=BOMB, extra=[("Content-Encoding", "gzip")]).status == spec.failures["missing"].status
    assert time.monotonic() - began < 10.0


@pytest.mark.parametrize("provider", IDS)
def test_codings_on_every_other_path(running: Any, provider: str) -> None:
    """Admin, exchange and unknown paths: a plain body labelled gzip, a bomb, an unknown coding are
    client errors (never a 500); a gzipped admin mint works."""
    spec = SPECS[provider]
    server = running(provider)
    ct = ("Content-Type", "application/json")
    targets = [ADMIN_PREFIX + "keys", ADMIN_PREFIX + "reset", ADMIN_PREFIX + "nothing", "/elsewhere"]
    if spec.exchange is not None:
        targets.append(spec.exchange.path)
    statuses = {}
    for target in targets:
        for coding, body in (("gzip", b'{"a": 1}'), ("gzip", BOMB), ("br", b"{}"), ("deflate", b"\x78\x9c")):
            statuses[(target, coding, len(body))] = send(server.base_url, "POST", target, [ct, ("Content-Encoding", coding)], body).status
    assert max(statuses.values()) < 500, statuses  # reset ignores its body: 200 is right there
    reading = [t for t in targets if t == ADMIN_PREFIX + "keys" or t == getattr(spec.exchange, "path", None)]
    assert all(400 <= s < 500 for (t, _, _), s in statuses.items() if t in reading), statuses
    assert statuses[(ADMIN_PREFIX + "keys", "br", 2)] == 415
    minted = send(server.base_url, "POST", ADMIN_PREFIX + "keys", [ct, ("Content-Encoding", "gzip")], gzip.compress(b'{"state": "valid"}'))
    assert minted.status == 200 and json.loads(minted.body)["state"] == "valid"


# -- the wait for a body: idle time between its bytes, and a total cap -------------------------------
def _open(base_url: str, head: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", int(base_url.rsplit(":", 1)[1])), timeout=10)
    sock.sendall(head)
    return sock


def _status_line(sock: socket.socket) -> tuple[bytes, float]:
    began = time.monotonic()
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    return data.split(b"\r\n")[0], time.monotonic() - began


def _head(spec: ProviderSpec, auth: str | None, length: int) -> bytes:
    lines = [f"{spec.probe.method} {spec.probe.path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}",
             "Content-Type: " + (spec.probe.content_type or "application/json")]
    if auth is not None:
        lines.append(f"{spec.credential.header}: {auth}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Head deadline 1 s, body idle 0.5 s, body total 3 s (read per connection, so running mocks take them)."""
    monkeypatch.setattr(QuietRequestHandler, "head_timeout", 1.0)
    monkeypatch.setattr(QuietRequestHandler, "body_idle", 0.5, raising=False)
    monkeypatch.setattr(QuietRequestHandler, "body_total", 3.0, raising=False)


@pytest.mark.parametrize("provider", IDS)
def test_a_body_that_never_arrives_is_answered_at_the_idle_bound(running: Any, provider: str, short_waits: None) -> None:
    """A declared body that never comes (held open 90 s and more before): 408 and closed once no byte
    came for body_idle; without a credential, the auth failure instead."""
    spec = SPECS[provider]
    server = running(provider)
    for auth, expected in ((spec.credential.render(_key(server)), b" 408 "), (None, f" {spec.failures['missing'].status} ".encode())):
        sock = _open(server.base_url, _head(spec, auth, 100) + b"{")
        line, took = _status_line(sock)
        sock.close()
        assert expected in line and took < 5.0, (line, took)


def test_a_slow_but_live_body_is_not_cut(running: Any, short_waits: None) -> None:
    """A byte every 0.2 s for 2.4 s (past the 1 s head deadline, which cut it before) is answered whole."""
    spec = SPECS[IDS[0]]
    server = running(IDS[0])
    body = b"{" + b" " * 10 + json.dumps(json.loads(_body(spec)))[1:].encode()
    sock = _open(server.base_url, _head(spec, spec.credential.render(_key(server)), len(body)))
    step = max(1, len(body) // 12)
    for i in range(0, len(body), step):
        time.sleep(0.2)
        sock.sendall(body[i:i + step])
    line, _ = _status_line(sock)
    sock.close()
    assert f" {spec.probe.success.status} ".encode() in line, line


def test_a_body_past_the_total_cap_is_408(running: Any, short_waits: None) -> None:
    """A live body still coming after body_total (a byte every 0.2 s of 1,000) is answered 408 near the cap."""
    spec = SPECS[IDS[0]]
    server = running(IDS[0])
    sock = _open(server.base_url, _head(spec, spec.credential.render(_key(server)), 1000))
    began = time.monotonic()
    line = b""
    sock.settimeout(0.2)
    while time.monotonic() - began < 8.0:
        try:
            sock.sendall(b" ")
            line = sock.recv(100).split(b"\r\n")[0]
            break
        except socket.timeout:
            continue
        except OSError:
            break
    took = time.monotonic() - began
    sock.close()
    assert b" 408 " in line and 2.5 < took < 6.0, (line, took)


def test_a_stream_of_empty_gzip_members_is_refused_not_decoded_member_by_member() -> None:
    """1 MiB of empty gzip members, gzipped again (2.6 KB on the wire), cost 1.5 s of the event loop
    (each member restarted the inflater on the rest); past MAX_MEMBERS it is a bad coding. A few
    members, as RFC 1952 §2.2 allows, still decode."""
    from mocks._body import MAX_MEMBERS, BodyProblem, decode

    member = gzip.compress(b"", mtime=0)
    inner = member * ((1 << 20) // len(member))
    with pytest.raises(BodyProblem) as refused:
        decode("gzip, gzip", gzip.compress(inner, 9, mtime=0), 1 << 20)
    assert refused.value.name == "bad_coding"
    some = b"".join(gzip.compress(b"%d," % i, mtime=0) for i in range(MAX_MEMBERS))
    assert decode("gzip", some, 1 << 20) == b"".join(b"%d," % i for i in range(MAX_MEMBERS))
