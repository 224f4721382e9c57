"""Provider mocks: one aiohttp application per spec, answering like the provider's auth.

specs/<id>.yaml -> build_app(spec) -> protected routes decided by `decide` (a pure function),
a key store, a request journal, an admin API under /__authconform__/, defects and scenarios.
"""
# The names other packages, bench/ and the tests use (tests/test_layout.py keeps other packages to them).
from ._app import MOCK, build_app
from ._defects import DEFECTS
from ._serve import make_runner, stop_signals_restored

__all__ = [
    "DEFECTS", "MOCK", "build_app", "make_runner", "stop_signals_restored",
]
