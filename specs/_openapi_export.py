"""An OpenAPI 3.1 document equivalent to a provider spec: for peers that mock from OpenAPI (Prism),
for API tooling, and to check an import (`import-openapi` then `export-openapi` keeps the auth).

`python -m specs export-openapi ID [-o FILE]` writes it (default: stdout). The credential
becomes a security scheme (`Bearer` -> http bearer; any other keyword -> apiKey in the header),
the probe and the exchange become operations, and every status of the failure catalogue becomes a
response with the catalogue's body as its example.
"""
from __future__ import annotations

import json
import re
import sys
from typing import Any

from ._loader import SpecError, get_spec
from ._model import FAILURE_CLASSES, ProviderSpec, Response, thaw

SCHEME_NAME = "providerAuth"


def security_scheme(spec: ProviderSpec) -> dict[str, Any]:
    """RFC 6750 bearer as OpenAPI's http bearer; other keywords (Token) as an apiKey header."""
    cred = spec.credential
    if cred.scheme is None:  # a bare key in its header: OpenAPI's apiKey exactly
        return {"type": "apiKey", "in": "header", "name": cred.header}
    if cred.scheme.lower() == "bearer":
        scheme: dict[str, Any] = {"type": "http", "scheme": "bearer"}
        if cred.token.format == "jwt":
            scheme["bearerFormat"] = "JWT"
        return scheme
    return {"type": "apiKey", "in": "header", "name": cred.header,
            "description": f"`{cred.header}: {cred.scheme} <key>`"}


def _media(content_type: str | None) -> str:
    return (content_type or "application/json").split(";")[0].strip().lower()


def _response(spec: ProviderSpec, resp: Response, description: str) -> dict[str, Any]:
    body = thaw(resp.body)
    media = "application/json" if not isinstance(body, str) else "text/plain"
    content: dict[str, Any] = {"example": body}
    if resp.schema:
        content["schema"] = thaw(resp.schema)
    out: dict[str, Any] = {"description": description, "content": {media: content}}
    headers: dict[str, Any] = {}
    challenge = spec.credential.challenge
    if resp.status == 401 and challenge is not None:
        headers["WWW-Authenticate"] = {"schema": {"type": "string"}, "example": challenge.value}
    for name in resp.headers:
        headers.setdefault(name, {"schema": {"type": "string", "pattern": resp.headers[name]}})
    if headers:
        out["headers"] = headers
    return out


def _request_body(content_type: str | None, body: Any) -> dict[str, Any]:
    media = _media(content_type)
    example = thaw(body)
    schema: dict[str, Any] = {"type": "object"}
    if media == "application/x-www-form-urlencoded" and isinstance(example, dict):
        schema["properties"] = {k: {"type": "string"} for k in example}
    return {"required": True, "content": {media: {"schema": schema, "example": example}}}


def operations(spec: ProviderSpec) -> dict[str, Any]:
    """The paths object: the probe (secured), the spec's routes and, where the spec has one, the
    exchange (open)."""
    probe = spec.probe
    responses: dict[str, Any] = {str(probe.success.status): _response(spec, probe.success, "the probe's success")}
    # One example per status: the first failure class (in FAILURE_CLASSES order) that answers with it.
    for klass in FAILURE_CLASSES:
        failure = spec.failures.get(klass)
        if failure is not None and str(failure.status) not in responses:
            responses[str(failure.status)] = _response(spec, failure, f"{klass} (and any class with this status)")
    # OpenAPI 3.1 lets any scheme's requirement list the roles (here: the scope) it needs.
    op: dict[str, Any] = {"operationId": "probe", "security": [{SCHEME_NAME: [probe.scope] if probe.scope else []}], "responses": responses}
    # The probe's body goes in even on GET (Crux documents a GET with a JSON body): OpenAPI 3.1
    # allows it, and without it Prism answers the documented request 415.
    if probe.body is not None:
        op["requestBody"] = _request_body(probe.content_type, probe.body)
    paths: dict[str, Any] = {probe.path: {probe.method.lower(): op}}
    # Spec routes: each an operation with its auth (public, or the scheme with its scope) and success.
    failures = {str(s): r for s, r in responses.items() if s != str(probe.success.status)}
    for route in spec.routes:
        item = paths.setdefault(route.path, {})
        if route.method.lower() in item:
            continue
        params = [{"name": v, "in": "path", "required": True, "schema": {"type": "string"}} for v in route.variables]
        success = route.success
        answer: dict[str, Any] = {"description": route.id}
        if success.body is not None and route.method != "HEAD":
            media = route.content_type or ("text/plain" if isinstance(success.body, str) else "application/json")
            answer["content"] = {media.split(";")[0].strip(): {"example": thaw(success.body)}}
        item[route.method.lower()] = {
            "operationId": re.sub(r"[^A-Za-z0-9_.-]", "_", route.id),
            **({"parameters": params} if params else {}),
            "security": [{SCHEME_NAME: [route.scope] if route.scope else []}] if route.auth else [],
            "responses": {str(success.status): answer, **(failures if route.auth else {})},
        }
    ex = spec.exchange
    if ex is not None:
        paths.setdefault(ex.path, {})[ex.method.lower()] = {
            "operationId": "exchange",
            "security": [],
            "requestBody": _request_body(ex.content_type, {ex.username_field: "user", ex.password_field: "secret"}),
            "responses": {
                "200": {"description": "the token", "content": {"application/json": {
                    "schema": {"type": "object", "required": [ex.token_field]},
                    "example": {ex.token_field: "0" * 40}}}},
                str(ex.failure.status): _response(spec, ex.failure, "bad username or password"),
            },
        }
    return paths


def openapi(spec: ProviderSpec) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for a spec."""
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{spec.name} (authconform spec {spec.id})", "version": "1.0.0",
                 "description": f"Generated from specs/{spec.id}.yaml; docs: {spec.docs}"},
        "servers": [{"url": spec.live_url}],
        "paths": operations(spec),
        "components": {"securitySchemes": {SCHEME_NAME: security_scheme(spec)}},
    }


def export_main(provider: str, output: str | None) -> int:
    """`export-openapi ID [-o FILE]`: write the OpenAPI document of one provider spec."""
    try:
        spec = get_spec(provider)
    except KeyError as exc:
        print(f"export-openapi: {exc.args[0]}", file=sys.stderr)
        return 2
    except SpecError as exc:
        print(f"export-openapi: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    text = json.dumps(openapi(spec), indent=2, ensure_ascii=False) + "\n"
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            print(f"export-openapi: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    return 0
