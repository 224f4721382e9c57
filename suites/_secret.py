"""Secrets: a live key is wrapped so that repr, str and format never show it."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Iterable

from specs import MIN_RUN, Entry, Redaction

FILTERED = "[Filtered]"


class Secret:
    """A key. str()/repr()/format() give `[Filtered]`; `.reveal()` is the one way to the bytes.

    Not comparable with ==, so it can never be an assert operand whose value pytest prints.
    """

    __slots__ = ("_value", "label", "public")

    def __init__(self, value: str, label: str = "key", public: str = ""):
        if not isinstance(value, str) or not value:
            raise ValueError("a secret is a non-empty string")
        self._value = value
        self.label = label
        # The documented prefix (`credential.token.prefix`) the key starts with: it names the kind
        # of key, is not secret, and redaction leaves it readable.
        self.public = public

    def reveal(self) -> str:
        """The key itself: only for building the request bytes."""
        return self._value

    def placeholder(self) -> str:
        """How the key is shown in every output: `<CLORO_API_KEY>`."""
        return f"<{self.label}>"

    def fingerprint(self) -> str:
        """A short, non-reversible id for reports (first 8 hex of SHA-256)."""
        return hashlib.sha256(self._value.encode("utf-8")).hexdigest()[:8]

    def __repr__(self) -> str:
        return FILTERED

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return FILTERED

    def __eq__(self, other: object) -> bool:
        raise TypeError("compare secrets with hmac.compare_digest on bytes, not ==")

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> object:
        raise TypeError("a Secret is not picklable")


def _entry(secret: Secret) -> tuple[str, str, str]:
    return (secret.reveal(), secret.label, secret.public)


@lru_cache(maxsize=64)
def _rule(entries: tuple[tuple[str, str, str], ...]) -> Redaction:
    """The redaction rule over these secrets (kept: a run redacts with the same few sets again and again)."""
    return Redaction(entries)


def redact(data: bytes | str, secrets: Iterable[Secret]) -> str:
    """Text with every form of every secret replaced by its placeholder: specs' one rule
    (specs/_redaction.py): `<CLORO_API_KEY>` for the key, `<CLORO_API_KEY:partial>` for any other
    form of it (case-flipped, truncated, percent- or base64-encoded); documented prefixes kept."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    entries = tuple(sorted({_entry(s) for s in secrets}))
    return _rule(entries)(text) if entries else text


def leaks(data: bytes | str, secret: Secret) -> bool:
    """True when data holds any form of the secret that redaction replaces (a slice of MIN_RUN+
    characters of its secret part, in any case, plain, percent- or base64-encoded)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return _rule((_entry(secret),)).leaks(text)


def echoes(data: bytes | str, secret: Secret) -> bool:
    """True when data holds the secret's secret part or a MIN_RUN-char slice of it, exactly as
    presented: the echo check's judgement (a response quoting the credential), narrower than
    redaction on purpose. Redaction must catch every form (case-folded, encoded) a run could print;
    a FAIL must be one the provider would accept as a bug, and arbitrary generated tokens folded
    and base64-encoded share 6-character runs with ordinary header text by chance."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    value = Entry(secret.reveal(), secret.label, secret.public).secret_part
    if len(value) < MIN_RUN:
        return value in text
    return any(value[i : i + MIN_RUN] in text for i in range(len(value) - MIN_RUN + 1))
