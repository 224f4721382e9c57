"""The admin API under /__authconform__/ and the request journal (redacted), over real HTTP."""
from __future__ import annotations

import re
from typing import Any

import pytest

from specs import ADMIN_PREFIX, ProviderSpec, encode_body, thaw
from suites import AdminError, MockAdmin
from _helpers import IDS, SPECS, admin, having, probe_request, send


def expected_roles(spec: ProviderSpec) -> set[str]:
    """The entries GET keys must have for a spec (ARCHITECTURE.md, admin API)."""
    roles = {"valid"} | set(spec.keys.states)
    if spec.exchange:
        roles |= {"username", "password"}
    if spec.binding:
        roles |= {"other_binding", "binding"} | {k for k in spec.binding.kinds if k not in spec.binding.accepted}
    return roles


@pytest.mark.parametrize("provider", IDS)
def test_get_keys(running: Any, provider: str) -> None:
    """GET keys: the states the provider has, keys in its token shape, all distinct."""
    spec = SPECS[provider]
    server = running(provider)
    status, keys = admin(server.base_url, "GET", "keys")
    assert status == 200 and set(keys) == expected_roles(spec)
    pattern = spec.credential.token.pattern()
    secrets = [v for k, v in keys.items() if k not in ("username", "password", "binding")]
    assert all(pattern.fullmatch(v) for v in secrets)
    assert len(set(secrets)) == len(secrets)
    if spec.binding:
        assert keys["binding"] == str(spec.probe.body[spec.binding.field])


@pytest.mark.parametrize("provider", IDS)
def test_mint_expire_revoke(running: Any, provider: str) -> None:
    """POST keys mints a working key; expire/revoke change what the protected route says."""
    spec = SPECS[provider]
    server = running(provider)
    status, minted = admin(server.base_url, "POST", "keys", {"state": "valid"})
    assert status == 200 and re.fullmatch(r"k\d+", minted["id"])
    auth = spec.credential.render(minted["key"])
    assert probe_request(server.base_url, spec, auth).status == spec.probe.success.status
    for state, action in (("expired", "expire"), ("revoked", "revoke")):
        status, body = admin(server.base_url, "POST", f"keys/{minted['id']}/{action}")
        if state not in spec.keys.states:
            assert status == 400 and "states:" in body["error"]
            continue
        assert (status, body["state"]) == (200, state)
        reply = probe_request(server.base_url, spec, auth)
        assert (reply.status, reply.json()) == (spec.failures[state].status, thaw(spec.failures[state].body))


@pytest.mark.parametrize("provider", IDS)
def test_the_suites_admin_client_mints_revokes_and_reads_the_journal(running: Any, provider: str) -> None:
    """suites.MockAdmin (the client bench/ and the suite use): mint_entry, journal, revoke,
    clear_journal, over real HTTP; an admin call the mock refuses is an AdminError."""
    spec = SPECS[provider]
    server = running(provider)
    client = MockAdmin(server.base_url)
    client.clear_journal()
    assert client.journal() == []
    key_id, key = client.mint_entry("valid")
    auth = spec.credential.render(key)
    assert probe_request(server.base_url, spec, auth).status == spec.probe.success.status
    entries = client.journal()
    assert [e["credential"]["key_id"] for e in entries] == [key_id]
    assert client.journal(since=entries[-1]["seq"]) == []
    if "revoked" in spec.keys.states:
        client.revoke(key_id)
        assert probe_request(server.base_url, spec, auth).status == spec.failures["revoked"].status
    client.clear_journal()
    assert client.journal() == []
    with pytest.raises(AdminError, match="status 404"):
        client.revoke("k999999")


@having("scopes")
def test_mint_with_scopes(running: Any, spec: ProviderSpec) -> None:
    """Minted keys carry scopes the decision honours: the limited key's scopes get 403, all scopes 200."""
    assert spec.scopes is not None
    server = running(spec.id)
    _, limited = admin(server.base_url, "POST", "keys", {"scopes": list(spec.scopes.limited)})
    reply = probe_request(server.base_url, spec, spec.credential.render(limited["key"]))
    assert reply.status == spec.failures["insufficient_scope"].status
    _, every = admin(server.base_url, "POST", "keys", {"scopes": list(spec.scopes.names)})
    assert probe_request(server.base_url, spec, spec.credential.render(every["key"])).status == spec.probe.success.status


