"""The mock's robustness on the wire: raw header bytes never get a 5xx (helpers: tests/_helpers.py)."""
from __future__ import annotations

import http.client
from typing import Any

import pytest

from _helpers import IDS, SPECS, probe_request

# -- the mock on the wire: never a 5xx, whatever the header bytes ------------------------------------
ODD_VALUES: list[bytes] = [
    b"Bearer caf\xc3\xa9",  # UTF-8
    b"Token \xe9\xe8\xff",  # Latin-1, invalid UTF-8
    b"\xef\xbc\xa2earer abc",  # fullwidth B
    b"B\xd0\xb5arer abc",  # Cyrillic e
    b"Bearer \x01\x02\x7f",  # C0 controls and DEL
    b"Bearer a\tb",
    b"\t Bearer  abc \t",
    b"Bearer " + b"A" * 6000,
    b"Bearer \xe2\x80\x8babc",  # zero-width space
    b"=",
    b"Bearer ===",
    b'Bearer "abc"',
    b"Bearer token=abc",
    b"Token,Bearer",
]


@pytest.mark.parametrize("provider", IDS)
def test_no_5xx_for_odd_header_bytes(running: Any, provider: str) -> None:
    """No header value the HTTP parser lets through makes the mock answer 5xx or drop the line."""
    server = running(provider)
    spec = SPECS[provider]
    for value in ODD_VALUES:
        reply = probe_request(server.base_url, spec, value)
        assert 400 <= reply.status < 500, f"{value[:30]!r} -> {reply.status}"


@pytest.mark.parametrize("provider", IDS)
def test_parser_rejections_are_4xx(running: Any, provider: str) -> None:
    """What aiohttp's parser refuses (NUL, bare CR) still gets a 4xx, never a 5xx."""
    server = running(provider)
    spec = SPECS[provider]
    for value in (b"Bearer a\x00b", b"Bearer a\rb"):
        try:
            reply = probe_request(server.base_url, spec, value)
        except (ConnectionError, http.client.HTTPException):
            continue  # the parser may also just close the connection: not a 5xx either
        assert 400 <= reply.status < 500


def test_raw_send_reaches_the_mock_with_duplicates(running: Any) -> None:
    """The raw helper really sends duplicate lines (the duplicate_header tests depend on it)."""
    spec = SPECS["cloro"]
    server = running("cloro")
    probe_request(server.base_url, spec, ["Bearer a", "Bearer b"])
    entry = server.entries()[-1]
    assert entry["credential"]["header_lines"] == 2
