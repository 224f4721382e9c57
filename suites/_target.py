"""A target: what the suite speaks to. A spec, a base URL, the credentials it may use (each a
Secret), and whether it is a mock (with an admin API) or a live endpoint.

The same test code runs on both: cases that need a credential the target lacks (an
expired key, a limited-scope key) are skipped with the reason named.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping
from urllib.parse import urlsplit

from specs import CREDENTIAL_ENV, EXCHANGE_LOGIN, KEY_LIST_IDENTIFIERS, KEY_LIST_RESOURCES, ProviderSpec

from ._admin import MockAdmin
from ._secret import Secret

MOCK = "mock"
LIVE = "live"

# What a credential state is, said in skip reasons.
STATE_WORDS: Mapping[str, str] = MappingProxyType(
    {
        "valid": "a valid key",
        "expired": "an expired key",
        "revoked": "a revoked key",
        "limited": "a key lacking the probe's scope",
        "username": "a username",
        "password": "a password",
        "account": "a token of a refused kind (account-wide)",
        "other_binding": "a valid token bound to another resource",
    }
)


def secret(spec: ProviderSpec, state: str, value: str) -> Secret:
    """A credential of a state as a Secret: labelled by its variable, a key's documented prefix public."""
    public = "" if state in EXCHANGE_LOGIN else spec.credential.token.prefix
    return Secret(value, label(spec, state), public)


def label(spec: ProviderSpec, state: str) -> str:
    """The placeholder name of a credential: its environment variable (`CLORO_EXPIRED_KEY`)."""
    return spec.credential_env(state)


def check_base_url(url: str) -> str:
    """The URL itself when it is http(s)://host[:port][/path]; ValueError saying what is right."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"a base URL is http://host[:port] or https://host[:port], got {url!r}")
    try:
        parts.port
    except ValueError:
        raise ValueError(f"a base URL's port is a number from 0 to 65535, got {url!r}") from None
    return url.rstrip("/")


@dataclass(frozen=True)
class Target:
    """A spec, a base URL, the credentials (state -> Secret) and the mode (mock | live)."""

    spec: ProviderSpec
    base_url: str
    mode: str
    credentials: Mapping[str, Secret] = field(default_factory=lambda: MappingProxyType({}))
    binding: str | None = None
    admin: MockAdmin | None = None
    # Why every case of this target is skipped (a live target without its key), or None.
    unavailable: str | None = None
    # A live run's whole-run deadline for this provider (time.monotonic()), and its length in seconds.
    deadline: float | None = None
    deadline_seconds: float | None = None

    @property
    def provider(self) -> str:
        """The provider id."""
        return self.spec.id

    def secrets(self) -> tuple[Secret, ...]:
        """Every credential of the target that authenticates (keys, tokens, password), for redaction."""
        return tuple(v for k, v in self.credentials.items() if k not in KEY_LIST_IDENTIFIERS)

    def past_deadline(self) -> str | None:
        """Why no more requests go to this target (its live deadline passed), or None."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            return f"{self.provider}: the live deadline of {self.deadline_seconds:g} s for this provider passed (--live-deadline)"
        return None

    def lacking(self, needs: tuple[str, ...]) -> str | None:
        """Why a case needing these credential states cannot run here, or None."""
        if self.unavailable:
            return self.unavailable
        missing = [s for s in needs if s not in self.credentials]
        if not missing:
            return None
        words = " and ".join(STATE_WORDS.get(s, s) for s in missing)
        if self.mode == LIVE:
            env = [label(self.spec, s) for s in missing if s in CREDENTIAL_ENV]
            if len(env) == len(missing):
                return f"needs {words}: set {' and '.join(env)}"
            return f"needs {words}, which only the mock's admin API provides (no environment variable names one)"
        return f"the mock offered no {' / '.join(missing)} credential"

    def reset(self) -> None:
        """Put a mock back in its initial state (no-op on live)."""
        if self.admin is not None:
            self.admin.reset()


def live_target(spec: ProviderSpec, environ: Mapping[str, str], base_url: str | None = None, sandbox: bool = False) -> Target:
    """A live target from the environment (the fixed variable names of specs.CREDENTIAL_ENV).

    Base URL: the --base-url option, else `ID_BASE_URL`, else the spec's sandbox URL (`sandbox`,
    the --sandbox option) or live URL. Without `ID_API_KEY`, or asked for a sandbox the spec does
    not name, the target is unavailable and every case is skipped with the reason in one line.
    """
    given = base_url or environ.get(spec.base_url_env)
    if sandbox and not given and not spec.sandbox_url:
        why = f"{spec.id}: --sandbox, but the spec names no sandbox (targets.sandbox); set {spec.base_url_env} or drop --sandbox"
        return Target(spec, spec.live_url, LIVE, MappingProxyType({}), unavailable=why)
    url = check_base_url(given or (spec.sandbox_url if sandbox else None) or spec.live_url)
    creds: dict[str, Secret] = {}
    for state in CREDENTIAL_ENV:
        if state in EXCHANGE_LOGIN and spec.exchange is None:
            continue
        value = environ.get(spec.credential_env(state), "")
        if value.strip():
            creds[state] = secret(spec, state, value.strip())
    unavailable = None if "valid" in creds else f"{spec.id}: {spec.credential_env('valid')} is not set"
    return Target(spec, url, LIVE, MappingProxyType(creds), unavailable=unavailable)


def mock_target(spec: ProviderSpec, base_url: str, keys: Mapping[str, str]) -> Target:
    """A mock target from the keys its admin API (or its `serve` line) reports."""
    creds = {s: secret(spec, s, v) for s, v in keys.items() if s not in KEY_LIST_RESOURCES and v}
    binding = keys.get("binding")
    return Target(spec, check_base_url(base_url), MOCK, MappingProxyType(creds), binding, MockAdmin(base_url))
