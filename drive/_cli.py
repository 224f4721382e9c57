"""`python -m drive mutation|drift`: the kill matrix of the suite against defective mocks, and the
drift between what a live provider answered and what its mock answers."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from specs import SpecError, load_all, write_json
from suites import RecordError, load_record

from ._drift import drift_against_mocks
from ._mock_process import MockStartError
from ._mutation import DEFAULT_WORKERS, catalogue_of, must_fail_of, plan, run_matrix


def _workers(text: str) -> int:
    if text == "auto":
        # One pair keeps about one core busy (the suite and its mock ping-pong): one worker per core.
        return max(1, min(16, os.cpu_count() or 1))
    if not text.isdigit() or not 1 <= int(text) <= 16:
        raise argparse.ArgumentTypeError(f"invalid worker count {text!r}; a whole number from 1 to 16, or auto (one per core)")
    return int(text)


def _known_providers(parser: argparse.ArgumentParser, wanted: list[str]) -> list:
    try:
        every = load_all()
    except SpecError as err:
        parser.error(f"a provider spec is broken: {str(err).splitlines()[0]}")
    known = {s.id: s for s in every}
    bad = [p for p in wanted if p not in known]
    if bad:
        parser.error(f"unknown provider {bad[0]!r}; providers: {', '.join(sorted(known))}")
    return [known[p] for p in dict.fromkeys(wanted)] if wanted else list(every)


def _run_mutation(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    specs = _known_providers(parser, args.provider)
    try:
        catalogue = catalogue_of(s.id for s in specs)
    except MockStartError as err:
        parser.error(str(err))
    every = {d for names in catalogue.values() for d in names}
    bad = [d for d in args.defect if d not in every]
    if bad:
        parser.error(f"defect {bad[0]!r} applies to none of {', '.join(catalogue)}; defects: {', '.join(sorted(every))}")
    pairs = plan(catalogue, args.defect or None, args.sample)
    say = (lambda line: print(line, file=sys.stderr, flush=True)) if not args.quiet else None
    matrix = run_matrix(pairs, fixed=True, generated=not args.fixed_only, cases=args.cases, workers=args.workers,
                        progress=say, must_fail=must_fail_of(catalogue))
    print("\n".join(matrix.lines()))
    if args.json:
        write_json(args.json, matrix.as_dict())
    return matrix.exit_status


def _run_drift(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    specs = _known_providers(parser, args.provider)
    try:
        record = load_record(args.folder)
    except RecordError as err:
        parser.error(str(err))
    try:
        outcome = drift_against_mocks(record, specs)
    except MockStartError as err:
        print(f"drift: {err}", file=sys.stderr)
        return 2
    print("\n".join(outcome.lines(str(Path(args.folder) / "record.json"))))
    if not outcome.compared:
        # An empty comparison proves nothing: say so, and do not pass.
        print(f"drift: nothing compared: {args.folder}/record.json holds no case that ran (were the live keys set?)", file=sys.stderr)
        return 2
    return 1 if outcome.drifts else 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(prog="python -m drive", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    m = sub.add_parser("mutation", help="plant every defect in every provider's mock and show the suite catches each",
                       description="Plant every applicable defect in every provider's mock, run the suite (fixed cases and "
                                   "the generated engine) against each, print the provider x defect kill matrix. Exit 1 when a "
                                   "defect survives or a clean mock gets a FAIL.")
    m.add_argument("--provider", action="append", default=[], metavar="ID", help="only this provider (repeatable)")
    m.add_argument("--defect", action="append", default=[], metavar="NAME", help="only this defect (repeatable)")
    m.add_argument("--fixed-only", action="store_true", help="run the fixed cases only, not the generated engine")
    m.add_argument("--sample", action="store_true", help="plant each defect once, in one provider it applies to (CI-sized)")
    m.add_argument("--cases", default="*", metavar="GLOB", help="only cases whose id matches (e.g. 'cloro.missing*'); default all")
    m.add_argument("--workers", "-n", type=_workers, default=DEFAULT_WORKERS, metavar="N", help=f"worker processes, or auto: one per core (default {DEFAULT_WORKERS})")
    m.add_argument("--json", metavar="FILE", help="also write the matrix as JSON")
    m.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    m.set_defaults(subparser=m, run=_run_mutation)

    d = sub.add_parser("drift", help="compare a live record (pytest --live --record DIR) with what the mocks answer",
                       description="Run the recorded cases against each provider's mock and print where the mock (and so "
                                   "the spec) no longer answers like the recorded target: status, body shape, headers. "
                                   "Exit 1 on drift.")
    d.add_argument("folder", metavar="DIR", help="the folder given to pytest --record")
    d.add_argument("--provider", action="append", default=[], metavar="ID", help="only this provider (repeatable)")
    d.set_defaults(subparser=d, run=_run_drift)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the subcommand; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args.run(args, args.subparser))


if __name__ == "__main__":
    sys.exit(main())
