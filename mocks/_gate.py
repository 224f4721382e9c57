"""The gate's run: a provider mock in this process, the client command against it (mocks/_client.py),
every request the mock journaled judged by mocks/_rules.py (a GateResult, mocks/_gate_result.py).
The command line is mocks/_gate_cli.py.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Mapping, Sequence

import aiohttp
from aiohttp import web

from specs import ADMIN_HEADER, ADMIN_PREFIX, EXCHANGE_LOGIN, KEY_LIST_IDENTIFIERS, KEY_LIST_RESOURCES, ProviderSpec

from ._app import MOCK, build_app
from ._client import StreamRedactor, run_client
from ._gate_result import GateResult
from ._keys import KeyStore
from ._protocol import unused_connections
from ._redact import GrowingRedactor, Redactor
from ._rules import Context, judge
from ._serve import start

if TYPE_CHECKING:  # trustme is imported only when --tls asks for it
    from ._tls import TLSMaterial

ADMIN = ADMIN_PREFIX.rstrip("/")
# Every wait is bounded: the client's whole run, one admin call (the client's own stop: mocks/_client.py).
DEFAULT_TIMEOUT = 600.0
ADMIN_TIMEOUT = 10.0
# The gate judges every request of a client's run, so its mock keeps a journal far larger than
# `serve`'s default; a run that still overflows it is told so on the summary line.
GATE_JOURNAL_ENTRIES = 1_000_000
GATE_JOURNAL_BYTES = 256 * 1024 * 1024
# Some CI runners set HTTP(S)_PROXY: the client must reach the mock on loopback directly.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
# Under --tls, the throwaway CA's bundle goes to the client under the names Python (ssl, aiohttp,
# httpx), requests, curl and Node read, besides the provider-named `ID_CA_BUNDLE`.
CA_BUNDLE_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")


# --- redaction ------------------------------------------------------------------------------------

# Entries of the admin API's `GET keys` that are no secret (specs/_contract.py): the binding names a
# resource, the username identifies. Neither is redacted from anything.
NOT_SECRET = KEY_LIST_RESOURCES + KEY_LIST_IDENTIFIERS


def redactor(keys: Mapping[str, str], admin_secret: str | None = None, *, spec: ProviderSpec | None = None,
             store: KeyStore | None = None) -> Redactor:
    """The mock's own redactor over every secret the client was given or could find (and the
    run's admin secret, which nothing should ever print); with the mock's key store, also every
    key minted during the run. A key's documented prefix (`credential.token.prefix`) stays readable."""
    prefix = spec.credential.token.prefix if spec is not None else ""
    found = [(v, k, "") if k in EXCHANGE_LOGIN else (v, f"key:{k}", prefix) for k, v in keys.items()
             if k not in NOT_SECRET and isinstance(v, str) and v]
    if admin_secret:
        found.append((admin_secret, "admin_secret", ""))
    return Redactor(found) if store is None else GrowingRedactor(store, found)


def _redact_json(value: Any, redact: Redactor) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_json(v, redact) for v in value]
    if isinstance(value, dict):
        return {k: _redact_json(v, redact) for k, v in value.items()}
    return value


# --- the mock, in this process --------------------------------------------------------------------


