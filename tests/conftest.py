"""Glue for the project's own tests: the mock factories (in-process and subprocess) and lines a
test asks to show at the end of the run. Shared helpers are in tests/_helpers.py."""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

import pytest

from _helpers import SPECS
from drive import MockProcess
from mocks._thread import MockServer
from suites import MockAdmin

# A test calls record_property(SUMMARY, line) to have line printed in the terminal summary
# (user properties travel with the report, so this works under pytest-xdist too).
SUMMARY = "authconform_summary"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print every line tests recorded under SUMMARY, once each."""
    lines: list[str] = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name == SUMMARY and value not in lines:
                    lines.append(str(value))
    if lines:
        terminalreporter.write_sep("=", "authconform summary")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def running() -> Iterator[Any]:
    """`running(provider_id, **build_options)`: a started MockServer, reset, shared per module."""
    servers: dict[tuple[str, tuple[tuple[str, Any], ...]], MockServer] = {}

    def get(provider: str, **options: Any) -> MockServer:
        slot = (provider, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items())))
        server = servers.get(slot)
        if server is None:
            server = servers[slot] = MockServer(SPECS[provider], **options).start()
        server.reset()
        return server

    yield get
    for server in servers.values():
        server.stop()


class MockProcesses:
    """Mock subprocesses (`python -m mocks serve ID --defect ...`) by provider and defects, started on
    first use, shared within the fixture's scope and stopped at its end."""

    def __init__(self) -> None:
        self._started: dict[tuple[str, tuple[str, ...]], MockProcess] = {}

    def __call__(self, provider: str, *defects: str) -> MockProcess:
        """The running mock of a provider with these defects."""
        return self.start([(provider, defects)])[0]

    def start(self, wanted: Iterable[tuple[str, Sequence[str]]]) -> list[MockProcess]:
        """Several mocks, in the order asked: every new one is spawned before any is waited for, so
        they come up together."""
        slots = [(provider, tuple(defects)) for provider, defects in wanted]
        new = [s for s in dict.fromkeys(slots) if s not in self._started]
        for slot in new:
            self._started[slot] = MockProcess(slot[0], list(slot[1]))
        for slot in new:
            self._started[slot].wait_ready()
        return [self._started[s] for s in slots]

    def stop(self) -> None:
        """Stop every mock started (idempotent)."""
        for mock in self._started.values():
            mock.stop()


@pytest.fixture(scope="module")
def mock_processes() -> Iterator[MockProcesses]:
    """`mock_processes(provider, *defects)` / `.start([(provider, defects), ...])`: mock subprocesses,
    shared per module."""
    started = MockProcesses()
    try:
        yield started
    finally:
        started.stop()


class PlantedMock:
    """A mock with a planted defect, in this process (a MockServer thread): the kill matrix's
    `launch` (drive's `run_matrix`) for tests, where a subprocess per pair would cost a Python start
    each. Same face as drive's MockProcess: `wait_ready()` gives it with `base_url` and `keys`."""

    def __init__(self, provider: str, defect: str | None):
        self.server = MockServer(SPECS[provider], defects=(defect,) if defect else ())
        self.base_url = ""
        self.keys: dict[str, str] = {}

    def wait_ready(self) -> "PlantedMock":
        """Started, with its base URL and the key of every state."""
        self.base_url = self.server.start().base_url
        self.keys = MockAdmin(self.base_url).keys()
        return self

    def stop(self) -> None:
        """Stop its thread (idempotent)."""
        self.server.stop()


@pytest.fixture(scope="session")
def planted() -> type[PlantedMock]:
    """The kill matrix's in-process `launch`: `planted(provider, defect)` -> a PlantedMock to start."""
    return PlantedMock
