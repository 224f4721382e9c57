"""The probe route's direct dispatch, the journal's bounds and packing, the redactor's memo.

The mock sends probe-path requests straight to their handler (mocks/_fastpath.py, direct
dispatch); these tests pin that it answers exactly as the router would, that what it must not
take (other paths, `Expect: 100-continue`) still goes through the router, and that it is really
in use. tests/test_fastpath.py compares the fast path with the plain one request by request.
"""
from __future__ import annotations

import random
import socket
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

from mocks._decide import Head
from mocks._journal import Journal
from mocks._keys import KeyStore
from mocks._thread import MockServer
from mocks._redact import Redactor
from mocks._decide import compile_plan, decide
from mocks import _journal
from specs import _redaction
from _helpers import IDS, SPECS, admin, percent_encoded, probe_request


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, MockServer]]:
    """One mock per provider, with a counter of the router's lookups."""
    out: dict[str, MockServer] = {}
    for provider in IDS:
        server = MockServer(SPECS[provider], rate_limit=False)
        router = server.app.router
        server.resolved = 0  # type: ignore[attr-defined]
        resolve = router.resolve

        async def counted(request: Any, server: MockServer = server, resolve: Any = resolve) -> Any:
            server.resolved += 1  # type: ignore[attr-defined]
            return await resolve(request)

        router.resolve = counted  # type: ignore[method-assign]
        out[provider] = server.start()
    yield out
    for server in out.values():
        server.stop()


@pytest.mark.parametrize("provider", IDS)
def test_direct_and_routed_answers_are_the_same(servers: dict[str, MockServer], provider: str) -> None:
    """Exact path, path with a query, percent-encoded path: one answer, journaled alike; only the last is routed."""
    spec, server = SPECS[provider], servers[provider]
    server.reset()
    key = server.state.keys()["valid"]
    auths = [spec.credential.render(key), None, spec.credential.render(key[:-1] + ("1" if key[-1] == "0" else "0"))]
    targets = [spec.probe.path, spec.probe.path + "?page=1", percent_encoded(spec.probe.path)]
    before = server.resolved  # type: ignore[attr-defined]
    statuses = []
    for auth in auths:
        replies = [probe_request(server.base_url, spec, auth, target=t) for t in targets]
        assert len({(r.status, r.body) for r in replies}) == 1, [(t, r.status) for t, r in zip(targets, replies)]
        statuses += [r.status for r in replies]
    # The router saw the percent-encoded requests only: the others took the direct path.
    assert server.resolved - before == len(auths)  # type: ignore[attr-defined]
    _, journal = admin(server.base_url, "GET", "journal")
    assert [(e["outcome"]["status"], e["query"]) for e in journal["entries"]] == [
        (status, [["page", "1"]] if i % 3 == 1 else []) for i, status in enumerate(statuses)]


@pytest.mark.parametrize("provider", IDS)
def test_paths_that_only_start_like_the_probe_are_not_taken(servers: dict[str, MockServer], provider: str) -> None:
    """`<probe>x` and `<probe>/` are other paths: the spec's 404, not the probe's answer."""
    spec, server = SPECS[provider], servers[provider]
    key = server.state.keys()["valid"]
    not_found = spec.failures["not_found"].status if "not_found" in spec.failures else 404
    for target in (spec.probe.path + "x", spec.probe.path + "/"):
        reply = probe_request(server.base_url, spec, spec.credential.render(key), target=target)
        assert reply.status == not_found != spec.probe.success.status, (target, reply.status)


