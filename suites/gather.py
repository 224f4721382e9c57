"""Results that travel with pytest's own test reports, so a run spread over processes or machines
(pytest-xdist: `-n 2`, `-n auto`, `--tx`) ends with the same reports as a serial run.

A test puts JSON-ready payloads on its item (`ship`); the call phase's TestReport carries them as
an extra attribute (pytest serialises a report's extra attributes for xdist, and rebuilds them on
the controller); whichever process logs the report (the xdist controller, or the only process of a
serial run) keeps them, and `received` hands them out in collection order, not arrival order. Every
string of a payload is redacted before it leaves the test's process.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterable

import pytest

from ._secret import Secret, leaks, redact

# The TestReport attribute that carries a test's payloads: a JSON text {kind: [payload, ...]}.
ATTR = "authconform"
_OUTBOX = pytest.StashKey[dict[str, list[Any]]]()
GATHER = pytest.StashKey["Gather"]()


def ship(item: pytest.Item, kind: str, payload: Any) -> None:
    """Send a JSON-ready payload of `kind` from this test to the process that writes the reports."""
    item.stash.setdefault(_OUTBOX, {}).setdefault(kind, []).append(payload)


def received(config: pytest.Config, kind: str) -> list[Any]:
    """Every payload of `kind` the run's tests shipped, in collection order (then arrival order)."""
    gather = config.stash.get(GATHER, None)
    return gather.payloads(kind) if gather else []


def selected_ids(config: pytest.Config) -> list[str] | None:
    """The parameter ids of the tests this run selected (case ids, `cloro.missing`), or None when
    the selection is not known (no test was collected here or reported by an xdist worker)."""
    gather = config.stash.get(GATHER, None)
    if gather is None or gather.order is None:
        return None
    return [nodeid[nodeid.rindex("[") + 1 : -1] for nodeid in gather.order if nodeid.endswith("]") and "[" in nodeid]


def is_worker(config: pytest.Config) -> bool:
    """True in an xdist worker (its reports go to the controller, which writes every output)."""
    return hasattr(config, "workerinput")


def install(config: pytest.Config, secrets: Callable[[], Iterable[Secret]] | None = None) -> "Gather":
    """Register the plugin once per run (the root conftest and the engine plugin both ask);
    `secrets` gives the keys a payload must not carry."""
    gather = config.stash.get(GATHER, None)
    if gather is None:
        gather = Gather(config)
        config.pluginmanager.register(gather, "authconform-gather")
    if secrets is not None:
        gather.secrets = secrets
    return gather


def _redacted(value: Any, secrets: list[Secret]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: _redacted(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v, secrets) for v in value]
    return value


class Gather:
    """The plugin that moves payloads from tests to the reporting process; see the module docstring."""

    def __init__(self, config: pytest.Config, secrets: Callable[[], Iterable[Secret]] = tuple):
        self.config = config
        self.secrets = secrets
        self.inbox: dict[str, list[tuple[str, Any]]] = {}
        # nodeid -> position among the selected tests (after -k, -m, --lf, --sw).
        self.order: dict[str, int] | None = None
        config.stash[GATHER] = self

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]):
        """Attach the test's payloads (redacted) to its call-phase report."""
        report = yield
        outbox = item.stash.get(_OUTBOX, None)
        if outbox and report.when == "call":
            text = json.dumps(outbox, ensure_ascii=False)
            # Results arrive redacted already: this is the writers' second pass, done here because
            # the controller of an xdist run never holds the workers' keys. Each string is redacted
            # on its own (never the JSON text, where a placeholder could split an escape).
            leaking = [s for s in self.secrets() if leaks(text, s)]
            if leaking:
                text = json.dumps(_redacted(outbox, leaking), ensure_ascii=False)
            setattr(report, ATTR, text)
            item.stash[_OUTBOX] = {}
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep the payloads of a report, in the process that writes the outputs."""
        text = getattr(report, ATTR, None)
        if not isinstance(text, str) or is_worker(self.config):
            return
        for kind, payloads in json.loads(text).items():
            self.inbox.setdefault(kind, []).extend((report.nodeid, p) for p in payloads)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The selected tests, in the order a serial run runs them."""
        self.order = {item.nodeid: i for i, item in enumerate(session.items)}

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """Under xdist the controller collects nothing: every worker reports the same selection."""
        if not self.order:
            self.order = {nodeid: i for i, nodeid in enumerate(ids)}

    def payloads(self, kind: str) -> list[Any]:
        """Payloads of `kind`, in collection order (then arrival order)."""
        order = self.order or {}
        entries = sorted(enumerate(self.inbox.get(kind, [])), key=lambda e: (order.get(e[1][0], len(order)), e[0]))
        return [payload for _, (_, payload) in entries]