@having("binding")
def test_mint_with_binding_and_kind(running: Any, spec: ProviderSpec) -> None:
    """Minted keys carry a binding and a kind: another resource's key is invalid, a refused kind too."""
    bind = spec.binding
    assert bind is not None
    server = running(spec.id)
    _, other = admin(server.base_url, "POST", "keys", {"binding": "777"})
    reply = probe_request(server.base_url, spec, spec.credential.render(other["key"]))
    assert reply.json() == thaw(spec.failures["invalid"].variant("other_binding").body)
    body = encode_body(spec.probe.content_type, {**(thaw(spec.probe.body) or {}), bind.field: "777"})
    assert probe_request(server.base_url, spec, spec.credential.render(other["key"]), body=body).status == spec.probe.success.status
    for kind in (k for k in bind.kinds if k not in bind.accepted):
        _, refused = admin(server.base_url, "POST", "keys", {"kind": kind})
        reply = probe_request(server.base_url, spec, spec.credential.render(refused["key"]))
        assert reply.status == spec.failures["invalid"].variant("refused_kind").status


@pytest.mark.parametrize(
    "provider,payload,needle",
    [
        ("claid", {"state": "nope"}, "states: valid, revoked"),
        ("claid", {"scopes": ["root"]}, "scopes: storage, image_editing, admin"),
        ("cloro", {"kind": "account"}, "binds keys to nothing"),
        ("flash", {"kind": "global"}, "kinds: subscription, account"),
        ("cloro", {"colour": "red"}, "fields: state, scopes, binding, kind"),
        ("cloro", ["valid"], "JSON object"),
    ],
)
def test_mint_errors_say_what_is_allowed(running: Any, provider: str, payload: Any, needle: str) -> None:
    """A bad mint request is a 400 whose message lists the allowed values."""
    status, body = admin(running(provider).base_url, "POST", "keys", payload)
    assert status == 400 and needle in body["error"]


def test_admin_errors(running: Any) -> None:
    """Unknown key ids are 404 naming the ids; unknown admin routes are 404 and not journaled."""
    server = running("cloro")
    status, body = admin(server.base_url, "POST", "keys/k999/revoke")
    assert status == 404 and "ids: k1" in body["error"]
    assert send(server.base_url, "GET", ADMIN_PREFIX + "nothing").status == 404
    status, body = admin(server.base_url, "GET", "journal?since=x")
    assert status == 400
    assert server.entries() == []


def test_reset_restores_keys_and_clears(running: Any) -> None:
    """POST reset: initial keys and states back, minted keys gone, journal and rate counters cleared."""
    spec = SPECS["cloro"]
    server = running("cloro")
    _, before = admin(server.base_url, "GET", "keys")
    _, minted = admin(server.base_url, "POST", "keys", {})
    valid_id = server.call(lambda s: s.store.roles["valid"].id)
    admin(server.base_url, "POST", f"keys/{valid_id}/revoke")
    assert spec.rate_limit is not None
    for _ in range(spec.rate_limit.requests):
        probe_request(server.base_url, spec, spec.credential.render(minted["key"]))
    status, after = admin(server.base_url, "POST", "reset")
    assert status == 200 and after["keys"] == before
    assert probe_request(server.base_url, spec, spec.credential.render(before["valid"])).status == 200
    assert probe_request(server.base_url, spec, spec.credential.render(minted["key"])).status == 401
    _, journal = admin(server.base_url, "GET", "journal")
    assert [e["outcome"]["status"] for e in journal["entries"]] == [200, 401]


