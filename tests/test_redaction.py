"""The one redaction rule (specs/_redaction.py), run against both sides that use it: the mock's
Redactor (journal, gate output) and the suite's `redact` (results, reports, records, replay lines).

What is redacted: every form the project derives from a key (every mutation of the generated
engine, every mutated key of the fixed cases, each quoted as it is sent), found by the rule's
mechanism; checked here by a naive search that knows nothing of how the rule works. What is not:
the documented prefix, provider ids overlapping it, text shorter than the rule's minimum.
"""
from __future__ import annotations

import base64
import inspect
import random
from typing import Callable, Iterator

import pytest

from _helpers import leftover
from mocks._keys import KeyStore
from mocks._redact import GrowingRedactor, Redactor
from specs import MIN_RUN, load_all
from suites import Secret, _keys, redact
from suites.engine._template import _OPS, KeyExpr, Op

Side = Callable[[list[tuple[str, str, str]]], Callable[[str], str]]


def _mock_side(secrets: list[tuple[str, str, str]]) -> Callable[[str], str]:
    return Redactor(secrets)


def _suite_side(secrets: list[tuple[str, str, str]]) -> Callable[[str], str]:
    wrapped = [Secret(v, label, public) for v, label, public in secrets]
    return lambda text: redact(text, wrapped)


@pytest.fixture(params=[_mock_side, _suite_side], ids=["mock", "suite"])
def side(request: pytest.FixtureRequest) -> Side:
    """Make a redactor of one side from (value, label, public prefix) triples."""
    return request.param


def _op_samples() -> Iterator[Op]:
    """Every mutation the engine has (its table, so a new one is covered), with a spread of arguments."""
    for name in _OPS:
        for n in (0, 1, 3, 7, 19, 200):
            for data in (b"", b"0", b"!", b" ", b"\r\n ", "\u00e9".encode(), b"header", b"payload", b"strip_sig", b"alg_none"):
                if name == "jwt" and data not in (b"header", b"payload", b"strip_sig", b"drop_sig", b"alg_none"):
                    continue
                yield Op(name, n, data)


def _key_functions() -> list[Callable[..., str]]:
    """Every mutation of a key in suites/_keys.py (functions taking the key first)."""
    out = []
    for fn in vars(_keys).values():
        if inspect.isfunction(fn) and fn.__module__ == _keys.__name__ and list(inspect.signature(fn).parameters)[:1] == ["key"]:
            out.append(fn)
    assert out, "suites/_keys.py has no key mutations?"
    return out


def derived_forms(key: str, shape) -> Iterator[tuple[str, str]]:
    """(how, text) for every form the project derives from a key: engine mutations, quoted as
    sent (raw, url, json), chained in twos, and the fixed cases' mutated keys."""
    alphabet = _keys.alphabet(shape).encode()
    ops = list(_op_samples())
    rng = random.Random(key)
    chains = [(op,) for op in ops] + [tuple(rng.sample(ops, 2)) for _ in range(200)]
    for chain in chains:
        for quote in ("raw", "url", "json"):
            expr = KeyExpr("valid", chain, quote)
            yield expr.show("K"), expr.render(key.encode(), alphabet).decode("utf-8", "surrogateescape")
    for fn in _key_functions():
        params = list(inspect.signature(fn).parameters)
        args = {"shape": shape, "char": "!"}
        yield fn.__name__, fn(key, *(args[p] for p in params[1:]))
    yield "basic", base64.b64encode(f"user:{key}".encode()).decode()


def _keys_of_every_shape() -> list[tuple[str, object, str]]:
    """A minted key of every spec's shape, also with a vendor prefix in front."""
    out = []
    for spec in load_all():
        shape = spec.credential.token
        key = KeyStore(spec, seed="redaction").roles["valid"].value
        out.append((spec.id, shape, key))
    return out


@pytest.mark.parametrize("provider, shape, key", _keys_of_every_shape(), ids=lambda v: v if isinstance(v, str) and len(v) < 20 else "")
def test_every_derived_form_is_redacted(side: Side, provider: str, shape, key: str) -> None:
    """No form the project derives from a key keeps MIN_RUN characters of it, in any case or encoding."""
    redactor = side([(key, "K", "")])
    missed = []
    for how, text in derived_forms(key, shape):
        left = leftover(redactor(f"Authorization: Bearer {text}\r\n"), key)
        if left is not None:
            missed.append(how)
    assert not missed, f"{len(missed)} forms kept part of the key, e.g. {missed[:5]}"


