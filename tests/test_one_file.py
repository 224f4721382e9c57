"""A provider is one file: two specs dropped into a specs folder beside the shipped five keep the
project's tests green, with no code change.

The folder is a copy of specs/ (AUTHCONFORM_SPECS_DIR names it for every command and test) plus
tests/specs/tokenco.yaml (cloro's spec with the `Token` scheme, no page copy) and
tests/specs/getprobe.yaml (a GET probe without a body, a seed whose page copy is absent, no
expired state, no rate limit). The tests that take their providers from the specs run again in a
child pytest: every test of the two new providers, and every test that lists all providers.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from specs import SPECS_DIR_ENV, load_all, spec_paths
from specs._loader import PACKAGE_DIR

ROOT = Path(__file__).resolve().parent.parent
NEW = ("tokenco", "getprobe")
# Modules whose tests take providers from the specs (per-provider parameters or all-provider tables).
MODULES = (
    "test_specs.py", "test_mock_classes.py", "test_mock_admin.py", "test_mock_defects.py",
    "test_mock_wire.py", "test_gate_rules.py", "test_gate.py", "test_robust.py",
    "test_engine_units.py", "test_mutation.py", "test_suite_mock.py", "test_specs_cli.py", "test_live.py",
)
# The tests that list or count every provider; the rest are selected by the new providers' ids.
AGGREGATE = ("test_specs.py", "test_the_suite_passes_on_every_clean_mock", "test_applies_follows_the_specs",
             "test_export_openapi", "test_every_defect_is_killed_in_the_ci_sized_matrix", "test_the_full_plan_covers",
             "test_live_without_keys_skips_every_provider", "test_bad_options_say_what_would_be_right",
             "test_a_bad_option_exits_4", "test_bad_arguments_are_one_line_errors")
# A hang bound for a child run of a few hundred tests on a loaded 2-core machine.
TIMEOUT_S = 900


def _folder(tmp_path: Path) -> Path:
    """specs/ as shipped (specs and page copies) plus the two example specs."""
    folder = tmp_path / "specs"
    folder.mkdir()
    for path in spec_paths(PACKAGE_DIR):
        shutil.copy(path, folder / path.name)
    shutil.copytree(PACKAGE_DIR / "pages", folder / "pages")
    for name in NEW:
        shutil.copy(ROOT / "tests" / "specs" / f"{name}.yaml", folder / f"{name}.yaml")
    return folder


def test_the_example_specs_are_valid_and_new() -> None:
    """The two examples pass `specs check` alone, and are not shipped providers."""
    out = subprocess.run([sys.executable, "-m", "specs", "check", *(f"tests/specs/{n}.yaml" for n in NEW)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "getprobe-authentication.md: documented rules' quotes not checked" in out.stdout
    assert not set(NEW) & {s.id for s in load_all(PACKAGE_DIR)}


def test_two_specs_dropped_in_keep_the_tests_green(tmp_path: Path) -> None:
    """A child pytest over the provider-driven tests, with the folder of seven specs: all pass."""
    folder = _folder(tmp_path)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}, SPECS_DIR_ENV: str(folder)}
    select = " or ".join((*NEW, *AGGREGATE))
    args = [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "--durations", "8", "-k", select,
            *(f"tests/{m}" for m in MODULES), "--basetemp", str(tmp_path / "child")]
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
    tail = out.stdout[-4000:] + out.stderr[-2000:]
    assert out.returncode == 0, tail
    # The new providers were exercised, not merely tolerated: their own tests ran and passed.
    passed = [line for line in out.stdout.splitlines() if line.startswith("PASSED ")]
    for name in NEW:
        mine = [line for line in passed if name in line]
        assert len(mine) >= 20, (name, len(mine), tail)
    assert any("test_the_suite_passes_on_every_clean_mock" in line for line in passed), tail
