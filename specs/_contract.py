"""The mock's own HTTP contract, which the mock serves and the suite, the gate and the tools speak
(ARCHITECTURE.md, Mock HTTP contract): one home, so the two sides of the wall cannot drift apart.

These belong to authconform, not to any provider: no spec path may enter the admin prefix
(specs/_grammar.py refuses one)."""
from __future__ import annotations

# The admin API (keys, mint, expire, revoke, reset, journal, scenario) lives under this prefix.
ADMIN_PREFIX = "/__authconform__/"
# With an admin secret set (the gate always sets one, per run), an admin call must carry it in this
# header; a call without it is answered 403 and journaled like any client request.
ADMIN_HEADER = "X-Authconform-Admin"


def under_admin(path: str) -> bool:
    """The path is the admin prefix (with or without its last slash) or under it."""
    return path.startswith(ADMIN_PREFIX) or path + "/" == ADMIN_PREFIX
