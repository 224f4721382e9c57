"""pytest plugin for Python client libraries: `authconform_mock` yields a running provider mock
(base URL, keys, journal) and judges the test's requests with the gate's rules once the test body
has run: a broken rule fails that test (a failure of its call phase, not a teardown error).

The plugin trusts the test code (it runs in the test's own process): each mock's admin API still
answers only a per-test secret, which the handle holds (`authconform_mock.admin(...)`), so the
client library under test cannot clear the journal or change keys behind the test's back; an
admin call without it is refused (403) and judged (`client.no_admin`).

Loaded from an authconform checkout, nothing installed into site-packages (README, "Client CI"):

    PYTHONPATH=/path/to/authconform pytest -p mocks.pytest_plugin --authconform-provider cloro

    @pytest.mark.authconform("flash", tls=True)      # per test: provider, tls, scenario, judge
    def test_details(authconform_mock):
        client = MyClient()                          # reads FLASH_API_KEY / FLASH_BASE_URL
        client.subscription_details(...)
"""
from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

from specs import ProviderSpec, SpecError, get_spec

from ._app import MOCK
from ._gate import RunningMock, client_env, redactor, start_mock
from ._gate_result import format_violations
from ._rules import Context, Violation, judge

# Bounds on the background loop: starting a mock, reading its journal, stopping the thread.
CALL_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
# The handle of a test that asked for judging, for the call-phase wrapper below.
_JUDGED = pytest.StashKey["MockHandle"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--authconform-provider ID` (or ini `authconform_provider`): the default provider."""
    group = parser.getgroup("authconform")
    group.addoption("--authconform-provider", metavar="ID", help="provider whose mock authconform_mock serves")
    parser.addini("authconform_provider", "provider whose mock authconform_mock serves")


def pytest_configure(config: pytest.Config) -> None:
    """Register the `authconform` marker."""
    config.addinivalue_line(
        "markers",
        "authconform(provider=None, tls=False, scenario=None, judge=True): the mock authconform_mock serves "
        "for this test; judge=False when the test sends wrong credentials on purpose",
    )


class _Loop:
    """An event loop on a daemon thread: the mocks run there while the test code blocks."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="authconform-mock", daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the loop and wait (bounded) for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(CALL_TIMEOUT)

    def close(self) -> None:
        """Stop the loop and its thread (bounded)."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(STOP_TIMEOUT)
        if not self.thread.is_alive():
            self.loop.close()


@dataclass
class MockHandle:
    """A running mock as a test sees it: where it is, its keys, what it received, what broke a rule."""

    spec: ProviderSpec
    running: RunningMock
    _loop: _Loop

    @property
    def provider(self) -> str:
        """The provider id."""
        return self.spec.id

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (https with tls=True)."""
        return self.running.base_url

    @property
    def keys(self) -> dict[str, str]:
        """Every key by role (`valid`, `expired`, ...), as `GET /__authconform__/keys`."""
        return dict(self.running.keys)

    @property
    def api_key(self) -> str:
        """The valid key (what the gate exports as `ID_API_KEY`)."""
        return self.running.keys["valid"]

    @property
    def ca_bundle(self) -> str | None:
        """The throwaway CA's PEM bundle with tls=True, else None."""
        return str(self.running.tls.ca_path) if self.running.tls else None

    @property
    def env(self) -> dict[str, str]:
        """The variables the gate would export (`ID_API_KEY`, `ID_BASE_URL`, CA bundle ones)."""
        return client_env(self.spec, self.running, {})

    def journal(self) -> list[dict[str, Any]]:
        """Every request the mock received in this test, keys redacted."""
        return self._loop.run(self.running.journal())[0]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call the mock's admin API with its secret (`admin("POST", "/keys/k1/revoke")`); the JSON answer."""
        return self._loop.run(self.running.admin(method, path, body))

    def violations(self) -> list[Violation]:
        """The gate's rules, judged on this test's requests."""
        ctx = Context(base_url=self.base_url, client_exit=None, secrets=self.running.keys)
        return judge(self.spec, self.journal(), ctx)

    def assert_conforms(self) -> None:
        """Fail the test with the violations table when any rule is broken."""
        found = self.violations()
        if found:
            running = self.running
            text = redactor(running.keys, running.admin_secret, spec=running.spec, store=running.runner.app[MOCK].store)(format_violations(found))
            pytest.fail(f"authconform: {len(found)} rule(s) broken by the client\n{text}", pytrace=False)


@pytest.fixture(scope="session")
def _authconform_loop() -> Iterator[_Loop]:
    loop = _Loop()
    yield loop
    loop.close()


def _settings(request: pytest.FixtureRequest) -> tuple[str, bool, str | None, bool]:
    marker = request.node.get_closest_marker("authconform")
    args = marker.args if marker else ()
    kwargs = dict(marker.kwargs) if marker else {}
    provider = (args[0] if args else kwargs.pop("provider", None)) or request.config.getoption("authconform_provider") \
        or request.config.getini("authconform_provider")
    if not provider:
        pytest.fail("authconform_mock needs a provider: @pytest.mark.authconform('cloro'), "
                    "--authconform-provider ID, or ini authconform_provider", pytrace=False)
    return str(provider), bool(kwargs.get("tls", False)), kwargs.get("scenario"), bool(kwargs.get("judge", True))


@pytest.fixture
def authconform_mock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                     _authconform_loop: _Loop) -> Iterator[MockHandle]:
    """A fresh provider mock for this test, its variables exported; its requests judged at teardown."""
    provider, tls, scenario, judged = _settings(request)
    try:
        spec = get_spec(provider)
    except (SpecError, KeyError, LookupError, FileNotFoundError) as exc:
        pytest.fail(f"authconform_mock: {str(exc).splitlines()[0] if str(exc) else provider}", pytrace=False)
    try:
        running = _authconform_loop.run(start_mock(spec, tls=tls, scenario=scenario))
    except ValueError as exc:  # a bad scenario: the message names the right forms
        pytest.fail(f"authconform_mock: {exc}", pytrace=False)
    handle = MockHandle(spec, running, _authconform_loop)
    for name, value in client_env(spec, running, os.environ).items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    if judged:
        request.node.stash[_JUDGED] = handle
    try:
        yield handle
    finally:
        if _JUDGED in request.node.stash:
            del request.node.stash[_JUDGED]
        _authconform_loop.run(running.close())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Judge the test's requests right after its body ran: a broken rule fails the test itself."""
    result = yield
    handle = item.stash.get(_JUDGED, None)
    if handle is not None:
        handle.assert_conforms()
    return result
