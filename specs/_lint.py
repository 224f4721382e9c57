"""The consistency lint: what a spec's JSON Schema cannot say (a message that is not in its body, a
documented trigger that names no situation, route templates, examples that break their schemas),
then the wire checks of specs/_wire.py. Each problem is (YAML path, what is wrong); the loader
adds the line."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import _wire
from ._build import route_body
from ._fill import FillError
from ._locate import dotted
from ._model import ROUTE_METHODS, TEMPLATE_VARIABLE, TRIGGER_WORDS
from ._schema import schema_regex_problems, schema_validator


def lint(raw: dict[str, Any], path: Path) -> list[tuple[list[Any], str]]:
    """Consistency rules the JSON Schema cannot say. Returns (yaml path, problem) pairs."""
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
                        problems.append((where + ["message"], f"the message {message!r} does not appear in the example body {dotted(at)}"))
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
