"""Load provider specs: YAML -> JSON Schema check -> consistency lint -> ProviderSpec.

A bad spec raises SpecError naming the file, the YAML path (with its line) and what is wrong.
A spec that passed is cached by content (specs/_cache.py); yaml and jsonschema are imported only
when a spec has to be checked, so a start whose specs are unchanged loads neither.
"""
from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from . import _cache, _sources, _wire, _yaml
from ._model import (
    NO_TRIGGER,
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
    ROUTE_METHODS,
    TEMPLATE_VARIABLE,
    RateLimit,
    Response,
    Route,
    RouteRequest,
    Rule,
    Scopes,
    TokenShape,
    freeze,
)
from ._fill import FillError, fill
from ._schema import schema_regex_problems, schema_validator

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

RFC_SCHEME_CASE = Rule(
    "rfc",
    'RFC 9110 §11.1: "It uses a case-insensitive token to identify the authentication scheme"',
)
# The RFC's separator rule, for a spec that states none; the engine judges lenient splitting by it too.
RFC_SEPARATOR = Rule("rfc", "RFC 9110 §11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]")
RFC_DUPLICATE = Rule("rfc", "RFC 9110 §5.3: a sender MUST NOT generate multiple field lines with the same name unless the field is a list")
RFC_NOT_FOUND = Rule("rfc", 'RFC 9110 §15.5.5: "the origin server did not find a current representation for the target resource"')
# What an authenticated request for a path no route serves gets unless the spec says (spec `not_found`).
DEFAULT_NOT_FOUND: dict[str, Any] = {"status": 404, "body": {"error": "Not Found"}}


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


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_$<>@/+*-][A-Za-z0-9_$<>@/+*-]*")


