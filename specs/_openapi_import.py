"""Draft a provider spec from an OpenAPI 3.0/3.1 or Swagger 2.0 document.

What the document states becomes a `documented` rule whose source is a JSON pointer into it with
the quoted text; what the importer had to decide becomes an `inferred` rule with its reason, and a
`TODO:` line in `notes` for the spec's author. One header credential is modelled (spec
`credential`): OpenAPI `http` bearer -> `Authorization: Bearer`; `http` with another scheme
keyword -> that keyword; `apiKey` in a header -> that header with the bare key (`scheme: null`);
`oauth2` -> `Authorization: Bearer` (RFC 6750 §2.1, inferred). API keys in the query or a cookie,
HTTP Basic/Digest, mutual TLS, OpenID Connect and AWS Signature v4 are not header tokens: a
document whose operations use only those is refused with one line saying so.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._build import RFC_DUPLICATE
from ._grammar import PCHAR_CLASS, TOKEN, TOKEN_PATTERN
from ._model import PROBE_METHODS
from ._openapi_doc import Document, pointer
from ._openapi_example import as_sent, from_media, from_schema, is_json, json_media, response_example

METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
TEMPLATE = re.compile(r"\{([^{}]*)\}")
# RFC 9110 §8.3.1 media-type (type "/" subtype, parameters): documents also write `*` or `gzip`.
MEDIA_TYPE = re.compile(TOKEN_PATTERN + "/" + TOKEN_PATTERN + r"(\s*;.*)?")
SEGMENT = re.compile(PCHAR_CLASS + "+")
SPEC_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
SCOPE_NAME = re.compile(r"[^a-z_]+")
QUOTE_MAX = 300
PLACEHOLDER_LIVE = "https://api.example.invalid"
# A route's example body, and all of them together (a spec is at most 2 MiB: specs/_yaml.py).
ROUTE_BODY_MAX = 2048
ROUTE_BODIES_MAX = 512 * 1024


class Unsupported(Exception):
    """The document's credentials are not a header token the spec can model: one line."""


@dataclass
class Scheme:
    """One security scheme of the document, classified."""

    name: str
    where: str  # JSON pointer of the scheme object
    quote: str  # what the document says about it (description, else the object itself)
    header: str | None = None
    scheme: str | None = None  # the auth-scheme keyword; None = a bare key
    documented: bool = True  # header and keyword stated by the document (oauth2: inferred)
    jwt: bool = False
    why_not: str | None = None  # set: not a header token, and why


@dataclass
class Draft:
    """The pieces of the spec being built, and the TODO lines for its author."""

    todo: list[str] = field(default_factory=list)
    emptied: list[str] = field(default_factory=list)  # routes whose large example body was left out


def _quote(text: Any) -> str:
    """A short, one-line quotation of the document's text (or of a JSON value)."""
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False, sort_keys=True, default=str)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= QUOTE_MAX else text[: QUOTE_MAX - 3] + "..."


def _source(where: str, text: Any) -> str:
    return f'{where}: "{_quote(text)}"'


def documented(where: str, text: Any) -> dict[str, str]:
    """A rule the document states: its JSON pointer and the quoted text."""
    return {"strength": "documented", "source": _source(where, text)}


def inferred(where: str, text: Any, reason: str) -> dict[str, str]:
    """A rule the importer decided: what it read (pointer and quote) and why it decided so."""
    return {"strength": "inferred", "source": _source(where, text), "reason": reason}


# --- security schemes ---------------------------------------------------------------------

_HEADER_KEYWORD = re.compile(r"\b(?:Authorization|header)\b[^.\n]{0,40}?[\"'`]?\b(Bearer|Token|JWT|Basic)\s+[<{\[$A-Za-z0-9_]", re.I)
_BEARER_WORD = re.compile(r"\bBearer\s+[<{\[$A-Za-z0-9_]")


