"""A live target's health, checked with one request before any case: is anything listening at the
base URL, and is it the API the spec describes?

Without this, a base URL with nothing behind it turns into a FAIL per case ("a 5xx status means the
server failed") and a server answering an HTML 404 to everything into FAILs that blame the
provider; a server that accepts and never answers holds the run for the per-request timeout of
every case. One problem line names the target and what went wrong; the provider's cases are then
skipped with it, and the run exits non-zero.
"""
from __future__ import annotations

from ._cases import canonical, probe_request
from ._target import Target
from ._transport import DEFAULT_TIMEOUT, Connection, RawResponse

# Statuses a probe gets where the path or the method is not the API's (RFC 9110 §15.5.5, §15.5.6).
WRONG_PLACE = (404, 405)


class _Probe:
    """The minimum of a case context that probe_request needs."""

    def __init__(self, target: Target):
        self.target = target


def _json_promised(target: Target) -> bool:
    body = target.spec.probe.success.body
    return isinstance(body, (dict, list))


def _is_json(response: RawResponse) -> bool:
    ctype = (response.header("Content-Type") or "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        return True
    try:
        response.json()
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def check_health(target: Target, timeout: float = DEFAULT_TIMEOUT) -> str | None:
    """One request to the target: the probe with the valid key (without one when there is none),
    waiting at most the per-request timeout of every case. A one-line problem naming the target and
    the error, or None when it is fit to judge."""
    probe = target.spec.probe
    key = target.credentials.get("valid")
    ctx = _Probe(target)
    request = probe_request(ctx, canonical(target.spec, key.reveal()) if key else ())  # type: ignore[arg-type]
    where = f"`{probe.method} {probe.path}`"
    with_what = "with the valid key" if key else "without a key"
    try:
        with Connection(target.base_url, timeout=timeout) as conn:
            response = conn.send(request)
    except OSError as exc:  # refused, DNS, TLS: the connection never opened
        return f"{target.provider}: {target.base_url} cannot be reached: {type(exc).__name__}: {exc}"
    if response.layer == "closed":
        if (response.error or "").startswith("timeout"):
            return f"{target.provider}: {target.base_url} answered nothing within {timeout:g} s"
        return f"{target.provider}: {target.base_url} closed the connection without an answer ({response.error})"
    if response.status in WRONG_PLACE:
        return f"{target.provider}: the probe {where} answered {response.status} {with_what}: is the base URL right?"
    if key and 200 <= response.status < 300 and _json_promised(target) and not _is_json(response):
        ctype = response.header("Content-Type") or "no Content-Type"
        return f"{target.provider}: the probe {where} answered {response.status} ({ctype}, not JSON) {with_what}: is the base URL right?"
    return None
