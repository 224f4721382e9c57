"""A client for the mock's admin API (ARCHITECTURE.md, Mock HTTP contract), spoken over HTTP only:
the suite never imports the mock, so a bug in the mock cannot hide the same bug in a check.

It lives with the suite because the suite is what needs it: against a mock, its cases ask the admin
API for the key of each state and mint keys (drive/ and fixtures/ use it through `suites`)."""
from __future__ import annotations

import json
from typing import Any

from specs import ADMIN_HEADER, ADMIN_PREFIX

from ._transport import RawRequest, send

PREFIX = ADMIN_PREFIX.rstrip("/")


class AdminError(RuntimeError):
    """The admin API answered something other than the contract says."""


class MockAdmin:
    """The admin endpoints of one running mock: keys, mint, revoke, reset, journal."""

    def __init__(self, base_url: str, timeout: float = 5.0, secret: str | None = None):
        self.base_url = base_url
        self.timeout = timeout
        # A mock served with an admin secret (`serve --admin-secret-env VAR`) answers only calls
        # that carry it in ADMIN_HEADER.
        self.secret = secret

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = [("Content-Type", "application/json")] if payload is not None else []
        if self.secret:
            headers.append((ADMIN_HEADER, self.secret))
        try:
            resp = send(self.base_url, RawRequest.build(method, PREFIX + path, headers, body), timeout=self.timeout)
        except OSError as exc:
            raise AdminError(f"{method} {PREFIX}{path}: {type(exc).__name__}: {exc}") from None
        if resp.layer == "closed":
            raise AdminError(f"{method} {PREFIX}{path}: no response ({resp.error})")
        if not 200 <= resp.status < 300:
            raise AdminError(f"{method} {PREFIX}{path}: status {resp.status}")
        if not resp.body:
            return None
        try:
            return resp.json()
        except ValueError:
            raise AdminError(f"{method} {PREFIX}{path}: the answer is not JSON") from None

    def keys(self) -> dict[str, str]:
        """`GET /__authconform__/keys`: the key of every state (and Crux/Flash extras)."""
        keys = self._call("GET", "/keys")
        if not isinstance(keys, dict):
            raise AdminError(f"GET {PREFIX}/keys: expected a JSON object")
        return {str(k): str(v) for k, v in keys.items()}

    def reset(self) -> None:
        """`POST /__authconform__/reset`: initial keys back, journal and rate counters cleared."""
        self._call("POST", "/reset")

    def mint(self, state: str = "valid", **fields: Any) -> str:
        """`POST /__authconform__/keys`: a fresh key of a state (scopes, binding, kind optional)."""
        return self.mint_entry(state, **fields)[1]

    def mint_entry(self, state: str = "valid", **fields: Any) -> tuple[str, str]:
        """As `mint`, with the key's id (for `revoke` and the journal's `key_id`): (id, key)."""
        answer = self._call("POST", "/keys", {"state": state, **{k: v for k, v in fields.items() if v is not None}})
        if not isinstance(answer, dict) or not isinstance(answer.get("key"), str) or not isinstance(answer.get("id"), str):
            raise AdminError(f"POST {PREFIX}/keys: expected {{'id': ..., 'key': ...}}")
        return answer["id"], answer["key"]

    def revoke(self, key_id: str) -> None:
        """`POST /__authconform__/keys/{id}/revoke`: the key is revoked from now on."""
        self._call("POST", f"/keys/{key_id}/revoke")

    def journal(self, since: int = 0) -> list[dict[str, Any]]:
        """`GET /__authconform__/journal[?since=SEQ]`: the entries after `since` (keys redacted)."""
        answer = self._call("GET", f"/journal?since={since}" if since else "/journal")
        if not isinstance(answer, dict) or not isinstance(answer.get("entries"), list):
            raise AdminError(f"GET {PREFIX}/journal: expected {{'entries': [...], 'dropped': n}}")
        return answer["entries"]

    def clear_journal(self) -> None:
        """`DELETE /__authconform__/journal`: every entry forgotten."""
        self._call("DELETE", "/journal")