def test_journal_entry_fields(running: Any) -> None:
    """A journal entry has the ARCHITECTURE.md fields, and says where a credential travelled."""
    spec = SPECS["cloro"]
    server = running("cloro")
    key = server.keys()["valid"]
    probe_request(server.base_url, spec, spec.credential.render(key), target=spec.probe.path + "?x=1")
    probe_request(server.base_url, spec, None, target=f"{spec.probe.path}?apiKey={key}", extra=[("Cookie", f"token={key}")])
    _, journal = admin(server.base_url, "GET", "journal")
    first, second = journal["entries"]
    assert set(first) == {"seq", "time", "method", "path", "query", "headers", "body", "remote", "outcome", "credential"}
    assert first["remote"] == "127.0.0.1" and first["method"] == spec.probe.method and first["path"] == spec.probe.path
    assert first["query"] == [["x", "1"]]
    assert first["credential"] == {
        "header_lines": 1, "scheme": "Bearer", "key_id": "k1", "state": "valid", "role": "valid", "kind": None,
        "in_query": False, "in_body": False, "in_cookie": False,
    }
    assert second["outcome"]["class"] == "token_in_query"
    assert second["credential"]["in_query"] and second["credential"]["in_cookie"]
    assert second["seq"] == first["seq"] + 1
    _, since = admin(server.base_url, "GET", f"journal?since={first['seq']}")
    assert [e["seq"] for e in since["entries"]] == [second["seq"]]
    status, cleared = admin(server.base_url, "DELETE", "journal")
    assert (status, cleared["cleared"]) == (200, 2)
    assert admin(server.base_url, "GET", "journal")[1]["entries"] == []


@pytest.mark.parametrize("provider", IDS)
def test_journal_redacts_every_key(running: Any, provider: str) -> None:
    """No key bytes (whole, truncated, case-flipped, in query, body, cookie, Basic) in the journal output."""
    spec = SPECS[provider]
    server = running(provider)
    keys = server.keys()
    key = keys["valid"]
    import base64

    sends = [
        spec.credential.render(key),
        spec.credential.render(key[:-3]),
        spec.credential.render(key.swapcase()),
        "Basic " + base64.b64encode(f"user:{key}".encode()).decode(),
    ]
    for value in sends:
        probe_request(server.base_url, spec, value, extra=[("Cookie", f"sid={key[2:]}")])
    probe_request(server.base_url, spec, None, target=f"{spec.probe.path}?api_key={key}&k={key[:12]}")
    probe_request(server.base_url, spec, None, body=spec.probe.encode({**(thaw(spec.probe.body) or {}), "token": key}))
    if spec.exchange:
        ex = spec.exchange
        body = encode_body(ex.content_type, {ex.username_field: keys["username"], ex.password_field: keys["password"]})
        send(server.base_url, ex.method, ex.path, [("Content-Type", ex.content_type)], body)
    status, journal = admin(server.base_url, "GET", "journal")
    text = repr(journal)
    secrets = [v for k, v in keys.items() if k not in ("username", "binding")]
    for secret in secrets:
        for i in range(len(secret) - 5):
            assert secret[i : i + 6] not in text, "a 6-char slice of a secret is in the journal"
    assert "<key:k1>" in text and "<key:k1:partial>" in text
    assert ADMIN_PREFIX not in text  # the admin API is never journaled


def test_redaction_of_keys_minted_later_and_retired(running: Any) -> None:
    """Keys minted after a request (and retired by a reset) are still redacted."""
    spec = SPECS["claid"]
    server = running("claid")
    _, minted = admin(server.base_url, "POST", "keys", {})
    probe_request(server.base_url, spec, spec.credential.render(minted["key"]))
    entries = server.entries()
    assert minted["key"] not in repr(entries) and f"<key:{minted['id']}>" in repr(entries)
    retired = server.call(lambda s: (s.store.reset(), s.store.secrets())[1])
    assert (minted["key"], f"key:{minted['id']}", spec.credential.token.prefix) in retired


def test_journal_is_bounded() -> None:
    """The journal keeps the newest `limit` entries and says how many it dropped."""
    from mocks._thread import MockServer

    spec = SPECS["crux"]
    with MockServer(spec, journal_limit=3) as server:
        for _ in range(5):
            probe_request(server.base_url, spec, None)
        _, journal = admin(server.base_url, "GET", "journal")
        assert [e["seq"] for e in journal["entries"]] == [3, 4, 5] and journal["dropped"] == 2


@having("exchange")
def test_info(running: Any, spec: ProviderSpec) -> None:
    """GET info names the provider, defects, scenario and routes (the exchange route too)."""
    status, info = admin(running(spec.id).base_url, "GET", "info")
    assert status == 200 and info["provider"] == spec.id and info["defects"] == [] and info["scenario"] is None
    assert info["exchange"]["path"] == spec.exchange.path  # type: ignore[union-attr]


