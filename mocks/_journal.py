"""The request journal: every request a protected (or unknown) route received, secrets redacted.

Appending is the hot path, so an entry is a tuple of the raw request data the server already has;
parsing and redaction happen only when the journal is read.
"""
from __future__ import annotations

import itertools
import marshal
import time
from collections import deque
from typing import Any, Callable
from urllib.parse import unquote_plus

from ._decide import Head, Plan, credential_lines, query_pairs, first_separator
from ._keys import KeyStore
from ._redact import Redactor
from ._responses import Decision

DEFAULT_LIMIT = 100_000
# The journal's memory bound, packed bytes: a client's test run of ordinary requests fits many
# times over (repeated headers and bodies are stored once per chunk); a flood of large distinct
# requests (a fuzzer, a soak) pushes the oldest out instead of growing the process.
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
CHUNK = 256  # entries packed together (see Journal)
# A row as the journal keeps it is a plain tuple (marshal packs tuples, not NamedTuples nor
# dataclasses); these name its positions. ANSWER holds the Decision while the row is pending and
# its `_summary` once packed.
SEQ, TIME, METHOD, TARGET, HEADERS, BODY, REMOTE, ANSWER, FAULT = range(9)
# The positions of an answer's summary (`_summary`).
KLASS, VARIANT, STATUS, RETRY_AFTER, KEY_ID, KEY_STATE = range(6)
NO_ANSWER = (None,) * 6  # a request no route answered (refused before): every field empty