def classify(doc: Document, name: str, raw: Any, where: str) -> Scheme:
    """What a security scheme object is: a header token (which header, which keyword) or not."""
    s, where = doc.locate(raw, where)
    if not isinstance(s, dict):
        return Scheme(name, where, _quote(s), why_not="not a security scheme object")
    desc = s.get("description") if isinstance(s.get("description"), str) and s.get("description").strip() else None
    quote_ = _quote(desc or {k: v for k, v in s.items() if isinstance(v, (str, int, bool))})
    out = Scheme(name, where, quote_)
    kind = str(s.get("type", "")).strip()
    if any(k.startswith("x-amazon-apigateway-authtype") for k in s) or str(s.get("x-amazon-apigateway-authtype", "")).lower() == "awssigv4":
        out.why_not = "AWS Signature v4 (a per-request signature, not a token)"
        return out
    if kind == "http":
        keyword = str(s.get("scheme", "")).strip()
        if keyword.lower() == "bearer":
            out.header, out.scheme = "Authorization", "Bearer"
            out.jwt = str(s.get("bearerFormat", "")).upper() == "JWT"
        elif keyword.lower() in ("basic", "digest", "negotiate", "mutual", "hoba", "scram-sha-1", "scram-sha-256", "vapid"):
            out.why_not = f"HTTP {keyword} authentication (not a token)"
        elif TOKEN.fullmatch(keyword):
            out.header, out.scheme = "Authorization", keyword
        else:
            out.why_not = f"http scheme {keyword!r} is not an auth-scheme token (RFC 9110 §11.1)"
        return out
    if kind == "apiKey":
        place, header = s.get("in"), s.get("name")
        if place != "header":
            out.why_not = f"API key in the {place} ({header!r})" if place in ("query", "cookie") else f"API key in {place!r}"
            return out
        if not isinstance(header, str) or not TOKEN.fullmatch(header):
            out.why_not = f"API key header name {header!r} is not a field name (RFC 9110 §5.1)"
            return out
        out.header = header
        if header.lower() == "authorization":
            # An apiKey in Authorization usually says in prose which keyword goes first.
            m = _HEADER_KEYWORD.search(desc or "") or _BEARER_WORD.search(desc or "")
            keyword = m.group(1) if m and m.lastindex else ("Bearer" if m else None)
            if keyword and keyword.lower() == "basic":
                out.why_not = "HTTP Basic authentication (not a token)"
                return out
            out.scheme = {"bearer": "Bearer", "token": "Token", "jwt": "JWT"}.get((keyword or "").lower())
        return out
    if kind == "oauth2":
        # RFC 6750 §2.1: OAuth 2.0 bearer tokens travel as `Authorization: Bearer <token>`.
        out.header, out.scheme, out.documented = "Authorization", "Bearer", False
        return out
    if kind == "openIdConnect":
        out.why_not = "OpenID Connect (discovery and ID tokens are not modelled)"
    elif kind == "mutualTLS":
        out.why_not = "mutual TLS (a client certificate, not a header)"
    elif kind == "basic":  # Swagger 2.0
        out.why_not = "HTTP Basic authentication (not a token)"
    else:
        out.why_not = f"security scheme type {kind!r}"
    return out


def schemes_of(doc: Document) -> dict[str, Scheme]:
    """Every security scheme the document declares, by name."""
    if doc.version == "2.0":
        raw, at = doc.get(doc.data, "securityDefinitions"), ("securityDefinitions",)
    else:
        raw, at = doc.get(doc.data, "components", "securitySchemes"), ("components", "securitySchemes")
    if not isinstance(raw, dict):
        return {}
    return {name: classify(doc, name, s, pointer(*at, name)) for name, s in raw.items()}


# --- operations ---------------------------------------------------------------------------

@dataclass
class Operation:
    """One operation of the document with what the importer needs of it."""

    method: str
    path: str  # as the document writes it
    where: str
    op: dict[str, Any]
    item: dict[str, Any]
    security: Any  # the effective requirement list, or None (the document states none)
    security_where: str | None


def operations(doc: Document) -> list[Operation]:
    """Every operation, in document order, with its effective security (operation, else global)."""
    out: list[Operation] = []
    top = doc.data.get("security")
    for path, item in doc.data["paths"].items():
        if not isinstance(path, str) or not path.startswith("/"):
            continue
        item = doc.resolve(item, pointer("paths", path))
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            op = doc.resolve(item.get(method), pointer("paths", path, method))
            if not isinstance(op, dict):
                continue
            where = pointer("paths", path, method)
            if "security" in op:
                sec, sec_where = op["security"], where + "/security"
            elif top is not None:
                sec, sec_where = top, "#/security"
            else:
                sec, sec_where = None, None
            out.append(Operation(method.upper(), path, where, op, item, sec, sec_where))
    return out


def _alternatives(sec: Any) -> list[dict[str, list[str]]]:
    if not isinstance(sec, list):
        return []
    alts = []
    for alt in sec:
        if isinstance(alt, dict):
            alts.append({str(k): [str(s) for s in v] if isinstance(v, list) else [] for k, v in alt.items()})
    return alts


# --- the spec -----------------------------------------------------------------------------

def _servers(doc: Document, draft: Draft) -> tuple[str, str, str]:
    """(live base URL, path prefix, source pointer) from `servers` (3.x) or host/basePath (2.0)."""
    if doc.version == "2.0":
        host = doc.data.get("host")
        schemes = doc.data.get("schemes") or ["https"]
        base = doc.data.get("basePath") or ""
        scheme = "https" if "https" in schemes else str(schemes[0])
        if isinstance(host, str) and re.fullmatch(r"[A-Za-z0-9.-]+(:\d+)?", host) and scheme in ("http", "https"):
            return f"{scheme}://{host}", _prefix(base), "#/host"
        draft.todo.append(f"targets.live: the document names no usable host (#/host: {host!r}); set the live base URL")
        return PLACEHOLDER_LIVE, _prefix(base), "#/basePath"
    servers = doc.get(doc.data, "servers")
    server = doc.get(servers, 0) if isinstance(servers, list) and servers else None
    url = server.get("url") if isinstance(server, dict) else None
    if isinstance(url, str):
        variables = server.get("variables") if isinstance(server.get("variables"), dict) else {}
        for name, var in variables.items():
            default = var.get("default") if isinstance(var, dict) else None
            url = url.replace("{" + name + "}", str(default if default is not None else ""))
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc and re.fullmatch(r"[A-Za-z0-9.-]+(:\d+)?", parts.netloc):
            return f"{parts.scheme}://{parts.netloc}", _prefix(parts.path), "#/servers/0/url"
        if url.startswith("/"):
            draft.todo.append(f"targets.live: the server URL is relative (#/servers/0/url: {url!r}); set the live base URL")
            return PLACEHOLDER_LIVE, _prefix(urlsplit(url).path), "#/servers/0/url"
    draft.todo.append("targets.live: the document names no usable server URL (#/servers); set the live base URL")
    return PLACEHOLDER_LIVE, "", "#/servers"