def test_journal_packs_and_bounds_many_entries() -> None:
    """Past a chunk, entries are packed and read back the same; the bound keeps the newest."""
    from mocks._decide import Head
    from mocks._journal import Journal
    from mocks._keys import KeyStore
    from mocks._decide import compile_plan, decide

    spec = SPECS["cloro"]
    plan, store = compile_plan(spec), KeyStore(spec, seed="journal")
    journal = Journal(limit=300)
    auth = spec.credential.render(store.roles["valid"].value).encode()
    for i in range(1000):
        head = Head("POST", f"{spec.probe.path}?i={i}", ((b"Authorization", auth), (b"X-I", str(i).encode())), b"{}")
        journal.add(head, "127.0.0.1", decide(plan, head, store, 0.0), None)
    entries = journal.entries(plan, store)
    assert [e["seq"] for e in entries] == list(range(701, 1001)) and journal.dropped == 700 and len(journal) == 300
    last = entries[-1]
    assert last["query"] == [["i", "999"]] and last["headers"][1] == ["X-I", "999"]
    assert last["headers"][0] == ["Authorization", "Bearer <key:k1>"]
    assert last["outcome"]["status"] == 200 and last["credential"]["key_id"] == "k1"
    assert journal.clear() == 300 and journal.entries(plan, store) == [] and journal.last_seq == 1000


# -- admin input is input: every bad value a 400 naming its field, never a 500 ----------------------
BOUND = [i for i in IDS if SPECS[i].binding is not None]
UNBOUND = [i for i in IDS if SPECS[i].binding is None]
DEEP = b"[" * 100_000 + b"]" * 100_000


def _raw(base_url: str, method: str, path: str, body: bytes = b"", ctype: str = "application/json") -> Any:
    """One admin call with raw body bytes; the Reply."""
    return send(base_url, method, ADMIN_PREFIX + path, [("Content-Type", ctype)], body)


@pytest.mark.parametrize("provider", IDS)
def test_bad_mint_bodies_are_400_with_a_json_error(running: Any, provider: str) -> None:
    """Deep nesting (RecursionError before), bad JSON, non-UTF-8, a form body, non-objects: 400 JSON."""
    url = running(provider).base_url
    bodies = [DEEP, b"{" * 100_000, b'{"state": ', b"\xff\xfe{}", b"state=valid", b"[]", b"7", b'"valid"', b"null"]
    replies = [_raw(url, "POST", "keys", body) for body in bodies]
    replies.append(_raw(url, "POST", "keys", b"state=valid", "application/x-www-form-urlencoded"))
    assert [r.status for r in replies] == [400] * len(replies), [r.body[:80] for r in replies]
    assert all("JSON" in r.json()["error"] for r in replies)
    huge = _raw(url, "POST", "keys", b'{"state": "' + b"v" * (2 << 20) + b'"}')
    assert huge.status == 413 and "over" in huge.json()["error"]


@pytest.mark.parametrize("provider", IDS)
@pytest.mark.parametrize("field,value", [
    ("state", 5), ("state", ["valid"]), ("state", {"a": 1}), ("state", True), ("state", ""),
    ("kind", 1), ("kind", []), ("scopes", "read"), ("scopes", [1]), ("scopes", {"a": 1}),
    ("binding", {"a": 1}), ("binding", [12345]), ("binding", True), ("binding", 1.5), ("binding", ""),
])
def test_mint_field_types_are_checked(running: Any, provider: str, field: str, value: Any) -> None:
    """A mint field of the wrong type is a 400 whose JSON names the field (a non-string binding was
    minted before: a key no request could ever name)."""
    status, body = admin(running(provider).base_url, "POST", "keys", {field: value})
    assert status == 400 and (body.get("field") == field or body["error"].startswith(field)), body


@pytest.mark.parametrize("provider", IDS)
def test_a_field_given_twice_is_refused_not_read_as_the_last(running: Any, provider: str) -> None:
    """`{"state": "valid", "state": "revoked"}` minted a revoked key (the last name won): now a 400
    naming the field, and no key is minted; a nested duplicate is refused the same way."""
    url = running(provider).base_url
    before = admin(url, "GET", "keys")[1]
    for body in (b'{"state": "valid", "state": "revoked"}', b'{"scopes": [], "x": {"a": 1, "a": 2}}'):
        reply = _raw(url, "POST", "keys", body)
        assert reply.status == 400 and "twice" in reply.json()["error"], reply.body[:200]
    assert _raw(url, "POST", "keys", b'{"state": "valid", "state": "revoked"}').json()["field"] == "state"
    assert admin(url, "GET", "keys")[1] == before


