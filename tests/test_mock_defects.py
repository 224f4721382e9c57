"""Every defect changes the mock's behaviour as its one line says, on every spec it applies to.

Each demonstration sends the same request to the clean mock and to the mock with the defect:
the clean one must keep the spec's rule, the broken one must break it in the documented way.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest

from mocks import DEFECTS, build_app
from mocks._keys import KeyStore
from mocks._defects import check_defects, defects_for
from specs import ProviderSpec, spec_paths, thaw
from specs._loader import PACKAGE_DIR
from _helpers import IDS, SPECS, Reply, probe_request

ECHO = "EchoMeBack0123456789"  # an unknown token of token68 characters, easy to spot in a body
Send = Callable[[Any, ProviderSpec, dict[str, Any]], Reply]


def _with(value: Callable[[ProviderSpec, dict[str, Any]], Any]) -> Send:
    return lambda server, spec, keys: probe_request(server.base_url, spec, value(spec, keys))


def _flip_last(key: str) -> str:
    return key[:-1] + ("A" if key[-1] != "A" else "B")


def _other_common_scheme(spec: ProviderSpec) -> str:
    return "Token" if spec.credential.scheme.lower() == "bearer" else "Bearer"


def _over_limit(server: Any, spec: ProviderSpec, keys: dict[str, Any]) -> Reply:
    assert spec.rate_limit is not None
    for _ in range(spec.rate_limit.requests):
        probe_request(server.base_url, spec, spec.credential.render(keys["valid"]))
    return probe_request(server.base_url, spec, spec.credential.render(keys["valid"]))


def _refused_kind(spec: ProviderSpec, keys: dict[str, Any]) -> str:
    assert spec.binding is not None
    return spec.credential.render(keys[next(k for k in spec.binding.kinds if k not in spec.binding.accepted)])


def _ok(spec: ProviderSpec, reply: Reply) -> bool:
    return reply.status == spec.probe.success.status and reply.json() == thaw(spec.probe.success.body)


def _catalogue_status(spec: ProviderSpec, reply: Reply) -> bool:
    return 400 <= reply.status < 500 and not _ok(spec, reply)


# name -> (request, the clean mock's answer holds, the broken mock's answer shows the bug)
DEMOS: dict[str, tuple[Send, Callable[[ProviderSpec, Reply], bool], Callable[[ProviderSpec, Reply], bool]]] = {
    "accept_missing": (_with(lambda s, k: None), _catalogue_status, _ok),
    "accept_any_token": (_with(lambda s, k: f"{s.credential.scheme} not-a-key"), _catalogue_status, _ok),
    "accept_other_scheme": (_with(lambda s, k: f"{_other_common_scheme(s)} {k['valid']}"), _catalogue_status, _ok),
    "accept_raw_key": (_with(lambda s, k: k["valid"]), _catalogue_status, _ok),
    "status_403_for_401": (_with(lambda s, k: None), lambda s, r: r.status == 401, lambda s, r: r.status == 403),
    "status_401_for_403": (
        _with(lambda s, k: s.credential.render(k["limited"])),
        lambda s, r: r.status == 403,
        lambda s, r: r.status == 401,
    ),
    "wrong_error_body": (
        _with(lambda s, k: None),
        lambda s, r: r.json() == thaw(s.failures["missing"].body),
        lambda s, r: r.json() == {"message": "Unauthorized"},
    ),
    "crash_long_header": (
        _with(lambda s, k: s.credential.render(k["valid"] + "A" * 1100)),
        _catalogue_status,
        lambda s, r: r.status == 500,
    ),
    "crash_non_ascii": (_with(lambda s, k: s.credential.render(k["valid"]).encode() + b"\xc3\xa9"), _catalogue_status, lambda s, r: r.status == 500),
    "prefix_compare": (_with(lambda s, k: s.credential.render(k["valid"] + "AAAA")), _catalogue_status, _ok),
    "short_compare": (_with(lambda s, k: s.credential.render(_flip_last(k["valid"]))), _catalogue_status, _ok),
    "case_insensitive_compare": (_with(lambda s, k: s.credential.render(k["valid"].swapcase())), _catalogue_status, _ok),
    "accept_query_key": (
        lambda server, s, k: probe_request(server.base_url, s, None, target=f"{s.probe.path}?api_key={k['valid']}"),
        _catalogue_status,
        _ok,
    ),
    "echo_credential": (
        _with(lambda s, k: f"{s.credential.scheme} {ECHO}"),
        lambda s, r: _catalogue_status(s, r) and ECHO.encode() not in r.body,
        lambda s, r: _catalogue_status(s, r) and ECHO.encode() in r.body,
    ),
    "accept_expired": (_with(lambda s, k: s.credential.render(k["expired"])), _catalogue_status, _ok),
    "accept_revoked": (_with(lambda s, k: s.credential.render(k["revoked"])), _catalogue_status, _ok),
    "ignore_scope": (_with(lambda s, k: s.credential.render(k["limited"])), _catalogue_status, _ok),
    "ignore_binding": (_with(lambda s, k: s.credential.render(k["other_binding"])), _catalogue_status, _ok),
    "accept_refused_kind": (_with(_refused_kind), _catalogue_status, _ok),
    "ignore_rate_limit": (_over_limit, lambda s, r: r.status == 429, _ok),
    "crash_duplicate_header": (_with(lambda s, k: [s.credential.render(k["valid"])] * 2), _catalogue_status, lambda s, r: r.status == 500),
    "no_challenge": (
        _with(lambda s, k: None),
        lambda s, r: r.header("WWW-Authenticate") == s.credential.challenge.value,  # type: ignore[union-attr]
        lambda s, r: r.status == 401 and r.header("WWW-Authenticate") is None,
    ),
    "case_sensitive_scheme": (_with(lambda s, k: f"{s.credential.scheme.swapcase()} {k['valid']}"), _ok, _catalogue_status),
}

PAIRS = [(name, p) for name in DEFECTS for p in IDS if DEFECTS[name].applies(SPECS[p])]


def test_every_defect_has_a_demo_and_applies_somewhere() -> None:
    """The demonstrations cover the whole catalogue, and each defect can be planted in some spec."""
    assert set(DEMOS) == set(DEFECTS)
    assert {name for name, _ in PAIRS} == set(DEFECTS)


@pytest.mark.parametrize("name,provider", PAIRS, ids=[f"{n}-{p}" for n, p in PAIRS])
def test_defect_changes_behaviour(running: Any, name: str, provider: str) -> None:
    """The clean mock keeps the rule; with the defect planted, the same request shows the bug."""
    spec = SPECS[provider]
    request, clean_ok, broken_shows = DEMOS[name]
    clean = running(provider)
    assert clean_ok(spec, request(clean, spec, clean.keys())), f"clean {provider} mock fails the demo of {name}"
    broken = running(provider, defects=(name,))
    assert broken_shows(spec, request(broken, spec, broken.keys())), f"{name} did not show on {provider}"


# The shipped providers' rows of the defect table's "applies to" column; a spec dropped in beside
# them (AUTHCONFORM_SPECS_DIR) is judged by the same predicates, not listed here.
SHIPPED = {p.stem for p in spec_paths(PACKAGE_DIR)}


@pytest.mark.parametrize(
    "name,expected",
    [
        ("status_401_for_403", {"claid"}),
        ("accept_expired", {"cloro", "cryptocloud", "flash"}),
        ("accept_revoked", {"claid", "cloro", "crux", "cryptocloud"}),
        ("ignore_scope", {"claid"}),
        ("ignore_binding", {"flash"}),
        ("accept_refused_kind", {"flash"}),
        ("ignore_rate_limit", {"cloro"}),
        ("case_sensitive_scheme", SHIPPED),
        ("accept_missing", SHIPPED),
    ],
)
def test_applies_follows_the_specs(name: str, expected: set[str]) -> None:
    """`applies(spec)` reads the spec: the defect table's 'applies to' column, per shipped provider."""
    shipped = [p for p in IDS if p in SHIPPED]
    assert {p for p in shipped if DEFECTS[name].applies(SPECS[p])} == expected & set(shipped)
    assert all((name in defects_for(SPECS[p])) == (p in expected) for p in shipped)


def test_each_defect_documents_its_bug_and_rule() -> None:
    """One line each: the bug and the rule it breaks."""
    for d in DEFECTS.values():
        assert d.bug and d.breaks and "\n" not in d.bug + d.breaks


def test_bad_defects_are_refused_with_the_names() -> None:
    """Unknown or inapplicable defect names: ValueError listing what would be right."""
    with pytest.raises(ValueError, match="defects: accept_missing, accept_any_token"):
        check_defects(SPECS["cloro"], ["accept_everything"])
    with pytest.raises(ValueError, match=r"does not apply to cloro .*defects for cloro: accept_missing"):
        build_app(SPECS["cloro"], defects=("ignore_scope",))


def test_defects_combine(running: Any) -> None:
    """Several defects at once each keep their effect."""
    spec = SPECS["cloro"]
    server = running("cloro", defects=("accept_missing", "no_challenge"))
    assert _ok(spec, probe_request(server.base_url, spec, None))
    reply = probe_request(server.base_url, spec, spec.credential.render(KeyStore(spec, seed="other").roles["valid"].value))
    assert reply.status == 401 and reply.header("WWW-Authenticate") is None
