"""Hypothesis strategies for malformed and equivalent credentials, built from a spec alone.

One named strategy per class: presence, scheme, separator, token, encoding, size,
wire. Each draws a `Generated`: a request `Template` whose key is a symbolic `KeyExpr` (the key's
placeholder and a chain of mutations), the rule that governs its form, and how its answers may be
judged. Hypothesis never sees a key: what it draws, prints and stores is the placeholder, the
mutation and the literal bytes around it. The expected failure class is not drawn either: the
oracle (`_oracle.decide`) derives it from the concrete request at send time.

Inside each class the alternatives are ordered simplest first, so that shrinking lands on the
plainest request that still breaks a property (`<KEY> + "0"` for a prefix compare).
"""
from __future__ import annotations

import json
import string
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st

from specs import KEY_STATES, RFC_DUPLICATE, RFC_SEPARATOR, TCHARS, TOKEN68_CHARS, ProviderSpec, Rule, thaw

from .. import _keys
from .._rfc import (RFC_BARE_LF, RFC_CR_LF_NUL, RFC_FIELD_NAME, RFC_OBS_FOLD, RFC_ONE_LINE, RFC_ONE_METHOD_SERVER, RFC_OWS,
                     RFC_SIZE, RFC_SPACE_COLON, RFC_TOKEN68, RFC_UNICODE_SPACE)
from .._target import label
from ._template import HOST, KeyExpr, Op, Parts, Template, join, show_parts

# The RFC rules the generated forms are judged by are suites/_rfc.py's (the specs carry the
# provider's own).

# Where a strategy's TRIGGER comes from, apart from the answer's: which class these requests fall in
# is the spec's own trigger (a truncated key is an invalid key) unless the strategy names one here.
# Bytes the HTTP layer deals with first (control characters, obs-fold, oversized heads, non-ASCII)
# reach the application only as the oracle reads them: no page says which answer they get.
OWN_TRIGGERS: Mapping[str, Rule] = {
    name: Rule(
        "inferred",
        f"the oracle's reading of what the application sees of a {what}",
        "No provider page names these requests; which catalogue answer they get follows the spec's decision order.",
    )
    for name, what in (("wire", "wire-level request"), ("encoding", "credential with non-token68 bytes"), ("size", "request past common header limits"))
}

# --- the generated item --------------------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """One generated request and how to judge its answer.

    `rule` governs the form: a refused equivalent form, or the intact key accepted in a form the
    spec does not allow, is judged by its strength. `lenient`: accepting is allowed too (the RFC
    lets a server be liberal here). `views`: for wire-level requests, the credential header values
    the application may see once a parser has dealt with the bytes (alternatives). `parser_ok`:
    a 400/431 from the HTTP parser is a conforming answer even for an equivalent form.
    `parser_required`: only a parser refusal conforms.
    """

    strategy: str
    kind: str
    template: Template
    rule: Rule
    labels: tuple[tuple[str, str], ...]
    lenient: bool = False
    views: tuple[tuple[Parts, ...], ...] | None = None
    parser_ok: bool = False
    parser_required: bool = False
    # Which requests the page says get the expected answer (None: the failure class's own trigger).
    trigger: Rule | None = None
    # Bytes an HTTP layer (parser, front proxy) may refuse before the application sees them: its
    # 400/413/431 or closed connection is the RFC's answer, never compared with the catalogue.
    http_layer: bool = False
    # Accepting it is lenient parsing around the intact valid key in the documented header and
    # scheme (first of two lines, stripped Unicode whitespace, extra spaces): NON-STRICT at this
    # RFC rule. None: accepting a request the spec refuses is a security FAIL (access without the
    # intact valid credential: altered key, other scheme, raw key, key in URL/body/cookie).
    leniency: Rule | None = None

    def exprs(self) -> list[KeyExpr]:
        """Every key expression the request carries."""
        return [p for parts in self.template.all_parts() for p in parts if isinstance(p, KeyExpr)]

    @property
    def intact(self) -> bool:
        """True when the valid key's own bytes travel unchanged somewhere in the request."""
        return any(e.intact and e.state == "valid" for e in self.exprs())

    def describe(self) -> str:
        """One line: class, kind and the request, keys as placeholders."""
        labels = dict(self.labels)
        creds = []
        t = self.template
        if t.head is not None:
            creds.append("head " + show_parts(t.head, labels))
        else:
            creds += [f"{n.decode('latin-1')}: {_short(v, labels)}" for n, v in t.headers if _interesting(n)]
        pads = [v for n, v in t.headers if n.lower().startswith(b"x-pad")]
        if pads:
            creds.append(f"{len(pads)} extra X-Pad header(s), {sum(len(p[0]) for p in pads if p)} bytes of values")
        if t.query:
            creds.append("query " + show_parts(t.query, labels))
        if any(isinstance(p, KeyExpr) for p in t.body):
            creds.append("body carries the key")
        return f"{self.strategy}/{self.kind}: " + ("; ".join(creds) if creds else "no credential")

    def __repr__(self) -> str:
        return f"Generated({self.describe()})"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        # Hypothesis prints falsifying examples with this: placeholders only.
        p.text(repr(self))


