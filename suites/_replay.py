"""How an exchange is shown: the request and response as text and a curl line that replays the
request. The caller redacts (every key becomes its placeholder) before anything is printed."""
from __future__ import annotations

import shlex

from ._transport import RawRequest, RawResponse

SHOWN_BODY = 2000


def _shell(data: bytes) -> str:
    """A shell word for bytes: plain quoting for printable ASCII, bash $'..' escapes otherwise."""
    if all(0x20 <= b < 0x7F for b in data):
        return shlex.quote(data.decode("ascii"))
    out = []
    for b in data:
        c = chr(b)
        if c in "\\'":
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append(f"\\x{b:02x}")
    return "$'" + "".join(out) + "'"


def curl_line(base_url: str, request: RawRequest) -> str:
    """A curl command that sends the request again (header lines in order, body as bytes)."""
    if request.raw_head is not None:
        head = request.raw_head.decode("latin-1")
        return f"(wire-level request; replay its bytes with printf {_shell(request.raw_head)} | nc) {head[:80]!r}"
    words = ["curl", "-sS", "-i", "-X", request.method, _shell((base_url.rstrip("/") + request.target).encode("latin-1", "replace"))]
    for name, value in request.headers:
        if not value.strip(b" \t"):
            # curl drops `Name:` with no value; `Name;` sends it empty. (Whitespace-only values
            # cannot be replayed with curl: it strips them.)
            words += ["-H", _shell(name + b";")]
        else:
            words += ["-H", _shell(name + b": " + value)]
    if request.body:
        words += ["--data-binary", _shell(request.body)]
    return " ".join(words)


def request_text(request: RawRequest, host: str) -> str:
    """The request as it went on the wire (body cut to SHOWN_BODY bytes)."""
    data = request.encode(host)
    head, _, body = data.partition(b"\r\n\r\n")
    return (head + b"\r\n\r\n" + body[:SHOWN_BODY]).decode("latin-1")


def response_text(response: RawResponse) -> str:
    """The response as text: status line, headers, body (cut to SHOWN_BODY bytes)."""
    if response.layer == "closed":
        return f"(no response: {response.error})"
    lines = [f"HTTP/1.1 {response.status} {response.reason}"] + [f"{n}: {v}" for n, v in response.headers]
    return "\r\n".join(lines) + "\r\n\r\n" + response.body[:SHOWN_BODY].decode("utf-8", "replace")
