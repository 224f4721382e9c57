"""Build the immutable ProviderSpec from a spec's plain data once it has passed the JSON Schema and
the lint (specs/_loader.py runs them first): defaults filled in, rules the spec leaves out taken
from the RFCs."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ._fill import fill
from ._model import (
    NO_TRIGGER,
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
    freeze,
)

RFC_SCHEME_CASE = Rule(
    "rfc",
    'RFC 9110 §11.1: "It uses a case-insensitive token to identify the authentication scheme"',
)
# The RFC's separator rule, for a spec that states none; the engine judges lenient splitting by it too.
RFC_SEPARATOR = Rule("rfc", "RFC 9110 §11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]")
# The duplicate-line rule, for a spec that states none; the engine and the OpenAPI importer cite it too.
RFC_DUPLICATE = Rule("rfc", "RFC 9110 §5.3: a sender MUST NOT generate multiple field lines with the same name unless the field is a list")
# One credential, one method: the client's duty (the gate judges it) and the server's cue to refuse
# two (the engine sends a key in the header and the query at once); each adds its own context.
RFC_ONE_METHOD = Rule("rfc", 'RFC 6750 §2: "Clients MUST NOT use more than one method to transmit the token in each request"')
RFC_NOT_FOUND = Rule("rfc", 'RFC 9110 §15.5.5: "the origin server did not find a current representation for the target resource"')
# What an authenticated request for a path no route serves gets unless the spec says (spec `not_found`).
DEFAULT_NOT_FOUND: dict[str, Any] = {"status": 404, "body": {"error": "Not Found"}}


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


def build(raw: dict[str, Any], path: Path) -> ProviderSpec:
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