def _dotted(path: Iterable[Any]) -> str:
    """`failures.missing.headers.Retry-After`, `notes[0]`; a key that is not plain as `["a\\r\\nb"]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "(top level)"


def _line_of(node: yaml.Node | None, path: Iterable[Any]) -> int | None:
    """The 1-based line of the YAML node at path, or of its nearest ancestor."""
    import yaml

    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def _where(node: yaml.Node | None, path: list[Any]) -> str:
    line = _line_of(node, path)
    return f"{_dotted(path)} (line {line})" if line else _dotted(path)


def _rule(d: Any) -> Rule:
    return Rule(d["strength"], d["source"], d.get("reason"))


def _response(d: Any, base: Response | None = None, klass: str | None = None) -> dict[str, Any]:
    """Fields of a Response, a variant's fields falling back to its class's."""
    rule = _rule(d["rule"]) if "rule" in d else base.rule  # type: ignore[union-attr]
    # `bodies: [...]`: several accepted bodies; the first is the one sent, any one passes a check.
    if "bodies" in d:
        bodies = tuple(d["bodies"])
    elif "body" in d:
        bodies = ()
    else:
        bodies = base.bodies if base is not None else ()
    body = bodies[0] if bodies else (d["body"] if "body" in d else (base.body if base is not None else None))
    if "schema" in d:
        schema = d["schema"]
    elif bodies and ("bodies" in d or base is None):
        schema = {"anyOf": [{"const": b} for b in bodies]}
    elif "body" in d or base is None:
        schema = {"const": body}
    else:
        schema = base.schema
    # A class's body is judged by its own rule unless it names a body_rule; a variant keeps its class's.
    if "body_rule" in d:
        body_rule = _rule(d["body_rule"])
    else:
        body_rule = rule if base is None else base.body_rule
    return dict(
        status=d.get("status", base.status if base else None),
        body=freeze(body),
        schema=freeze(schema),
        rule=rule,
        body_rule=body_rule,
        headers=freeze(d.get("headers", dict(base.headers) if base else {})),
        message=d.get("message", base.message if base else None),
        message_rule=_rule(d["message_rule"]) if "message_rule" in d else (base.message_rule if base else None),
        bodies=freeze(list(bodies)),
        trigger=_rule(d["trigger"]) if "trigger" in d else (base.trigger if base else None),
    )


def _failure(klass: str, d: Any) -> Failure:
    # A class without a quoted trigger has an inferred one; a variant falls back to its class's.
    fields = {**_response(d), "trigger": _rule(d["trigger"]) if "trigger" in d else NO_TRIGGER}
    own = Response(**fields)
    variants = {name: Response(**_response(v, own)) for name, v in (d.get("variants") or {}).items()}
    return Failure(**fields, klass=klass, variants=freeze(variants))


def _build(raw: dict[str, Any], path: Path) -> ProviderSpec:
    cred = raw["credential"]
    tok = cred["token"]
    scase = cred.get("scheme_case", {"insensitive": True})
    sep = cred.get("separator", {"accepts": "sp"})
    probe = raw["probe"]
    succ = probe["success"]
    success = Response(**_response({**succ, "schema": succ.get("schema", {"const": succ["body"]})}))
    scopes = raw.get("scopes")
    exch = raw.get("exchange")
    bind = raw.get("binding")
    rate = raw.get("rate_limit")
    dup = cred.get("duplicates", {"policy": "reject"})
    return ProviderSpec(
        id=raw["id"],
        name=raw["name"],
        docs=raw["docs"],
        seed=raw.get("seed"),
        notes=tuple(raw.get("notes", ())),
        live_url=raw["targets"]["live"],
        sandbox_url=raw["targets"].get("sandbox"),
        credential=Credential(
            header=cred["header"],
            scheme=cred["scheme"],
            rule=_rule(cred["rule"]),
            token=TokenShape(
                format=tok["format"],
                rule=_rule(tok["rule"]),
                alphabet=tok.get("alphabet"),
                length=tok.get("length"),
                prefix=tok.get("prefix", ""),
                enforce_shape=tok.get("enforce_shape", False),
                example=tok.get("example"),
            ),
            scheme_insensitive=scase["insensitive"],
            scheme_rule=_rule(scase["rule"]) if "rule" in scase else RFC_SCHEME_CASE,
            separator=sep["accepts"],
            separator_rule=_rule(sep["rule"]) if "rule" in sep else RFC_SEPARATOR,
            challenge=Challenge(cred["challenge"]["value"], _rule(cred["challenge"]["rule"])) if "challenge" in cred else None,
            query_names=tuple(cred.get("query_names", ())),
            duplicates=dup["policy"],
            duplicates_rule=_rule(dup["rule"]) if "rule" in dup else RFC_DUPLICATE,
            strip_unicode_whitespace=sep.get("strip_unicode_whitespace", False),
        ),
        probe=Probe(
            method=probe["method"],
            path=probe["path"],
            content_type=probe.get("content_type"),
            body=freeze(probe.get("body")),
            bad_body=freeze(probe.get("bad_body")),
            scope=probe.get("scope"),
            rule=_rule(probe["rule"]),
            success=success,
        ),
        keys=Keys(
            states=tuple(raw["keys"]["states"]),
            rule=_rule(raw["keys"]["rule"]),
            shown_once=raw["keys"].get("shown_once", False),
            per_account=raw["keys"].get("per_account"),
        ),
        scopes=Scopes(
            names=tuple(scopes["names"]),
            implies=freeze({k: tuple(v) for k, v in scopes.get("implies", {}).items()}),
            limited=tuple(scopes["limited"]),
            rule=_rule(scopes["rule"]),
        )
        if scopes
        else None,
        exchange=Exchange(
            method=exch["method"],
            path=exch["path"],
            content_type=exch["content_type"],
            username_field=exch["username_field"],
            password_field=exch["password_field"],
            token_field=exch["token_field"],
            rule=_rule(exch["rule"]),
            failure=Response(**_response(exch["failure"])),
        )
        if exch
        else None,
        binding=Binding(bind["field"], tuple(bind["kinds"]), tuple(bind["accepted"]), _rule(bind["rule"])) if bind else None,
        rate_limit=RateLimit(rate["requests"], rate["window_seconds"], _rule(rate["rule"])) if rate else None,
        failures=freeze({k: _failure(k, v) for k, v in raw["failures"].items()}),
        deviations=tuple(Deviation(d["case"], d["check"], d["reason"], d["link"], d.get("class")) for d in raw.get("deviations", ())),
        path=str(path),
        routes=tuple(_route(r) for r in raw.get("routes", ())),
        not_found=_not_found(raw.get("not_found", DEFAULT_NOT_FOUND)),
    )


def route_id(d: Any) -> str:
    """A route's id: its own, or `METHOD path` (what case ids and messages name it by)."""
    return d.get("id") or f"{d['method']} {d['path']}"


def route_body(success: Any) -> Any:
    """A route's success body: the example, else one filled from its schema, else None (no body)."""
    if "body" in success:
        return success["body"]
    if "schema" in success:
        return fill(success["schema"])
    return None