def _text(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def _summary(d: Decision | None) -> tuple[Any, ...] | None:
    """What the journal keeps of an answer: class, variant, status, Retry-After, key id and state."""
    if d is None:
        return None
    retry = d.header("Retry-After") if d.status in (429, 503) else None
    return (d.klass, d.variant, d.status, int(retry) if retry and retry.isdigit() else None, d.key_id, d.key_state)


def _summarised(entries: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Entries as plain data marshal can pack: the answer replaced by its summary, and each value
    that repeats (target, header lines, body, address) made one object, which marshal then
    writes once per chunk and refers back to."""
    memo: dict[Any, Any] = {}
    one = memo.setdefault
    summaries: dict[int, Any] = {}
    out = []
    for seq, when, method, target, headers, body, remote, d, fault in entries:
        summary = summaries.get(id(d), summaries)
        if summary is summaries:
            summary = summaries[id(d)] = _summary(d)
        if type(headers) is not tuple:  # a Head built by hand may carry lists; aiohttp's are tuples
            headers = tuple(map(tuple, headers))
        out.append((seq, when, method, one(target, target), one(headers, headers), one(body, body), one(remote, remote), summary, fault))
    return out


class Journal:
    """A bounded, append-only record of requests; `entries()` gives them redacted.

    Recent entries are tuples in a list; every CHUNK of them is packed with `marshal` into one
    bytes object. A journal of many small live objects slows every later allocation of the
    server (measured: 5-10 us per request once tens of thousands are kept); packed, the memory
    of each request is freed and reused at once, and the journal is a few large blobs. The
    oldest chunks go once the journal holds more than `limit` entries or `max_bytes` packed.
    """

    def __init__(self, limit: int = DEFAULT_LIMIT, max_bytes: int = DEFAULT_MAX_BYTES):
        self.limit = max(1, limit)
        self.max_bytes = max(1, max_bytes)
        self._pending: list[tuple[Any, ...]] = []
        self._chunks: deque[tuple[int, bytes]] = deque()  # (entries, marshalled rows)
        self._packed = 0  # entries held in _chunks
        self._bytes = 0  # bytes held in _chunks
        self._cleared = 0  # entries ever added before the last clear
        self.add = self._adder()

    def _adder(self) -> Callable[..., None]:
        """`add(head, remote, decision, fault=None)`: record one request, its raw data, nothing parsed.

        Built as a closure over the list, the counter and the clock: it runs for every request.
        """
        pending = self._pending
        append = pending.append
        seq = itertools.count(1).__next__
        now = time.time
        pack = self._pack

        def add(head: Head, remote: str | None, decision: Decision | None, fault: str | None = None) -> None:
            append((seq(), now(), head.method, head.target, head.headers, head.body, remote, decision, fault))
            if len(pending) >= CHUNK:
                pack()

        return add

    def _pack(self) -> None:
        """Pack the pending entries into one chunk; drop the oldest chunks beyond the bounds."""
        rows = _summarised(self._pending)
        blob = marshal.dumps(rows)
        self._chunks.append((len(rows), blob))
        self._packed += len(rows)
        self._bytes += len(blob)
        self._pending.clear()
        # The newest chunk always stays: a bound smaller than one chunk still keeps recent entries.
        while len(self._chunks) > 1 and (self._packed - self._chunks[0][0] >= self.limit or self._bytes > self.max_bytes):
            count, old = self._chunks.popleft()
            self._packed -= count
            self._bytes -= len(old)

    def _rows(self) -> list[tuple[Any, ...]]:
        """Every entry held, oldest first, within the limit (answers as `_summary` tuples)."""
        rows: list[tuple[Any, ...]] = []
        for _, blob in self._chunks:
            rows += marshal.loads(blob)
        rows += _summarised(self._pending)
        return rows[-self.limit :]

    def __len__(self) -> int:
        return min(self.limit, self._packed + len(self._pending))

    @property
    def size(self) -> int:
        """Bytes held packed (the figure `max_bytes` bounds; pending entries are under one chunk)."""
        return self._bytes

    @property
    def last_seq(self) -> int:
        """The sequence number of the newest entry (that of the last one cleared when empty)."""
        rows = self._pending or (marshal.loads(self._chunks[-1][1]) if self._chunks else [])
        return rows[-1][SEQ] if rows else self._cleared

    @property
    def dropped(self) -> int:
        """How many of the oldest entries the bound pushed out since the last clear."""
        return max(0, self.last_seq - self._cleared - len(self))

    def clear(self) -> int:
        """Forget every entry; returns how many there were."""
        n = len(self)
        self._cleared = self.last_seq
        self._pending.clear()
        self._chunks.clear()
        self._packed = 0
        self._bytes = 0
        return n

    def entries(self, plan: Plan, store: KeyStore, since: int = 0) -> list[dict[str, Any]]:
        """The entries after sequence number `since`, as ARCHITECTURE.md's journal entry dicts."""
        redact = Redactor(store.secrets())
        # Requests repeat: within a chunk, equal targets, header lists and bodies are one object
        # (see _summarised), so what is derived from them is worked out once per distinct request.
        memo: dict[tuple[Any, ...], dict[str, Any]] = {}
        out = []
        for e in self._rows():
            if e[SEQ] <= since:
                continue
            key = (e[METHOD], id(e[TARGET]), id(e[HEADERS]), id(e[BODY]), e[ANSWER], e[FAULT])
            derived = memo.get(key)
            if derived is None:
                derived = memo[key] = _derived(plan, store, redact, e)
            out.append(_entry(e, derived))
        return out


def _credential(plan: Plan, redact: Redactor, head: Head, query: list[tuple[str, str]], key: Any, state: str | None) -> dict[str, Any]:
    """What the request carried as a credential, and where."""
    lines = credential_lines(plan, head)
    scheme = None
    if lines:
        value = lines[0].strip(b" \t")
        cut = first_separator(value, plan.tab)
        if cut >= 0:
            scheme = redact(_text(value[:cut]))
        elif (value.lower() if plan.insensitive else value) == plan.scheme:
            scheme = _text(value)

    def has_key(text: str) -> bool:
        return any(label.startswith("key:") for label in redact.labels(text))

    names = plan.query_names
    in_query = any(n in names for n, _ in query) or any(has_key(f"{n}={v}") for n, v in query)
    body_fields = plan.body.fields(head) if head.body else None
    in_body = bool(body_fields and any(n in names for n in body_fields)) or has_key(_text(head.body))
    cookies = [_text(v) for n, v in head.headers if n.lower() == b"cookie"]
    in_cookie = any(
        part.split("=", 1)[0].strip() in names for c in cookies for part in c.split(";")
    ) or any(has_key(unquote_plus(c)) for c in cookies)
    return {
        "header_lines": len(lines),
        "scheme": scheme,
        "key_id": key.id if key is not None else None,
        "state": state,
        "role": key.role if key is not None else None,
        "kind": key.kind if key is not None else None,
        "in_query": in_query,
        "in_body": in_body,
        "in_cookie": in_cookie,
    }


def _body(redact: Redactor, body: bytes) -> str:
    # The rule searches percent-encoded text decoded (a key in a form body, or in the path).
    return redact(_text(body))


# What refused a request before any route judged it (an entry's `outcome.refused_by`), kept in its
# fault slot: an admin call without the admin secret (mocks/_app.py), a request the HTTP parser
# refused (mocks/_protocol.py). The gate judges both (mocks/_rules.py).
REFUSED_ADMIN = "admin_secret"
REFUSED_PARSER = "http_parser"
REFUSALS = (REFUSED_ADMIN, REFUSED_PARSER)


def _outcome(summary: tuple[Any, ...] | None, fault: str | None) -> dict[str, Any]:
    refused = fault if fault in REFUSALS else None
    s = summary if summary is not None else NO_ANSWER
    return {"class": s[KLASS], "variant": s[VARIANT], "status": s[STATUS], "fault": None if refused else fault,
            "retry_after": s[RETRY_AFTER], "refused_by": refused}


def _derived(plan: Plan, store: KeyStore, redact: Redactor, e: tuple[Any, ...]) -> dict[str, Any]:
    """An entry's fields that follow from the request and its answer (redacted)."""
    target, summary = e[TARGET], e[ANSWER]
    head = Head(e[METHOD], target, e[HEADERS], e[BODY])
    query = query_pairs(target)
    s = summary if summary is not None else NO_ANSWER
    key_id, key_state = s[KEY_ID], s[KEY_STATE]
    key = store.get(key_id) if key_id is not None else None
    return {
        "path": redact(target.split("?", 1)[0]),
        "query": [[redact(n), redact(v)] for n, v in query],
        "headers": [[redact(_text(n)), redact(_text(v))] for n, v in head.headers],
        "body": _body(redact, head.body),
        "outcome": _outcome(summary, e[FAULT]),
        "credential": _credential(plan, redact, head, query, key, key_state),
    }


def _entry(e: tuple[Any, ...], d: dict[str, Any]) -> dict[str, Any]:
    """One journal entry dict (ARCHITECTURE.md); entries of equal requests share their nested values."""
    return {
        "seq": e[SEQ], "time": e[TIME], "method": e[METHOD], "path": d["path"], "query": d["query"],
        "headers": d["headers"], "body": d["body"], "remote": e[REMOTE], "outcome": d["outcome"],
        "credential": d["credential"],
    }
