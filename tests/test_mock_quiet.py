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