def _interesting(name: bytes) -> bool:
    return name.lower() not in (b"content-type",) and not name.lower().startswith(b"x-pad")


def _short(parts: Parts, labels: Mapping[str, str]) -> str:
    text = show_parts(parts, labels)
    return text if len(text) <= 160 else text[:150] + f"... ({len(text)} chars shown)"


# --- what a spec gives every strategy ------------------------------------------------------------


def alphabet_of(spec: ProviderSpec) -> bytes:
    """The characters a key of this spec is made of (a changed character is drawn from these)."""
    return _keys.alphabet(spec.credential.token).encode()


@dataclass(frozen=True)
class Basis:
    """The probe request and credential syntax every strategy of one spec builds on."""

    spec: ProviderSpec
    fields: Mapping[str, Any]
    labels: tuple[tuple[str, str], ...]

    @property
    def header(self) -> bytes:
        """The credential header's name."""
        return self.spec.credential.header.encode()

    @property
    def scheme(self) -> bytes:
        """The scheme keyword as documented (empty for a bare key)."""
        return (self.spec.credential.scheme or "").encode()

    def body(self, extra: tuple[str, KeyExpr] | None = None) -> Parts:
        """The probe body, optionally with one more field whose value is a key expression."""
        ctype = (self.spec.probe.content_type or "").split(";")[0].strip().lower()
        fields = dict(self.fields)
        if ctype == "application/x-www-form-urlencoded":
            text = urlencode([(k, str(v)) for k, v in fields.items()]).encode()
            if extra is None:
                return join(text)
            return join(text, b"&" if text else b"", extra[0].encode() + b"=", extra[1].quoted("url"))
        if extra is None:
            return join(self.spec.probe.encode(fields)) if fields or self.spec.probe.body is not None else ()
        marker = "\x00KEY\x00"
        text = json.dumps({**fields, extra[0]: marker}, separators=(",", ":"))
        before, after = text.split(json.dumps(marker))
        return join(before.encode() + b'"', extra[1].quoted("json"), b'"' + after.encode())

    def base_headers(self) -> tuple[tuple[bytes, Parts], ...]:
        """Headers every request carries besides the credential (the probe's Content-Type)."""
        ctype = self.spec.probe.content_type
        return ((b"Content-Type", join(ctype.encode())),) if ctype else ()

    def request(
        self,
        auth: tuple[tuple[bytes, Parts], ...] = (),
        query: Parts = (),
        body_extra: tuple[str, KeyExpr] | None = None,
        extra: tuple[tuple[bytes, Parts], ...] = (),
    ) -> Template:
        """The probe with the given credential lines, query and extra headers."""
        probe = self.spec.probe
        return Template(probe.method, probe.path, self.base_headers() + auth + extra, query, self.body(body_extra))

    def canonical(self, key: KeyExpr | Parts) -> Parts:
        """`Bearer <key>` (the key alone when bare): the documented form around a key expression."""
        return join(self.scheme + b" ", key) if self.scheme else join(key)

    def item(self, strategy: str, kind: str, template: Template, rule: Rule | None = None, **kw: Any) -> Generated:
        """A Generated of this spec (rule defaults to the documented credential rule)."""
        kw.setdefault("trigger", OWN_TRIGGERS.get(strategy))
        kw.setdefault("http_layer", strategy in OWN_TRIGGERS)
        return Generated(strategy, kind, template, rule or self.spec.credential.rule, self.labels, **kw)


def basis(spec: ProviderSpec, binding: str | None = None) -> Basis:
    """The Basis of a spec; `binding` is the target's value of the spec's binding field, if any."""
    fields = dict(thaw(spec.probe.body) or {}) if isinstance(thaw(spec.probe.body), dict) else {}
    if binding is not None and spec.binding is not None:
        fields[spec.binding.field] = binding
    labels = tuple((s, label(spec, s)) for s in KEY_STATES)
    return Basis(spec, fields, labels)


