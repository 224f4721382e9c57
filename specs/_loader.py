"""Load provider specs: bytes -> bounded YAML (specs/_yaml.py) -> JSON Schema -> consistency lint
(specs/_lint.py) -> ProviderSpec (specs/_build.py) -> rule sources (specs/_sources.py).

A bad spec raises SpecError naming the file, the YAML path (with its line) and what is wrong.
A spec that passed is cached by content (specs/_cache.py); yaml and jsonschema are imported only
when a spec has to be checked, so a start whose specs are unchanged loads neither.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _cache, _sources, _yaml
from ._build import build
from ._lint import lint
from ._locate import dotted, located, path_and_line
from ._model import ProviderSpec

if TYPE_CHECKING:
    import jsonschema
    import yaml

PACKAGE_DIR = Path(__file__).resolve().parent
SCHEMA_PATH = PACKAGE_DIR / "provider.schema.json"
# Where the provider specs live: this package's folder, or the folder this variable names (an
# imported draft, a corpus run: one folder per document). Read once at import, so a child process
# (a mock, a pytest run) started with it set sees the same providers as its parent wants.
SPECS_DIR_ENV = "AUTHCONFORM_SPECS_DIR"
SPEC_DIR = Path(os.environ.get(SPECS_DIR_ENV) or PACKAGE_DIR).resolve()

class SpecError(Exception):
    """A spec that cannot be used: names the file, the YAML path and what is wrong."""

    def __init__(self, file: str, problems: list[tuple[str, str]]):
        self.file = file
        self.problems = problems
        lines = [f"{file}: {where}: {what}" if where else f"{file}: {what}" for where, what in problems]
        super().__init__("\n".join(lines))


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    # The schema itself is checked against its meta-schema by tests/test_specs.py, not at every start.
    return jsonschema.validators.validator_for(schema)(schema)


def load_spec(path: str | Path) -> ProviderSpec:
    """Load and check one spec file; raise SpecError on any problem."""
    path = Path(path)
    data = _read(path)
    # A cache entry exists only for these very bytes under this checker, stored after they passed.
    raw = _cache.lookup(path, data)
    if raw is None:
        raw = _checked(path, data)
        _cache.store(path, data, raw)
    return build(raw, path)


def parse_yaml(text: str, json_only: bool = True) -> tuple[yaml.Node | None, Any]:
    """The safe parse every YAML input goes through: (node tree, plain data).

    Bounded in depth and alias expansion, no cycles (specs/_yaml.py); `json_only` also refuses
    what JSON cannot hold (dates, sets, binary, ...). Raises _yaml.YamlProblem or yaml.YAMLError.
    """
    return _yaml.parse(text, json_only=json_only)


def _checked(path: Path, data: bytes) -> dict[str, Any]:
    """Parse and check a spec's bytes: the plain data, or SpecError naming file, YAML path and line."""
    import yaml

    shown = _shown(path)
    nul = data.find(b"\0")
    if nul >= 0:
        raise SpecError(shown, [("", f"a binary file (a NUL byte at offset {nul}), not YAML text")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(shown, [("", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]) from None
    if not text.strip():
        raise SpecError(shown, [("", "the file is empty; a spec is a YAML mapping (id, name, credential, ...)")])
    try:
        node, raw = parse_yaml(text)
    except _yaml.YamlProblem as exc:
        where = f"{dotted(exc.path)} (line {exc.line})" if exc.line else dotted(exc.path)
        raise SpecError(shown, [(where, exc.what)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        what = f"{context}, {problem}" if context and problem != str(exc) else problem
        raise SpecError(shown, [(where, "not valid YAML: " + " ".join(what.split()))]) from None
    if node is None:
        raise SpecError(shown, [("", "the file is empty; a spec is a YAML mapping (id, name, credential, ...)")])
    if not isinstance(raw, dict):
        raise SpecError(shown, [(path_and_line(node, []), "a spec is a YAML mapping (id, name, credential, ...)")])
    errors = sorted(_validator().iter_errors(raw), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        raise SpecError(shown, [(path_and_line(node, list(e.absolute_path)), _message(e)) for e in errors[:20]])
    problems = lint(raw, path)
    if not problems:
        # Rules on the built spec: every rule says where it comes from (specs/_sources.py).
        problems = _sources.lint(build(raw, path))
    if problems:
        raise SpecError(shown, located(node, problems))
    return raw


def check_quotes(spec: ProviderSpec) -> str | None:
    """Run the quote lint on a loaded spec: SpecError (path and line) for a rule its page lacks, else a note or None."""
    problems, note = _sources.quote_problems(spec)
    if problems:
        path = Path(spec.path)
        node, _ = parse_yaml(_read(path).decode("utf-8"))
        raise SpecError(_shown(path), located(node, problems))
    return note


def _read(path: Path) -> bytes:
    """The spec's bytes, at most _yaml.MAX_BYTES of them: a bigger file is refused unread."""
    try:
        with open(path, "rb") as f:
            data = f.read(_yaml.MAX_BYTES + 1)
    except OSError as exc:
        raise SpecError(_shown(path), [("", f"cannot read: {exc.strerror or exc}")]) from None
    if len(data) > _yaml.MAX_BYTES:
        raise SpecError(_shown(path), [("", f"larger than {_yaml.MAX_BYTES // (1024 * 1024)} MiB; a spec is a few KiB of YAML")])
    return data


def _message(err: jsonschema.ValidationError) -> str:
    """A schema error said for a spec author, not a schema author."""
    if err.validator == "additionalProperties":
        allowed = sorted((err.schema.get("properties") or {}).keys())
        return f"{err.message}; allowed here: {', '.join(allowed)}"
    if err.validator == "enum":
        return f"{err.instance!r} is not one of {list(err.validator_value)}"
    return err.message


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def spec_paths(directory: str | Path | None = None) -> list[Path]:
    """Every provider spec file in a folder (default: SPEC_DIR), sorted."""
    directory = Path(directory) if directory else SPEC_DIR
    return sorted(p for p in directory.glob("*.yaml") if not p.name.startswith("_"))


@lru_cache(maxsize=None)
def _load_all_cached(directory: str) -> tuple[ProviderSpec, ...]:
    return tuple(load_spec(p) for p in spec_paths(directory))


def load_all(directory: str | Path | None = None) -> tuple[ProviderSpec, ...]:
    """Every provider spec, loaded and checked; raise SpecError on the first bad one."""
    specs = _load_all_cached(str(Path(directory).resolve() if directory else SPEC_DIR))
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.id in seen:
            raise SpecError(spec.path, [(dotted(["id"]), f"id {spec.id!r} already used by {seen[spec.id]}")])
        seen[spec.id] = spec.path
    return specs


def get_spec(provider_id: str, directory: str | Path | None = None) -> ProviderSpec:
    """One provider's spec by id; a KeyError names the known ids."""
    for spec in load_all(directory):
        if spec.id == provider_id:
            return spec
    known = ", ".join(s.id for s in load_all(directory))
    raise KeyError(f"unknown provider {provider_id!r}; known: {known}")
