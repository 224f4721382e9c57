"""An OpenAPI document read as untrusted input: bounded in bytes, values and time, `$ref`s resolved.

`read_document(path)` returns a `Document` (or raises `DocumentError`, one line saying what is
wrong). JSON and YAML are read; YAML through the project's one bounded reader (specs/_yaml.py:
alias bombs, cycles and depth refused before the data is built). Every value is then counted as it
is reached (shared values each time), so what follows works on a bounded document. `$ref`s are resolved
with `referencing` against the document itself; a reference to another file or one that names
nothing is an error, and so is a chain of references that loops.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Bounds for a document: GitHub's description (api.github.com.json, 13 MB, ~1.5 M values) fits.
MAX_BYTES = 48 * 1024 * 1024
MAX_VALUES = 6_000_000
MAX_DEPTH = 400
MAX_REF_HOPS = 64
BASE_URI = "urn:authconform:openapi-document"


class DocumentError(Exception):
    """The document cannot be read or resolved: one line, no traceback."""


@dataclass(frozen=True)
class Document:
    """A parsed OpenAPI or Swagger document and its version (`2.0`, `3.0`, `3.1`)."""

    data: dict[str, Any]
    version: str
    path: str
    _resolver: Any

    def resolve(self, node: Any, where: str = "") -> Any:
        """Follow `$ref` (and chains of them) to the object they name; errors name the reference."""
        return self.locate(node, where)[0]

    def locate(self, node: Any, where: str) -> tuple[Any, str]:
        """(the object, its JSON pointer): a `$ref` is followed, and the pointer is where the
        object really stands (what a rule's source quotes), not where it was referred to."""
        seen: list[str] = []
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen or len(seen) >= MAX_REF_HOPS:
                raise DocumentError(f"circular $ref: {' -> '.join([*seen, ref])}" + (f" (at {where})" if where else ""))
            seen.append(ref)
            if not ref.startswith("#"):
                raise DocumentError(f"$ref {ref!r} points outside the document; bundle it into one file first" + (f" (at {where})" if where else ""))
            from referencing.exceptions import Unresolvable

            try:
                node = self._resolver.lookup(ref).contents
            except Unresolvable:
                raise DocumentError(f"$ref {ref!r} names nothing in the document" + (f" (at {where})" if where else "")) from None
        return node, (seen[-1] if seen else where)

    def get(self, node: Any, *keys: Any, where: str = "") -> Any:
        """node[k1][k2]..., each step resolved; None where a step is missing or not a container."""
        node = self.resolve(node, where)
        for key in keys:
            if isinstance(node, dict):
                node = self.resolve(node.get(key), where)
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node = self.resolve(node[key], where)
            else:
                return None
        return node


def _count(data: Any) -> None:
    """Reach every value once per path to it; too many (an alias bomb) or too deep is an error."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise DocumentError(f"more than {MAX_VALUES:,} values (with YAML aliases expanded): too large to import")
        if depth > MAX_DEPTH:
            raise DocumentError(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, dict):
            for k, v in node.items():
                if not isinstance(k, str):
                    raise DocumentError(f"a mapping key is not a string ({type(k).__name__} {k!r:.40}); OpenAPI keys are strings")
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def _version(data: dict[str, Any]) -> str:
    oas, swagger = data.get("openapi"), data.get("swagger")
    if isinstance(oas, str) and oas.startswith(("3.0", "3.1")):
        return oas[:3]
    if swagger in ("2.0", 2.0):
        return "2.0"
    if oas is not None or swagger is not None:
        raise DocumentError(f"unsupported version (openapi: {oas!r}, swagger: {swagger!r}); OpenAPI 3.0, 3.1 and Swagger 2.0 are read")
    raise DocumentError("not an OpenAPI document: no 'openapi' (3.0/3.1) or 'swagger' (2.0) field at the top level")


def read_document(path: str | Path) -> Document:
    """Read, parse and check an OpenAPI 3.0/3.1 or Swagger 2.0 document (JSON or YAML)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise DocumentError(f"{size:,} bytes; documents up to {MAX_BYTES:,} bytes are read")
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    data = _parse(text)
    if not isinstance(data, dict):
        raise DocumentError("not an OpenAPI document: the top level is not a mapping")
    _count(data)
    version = _version(data)
    if not isinstance(data.get("paths"), dict):
        raise DocumentError("the document has no 'paths' mapping")
    from referencing import Registry, Resource, Specification

    # The whole document is one resource; "#/components/..." pointers are looked up in it. OPAQUE:
    # OpenAPI 3.0 and Swagger 2.0 are not JSON Schema, so no `$id` or anchors are interpreted.
    resource = Resource(contents=data, specification=Specification.OPAQUE)
    resolver = Registry().with_resource(BASE_URI, resource).resolver(base_uri=BASE_URI)
    return Document(data, version, str(path), resolver)


def _parse(text: str) -> Any:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except RecursionError:
            raise DocumentError(f"nested more than {MAX_DEPTH} levels deep") from None
        except ValueError as exc:
            raise DocumentError(f"not valid JSON: {exc}") from None
    import yaml

    from . import _yaml

    try:
        # The project's one bounded YAML reader (depth, aliases expanded, cycles), with YAML's own
        # types let through: a document is not a spec, and is counted against its own bound.
        return _yaml.parse(text, json_only=False, max_nodes=MAX_VALUES)[1]
    except _yaml.YamlProblem as exc:
        where = f" at line {exc.line}" if exc.line else ""
        raise DocumentError(f"refused YAML{where}: {exc.what}") from None
    except RecursionError:
        raise DocumentError(f"nested more than {MAX_DEPTH} levels deep") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DocumentError(f"not valid YAML or JSON{where}: {problem}") from None
    except ValueError as exc:  # e.g. a YAML timestamp out of range
        raise DocumentError(f"not valid YAML: {exc}") from None


def pointer(*parts: Any) -> str:
    """A JSON pointer (RFC 6901) into the document: `~` -> `~0`, `/` -> `~1`."""
    return "#" + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