@dataclass
class RunningMock:
    """A provider mock on 127.0.0.1:PORT (HTTP or HTTPS), with its admin API at hand."""

    spec: ProviderSpec
    base_url: str
    runner: web.AppRunner
    tls: TLSMaterial | None
    keys: dict[str, str] = field(default_factory=dict)
    # The per-run admin secret: only the gate (or the test holding this handle) can call the admin
    # API; the client's environment and command line never carry it (mocks/_app.py, ADMIN_HEADER).
    admin_secret: str = ""

    def _ssl(self) -> Any:
        return self.tls.client_context() if self.tls else None

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call the mock's admin API with the run's admin secret; the JSON answer."""
        timeout = aiohttp.ClientTimeout(total=ADMIN_TIMEOUT)
        headers = {ADMIN_HEADER: self.admin_secret} if self.admin_secret else {}
        # trust_env=False: a CI proxy must not sit between the gate and its own mock.
        async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
            async with session.request(method, self.base_url + ADMIN + path, ssl=self._ssl(), headers=headers,
                                       json=body) as resp:
                resp.raise_for_status()
                return await resp.json(content_type=None) if resp.content_length != 0 else None

    async def journal(self) -> tuple[list[dict[str, Any]], int]:
        """Every request the mock kept since the last reset (keys already redacted by the mock),
        and how many older ones its bound dropped."""
        answer = await self.admin("GET", "/journal")
        return list((answer or {}).get("entries") or []), int((answer or {}).get("dropped") or 0)

    async def close(self) -> None:
        """Stop serving and delete the throwaway CA (idempotent)."""
        await self.runner.cleanup()
        if self.tls is not None:
            self.tls.close()


async def start_mock(spec: ProviderSpec, *, tls: bool = False, scenario: str | None = None,
                     seed: str | None = None) -> RunningMock:
    """Serve a provider's mock on a free port of 127.0.0.1 in this event loop, its admin API behind a
    fresh secret; read its keys. `seed` makes the keys deterministic (never the secret)."""
    admin_secret = secrets.token_urlsafe(32)
    app = build_app(spec, scenario=scenario, seed=seed, journal_limit=GATE_JOURNAL_ENTRIES,
                    journal_bytes=GATE_JOURNAL_BYTES, admin_secret=admin_secret)
    if tls:
        from ._tls import make_tls

        material: TLSMaterial | None = make_tls()
    else:
        material = None
    try:
        runner, url = await start(app, "127.0.0.1", 0, material.server_context if material else None)
    except BaseException:
        if material is not None:
            material.close()
        raise
    mock = RunningMock(spec, url, runner, material, admin_secret=admin_secret)
    try:
        mock.keys = {str(k): str(v) for k, v in (await mock.admin("GET", "/keys")).items()}
    except BaseException:
        await mock.close()
        raise
    return mock


def client_env(spec: ProviderSpec, mock: RunningMock, base: Mapping[str, str]) -> dict[str, str]:
    """The client's environment: `ID_API_KEY`, `ID_BASE_URL` (+ exchange credentials, CA bundle)."""
    env = dict(base)
    env[spec.credential_env("valid")] = mock.keys["valid"]
    env[spec.base_url_env] = mock.base_url
    if spec.exchange is not None:
        for what in EXCHANGE_LOGIN:
            if what in mock.keys:
                env[spec.credential_env(what)] = mock.keys[what]
    if mock.tls is not None:
        bundle = str(mock.tls.ca_path)
        for name in (*CA_BUNDLE_VARS, spec.ca_bundle_env):
            env[name] = bundle
    for name in ("NO_PROXY", "no_proxy"):
        present = [p for p in env.get(name, "").split(",") if p]
        env[name] = ",".join(present + [h for h in LOOPBACK_NAMES if h not in present])
    return env



async def gate(spec: ProviderSpec, command: Sequence[str], *, tls: bool = False, scenario: str | None = None,
               timeout: float = DEFAULT_TIMEOUT, allow: Sequence[str] = (), env: Mapping[str, str] | None = None,
               out: BinaryIO | None = None, err: BinaryIO | None = None, seed: str | None = None,
               stop: asyncio.Event | None = None) -> GateResult:
    """Start the mock, run the client against it, judge the journal; the result (nothing printed).
    `stop` set mid-run (a signal): the client's group is stopped and what the mock saw is judged."""
    out = out if out is not None else sys.stdout.buffer
    err = err if err is not None else sys.stderr.buffer
    started = time.monotonic()
    mock = await start_mock(spec, tls=tls, scenario=scenario, seed=seed)
    try:
        store = mock.runner.app[MOCK].store

        def make() -> Redactor:  # the store grows: keys a client mints during the run are known too
            return redactor(mock.keys, mock.admin_secret, spec=spec, store=store)

        redact = make()
        longest = max((len(v) for v in (*mock.keys.values(), mock.admin_secret) if isinstance(v, str)), default=0)
        run = await run_client(command, client_env(spec, mock, os.environ if env is None else env), timeout, out, err,
                               lambda: StreamRedactor(make, longest), stop)
        kept, dropped = await mock.journal()
        entries = _redact_json(kept, redact)
        # The gate's own admin calls open connections too; each sends a request, so none is silent.
        failed, silent = unused_connections(mock.runner) if tls else (0, 0)
        tls_refused = failed + silent
    finally:
        await mock.close()
    ctx = Context(base_url=mock.base_url, client_exit=run.exit, secrets=mock.keys, client_problem=run.problem)
    violations = judge(spec, entries, ctx)
    stopped_by = _signal_seen(stop)
    return GateResult(spec, mock.base_url, [redact(c) for c in command], tls, scenario, run.exit,
                      run.problem, entries, violations, frozenset(allow), time.monotonic() - started, dropped,
                      run.timed_out, stopped_by, tls_refused)


def _signal_seen(stop: asyncio.Event | None) -> int | None:
    return getattr(stop, "signum", None) if stop is not None and stop.is_set() else None

