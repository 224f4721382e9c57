"""The mock's own HTTP contract, which the mock serves and the suite, the gate and the tools speak
(ARCHITECTURE.md, Mock HTTP contract): one home, so the two sides of the wall cannot drift apart.

These belong to authconform, not to any provider: no spec path may enter the admin prefix
(specs/_grammar.py refuses one)."""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

# The admin API (keys, mint, expire, revoke, reset, journal, scenario) lives under this prefix.
ADMIN_PREFIX = "/__authconform__/"
# With an admin secret set (the gate always sets one, per run), an admin call must carry it in this
# header; a call without it is answered 403 and journaled like any client request.
ADMIN_HEADER = "X-Authconform-Admin"


def under_admin(path: str) -> bool:
    """The path is the admin prefix (with or without its last slash) or under it."""
    return path.startswith(ADMIN_PREFIX) or path + "/" == ADMIN_PREFIX

# `GET <ADMIN_PREFIX>keys` lists the mock's credentials by role (`valid`, `expired`, ...) and, beside
# them, entries of another nature. Both sides read that listing: the suite (its targets, what it
# redacts) and the gate (what it hands the client, what it redacts from the client's output). A key
# is redacted in every form the project derives from it, and nothing else is.
# The probe's binding value (`spec.binding`) names a resource (a subscription id): no credential.
KEY_LIST_RESOURCES: tuple[str, ...] = ("binding",)
# The exchange's username (`spec.exchange`) identifies rather than authenticates: a credential the
# suite holds (in a Secret, never printed by repr), but redacted from nothing and not judged by the
# echo check. A username in a greeting is no disclosure, and the mock's username ("authconform")
# blanked would blank the project's own name wherever a client prints it.
KEY_LIST_IDENTIFIERS: tuple[str, ...] = ("username",)
# The exchange's login (`spec.exchange`): credentials, but not keys, so no documented key prefix
# (`credential.token.prefix`) applies to them.
EXCHANGE_LOGIN: tuple[str, ...] = ("username", "password")

# Environment variables, `<ID>_<suffix>` (`ProviderSpec.env`; README "Against the live API"): a live
# run reads its credentials from them, the gate hands the mock's to the client under them.
# Credential state (a `GET keys` role) -> suffix; another role's is `<ROLE>_KEY`
# (`ProviderSpec.credential_env`).
CREDENTIAL_ENV: Mapping[str, str] = MappingProxyType(
    {
        "valid": "API_KEY",
        "expired": "EXPIRED_KEY",
        "revoked": "REVOKED_KEY",
        "limited": "LIMITED_KEY",
        "username": "USERNAME",
        "password": "PASSWORD",
    }
)
# The target's base URL (a live run's override; the mock's URL for a gated client).
BASE_URL_ENV = "BASE_URL"
# The PEM bundle of the gate's throwaway CA (`gate --tls`).
CA_BUNDLE_ENV = "CA_BUNDLE"
