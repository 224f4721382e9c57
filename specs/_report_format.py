"""The report files, written one way for both sides: one JSON writer and one JUnit XML writer, fed
neutral data by the suite (report.json, junit.xml, record.json) and by the gate (gate-ID.json,
gate-ID.xml). What the JSON documents hold is described by specs/report.schema.json, one `$defs`
entry per kind (`report_validator(kind)`).

Neither writer knows what a key is: the caller hands in its own `redact` (text -> text), applied to
the serialized JSON, and to every attribute value and text of the XML before it is escaped (so a
placeholder such as `<CLORO_API_KEY>` stays text and the file stays well-formed XML 1.0)."""
from __future__ import annotations

import contextlib
import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Literal, TextIO

from ._loader import PACKAGE_DIR

if TYPE_CHECKING:  # imported when a report is written: `serve` and `check` start without it
    import xml.etree.ElementTree as ET

Redact = Callable[[str], str]
REPORT_SCHEMA_PATH = PACKAGE_DIR / "report.schema.json"
# The kinds of JSON document the writers make, each a `$defs` entry of the schema.
REPORT_KINDS = ("suite_report", "gate_report", "record")
# A <testcase>'s outcome: passed (no child), a <failure>, or <skipped>. Nothing the project writes
# is a JUnit <error> (an error in the test itself): the suite and the gate judge, they do not crash.
PASSED, FAILURE, SKIPPED = "passed", "failure", "skipped"
OUTCOMES = (PASSED, FAILURE, SKIPPED)


@dataclass(frozen=True)
class JUnitCase:
    """One <testcase>: its outcome with message and text, its properties and system-out."""

    name: str
    classname: str
    outcome: Literal["passed", "failure", "skipped"] = PASSED
    # <failure message=... type=...>text</failure>, <skipped message=.../>
    message: str = ""
    text: str | None = None
    type: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    system_out: str | None = None
    # Seconds; None leaves the attribute out (the gate judges rules, not timed tests).
    time: float | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"JUnitCase {self.name!r}: outcome {self.outcome!r}; one of {', '.join(OUTCOMES)}")


@dataclass(frozen=True)
class JUnitSuite:
    """One <testsuite>; its tests, failures and skipped counts are counted from its cases."""

    name: str
    cases: tuple[JUnitCase, ...]
    # Seconds; None: the sum of the cases' times.
    time: float | None = None

    def counts(self) -> dict[str, int]:
        """tests, failures, skipped, errors: the attributes of the <testsuite> element."""
        return {"tests": len(self.cases), "failures": sum(c.outcome == FAILURE for c in self.cases),
                "skipped": sum(c.outcome == SKIPPED for c in self.cases), "errors": 0}


def write_json(path: str | Path, data: Any, *, redact: Redact | None = None) -> Path:
    """`data` as indented UTF-8 JSON (a final newline), redacted as text, written atomically."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _write(Path(path), (redact(text) if redact else text) + "\n")


def write_junit(path: str | Path, suites: Iterable[JUnitSuite], *, name: str = "authconform",
                redact: Redact | None = None) -> Path:
    """JUnit XML (<testsuites name=...> of <testsuite>s), indented, every text redacted, written atomically."""
    import xml.etree.ElementTree as ET

    def r(text: str) -> str:
        return _xml_text(redact(text) if redact else text)

    root = ET.Element("testsuites", name=r(name))
    for suite in suites:
        counts = suite.counts()
        seconds = suite.time if suite.time is not None else sum(c.time or 0.0 for c in suite.cases)
        node = ET.SubElement(root, "testsuite", name=r(suite.name), **{k: str(v) for k, v in counts.items()},
                             time=f"{seconds:.3f}")
        for case in suite.cases:
            _case(node, case, r)
    ET.indent(root)
    return _write(Path(path), '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")


def _case(parent: ET.Element, case: JUnitCase, r: Redact) -> None:
    import xml.etree.ElementTree as ET

    attrs = {"classname": r(case.classname), "name": r(case.name)}
    if case.time is not None:
        attrs["time"] = f"{case.time:.3f}"
    node = ET.SubElement(parent, "testcase", attrs)
    if case.properties:
        props = ET.SubElement(node, "properties")
        for key, value in case.properties:
            ET.SubElement(props, "property", name=r(key), value=r(value))
    if case.outcome != PASSED:
        extra = {"type": r(case.type)} if case.type is not None else {}
        child = ET.SubElement(node, case.outcome, message=r(case.message), **extra)
        if case.text is not None:
            child.text = r(case.text)
    if case.system_out is not None:
        ET.SubElement(node, "system-out").text = r(case.system_out)


_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """Text XML 1.0 can carry (XML 1.0 §2.2, Char): other control characters and lone surrogates
    shown as `\\xNN` / `\\udcNN`, so a reason quoting a client's odd byte leaves the file readable."""
    return _NOT_XML_CHAR.sub(lambda m: ascii(m.group())[1:-1], text)


def _write(path: Path, text: str) -> Path:
    with atomic_file(path) as out:
        out.write(text)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write a text file whole or not at all (see atomic_file); its path."""
    return _write(Path(path), text)


@contextmanager
def atomic_file(path: str | Path, sync: bool = False) -> Iterator[TextIO]:
    """A UTF-8 text file written beside `path` and renamed over it when the block ends (POSIX
    rename(2) is atomic within a folder): a reader never sees half a file, a run stopped mid-write
    leaves the last whole one, and a write that fails leaves no temporary file. `sync`: fsync
    before the rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    # 0o666 less the umask, as open() would make it (a temp file's 0o600 would stay on the report).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            yield out
            if sync:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@lru_cache(maxsize=None)
def _schema() -> dict[str, Any]:
    return json.loads(REPORT_SCHEMA_PATH.read_text(encoding="utf-8"))


def report_validator(kind: str) -> Any:
    """A jsonschema validator for one kind of report (`suite_report`, `gate_report`, `record`)."""
    import jsonschema
    from referencing import Registry, Resource

    if kind not in REPORT_KINDS:
        raise ValueError(f"no report kind {kind!r}; one of {', '.join(REPORT_KINDS)}")
    schema = _schema()
    registry = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    return jsonschema.Draft202012Validator({"$ref": f"{schema['$id']}#/$defs/{kind}"}, registry=registry)