def _route(d: Any) -> Route:
    succ = d["success"]
    body = route_body(succ)
    source = _rule(d["source"]) if "source" in d else None
    rule = source or Rule("inferred", f"{d['method']} {d['path']}", "the spec lists the operation without a source")
    success = Response(
        status=succ["status"],
        body=freeze(body),
        schema=freeze(succ.get("schema", {"const": body})),
        rule=rule,
        body_rule=rule,
    )
    req = d.get("request")
    return Route(
        method=d["method"],
        path=d["path"],
        auth=d.get("auth", True),
        scope=d.get("scope"),
        success=success,
        request=RouteRequest(req.get("content_type", "application/json"), freeze(req["schema"])) if req else None,
        source=source,
        id=route_id(d),
        content_type=succ.get("content_type"),
    )


def _not_found(d: Any) -> Response:
    rule = _rule(d["rule"]) if "rule" in d else RFC_NOT_FOUND
    body = d.get("body", DEFAULT_NOT_FOUND["body"])
    return Response(status=d["status"], body=freeze(body), schema=freeze({"const": body}), rule=rule, body_rule=rule,
                    headers=freeze(d.get("headers", {})))


def _lint(raw: dict[str, Any], path: Path) -> list[tuple[list[Any], str]]:
    """Consistency rules the JSON Schema cannot say. Returns (yaml path, problem) pairs."""
    import jsonschema

    problems: list[tuple[list[Any], str]] = []
    failures = raw["failures"]
    states = raw["keys"]["states"]
    if raw["id"] != path.stem:
        problems.append((["id"], f"{raw['id']!r} must equal the file name {path.stem!r}"))

    def needs(klass: str, present: bool, why: str) -> None:
        if (klass in failures) != present:
            verb = "is missing" if present else "has nothing that can cause it"
            problems.append(([ "failures", klass] if klass in failures else ["failures"], f"failure class {klass!r} {verb}: {why}"))

    needs("expired", "expired" in states, "keys.states lists 'expired'" if "expired" in states else "keys.states lacks 'expired'")
    needs("revoked", "revoked" in states, "keys.states lists 'revoked'" if "revoked" in states else "keys.states lacks 'revoked'")
    needs("insufficient_scope", "scopes" in raw, "the spec has scopes" if "scopes" in raw else "the spec has no scopes")
    needs("rate_limited", "rate_limit" in raw, "the spec has rate_limit" if "rate_limit" in raw else "the spec has no rate_limit")
    checked = any("request" in r for r in raw.get("routes") or ())
    if "bad_request" in failures and raw["probe"].get("bad_body") is None and not checked:
        problems.append((["probe"], "failure class 'bad_request' needs probe.bad_body, a body the provider refuses (or a route with a request check)"))
    if ("limited" in states) != ("scopes" in raw):
        problems.append((["keys", "states"], "a 'limited' key state goes with a scopes section, and the reverse"))

    scopes = raw.get("scopes")
    if scopes:
        names = set(scopes["names"])
        for i, s in enumerate(scopes["limited"]):
            if s not in names:
                problems.append((["scopes", "limited", i], f"unknown scope {s!r}; known: {sorted(names)}"))
        for k, vs in scopes.get("implies", {}).items():
            for s in [k, *vs]:
                if s not in names:
                    problems.append((["scopes", "implies", k], f"unknown scope {s!r}; known: {sorted(names)}"))
        need = raw["probe"].get("scope")
        if need is None:
            problems.append((["probe"], "probe.scope is required when the spec has scopes"))
        elif need not in names:
            problems.append((["probe", "scope"], f"unknown scope {need!r}; known: {sorted(names)}"))
        else:
            held = set(scopes["limited"])
            for s in list(held):
                held.update(scopes.get("implies", {}).get(s, ()))
            if need in held:
                problems.append((["scopes", "limited"], f"the limited key must lack the probe's scope {need!r}"))

    bind = raw.get("binding")
    if bind:
        body = raw["probe"].get("body")
        if not isinstance(body, dict) or bind["field"] not in body:
            problems.append((["binding", "field"], f"{bind['field']!r} must be a field of probe.body"))
        for i, k in enumerate(bind["accepted"]):
            if k not in bind["kinds"]:
                problems.append((["binding", "accepted", i], f"{k!r} is not one of binding.kinds {bind['kinds']}"))

    cred = raw["credential"]
    scheme = cred["scheme"]
    challenge = cred.get("challenge")
    if challenge and scheme is not None and challenge["value"].split(" ")[0].lower() != scheme.lower():
        problems.append((["credential", "challenge", "value"], f"a challenge must name the scheme {scheme!r}"))
    # A bare key (scheme: null) has no keyword to get wrong or leave out.
    why = "credential.scheme names a keyword" if scheme is not None else "credential.scheme is null (a bare key)"
    needs("wrong_scheme", scheme is not None, why)
    needs("no_scheme", scheme is not None, why)
    policy = (cred.get("duplicates") or {}).get("policy", "reject")
    needs("duplicate_header", policy == "reject", f"credential.duplicates.policy is {policy!r}")
    for klass, d in failures.items():
        if ("body" in d) == ("bodies" in d):
            problems.append((["failures", klass], "a failure gives its body (body: ...) or several accepted ones (bodies: [...]), exactly one"))
        for vname, v in (d.get("variants") or {}).items():
            if "body" in v and "bodies" in v:
                problems.append((["failures", klass, "variants", vname], "give body or bodies, not both"))

    # Every example body must satisfy its own schema.
    def check_response(where: list[Any], d: dict[str, Any], base_schema: Any = None) -> None:
        given = [(["body"], d["body"])] if "body" in d else [(["bodies", i], b) for i, b in enumerate(d.get("bodies") or ())]
        if "schema" in d:
            schema = d["schema"]
        elif "bodies" in d:
            schema = {"anyOf": [{"const": b} for _, b in given]}
        else:
            schema = {"const": d["body"]} if "body" in d else base_schema
        regex_problems = schema_regex_problems(d["schema"], where + ["schema"]) if "schema" in d else []
        problems.extend(regex_problems)
        if schema is not None and not regex_problems:
            validator = schema_validator(schema)
            for at, body in given:
                errs = list(validator.iter_errors(body))
                if errs:
                    problems.append((where + at, f"the example body does not match its schema: {errs[0].message}"))
        if "message_rule" in d:
            message = d.get("message")
            if not message:
                problems.append((where + ["message_rule"], "a message_rule needs the message it judges (message: ...)"))
            else:
                for at, body in given:
                    if message not in json.dumps(body, ensure_ascii=False):
                        problems.append((where + ["message"], f"the message {message!r} does not appear in the example body {_dotted(at)}"))
        return schema

    def check_trigger(where: list[Any], d: dict[str, Any], situation: str) -> None:
        # A documented trigger must name the situation, not only the answer (TRIGGER_WORDS).
        trig = d.get("trigger")
        if not trig or trig["strength"] != "documented":
            return
        words = TRIGGER_WORDS.get(situation, ())
        if words and not any(w in trig["source"].lower() for w in words):
            problems.append((where + ["trigger", "source"], (
                f"a documented trigger must quote the sentence naming which requests get this answer "
                f"(one of: {', '.join(repr(w) for w in words)}); quote it, or make it inferred with a reason")))

    for klass, d in failures.items():
        own = check_response(["failures", klass], d)
        check_trigger(["failures", klass], d, klass)
        for vname, v in (d.get("variants") or {}).items():
            check_response(["failures", klass, "variants", vname], v, own)
            check_trigger(["failures", klass, "variants", vname], v, vname)
    check_response(["probe", "success"], raw["probe"]["success"])
    if raw.get("exchange"):
        check_response(["exchange", "failure"], raw["exchange"]["failure"])
    problems += _lint_routes(raw)
    # Every string that reaches the wire, a regex engine or a file name fits its grammar.
    problems += _wire.lint(raw)
    return problems