def _prefix(path: str) -> str:
    path = "/" + path.strip("/") if path and path.strip("/") else ""
    return re.sub(r"[?#\s].*", "", path)


def _template(prefix: str, path: str, draft: Draft, where: str) -> str | None:
    """The route path template (`{name}` variables as the spec writes them), or None when unusable."""
    renamed = []

    def var(m: re.Match[str]) -> str:
        name = m.group(1)
        if SPEC_VARIABLE.fullmatch(name):
            return "{" + name + "}"
        clean = re.sub(r"[^A-Za-z0-9_.-]", "", name).lstrip("0123456789.-") or "param"
        renamed.append(f"{{{name}}} -> {{{clean}}}")
        return "{" + clean + "}"

    full = TEMPLATE.sub(var, prefix + path)
    if re.search(r"[?#\s]", full) or "{" in TEMPLATE.sub("", full) or "}" in TEMPLATE.sub("", full):
        draft.todo.append(f"{where}: path {path!r} is not a usable path template; the operation is left out")
        return None
    names = TEMPLATE.findall(full)
    if len(set(names)) != len(names):
        draft.todo.append(f"{where}: path {path!r} names a variable twice; the operation is left out")
        return None
    if renamed:
        draft.todo.append(f"{where}: path variables renamed ({', '.join(renamed)}); a variable stands for one path segment (or part of one)")
    return full


def _param_example(doc: Document, param: dict[str, Any]) -> Any:
    if "example" in param:
        return param["example"]
    examples = doc.resolve(param.get("examples"))
    if isinstance(examples, dict):
        for ex in examples.values():
            ex = doc.resolve(ex)
            if isinstance(ex, dict) and "value" in ex:
                return ex["value"]
    schema = doc.resolve(param.get("schema")) if "schema" in param else {k: v for k, v in param.items() if k in ("type", "format", "enum", "default", "example")}
    return from_schema(schema, doc.resolve) if isinstance(schema, dict) else None


def _parameters(doc: Document, op: Operation) -> list[dict[str, Any]]:
    params: dict[tuple[str, str], dict[str, Any]] = {}
    for source in (op.item.get("parameters"), op.op.get("parameters")):
        if isinstance(source, list):
            for p in source:
                p = doc.resolve(p, op.where)
                if isinstance(p, dict) and isinstance(p.get("name"), str):
                    params[(str(p.get("in")), p["name"])] = p
    return list(params.values())


def _concrete(doc: Document, prefix: str, op: Operation) -> str:
    """A concrete path for the probe: each path variable filled with its example (or `1`)."""
    params = {p["name"]: p for p in _parameters(doc, op) if p.get("in") == "path"}

    def fill(m: re.Match[str]) -> str:
        value = _param_example(doc, params[m.group(1)]) if m.group(1) in params else None
        text = str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else ""
        # A probe path is plain RFC 3986 §3.3 segment characters (no percent-encoding): an example
        # that needs encoding is replaced by `1`.
        return text if SEGMENT.fullmatch(text) else "1"

    return prefix + TEMPLATE.sub(fill, op.path)
















def _success(doc: Document, op: Operation) -> tuple[int, str, Any, bool, str | None]:
    """(status, response key, body, documented body, content type) of an operation's success;
    the key is a JSON pointer to the response object (where a `$ref` leads), or ""."""
    responses = doc.resolve(op.op.get("responses"), op.where)
    responses = responses if isinstance(responses, dict) else {}
    codes = sorted(str(c) for c in responses if re.fullmatch(r"2\d\d", str(c)))
    key = codes[0] if codes else ("2XX" if "2XX" in responses else ("default" if "default" in responses else None))
    status = int(key) if key and key.isdigit() else 200
    if key is None:
        return status, "", None, False, None
    _, at = doc.locate(responses[key], op.where + f"/responses/{key}")
    found, body, media = response_example(doc, responses[key], at)
    if status == 204 or media is None:
        return status, at, None, False, None
    return status, at, body, found, media


