"""Provider specs: the YAML files in this folder, their JSON Schema, and the one loader; the
report files both sides write (one writer per format) and their JSON Schema."""
# The names mocks/, suites/, fixtures/, bench/ and the tests use (tests/test_layout.py keeps other
# packages to them); the model's other types are reached through ProviderSpec.
from ._contract import ADMIN_HEADER, ADMIN_PREFIX, CREDENTIAL_ENV, EXCHANGE_LOGIN, KEY_LIST_IDENTIFIERS, KEY_LIST_RESOURCES
from ._fill import fill
from ._schema import schema_validator
from ._grammar import TCHARS, TOKEN68_CHARS
from ._headers import header_example
from ._regex import spec_regex, spec_search
from ._build import RFC_DUPLICATE, RFC_ONE_METHOD, RFC_SEPARATOR
from ._loader import SPEC_DIR, SPECS_DIR_ENV, SpecError, check_quotes, get_spec, load_all, load_spec, spec_paths
from ._redaction import MIN_RUN, Entry, Redaction, Run
from ._model import (
    FAILURE_CLASSES,
    JWT_CHARS,
    KEY_STATES,
    TOKEN68,
    VARIANTS,
    Deviation,
    ProviderSpec,
    Response,
    Route,
    Rule,
    TokenShape,
    broken_verdict,
    encode_body,
    thaw,
    weaker,
)
from ._openapi_export import openapi as openapi_document
from ._report_format import JUnitCase, JUnitSuite, atomic_file, report_validator, write_json, write_junit, write_text

__all__ = [
    "ADMIN_HEADER", "ADMIN_PREFIX", "atomic_file", "write_text", "CREDENTIAL_ENV", "EXCHANGE_LOGIN", "FAILURE_CLASSES", "JWT_CHARS",
    "KEY_LIST_IDENTIFIERS", "KEY_LIST_RESOURCES", "KEY_STATES", "MIN_RUN", "RFC_DUPLICATE",
    "RFC_ONE_METHOD", "RFC_SEPARATOR", "SPEC_DIR", "SPECS_DIR_ENV", "TCHARS", "TOKEN68",
    "TOKEN68_CHARS", "VARIANTS", "Deviation", "Entry", "JUnitCase", "JUnitSuite", "ProviderSpec",
    "Redaction", "Response", "Route", "Rule", "Run", "SpecError", "TokenShape", "broken_verdict",
    "check_quotes", "encode_body", "fill", "get_spec", "header_example", "load_all", "load_spec",
    "openapi_document", "report_validator", "schema_validator", "spec_paths", "spec_regex",
    "spec_search", "thaw", "weaker", "write_json", "write_junit",
]