def test_the_independent_check_finds_what_a_case_sensitive_redaction_misses() -> None:
    """The check above is not vacuous: the old, case-sensitive slice replacement left a
    case-flipped or percent-encoded key in place, and the check names it."""
    key = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"

    def case_sensitive(text: str) -> str:
        return text.replace(key, "<K>")

    assert leftover(case_sensitive(key.swapcase()), key)
    assert leftover(case_sensitive("".join(f"%{b:02X}" for b in key.encode())), key)
    assert leftover(case_sensitive(base64.b64encode(key.encode()).decode()), key)
    assert leftover(case_sensitive(key[:-1]), key)


def test_the_documented_prefix_and_an_overlapping_provider_id_stay_readable(side: Side) -> None:
    """A key `fastapi-eval-token-...` (prefix documented): the provider id, case ids, `--provider`
    and `-k` commands are left alone, and the prefix stays in front of the placeholder."""
    key = "fastapi-eval-token-Q7wzK2mP9xR4tV8yB3nL"
    r = side([(key, "FASTAPI_API_KEY", "fastapi-eval-token-")])
    plain = ('fastapi.invalid.case_flipped  pytest suites -k "fastapi and scheme"  '
             "python -m suites.engine.replay --provider fastapi  fastapi-eval-token- Expected 401")
    assert r(plain) == plain
    assert r(f"Bearer {key}") == "Bearer fastapi-eval-token-<FASTAPI_API_KEY>"
    assert r(f"Bearer {key.swapcase()}") == f"Bearer {'fastapi-eval-token-'.swapcase()}<FASTAPI_API_KEY:partial>"
    assert r(f"Bearer {key[:-1]}") == "Bearer fastapi-eval-token-<FASTAPI_API_KEY:partial>"


def test_without_a_documented_prefix_the_whole_key_is_secret(side: Side) -> None:
    """The prefix is kept only when the spec documents it: an undocumented one is part of the key."""
    key = "sk_live_Q7wzK2mP9xR4tV8yB3nL"
    r = side([(key, "K", "")])
    assert r(f"Bearer {key}") == "Bearer <K>"


def test_a_one_letter_key_is_replaced_only_where_it_stands_alone(side: Side) -> None:
    """A key shorter than MIN_RUN does not turn `Expected` into `E<DRF_API_KEY>pected`."""
    r = side([("x", "DRF_API_KEY", "")])
    assert r("Expected 401, got 200 OK; max x-ray") == "Expected 401, got 200 OK; max x-ray".replace(" x-", " <DRF_API_KEY>-")
    assert r("Authorization: Token x\r\n") == "Authorization: Token <DRF_API_KEY>\r\n"
    assert r('{"token": "x"}') == '{"token": "<DRF_API_KEY>"}'


def test_runs_shorter_than_the_minimum_stay(side: Side) -> None:
    """Five characters of a key are not the key: text that happens to share them is left alone."""
    key = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    r = side([(key, "K", "")])
    text = f"ids {key[:MIN_RUN - 1]} and {key[10:10 + MIN_RUN - 1].lower()} stay"
    assert r(text) == text


def test_a_key_percent_encoded_in_a_path_is_redacted(side: Side) -> None:
    """A key in a URL path, percent-encoded byte by byte or in part, becomes its placeholder."""
    key = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    r = side([(key, "K", "")])
    every = "".join(f"%{b:02X}" for b in key.encode())
    assert r(f"/v1/items/{every}/x?y=1") == "/v1/items/<K>/x?y=1"
    assert r(f"/v1/items/{key[:5]}%{ord(key[5]):02x}{key[6:]}") == "/v1/items/<K>"


def test_whole_keys_of_one_shape_keep_their_own_labels(side: Side) -> None:
    """Keys of one shape share slices (JWTs share a header segment); each whole key keeps its label."""
    for spec in load_all():
        store = KeyStore(spec, seed="labels")
        keys = list(store) + [store.mint("valid") for _ in range(3)]
        r = side([(k.value, f"key:{k.id}", spec.credential.token.prefix) for k in keys])
        for k in keys:
            assert r(f"Bearer {k.value}") == f"Bearer {spec.credential.token.prefix}<key:{k.id}>", (spec.id, k.id)


def test_the_mock_redactor_learns_keys_minted_after_it_was_made() -> None:
    """The gate's redactor follows the key store: a key minted mid-run is redacted in the next line."""
    spec = load_all()[0]
    store = KeyStore(spec, seed="grow")
    r = GrowingRedactor(store)
    assert r("nothing") == "nothing"
    key = store.mint("valid")
    assert key.value not in r(f"minted {key.value}") and f"<key:{key.id}>" in r(f"minted {key.value}")
    fixed = Redactor(store.secrets()[:-1])  # what the gate had before: the keys known at start
    assert key.value in fixed(f"minted {key.value}")