def _scope_name(raw: str, known: dict[str, str]) -> str:
    """A spec scope name (`[a-z_]+`) for a document scope (`read:user`, a URL, ...)."""
    if raw in known:
        return known[raw]
    # A URL scope (Google's https://www.googleapis.com/auth/trace.readonly) by its last segment.
    short = raw.rstrip("/").rsplit("/", 1)[-1] if re.match(r"^https?://", raw) else raw
    name = SCOPE_NAME.sub("_", short.lower()).strip("_") or "scope"
    base, n = name, 2
    while name in known.values():
        name, n = f"{base}_{'x' * (n - 1)}", n + 1
    known[raw] = name
    return name


@dataclass
class Auth:
    """How one operation is authenticated, as the spec can say it."""

    needed: bool
    usable: bool  # False: it needs credentials the spec does not model; the operation is left out
    scope: str | None = None  # a document scope name
    options: tuple[str, ...] = ()  # several scopes, any one of which is enough (OR of requirements)
    rule: dict[str, str] | None = None
    note: str | None = None


def auth_of(op: Operation, primary: Scheme, schemes: dict[str, Scheme], declared_anywhere: bool) -> Auth:
    """An operation's authentication from its effective security requirement."""
    if op.security is None:
        if declared_anywhere:
            # OpenAPI: an operation without `security` under no top-level `security` is public.
            return Auth(False, True, rule=inferred(op.where, f"{op.method} {op.path}", "no security requirement applies to this operation (none on it, none at the top level), so it is public"))
        return Auth(True, True, rule=inferred(op.where, f"{op.method} {op.path}", f"the document declares security schemes but no requirement anywhere; every operation is taken to need {primary.name}"))
    alts = _alternatives(op.security)
    if not alts:
        return Auth(False, True, rule=documented(op.security_where or op.where, op.security))
    if any(not alt for alt in alts):
        return Auth(False, True, rule=documented(op.security_where or op.where, op.security),
                    note=f"{op.where}: authentication is optional (an empty requirement); served as public")
    using = [alt for alt in alts if primary.name in alt]
    if not using:
        names = sorted({n for alt in alts for n in alt})
        return Auth(True, False, note=f"{op.where}: needs {', '.join(names)}, not {primary.name}; the operation is left out")
    rule = documented(op.security_where or op.where, op.security)
    note = None
    if all(len(alt) > 1 for alt in using):
        others = sorted({n for alt in using for n in alt if n != primary.name})
        note = f"{op.where}: also needs {', '.join(others)} with {primary.name}; the spec checks {primary.name} only"
    scopes = {tuple(alt[primary.name]) for alt in using}
    scope = None
    if len(scopes) == 1:
        only = next(iter(scopes))
        if len(only) == 1:
            scope = only[0]
        elif len(only) > 1:
            scope = only[0]
            note = f"{op.where}: needs scopes {list(only)}; the spec checks the first"
    elif all(len(one) == 1 for one in scopes):
        # Any of several scopes is enough: the spec checks one, and the others imply it (below).
        return Auth(True, True, None, options=tuple(sorted(one[0] for one in scopes)), rule=rule, note=note)
    elif any(scopes):
        note = f"{op.where}: any of several scope sets {sorted(scopes)} is enough; no scope is checked"
    return Auth(True, True, scope, rule=rule, note=note)


def _settle_scopes(auths: list[Auth]) -> dict[str, set[str]]:
    """For each operation that any of several scopes opens, check the least used one and let the
    others imply it (Google's `cloud-platform` or a narrower `trace.readonly`: the broad scope
    implies the narrow). Returns the implications, document scope -> scopes it covers."""
    used: dict[str, int] = {}
    for a in auths:
        for s in (a.options or ((a.scope,) if a.scope else ())):
            used[s] = used.get(s, 0) + 1
    implies: dict[str, set[str]] = {}
    for a in auths:
        if a.options:
            a.scope = min(a.options, key=lambda s: (used[s], s))
            for other in a.options:
                if other != a.scope:
                    implies.setdefault(other, set()).add(a.scope)
    return implies


def _pick_primary(doc: Document, schemes: dict[str, Scheme], ops: list[Operation], forced: Scheme | None) -> Scheme:
    if forced is not None:
        return forced
    if not schemes:
        raise Unsupported("the document declares no security scheme; say how the key travels with --credential 'Authorization: Bearer' (or 'X-API-Key:' for a bare key)")
    usage = {name: 0 for name in schemes}
    for op in ops:
        for alt in _alternatives(op.security if op.security is not None else doc.data.get("security")):
            for name in alt:
                if name in usage:
                    usage[name] += 1
    usable = [s for s in schemes.values() if s.why_not is None]
    if not usable:
        first = max(schemes.values(), key=lambda s: usage.get(s.name, 0))
        raise Unsupported(f"unsupported: {first.why_not} ({first.where}); authconform models a token in a request header")
    used = [s for s in usable if usage[s.name]]
    if not used and any(usage.values()):
        first = max(schemes.values(), key=lambda s: usage.get(s.name, 0))
        raise Unsupported(f"unsupported: the operations use {first.why_not} ({first.where}); authconform models a token in a request header")
    # The header token most operations use; a stated header before an inferred one (oauth2).
    return max(used or usable, key=lambda s: (usage[s.name], s.documented, -list(schemes).index(s.name)))


