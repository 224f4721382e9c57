"""`authconform COMMAND [ARGS]`: one entry point for the whole checkout.

`./authconform` (the launcher beside this file) runs it from a clone with the checkout's .venv;
`make setup` also installs it as the console script `authconform` (an editable install: the
command finds the checkout through this file). The checkout's folders are put on sys.path here:
they are never installed as top-level packages (unrelated PyPI distributions use their names).
"""
from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent

# command -> (the package whose `python -m` runs it, what it does); None: pytest on suites/.
COMMANDS: dict[str, tuple[str | None, str]] = {
    "serve": ("mocks", "run a provider's mock server (python -m mocks serve ID)"),
    "gate": ("mocks", "run a client's tests against a mock and judge its requests (... gate ID -- CMD)"),
    "defects": ("mocks", "list the defects a mock can be run with"),
    "scenarios": ("mocks", "list the scenarios of a provider's mock"),
    "check": ("specs", "check provider specs (schema and lint)"),
    "import-openapi": ("specs", "draft a spec from an OpenAPI document"),
    "export-openapi": ("specs", "write an OpenAPI document from a spec"),
    "mutation": ("drive", "the kill matrix: plant every defect, show the suite catches each"),
    "drift": ("drive", "compare a live record with what the mocks answer"),
    "suite": (None, "run the conformance suite (pytest options follow: -k, --live, -n auto, --report DIR)"),
}


def usage() -> str:
    """The help text: every command, one line each."""
    width = max(len(c) for c in COMMANDS) + 2
    lines = ["usage: authconform COMMAND [ARGS]   (authconform COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name.ljust(width)}{what}" for name, (_, what) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to `python -m mocks|specs|drive COMMAND ARGS`, or pytest for `suite`; the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage(), file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"authconform: unknown command {command!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    if not (ROOT / "specs").is_dir():
        # A non-editable install copied this file away from the checkout.
        print(f"authconform: no checkout beside {ROOT}: run the ./authconform of a clone, or install it with pip install -e CHECKOUT",
              file=sys.stderr)
        return 2
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    package = COMMANDS[command][0]
    if package is None:
        import pytest

        # The checkout's pytest.ini and suite, wherever the command is run from (report paths stay relative to it).
        return int(pytest.main(["-c", str(ROOT / "pytest.ini"), "--rootdir", str(ROOT), *rest, str(ROOT / "suites")]))
    if argv is None:
        # This process's own command line: the process ends with the command.
        return _run_module(package, command, rest)
    # Called in-process (argv given): the caller gets its sys.argv back, and from a mocks command its
    # SIGINT/SIGTERM mask and handlers (a stop of serve or gate holds them; run as `__main__`, mocks
    # takes the process to end with the command and would not hand them back itself).
    saved_argv = sys.argv
    try:
        if package != "mocks":
            return _run_module(package, command, rest)
        from mocks import stop_signals_restored

        with stop_signals_restored():
            return _run_module(package, command, rest)
    finally:
        sys.argv = saved_argv


def _run_module(package: str, command: str, rest: list[str]) -> int:
    """`python -m PACKAGE COMMAND REST` in this process; its exit status."""
    sys.argv = [f"authconform {command}", command, *rest]
    try:
        runpy.run_module(package, run_name="__main__", alter_sys=True)
    except SystemExit as done:
        code = done.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