def _lint_routes(raw: dict[str, Any]) -> list[tuple[list[Any], str]]:
    """Routes: valid templates, known scopes, schemas that are schemas, no method+path twice."""
    import jsonschema

    problems: list[tuple[list[Any], str]] = []
    scope_names = set((raw.get("scopes") or {}).get("names", ()))
    seen: dict[tuple[str, str], int] = {}
    for i, d in enumerate(raw.get("routes") or ()):
        at: list[Any] = ["routes", i]
        path = d["path"]
        # Variables are `{name}`; once they are taken out, no brace may remain (`{}`, `{a`, `{{a}}`).
        leftover = TEMPLATE_VARIABLE.sub("", path)
        if "{" in leftover or "}" in leftover:
            problems.append((at + ["path"], f"{path!r} is not a path template: a variable is {{name}} (letters, digits, _ . -, not starting with a digit)"))
        names = TEMPLATE_VARIABLE.findall(path)
        if "}{" in path:
            # `{a}{b}`: no text says where one ends (OpenAPI leaves it undefined); such groups
            # would also make the mock's matching backtrack on a long segment.
            problems.append((at + ["path"], f"{path!r} puts two variables side by side; separate them with literal text"))
        if len(set(names)) != len(names):
            problems.append((at + ["path"], f"{path!r} names a variable twice"))
        if d["method"] not in ROUTE_METHODS:  # the schema's enum says so too; kept for a clear message
            problems.append((at + ["method"], f"{d['method']!r} is not one of {list(ROUTE_METHODS)}"))
        shape = (d["method"], TEMPLATE_VARIABLE.sub("{}", path))
        if shape in seen:
            problems.append((at, f"{d['method']} {path} is already routes[{seen[shape]}] (same method and path template)"))
        else:
            seen[shape] = i
        scope = d.get("scope")
        if scope is not None:
            if not scope_names:
                problems.append((at + ["scope"], f"scope {scope!r} needs a scopes section naming it"))
            elif scope not in scope_names:
                problems.append((at + ["scope"], f"unknown scope {scope!r}; known: {sorted(scope_names)}"))
            if d.get("auth", True) is False:
                problems.append((at + ["scope"], "a public route (auth: false) cannot require a scope"))
        for part in ("success", "request"):
            schema = (d.get(part) or {}).get("schema")
            if schema is None:
                continue
            try:
                jsonschema.validators.validator_for(schema).check_schema(schema)
            except jsonschema.SchemaError as exc:
                problems.append((at + [part, "schema"], f"not a JSON Schema: {exc.message}"))
                continue
            # The mock checks request bodies with it and the suite judges answers with it: RE2 only.
            regex_problems = schema_regex_problems(schema, at + [part, "schema"])
            if regex_problems:
                problems += regex_problems
                continue
            if part == "success":
                try:
                    body = route_body(d["success"])
                except FillError as exc:
                    problems.append((at + ["success", "schema"], f"cannot fill a body from this schema ({exc}); give success.body"))
                    continue
                errs = list(schema_validator(schema).iter_errors(body))
                if errs:
                    what = "the example body" if "body" in d["success"] else "the body filled from the schema"
                    problems.append((at + ["success", "body"], f"{what} does not match the schema: {errs[0].message}; give success.body"))
    return problems