def test_a_generated_finding_keeps_the_text_its_token_only_appended_to_the_key() -> None:
    """The engine's finding for `<KEY> + "Python"` redacts the key, not the `Server: Python/3.11`
    header: a token derived from a key is covered by the key's rule, its literal additions are not secret."""
    from specs import get_spec
    from suites import Verdict, mock_target
    from suites.engine._session import EngineSession
    from suites.engine._judge import Judged
    from suites._result import CheckResult
    from suites.engine._strategies import basis
    from suites._transport import RawResponse

    spec = get_spec(load_all()[0].id)
    key = KeyStore(spec, seed="finding").roles["valid"].value
    session = EngineSession(mock_target(spec, "http://127.0.0.1:9", {"valid": key}))
    try:
        b = basis(spec)
        item = b.item("token", "extended", b.request(((spec.credential.header.encode(), b.canonical(KeyExpr("valid").then(Op("append", 0, b"Python")))),)))
        response = RawResponse(401, "Unauthorized", (("Server", "Python/3.11"),), f'{{"got": "{key}Python"}}'.encode(), "app")
        finding = session.finding(item, CheckResult("no_credential_echo", Verdict.FAIL, got=f"{key}Python"), Judged((), ()), response, "shrunk")
    finally:
        session.close()
    assert "Server: Python/3.11" in finding.response, finding.response
    assert leftover(finding.response + (finding.result.got or ""), key[len(spec.credential.token.prefix):]) is None


def test_the_fixed_cases_made_up_password_leaves_the_username_readable() -> None:
    """The wrong password a fixed case sends (`authconform-wrong-…`) is redacted, not the username
    `authconform` next to it in the same body."""
    from mocks._thread import MockServer
    from suites import cases_for, mock_target, run_case

    specs = [s for s in load_all() if s.exchange is not None]
    if not specs:
        pytest.skip("no spec has a username + password exchange")
    spec = specs[0]
    with MockServer(spec).start() as server:
        target = mock_target(spec, server.base_url, server.state.keys())
        case = next(c for c in cases_for(spec) if c.id == f"{spec.id}.invalid.exchange")
        result = run_case(case, target)
    username = target.credentials["username"].reveal()
    assert f'"{username}"' in (result.request or ""), result.request
    assert f"authconform-wrong-<{spec.env('WRONG_PASSWORD')}>" in (result.request or ""), result.request


def test_text_sharing_a_few_characters_of_a_key_by_chance_stays(side: Side) -> None:
    """A digest or base64 output holding MIN_RUN..LONG_RUN-1 characters of a key inside a longer
    word is chance (a sha256 digest in ~4,000 does against a run's hex keys), not the key: it stays.
    The same run standing for a key's form (truncated, half the word, at the key's ends) is replaced."""
    from specs._redaction import LONG_RUN

    key = "0123456789abcdef0123456789abcdef"[::-1] + "5a3c"
    r = side([(key, "K", "")])
    for n in range(MIN_RUN, LONG_RUN):
        inner = key[10 : 10 + n]
        digest = ("e3b0c44298fc1c149afbf4c8996fb924" + inner + "27ae41e4649b934ca495991b7852b855")[:64]
        for text in (f"sha256:{digest}", f"  Hash: {digest.upper()}\n", f'{{"etag": "{digest}"}}'):
            assert r(text) == text, (n, text)
        assert leftover(r(f"key {inner} ends"), key) is None  # the word is the run: a key's piece
        assert leftover(r(f"Bearer {key[:n]}strip_signature_x"), key) is None  # truncated, then extended


def test_many_runs_in_one_long_word_take_linear_time(side: Side) -> None:
    """A client may print one long word holding thousands of short runs of a key: finding their
    words is done once per text (before: every run walked back to its word's start, minutes here)."""
    import time

    key = "0123456789abcdef0123456789abcdef"[::-1] + "5a3c"
    r = side([(key, "K", "")])
    word = "".join("ghijklmnopqrstuvwxyz"[i % 20] + key[:7] for i in range(20_000))  # 160 KB, no separator
    started = time.monotonic()
    out = r(word)
    assert time.monotonic() - started < 30, "hang bound"  # about 0.2 s; quadratic was over 300 s
    assert leftover(out, key) is None


def test_the_tests_leak_search_tells_a_number_from_a_digit_run_of_a_key() -> None:
    """The tests' own leak search (tests/_helpers.py `leftover`): a run of digits of a hex key found
    inside a timestamp is chance; found alone, or inside digits that are all the key's, it is a leak."""
    key = "ab383053cd1383053ff0011e"
    assert leftover('{"time": 1764891383053.5, "seq": 7}', key) is None
    assert leftover("the key was 383053cd", key) == "383053"
    assert leftover("x1383053y", key) == "383053"
    assert leftover("Bearer AB383053", key) == "ab3830"  # case-flipped: still the key
