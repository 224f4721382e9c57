"""`python -m specs check|import-openapi|export-openapi`: validate provider specs, draft one from an
OpenAPI document, or write a spec as an OpenAPI document."""
from __future__ import annotations

import argparse
import sys

from ._loader import SpecError, check_quotes, load_spec, spec_paths


def _check(files: list[str]) -> int:
    """Every lint the project runs on a spec: schema, consistency, wire grammars, sources, quotes, unique ids."""
    failed = False
    seen: dict[str, str] = {}
    for path in files or [str(p) for p in spec_paths()]:
        try:
            spec = load_spec(path)
            note = check_quotes(spec)
        except SpecError as err:
            failed = True
            print(err, file=sys.stderr)
            continue
        if spec.id in seen:
            failed = True
            print(f"{path}: id: {spec.id!r} is already the id of {seen[spec.id]}", file=sys.stderr)
            continue
        seen[spec.id] = path
        print(f"{path}: ok ({spec.name}: {len(spec.failures)} failure classes{'; note: ' + note if note else ''})")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; `check` exits 1 when any spec is broken (see each command's help)."""
    parser = argparse.ArgumentParser(prog="python -m specs", description="Validate, import and export authconform provider specs.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate spec files against the schema and lint rules")
    check.add_argument("files", nargs="*", help="spec files (default: every spec in the specs folder)")
    imp = sub.add_parser(
        "import-openapi", help="draft specs/ID.yaml from an OpenAPI 3.0/3.1 or Swagger 2.0 document",
        description="Draft a provider spec from an OpenAPI 3.0/3.1 or Swagger 2.0 document (JSON or YAML) and check it. "
        "Exit 0: written; 1: the draft fails specs check; 2: bad usage or unreadable document; 3: no header token to model.")
    imp.add_argument("file", help="the OpenAPI document (one file: bundle external $refs first)")
    imp.add_argument("--id", required=True, dest="provider_id", help="the provider id (lower-case, e.g. acme): names the file and the ID_API_KEY variables")
    imp.add_argument("--probe", metavar="'METHOD /path'", help="the operation to probe (default: the first GET that needs the key, fewest required parameters first)")
    imp.add_argument("--out", metavar="PATH", help="where to write (default: specs/ID.yaml in the specs folder); the file name must be ID.yaml")
    imp.add_argument("--force", action="store_true", help="overwrite an existing spec")
    imp.add_argument("--credential", metavar="'HEADER: SCHEME'", help="for a document that declares no security scheme: how the key travels ('Authorization: Bearer', 'X-API-Key:' for a bare key)")
    exp = sub.add_parser("export-openapi", help="write a provider spec as an OpenAPI 3.1 document")
    exp.add_argument("provider", help="a provider id (the name of a spec file)")
    exp.add_argument("-o", "--output", help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    if args.command == "check":
        return _check(args.files)
    if args.command == "import-openapi":
        from ._openapi_cli import import_main

        return import_main(args.file, args.provider_id, args.probe, args.out, args.force, args.credential)
    from ._openapi_export import export_main

    return export_main(args.provider, args.output)


if __name__ == "__main__":
    sys.exit(main())