def load_spec(path: str | Path) -> ProviderSpec:
    """Load and check one spec file; raise SpecError on any problem."""
    path = Path(path)
    data = _read(path)
    # A cache entry exists only for these very bytes under this checker, stored after they passed.
    raw = _cache.lookup(path, data)
    if raw is None:
        raw = _checked(path, data)
        _cache.store(path, data, raw)
    return _build(raw, path)


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
        where = f"{_dotted(exc.path)} (line {exc.line})" if exc.line else _dotted(exc.path)
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
        raise SpecError(shown, [(_where(node, []), "a spec is a YAML mapping (id, name, credential, ...)")])
    errors = sorted(_validator().iter_errors(raw), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        raise SpecError(shown, [(_where(node, list(e.absolute_path)), _message(e)) for e in errors[:20]])
    problems = _lint(raw, path)
    if not problems:
        # Rules on the built spec: every rule says where it comes from (specs/_sources.py).
        problems = _sources.lint(_build(raw, path))
    if problems:
        raise SpecError(shown, _located(node, problems))
    return raw


def _located(node: yaml.Node | None, problems: list[tuple[list[Any], str]]) -> list[tuple[str, str]]:
    """(path with line, problem) pairs; a node shared through an alias (`empty: *unauthorized`) said once."""
    said: dict[tuple[int | None, str], tuple[str, str]] = {}
    for p, what in problems:
        said.setdefault((_line_of(node, p), what), (_where(node, p), what))
    return list(said.values())


def check_quotes(spec: ProviderSpec) -> str | None:
    """Run the quote lint on a loaded spec: SpecError (path and line) for a rule its page lacks, else a note or None."""
    problems, note = _sources.quote_problems(spec)
    if problems:
        path = Path(spec.path)
        node, _ = parse_yaml(_read(path).decode("utf-8"))
        raise SpecError(_shown(path), _located(node, problems))
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
            raise SpecError(spec.path, [(_dotted(["id"]), f"id {spec.id!r} already used by {seen[spec.id]}")])
        seen[spec.id] = spec.path
    return specs


def get_spec(provider_id: str, directory: str | Path | None = None) -> ProviderSpec:
    """One provider's spec by id; a KeyError names the known ids."""
    for spec in load_all(directory):
        if spec.id == provider_id:
            return spec
    known = ", ".join(s.id for s in load_all(directory))
    raise KeyError(f"unknown provider {provider_id!r}; known: {known}")
