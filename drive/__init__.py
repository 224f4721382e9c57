"""Driving mocks and the suite together, apart from the suite that judges: mocks as subprocesses
(`python -m mocks serve`, read back from its first line), the kill matrix (`python -m drive
mutation`, `make mutation`) and the drift between a live record and the mocks (`python -m drive
drift DIR`). It imports the suite's public face and starts mocks; it never imports mocks/.
"""
from ._mock_process import MockProcess, MockStartError, start_mocks

__all__ = [
    "MockProcess", "MockStartError", "start_mocks",
]
