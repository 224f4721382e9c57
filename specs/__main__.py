"""`python -m specs check [FILE ...]`: validate provider specs and say what is wrong, where."""
from __future__ import annotations

import argparse
import sys

from ._loader import SpecError, load_spec, spec_paths


def main(argv: list[str] | None = None) -> int:
    """Check each spec file (default: every spec in specs/); exit 1 when any is broken."""
    parser = argparse.ArgumentParser(prog="python -m specs", description="Validate authconform provider specs.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate spec files against the schema and lint rules")
    check.add_argument("files", nargs="*", help="spec files (default: every specs/*.yaml)")
    args = parser.parse_args(argv)
    failed = False
    for path in args.files or [str(p) for p in spec_paths()]:
        try:
            spec = load_spec(path)
        except SpecError as err:
            failed = True
            print(err, file=sys.stderr)
        else:
            print(f"{path}: ok ({spec.name}: {len(spec.failures)} failure classes)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
