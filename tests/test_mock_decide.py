"""The pure decision function, the key store and the redactor, without a server (fast, Hypothesis)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mocks._decide import Head
from mocks._keys import KeyStore
from mocks._redact import Redactor
from mocks._decide import compile_plan, decide
from mocks._keys import EXPIRED_EXP
from specs import FAILURE_CLASSES, ProviderSpec
from _helpers import IDS, SPECS, having

QUICK = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def head(spec: ProviderSpec, values: list[bytes], body: bytes | None = None, target: str | None = None) -> Head:
    """A request head carrying `values` as credential header lines."""
    headers = [(b"Host", b"127.0.0.1")] + [(spec.credential.header.encode(), v) for v in values]
    if spec.probe.content_type:
        headers.append((b"Content-Type", spec.probe.content_type.encode()))
    return Head(spec.probe.method, target or spec.probe.path, tuple(headers), spec.probe.encode() if body is None else body)


def fresh(provider: str, defects: tuple[str, ...] = ()) -> tuple[ProviderSpec, Any, KeyStore]:
    """A spec, its compiled plan (with defects) and a seeded key store."""
    spec = SPECS[provider]
    return spec, compile_plan(spec, defects), KeyStore(spec, seed="decide-tests")


# Key mutations, drawn as operations so a falsifying example never shows a key (only what was done).
MUTATION = st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, 400)),
    st.tuples(st.just("extend"), st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=5)),
    st.tuples(st.just("replace"), st.integers(0, 400), st.characters(min_codepoint=33, max_codepoint=126)),
    st.tuples(st.just("swapcase"), st.integers(0, 400)),
)


def mutate(key: str, op: tuple[Any, ...]) -> str:
    """Apply a drawn mutation to a key."""
    kind = op[0]
    if kind == "truncate":
        return key[: op[1] % len(key)]
    if kind == "extend":
        return key + op[1]
    i = op[1] % len(key)
    new = op[2] if kind == "replace" else key[i].swapcase()
    return key[:i] + new + key[i + 1 :]


@pytest.mark.parametrize("provider", IDS)
@QUICK
@given(lines=st.lists(st.binary(max_size=200), max_size=3), body=st.binary(max_size=100))
def test_decide_never_fails_nor_5xx(provider: str, lines: list[bytes], body: bytes) -> None:
    """Any header bytes and body: an answer from the catalogue (4xx here), never an exception or 5xx."""
    spec, plan, store = fresh(provider)
    d = decide(plan, head(spec, lines, body), store, 0.0)
    assert d.klass in FAILURE_CLASSES and 400 <= d.status < 500


@pytest.mark.parametrize("provider", IDS)
@QUICK
@given(op=MUTATION)
def test_only_the_key_itself_authenticates(provider: str, op: tuple[Any, ...]) -> None:
    """A truncated, extended, changed or case-flipped key is refused (unless the mutation is a no-op)."""
    spec, plan, store = fresh(provider)
    key = store.roles["valid"].value
    presented = mutate(key, op)
    d = decide(plan, head(spec, [spec.credential.render(presented).encode()]), store, 0.0)
    assert (d.status == spec.probe.success.status) == (presented == key)


def test_the_property_finds_a_planted_prefix_compare() -> None:
    """The property above is not vacuous: against prefix_compare it finds a counterexample."""
    from hypothesis import find

    spec, plan, store = fresh("cloro", ("prefix_compare",))
    store.limiter = None
    key = store.roles["valid"].value
    found = find(
        MUTATION,
        lambda op: (decide(plan, head(spec, [spec.credential.render(mutate(key, op)).encode()]), store, 0.0).status == 200)
        != (mutate(key, op) == key),
        settings=settings(database=None, max_examples=500),
    )
    assert found[0] == "extend"


@pytest.mark.parametrize("provider", IDS)
def test_decision_order(provider: str) -> None:
    """ARCHITECTURE.md's order: duplicates before anything, then missing/empty, scheme, token, key."""
    spec, plan, store = fresh(provider)
    key = store.roles["valid"].value.encode()
    scheme = spec.credential.scheme.encode()
    expired = store.roles.get("expired")
    cases = [
        ([b"garbage", b""], "duplicate_header", None),
        ([], "missing", None),
        ([b"   "], "empty", None),
        ([scheme], "malformed", "scheme_only"),
        ([key], "no_scheme", None),
        ([b"Nope " + key], "wrong_scheme", None),
        ([scheme + b" a b"], "malformed", "internal_space"),
        ([scheme + b" a!b"], "malformed", "bad_chars"),
        ([scheme + b" " + key[:-1] + (b"A" if key[-1:] != b"A" else b"B")], "invalid", "unknown"),
    ]
    if expired is not None:
        cases.append(([scheme + b" " + expired.secret], "expired", None))
    for lines, klass, variant in cases:
        d = decide(plan, head(spec, lines), store, 0.0)
        assert (d.klass, d.variant) == (klass, variant), (klass, variant)


