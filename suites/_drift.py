"""Drift: what the live provider answered versus what its mock (and so its spec) answers, case by case.

`pytest --live --record DIR` keeps, for every fixed case that ran, the judged exchange as the target
answered it, keys already placeholders, in DIR/record.json. `python -m drive drift DIR` starts the
mock of every recorded provider, runs the same cases against it and compares, case by case:
- the status;
- the body's shape: JSON keys and value types, recursively;
- the messages of a refusal: every string of an error body at a place both bodies have (a changed
  error text is a changed answer), leaving out values that look like per-request data (8 or more
  characters, no space, 4 or more digits: ids, timestamps); a text body is compared whole;
- the headers that carry auth meaning: Content-Type (its media type), WWW-Authenticate (scheme and
  parameter names, RFC 9110 §11.6.1) and every header the spec's catalogue names for the class.
A difference means the mock, which follows the spec, no longer answers like the provider: the spec
needs a look (or a `deviations` entry, if the provider is wrong).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from specs import ProviderSpec

from ._cases import POSITIVE
from ._result import CaseResult
from ._verdict import Verdict

RECORD_FILE = "record.json"
RECORD_KIND = "authconform-record"
NO_RESPONSE = "(no response"
# Headers compared on every case, whatever the catalogue says (RFC 9110 §11.6.1, §8.3).
ALWAYS = ("Content-Type", "WWW-Authenticate")


class RecordError(ValueError):
    """A record folder that cannot be read: says which file and what is wrong."""


@dataclass(frozen=True)
class Answer:
    """A recorded response: status (None when there was none), header lines, body text."""

    status: int | None
    headers: tuple[tuple[str, str], ...]
    body: str

    @staticmethod
    def parse(text: str) -> "Answer":
        """Read back the runner's response text (`HTTP/1.1 401 Unauthorized`, header lines, body)."""
        if not text or text.startswith(NO_RESPONSE):
            return Answer(None, (), "")
        head, _, body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        headers = tuple((n.strip(), v.strip()) for n, _, v in (line.partition(":") for line in lines[1:] if ":" in line))
        return Answer(status, headers, body)

    @staticmethod
    def from_dict(data: Any) -> "Answer":
        """An answer from record.json (RecordError when it is not one)."""
        try:
            status = data["status"]
            headers = tuple((str(n), str(v)) for n, v in data["headers"])
            body = str(data["body"])
        except (KeyError, TypeError, ValueError):
            raise RecordError("a recorded response needs status, headers ([[name, value]...]) and body") from None
        if status is not None and not isinstance(status, int):
            raise RecordError(f"a recorded status is a number or null, got {status!r}")
        return Answer(status, headers, body)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"status": self.status, "headers": [list(h) for h in self.headers], "body": self.body}

    def header_all(self, name: str) -> list[str]:
        """Every value of a header (case-insensitive)."""
        low = name.lower()
        return [v for n, v in self.headers if n.lower() == low]


# --- recording ------------------------------------------------------------------------------------


def record_of(results: Iterable[CaseResult], mode: str) -> dict[str, Any]:
    """What a run's targets answered, case by case (fixed cases that ran; keys are placeholders)."""
    cases = [
        {
            "case_id": r.case_id, "provider": r.provider, "failure_class": r.klass, "variant": r.variant,
            "verdict": r.verdict.value, "request": r.request, "response": Answer.parse(r.response or "").as_dict(),
        }
        for r in results
        if r.klass != "generated" and r.verdict is not Verdict.SKIP and r.response is not None
    ]
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return {"kind": RECORD_KIND, "mode": mode, "recorded": stamp, "cases": cases}


def load_record(directory: str | Path) -> dict[str, Any]:
    """DIR/record.json, checked; RecordError naming the file and what is wrong."""
    path = Path(directory) / RECORD_FILE
    if not Path(directory).is_dir():
        raise RecordError(f"{directory}: no such folder; record one with `pytest --live --record {directory}`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"{path}: no record here; make one with `pytest --live --record {directory}`") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise RecordError(f"{path}: not JSON ({err})") from None
    if not isinstance(data, dict) or data.get("kind") != RECORD_KIND or not isinstance(data.get("cases"), list):
        raise RecordError(f"{path}: not an authconform record (written by `pytest --record DIR`)")
    for i, case in enumerate(data["cases"]):
        if not isinstance(case, dict) or not isinstance(case.get("case_id"), str) or not isinstance(case.get("provider"), str):
            raise RecordError(f"{path}: cases[{i}] needs a case_id and a provider")
        try:
            Answer.from_dict(case.get("response"))
        except RecordError as err:
            raise RecordError(f"{path}: cases[{i}]: {err}") from None
    return data


# --- comparing ------------------------------------------------------------------------------------


def shape(body: str) -> Any:
    """The shape of a body: JSON with every value replaced by its type name, else "text" or "empty"."""
    if not body.strip():
        return "empty"
    try:
        value = json.loads(body)
    except ValueError:
        return "text"
    return _shape(value)


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        # A list's shape is its items' shapes, once each (order and count are data, not shape).
        items: list[Any] = []
        for v in value:
            s = _shape(v)
            if s not in items:
                items.append(s)
        return items
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string"


def _said(s: Any) -> str:
    if isinstance(s, dict):
        return "object"
    if isinstance(s, list):
        return "array"
    return str(s)


def shape_diff(live: Any, mock: Any, path: str = "$") -> list[str]:
    """Where two shapes differ, one line per place (`$.error: live absent, mock string`)."""
    if isinstance(live, dict) and isinstance(mock, dict):
        out = []
        for key in list(dict.fromkeys([*live, *mock])):
            where = f"{path}.{key}"
            if key not in live:
                out.append(f"{where}: live absent, mock {_said(mock[key])}")
            elif key not in mock:
                out.append(f"{where}: live {_said(live[key])}, mock absent")
            else:
                out += shape_diff(live[key], mock[key], where)
        return out
    if isinstance(live, list) and isinstance(mock, list):
        return [] if live == mock or not live or not mock else [f"{path}[]: live items {json.dumps(live)}, mock items {json.dumps(mock)}"]
    if live != mock:
        return [f"{path}: live {_said(live)}, mock {_said(mock)}"]
    return []


# A string that is per-request data rather than a message: an id, a timestamp, a trace token.
PER_REQUEST = re.compile(r"(?=(?:\S*\d){4})\S{8,}")
# Text bodies longer than this are pages, not messages.
MAX_TEXT_MESSAGE = 500


def messages(body: str) -> dict[str, str]:
    """The messages of a body by place (`$.error.message`), or the whole text as `$` for a short text body."""
    try:
        value = json.loads(body) if body.strip() else None
    except ValueError:
        text = body.strip()
        return {"$": text} if 0 < len(text) <= MAX_TEXT_MESSAGE else {}
    out: dict[str, str] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node[:20]):
                walk(v, f"{path}[{i}]")
        elif isinstance(node, str) and not PER_REQUEST.fullmatch(node):
            out[path] = node

    walk(value, "$")
    return out