@pytest.mark.parametrize("provider", BOUND)
def test_a_whole_number_binding_is_a_resource_id(running: Any, provider: str) -> None:
    """`binding: 777` binds to resource 777 (the probe may send its id as a number): the key works there."""
    spec = SPECS[provider]
    server = running(provider)
    status, minted = admin(server.base_url, "POST", "keys", {"binding": 777})
    assert status == 200 and minted["binding"] == "777"
    field = spec.binding.field  # type: ignore[union-attr]
    body = encode_body(spec.probe.content_type, {**thaw(spec.probe.body), field: "777"})
    assert probe_request(server.base_url, spec, spec.credential.render(minted["key"]), body=body).status == spec.probe.success.status


@pytest.mark.parametrize("provider", UNBOUND)
def test_binding_where_the_spec_binds_nothing_names_the_field(running: Any, provider: str) -> None:
    """A binding for a provider without bindings is refused, naming the field."""
    status, body = admin(running(provider).base_url, "POST", "keys", {"binding": 777})
    assert status == 400 and "binding" in body["error"]


@pytest.mark.parametrize("since", ["\u00b2", "\u0661\u0662", "\uff11", "9" * 5000, "-1", "1.5", "", " 1", "0x10"])
def test_journal_since_takes_ascii_digits_only(running: Any, since: str) -> None:
    """`since` of Unicode digits (int() refused them after isdigit() accepted: 500), a 5,000-digit
    number (past int()'s limit), signs, spaces: 400 naming `since`."""
    from urllib.parse import quote

    server = running(IDS[0])
    reply = send(server.base_url, "GET", ADMIN_PREFIX + "journal?since=" + quote(since))
    assert reply.status == 400 and reply.json()["field"] == "since", reply.body[:200]
    assert admin(server.base_url, "GET", "journal?since=000012")[0] == 200


@pytest.mark.parametrize("provider", IDS)
def test_get_keys_follows_the_keys_states(running: Any, provider: str) -> None:
    """A revoked (or expired) role key leaves its role in GET keys (it was listed as `valid`), and
    the reset brings it back; a key listed under a role always works as that role says."""
    spec = SPECS[provider]
    server = running(provider)
    _, before = admin(server.base_url, "GET", "keys")
    valid_id = server.call(lambda s: s.store.roles["valid"].id)
    action = "revoke" if "revoked" in spec.keys.states else "expire" if "expired" in spec.keys.states else None
    if action is None:
        pytest.skip(f"{provider} has neither revoked nor expired keys")
    assert admin(server.base_url, "POST", f"keys/{valid_id}/{action}")[0] == 200
    _, after = admin(server.base_url, "GET", "keys")
    listed = after.get("valid")
    revoked_listed = listed == before["valid"]
    assert not revoked_listed, "GET keys lists a revoked key as valid"
    for role in ("expired", "revoked"):
        if role in before:
            assert after[role] == before[role]
    _, reset = admin(server.base_url, "POST", "reset")
    assert reset["keys"] == before


def test_every_admin_endpoint_survives_hostile_input(running: Any) -> None:
    """Every admin route and method, with a deep, a huge, a non-UTF-8 and a bad-JSON body, odd
    query strings and ids: never a 5xx, always an answer (bounded: 6 x 7 x 5 calls)."""
    server = running(IDS[0])
    routes = [("GET", "keys"), ("POST", "keys"), ("POST", "keys/k1/expire"), ("POST", "keys/%C2%B2/revoke"),
              ("POST", "keys/" + "k" * 5000 + "/revoke"), ("GET", "journal"), ("DELETE", "journal"),
              ("POST", "reset"), ("GET", "info"), ("PUT", "keys"), ("PATCH", "journal")]
    queries = ["", "?since=%C2%B2", "?since=1&since=%FF", "?" + "a=1&" * 2000, "?since=" + "1" * 30]
    bodies = [b"", DEEP, b"\xff" * 100, b'{"state"', b"x" * (2 << 20)]
    statuses = set()
    for method, path in routes:
        for query in queries:
            for body in bodies:
                statuses.add(_raw(server.base_url, method, path + query, body).status)
    assert max(statuses) < 500, sorted(statuses)