@pytest.mark.parametrize("provider", IDS)
def test_expect_100_continue_on_the_probe_path_gets_its_interim_answer(servers: dict[str, MockServer], provider: str) -> None:
    """A client that waits for `100 Continue` before its body (curl does, for large bodies) gets it, then the answer."""
    spec, server = SPECS[provider], servers[provider]
    parts = urlsplit(server.base_url)
    body = spec.probe.encode()
    head = [f"{spec.probe.method} {spec.probe.path} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}",
            "Expect: 100-continue", f"Content-Length: {len(body)}", "Connection: close"]
    if spec.probe.content_type:
        head.append(f"Content-Type: {spec.probe.content_type}")
    data = ("\r\n".join(head) + "\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(data)
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim[:40]
        sock.sendall(body)
        rest = b""
        while chunk := sock.recv(65536):
            rest += chunk
    final = interim.split(b"\r\n\r\n", 1)[1] + rest
    assert final.startswith(f"HTTP/1.1 {spec.failures['missing'].status} ".encode()), final[:40]


# -- the journal: bounded by entries and by bytes, repeated requests packed small ------------------
def _journal_with(spec_id: str, n: int, distinct: bool, **bounds: Any) -> tuple[Journal, Any, KeyStore]:
    spec = SPECS[spec_id]
    plan, store = compile_plan(spec), KeyStore(spec, seed="bounds")
    journal = Journal(**bounds)
    auth = spec.credential.render(store.roles["valid"].value).encode()
    rng = random.Random(7)
    def fresh(data: bytes) -> bytes:
        # aiohttp parses each request into new objects: equal values, distinct objects (bytes(b)
        # would hand back b itself, and marshal would then share it without any help).
        return bytes(bytearray(data))

    for i in range(n):
        body = bytes(rng.randrange(97, 123) for _ in range(300)) if distinct else fresh(b'{"url":"https://example.com"}')
        headers = ((fresh(b"Host"), fresh(b"127.0.0.1:1")), (fresh(b"Authorization"), fresh(auth)))
        head = Head("POST", "".join([spec.probe.path, "?x=1"]), headers, body)
        journal.add(head, "".join(["127.0.0.", "1"]), decide(plan, head, store, 0.0), None)
    return journal, plan, store


def test_journal_is_bounded_by_bytes() -> None:
    """Past `max_bytes`, the oldest chunks go; the newest entries stay, numbered, and `dropped` counts the rest."""
    journal, plan, store = _journal_with("cloro", 3000, distinct=True, max_bytes=64 * 1024)
    assert journal.size <= 64 * 1024 + 300 * _journal.CHUNK and len(journal) < 3000
    entries = journal.entries(plan, store)
    assert [e["seq"] for e in entries] == list(range(3001 - len(entries), 3001))
    assert journal.dropped == 3000 - len(entries) > 0


def test_a_bound_under_one_chunk_still_keeps_the_newest_chunk() -> None:
    """A tiny byte bound never empties the journal: the last chunk packed stays."""
    journal, plan, store = _journal_with("claid", 3 * _journal.CHUNK, distinct=True, max_bytes=1)
    assert len(journal) == _journal.CHUNK and journal.entries(plan, store)[-1]["seq"] == 3 * _journal.CHUNK


def test_repeated_requests_pack_small() -> None:
    """Equal requests are stored once per chunk: many times smaller than distinct ones, read back the same."""
    same, plan, store = _journal_with("cloro", 4 * _journal.CHUNK, distinct=False)
    other, _, _ = _journal_with("cloro", 4 * _journal.CHUNK, distinct=True)
    assert same.size * 5 < other.size, (same.size, other.size)
    # Stored once per chunk: about 47 bytes an entry here, against about 190 with each kept apart.
    assert same.size < 64 * len(same), same.size / len(same)
    entries = same.entries(plan, store)
    assert len({(e["path"], tuple(map(tuple, e["headers"])), e["body"]) for e in entries}) == 1
    assert entries[0]["headers"][1] == ["Authorization", f"{SPECS['cloro'].credential.scheme} <key:k1>"]


def test_shared_work_gives_the_entries_one_by_one_would() -> None:
    """Entries worked out once per distinct request equal entries worked out each on its own."""
    spec = SPECS["crux"]
    plan, store = compile_plan(spec), KeyStore(spec, seed="shared")
    journal = Journal()
    auth = spec.credential.render(store.roles["valid"].value).encode()
    name = spec.credential.header.encode()
    # Requests that repeat, mixed with ones differing in target, header value or body only.
    for i in range(600):
        target = "".join([spec.probe.path, "?page=" if i % 3 else "", str(i % 2) if i % 3 else ""])
        headers = ((bytes(bytearray(name)), bytes(bytearray(auth if i % 5 else auth[:-1] + b"0"))),
                   (b"User-Agent", f"client/{i % 4}".encode()))
        body = bytes(bytearray(b"{}" if i % 7 else b'{"a":1}'))
        head = Head(spec.probe.method, target, headers, body)
        journal.add(head, "127.0.0.1", decide(plan, head, store, 0.0), None)
    redact = Redactor(store.secrets())
    alone = [_journal._entry(e, _journal._derived(plan, store, redact, e)) for e in journal._rows()]
    assert journal.entries(plan, store) == alone


# -- the redactor's memo changes nothing but the time ------------------------------------------------
def test_redactor_memo_gives_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Texts seen again are redacted as the first time; the memo stops growing at its limit."""
    monkeypatch.setattr(_redaction, "MEMO_LIMIT", 50)
    secrets = [("sk_live_abcdefghijklmnop", "key:k1"), ("Zx9Yw8Vu7Ts6", "key:k2")]
    rng = random.Random(3)
    texts = [rng.choice(["Bearer ", "", "x="]) + rng.choice([s for s, _ in secrets] + ["plain", "sk_live_abcdef"])
             + rng.choice(["", "!", "ABC"]) for _ in range(400)]
    memo = Redactor(secrets)
    for text in texts + texts:
        fresh = Redactor(secrets)
        assert (memo(text), memo.labels(text)) == (fresh(text), fresh.labels(text))
    assert len(memo._memo) <= 50
    assert "sk_live" not in " ".join(memo(t) for t in texts) and "<key:k1:partial>" in " ".join(memo(t) for t in texts)


# -- the gate says when its journal bound dropped requests ------------------------------------------
def test_gate_says_when_its_journal_dropped_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client run longer than the gate's journal: the summary line and the JSON say how many were not judged."""
    import asyncio
    import io
    import sys

    from mocks import _gate, _gate_result

    spec = SPECS["cloro"]
    monkeypatch.setattr(_gate, "GATE_JOURNAL_ENTRIES", 4)
    client = (
        "import os, urllib.request\n"
        f"for _ in range(12):\n"
        f"    req = urllib.request.Request(os.environ['{spec.env_prefix}_BASE_URL'] + '{spec.probe.path}', "
        f"data={spec.probe.encode()!r}, method='{spec.probe.method}', headers={{'Content-Type': 'application/json', "
        f"'{spec.credential.header}': '{spec.credential.scheme} ' + os.environ['{spec.env_prefix}_API_KEY']}})\n"
        "    urllib.request.urlopen(req, timeout=5).read()\n"
    )
    result = asyncio.run(_gate.gate(spec, [sys.executable, "-c", client], timeout=60, out=io.BytesIO(), err=io.BytesIO()))
    assert result.client_exit == 0 and len(result.entries) < 12 and result.dropped == 12 - len(result.entries)
    assert f"dropped the {result.dropped} oldest" in _gate_result.table(result)
    assert _gate_result.report_json(result)["dropped"] == result.dropped


def test_the_parse_cache_stays_small_under_a_fuzzer() -> None:
    """Distinct and long header values do not grow the per-value cache; a client's repeated value is remembered."""
    from mocks import _decide

    spec = SPECS["flash"]
    plan, store = compile_plan(spec), KeyStore(spec, seed="cache")
    name = spec.credential.header.encode()
    rng = random.Random(5)
    for i in range(3 * _decide.PARSE_CACHE):
        size = rng.choice([20, 200, 2000, 8000])
        value = f"{spec.credential.scheme} ".encode() + bytes(rng.randrange(65, 91) for _ in range(size))
        decide(plan, Head(spec.probe.method, spec.probe.path, ((name, value),), spec.probe.encode()), store, 0.0)
    assert len(plan.parsed) <= _decide.PARSE_CACHE
    assert all(len(v) <= _decide.PARSED_VALUE_MAX for v in plan.parsed)
    mine = spec.credential.render(store.roles["valid"].value).encode()
    decide(plan, Head(spec.probe.method, spec.probe.path, ((name, mine),), spec.probe.encode()), store, 0.0)
    assert mine in plan.parsed



def test_sockets_are_read_in_64_kib_pieces_and_large_bodies_arrive_whole(servers: dict[str, MockServer]) -> None:
    """Each connection reads READ_SIZE at a time (not asyncio's 256 KiB); a 300 KB body still arrives whole."""
    from mocks._protocol import READ_SIZE

    spec, server = SPECS["claid"], servers["claid"]
    server.reset()
    parts = urlsplit(server.base_url)
    body = b"a" * 300_000
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(f"POST {spec.probe.path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        sock.sendall(body)
        assert sock.recv(65536).startswith(b"HTTP/1.1 ")
        runner = server._runner
        assert runner is not None and runner.server is not None
        sizes = {getattr(h.transport, "max_size", None) for h in runner.server.connections if h.transport}
        assert sizes == {READ_SIZE}, sizes
    _, journal = admin(server.base_url, "GET", "journal")
    assert len(journal["entries"][-1]["body"]) == len(body)


@pytest.mark.parametrize("provider", IDS)
def test_every_whole_key_is_labelled_with_its_own_id(provider: str) -> None:
    """Keys of one shape share slices (JWTs share their header segment); a whole key still gets its own label."""
    store = KeyStore(SPECS[provider], seed="labels")
    keys = list(store) + [store.mint("valid") for _ in range(3)]
    redact = Redactor(store.secrets())
    for key in keys:
        assert redact(f"Bearer {key.value}") == f"Bearer <key:{key.id}>", key.id


def test_serve_journal_mib_sets_the_bound_and_refuses_nonsense(capsys: pytest.CaptureFixture[str]) -> None:
    """`serve --journal-mib` reaches the journal; a bad size is a one-line usage error naming the range."""
    from mocks import build_app, MOCK
    from mocks.__main__ import build_parser
    from mocks._serve import run_options

    args = build_parser(["serve"]).parse_args(["serve", "claid", "--journal-mib", "0.5"])
    assert build_app(args.provider, **run_options(args))[MOCK].journal.max_bytes == 512 * 1024
    default = build_parser(["serve"]).parse_args(["serve", "claid"])
    assert build_app(default.provider, **run_options(default))[MOCK].journal.max_bytes == _journal.DEFAULT_MAX_BYTES
    for bad in ("0", "-1", "x", "nan", "5000"):
        with pytest.raises(SystemExit):
            build_parser(["serve"]).parse_args(["serve", "claid", "--journal-mib", bad])
        err = capsys.readouterr().err
        assert "0.0625..4096" in err and "Traceback" not in err
