"""The grammars a spec's strings must fit where they reach the wire, a regex engine or a file name.

Each function returns None for a good value, else one sentence saying what is wrong and what would
be right; the checks of specs/_wire.py attach the YAML path and line.
"""
from __future__ import annotations

import re

from ._contract import ADMIN_PREFIX, under_admin

# RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" /
# "`" / "|" / "~" / DIGIT / ALPHA (letters first: a generator drawing from it shrinks toward "A").
TCHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~"
# token = 1*tchar (auth-scheme, field-name, a media type's parts), as a pattern to build others with.
TOKEN_PATTERN = "[" + re.escape(TCHARS) + "]+"
TOKEN = re.compile(TOKEN_PATTERN)
# RFC 9110 §11.2: token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
# Its characters, "=" aside (trailing padding only, never in a key's alphabet), simplest first (a
# generator that shrinks toward the first reaches "0"). The one spelling: specs.TOKEN68, the mock's
# bytes pattern and the engine's alphabets are built from it.
TOKEN68_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-._~+/"
# RFC 3986 §3.3: path-absolute segments of pchar = unreserved / pct-encoded / sub-delims / ":" / "@".
# Percent-encoding is left out: the mock routes on the path as sent, and "%41" and "A" are the same
# path to a server (RFC 3986 §6.2.2.2) but not to a router comparing strings.
PCHAR_CLASS = r"[A-Za-z0-9._~!$&'()*+,;=:@-]"
_PCHAR = re.compile(PCHAR_CLASS + "*")
# RFC 3986 §3.2.2 host (reg-name of unreserved and dots, IPv4, or an IPv6 literal) and §3.2.3 port.
_ORIGIN = re.compile(r"https?://(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
# RFC 3986 §2: the characters a URI may hold (reserved, unreserved, "%" of pct-encoding).
_URI = re.compile(r"https?://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+")
# RFC 9110 §8.3.1: media-type = type "/" subtype parameters; parameter value token or quoted-string.
_MEDIA_TYPE = re.compile(
    TOKEN_PATTERN + "/" + TOKEN_PATTERN
    + r"(?:[ \t]*;[ \t]*" + TOKEN_PATTERN + "=(?:" + TOKEN_PATTERN + r"|\"(?:[\t !#-\[\]-~]|\\[\t -~])*\"))*"
)
# A page copy's file name in pages/: one plain name, never a path (no "/", no "..", no leading dot).
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

# Header fields a spec may not use for a credential or require on an answer, and why: they belong
# to the connection or the message framing, which the HTTP layer (client, server, proxy) owns.
RESERVED_HEADERS: dict[str, str] = {
    "host": "RFC 9110 §7.2: Host names the target, every request carries it",
    "content-length": "RFC 9112 §6: Content-Length frames the message",
    "transfer-encoding": "RFC 9112 §6: Transfer-Encoding frames the message",
    "connection": "RFC 9110 §7.6.1: Connection is hop-by-hop",
    "keep-alive": "RFC 9110 §7.6.1: Keep-Alive is hop-by-hop",
    "proxy-connection": "RFC 9110 §7.6.1: Proxy-Connection is hop-by-hop",
    "te": "RFC 9110 §10.1.4: TE is hop-by-hop",
    "trailer": "RFC 9110 §6.6.2: Trailer frames the message",
    "upgrade": "RFC 9110 §7.8: Upgrade switches the protocol of the connection",
    "expect": "RFC 9110 §10.1.1: Expect makes the server answer 100-continue before the body",
    "content-type": "RFC 9110 §8.3: Content-Type describes the body, which the probe and the answers set",
    "content-encoding": "RFC 9110 §8.4: Content-Encoding says how the body is encoded",
}
# RFC 9110 §11.7: Proxy-Authenticate / Proxy-Authorization and the other Proxy-* fields are for
# the proxy on the way, which consumes them.
_PROXY = "RFC 9110 §11.7: Proxy-* fields are meant for, and consumed by, a proxy on the way"


def shown_char(c: str) -> str:
    """A character as a reader can see it: 'a', or U+000D for an invisible one."""
    return repr(c) if c.isprintable() and c.isascii() and c != " " else f"U+{ord(c):04X}"


def reserved_header(name: str) -> str | None:
    """Why a header name is owned by the HTTP layer, or None."""
    low = name.lower()
    if low.startswith("proxy-"):
        return _PROXY
    return RESERVED_HEADERS.get(low)


def field_name_problem(name: str) -> str | None:
    """A header name must be an RFC 9110 §5.1 token."""
    if not TOKEN.fullmatch(name):
        bad = next((c for c in name if not TOKEN.fullmatch(c)), None)
        what = f"the character {shown_char(bad)}" if bad else "nothing"
        return f"{name!r} is not a header name: it holds {what} (RFC 9110 §5.1: a name is a token)"
    return None


def field_value_problem(value: str) -> str | None:
    """A header value the spec supplies: RFC 9110 §5.5 field-value, visible ASCII, SP and HTAB inside."""
    for i, c in enumerate(value):
        if c in "\r\n\0":
            return (f"holds {shown_char(c)} at index {i}: a header value never contains CR, LF or NUL "
                    "(RFC 9110 §5.5); they would split or break the answer")
        if c != "\t" and not " " <= c <= "~":
            what = "a control character" if ord(c) < 0x80 or 0x80 <= ord(c) < 0xA0 else "a non-ASCII character"
            return (f"holds {what} {shown_char(c)} at index {i}: a header value is visible ASCII, SP and HTAB "
                    "(RFC 9110 §5.5; obs-text is obsolete)")
    if value != value.strip(" \t"):
        return "starts or ends with whitespace, which is not part of a field value (RFC 9110 §5.5)"
    return None


def pattern_problem(pattern: str) -> str | None:
    """A header regex may not hold raw control characters (a value matching it could not be sent)."""
    for i, c in enumerate(pattern):
        if (ord(c) < 0x20 and c != "\t") or 0x7F <= ord(c) < 0xA0:
            return f"holds the control character {shown_char(c)} at index {i}; write it as an escape if you mean to match it"
    return None


def path_problem(path: str) -> str | None:
    """A request path: RFC 3986 §3.3 path-absolute of plain pchar and "/", no query or fragment."""
    if not path.startswith("/"):
        return f"{path!r} does not start with '/'"
    for segment in path[1:].split("/"):
        if not _PCHAR.fullmatch(segment):
            bad = next(c for c in segment if not _PCHAR.fullmatch(c))
            return (f"{path!r} holds {shown_char(bad)}: a path is ASCII letters, digits, \"-._~!$&'()*+,;=:@\" "
                    "and '/' (RFC 3986 §3.3; no query, fragment, spaces, controls or percent-encoding)")
    if under_admin(path):
        return f"{path!r} is under {ADMIN_PREFIX}, where the mock's admin API lives"
    return None


def media_type_problem(value: str) -> str | None:
    """A Content-Type value: RFC 9110 §8.3.1 media-type with optional parameters."""
    if not _MEDIA_TYPE.fullmatch(value):
        return f"{value!r} is not a media type such as 'application/json; charset=utf-8' (RFC 9110 §8.3.1)"
    return None


def origin_problem(url: str) -> str | None:
    """A base URL: scheme, host and optional port, nothing else (RFC 3986 §3.2)."""
    if not _ORIGIN.fullmatch(url):
        return f"{url!r} is not a base URL such as 'https://api.example.com' or 'http://127.0.0.1:8080' (RFC 3986 §3.2)"
    return None


def url_problem(url: str) -> str | None:
    """A link: an http(s) URL of RFC 3986 §2 characters (no spaces, controls or raw non-ASCII)."""
    if not _URI.fullmatch(url):
        return f"{url!r} is not an http(s) URL: spaces, controls and raw non-ASCII characters are percent-encoded (RFC 3986 §2)"
    return None


def file_name_problem(name: str) -> str | None:
    """A page copy's name: one file in the spec folder's pages/, never a path."""
    if not _FILE_NAME.fullmatch(name):
        return f"{name!r} is not a plain file name (letters, digits, '._-'; no '/', no leading dot): it names a file in pages/"
    return None


def alphabet_chars(alphabet: str) -> str:
    """The characters of a key alphabet: single characters and ranges (`A-Za-z0-9`), `\\-` a literal '-'.

    Strict on purpose: every character must be a token68 character (RFC 9110 §11.2) other than '=',
    no negation, no escapes but `\\-`, ranges ascending; ValueError says what is wrong.
    """
    # (character, escaped): an escaped '-' is a literal, an unescaped one between two items a range.
    items: list[tuple[str, bool]] = []
    i = 0
    while i < len(alphabet):
        if alphabet[i] == "\\":
            if alphabet[i + 1:i + 2] != "-":
                raise ValueError(f"only '\\-' may be escaped (a literal '-'), found {alphabet[i:i + 2]!r}")
            items.append(("-", True))
            i += 2
        else:
            items.append((alphabet[i], False))
            i += 1
    if items and items[0] == ("^", False):
        raise ValueError("a negated class ('^...') has no finite set of characters; list the characters a key holds")
    chars: list[str] = []
    j = 0
    while j < len(items):
        if j + 2 < len(items) and items[j + 1] == ("-", False):
            lo, hi = items[j][0], items[j + 2][0]
            if ord(lo) > ord(hi):
                raise ValueError(f"the range {lo}-{hi} runs backwards")
            span = [chr(o) for o in range(ord(lo), ord(hi) + 1)]
            j += 3
        else:
            span = [items[j][0]]
            j += 1
        for ch in span:
            if ch not in TOKEN68_CHARS:
                raise ValueError(f"{shown_char(ch)} is not a token68 character (RFC 9110 §11.2: letters, digits, '-._~+/')")
            chars.append(ch)
    out = "".join(dict.fromkeys(chars))
    if not out:
        raise ValueError("an empty alphabet")
    return out