KEY = KeyExpr("valid")


def _positions() -> st.SearchStrategy[int]:
    # Shrinks toward 0; positions are mapped into the key at send time (modulo its length).
    return st.integers(0, 255)


def _hdr(b: Basis, value: Parts) -> tuple[tuple[bytes, Parts], ...]:
    return ((b.header, value),)


# --- presence and placement -------------------------------------------------------------------


# Where clients misplace keys besides the query: other headers, each with its value.
def _other_headers(b: Basis) -> list[tuple[bytes, Parts]]:
    return [
        (b"X-API-Key", join(KEY)),
        (b"Proxy-Authorization", b.canonical(KEY)),
        (b"Authorisation", b.canonical(KEY)),
        (b"X-Auth-Token", join(KEY)),
        (b"Api-Key", join(KEY)),
        (b"X-Authorization", b.canonical(KEY)),
    ]


def _case_variant(text: bytes) -> st.SearchStrategy[bytes]:
    """The same ASCII word with some letters' case flipped (at least one where it has letters):
    a bit mask drawn as one integer, shrinking toward the first letter alone."""
    letters = [i for i, c in enumerate(text) if chr(c).isalpha()]
    if not letters:
        return st.just(text)

    def flip(mask: int) -> bytes:
        out = bytearray(text)
        for bit, i in enumerate(letters):
            if mask >> bit & 1:
                out[i : i + 1] = bytes([out[i]]).swapcase()
        return bytes(out)

    return st.integers(1, (1 << len(letters)) - 1).map(flip)


def presence(b: Basis) -> list[st.SearchStrategy[Generated]]:
    """No header, empty, whitespace, key in the query / body / cookie / another header, in two
    places, and the equivalent header-name case variants."""
    spec = b.spec
    names = list(spec.query_names)
    tpl = b.request
    S = "presence"
    options = [
        st.just(b.item(S, "no_header", tpl())),
        st.just(b.item(S, "empty", tpl(_hdr(b, ())))),
        st.text(" \t", min_size=1, max_size=4).map(lambda ws: b.item(S, "whitespace", tpl(_hdr(b, join(ws.encode()))))),
        st.sampled_from(names).map(lambda n: b.item(S, "query", tpl(query=join(n.encode() + b"=", KEY.quoted("url"))))),
        st.sampled_from(names).map(lambda n: b.item(S, "body", tpl(body_extra=(n, KEY)))),
        st.sampled_from(names).map(lambda n: b.item(S, "cookie", tpl(extra=((b"Cookie", join(n.encode() + b"=", KEY)),)))),
        st.sampled_from(_other_headers(b)).map(lambda h: b.item(S, "other_header", tpl(extra=(h,)))),
        # Header and query at once: the header decides; refusing the pair is RFC 6750's
        # invalid_request, so either answer is allowed when the header holds the valid key.
        st.sampled_from(names).map(
            lambda n: b.item(S, "two_places", tpl(_hdr(b, b.canonical(KEY)), join(n.encode() + b"=", KEY.quoted("url"))),
                             RFC_ONE_METHOD_SERVER, lenient=True)
        ),
        # ... and with a wrong key in the header, the query's valid key must not get it in.
        st.tuples(st.sampled_from(names), _positions()).map(
            lambda a: b.item(S, "two_places_bad_header",
                             tpl(_hdr(b, b.canonical(KEY.then(Op("cut", a[1] + 1)))), join(a[0].encode() + b"=", KEY.quoted("url"))))
        ),
        _case_variant(b.header).map(lambda n: b.item(S, "name_case", tpl(((n, b.canonical(KEY)),)), RFC_FIELD_NAME)),
    ]
    return options


# --- scheme --------------------------------------------------------------------------------------

