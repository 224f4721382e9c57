"""`./authconform`: one command from a clone, run from anywhere, with no PYTHONPATH."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from fixtures import ROOT
from fixtures._selftest import clean_env
from specs import load_all

SPEC = load_all()[0]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in clean_env().items() if k != "PYTHONPATH"}
    return subprocess.run([str(ROOT / "authconform"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_help_lists_every_command(tmp_path: Path) -> None:
    """--help names each command; no argument is a usage error (exit 2)."""
    run = _run("--help", cwd=tmp_path)
    assert run.returncode == 0
    for command in ("serve", "gate", "check", "import-openapi", "export-openapi", "mutation", "drift", "suite"):
        assert f"\n  {command} " in run.stdout
    assert _run(cwd=tmp_path).returncode == 2


def test_an_unknown_command_is_one_line(tmp_path: Path) -> None:
    """Exit 2, one line naming the commands, no traceback."""
    run = _run("srve", cwd=tmp_path)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "unknown command 'srve'; commands: serve," in run.stderr


def test_commands_run_from_another_folder(tmp_path: Path) -> None:
    """check dispatches to `python -m specs check`; suite runs pytest on the checkout's suite with
    its pytest.ini, reports relative to where it was run."""
    check = _run("check", str(ROOT / "specs" / f"{SPEC.id}.yaml"), cwd=tmp_path)
    assert check.returncode == 0 and f"{SPEC.id}.yaml: ok" in check.stdout, check.stderr
    suite = _run("suite", "-q", "-p", "no:cacheprovider", "-k", f"{SPEC.id}.positive", "--report", "out", cwd=tmp_path)
    assert suite.returncode == 0, suite.stdout[-2000:] + suite.stderr[-2000:]
    assert " passed" in suite.stdout and (tmp_path / "out" / "report.json").is_file()
    assert os.access(ROOT / "authconform", os.X_OK)


def test_an_in_process_call_gives_the_caller_its_state_back(capfd, monkeypatch) -> None:
    """`authconform_cli.main([...])` in this process runs `python -m mocks` as `__main__`, which
    marks the process as ending with the command (the gate's stop then keeps SIGINT/SIGTERM held):
    the caller gets its signal mask and handlers, sys.argv and that mark back."""
    import signal
    import sys

    import authconform_cli
    from mocks import _serve

    # runpy runs `mocks.__main__` afresh; a copy another test imported would make it warn.
    monkeypatch.delitem(sys.modules, "mocks.__main__", raising=False)
    stops = (signal.SIGINT, signal.SIGTERM)
    before = (signal.pthread_sigmask(signal.SIG_BLOCK, ()), [signal.getsignal(s) for s in stops], list(sys.argv))
    assert authconform_cli.main(["gate", load_all()[0].id, "--", "true"]) == 1  # no request sent: client.sent_requests
    assert (signal.pthread_sigmask(signal.SIG_BLOCK, ()), [signal.getsignal(s) for s in stops], list(sys.argv)) == before
    assert _serve.PROCESS_ENDS_WITH_COMMAND is False
    capfd.readouterr()
