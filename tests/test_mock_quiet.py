"""The mock's own parser-level error answers never quote the request (and so never a key)."""
from __future__ import annotations

import json
import socket
import ssl
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from _helpers import IDS, SPECS, send, stop

ROOT = Path(__file__).resolve().parent.parent

BAD_HEADS = [
    b"Authorization: Bearer %s\x01\r\n",  # control character: aiohttp's parser quotes the line
    b"Authorization: Bearer %s\r\n folded\r\n",  # obs-fold
    b"Authorization : Bearer %s\r\n",  # space before the colon
    b"Authorization: Bearer %s\x00\r\n",  # NUL
]


@pytest.mark.parametrize("provider", ["cloro", "crux"])
def test_parser_errors_quote_nothing_in_body_or_log(provider: str) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "mocks", "serve", provider, "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        key = line["keys"]["valid"].encode()
        port = int(line["base_url"].rsplit(":", 1)[1])
        answers = []
        for head in BAD_HEADS:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head % key + b"Content-Length: 0\r\n\r\n")
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            answers.append(data)
    finally:
        _, err = stop(proc, 10)
    assert proc.returncode == 0
    assert all(a.startswith(b"HTTP/1.") and b" 400 " in a.split(b"\r\n")[0] for a in answers), [a[:40] for a in answers]
    leaked = [i for i, a in enumerate(answers) if key[:6] in a or key[-6:] in a]
    assert not leaked, f"error answers {leaked} quote the credential"
    assert key[:6] not in err and key[-6:] not in err, "the mock's log quotes the credential"


def test_a_head_that_never_completes_is_closed_and_others_are_served(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow-loris head is cut at the deadline; a whole request on another connection is answered."""
    import asyncio
    import time

    from mocks import build_app
    from mocks._protocol import QuietRequestHandler
    from mocks._serve import start

    monkeypatch.setattr(QuietRequestHandler, "head_timeout", 0.5)

    async def scenario() -> tuple[float | None, bytes]:
        runner, url = await start(build_app("cloro"), "127.0.0.1", 0)
        port = int(url.rsplit(":", 1)[1])
        try:
            slow_r, slow_w = await asyncio.open_connection("127.0.0.1", port)
            began = time.monotonic()
            closed_after = None
            for byte in b"POST /v1/monitor HTTP/1.1\r\nHost: 127.0.0.1\r\n":
                slow_w.write(bytes([byte]))
                try:
                    if await asyncio.wait_for(slow_r.read(1), 0.1) == b"":
                        closed_after = time.monotonic() - began
                        break
                except asyncio.TimeoutError:
                    continue
            fast_r, fast_w = await asyncio.open_connection("127.0.0.1", port)
            fast_w.write(b"POST /v1/monitor HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
            status = await asyncio.wait_for(fast_r.readline(), 5)
            fast_w.close()
            slow_w.close()
            return closed_after, status
        finally:
            await runner.cleanup()

    closed_after, status = asyncio.run(scenario())
    assert closed_after is not None and 0.4 <= closed_after < 3.0, closed_after
    assert status.startswith(b"HTTP/1.1 401"), status


def _serve(provider: str, *args: str) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """`python -m mocks serve ID --port 0 ARGS`, stderr piped; (process, serve line)."""
    proc = subprocess.Popen([sys.executable, "-m", "mocks", "serve", provider, "--port", "0", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
    return proc, line


def _close_mid_body(port: int, target: bytes, reset: bool, tls: ssl.SSLContext | None = None) -> None:
    """Send a head declaring 100 body bytes and 3 of them, then close (RST when `reset`)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if tls is not None:
        sock = tls.wrap_socket(sock, server_hostname="127.0.0.1")
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.sendall(b"POST " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{\"a")
    time.sleep(0.05)  # the head is parsed and the handler waits for the body
    sock.close()


def _close_early(port: int, data: bytes, reset: bool) -> None:
    """Send `data` (part of a head, or a whole request whose answer is never read), then close."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sendall(data)


@pytest.mark.parametrize("provider", IDS)
def test_clients_closing_mid_request_print_nothing(provider: str) -> None:
    """Closes mid-body (every route kind), mid-head, before the answer is read, and mid-TLS write no
    line to stderr: a client's disconnect is not the mock's error (before: ~18 lines per close)."""
    spec = SPECS[provider]
    targets = [spec.probe.path, "/__authconform__/keys", "/elsewhere"]
    if spec.exchange is not None:
        targets.append(spec.exchange.path)
    proc, line = _serve(provider)
    tls_proc, tls_line = _serve(provider, "--tls")
    try:
        port = int(line["base_url"].rsplit(":", 1)[1])
        tls_port = int(tls_line["base_url"].rsplit(":", 1)[1])
        tls = ssl.create_default_context(cafile=tls_line["ca_bundle"])
        for target in targets:
            for reset in (False, True):
                _close_mid_body(port, target.encode(), reset)
                _close_mid_body(tls_port, target.encode(), reset, tls)
                _close_early(port, b"POST " + target.encode() + b" HTTP/1.1\r\nHost: 1", reset)
                _close_early(port, b"GET " + target.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", reset)
                _close_early(tls_port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", reset)  # half a ClientHello
        # The mock still answers afterwards.
        answer = send(line["base_url"], spec.probe.method, spec.probe.path)
        assert answer.status == spec.failures["missing"].status
    finally:
        errs = []
        for p in (proc, tls_proc):
            errs.append(stop(p, 10)[1])
    assert proc.returncode == 0 and tls_proc.returncode == 0
    assert errs == [b"", b""], [e.decode(errors="replace")[:600] for e in errs]


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "plain"])
def test_an_idle_keep_alive_connection_is_closed_at_the_head_deadline(monkeypatch: pytest.MonkeyPatch, fast_path: bool) -> None:
    """After a whole request and its answer, a keep-alive connection that stays idle is closed at the
    head deadline, with the fast path as without it (an idle slot must not be held for aiohttp's
    default hour)."""
    import asyncio
    import time

    from mocks import MOCK, build_app
    from mocks._protocol import QuietRequestHandler
    from mocks._serve import start

    monkeypatch.setattr(QuietRequestHandler, "head_timeout", 0.5)
    spec = SPECS[IDS[0]]
    app = build_app(spec, fast_path=fast_path)
    key = app[MOCK].keys()["valid"]

    async def scenario() -> tuple[bytes, float | None]:
        runner, url = await start(app, "127.0.0.1", 0)
        port = int(url.rsplit(":", 1)[1])
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            body = spec.probe.encode() if spec.probe.body is not None else b""
            head = (f"{spec.probe.method} {spec.probe.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"{spec.credential.header}: {spec.credential.render(key)}\r\n"
                    f"Content-Type: {spec.probe.content_type or 'application/json'}\r\nContent-Length: {len(body)}\r\n\r\n")
            writer.write(head.encode() + body)
            status = await asyncio.wait_for(reader.readline(), 5)
            began = time.monotonic()
            closed_after = None
            while time.monotonic() - began < 5:  # bounded: the deadline is 0.5 s
                if await asyncio.wait_for(reader.read(65536), 5) == b"":
                    closed_after = time.monotonic() - began
                    break
            writer.close()
            return status, closed_after
        finally:
            await runner.cleanup()

    status, closed_after = asyncio.run(scenario())
    assert status.startswith(f"HTTP/1.1 {spec.probe.success.status}".encode()), status
    assert closed_after is not None and closed_after < 3.0, closed_after