def test_query_and_body_credentials_are_token_in_query() -> None:
    """Without a header, a credential-named query parameter or body field is token_in_query."""
    spec, plan, store = fresh("cloro")
    assert decide(plan, head(spec, [], target="/v1/monitor?apiKey=x"), store, 0.0).klass == "token_in_query"
    assert decide(plan, head(spec, [], body=b'{"key": "x"}'), store, 0.0).klass == "token_in_query"
    assert decide(plan, head(spec, [], target="/v1/monitor?q=x", body=b'{"monkey": 1}'), store, 0.0).klass == "missing"


def test_rate_limit_needs_time_to_pass() -> None:
    """The spec's window: requests+1 in one window is 429; the next window starts afresh."""
    from mocks._ratelimit import FixedWindow

    spec, plan, store = fresh("cloro")
    assert spec.rate_limit is not None
    store.limiter = FixedWindow(spec.rate_limit.requests, spec.rate_limit.window_seconds)
    valid = head(spec, [spec.credential.render(store.roles["valid"].value).encode()])
    statuses = [decide(plan, valid, store, 100.0 + i * 0.01).status for i in range(spec.rate_limit.requests + 1)]
    assert statuses[-2:] == [200, 429]
    limited = decide(plan, valid, store, 101.0)
    assert limited.header("Retry-After") == str(spec.rate_limit.window_seconds - 1)
    assert decide(plan, valid, store, 100.0 + spec.rate_limit.window_seconds).status == 200


# -- keys ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", IDS)
def test_keys_have_the_token_shape(provider: str) -> None:
    """Every minted key matches the spec's token pattern; seeds are deterministic, stores differ."""
    spec = SPECS[provider]
    a, b, c = KeyStore(spec, seed=1), KeyStore(spec, seed=1), KeyStore(spec)
    pattern = spec.credential.token.pattern()
    assert all(pattern.fullmatch(k.value) for k in a)
    assert a.public() == b.public() and a.public() != c.public()


def test_jwt_keys_are_signed_hs256_with_id_and_exp() -> None:
    """JWT-shaped keys: base64url header.payload.signature, HS256 over the store's secret, id/exp claims."""
    spec = SPECS["cryptocloud"]
    store = KeyStore(spec, seed="jwt")
    for key in store:
        header, payload, sig = key.value.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["alg"] == "HS256"
        assert set(claims) == {"id", "exp"} and (claims["exp"] == EXPIRED_EXP) == (key.state == "expired")
        secret = hashlib.sha256(b"authconform-jwt:cryptocloud:jwt").digest()
        mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        assert base64.urlsafe_b64encode(mac).rstrip(b"=").decode() == sig
    example = spec.credential.token.example or ""
    assert store.roles["valid"].value.split(".")[0] == example.split(".")[0]  # the provider's own header


def test_lookup_is_exact_and_reprs_hide_keys() -> None:
    """Lookup finds only the exact bytes; a Key's repr never shows the key."""
    store = KeyStore(SPECS["claid"], seed="x")
    key = store.roles["valid"]
    assert store.lookup(key.secret) is key
    assert store.lookup(key.secret[:-1]) is None and store.lookup(key.secret.upper()) is None
    assert key.value not in repr(key) and key.value not in repr(list(store))


@having("exchange")
def test_login_is_checked_both_ways(spec: ProviderSpec) -> None:
    """The exchange credentials: both must match."""
    store = KeyStore(spec, seed="x")
    assert store.username and store.password
    assert store.check_login(store.username.encode(), store.password.encode())
    assert not store.check_login(store.username.encode(), store.password.encode() + b"x")
    assert not store.check_login(b"someone", store.password.encode())


# -- redaction ----------------------------------------------------------------------------------------
def test_redactor_whole_partial_and_encoded() -> None:
    """Whole keys become <key:ID>; slices, case-flips and base64 forms become <key:ID:partial>."""
    key = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    r = Redactor([(key, "key:k1")])
    assert r(f"Bearer {key}") == "Bearer <key:k1>"
    assert r(f"x {key[3:20]} y") == "x <key:k1:partial> y"
    assert r(key.lower()) == "<key:k1:partial>"
    basic = base64.b64encode(f"u:{key}".encode()).decode()
    out = r(basic)
    assert "<key:k1:partial>" in out and len(out.replace("<key:k1:partial>", "")) <= 8  # edge chars only
    assert r("nothing secret here") == "nothing secret here"
    assert r("İ" + key) == "İ<key:k1>"  # offsets survive characters whose lower() is longer
