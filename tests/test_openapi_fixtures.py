"""Real OpenAPI documents (tests/fixtures/openapi/, nobody here wrote them) through the whole
pipeline: import, `specs check`, serve, the conformance suite against the draft's own mock.
`make corpus` runs the same over the fetched corpus (drive/corpus.py)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from drive.corpus import Result, run, summary
from specs import load_spec

FOLDER = Path(__file__).resolve().parent / "fixtures" / "openapi"
# Documents whose credentials are no header token: the importer refuses them (exit 3).
REFUSED = {"amazonaws.com-mobileanalytics.json"}
# The user property tests/conftest.py prints at the end of the run.
SUMMARY = "authconform_summary"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list[Result]:
    """Every fixture document through the pipeline, once for this module."""
    return run([str(FOLDER)], tmp_path_factory.mktemp("corpus"), jobs=2, max_seconds=600.0, verbose=False)


@pytest.mark.slow
def test_every_fixture_imports_checks_serves_and_passes_its_own_suite(results: list[Result], record_property: Any) -> None:
    """Each document with a header token passes all three steps; the others are refused, on one line."""
    considered = [r for r in results if not r.unsupported]
    line = summary(results)
    record_property(SUMMARY, f"OpenAPI fixtures: {line}")
    n = len(considered)
    assert line == f"imported {n}/{n} documents, {n} pass specs check, {n} pass the suite against their own mock", \
        line + "\n" + "\n".join(f"{r.id}: {r.why}" for r in considered if r.why)
    assert {r.doc.name for r in results if r.unsupported} == REFUSED
    assert n >= 8


def _documented_sources(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("strength") == "documented" and isinstance(node.get("source"), str):
            yield node["source"]
        for v in node.values():
            yield from _documented_sources(v)
    elif isinstance(node, list):
        for v in node:
            yield from _documented_sources(v)


def _at(document: Any, pointer: str) -> Any:
    for part in pointer[2:].split("/") if pointer != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


@pytest.mark.slow
def test_documented_rules_quote_their_document(results: list[Result]) -> None:
    """A documented rule's source is `#/json/pointer: "quote"`: the pointer names a place in the
    document and the quote is what the document says there (folded, possibly shortened)."""
    checked = 0
    for r in results:
        if not r.imported or r.spec is None:
            continue
        text = r.doc.read_text(encoding="utf-8")
        document = json.loads(text) if r.doc.suffix == ".json" else yaml.safe_load(text)
        draft = yaml.safe_load(r.spec.read_text(encoding="utf-8"))
        load_spec(r.spec)
        for source in _documented_sources(draft):
            pointer, _, quote = source.partition(": ")
            target = _at(document, pointer)
            said = json.dumps(target, ensure_ascii=False, sort_keys=True) + " " + " ".join(
                str(v) for v in (target.values() if isinstance(target, dict) else [target]) if isinstance(v, str))
            folded = " ".join(said.split())
            quote = quote.strip('"').removesuffix("...")
            # An operation with no summary is quoted by its method and path: the pointer's own keys.
            parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")]
            named = len(parts) == 4 and parts[1] == "paths" and quote == f"{parts[3].upper()} {parts[2]}"
            assert named or quote in folded or quote in " ".join(json.dumps(target, ensure_ascii=False).split()), f"{r.id}: {source}"
            checked += 1
    assert checked > 20
