"""Gate a client library: run its own tests against a provider mock, then judge every request it made.

`python -m mocks gate ID -- CMD` serves the mock, runs CMD with `ID_API_KEY` and `ID_BASE_URL` (and,
with --tls, a CA bundle) in its environment, and judges the journal with mocks/_rules.py: one line
in any CI job gates a client library, whatever its language.
Exit status: 0 pass; 1 a rule broken; 2 bad usage; 3 the client command failed (or did not start,
or timed out); 128+N the gate got signal N (it still judges and reports what it has). A table of
violations goes to stderr; JSON and JUnit XML under --report.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any, Callable

from specs import ProviderSpec, SpecError, get_spec, load_all

from ._gate import CA_BUNDLE_VARS, DEFAULT_TIMEOUT, gate
from ._gate_result import EXIT_USAGE, table, write_reports
from ._rules import rules_for
from ._scenarios import parse_scenario
from ._serve import ignore_stop_signals, stop_signals_restored


class GateError(Exception):
    """A usage problem the gate reports as one line (exit 2)."""


# --- command line ---------------------------------------------------------------------------------


class _HeadParser(argparse.ArgumentParser):
    """Parses `ID [options]` (the part before `--`); errors become GateError, not SystemExit."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise GateError(message)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tls", action="store_true", default=None,
                        help=f"serve HTTPS with a throwaway CA; its bundle is exported as {', '.join(CA_BUNDLE_VARS)} "
                             "and ID_CA_BUNDLE")
    parser.add_argument("--scenario", metavar="NAME",
                        help="change the mock's state mid-run: expire-after:N, revoke-after:N, rate-limit:N, flaky:N")
    parser.add_argument("--report", metavar="DIR", help="write gate-ID.json and gate-ID.xml (JUnit) here")
    parser.add_argument("--timeout", metavar="SECONDS", type=float,
                        help=f"stop the client after this long (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--allow", metavar="RULE", action="append",
                        help="report this rule but do not fail on it (repeatable)")