# Keywords clients send instead of the documented one (RFC 6750 §3.1; unregistered keywords such as `Token` are provider-specific).
OTHER_SCHEMES = ("Token", "Bearer", "Basic", "Digest", "ApiKey", "Api-Key", "JWT", "OAuth", "Key", "MAC", "Negotiate")
# Letters with look-alikes: Cyrillic/Greek homoglyphs, and the three non-ASCII letters whose
# Unicode case mapping lands on ASCII (Kelvin sign, long s, dotless i): a server that folds case
# with str.lower()/upper() takes them for the keyword.
HOMOGLYPHS: Mapping[str, tuple[str, ...]] = {
    "B": ("\u0412", "\u0392"), "e": ("\u0435",), "a": ("\u0430",), "r": ("\u0433",), "o": ("\u043e", "\u03bf"),
    "T": ("\u0422", "\u03a4"), "k": ("\u212a", "\u043a"), "K": ("\u212a",), "n": ("\u0578",), "s": ("\u017f",),
    "i": ("\u0131",), "c": ("\u0441",), "p": ("\u0440",), "x": ("\u0445",), "y": ("\u0443",),
}
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")


def _homoglyph(scheme: str) -> st.SearchStrategy[bytes]:
    spots = [(i, g) for i, c in enumerate(scheme) for g in HOMOGLYPHS.get(c, HOMOGLYPHS.get(c.lower(), ()))]
    if not spots:
        return st.just(_fullwidth(scheme))
    return st.sampled_from(spots).map(lambda s: (scheme[: s[0]] + s[1] + scheme[s[0] + 1 :]).encode())


def _fullwidth(text: str) -> bytes:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text).encode()


def scheme(b: Basis) -> list[st.SearchStrategy[Generated]]:
    """Wrong keyword, keyword alone, glued, raw key, homoglyph/fullwidth/zero-width keywords, and
    the case variants RFC 9110 §11.1 makes equivalent."""
    spec = b.spec
    kw = spec.credential.scheme
    tpl = b.request
    S = "scheme"
    if kw is None:
        # A bare key: the mistake is a keyword the provider never asked for, before the key.
        return [st.sampled_from(OTHER_SCHEMES).map(lambda w: b.item(S, "keyword_before_bare_key", tpl(_hdr(b, join(w.encode() + b" ", KEY)))))]
    others = [s for s in OTHER_SCHEMES if s.lower() != kw.lower()]
    ci = spec.credential.scheme_insensitive

    def with_scheme(kind: str, word: bytes, rule: Rule | None = None, **kw_: Any) -> Generated:
        return b.item(S, kind, tpl(_hdr(b, join(word + b" ", KEY))), rule, **kw_)

    # RFC 9110 §5.6.2 tchar: any other token is a syntactically fine, wrong keyword.
    free_words = st.text(TCHARS, min_size=1, max_size=10).filter(lambda w: w.lower() != kw.lower())
    return [
        st.one_of(st.sampled_from(others), free_words).map(lambda w: with_scheme("wrong_keyword", w.encode())),
        st.just(b.item(S, "raw_key", tpl(_hdr(b, join(KEY))))),
        st.just(b.item(S, "glued", tpl(_hdr(b, join(b.scheme, KEY))))),
        st.sampled_from([b.scheme, b.scheme + b" ", b.scheme.lower(), b.scheme.upper() + b"  "]).map(
            lambda w: b.item(S, "keyword_alone", tpl(_hdr(b, join(w))))
        ),
        # RFC 9110 §11.1: equivalent; where the spec says the provider is stricter, refusing is
        # what the spec expects and accepting is the RFC's own behaviour (lenient).
        _case_variant(b.scheme).map(lambda w: with_scheme("case", w, spec.credential.scheme_rule, lenient=not ci)),
        _homoglyph(kw).map(lambda w: with_scheme("homoglyph", w)),
        st.just(with_scheme("fullwidth", _fullwidth(kw))),
        st.tuples(st.integers(1, max(len(kw) - 1, 1)), st.sampled_from(ZERO_WIDTH)).map(
            lambda a: with_scheme("zero_width", (kw[: a[0]] + a[1] + kw[a[0] :]).encode())
        ),
    ]


# --- separator -----------------------------------------------------------------------------------

# Unicode spaces that are not HTTP whitespace (U+00A0, U+2000-U+200A, U+3000; Python's str.split() splits on them).
# Latin-1 bytes str.strip() removes that RFC 9110 §5.5 lets through as obs-text (VT, FF, FS are CTLs:
# a parser's 400 is right for those).
LATIN1_SPACES = (b"\xa0", b"\x85")
UNICODE_SPACES = ("\u00a0", "\u2000", "\u2002", "\u2003", "\u2009", "\u200a", "\u202f", "\u205f", "\u3000", "\u1680", "\u0085")


