"""Provider mocks: one aiohttp application per spec, answering like the provider's auth.

specs/<id>.yaml -> build_app(spec) -> protected routes decided by `decide` (a pure function),
a key store, a request journal, an admin API under /__authconform__/, defects and scenarios.
"""
# The names other packages, bench/ and the tests use (tests/test_layout.py keeps other packages to them).
from ._app import MOCK, build_app
from ._decide import Head, compile_plan, decide
from ._defects import DEFECTS, check_defects, defects_for
from ._journal import Journal
from ._keys import KeyStore
from ._redact import Redactor
from ._scenarios import FORMS as SCENARIOS
from ._scenarios import parse_scenario, scenarios_for
from ._serve import make_runner
from ._thread import MockServer

__all__ = [
    "DEFECTS", "Head", "Journal", "KeyStore", "MOCK", "MockServer", "Redactor", "SCENARIOS", "build_app",
    "check_defects", "compile_plan", "decide", "defects_for", "make_runner", "parse_scenario", "scenarios_for",
]