def rules_help() -> str:
    """The rule names --allow takes: those every provider has, then those only some have."""
    try:
        specs = sorted(load_all(), key=lambda sp: sp.id)
    except (SpecError, OSError, ValueError) as exc:  # a broken spec must not break --help
        return f"rules: (cannot list them: {str(exc).splitlines()[0]})"
    per_spec = {sp.id: [r.id for r in rules_for(sp)] for sp in specs}
    every = [rid for rid in next(iter(per_spec.values()), []) if all(rid in ids for ids in per_spec.values())]
    some: dict[str, list[str]] = {}
    for pid, ids in per_spec.items():
        for rid in ids:
            if rid not in every:
                some.setdefault(rid, []).append(pid)
    extra = "; ".join(f"{rid} ({', '.join(pids)})" for rid, pids in some.items())
    return (f"rules (for --allow RULE): {', '.join(every)}" + (f"; only some providers: {extra}" if extra else "")
            + ". Exit status: 0 pass, 1 a rule broken, 2 usage, 3 the client failed or timed out, "
              "128+N stopped by signal N (130 for SIGINT; the report is still written).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `gate` subcommand's arguments: `ID [options] -- CMD [ARGS...]`."""
    parser.epilog = rules_help()
    _options(parser)
    # One REMAINDER for `ID [options] -- CMD`: argparse would let a REMAINDER command swallow the
    # options written after ID, so the part before `--` is parsed again in main().
    parser.add_argument("rest", nargs=argparse.REMAINDER, metavar="ID [options] -- CMD [ARGS...]",
                        help="provider id, then the client's test command after `--`, run with ID_API_KEY and "
                             "ID_BASE_URL set")


def _split(args: argparse.Namespace) -> argparse.Namespace:
    """`ID [options] -- CMD` -> provider, options (before or after ID) and command."""
    rest = list(getattr(args, "rest", None) or [])
    if "--" in rest:
        cut = rest.index("--")
        head, command = rest[:cut], rest[cut + 1 :]
    elif len(rest) > 1:  # `gate cloro true`: is `true` the command or a typo of an option? Say which form works.
        raise GateError(f"the client command goes after `--`: `python -m mocks gate {rest[0]} [options] -- "
                        f"{' '.join(rest[1:3])}{' ...' if len(rest) > 3 else ''}`")
    else:
        head, command = rest, []
    parser = _HeadParser(prog="gate", add_help=False)
    parser.add_argument("provider")
    _options(parser)
    if not head:
        raise GateError("no provider: `python -m mocks gate ID [--tls] [--scenario NAME] [--report DIR] -- CMD [ARGS...]`")
    opts = parser.parse_args(head)
    for name in ("tls", "scenario", "report", "timeout"):
        if getattr(opts, name) is None:
            setattr(opts, name, getattr(args, name, None))
    opts.tls = bool(opts.tls)
    opts.timeout = DEFAULT_TIMEOUT if opts.timeout is None else opts.timeout
    opts.allow = list(getattr(args, "allow", None) or []) + list(opts.allow or [])
    opts.command = command
    return opts


def _check(args: argparse.Namespace) -> tuple[ProviderSpec, list[str]]:
    """The spec and the command, or a GateError saying what would be right."""
    command = args.command
    if not command:
        raise GateError(f"no client command: write it after `--`, e.g. `python -m mocks gate {args.provider} -- pytest tests/`")
    try:
        spec = get_spec(args.provider)
    except SpecError as exc:
        raise GateError(str(exc).splitlines()[0]) from None
    except (KeyError, LookupError, FileNotFoundError):
        known = ", ".join(sorted(s.id for s in load_all()))
        raise GateError(f"unknown provider `{args.provider}`; one of: {known}") from None
    if not args.timeout > 0:
        raise GateError(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    if args.scenario is not None:
        try:
            refusal = parse_scenario(args.scenario).refusal(spec)
        except ValueError as exc:
            raise GateError(f"--scenario: {exc}") from None
        if refusal:
            raise GateError(f"--scenario: {refusal}")
    if args.report is not None:
        args.report = report_folder(args.report, spec.id)
    known_rules = [r.id for r in rules_for(spec)]
    for rid in args.allow:
        if rid not in known_rules:
            raise GateError(f"--allow {rid}: no such rule for {spec.id}; one of: {', '.join(known_rules)}")
    return spec, command


def report_folder(raw: str, provider: str) -> Path:
    """The --report folder, made and proven writable before the client runs (GateError if it cannot be).

    A report that cannot be written is found out now, as a usage error, not after the client's whole
    run: an empty name (which Path reads as the current folder), a file, a link to nothing, a report
    name taken by a folder, a folder that cannot be created or written."""
    hint = f"give a folder (created if missing) for gate-{provider}.json and .xml"
    if not raw.strip():
        raise GateError(f"--report needs a folder name; {hint}")
    folder = Path(raw)
    if folder.is_symlink() and not folder.exists():
        raise GateError(f"--report {raw}: a link to nothing; {hint}")
    if folder.exists() and not folder.is_dir():
        raise GateError(f"--report {raw}: that is a file; {hint}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GateError(f"--report {raw}: cannot create it ({exc.strerror or exc}); {hint}") from None
    for name in (f"gate-{provider}.json", f"gate-{provider}.xml"):
        if (folder / name).is_dir():
            raise GateError(f"--report {raw}: {name} there is a folder; {hint}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise GateError(f"--report {raw}: not writable; {hint}")
    return folder


class _Stopped(Exception):
    """The gate got a second SIGINT or SIGTERM while it was already stopping."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class _Stop(asyncio.Event):
    """Set by the first SIGINT/SIGTERM; `signum` says which."""

    signum: int | None = None


async def _until_signal(make: Callable[[_Stop], Any]) -> Any:
    """Run the gate; the first SIGINT/SIGTERM stops the client's process group (it runs in a session
    of its own, out of reach of a signal sent to ours) and lets the gate judge and report what it
    has; a second one cancels the gate outright."""
    loop = asyncio.get_running_loop()
    stop = _Stop()
    task = asyncio.ensure_future(make(stop))
    got: list[int] = []

    def on_signal(signum: int) -> None:
        got.append(signum)
        if stop.is_set():
            task.cancel()
        else:
            stop.signum = signum
            stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        return await task
    except asyncio.CancelledError:
        if got:
            raise _Stopped(got[-1]) from None
        raise
    finally:
        # What is left (the table, the reports) is short and bounded: a later SIGINT/SIGTERM is
        # blocked, then ignored, never Python's KeyboardInterrupt mid-write (see ignore_stop_signals).
        ignore_stop_signals(loop)


def main(args: argparse.Namespace) -> int:
    """Run `gate` from parsed arguments; the exit status."""
    try:
        args = _split(args)
        spec, command = _check(args)
    except GateError as exc:
        print(f"gate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with stop_signals_restored():
        return _run_and_report(args, spec, command)


def _run_and_report(args: argparse.Namespace, spec: ProviderSpec, command: list[str]) -> int:
    """The gate's run, its table and reports (SIGINT/SIGTERM held once the run stops)."""
    try:
        result = asyncio.run(_until_signal(lambda stop: gate(spec, command, tls=args.tls, scenario=args.scenario,
                                                             timeout=args.timeout, allow=args.allow, stop=stop)))
    except _Stopped as stop:
        print(f"gate: stopped by signal {stop.signum} twice; the client was stopped, nothing judged", file=sys.stderr)
        return 128 + stop.signum
    sys.stdout.flush()
    sys.stderr.write(table(result))
    if args.report is not None:
        try:
            for path in write_reports(result, args.report):
                print(f"gate: wrote {path}", file=sys.stderr)
        except OSError as exc:
            print(f"gate: cannot write the reports to {args.report}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
    return result.exit_status
