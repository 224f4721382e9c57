"""Driving mocks and the suite together, apart from the suite that judges: mocks as subprocesses
(`python -m mocks serve`, read back from its first line), the kill matrix (`python -m drive
mutation`, `make mutation`) and the drift between a live record and the mocks (`python -m drive
drift DIR`). It imports the suite's public face and starts mocks; it never imports mocks/.
"""
from ._cli import main
from ._drift import drift_against_mocks
from ._mock_process import ROOT, MockProcess, MockStartError, applicable_defects, start_mocks
from ._mutation import MutationMatrix, catalogue_of, must_fail_of, plan, run_matrix

__all__ = ["ROOT", "MockProcess", "MockStartError", "MutationMatrix", "applicable_defects", "catalogue_of", "drift_against_mocks", "main", "must_fail_of", "plan", "run_matrix", "start_mocks"]
