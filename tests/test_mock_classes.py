"""The mock answers every failure class of every provider as its spec says, over real HTTP.

Each case is derived from the spec alone (which classes and variants it has, which key states,
binding, scopes, exchange, rate limit); the expected status, body, schema and headers are the
spec's. The journal must name the same class and variant, so a right answer for the wrong reason
fails too.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

import jsonschema
import pytest

from mocks._keys import KeyStore
from specs import ProviderSpec, Response, encode_body, thaw
from _helpers import IDS, SPECS, Reply, having, probe_request, send

Trigger = Callable[[Any, ProviderSpec, dict[str, Any]], Reply]


def _other_scheme(spec: ProviderSpec) -> str:
    return "Digest" if spec.credential.scheme.lower() == "basic" else "Basic"


def _unissued(spec: ProviderSpec) -> str:
    """A key of the right shape that this mock never issued (another store's valid key)."""
    return KeyStore(spec, seed="never-issued").roles["valid"].value


def login(server: Any, spec: ProviderSpec, keys: dict[str, Any], password_suffix: str = "", ctype: str | None = None) -> Reply:
    """POST the exchange route with the mock user's credentials (spoilt by a suffix if given)."""
    ex = spec.exchange
    assert ex is not None
    ctype = ctype or ex.content_type
    body = {ex.username_field: keys["username"], ex.password_field: keys["password"] + password_suffix}
    return send(server.base_url, ex.method, ex.path, [("Content-Type", ctype)], encode_body(ctype, body))


def _exchange_refused(server: Any, spec: ProviderSpec, keys: dict[str, Any]) -> Reply:
    return login(server, spec, keys, password_suffix="x")


def _rate_limited(server: Any, spec: ProviderSpec, keys: dict[str, Any]) -> Reply:
    assert spec.rate_limit is not None
    auth = spec.credential.render(keys["valid"])
    for _ in range(spec.rate_limit.requests):
        assert probe_request(server.base_url, spec, auth).status == spec.probe.success.status
    return probe_request(server.base_url, spec, auth)


def _refused_kind(spec: ProviderSpec) -> str:
    assert spec.binding is not None
    return next(k for k in spec.binding.kinds if k not in spec.binding.accepted)


def _auth(build: Callable[[ProviderSpec, dict[str, Any]], Any]) -> Trigger:
    return lambda server, spec, keys: probe_request(server.base_url, spec, build(spec, keys))


TRIGGERS: dict[str, Trigger] = {
    "missing": _auth(lambda s, k: None),
    "empty": _auth(lambda s, k: ""),
    "empty.whitespace": _auth(lambda s, k: " \t "),
    "wrong_scheme": _auth(lambda s, k: f"{_other_scheme(s)} {k['valid']}"),
    "no_scheme": _auth(lambda s, k: k["valid"]),
    "no_scheme.glued": _auth(lambda s, k: s.credential.scheme + k["valid"]),
    "malformed.scheme_only": _auth(lambda s, k: s.credential.scheme),
    "malformed.internal_space": _auth(lambda s, k: f"{s.credential.scheme} {k['valid'][:10]} {k['valid'][10:]}"),
    "malformed.bad_chars": _auth(lambda s, k: f"{s.credential.scheme} {k['valid']}!"),
    "malformed.shape": _auth(lambda s, k: f"{s.credential.scheme} abc123"),
    "invalid.unknown": _auth(lambda s, k: s.credential.render(_unissued(s))),
    "invalid.other_binding": _auth(lambda s, k: s.credential.render(k["other_binding"])),
    "invalid.refused_kind": _auth(lambda s, k: s.credential.render(k[_refused_kind(s)])),
    "invalid.exchange": _exchange_refused,
    "expired": _auth(lambda s, k: s.credential.render(k["expired"])),
    "revoked": _auth(lambda s, k: s.credential.render(k["revoked"])),
    "insufficient_scope": _auth(lambda s, k: s.credential.render(k["limited"])),
    "token_in_query": lambda server, s, k: probe_request(server.base_url, s, None, target=f"{s.probe.path}?api_key={k['valid']}"),
    "token_in_query.body": lambda server, s, k: probe_request(
        server.base_url, s, None, body=s.probe.encode({**(thaw(s.probe.body) or {}), "access_token": k["valid"]})
    ),
    "duplicate_header": _auth(lambda s, k: [s.credential.render(k["valid"])] * 2),
    "rate_limited": _rate_limited,
    "bad_request": lambda server, s, k: probe_request(server.base_url, s, s.credential.render(k["valid"]), body=s.probe.encode(s.probe.bad_body)),
    "bad_request.unparseable": lambda server, s, k: probe_request(server.base_url, s, s.credential.render(k["valid"]), body=b"{not json"),
}


def cases_for(spec: ProviderSpec) -> list[str]:
    """The trigger names that apply to a spec: every class it has, every variant the mock can tell."""
    out = []
    for name in TRIGGERS:
        klass, _, variant = name.partition(".")
        if klass not in spec.failures:
            continue
        if name == "malformed.shape" and not spec.credential.token.enforce_shape:
            continue
        if variant in ("other_binding", "refused_kind") and spec.binding is None:
            continue
        if variant == "exchange" and spec.exchange is None:
            continue
        out.append(name)
    return out


CASES = [(p, c) for p in IDS for c in cases_for(SPECS[p])]


def expected(spec: ProviderSpec, case: str) -> tuple[str, str | None, Response]:
    """The class, variant and catalogue response a trigger must produce."""
    klass, _, variant = case.partition(".")
    known = {"scheme_only", "internal_space", "bad_chars", "shape", "unknown", "other_binding", "refused_kind", "exchange"}
    v = variant if variant in known else None
    if v == "exchange":
        assert spec.exchange is not None
        return klass, v, spec.exchange.failure
    return klass, v, spec.failures[klass].variant(v)


def check_response(spec: ProviderSpec, reply: Reply, resp: Response) -> None:
    """Status, body (example and schema) and required headers as the catalogue says."""
    assert reply.status == resp.status
    body = reply.json() if not isinstance(resp.body, str) else reply.body.decode()
    assert body == thaw(resp.body)
    jsonschema.validate(body, thaw(resp.schema))
    for name, pattern in resp.headers.items():
        value = reply.header(name)
        assert value is not None and re.search(pattern, value), f"{name} {value!r} !~ {pattern}"
    challenge = spec.credential.challenge
    if reply.status == 401 and challenge is not None:
        assert reply.header_all("WWW-Authenticate") == [challenge.value]


@pytest.mark.parametrize("provider,case", CASES, ids=[f"{p}.{c}" for p, c in CASES])
def test_failure_class(running: Any, provider: str, case: str) -> None:
    """The trigger gets the spec's answer for its class, and the journal names that class."""
    spec = SPECS[provider]
    server = running(provider)
    keys = server.keys()
    reply = TRIGGERS[case](server, spec, keys)
    klass, variant, resp = expected(spec, case)
    check_response(spec, reply, resp)
    outcome = server.entries()[-1]["outcome"]
    assert (outcome["class"], outcome["variant"] if variant else None) == (klass, variant)
    if klass == "rate_limited":
        assert outcome["retry_after"] == int(reply.header("Retry-After") or 0) >= 1


@pytest.mark.parametrize("provider", IDS)
def test_every_declared_class_has_a_case(provider: str) -> None:
    """No failure class (or variant) of a spec goes untested here."""
    spec = SPECS[provider]
    covered = {c.partition(".")[0] for c in cases_for(spec)}
    assert covered == set(spec.failures)
    declared = {f"{k}.{v}" for k, f in spec.failures.items() for v in f.variants}
    assert declared <= set(cases_for(spec))


@pytest.mark.parametrize("provider", IDS)
def test_success(running: Any, provider: str) -> None:
    """The valid key, canonical form, gets the probe's documented success; the journal says whose key."""
    spec = SPECS[provider]
    server = running(provider)
    keys = server.keys()
    reply = probe_request(server.base_url, spec, spec.credential.render(keys["valid"]))
    success = spec.probe.success
    assert reply.status == success.status
    assert reply.json() == thaw(success.body)
    jsonschema.validate(reply.json(), thaw(success.schema))
    assert reply.header("WWW-Authenticate") is None
    cred = server.entries()[-1]["credential"]
    assert (cred["role"], cred["state"], cred["scheme"]) == ("valid", "valid", spec.credential.scheme)


def forms(spec: ProviderSpec, key: str) -> list[tuple[str, bool]]:
    """Header values around the canonical one, and whether each is the same credential.

    RFC 9110: the scheme is case-insensitive (where the spec follows it), 1*SP, surrounding OWS is
    not part of the value; HTAB only where the spec accepts it; keys are exact and case-sensitive.
    """
    scheme, cred = spec.credential.scheme, spec.credential
    out = [(f"{scheme}   {key}", True), (f"  {scheme} {key}\t", True)]
    out += [(f"{scheme} {key[:-1]}", False), (f"{scheme} {key}x", False), (f"{scheme} {key.swapcase()}", False)]
    out += [(f"{scheme.lower()} {key}", cred.scheme_insensitive), (f"{scheme.upper()} {key}", cred.scheme_insensitive)]
    out.append((f"{scheme}\t{key}", cred.separator == "whitespace"))
    return out


@pytest.mark.parametrize("provider", IDS)
def test_equivalent_and_stricter_forms(running: Any, provider: str) -> None:
    """Equivalent forms get the success; the others a 4xx."""
    spec = SPECS[provider]
    server = running(provider)
    key = server.keys()["valid"]
    for form, same in forms(spec, key):
        reply = probe_request(server.base_url, spec, form)
        assert (reply.status == spec.probe.success.status) == same and reply.status < 500, form.replace(key, "<key>")


@pytest.mark.parametrize("provider", IDS)
def test_wrong_method_after_auth(running: Any, provider: str) -> None:
    """Another method on the probe path: auth first (a missing key is still `missing`), then 405 with Allow."""
    spec = SPECS[provider]
    server = running(provider)
    other = "DELETE"
    assert probe_request(server.base_url, spec, None, method=other).status == spec.failures["missing"].status
    reply = probe_request(server.base_url, spec, spec.credential.render(server.keys()["valid"]), method=other)
    assert reply.status == 405 and reply.header("Allow") == spec.probe.method


@pytest.mark.parametrize("provider", IDS)
def test_unknown_path_is_authenticated_then_not_found(running: Any, provider: str) -> None:
    """Auth before routing: a path the provider lacks answers as the probe would for a bad credential,
    and with the valid key gets the spec's not_found; the journal names the class either way."""
    spec = SPECS[provider]
    server = running(provider)
    keys = server.keys()
    for target in ("/", "/nowhere", "/v9/x?y=1"):
        missing = send(server.base_url, "GET", target)
        assert missing.status == spec.failures["missing"].status, target
        assert server.entries()[-1]["outcome"]["class"] == "missing"
        invalid = send(server.base_url, "GET", target, [(spec.credential.header, spec.credential.render(_unissued(spec)))])
        assert (invalid.status, server.entries()[-1]["outcome"]["class"]) == (spec.failures["invalid"].status, "invalid"), target
        ok = send(server.base_url, "GET", target, [(spec.credential.header, spec.credential.render(keys["valid"]))])
        assert (ok.status, ok.json()) == (spec.not_found.status, thaw(spec.not_found.body)), target
        assert server.entries()[-1]["path"] == target.split("?")[0]


@having("exchange")
def test_exchange_issues_the_valid_token(running: Any, spec: ProviderSpec) -> None:
    """Username + password (the spec's content type or a form) -> the token that then authenticates."""
    ex = spec.exchange
    assert ex is not None
    server = running(spec.id)
    keys = server.keys()
    for ctype in (ex.content_type, "application/x-www-form-urlencoded"):
        reply = login(server, spec, keys, ctype=ctype)
        assert reply.status == 200
        token = reply.json()[ex.token_field]
        assert token == keys["valid"]
    assert probe_request(server.base_url, spec, spec.credential.render(token)).status == 200
    wrong_method = send(server.base_url, "GET", ex.path)
    assert wrong_method.status == 405


@having("exchange")
def test_exchange_after_revoke_issues_a_new_token(running: Any, spec: ProviderSpec) -> None:
    """A revoked token is replaced at the next login (a token is per user, recreated when gone)."""
    assert spec.exchange is not None and "revoked" in spec.keys.states
    server = running(spec.id)
    keys = server.keys()
    server.call(lambda s: s.store.set_state(s.store.roles["valid"].id, "revoked"))
    token = login(server, spec, keys).json()[spec.exchange.token_field]
    assert token != keys["valid"]
    assert probe_request(server.base_url, spec, spec.credential.render(token)).status == 200
    assert probe_request(server.base_url, spec, spec.credential.render(keys["valid"])).status == spec.failures["revoked"].status


@having("binding")
def test_binding_read_from_json_too(running: Any, spec: ProviderSpec) -> None:
    """The binding field is read from a JSON body as well as the probe's own content type."""
    assert spec.binding is not None
    server = running(spec.id)
    keys = server.keys()
    ok = json.dumps(thaw(spec.probe.body)).encode()
    auth = [(spec.credential.header, spec.credential.render(keys["valid"])), ("Content-Type", "application/json")]
    assert send(server.base_url, "POST", spec.probe.path, auth, ok).status == 200
    other = json.dumps({**thaw(spec.probe.body), spec.binding.field: keys["binding"] + "9"}).encode()
    assert send(server.base_url, "POST", spec.probe.path, auth, other).json() == thaw(spec.failures["invalid"].body)


@pytest.mark.parametrize("provider", IDS)
@pytest.mark.parametrize("defect", ["wrong_error_body", "status_403_for_401", "no_challenge"])
def test_the_checks_catch_a_broken_answer(running: Any, provider: str, defect: str) -> None:
    """check_response is not vacuous: a mock answering `missing` wrongly fails it."""
    spec = SPECS[provider]
    server = running(provider, defects=(defect,))
    reply = TRIGGERS["missing"](server, spec, server.keys())
    with pytest.raises(AssertionError):
        check_response(spec, reply, expected(spec, "missing")[2])
