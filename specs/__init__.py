"""Provider specs: the YAML files in this folder, their JSON Schema, and the one loader."""
from ._fill import FillError, fill
from ._schema import schema_validator
from ._grammar import alphabet_chars
from ._headers import header_example
from ._regex import SpecRegexError, spec_regex, spec_search
from ._loader import PACKAGE_DIR, SCHEMA_PATH, SPEC_DIR, SPECS_DIR_ENV, SpecError, check_quotes, get_spec, load_all, load_spec, spec_paths
from ._redaction import MIN_RUN, Redaction, fold
from ._sources import quote_problems, rules
from ._model import (
    COMMON_QUERY_NAMES,
    DUPLICATE_POLICIES,
    FAILURE_CLASSES,
    KEY_STATES,
    NO_TRIGGER,
    STRENGTHS,
    TOKEN68,
    TRIGGER_WORDS,
    Binding,
    Challenge,
    Credential,
    Deviation,
    Exchange,
    Failure,
    Keys,
    Probe,
    ProviderSpec,
    RateLimit,
    Response,
    Route,
    RouteRequest,
    Rule,
    Scopes,
    TokenShape,
    encode_body,
    freeze,
    thaw,
    weaker,
)
from ._openapi_export import openapi as openapi_document

__all__ = [
    "COMMON_QUERY_NAMES", "DUPLICATE_POLICIES", "FAILURE_CLASSES", "KEY_STATES", "NO_TRIGGER", "SCHEMA_PATH", "SPEC_DIR",
    "SPECS_DIR_ENV", "STRENGTHS", "TOKEN68", "TRIGGER_WORDS", "Binding", "Challenge", "Credential", "Deviation", "Exchange",
    "Failure", "FillError", "Keys", "Probe", "ProviderSpec", "RateLimit", "Response", "Route", "RouteRequest", "Rule", "Scopes",
    "SpecError", "TokenShape", "encode_body", "fill", "freeze", "schema_validator", "get_spec", "load_all", "load_spec", "openapi_document",
    "spec_paths", "thaw", "weaker",
    "alphabet_chars", "header_example", "SpecRegexError", "spec_regex", "spec_search",
    "MIN_RUN", "Redaction", "fold",
    "check_quotes", "PACKAGE_DIR", "quote_problems", "rules",
]
