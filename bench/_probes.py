"""The three requests every throughput run sends: valid key, wrong key, missing header.

Each is the spec's probe (method, path, content type, body); only the credential header differs.
"""
from __future__ import annotations

from dataclasses import dataclass

from specs import ProviderSpec
from suites import RawRequest, RawResponse, send

PATHS: tuple[str, ...] = ("valid", "wrong_key", "missing")


@dataclass(frozen=True)
class ProbeRequest:
    """One request of a path, the status the spec says it gets, and the body it sends."""

    path_name: str
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    expect_status: int

    def raw(self) -> RawRequest:
        """The request for the suite's raw transport (bytes on the wire, keep-alive)."""
        return RawRequest.build(self.method, self.target, self.headers, self.body)

    def send(self, base_url: str, timeout: float = 5.0) -> RawResponse:
        """Send it once on a fresh connection."""
        return send(base_url, self.raw(), timeout=timeout)


def wrong_key(key: str) -> str:
    """A key of the same shape that the store does not know: its last character changed.

    '0' and '1' are in every key alphabet the specs use (alphanumeric, hex, base64url JWT segments).
    """
    return key[:-1] + ("1" if key[-1] == "0" else "0")


def probe_request(spec: ProviderSpec, path_name: str, key: str | None) -> ProbeRequest:
    """The probe with the credential of one path: `valid` and `wrong_key` need the valid key."""
    probe = spec.probe
    headers: list[tuple[str, str]] = []
    if probe.content_type:
        headers.append(("Content-Type", probe.content_type))
    if path_name == "valid":
        assert key, "the valid path needs the mock's valid key"
        headers.append((spec.credential.header, spec.credential.render(key)))
        status = probe.success.status
    elif path_name == "wrong_key":
        assert key, "the wrong-key path starts from the mock's valid key"
        headers.append((spec.credential.header, spec.credential.render(wrong_key(key))))
        status = spec.failures["invalid"].status
    elif path_name == "missing":
        status = spec.failures["missing"].status
    else:
        raise ValueError(f"path must be one of {', '.join(PATHS)}, got {path_name!r}")
    return ProbeRequest(path_name, probe.method, probe.path, tuple(headers), probe.encode(), status)