def parse_credential(text: str) -> tuple[str, str | None]:
    """`Authorization: Bearer` -> ("Authorization", "Bearer"); `X-API-Key:` -> ("X-API-Key", None)."""
    header, sep, keyword = text.partition(":")
    header, keyword = header.strip(), keyword.strip()
    if not sep or not TOKEN.fullmatch(header) or (keyword and not TOKEN.fullmatch(keyword)):
        raise ValueError(f"invalid --credential {text!r}; give 'Header: Scheme' (e.g. 'Authorization: Bearer') or 'Header:' for a bare key")
    return header, keyword or None


def _failure_response(doc: Document, ops: list[Operation], probe: Operation, status: str) -> tuple[str, dict[str, Any], Any] | None:
    """(pointer, response object, operation) for a status: the probe's, else the first secured
    operation's that documents it."""
    candidates = [probe] + [o for o in ops if o is not probe]
    for op in candidates:
        responses = doc.resolve(op.op.get("responses"), op.where)
        if isinstance(responses, dict):
            for key in (status, status[0] + "XX"):
                if key in responses:
                    resp, at = doc.locate(responses[key], op.where + f"/responses/{key}")
                    if isinstance(resp, dict):
                        return at, resp, op
    return None


def _failure_from(doc: Document, found: tuple[str, dict[str, Any], Any] | None, status: int, default_body: Any,
                  reason_undocumented: str) -> tuple[dict[str, Any], bool]:
    """A catalogue entry for a status: the document's response and example where it has one."""
    if found is None:
        return {
            "status": status,
            "body": default_body,
            "schema": {},
            "rule": {"strength": "rfc", "source": reason_undocumented} if reason_undocumented.startswith("RFC") else
                    {"strength": "inferred", "source": "the document lists no such response", "reason": reason_undocumented},
            "body_rule": {"strength": "inferred", "source": "the document lists no such response", "reason": "no body is documented; any body is accepted"},
        }, False
    where, resp, _ = found
    desc = resp.get("description") if isinstance(resp.get("description"), str) and resp["description"].strip() else f"{status} response"
    has_example, body, media = response_example(doc, resp, where)
    entry: dict[str, Any] = {"status": status, "rule": documented(where, desc)}
    if body is not None and has_example:
        entry["body"] = body
        entry["body_rule"] = documented(where, desc)
        if not is_json(media) and not isinstance(body, str):
            entry["body"] = json.dumps(body)
    elif body is not None:
        entry["body"] = body
        entry["schema"] = {"type": "object"} if isinstance(body, dict) else {}
        entry["body_rule"] = inferred(where, desc, "the document gives the body's schema, not an example; the mock sends an instance of it and any body of that kind is accepted")
    else:
        entry["body"] = default_body
        entry["schema"] = {}
        entry["body_rule"] = inferred(where, desc, "the document gives no body for this response; any body is accepted")
    return entry, True


def _choose_probe(doc: Document, candidates: list[tuple[Operation, Auth, str]], wanted: str | None) -> tuple[Operation, Auth, str]:
    if wanted:
        method, _, path = wanted.strip().partition(" ")
        method, path = method.upper(), path.strip()
        for op, auth, tpl in candidates:
            if op.method == method and path in (op.path, tpl):
                if not auth.needed:
                    raise ValueError(f"--probe {wanted!r}: that operation is public; the probe must need the key")
                if method not in PROBE_METHODS:
                    raise ValueError(f"--probe {wanted!r}: the probe's method is one of {', '.join(PROBE_METHODS)}")
                return op, auth, tpl
        raise ValueError(f"--probe {wanted!r}: no such operation needing the key; give 'METHOD /path' as the document writes it")
    secured = [c for c in candidates if c[1].needed and c[0].method in PROBE_METHODS]
    if not secured:
        raise Unsupported("no operation needs the header credential; nothing to probe")

    def required(op: Operation) -> tuple[int, int]:
        params = _parameters(doc, op)
        body = doc.resolve(op.op.get("requestBody"))
        needs_body = isinstance(body, dict) and body.get("required") is True
        other = sum(1 for p in params if p.get("required") and p.get("in") in ("query", "header", "body", "formData", "cookie"))
        return other + int(needs_body), sum(1 for p in params if p.get("in") == "path")

    def rank(c: tuple[Operation, Auth, str]) -> tuple[int, int, int, int]:
        op = c[0]
        other, path_vars = required(op)
        # A safe method first (RFC 9110 §9.2.1), then no required parameters, then no path variables.
        return (0 if op.method == "GET" else 1, other, path_vars, 0 if c[1].scope is None else 1)

    return min(secured, key=rank)