def message_diff(live: str, mock: str) -> list[tuple[str, str, str]]:
    """(place, live text, mock text) for every message both bodies hold at one place and word differently."""
    a, b = messages(live), messages(mock)
    return [(where, a[where], b[where]) for where in a if where in b and a[where] != b[where]]


def _media_type(values: list[str]) -> str:
    return ", ".join(v.split(";")[0].strip().lower() for v in values) or "absent"


def _challenges(values: list[str]) -> str:
    """WWW-Authenticate reduced to scheme and parameter names: `Bearer realm,error`."""
    if not values:
        return "absent"
    out = []
    for value in values:
        scheme = value.strip().split(" ", 1)[0].split(",", 1)[0].lower()
        params = sorted({p.lower() for p in re.findall(r"([A-Za-z0-9_.-]+)\s*=", value)})
        out.append(f"{scheme} {','.join(params)}".strip())
    return "; ".join(out)


def _presence(values: list[str]) -> str:
    return "present" if values else "absent"


def headers_of_interest(spec: ProviderSpec, klass: str) -> list[str]:
    """Content-Type, WWW-Authenticate and the headers the catalogue names for the class."""
    names = list(ALWAYS)
    failure = spec.failure(klass)
    if failure is not None:
        names += [n for n in failure.headers if n.lower() not in (x.lower() for x in names)]
    return names


def _header_view(name: str, values: list[str]) -> str:
    low = name.lower()
    if low == "content-type":
        return _media_type(values)
    if low == "www-authenticate":
        return _challenges(values)
    return _presence(values)


@dataclass(frozen=True)
class Drift:
    """One difference between the live answer and the mock's for one case."""

    case_id: str
    what: str
    live: str
    mock: str

    def line(self) -> str:
        """`status: live 403, mock 401`."""
        if self.what == "body":
            return f"body shape {self.live}"
        return f"{self.what}: live {self.live}, mock {self.mock}"


def compare(spec: ProviderSpec, case_id: str, klass: str, live: Answer, mock: Answer) -> list[Drift]:
    """Every difference that matters between two answers to the same case."""
    if live.status is None or mock.status is None:
        if live.status != mock.status:
            return [Drift(case_id, "status", str(live.status or "no response"), str(mock.status or "no response"))]
        return []
    out = []
    if live.status != mock.status:
        out.append(Drift(case_id, "status", str(live.status), str(mock.status)))
    out += [Drift(case_id, "body", line, "") for line in shape_diff(shape(live.body), shape(mock.body))]
    if klass != POSITIVE:  # success bodies carry data, which differs between any two servers
        out += [Drift(case_id, f"message {where}", repr(a), repr(b)) for where, a, b in message_diff(live.body, mock.body)]
    for name in headers_of_interest(spec, klass):
        a, b = _header_view(name, live.header_all(name)), _header_view(name, mock.header_all(name))
        if a != b:
            out.append(Drift(case_id, f"header {name}", a, b))
    return out


@dataclass
class DriftReport:
    """The outcome of `drift`: differences per case, how many cases were compared, and notes."""

    drifts: list[Drift]
    compared: int
    notes: list[str]

    def lines(self, source: str) -> list[str]:
        """What `python -m drive drift` prints."""
        out = [f"note: {n}" for n in self.notes]
        if not self.drifts:
            if not self.compared:
                return out
            return out + [f"no drift: {self.compared} cases answer alike live and on the mock (status, body shape, messages, headers); record {source}"]
        cases = list(dict.fromkeys(d.case_id for d in self.drifts))
        out.append(f"drift: {len(cases)} of {self.compared} cases answer differently live ({source}) and on the mock of their spec")
        for cid in cases:
            out.append(cid)
            out += [f"  {d.line()}" for d in self.drifts if d.case_id == cid]
        return out