def separator(b: Basis) -> list[st.SearchStrategy[Generated]]:
    """Tab, no space, Unicode spaces, several spaces, SP/HTAB mixes, surrounding whitespace."""
    spec = b.spec
    tpl = b.request
    S = "separator"
    sep_rule = spec.credential.separator_rule
    tab_ok = spec.credential.separator == "whitespace"

    def between(kind: str, sep: bytes, rule: Rule, **kw: Any) -> Generated:
        return b.item(S, kind, tpl(_hdr(b, join(b.scheme + sep, KEY))), rule, **kw)

    # Accepting another separator around the intact key is lenient, judged at an RFC rule (NON-STRICT)
    # even where the spec documents its separator.
    lenient_sep = sep_rule if sep_rule.strength != "documented" else RFC_SEPARATOR

    return [
        # RFC 9110 §11.4 allows only SP; a provider that also takes HTAB is liberal, not wrong.
        st.just(between("tab", b"\t", sep_rule, lenient=not tab_ok)),
        st.just(between("none", b"", spec.credential.rule)),
        st.sampled_from(UNICODE_SPACES).map(lambda u: between("unicode_space", u.encode(), sep_rule, leniency=lenient_sep)),
        st.integers(2, 8).map(lambda n: between("several_spaces", b" " * n, sep_rule, leniency=lenient_sep)),
        st.lists(st.sampled_from([b" ", b"\t"]), min_size=2, max_size=5).map(
            lambda parts: between("sp_htab_mix", b" " + b"".join(parts), sep_rule, lenient=not tab_ok, leniency=lenient_sep)
        ),
        st.tuples(st.text(" \t", max_size=3), st.text(" \t", min_size=1, max_size=3)).map(
            lambda ws: b.item(S, "surrounding_ows", tpl(_hdr(b, join(ws[0].encode(), b.canonical(KEY), ws[1].encode()))), RFC_OWS, leniency=RFC_OWS)
        ),
        st.sampled_from(UNICODE_SPACES + ZERO_WIDTH).map(
            lambda u: b.item(S, "trailing_unicode", tpl(_hdr(b, join(b.canonical(KEY), u.encode()))), RFC_TOKEN68,
                             leniency=RFC_UNICODE_SPACE if u.isspace() else None)
        ),
        # Single latin-1 bytes str.strip() removes (NBSP, NEL) around the token: a server that
        # decodes headers as latin-1 and strips the token (FastAPI) takes them. Where the spec says
        # so (credential.separator.strip_unicode_whitespace) that is the expected answer; where it
        # does not, taking them is lenient parsing around the intact key (NON-STRICT).
        st.sampled_from(LATIN1_SPACES).map(
            lambda u: b.item(S, "latin1_space_around_token", tpl(_hdr(b, join(b.scheme + b" " + u, KEY, u))), sep_rule,
                             leniency=None if spec.credential.strip_unicode_whitespace else RFC_UNICODE_SPACE)
        ),
    ]


# --- token ---------------------------------------------------------------------------------------

# Printable ASCII outside token68 (RFC 9110 §11.2), and "=" which token68 allows only at the end.
NOT_TOKEN68 = "".join(c for c in string.punctuation if c not in TOKEN68_CHARS + "=") + "="
JWT_TAMPERS = (b"header", b"payload", b"strip_sig", b"drop_sig", b"alg_none")


def _canon_tpl(b: Basis, value: KeyExpr | Parts) -> Template:
    return b.request(_hdr(b, b.canonical(value)))


def _shaped(spec: ProviderSpec) -> st.SearchStrategy[bytes]:
    """A token of the key's shape (format, alphabet, length, prefix) that no server issued."""
    shape = spec.credential.token
    chars = _keys.alphabet(shape)
    prefix = shape.prefix.encode()
    if shape.format == "jwt":
        seg = st.text(chars, min_size=2, max_size=48)
        return st.tuples(seg, seg, seg).map(lambda p: prefix + ".".join(p).encode())
    n = shape.length or _keys.DEFAULT_LENGTH
    return st.text(chars, min_size=n, max_size=n).map(lambda t: prefix + t.encode())


