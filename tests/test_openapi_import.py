"""`python -m specs import-openapi`: what a document states becomes the draft's rules, what it
cannot say is refused on one line, and bad documents get one line in bounded time.

The small documents here are written for one behaviour each; the real ones (tests/fixtures/openapi/)
go through the whole pipeline in test_openapi_fixtures.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from specs import SPECS_DIR_ENV, load_spec
from specs._openapi_doc import DocumentError, read_document
from specs._openapi_import import build_spec

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
BOUND_SECONDS = 60.0


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m specs ARGS` from the repo root, bounded."""
    base = {k: v for k, v in os.environ.items() if k != SPECS_DIR_ENV}
    return subprocess.run([PY, "-m", "specs", *args], cwd=ROOT, capture_output=True, text=True, timeout=BOUND_SECONDS,
                          env={**base, **(env or {})}, stdin=subprocess.DEVNULL)


def doc(security_schemes: dict[str, Any], paths: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A small OpenAPI 3.0 document."""
    return {"openapi": "3.0.3", "info": {"title": "Acme", "version": "1"}, "servers": [{"url": "https://api.acme.test/v1"}],
            "paths": paths, "components": {"securitySchemes": security_schemes}, **top}


def ok(description: str = "ok", example: Any = None) -> dict[str, Any]:
    """A response object, with a JSON example when given."""
    out: dict[str, Any] = {"description": description}
    if example is not None:
        out["content"] = {"application/json": {"example": example}}
    return out


def draft(tmp_path: Path, data: dict[str, Any] | str, *args: str, suffix: str = ".json") -> dict[str, Any]:
    """Import a document through the CLI into tmp_path/acme.yaml; the draft's plain data."""
    src = tmp_path / f"doc{suffix}"
    src.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    out = tmp_path / "acme.yaml"
    proc = cli("import-openapi", str(src), "--id", "acme", "--out", str(out), "--force", *args)
    assert proc.returncode == 0, proc.stderr
    load_spec(out)  # the draft is a checked spec
    return yaml.safe_load(out.read_text(encoding="utf-8"))


def pointer_target(document: dict[str, Any], source: str) -> Any:
    """What a rule's `#/a/b: "quote"` source points at in the document."""
    ptr = source.split(":", 1)[0]
    node: Any = document
    for part in ptr[2:].split("/") if ptr != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


# --- the credential ---------------------------------------------------------------------------

def test_http_bearer_is_authorization_bearer_quoting_the_scheme(tmp_path: Path) -> None:
    """http bearer -> Authorization: Bearer, documented, its source the scheme's pointer and description."""
    d = doc({"tok": {"type": "http", "scheme": "bearer", "description": "Send your token as a bearer token."}},
            {"/me": {"get": {"responses": {"200": ok("me", {"id": 1})}}}}, security=[{"tok": []}])
    spec = draft(tmp_path, d)
    cred = spec["credential"]
    assert (cred["header"], cred["scheme"], cred["rule"]["strength"]) == ("Authorization", "Bearer", "documented")
    assert cred["rule"]["source"] == '#/components/securitySchemes/tok: "Send your token as a bearer token."'
    assert pointer_target(d, cred["rule"]["source"])["description"] in cred["rule"]["source"]
    assert spec["targets"]["live"] == "https://api.acme.test"
    assert (spec["probe"]["method"], spec["probe"]["path"]) == ("GET", "/v1/me")
    assert spec["probe"]["success"] == {"status": 200, "body": {"id": 1}, "rule": {
        "strength": "documented", "source": '#/paths/~1me/get/responses/200: "me"'}}


def test_http_with_another_keyword_and_api_key_headers(tmp_path: Path) -> None:
    """http Token -> that keyword; apiKey in X-API-Key -> a bare key (scheme: null, no wrong_scheme/no_scheme)."""
    paths = {"/me": {"get": {"responses": {"200": ok()}}}}
    spec = draft(tmp_path, doc({"t": {"type": "http", "scheme": "Token"}}, paths, security=[{"t": []}]))
    assert (spec["credential"]["header"], spec["credential"]["scheme"]) == ("Authorization", "Token")
    spec = draft(tmp_path, doc({"k": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}, paths, security=[{"k": []}]))
    assert (spec["credential"]["header"], spec["credential"]["scheme"]) == ("X-API-Key", None)
    assert "wrong_scheme" not in spec["failures"] and "no_scheme" not in spec["failures"]
    # A bare key has no auth-scheme for a challenge to name: none is invented.
    assert "challenge" not in spec["credential"]
    # An apiKey in Authorization whose description shows the keyword keeps it.
    said = {"k": {"type": "apiKey", "in": "header", "name": "Authorization", "description": 'Use "Authorization: Bearer <token>"'}}
    spec = draft(tmp_path, doc(said, paths, security=[{"k": []}]))
    assert (spec["credential"]["header"], spec["credential"]["scheme"]) == ("Authorization", "Bearer")


@pytest.mark.parametrize("scheme, says", [
    ({"type": "apiKey", "in": "query", "name": "key"}, "API key in the query ('key')"),
    ({"type": "apiKey", "in": "cookie", "name": "sid"}, "API key in the cookie ('sid')"),
    ({"type": "http", "scheme": "basic"}, "HTTP basic authentication"),
    ({"type": "mutualTLS"}, "mutual TLS"),
    ({"type": "openIdConnect", "openIdConnectUrl": "https://acme.test/.well-known/openid-configuration"}, "OpenID Connect"),
    ({"type": "apiKey", "in": "header", "name": "Authorization", "x-amazon-apigateway-authtype": "awsSigv4"}, "AWS Signature v4"),
])
def test_unsupported_schemes_are_one_line_exit_3(tmp_path: Path, scheme: dict[str, Any], says: str) -> None:
    """Not a header token: one line naming the scheme and where it is, exit 3, nothing written."""
    src = tmp_path / "doc.json"
    src.write_text(json.dumps(doc({"s": scheme}, {"/me": {"get": {"responses": {"200": ok()}}}}, security=[{"s": []}])))
    proc = cli("import-openapi", str(src), "--id", "acme", "--out", str(tmp_path / "acme.yaml"))
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.count("\n") == 1 and says in proc.stderr and "#/components/securitySchemes/s" in proc.stderr
    assert not (tmp_path / "acme.yaml").exists()


# --- operations: security, scopes, failures ---------------------------------------------------

def test_every_operation_is_a_route_with_its_effective_security(tmp_path: Path) -> None:
    """Global security applies unless the operation says; `security: []` is public; an empty
    requirement makes auth optional (public, with a TODO); another scheme only leaves it out."""
    d = doc({"tok": {"type": "http", "scheme": "bearer"}, "basic": {"type": "http", "scheme": "basic"}}, {
        "/tasks": {"get": {"operationId": "listTasks", "responses": {"200": ok("tasks", [])}},
                   "post": {"responses": {"201": ok("made", {"id": "t1"})}}},
        "/tasks/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                                "responses": {"200": ok()}}},
        "/health": {"get": {"security": [], "responses": {"204": {"description": "up"}}}},
        "/maybe": {"get": {"security": [{}, {"tok": []}], "responses": {"200": ok()}}},
        "/admin": {"get": {"security": [{"basic": []}], "responses": {"200": ok()}}},
    }, security=[{"tok": []}])
    spec = draft(tmp_path, d)
    routes = {(r["method"], r["path"]): r for r in spec["routes"]}
    assert set(routes) == {("GET", "/v1/tasks"), ("POST", "/v1/tasks"), ("GET", "/v1/tasks/{id}"), ("GET", "/v1/health"), ("GET", "/v1/maybe")}
    assert routes[("GET", "/v1/tasks")]["id"] == "listTasks" and routes[("GET", "/v1/tasks")]["success"] == {"status": 200, "body": []}
    assert routes[("POST", "/v1/tasks")]["success"] == {"status": 201, "body": {"id": "t1"}}
    assert "auth" not in routes[("GET", "/v1/tasks/{id}")]
    assert routes[("GET", "/v1/health")]["auth"] is False and routes[("GET", "/v1/health")]["success"] == {"status": 204}
    assert routes[("GET", "/v1/maybe")]["auth"] is False
    todo = [n for n in spec["notes"] if n.startswith("TODO:")]
    assert any("#/paths/~1maybe/get: authentication is optional" in t for t in todo)
    assert any("#/paths/~1admin/get: needs basic, not tok; the operation is left out" in t for t in todo)
    # The probe: a GET that needs the key, without required parameters.
    assert (spec["probe"]["method"], spec["probe"]["path"]) == ("GET", "/v1/tasks")


def test_scopes_from_oauth2_requirements(tmp_path: Path) -> None:
    """oauth2 scopes become spec scopes (renamed to [a-z_]); a route needs its scope; any-of scopes
    are modelled as the broad one implying the narrow; the limited key lacks the probe's scope."""
    flows = {"clientCredentials": {"tokenUrl": "https://acme.test/token", "scopes": {"tasks:read": "r", "tasks:write": "w", "admin": "a"}}}
    d = doc({"o": {"type": "oauth2", "flows": flows}}, {
        "/tasks": {"get": {"security": [{"o": ["tasks:read"]}, {"o": ["admin"]}], "responses": {"200": ok()}},
                   "post": {"security": [{"o": ["tasks:write"]}, {"o": ["admin"]}], "responses": {"200": ok()}}},
        "/users": {"get": {"security": [{"o": ["admin"]}], "responses": {"200": ok()}}},
    })
    spec = draft(tmp_path, d)
    assert (spec["credential"]["scheme"], spec["credential"]["rule"]["strength"]) == ("Bearer", "inferred")
    assert "RFC 6750 §2.1" in spec["credential"]["rule"]["reason"]
    assert spec["scopes"]["names"] == ["admin", "tasks_read", "tasks_write"]
    # The scope more operations accept is taken as the broader one.
    assert spec["scopes"]["implies"] == {"admin": ["tasks_read", "tasks_write"]} and spec["scopes"]["limited"] == []
    assert spec["probe"]["scope"] == "tasks_read" and "limited" in spec["keys"]["states"]
    assert {(r["method"], r["path"], r.get("scope")) for r in spec["routes"]} == {
        ("GET", "/v1/tasks", "tasks_read"), ("POST", "/v1/tasks", "tasks_write"), ("GET", "/v1/users", "admin")}
    assert spec["failures"]["insufficient_scope"]["status"] == 403


def test_401_403_and_429_from_the_document(tmp_path: Path) -> None:
    """The document's 401 and its example answer missing/invalid (documented) and the other
    classes (inferred, with the reason); a 403 with scopes answers insufficient_scope; a 429
    without figures is a TODO; the challenge is the document's WWW-Authenticate example."""
    unauthorized = {"description": "Missing or invalid token", "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "example": 'Bearer realm="acme"'}},
                    "content": {"application/json": {"examples": {"e": {"value": {"error": "invalid_token"}}}}}}
    forbidden = {"$ref": "#/components/responses/Forbidden"}
    d = doc({"o": {"type": "oauth2", "flows": {"implicit": {"authorizationUrl": "https://acme.test/a", "scopes": {"read": "r"}}}}}, {
        "/me": {"get": {"security": [{"o": ["read"]}], "responses": {"200": ok(), "401": unauthorized, "403": forbidden, "429": {"description": "slow down"}}}},
    })
    d["components"]["responses"] = {"Forbidden": {"description": "Not allowed", "content": {"application/json": {"schema": {
        "type": "object", "required": ["error"], "properties": {"error": {"type": "string", "example": "insufficient_scope"}}}}}}}
    spec = draft(tmp_path, d)
    f = spec["failures"]
    assert f["missing"]["status"] == 401 and f["missing"]["body"] == {"error": "invalid_token"}
    assert f["missing"]["rule"] == {"strength": "documented", "source": '#/paths/~1me/get/responses/401: "Missing or invalid token"'}
    assert f["malformed"]["rule"]["strength"] == "inferred" and f["malformed"]["rule"]["source"] == f["missing"]["rule"]["source"]
    assert f["insufficient_scope"]["status"] == 403 and f["insufficient_scope"]["body"] == {"error": "insufficient_scope"}
    # The source points where the text stands: the shared response the operation refers to.
    assert f["insufficient_scope"]["rule"]["source"] == '#/components/responses/Forbidden: "Not allowed"'
    assert spec["credential"]["challenge"]["value"] == 'Bearer realm="acme"'
    assert spec["credential"]["challenge"]["rule"]["strength"] == "documented"
    assert "rate_limited" not in f and any("429" in n and n.startswith("TODO:") for n in spec["notes"])


def test_swagger_2_yaml_with_base_path(tmp_path: Path) -> None:
    """Swagger 2.0 (YAML): securityDefinitions, host + basePath, response examples."""
    text = """
swagger: "2.0"
info: {title: Acme, version: "1"}
host: api.acme.test
basePath: /v2
schemes: [https]
securityDefinitions:
  key: {type: apiKey, in: header, name: X-Acme-Key, description: Your dashboard key}
security: [{key: []}]
paths:
  /things:
    get:
      responses:
        "200": {description: things, examples: {application/json: [{id: 1}]}}
        "401": {description: bad key, examples: {application/json: {message: Invalid key}}}
"""
    spec = draft(tmp_path, text, suffix=".yaml")
    assert spec["targets"]["live"] == "https://api.acme.test"
    assert (spec["credential"]["header"], spec["credential"]["scheme"]) == ("X-Acme-Key", None)
    assert spec["credential"]["rule"]["source"] == '#/securityDefinitions/key: "Your dashboard key"'
    assert spec["probe"]["path"] == "/v2/things" and spec["probe"]["success"]["body"] == [{"id": 1}]
    assert spec["failures"]["invalid"]["body"] == {"message": "Invalid key"}


def test_probe_option_and_a_wrong_one(tmp_path: Path) -> None:
    """--probe picks the operation (path variables filled); an unknown or public one is one line, exit 2."""
    d = doc({"tok": {"type": "http", "scheme": "bearer"}}, {
        "/a": {"get": {"responses": {"200": ok()}}},
        "/b/{id}": {"delete": {"parameters": [{"name": "id", "in": "path", "required": True, "example": "b-7"}], "responses": {"204": {"description": "gone"}}}},
        "/open": {"get": {"security": [], "responses": {"200": ok()}}},
    }, security=[{"tok": []}])
    spec = draft(tmp_path, d, "--probe", "DELETE /b/{id}")
    assert (spec["probe"]["method"], spec["probe"]["path"], spec["probe"]["success"]["status"]) == ("DELETE", "/v1/b/b-7", 204)
    src = tmp_path / "doc.json"
    for wanted, says in (("GET /nope", "no such operation"), ("GET /open", "that operation is public")):
        proc = cli("import-openapi", str(src), "--id", "acme", "--out", str(tmp_path / "acme.yaml"), "--force", "--probe", wanted)
        assert proc.returncode == 2 and says in proc.stderr and proc.stderr.count("\n") == 1


def test_no_scheme_declared_needs_credential(tmp_path: Path) -> None:
    """A document without security schemes (GitHub's) is refused unless --credential says how the
    key travels; then every operation needs it (inferred, with a reason)."""
    d = {"openapi": "3.1.0", "info": {"title": "Hub", "version": "1"}, "servers": [{"url": "https://api.hub.test"}],
         "paths": {"/user": {"get": {"responses": {"200": ok("you", {"login": "octocat"})}}}}}
    src = tmp_path / "doc.json"
    src.write_text(json.dumps(d))
    proc = cli("import-openapi", str(src), "--id", "acme", "--out", str(tmp_path / "acme.yaml"))
    assert proc.returncode == 3 and "--credential" in proc.stderr
    spec = draft(tmp_path, d, "--credential", "Authorization: Bearer")
    assert spec["credential"]["rule"]["strength"] == "inferred" and spec["routes"][0].get("auth", True) is True
    proc = cli("import-openapi", str(src), "--id", "acme", "--out", str(tmp_path / "acme.yaml"), "--force", "--credential", "Authorization Bearer")
    assert proc.returncode == 2 and "'Header: Scheme'" in proc.stderr


def test_usage_errors(tmp_path: Path) -> None:
    """A bad id, a file name that is not ID.yaml, an existing spec without --force: one line, exit 2."""
    src = tmp_path / "doc.json"
    src.write_text(json.dumps(doc({"tok": {"type": "http", "scheme": "bearer"}}, {"/a": {"get": {"responses": {"200": ok()}}}})))
    (tmp_path / "acme.yaml").write_text("keep me")
    cases = [(["--id", "Acme"], "invalid --id 'Acme'"), (["--id", "acme", "--out", str(tmp_path / "x.yaml")], "acme.yaml"),
             (["--id", "acme", "--out", str(tmp_path / "acme.yaml")], "pass --force")]
    for args, says in cases:
        proc = cli("import-openapi", str(src), *args)
        assert proc.returncode == 2 and says in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert (tmp_path / "acme.yaml").read_text() == "keep me"


# --- bad documents: one line, bounded --------------------------------------------------------

BOMB = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
BAD_DOCUMENTS = {
    "not_openapi.json": ('{"hello": "world"}', "not an OpenAPI document"),
    "old_version.json": ('{"swagger": "1.2", "paths": {}}', "unsupported version"),
    "not_yaml.yaml": ("openapi: 3.0.0\n  paths: [\n", "not valid YAML"),
    "broken_ref.json": (json.dumps(doc({"t": {"$ref": "#/components/nothing/here"}}, {"/a": {"get": {"responses": {"200": ok()}}}}, security=[{"t": []}])), "names nothing"),
    "external_ref.json": (json.dumps(doc({"t": {"$ref": "other.yaml#/t"}}, {"/a": {"get": {"responses": {"200": ok()}}}}, security=[{"t": []}])), "outside the document"),
    "circular_ref.json": (json.dumps(doc({"t": {"$ref": "#/components/securitySchemes/u"}, "u": {"$ref": "#/components/securitySchemes/t"}},
                                         {"/a": {"get": {"responses": {"200": ok()}}}}, security=[{"t": []}])), "circular $ref"),
    "alias_bomb.yaml": ("openapi: 3.0.0\npaths: {}\n" + BOMB, "refused YAML"),
    "deep.json": ("[" * 100_000 + "]" * 100_000, "nested"),
    "binary.json": (b"\xff\xfe\x00garbage".decode("latin-1"), "not UTF-8"),
    "no_paths.yaml": ("openapi: 3.1.0\ninfo: {title: x, version: '1'}\n", "no 'paths'"),
}


@pytest.mark.parametrize("name", BAD_DOCUMENTS)
def test_bad_documents_are_one_line_in_bounded_time(tmp_path: Path, name: str) -> None:
    """Never a traceback: one line naming the file and what is wrong, exit 2, within the bound."""
    text, says = BAD_DOCUMENTS[name]
    src = tmp_path / name
    src.write_bytes(text.encode("latin-1") if name == "binary.json" else text.encode("utf-8"))
    began = time.monotonic()
    proc = cli("import-openapi", str(src), "--id", "acme", "--out", str(tmp_path / "acme.yaml"))
    assert time.monotonic() - began < BOUND_SECONDS
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert str(src) in proc.stderr and says in proc.stderr, proc.stderr


def test_size_and_value_bounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file over the byte bound is refused unread; a document over the value bound is refused."""
    from specs import _openapi_doc

    src = tmp_path / "big.json"
    src.write_text(json.dumps(doc({}, {f"/p{i}": {"get": {"responses": {"200": ok()}}} for i in range(200)})))
    monkeypatch.setattr(_openapi_doc, "MAX_BYTES", 1000)
    with pytest.raises(DocumentError, match="bytes; documents up to 1,000 bytes"):
        read_document(src)
    monkeypatch.setattr(_openapi_doc, "MAX_BYTES", 10**8)
    monkeypatch.setattr(_openapi_doc, "MAX_VALUES", 500)
    with pytest.raises(DocumentError, match="more than 500 values"):
        read_document(src)


def test_recursive_schemas_give_bounded_examples(tmp_path: Path) -> None:
    """A schema that contains itself (a tree) is legal OpenAPI: its example is cut at a depth."""
    d = doc({"tok": {"type": "http", "scheme": "bearer"}}, {"/tree": {"get": {"responses": {"200": {
        "description": "a tree", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}}}},
        security=[{"tok": []}])
    d["components"]["schemas"] = {"Node": {"type": "object", "required": ["name", "children"], "properties": {
        "name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}}
    src = tmp_path / "doc.json"
    src.write_text(json.dumps(d))
    spec = build_spec(read_document(src), "acme")
    body = spec["probe"]["success"]["body"]
    depth = 0
    while isinstance(body, dict) and body.get("children"):
        body, depth = body["children"][0], depth + 1
    assert 1 <= depth <= 6
    assert spec["probe"]["success"]["rule"]["strength"] == "inferred"


def test_export_then_import_keeps_credential_routes_and_scopes(tmp_path: Path) -> None:
    """A spec exported as OpenAPI and imported again has the same header, scheme, routes (method,
    template, public or not, scope) and failure statuses: the two commands speak the same language."""
    folder = ROOT / "tests" / "specs"
    original = load_spec(folder / "taskboard.yaml")
    exported = tmp_path / "taskboard.openapi.json"
    proc = cli("export-openapi", "taskboard", "-o", str(exported), env={SPECS_DIR_ENV: str(folder)})
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "taskboard.yaml"
    proc = cli("import-openapi", str(exported), "--id", "taskboard", "--out", str(out),
               "--probe", f"{original.probe.method} {original.probe.path}")
    assert proc.returncode == 0, proc.stderr
    again = load_spec(out)
    assert (again.credential.header, again.credential.scheme) == (original.credential.header, original.credential.scheme)
    assert (again.probe.method, again.probe.path, again.probe.scope) == (original.probe.method, original.probe.path, original.probe.scope)
    shape = lambda spec: {(r.method, r.path, r.auth, r.scope if r.auth else None) for r in spec.routes}  # noqa: E731
    assert shape(original) <= shape(again)
    assert {k: f.status for k, f in again.failures.items() if k in ("missing", "invalid", "insufficient_scope")} == \
        {k: f.status for k, f in original.failures.items() if k in ("missing", "invalid", "insufficient_scope")}


def test_success_bodies_of_other_media_types(tmp_path: Path) -> None:
    """A text body keeps its media type; a body under something that is no media type (`gzip`,
    as some documents write) is left out rather than failing the draft's check."""
    d = doc({"tok": {"type": "http", "scheme": "bearer"}}, {
        "/a": {"get": {"responses": {"200": {"description": "csv", "content": {"text/csv": {"example": "a,b\n1,2\n"}}}}}},
        "/b": {"get": {"responses": {"200": {"description": "zip", "content": {"gzip": {"example": "x"}}}}}},
    }, security=[{"tok": []}])
    routes = {r["path"]: r for r in draft(tmp_path, d)["routes"]}
    assert routes["/v1/a"]["success"] == {"status": 200, "body": "a,b\n1,2\n", "content_type": "text/csv"}
    assert routes["/v1/b"]["success"] == {"status": 200}


def test_json_examples_written_as_strings_and_control_characters(tmp_path: Path) -> None:
    """An application/json example given as a string of JSON is that JSON (the mock's body then
    parses to what the suite expects); CR and other control characters are dropped from examples."""
    d = doc({"tok": {"type": "http", "scheme": "bearer"}}, {
        "/a": {"get": {"responses": {"200": {"description": "a", "content": {"application/json": {
            "example": '{\r\n  "total": 2,\r\n  "note": "x\\u0007y"\r\n}'}}}}}},
    }, security=[{"tok": []}])
    spec = draft(tmp_path, d)
    assert spec["probe"]["success"]["body"] == {"total": 2, "note": "xy"}


def test_a_draft_that_cannot_take_its_place_is_one_line_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """The checked draft replaces --out whole or not at all: a folder where the file goes is one
    line (exit 2), and no temporary file is left beside it."""
    d = doc({"tok": {"type": "http", "scheme": "bearer"}}, {"/me": {"get": {"responses": {"200": ok("me", {"id": 1})}}}},
            security=[{"tok": []}])
    src = tmp_path / "doc.json"
    src.write_text(json.dumps(d))
    out = tmp_path / "out"
    (out / "acme.yaml").mkdir(parents=True)
    proc = cli("import-openapi", str(src), "--id", "acme", "--out", str(out / "acme.yaml"), "--force")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "cannot write" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and sorted(p.name for p in out.iterdir()) == ["acme.yaml"]
