"""`python -m mocks serve|defects|scenarios|gate`: run a provider mock, list defects and scenarios, gate a client."""
from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from typing import Any, Callable, Sequence

from specs import ADMIN_HEADER, SPEC_DIR, ProviderSpec, SpecError, load_spec, spec_paths

from ._app import build_app
from ._defects import DEFECTS, check_defects, defects_for
from ._journal import DEFAULT_LIMIT, DEFAULT_MAX_BYTES
from ._scenarios import FORMS, Scenario, parse_scenario, scenarios_for
from . import _serve
from ._serve import run_options, serve
from ._workers import MAX_WORKERS, refusal, serve_workers, shared_seed, workers_count


def _provider_ids() -> list[str]:
    return [p.stem for p in spec_paths()]


def provider(text: str) -> ProviderSpec:
    """argparse type: a provider id -> its spec (only that spec is loaded)."""
    ids = _provider_ids()
    if text not in ids:
        raise argparse.ArgumentTypeError(f"unknown provider {text!r}; providers: {', '.join(ids)}")
    try:
        return load_spec(SPEC_DIR / f"{text}.yaml")
    except SpecError as exc:
        raise argparse.ArgumentTypeError(f"the {text} spec cannot be used: {str(exc).splitlines()[0]}") from None


def _defect(text: str) -> str:
    if text not in DEFECTS:
        raise argparse.ArgumentTypeError(f"unknown defect {text!r}; defects: {', '.join(DEFECTS)}")
    return text


def _scenario(text: str) -> Scenario:
    try:
        return parse_scenario(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _mib(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0625 <= value <= 4096:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}; the journal bound is a number of MiB, 0.0625..4096")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}; a port is 0..65535 (0 picks a free one)")
    return int(text)


# Addresses only this machine reaches; anything else serves every key (and, without a secret, the
# admin API) to whoever can reach the port.
LOOPBACK_HOSTS = ("localhost",)


