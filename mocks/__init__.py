"""Provider mocks: one aiohttp application per spec, answering like the provider's auth.

specs/<id>.yaml -> build_app(spec) -> protected routes decided by `decide` (a pure function),
a key store, a request journal, an admin API under /__authconform__/, defects and scenarios.
"""
from ._app import ADMIN_PREFIX, MOCK, MockState, build_app
from ._decide import Head, Plan, compile_plan, decide
from ._defects import DEFECTS, Defect, check_defects, defects_for
from ._journal import Journal
from ._keys import Key, KeyStore
from ._redact import Redactor
from ._responses import Decision
from ._scenarios import FORMS as SCENARIOS
from ._scenarios import Scenario, parse_scenario, scenarios_for
from ._serve import base_url, serve, serve_line
from ._thread import MockServer

__all__ = [
    "ADMIN_PREFIX", "DEFECTS", "MOCK", "SCENARIOS", "Decision", "Defect", "Head", "Journal", "Key", "KeyStore",
    "MockServer", "MockState", "Plan", "Redactor", "Scenario", "base_url", "build_app", "check_defects",
    "compile_plan", "decide", "defects_for", "parse_scenario", "scenarios_for", "serve", "serve_line",
]
