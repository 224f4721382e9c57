"""`python -m specs import-openapi FILE ID`: read a document, draft a spec, check it, write it (or say
in one line why not: exit 2 bad input, 3 nothing a spec can hold)."""
from __future__ import annotations

import re
import sys
from typing import Any

from ._openapi_doc import DocumentError, read_document
from ._openapi_import import Unsupported, build_spec
from ._report_format import write_text

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def render(spec: dict[str, Any], source: str) -> str:
    """The draft as YAML, headed by where it came from and how to finish it."""
    import yaml

    head = (f"# Draft imported from {source} by `python -m specs import-openapi`.\n"
            "# Documented rules quote the document (JSON pointer: \"text\"); read the TODO notes, then check it:\n"
            f"# python -m specs check specs/{spec['id']}.yaml\n")
    class Dumper(yaml.SafeDumper):
        """Every value written out in place: a draft is read and edited, not decoded."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    return head + yaml.dump(spec, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)


def import_main(file: str, provider_id: str, probe: str | None, out: str | None, force: bool, credential: str | None) -> int:
    """`import-openapi FILE --id ID`: write a checked draft spec; one line on stderr when it cannot.

    Exit status: 0 written and checked; 1 the draft fails `specs check` (kept beside, named
    `_ID.rejected.yaml`, for a look); 2 bad usage or a document that cannot be read; 3 a document
    whose credentials are not a header token.
    """
    import shutil
    import tempfile
    from pathlib import Path

    from ._loader import SPEC_DIR, SpecError, load_spec

    if not ID_PATTERN.fullmatch(provider_id):
        print(f"import-openapi: invalid --id {provider_id!r}; an id is lower-case letters, digits and _, starting with a letter (e.g. acme)", file=sys.stderr)
        return 2
    target = Path(out) if out else SPEC_DIR / f"{provider_id}.yaml"
    if target.name != f"{provider_id}.yaml":
        print(f"import-openapi: --out {out!r}: a spec's file is named after its id ({provider_id}.yaml)", file=sys.stderr)
        return 2
    if target.exists() and not force:
        print(f"import-openapi: {target} exists; pass --force to overwrite it", file=sys.stderr)
        return 2
    try:
        doc = read_document(file)
        spec = build_spec(doc, provider_id, probe, credential)
    except DocumentError as exc:
        print(f"import-openapi: {file}: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"import-openapi: {exc}", file=sys.stderr)
        return 2
    except Unsupported as exc:
        print(f"import-openapi: {file}: {exc}", file=sys.stderr)
        return 3
    except RecursionError:
        print(f"import-openapi: {file}: nested too deeply to import", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a bug of the importer: still one line, not a traceback
        print(f"import-openapi: {file}: internal error ({type(exc).__name__}: {exc}); please report it with the document", file=sys.stderr)
        return 2
    text = render(spec, Path(file).name)
    # Checked before it takes the spec's place: a draft that fails is never left as specs/ID.yaml.
    with tempfile.TemporaryDirectory(prefix="authconform-import-") as tmp:
        draft = Path(tmp) / target.name
        draft.write_text(text, encoding="utf-8")
        try:
            checked = load_spec(draft)
        except SpecError as exc:
            rejected = target.with_name(f"_{provider_id}.rejected.yaml")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(draft, rejected)
                kept = f" (the draft is in {rejected})"
            except OSError:
                kept = ""
            first = str(exc).splitlines()[0].split(": ", 1)[-1]
            print(f"import-openapi: the draft does not pass specs check{kept}: {first}", file=sys.stderr)
            return 1
        try:
            write_text(target, text)  # whole or not at all, no temporary file left behind
        except OSError as exc:
            print(f"import-openapi: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    todo = sum(1 for n in spec["notes"] if n.startswith("TODO:"))
    print(f"{target}: {checked.name}: {checked.credential.header}: {checked.credential.scheme or '<key>'}, "
          f"probe {checked.probe.method} {checked.probe.path}, {len(spec['routes'])} routes, {todo} TODO notes")
    return 0
