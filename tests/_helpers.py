"""Helpers the project's own tests share (raw-socket requests to a mock, the specs by id, a naive
leak search, processes run together). Test modules import them from here, never from each other;
the shared fixtures are in tests/conftest.py.

The wire helpers use no suite code: tests of mocks/ must not depend on suites/.
"""
from __future__ import annotations

import base64
import http.client
import json
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import unquote, urlsplit

import pytest

from specs import ADMIN_PREFIX, MIN_RUN, ProviderSpec, load_all
from specs._redaction import fold

SPECS = {s.id: s for s in load_all()}
IDS = sorted(SPECS)


def having(capability: str) -> Any:
    """pytest parameters: every spec with a capability (`scopes`, `binding`, `exchange`, ...), by id.

    Tests of a capability take the specs that have it, never a provider named in the test.
    """
    return pytest.mark.parametrize("spec", [s for s in SPECS.values() if getattr(s, capability) is not None],
                                   ids=lambda s: s.id)
TIMEOUT = 10.0


@dataclass
class Reply:
    """One response: status, header pairs, body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def header_all(self, name: str) -> list[str]:
        """Every value of a header."""
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def send(base_url: str, method: str, target: str, headers: Sequence[tuple[str | bytes, str | bytes]] = (), body: bytes = b"") -> Reply:
    """Send one request as raw bytes (duplicate lines, odd bytes and all) and read the response."""
    parts = urlsplit(base_url)
    assert parts.hostname in ("127.0.0.1", "localhost"), "tests talk to 127.0.0.1 only"
    lines = [f"{method} {target} HTTP/1.1".encode("latin-1"), f"Host: {parts.hostname}:{parts.port}".encode()]
    lines += [_b(n) + b": " + _b(v) for n, v in headers]
    lines += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
    with socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        data = resp.read()
        return Reply(resp.status, resp.getheaders(), data)


def admin(base_url: str, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    """Call the admin API (`path` after specs.ADMIN_PREFIX); returns (status, parsed JSON)."""
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = [("Content-Type", "application/json")] if payload is not None else []
    reply = send(base_url, method, ADMIN_PREFIX + path, headers, body)
    return reply.status, reply.json()


def credential(spec: ProviderSpec, key: str) -> tuple[str, str]:
    """The canonical credential header for a key."""
    return spec.credential.header, spec.credential.render(key)


def probe_request(
    base_url: str,
    spec: ProviderSpec,
    auth: str | bytes | Sequence[str | bytes] | None = None,
    *,
    target: str | None = None,
    body: bytes | None = None,
    extra: Sequence[tuple[str | bytes, str | bytes]] = (),
    method: str | None = None,
) -> Reply:
    """Send the spec's probe with the given credential header value(s) (None: no header)."""
    values: list[str | bytes] = [] if auth is None else [auth] if isinstance(auth, (str, bytes)) else list(auth)
    headers: list[tuple[str | bytes, str | bytes]] = [(spec.credential.header, v) for v in values]
    if spec.probe.content_type:
        headers.append(("Content-Type", spec.probe.content_type))
    headers += list(extra)
    return send(base_url, method or spec.probe.method, target or spec.probe.path, headers, spec.probe.encode() if body is None else body)


def percent_encoded(path: str) -> str:
    """The same path with its last letter or digit percent-encoded (RFC 3986 §2.1): the router
    decodes it, the probe's fast path (mocks/_fastpath.py) compares it as sent and leaves it."""
    i = max(i for i, c in enumerate(path) if c.isalnum())
    return path[:i] + f"%{ord(path[i]):02X}" + path[i + 1:]


# -- an independent check: does a text still hold MIN_RUN characters of a secret? ---------------
def _holds(view: str, run: str, key: str) -> bool:
    """`run` (a slice of `key`) occurs in `view` as part of the key, not by chance inside a number.

    A run of digits alone (a hex key holds one more often than not) also occurs in timestamps,
    sizes and durations: found inside a longer string of digits, it counts only when that whole
    string of digits is part of the key too."""
    if not run.isdigit():
        return run in view
    at = view.find(run)
    while at >= 0:
        start, end = at, at + len(run)
        while start > 0 and view[start - 1].isdigit():
            start -= 1
        while end < len(view) and view[end].isdigit():
            end += 1
        if view[start:end] in key:
            return True
        at = view.find(run, at + 1)
    return False


def leftover(text: str, part: str) -> str | None:
    """The first MIN_RUN-run of `part` (any case, `+/` as `-_`) in the text, its percent-decoded
    form, or the base64 text of `part` (8 characters, 6 bytes, at any alignment); None if none."""
    views = [fold(text), fold(unquote(text))]
    low = fold(part)
    for i in range(len(low) - MIN_RUN + 1):
        if any(_holds(v, low[i : i + MIN_RUN], low) for v in views):
            return part[i : i + MIN_RUN]
    for pad in range(3):
        enc = fold(base64.b64encode(b"\0" * pad + part.encode()).decode()[4 if pad else 0 : -4])
        for i in range(len(enc) - 7):
            if any(enc[i : i + 8] in v for v in views):
                return enc[i : i + 8]
    return None


# A bound on each process run_together waits for.
CLI_TIMEOUT = 60


def stop(proc: subprocess.Popen, timeout: float = CLI_TIMEOUT, sig: int | None = signal.SIGTERM) -> tuple[Any, Any]:
    """Send `sig` (None: none, the test has signalled it already) to a process the test started and
    collect (stdout, stderr); one still running after `timeout` is SIGKILLed, so it never outlives
    its test, and the test fails saying so."""
    if sig is not None:
        proc.send_signal(sig)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"{' '.join(map(str, proc.args[:5]))} did not end within {timeout:.0f}s "
                             f"(killed); stderr ends: {err[-2000:]!r}") from None


def run_together(cases: dict[str, tuple[list[str], Path, dict[str, str]]]) -> dict[str, subprocess.CompletedProcess]:
    """Start every (command, folder, env) at once; wait for each (bounded), kill what overran."""
    procs = {name: subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, (cmd, cwd, env) in cases.items()}
    out = {}
    for name, proc in procs.items():
        try:
            stdout, stderr = proc.communicate(timeout=CLI_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        out[name] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return out
