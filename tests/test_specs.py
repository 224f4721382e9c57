"""The spec loader, its errors on broken specs, and lint rules over every provider spec."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from specs import ProviderSpec, SpecError, check_quotes, load_all, load_spec, spec_paths
from specs._loader import PACKAGE_DIR

ROOT = Path(__file__).resolve().parent.parent
# Copies of the provider pages the specs quote (their own README says where they come from).
SEEDS = PACKAGE_DIR / "pages"
SPECS = {s.id: s for s in load_all()}


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_documented_rules_quote_their_page(spec: ProviderSpec) -> None:
    """A `documented` rule's source quotes the provider page (the lint `specs check` runs); no page copy, no check."""
    note = check_quotes(spec)
    if note:
        pytest.skip(note)


def test_the_quote_lint_fails_a_rule_its_page_lacks_and_notes_a_missing_page(tmp_path: Path) -> None:
    """The quote lint can fail: a source the page does not hold is named with path and line."""
    raw = _cloro()
    raw["keys"]["rule"]["source"] = '"Keys are rotated every full moon by the dashboard"'
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / raw["seed"]).write_text((SEEDS / raw["seed"]).read_text(encoding="utf-8"), encoding="utf-8")
    spec = load_spec(_write(tmp_path, raw))
    with pytest.raises(SpecError, match=r"keys\.rule\.source \(line \d+\): a documented rule quotes its page"):
        check_quotes(spec)
    (tmp_path / "pages" / raw["seed"]).unlink()
    assert "no page copy at" in (check_quotes(spec) or "")
    out = subprocess.run([sys.executable, "-m", "specs", "check", str(tmp_path / "cloro.yaml")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "note: no page copy at" in out.stdout, out.stdout + out.stderr


def test_required_facts_from_the_provider_pages() -> None:
    """The facts the provider pages state (specs/pages/), so a spec edit that loses one fails here."""
    # The shipped files, whatever folder AUTHCONFORM_SPECS_DIR names for the rest of the tests.
    cc, crux, flash, cloro, claid = (load_spec(PACKAGE_DIR / f"{i}.yaml") for i in ("cryptocloud", "crux", "flash", "cloro", "claid"))
    assert (cc.credential.header, cc.credential.scheme, cc.credential.token.format) == ("Authorization", "Token", "jwt")
    assert cc.failures["bad_request"].status == 400
    assert dict(cc.failures["invalid"].body) == {"status": "error", "result": {"authorization": "Unauthorized request."}}
    assert (cc.probe.method, cc.probe.path) == ("POST", "/v2/invoice/create")
    assert cc.failures["invalid"].rule.strength == "inferred"  # the status cell holds words, not a code
    assert (crux.credential.scheme, crux.exchange is not None) == ("Token", True)
    assert crux.probe.content_type == "application/json; charset=utf-8"
    assert crux.sandbox_url == "https://api-sandbox.cruxconnect.com"
    assert (flash.credential.scheme, flash.probe.path) == ("Bearer", "/v1/get_user_subscription_details")
    assert flash.binding is not None and flash.binding.field in flash.probe.body
    assert set(flash.probe.body) == {"email", "flash_id"}
    assert {flash.failures[k].status for k in ("missing", "invalid", "expired")} == {401}
    assert flash.failures["expired"].message == "Token has expired"
    assert flash.failures["malformed"].message == "Invalid Token Format"
    assert (cloro.credential.scheme, cloro.probe.path) == ("Bearer", "/v1/monitor")
    assert set(cloro.probe.body) == {"prompt", "model"}
    auth_classes = [k for k in cloro.failures if k not in ("duplicate_header", "rate_limited")]
    for klass in auth_classes:
        assert cloro.failures[klass].status == 401
        assert dict(cloro.failures[klass].body) == {"success": False, "error": "Invalid or missing API key"}
    assert {"expired", "revoked"} <= set(cloro.keys.states) and cloro.rate_limit is not None
    assert claid.credential.scheme == "Bearer" and claid.scopes is not None
    assert set(claid.scopes.expand(["admin"])) == {"admin", "storage", "image_editing"}
    assert claid.failures["insufficient_scope"].status == 403 and claid.keys.shown_once


# --- broken specs: the error names the file, the YAML path (with line) and what is wrong ---

def _write(tmp_path: Path, raw: dict[str, Any], name: str = "cloro") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _cloro() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "specs" / "cloro.yaml").read_text(encoding="utf-8"))


