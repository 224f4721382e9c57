"""JSON Schema validators for the schemas a spec carries (bodies, route requests), with the spec's
regexes on RE2: jsonschema evaluates `pattern` and `patternProperties` with Python's backtracking
`re`, so a hostile spec's `(a+)+$` would spin on a crafted body. The one place the mock, the suite
and the loader get such a validator."""
from __future__ import annotations

from typing import Any, Iterator

from ._regex import SpecRegexError, spec_regex


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema import ValidationError

    if validator.is_type(instance, "string") and spec_regex(pattern).search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        rx = spec_regex(pattern)
        for key, value in instance.items():
            if rx.search(key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def schema_validator(schema: Any) -> Any:
    """A jsonschema validator for `schema` (its own draft) whose regexes run on RE2."""
    import jsonschema

    base = jsonschema.validators.validator_for(schema)
    cls = jsonschema.validators.extend(base, {"pattern": _pattern, "patternProperties": _pattern_properties})
    return cls(schema)


def schema_regex_problems(schema: Any, where: list[Any], depth: int = 0) -> list[tuple[list[Any], str]]:
    """(yaml path, problem) for every `pattern` / `patternProperties` key RE2 refuses, anywhere in a schema."""
    out: list[tuple[list[Any], str]] = []
    if depth > 64:
        return out
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                out += _compiles(value, where + [key])
            elif key == "patternProperties" and isinstance(value, dict):
                for pattern, sub in value.items():
                    out += _compiles(pattern, where + [key, pattern])
                    out += schema_regex_problems(sub, where + [key, pattern], depth + 1)
            else:
                out += schema_regex_problems(value, where + [key], depth + 1)
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            out += schema_regex_problems(value, where + [i], depth + 1)
    return out


def _compiles(pattern: str, where: list[Any]) -> list[tuple[list[Any], str]]:
    try:
        spec_regex(pattern)
    except SpecRegexError as exc:
        return [(where, str(exc))]
    return []