def _request_body(doc: Document, op: Operation) -> tuple[str | None, Any, bool]:
    """(content type, example body, documented) of an operation's request body, 3.x or 2.0."""
    if doc.version == "2.0":
        for p in _parameters(doc, op):
            if p.get("in") == "body":
                schema = doc.resolve(p.get("schema"))
                found, body = from_media({"schema": schema}, doc.resolve) if isinstance(schema, dict) else (False, None)
                return "application/json", body, found
        form = {p["name"]: str(_param_example(doc, p) or "1") for p in _parameters(doc, op) if p.get("in") == "formData" and p.get("required")}
        if form:
            return "application/x-www-form-urlencoded", form, False
        return None, None, False
    body = doc.resolve(op.op.get("requestBody"), op.where)
    if not isinstance(body, dict):
        return None, None, False
    media, value = json_media(doc.resolve(body.get("content")))
    if media is None:
        return None, None, False
    found, example = from_media(value, doc.resolve)
    example = as_sent(example, media)
    base = media.split(";")[0].strip().lower()
    if base == "application/x-www-form-urlencoded" and isinstance(example, dict):
        return media, {k: "" if v is None else (v if isinstance(v, str) else json.dumps(v)) for k, v in example.items()}, found
    if not is_json(media):
        return None, None, False
    return media, example, found