def token(b: Basis) -> list[st.SearchStrategy[Generated]]:
    """Truncated, extended, one character changed, case-flipped, characters outside token68,
    internal spaces, comma lists, quoted, `token=` form, percent/base64 re-encoded, alphabet
    swapped, a never-issued key of the right shape, and JWT tampering for JWT-shaped keys."""
    spec = b.spec
    S = "token"

    def mutated(kind: str, *ops: Op) -> Generated:
        return b.item(S, kind, _canon_tpl(b, KEY.then(*ops)))

    ext = st.text(TOKEN68_CHARS, min_size=1, max_size=8).map(str.encode)
    options = [
        st.integers(1, 255).map(lambda n: mutated("truncated", Op("cut_end", n))),
        ext.map(lambda s: mutated("extended", Op("append", 0, s))),
        st.tuples(_positions(), st.integers(0, 255)).map(lambda a: mutated("changed", Op("shift", a[0], bytes([a[1]])))),
        st.one_of(_positions().map(lambda i: Op("flip", i)), st.sampled_from([Op("upper"), Op("lower")])).map(
            lambda op: mutated("case_flipped", op)
        ),
        st.tuples(_positions(), st.sampled_from(NOT_TOKEN68)).map(
            lambda a: mutated("outside_token68", Op("insert", a[0], a[1].encode()))
        ),
        st.tuples(_positions(), st.integers(1, 3)).map(lambda a: mutated("internal_space", Op("insert", a[0], b" " * a[1]))),
        st.sampled_from([b", ", b",", b" , "]).map(lambda sep: mutated("comma_list", Op("repeat", 2, sep))),
        st.just(b.item(S, "comma_list", b.request(_hdr(b, join(b.canonical(KEY), b", ", b.canonical(KEY)))))),
        st.just(mutated("quoted", Op("prepend", 0, b'"'), Op("append", 0, b'"'))),
        st.sampled_from([b"token=", b"key=", b"access_token="]).map(lambda p: mutated("param", Op("prepend", 0, p))),
        st.integers(0, 1).map(lambda n: mutated("percent", Op("percent", n))),
        st.integers(0, 1).map(lambda n: mutated("base64", Op("base64", n))),
        st.just(mutated("swap_alphabet", Op("swap_alphabet"))),
        # A key of the right shape that was never issued: drawn from the spec's pattern.
        _shaped(spec).map(lambda t: b.item(S, "never_issued", _canon_tpl(b, join(t)))),
    ]
    if spec.credential.token.format == "jwt":
        options.append(
            st.tuples(st.sampled_from(JWT_TAMPERS), st.integers(0, 100)).map(lambda a: mutated("jwt", Op("jwt", a[1], a[0])))
        )
    return options


# --- encoding ------------------------------------------------------------------------------------