def _set(raw: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = raw
    for p in parents:
        node = node[p]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value


_DELETE = object()

BROKEN = [
    ("credential.scheme", "Be arer", "credential.scheme (line", "does not match"),
    ("credential.token.format", "uuid", "credential.token.format (line", "'uuid' is not one of ['jwt', 'hex', 'opaque']"),
    ("failures.missing", _DELETE, "failures (line", "'missing' is a required property"),
    ("failures.invalid.rule.strength", "guessed", "failures.invalid.rule.strength (line", "'guessed' is not one of"),
    ("failures.invalid.rule", {"strength": "inferred", "source": "a guess"}, "failures.invalid.rule (line", "'reason' is a required property"),
    ("failures.invalid.status", 200, "failures.invalid.status (line", "less than the minimum of 400"),
    ("credential.colour", "blue", "credential (line", "allowed here: challenge, duplicates, header"),
    ("failures.expired", _DELETE, "failures (line", "failure class 'expired' is missing: keys.states lists 'expired'"),
    ("rate_limit", _DELETE, "failures.rate_limited (line", "has nothing that can cause it"),
    ("failures.duplicate_header.message_rule", {"strength": "documented", "source": "quoted text"}, "failures.duplicate_header.message_rule (line", "needs the message it judges"),
    ("credential.challenge.value", 'Token realm="x"', "credential.challenge.value (line", "must name the scheme 'Bearer'"),
    ("failures.missing.schema", {"type": "array"}, "failures.missing.body (line", "does not match its schema"),
    ("failures.rate_limited.headers", {"Retry-After": "([0-9"}, "failures.rate_limited.headers.Retry-After (line", "not a regular expression"),
    # A documented trigger must name the situation, not only the answer (Flash's page names the
    # error "Invalid Token Format", not which tokens get it).
    ("failures.malformed.trigger", {"strength": "documented", "source": "Invalid Token Format: properly formatted"},
     "failures.malformed.trigger.source (line", "a documented trigger must quote the sentence naming which requests get this answer"),
    ("failures.duplicate_header.trigger", {"strength": "documented", "source": "| 400 | Bad request | Invalid request |"},
     "failures.duplicate_header.trigger.source (line", "'duplicate'"),
    ("failures.invalid.trigger.strength", "sure", "failures.invalid.trigger.strength (line", "'sure' is not one of"),
    # Every rule says where it comes from (specs/_sources.py; `specs check` and load_spec run it).
    ("failures.duplicate_header.rule.source", "Two lines make a malformed request", "failures.duplicate_header.rule.source (line", "an rfc rule names its RFC"),
    ("failures.revoked.rule.reason", "a guess", "failures.revoked.rule.reason (line", "an inferred rule says why"),
    ("credential.challenge", _DELETE, "failures.missing.status (line", "a 401 needs credential.challenge"),
]


@pytest.mark.parametrize("path,value,where,what", BROKEN, ids=[b[0] + ":" + b[3][:20] for b in BROKEN])
def test_broken_spec_error_names_file_path_and_problem(tmp_path: Path, path: str, value: Any, where: str, what: str) -> None:
    raw = _cloro()
    _set(raw, path, value)
    spec_file = _write(tmp_path, raw)
    with pytest.raises(SpecError) as info:
        load_spec(spec_file)
    message = str(info.value)
    assert message.startswith(str(spec_file)), message
    assert f": {where}" in message, message
    assert what in message, message


def test_id_must_match_file_name(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"other\.yaml: id \(line 1\): 'cloro' must equal the file name 'other'"):
        load_spec(_write(tmp_path, _cloro(), name="other"))


def test_message_must_stand_in_the_body(tmp_path: Path) -> None:
    raw = _cloro()
    raw["failures"]["invalid"]["message"] = "Key not found"
    raw["failures"]["invalid"]["message_rule"] = {"strength": "documented", "source": "quoted text"}
    with pytest.raises(SpecError, match=r"failures\.invalid\.message \(line \d+\): the message 'Key not found' does not appear"):
        load_spec(_write(tmp_path, raw))


def test_limited_key_must_lack_the_probe_scope(tmp_path: Path) -> None:
    raw = yaml.safe_load((ROOT / "specs" / "claid.yaml").read_text(encoding="utf-8"))
    raw["scopes"]["limited"] = ["admin"]
    with pytest.raises(SpecError, match=r"scopes\.limited \(line \d+\): the limited key must lack the probe's scope 'image_editing'"):
        load_spec(_write(tmp_path, raw, name="claid"))


def test_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "cloro.yaml"
    bad.write_text("id: cloro\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"cloro\.yaml: line \d+, column \d+: not valid YAML"):
        load_spec(bad)


def test_not_a_mapping_and_missing_file(tmp_path: Path) -> None:
    listy = tmp_path / "cloro.yaml"
    listy.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(SpecError, match="a spec is a YAML mapping"):
        load_spec(listy)
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "absent.yaml")


def test_loaded_spec_is_immutable() -> None:
    spec = next(iter(SPECS.values()))
    with pytest.raises(AttributeError):
        spec.id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.failures["missing"].body["error"] = "x"  # type: ignore[index]


def test_check_command_reports_every_problem_without_traceback(tmp_path: Path) -> None:
    raw = _cloro()
    raw["credential"]["scheme"] = "Be arer"
    raw["probe"]["method"] = "FETCH"
    bad = _write(tmp_path, raw)
    out = subprocess.run([sys.executable, "-m", "specs", "check", str(bad), *map(str, spec_paths())], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr + out.stdout
    assert f"{bad}: credential.scheme (line" in out.stderr
    assert f"{bad}: probe.method (line" in out.stderr
    assert f"{spec_paths()[0]}: ok" in out.stdout


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    """The loader skips the meta-schema check at start-up; this is where it happens."""
    import json

    import jsonschema

    from specs._loader import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_schema_names_the_vocabulary_of_specs_model() -> None:
    """specs/provider.schema.json's enums are specs/_model.py's vocabulary: failure classes (also of
    a deviation), variant names, key states, strengths, duplicate policies, route methods (the mock
    answers, and the suite names cases, by the model's)."""
    import json

    from specs import FAILURE_CLASSES, KEY_STATES, VARIANTS
    from specs._loader import SCHEMA_PATH
    from specs._model import DUPLICATE_POLICIES, PROBE_METHODS, ROUTE_METHODS, STRENGTHS

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert list(schema["properties"]["failures"]["properties"]) == list(FAILURE_CLASSES)
    variants = schema["$defs"]["failure"]["properties"]["variants"]["propertyNames"]["enum"]
    assert variants == [v for names in VARIANTS.values() for v in names]
    assert schema["properties"]["keys"]["properties"]["states"]["items"]["enum"] == list(KEY_STATES)
    assert schema["properties"]["deviations"]["items"]["properties"]["class"]["enum"] == list(FAILURE_CLASSES)
    assert schema["$defs"]["rule"]["properties"]["strength"]["enum"] == list(STRENGTHS)
    assert schema["properties"]["credential"]["properties"]["duplicates"]["properties"]["policy"]["enum"] == list(DUPLICATE_POLICIES)
    assert schema["properties"]["routes"]["items"]["properties"]["method"]["enum"] == list(ROUTE_METHODS)
    assert schema["properties"]["probe"]["properties"]["method"]["enum"] == list(PROBE_METHODS)
