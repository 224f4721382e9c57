"""`python -m specs check|export-openapi`: validate provider specs, or write one as an OpenAPI
document."""
from __future__ import annotations

import argparse
import sys

from ._loader import SpecError, load_spec, spec_paths


def _check(files: list[str]) -> int:
    failed = False
    for path in files or [str(p) for p in spec_paths()]:
        try:
            spec = load_spec(path)
        except SpecError as err:
            failed = True
            print(err, file=sys.stderr)
        else:
            print(f"{path}: ok ({spec.name}: {len(spec.failures)} failure classes)")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; `check` exits 1 when any spec is broken (see each command's help)."""
    parser = argparse.ArgumentParser(prog="python -m specs", description="Validate and export authconform provider specs.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate spec files against the schema and lint rules")
    check.add_argument("files", nargs="*", help="spec files (default: every spec in the specs folder)")
    exp = sub.add_parser("export-openapi", help="write a provider spec as an OpenAPI 3.1 document")
    exp.add_argument("provider", help="a provider id (the name of a spec file)")
    exp.add_argument("-o", "--output", help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    if args.command == "check":
        return _check(args.files)
    from ._openapi_export import export_main

    return export_main(args.provider, args.output)


if __name__ == "__main__":
    sys.exit(main())
