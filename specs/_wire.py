"""Lint: every spec string that reaches the wire, a regex engine or a file name fits its grammar.

The JSON Schema says a field is a string; these rules say which strings a server can actually send
or a client carry: header names and values (RFC 9110 §5), paths (RFC 3986 §3.3), media types
(RFC 9110 §8.3.1), base URLs, key alphabets (token68), regexes RE2 compiles, plain file names.
A spec that passes here cannot make the mock send a broken answer or hang on a pattern.
"""
from __future__ import annotations

from typing import Any, Iterator

from . import _grammar as g
from ._headers import header_example
from ._model import TEMPLATE_VARIABLE
from ._regex import SpecRegexError, spec_regex

Problems = list[tuple[list[Any], str]]

# The fewest distinct keys a token shape must allow (see the alphabet check below).
MIN_KEY_SPACE = 2**32


def responses(raw: dict[str, Any]) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    """Every response the spec describes, with its YAML path: failures and variants, success, exchange."""
    for klass, d in raw.get("failures", {}).items():
        yield ["failures", klass], d
        for vname, v in (d.get("variants") or {}).items():
            yield ["failures", klass, "variants", vname], v
    yield ["probe", "success"], raw["probe"]["success"]
    if raw.get("exchange"):
        yield ["exchange", "failure"], raw["exchange"]["failure"]
    if raw.get("not_found"):
        yield ["not_found"], raw["not_found"]


def lint(raw: dict[str, Any]) -> Problems:
    """(yaml path, problem) for every string of the spec outside its grammar."""
    problems: Problems = []

    def check(where: list[Any], problem: str | None) -> None:
        if problem:
            problems.append((where, problem))

    cred = raw["credential"]
    check(["credential", "header"], g.field_name_problem(cred["header"]))
    why = g.reserved_header(cred["header"])
    if why:
        check(["credential", "header"], f"{cred['header']!r} cannot carry a credential: {why}")
    if cred.get("challenge"):
        check(["credential", "challenge", "value"], g.field_value_problem(cred["challenge"]["value"]))
    token = cred["token"]
    if token.get("alphabet") is not None:
        try:
            chars = g.alphabet_chars(token["alphabet"])
        except ValueError as exc:
            problems.append((["credential", "token", "alphabet"], f"{token['alphabet']!r}: {exc}"))
        else:
            length = token.get("length")
            # Too few keys of the shape: the mock cannot mint distinct keys (valid, expired, revoked
            # would be one), and a made-up wrong key of the right shape may be a valid one.
            if isinstance(length, int) and length > 0 and len(chars) ** length < MIN_KEY_SPACE:
                problems.append((["credential", "token", "alphabet"],
                                 f"{token['alphabet']!r}: {len(chars)} character(s) over {length} positions make fewer "
                                 f"than 2**32 keys; list more characters or give a longer length"))

    for part in ("probe", "exchange"):
        d = raw.get(part)
        if not d:
            continue
        check([part, "path"], g.path_problem(d["path"]))
        if d.get("content_type") is not None:
            check([part, "content_type"], g.media_type_problem(d["content_type"]))

    for i, route in enumerate(raw.get("routes") or ()):
        # A template's {name} variables stand for one segment; the rest is a plain path.
        check(["routes", i, "path"], g.path_problem(TEMPLATE_VARIABLE.sub("x", route["path"])))
        for part in ("success", "request"):
            ctype = (route.get(part) or {}).get("content_type")
            if ctype is not None:
                check(["routes", i, part, "content_type"], g.media_type_problem(ctype))
    if raw.get("exchange") and raw["exchange"]["path"] == raw["probe"]["path"]:
        problems.append((["exchange", "path"], "the exchange and the probe need paths of their own"))
    check(["docs"], g.url_problem(raw["docs"]))
    # The HTML report makes these links (href): a `javascript:` one would run when clicked.
    for i, d in enumerate(raw.get("deviations") or ()):
        check(["deviations", i, "link"], g.url_problem(d["link"]))
    for name, url in raw["targets"].items():
        if url is not None:
            check(["targets", name], g.origin_problem(url))
    if raw.get("seed") is not None:
        check(["seed"], g.file_name_problem(raw["seed"]))

    scheme = cred.get("scheme")
    challenge = (cred.get("challenge") or {}).get("value")
    window = (raw.get("rate_limit") or {}).get("window_seconds")
    for where, d in responses(raw):
        for name, pattern in (d.get("headers") or {}).items():
            at = where + ["headers", name]
            bad = g.field_name_problem(name) or (f"{name!r} is set by the HTTP layer: {g.reserved_header(name)}" if g.reserved_header(name) else None)
            if bad:
                problems.append((at, bad))
                continue
            bad = g.pattern_problem(pattern)
            if bad is None:
                try:
                    spec_regex(pattern)
                except SpecRegexError as exc:
                    bad = f"not a regular expression RE2 runs: {exc}"
            if bad is None:
                value = header_example(name, pattern, challenge, scheme, window)
                if value is None:
                    bad = (f"the mock cannot produce a {name} value matching {pattern!r}: "
                           "give an anchored literal such as '^Bearer$'")
                elif g.field_value_problem(value):
                    bad = f"the value {value!r} the mock would send {g.field_value_problem(value)}"
            check(at, bad)
    # Everything else a spec says is text for people: rule sources, reasons, notes, names, bodies.
    # It reaches terminals, logs and reports, where an ESC or other control character would act.
    reported = [tuple(where) for where, _ in problems]
    for where, text in _strings(raw, []):
        if any(tuple(where[:len(r)]) == r for r in reported):
            continue
        bad = next(((i, c) for i, c in enumerate(text) if _is_control(c)), None)
        if bad:
            problems.append((where, f"holds the control character {g.shown_char(bad[1])} at index {bad[0]}: "
                                    "spec text has none but TAB and LF (it reaches terminals and reports)"))
    return problems


def _is_control(c: str) -> bool:
    """C0 and C1 controls and DEL, except TAB and LF."""
    o = ord(c)
    return (o < 0x20 and c not in "\t\n") or 0x7F <= o < 0xA0


def _strings(value: Any, where: list[Any]) -> Iterator[tuple[list[Any], str]]:
    """Every string of the data, keys included, with its YAML path."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield where + [k], k
            yield from _strings(v, where + [k])
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, where + [i])
