"""Admin API input, checked before anything acts on it: each bad value is an AdminInputError naming
its field and what would be right, answered 400 with a JSON error; never a 500.

The admin API is input like any request: a body of 100,000 nested brackets, a `since` of Unicode
digits (`int()` reads `²`... as digits, then fails), a `binding` that is an object (it used to be
turned into its repr and mint a key no request can ever name). Types are checked against what the
mint means (ARCHITECTURE.md, admin API); values against the spec are the key store's check.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

MINT_FIELDS = ("state", "scopes", "binding", "kind")
MINT_SHAPE = '{"state": "valid", "scopes": [...], "binding": "...", "kind": "..."}'
# A journal sequence number: ASCII digits only, at most 18 (below 2**63, and far below the
# 4,300 digits past which int() refuses a string).
SEQ_DIGITS = 18


class AdminInputError(ValueError):
    """A bad admin input: `field` (None for the body as a whole) and what is wrong with it."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field

    def answer(self) -> dict[str, Any]:
        """The JSON error body: the message, and the field it is about."""
        out: dict[str, Any] = {"error": str(self)}
        if self.field is not None:
            out["field"] = self.field
        return out


def json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object ({} when empty); AdminInputError when it is not one."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, object_pairs_hook=_unique_names)
    except _DuplicateName as exc:
        raise AdminInputError(exc.field, f"{exc.field} is given twice: the body is ambiguous; give each field once") from None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; deep nesting recurses
        raise AdminInputError(None, f"the body must be JSON: {MINT_SHAPE}") from None
    if not isinstance(data, dict):
        raise AdminInputError(None, f"the body must be a JSON object: {MINT_SHAPE}")
    return data


class _DuplicateName(Exception):
    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose names are unique (RFC 8259 §4: "The names within an object SHOULD be
    unique"); `{"state": "valid", "state": "revoked"}` is refused, not read as its last name."""
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise _DuplicateName(name)
        out[name] = value
    return out


def _name(data: Mapping[str, Any], field: str, what: str) -> str | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise AdminInputError(field, f"{field} must be {what} (a non-empty string), not {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "true/false", str: "an empty string"}.get(type(value), "a number")


def mint_args(data: Mapping[str, Any]) -> dict[str, Any]:
    """POST keys: the mint's arguments, each of the right type (the store checks values against the spec)."""
    unknown = sorted(set(data) - set(MINT_FIELDS))
    if unknown:
        raise AdminInputError(unknown[0], f"unknown field {unknown[0]!r}; fields: {', '.join(MINT_FIELDS)}")
    scopes = data.get("scopes")
    if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)):
        raise AdminInputError("scopes", "scopes must be a list of scope names (strings)")
    binding = data.get("binding")
    # A resource id as the probe's body names it: a string, or a whole number (Flash's flash_id
    # may be sent as 12345); the decision compares it with the request's field as text.
    if isinstance(binding, int) and not isinstance(binding, bool):
        binding = str(binding)
    return {
        "state": _name(data, "state", "a key state") or "valid",
        "scopes": scopes,
        "binding": _name({"binding": binding}, "binding", "a resource id, or a whole number"),
        "kind": _name(data, "kind", "a kind of key"),
    }


def since(query: Mapping[str, str]) -> int:
    """GET journal's `since`: a sequence number in ASCII digits (0 when absent)."""
    text = query.get("since", "0")
    if not (text.isascii() and text.isdigit() and len(text) <= SEQ_DIGITS):
        raise AdminInputError("since", f"since must be a sequence number: ASCII digits 0-9, at most {SEQ_DIGITS}")
    return int(text)