def build_spec(doc: Document, provider_id: str, probe: str | None = None, credential: str | None = None) -> dict[str, Any]:
    """The draft spec (plain data) for a document; Unsupported or ValueError say why not."""
    draft = Draft()
    schemes = schemes_of(doc)
    ops = operations(doc)
    forced = None
    if credential:
        header, keyword = parse_credential(credential)
        forced = Scheme("--credential", "#/components/securitySchemes", f"{header}: {keyword or '<key>'}", header, keyword, documented=False)
    primary = _pick_primary(doc, schemes, ops, forced)
    if forced is None:
        for s in schemes.values():
            if s is not primary and s.why_not is None and (s.header, s.scheme) != (primary.header, primary.scheme):
                draft.todo.append(f"{s.where}: another header credential ({s.header}: {s.scheme or '<key>'}) is not modelled; the spec checks {primary.header} only")
            elif s.why_not is not None and s.why_not.startswith("API key in the query"):
                draft.todo.append(f"{s.where}: the document also takes the key as {s.why_not[len('API key in the '):]} parameter; token_in_query assumes the live API refuses it there")

    declared_anywhere = doc.data.get("security") is not None or any("security" in o.op for o in ops)
    if forced is not None:
        # The document states no scheme for the credential given on the command line.
        declared_anywhere = False
        for o in ops:
            o.security = None
    live, prefix, live_where = _servers(doc, draft)

    candidates: list[tuple[Operation, Auth, str]] = []
    seen: dict[tuple[str, str], str] = {}
    for op in ops:
        auth = auth_of(op, primary, schemes, declared_anywhere)
        if auth.note:
            draft.todo.append(auth.note)
        if not auth.usable:
            continue
        tpl = _template(prefix, op.path, draft, op.where)
        if tpl is None:
            continue
        shape = (op.method, TEMPLATE.sub("{}", tpl))
        if shape in seen:
            draft.todo.append(f"{op.where}: same method and path template as {seen[shape]}; left out")
            continue
        seen[shape] = op.where
        candidates.append((op, auth, tpl))
    if not candidates:
        left_out = [t for t in draft.todo if t.endswith("left out")]
        raise Unsupported("no operation can be served: " + (left_out[0] if left_out else "the document has no operations"))
    implied = _settle_scopes([a for _, a, _ in candidates])
    probe_op, probe_auth, probe_tpl = _choose_probe(doc, candidates, probe)

    # Scopes: kept when the probe needs one (the spec's limited key must lack it).
    scope_names: dict[str, str] = {}
    use_scopes = probe_auth.scope is not None
    if not use_scopes and any(a.scope for _, a, _ in candidates):
        draft.todo.append("scopes: the probe needs no scope, so scopes are not modelled; per-operation scopes are left out")

    title = doc.get(doc.data, "info", "title")
    name = _quote(title) if isinstance(title, str) and title.strip() else provider_id
    docs = _docs_url(doc, live)
    cred_where, cred_quote = primary.where, primary.quote
    cred_rule = documented(cred_where, cred_quote) if primary.documented else inferred(
        cred_where, cred_quote,
        "OAuth 2.0 access tokens are sent as `Authorization: Bearer <token>` (RFC 6750 §2.1); the document does not say which header"
        if primary.name != "--credential" else "given on the command line: the document declares no security scheme")
    credential_out: dict[str, Any] = {"header": primary.header, "scheme": primary.scheme, "rule": cred_rule}
    credential_out["token"] = {
        "format": "jwt" if primary.jwt else "opaque",
        **({} if primary.jwt else {"alphabet": "A-Za-z0-9", "length": 40}),
        "rule": inferred(cred_where, cred_quote, "the document gives no key shape; the mock mints 40 alphanumerics" if not primary.jwt else "the document says bearerFormat JWT; the mock mints JWT-shaped keys"),
    }

    # The failure catalogue: the document's 401/403 (and their examples) where it lists them.
    f401 = _failure_response(doc, [c[0] for c in candidates if c[1].needed], probe_op, "401")
    f403 = _failure_response(doc, [c[0] for c in candidates if c[1].needed], probe_op, "403")
    f429 = _failure_response(doc, [c[0] for c in candidates if c[1].needed], probe_op, "429")
    default_body = {"error": "unauthorized"}
    if f401 is None and f403 is not None and not use_scopes:
        auth_entry, auth_doc = _failure_from(doc, f403, 403, default_body, "")
    else:
        rfc = ('RFC 6750 §3.1: invalid_token "The HTTP 401 (Unauthorized) status code"' if primary.scheme == "Bearer" else
               "a request without a valid credential is refused with 401 (RFC 9110 §15.5.2), the usual answer of API-key servers")
        auth_entry, auth_doc = _failure_from(doc, f401, 401, default_body, rfc)
        if f401 is None:
            draft.todo.append("failures: the document lists no 401 (or 403) response; the catalogue assumes 401 with any body")
    failures: dict[str, Any] = {}
    failures["missing"] = dict(auth_entry)
    failures["invalid"] = dict(auth_entry)
    reason = "the document gives one answer for a request without a valid credential; this request carries none"
    for klass in ("empty", "malformed", "token_in_query") + (("wrong_scheme", "no_scheme") if primary.scheme else ()):
        entry = dict(auth_entry)
        if auth_doc:
            entry["rule"] = {**entry["rule"], "strength": "inferred", "reason": reason}
        failures[klass] = entry
    failures["duplicate_header"] = {
        "status": 400,
        "body": {"error": "bad request"},
        "schema": {},
        "rule": {"strength": RFC_DUPLICATE.strength, "source": RFC_DUPLICATE.source},
        "body_rule": {"strength": "inferred", "source": "the document lists no answer to a duplicated credential header", "reason": "no body is documented for a malformed request; any body is accepted"},
    }
    if f429 is not None:
        draft.todo.append(f"rate_limit: the document lists a 429 ({f429[0]}) but no limit figures; add rate_limit and failures.rate_limited by hand")

    spec: dict[str, Any] = {"id": provider_id, "name": name, "docs": docs}
    spec["targets"] = {"live": live, "sandbox": None}
    spec["credential"] = credential_out
    if auth_entry["status"] == 401:
        challenge = _challenge(doc, f401, primary, provider_id)
        if challenge is not None:
            credential_out["challenge"] = challenge

    # The probe: a concrete request of the chosen operation.
    p_status, p_key, p_body, p_found, p_media = _success(doc, probe_op)
    method = probe_op.method
    probe_out: dict[str, Any] = {"method": method, "path": _concrete(doc, prefix, probe_op)}
    if method != "GET":
        ctype, body, _ = _request_body(doc, probe_op)
        if ctype is not None and body is not None:
            probe_out["content_type"] = ctype
            probe_out["body"] = body
    if use_scopes:
        probe_out["scope"] = _scope_name(probe_auth.scope, scope_names)
    summary = probe_op.op.get("summary") or probe_op.op.get("operationId") or f"{method} {probe_op.path}"
    probe_out["rule"] = inferred(probe_op.where, summary, f"picked as the probe: {'given with --probe' if probe else 'the first safe operation that needs the key, with the fewest required parameters'}")
    success_where = p_key or probe_op.where + "/responses"
    succ: dict[str, Any] = {"status": p_status, "body": p_body if p_body is not None else ({} if is_json(p_media) or p_media is None else "")}
    if p_found and p_body is not None:
        succ["rule"] = documented(success_where, _response_desc(doc, probe_op, p_key))
    else:
        succ["schema"] = {}
        succ["rule"] = inferred(success_where, _response_desc(doc, probe_op, p_key), "the document gives no example of this response; any body is accepted")
    if p_body is not None and not is_json(p_media) and not isinstance(p_body, str):
        succ["body"] = json.dumps(p_body)
    probe_out["success"] = succ
    spec["probe"] = probe_out
    spec["keys"] = {"states": ["valid", "limited"] if use_scopes else ["valid"],
                    "rule": inferred(cred_where, cred_quote, "the document describes no key lifecycle (expiry, revocation); only valid keys are modelled")}

    routes = []
    budget = [ROUTE_BODIES_MAX]
    for op, auth, tpl in candidates:
        routes.append(_route(doc, op, auth, tpl, use_scopes, scope_names, budget, draft))
    if draft.emptied:
        draft.todo.append(f"routes: {len(draft.emptied)} success bodies over {ROUTE_BODY_MAX} bytes (or past {ROUTE_BODIES_MAX // 1024} KiB in all) "
                          f"are written empty, e.g. {draft.emptied[0]}; paste the examples you need")
    if use_scopes:
        implies = {_scope_name(k, scope_names): sorted(_scope_name(v, scope_names) for v in vs) for k, vs in sorted(implied.items())}
        names = sorted(set(scope_names.values()))
        spec["scopes"] = {"names": names, **({"implies": implies} if implies else {}), "limited": [],
                          "rule": documented(probe_op.security_where or probe_op.where, probe_op.security)}
        if implies:
            draft.todo.append("scopes.implies: where any of several scopes opens an operation, the broader implies the narrower; check it against the provider's scope list")
        renamed = {raw: n for raw, n in scope_names.items() if raw != n}
        if renamed:
            draft.todo.append("scopes: renamed to the spec's [a-z_] names: " + ", ".join(f"{r!r} -> {n}" for r, n in list(renamed.items())[:20]) + (" ..." if len(renamed) > 20 else ""))
        if f403 is not None:
            entry, _ = _failure_from(doc, f403, 403, {"error": "insufficient_scope"}, "")
        else:
            entry, _ = _failure_from(doc, None, 403, {"error": "insufficient_scope"}, 'RFC 6750 §3.1: insufficient_scope "The request requires higher privileges than provided by the access token. The resource server SHOULD respond with the HTTP 403 (Forbidden) status code"')
        failures["insufficient_scope"] = entry
    spec["failures"] = failures
    spec["routes"] = routes
    notes = [f"Imported from an OpenAPI {doc.version} document by `python -m specs import-openapi`; every source is a JSON pointer into it.",
             f"targets.live from {live_where}."]
    spec["notes"] = notes + [f"TODO: {t}" for t in dict.fromkeys(draft.todo)]
    return spec