# Byte strings that are not token68, by family (zero-width and control characters, emoji and combining marks, Latin-1 and invalid UTF-8), plainest first (a lone
# Latin-1 byte). Code points are sent as UTF-8; the latin-1 and invalid-utf8 families are raw bytes.
ENCODING_FAMILIES: Mapping[str, tuple[bytes, ...]] = {
    "latin1": (b"\xe9", b"\xa0", b"\xff", b"\xe4\xf6", b"\xb5"),
    "invalid_utf8": (b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\x80"),
    "c1": tuple(chr(c).encode() for c in range(0x80, 0xA0)) + (b"\x85", b"\x9b"),
    "zero_width": tuple(z.encode() for z in ZERO_WIDTH),
    "bidi": tuple(c.encode() for c in ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f")),
    "emoji": tuple(c.encode() for c in ("\U0001f600", "\U0001f44d\U0001f3fd", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1fa\U0001f1f8")),
    "combining": tuple(c.encode() for c in ("\u0301", "\u0308", "\u0336\u0337\u0338\u0334", "\u20dd")),
    "specials": tuple(c.encode() for c in ("\u00ad", "\ufffe", "\uffff", "\ufffd")),
    "c0": tuple(bytes([c]) for c in (*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))),
    "del": (b"\x7f",),
}


PLACES = ("after", "inside", "before", "in_scheme")


def encoding(b: Basis) -> list[st.SearchStrategy[Generated]]:
    """Zero-width and bidi characters, emoji, combining marks, Latin-1 and invalid UTF-8 bytes,
    C0/C1 controls and DEL, inside, before or after the key, or inside the scheme."""
    S = "encoding"

    def place(a: tuple[tuple[str, bytes], str, int]) -> Generated:
        (fam, j), where, i = a
        if where == "in_scheme":
            cut = 1 + i % max(len(b.scheme) - 1, 1)
            value = join(b.scheme[:cut] + j + b.scheme[cut:] + b" ", KEY)
            return b.item(S, f"{fam}.{where}", b.request(_hdr(b, value)))
        op = {"after": Op("append", 0, j), "before": Op("prepend", 0, j), "inside": Op("insert", i, j)}[where]
        # Whitespace to Python's str.strip() (read as Latin-1, as Starlette does, or as UTF-8) next
        # to the intact key: a server stripping it is lenient, not open.
        around = where in ("after", "before") and any(j.decode(c, "replace").isspace() for c in ("latin-1", "utf-8"))
        return b.item(S, f"{fam}.{where}", _canon_tpl(b, KEY.then(op)), leniency=RFC_UNICODE_SPACE if around else None)

    # One branch per family, so that each family's plainest request is tried.
    return [
        st.tuples(st.sampled_from(ENCODING_FAMILIES[fam]).map(lambda j, f=fam: (f, j)), st.sampled_from(PLACES), _positions()).map(place)
        for fam in ENCODING_FAMILIES
    ]


# --- size ----------------------------------------------------------------------------------------

# Header sizes drawn up to past common limits (aiohttp and nginx 8 KiB lines, 431 beyond).
MAX_VALUE = 12_000
MAX_HEADERS = 300


def _sizes(limit: int, common: int) -> st.SearchStrategy[int]:
    """1..limit, mostly up to `common` (cheap to send), often past it (the parser's limits)."""
    return st.one_of(st.integers(1, common), st.integers(common + 1, limit))


def size(b: Basis) -> list[st.SearchStrategy[Generated]]:
    """Credential values up to and past the server's header limit; many extra headers."""
    S = "size"
    tpl = b.request
    pad = lambda n: join(b"x" * n)  # noqa: E731 - a one-line helper for the extra headers below
    return [
        _sizes(MAX_VALUE, 2048).map(lambda n: b.item(S, "long_token", _canon_tpl(b, KEY.then(Op("pad", n, b"0"))))),
        _sizes(MAX_VALUE, 2048).map(
            lambda n: b.item(S, "long_ows", tpl(_hdr(b, join(b.canonical(KEY), b" " * n))), RFC_OWS, parser_ok=True, leniency=RFC_OWS)
        ),
        _sizes(MAX_VALUE, 2048).map(lambda n: b.item(S, "long_never_issued", _canon_tpl(b, join(b"0" * n)))),
        _sizes(MAX_HEADERS, 64).map(
            lambda n: b.item(S, "many_headers", tpl(_hdr(b, b.canonical(KEY)),
                                                    extra=tuple((b"X-Pad-%d" % i, join(b"v")) for i in range(n))),
                             RFC_SIZE, parser_ok=True)
        ),
        _sizes(MAX_VALUE, 2048).map(
            lambda n: b.item(S, "long_other_header", tpl(_hdr(b, b.canonical(KEY)), extra=((b"X-Pad", pad(n)),)),
                             RFC_SIZE, parser_ok=True)
        ),
    ]


# --- wire level ----------------------------------------------------------------------------------

WIRE_CHARS: Mapping[str, bytes] = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "nul": b"\x00"}


def _head(b: Basis, auth_lines: Parts, eol: bytes = b"\r\n") -> Parts:
    """A header section: Host, the probe's Content-Type, then the given credential lines."""
    ctype = b.spec.probe.content_type
    lines = join(b"Host: ", HOST, eol)
    if ctype:
        lines = join(lines, b"Content-Type: " + ctype.encode() + eol)
    return join(lines, auth_lines)


def _raw(b: Basis, head: Parts) -> Template:
    probe = b.spec.probe
    return Template(probe.method, probe.path, (), (), b.body(), head)


def wire(b: Basis) -> list[st.SearchStrategy[Generated]]:
    """Sent as raw bytes: CR, LF, CRLF, NUL inside the value, obs-fold continuation, space before
    the colon, bare LF line ends, and duplicate credential lines (same or different values)."""
    S = "wire"
    name = b.header
    scheme_sp = b.scheme + b" "

    def inside(a: tuple[str, int]) -> Generated:
        what, i = a
        ch = WIRE_CHARS[what]
        head = _head(b, join(name + b": " + scheme_sp, KEY.then(Op("insert", i, ch)), b"\r\n"))
        # RFC 9110 §5.5: reject, or replace each CR/LF/NUL with SP; a line break ends the value.
        views = ((join(scheme_sp, KEY.then(Op("insert", i, b" " * len(ch)))),), (join(scheme_sp, KEY.then(Op("head", i))),))
        return b.item(S, f"{what}_in_value", _raw(b, head), RFC_CR_LF_NUL, views=views)

    def fold(i: int | None) -> Generated:
        if i is None:
            head = _head(b, join(name + b": " + b.scheme + b"\r\n ", KEY, b"\r\n"))
            views = ((join(scheme_sp, KEY),),)
            return b.item(S, "obs_fold_separator", _raw(b, head), RFC_OBS_FOLD, views=views, parser_ok=True)
        head = _head(b, join(name + b": " + scheme_sp, KEY.then(Op("insert", i, b"\r\n "))), b"\r\n")
        views = ((join(scheme_sp, KEY.then(Op("insert", i, b" "))),),)
        return b.item(S, "obs_fold_in_key", _raw(b, head), RFC_OBS_FOLD, views=views)

    def colon(sp: bytes) -> Generated:
        head = _head(b, join(name + sp + b": " + scheme_sp, KEY, b"\r\n"))
        return b.item(S, "space_before_colon", _raw(b, head), RFC_SPACE_COLON, parser_required=True, views=((),))

    def bare_lf(cut: int | None) -> Generated:
        key = KEY if cut is None else KEY.then(Op("cut", cut))
        head = _head(b, join(name + b": " + scheme_sp, key, b"\n"), eol=b"\n")
        return b.item(S, "bare_lf" if cut is None else "bare_lf_wrong_key", _raw(b, head), RFC_BARE_LF,
                      views=((join(scheme_sp, key),),), parser_ok=True)

    dup_rule = b.spec.failures["duplicate_header"].rule if "duplicate_header" in b.spec.failures else RFC_DUPLICATE

    def duplicate(a: tuple[int, int, bool]) -> Generated:
        variant, n, lower = a
        second = [b.canonical(KEY), b.canonical(KEY.then(Op("cut", n + 1))), join(b"Basic ", KEY)][variant]
        first_name = name.lower() if lower else name
        lines = ((first_name, b.canonical(KEY)), (name, second))
        kind = ["duplicate_same", "duplicate_different", "duplicate_other_scheme"][variant]
        # The first line always holds the intact valid key (first-wins servers such as Starlette).
        return b.item(S, kind, b.request(lines), dup_rule, leniency=RFC_ONE_LINE)

    return [
        st.tuples(st.sampled_from(sorted(WIRE_CHARS)), _positions()).map(inside),
        st.one_of(st.none(), _positions()).map(fold),
        st.sampled_from([b" ", b"\t", b"  "]).map(colon),
        st.one_of(st.none(), st.integers(1, 255)).map(bare_lf),
        st.tuples(st.integers(0, 2), _positions(), st.booleans()).map(duplicate),
    ]


# --- the catalogue of strategies -----------------------------------------------------------------

Branches = list[st.SearchStrategy[Generated]]

#: Every class, in report order: name -> its branches (simplest first).
STRATEGIES: Mapping[str, Callable[[Basis], Branches]] = {
    "presence": presence,
    "scheme": scheme,
    "separator": separator,
    "token": token,
    "encoding": encoding,
    "size": size,
    "wire": wire,
}


def branches_for(spec: ProviderSpec, klass: str, binding: str | None = None) -> Branches:
    """The branches of a class's strategy for a spec; KeyError names the known classes."""
    if klass not in STRATEGIES:
        raise KeyError(f"unknown strategy {klass!r}; known: {', '.join(STRATEGIES)}")
    return STRATEGIES[klass](basis(spec, binding))


def strategy_for(spec: ProviderSpec, klass: str, binding: str | None = None) -> st.SearchStrategy[Generated]:
    """The named strategy of a class for a spec: one of its branches."""
    return st.one_of(branches_for(spec, klass, binding))


_SIMPLEST: dict[tuple[str, str, str | None], tuple[Generated, ...]] = {}


def simplest(spec: ProviderSpec, klass: str, binding: str | None = None) -> tuple[Generated, ...]:
    """The plainest item of every branch (what Hypothesis shrinks each branch to), tried before the
    random search so that no kind of request is left out by the luck of the draw."""
    key = (spec.id, klass, binding)
    if key not in _SIMPLEST:
        # Hypothesis's first example is the all-simplest draw: generate one, no shrinking needed.
        quiet = settings(database=None, max_examples=1, phases=[Phase.generate], deadline=None, suppress_health_check=list(HealthCheck))
        _SIMPLEST[key] = tuple(find(b, lambda _: True, settings=quiet) for b in branches_for(spec, klass, binding))
    return _SIMPLEST[key]


__all__ = ["STRATEGIES", "Basis", "Generated", "basis", "branches_for", "simplest", "strategy_for"]
