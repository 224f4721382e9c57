"""The mock's own parser-level error answers never quote the request (and so never a key)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

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
        proc.terminate()
        _, err = proc.communicate(timeout=10)
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