def _response_desc(doc: Document, op: Operation, at: str) -> str:
    resp = doc.resolve({"$ref": at}) if at else None
    desc = resp.get("description") if isinstance(resp, dict) else None
    return desc if isinstance(desc, str) and desc.strip() else f"{op.method} {op.path}: no description"


def _challenge(doc: Document, f401: Any, primary: Scheme, provider_id: str) -> dict[str, Any] | None:
    """The WWW-Authenticate value a 401 carries (RFC 9110 §11.6.1): the document's example where
    its 401 gives one; else one naming the scheme; a bare key has no auth-scheme to name (None)."""
    if f401 is not None:
        where, resp, _ = f401
        headers = doc.resolve(resp.get("headers"))
        if isinstance(headers, dict):
            for hname, h in headers.items():
                if hname.lower() == "www-authenticate":
                    h, hwhere = doc.locate(h, where + "/headers/" + hname.replace("~", "~0").replace("/", "~1"))
                    example = h.get("example") if isinstance(h, dict) else None
                    if example is None and isinstance(h, dict):
                        schema = doc.resolve(h.get("schema"))
                        example = schema.get("example") if isinstance(schema, dict) else None
                    if isinstance(example, str) and example.strip() and (
                            primary.scheme is None or example.split(" ")[0].lower() == primary.scheme.lower()):
                        return {"value": example, "rule": documented(hwhere, example)}
    if primary.scheme is None:
        return None
    return {"value": f'{primary.scheme} realm="{provider_id}"',
            "rule": {"strength": "rfc", "source": 'RFC 9110 §11.6.1: "The server generating a 401 response MUST send a WWW-Authenticate header field"'}}


def _fit(body: Any, budget: list[int], draft: Draft, where: str) -> Any:
    """The body, or an empty one of its type when it is large or the draft's budget is spent:
    a spec stays a file people read (and within the loader's size bound)."""
    size = len(json.dumps(body, ensure_ascii=False, default=str))
    if size <= ROUTE_BODY_MAX and size <= budget[0]:
        budget[0] -= size
        return body
    draft.emptied.append(where)
    return {} if isinstance(body, dict) else ([] if isinstance(body, list) else "")


def _route(doc: Document, op: Operation, auth: Auth, tpl: str, use_scopes: bool, scope_names: dict[str, str],
           budget: list[int], draft: Draft) -> dict[str, Any]:
    status, key, body, found, media = _success(doc, op)
    if body is not None:
        body = _fit(body, budget, draft, op.where)
    route: dict[str, Any] = {"method": op.method, "path": tpl}
    op_id = op.op.get("operationId")
    if isinstance(op_id, str) and re.fullmatch(r"[A-Za-z0-9_.-]+", op_id):
        route["id"] = op_id
    if not auth.needed:
        route["auth"] = False
    elif use_scopes and auth.scope is not None:
        route["scope"] = _scope_name(auth.scope, scope_names)
    success: dict[str, Any] = {"status": status}
    if body is not None and op.method != "HEAD" and (is_json(media) or MEDIA_TYPE.fullmatch(media or "")):
        if is_json(media):
            success["body"] = body
        else:
            success["body"] = body if isinstance(body, str) else json.dumps(body)
            success["content_type"] = media
    route["success"] = success
    summary = op.op.get("summary") or op.op.get("description") or op_id or f"{op.method} {op.path}"
    route["source"] = documented(op.where, summary) if auth.rule is None or auth.rule["strength"] == "documented" else auth.rule
    return route


def _docs_url(doc: Document, live: str) -> str:
    """The page the rules refer to: the document's own URL where it says (x-origin, externalDocs)."""
    info = doc.get(doc.data, "info")
    for cand in (
        doc.get(info, "x-origin", 0, "url") if isinstance(info, dict) else None,
        doc.get(doc.data, "externalDocs", "url"),
        doc.get(info, "termsOfService") if isinstance(info, dict) else None,
    ):
        if isinstance(cand, str) and re.match(r"^https?://\S+$", cand):
            return cand
    return live + "/"