def _loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def admin_secret(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str | None:
    """The admin secret `--admin-secret-env VAR` names; off loopback one is required (usage error)."""
    host = args.host
    if not host.strip():
        parser.error("--host needs an address: 127.0.0.1 (this machine only, the default), ::1, "
                     "or 0.0.0.0 for every interface (with --admin-secret-env VAR)")
    secret = None
    if args.admin_secret_env is not None:
        secret = os.environ.get(args.admin_secret_env, "")
        if not secret:
            parser.error(f"--admin-secret-env {args.admin_secret_env}: that environment variable is unset or empty; "
                         "export the secret in it first")
    if not _loopback(host):
        if secret is None:
            parser.error(f"--host {host} serves every key and the admin API to the network: give the admin API a "
                         "secret with --admin-secret-env VAR (or serve on 127.0.0.1)")
        print(f"mocks serve: warning: listening on {host}, not loopback: every key of this mock is served to whoever "
              f"reaches the port; admin calls need the {ADMIN_HEADER} header", file=sys.stderr)
    return secret


def _run_serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    spec: ProviderSpec = args.provider
    secret = admin_secret(args, parser)
    try:
        check_defects(spec, args.defect or ())
        if args.scenario is not None and (why := args.scenario.refusal(spec)):
            raise ValueError(why)
        if why := refusal(spec, args.workers, args.scenario, not args.no_rate_limit):
            raise ValueError(why)
        options = run_options(args)
        options["admin_secret"] = secret
        if args.workers > 1:  # every worker's copy must mint the same keys
            options["seed"] = shared_seed(args.seed)
        app = build_app(spec, **options)
    except ValueError as exc:
        parser.error(str(exc))
    if args.workers > 1:
        return serve_workers(app, args.workers, args.host, args.port, tls=args.tls, journal_path=args.journal)
    return serve(app, args.host, args.port, tls=args.tls, journal_path=args.journal)


def _run_defects(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    spec: ProviderSpec | None = args.provider
    names = defects_for(spec) if spec else tuple(DEFECTS)
    if args.json:
        print(json.dumps([{"name": n, "bug": DEFECTS[n].bug, "breaks": DEFECTS[n].breaks, "applies_to": DEFECTS[n].applies_to,
                           "kind": DEFECTS[n].kind, "must_fail": DEFECTS[n].must_fail} for n in names], indent=2))
        return 0
    width = max(len(n) for n in DEFECTS)
    for n in names:
        d = DEFECTS[n]
        print(f"{n:<{width}}  {d.bug}; breaks: {d.breaks} [{d.kind}; applies to: {d.applies_to}]")
    return 0


def _run_scenarios(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    for form in scenarios_for(args.provider) if args.provider else FORMS:
        print(form)
    return 0


def _unavailable(why: str) -> Callable[[argparse.Namespace, argparse.ArgumentParser], int]:
    def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
        parser.error(f"gate is not available: {why}")
        return 2

    return run


def _add_gate(sub: Any) -> None:
    """The `gate` subcommand, from mocks/_gate_cli.py when present; without it the others still work."""
    try:
        from . import _gate_cli

        doc = (_gate_cli.__doc__ or "run a client's test command against the mock and judge its requests").strip().splitlines()[0]
        _gate_cli.add_arguments(argparse.ArgumentParser())  # fails here, before `gate` is registered
        p = sub.add_parser("gate", help=doc, description=doc)
        _gate_cli.add_arguments(p)
        p.set_defaults(subparser=p, run=lambda args, parser: _gate_cli.main(args))
        return
    except ModuleNotFoundError as exc:
        missing = exc.name == f"{__package__}._gate_cli"
        why = "mocks/_gate_cli.py is missing" if missing else f"mocks/_gate_cli.py failed to load: {exc}"
    except Exception as exc:  # a half-written gate must not break serve and defects
        why = f"mocks/_gate_cli.py failed to load: {type(exc).__name__}: {exc}"
    p = sub.add_parser("gate", help=f"(unavailable: {why})")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(subparser=p, run=_unavailable(why))


# Commands that never need the gate: loading mocks/_gate_cli.py and its rules costs `serve` a cold start.
WITHOUT_GATE = ("serve", "defects", "scenarios")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command-line parser (without `gate` when argv names another command)."""
    parser = argparse.ArgumentParser(prog="python -m mocks", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("serve", help="run one provider's mock until SIGINT/SIGTERM",
                       description="Run one provider's mock. The first stdout line is one JSON object: "
                                   '{"provider", "base_url", "keys"}.')
    s.add_argument("provider", metavar="ID", type=provider, help=f"provider id ({', '.join(_provider_ids())})")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1); off loopback (e.g. 0.0.0.0) every key is served to the "
                        "network and --admin-secret-env is required")
    s.add_argument("--admin-secret-env", metavar="VAR",
                   help=f"admin calls (/__authconform__/) must carry the secret in environment variable VAR as the "
                        f"{ADMIN_HEADER} header; others get 403 and are journaled")
    s.add_argument("--port", type=_port, default=0, help="port to bind (default 0: a free port)")
    s.add_argument("--seed", help="make the keys deterministic")
    s.add_argument("--no-rate-limit", action="store_true", help="drop the spec's own rate limit (benchmarks, long runs)")
    s.add_argument("--no-fast-path", action="store_true",
                   help="serve the probe through the application like any path (the same answers, more CPU; mocks/_fastpath.py)")
    s.add_argument("--journal", metavar="PATH", help="on SIGINT/SIGTERM, write the whole journal (redacted) here as JSON Lines")
    s.add_argument("--journal-mib", type=_mib, default=DEFAULT_MAX_BYTES / 2**20, metavar="MIB",
                   help=f"keep the newest requests within MIB packed (default {DEFAULT_MAX_BYTES / 2**20:g}, at most "
                        f"{DEFAULT_LIMIT:,} entries; GET journal's `dropped` counts the rest)")
    s.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway CA; the serve line adds its `ca_bundle` path")
    s.add_argument("--defect", action="append", type=_defect, metavar="NAME", help="plant a defect (repeatable; see `defects`)")
    s.add_argument("--scenario", type=_scenario, metavar="NAME", help=f"change state mid-run: {', '.join(FORMS)}")
    s.add_argument("--workers", type=workers_count, default=1, metavar="N",
                   help=f"serve from N processes on one port (SO_REUSEPORT), keys and journal shared; 1..{MAX_WORKERS} (default 1)")
    s.set_defaults(subparser=s, run=_run_serve)

    d = sub.add_parser("defects", help="list the defects a mock can be run with")
    d.add_argument("provider", metavar="ID", nargs="?", type=provider, help="only those that apply to this provider")
    d.add_argument("--json", action="store_true", help="as JSON")
    d.set_defaults(subparser=d, run=_run_defects)

    c = sub.add_parser("scenarios", help="list the scenarios a mock can be run with")
    c.add_argument("provider", metavar="ID", nargs="?", type=provider, help="only those that apply to this provider")
    c.set_defaults(subparser=c, run=_run_scenarios)

    if not argv or argv[0] not in WITHOUT_GATE:
        _add_gate(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the subcommand; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args.run(args, args.subparser) or 0)


if __name__ == "__main__":
    # This process ends with the command: a stop may keep SIGINT/SIGTERM held to the end. (Run as
    # `__main__` inside another program, by runpy, the mark is taken back once the command is done.)
    _serve.PROCESS_ENDS_WITH_COMMAND = True
    try:
        status = main()
    finally:
        _serve.PROCESS_ENDS_WITH_COMMAND = False
    sys.exit(status)
