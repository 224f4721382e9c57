"""Secrets: a live key is wrapped so that repr, str and format never show it."""
from __future__ import annotations

import hashlib
from typing import Iterable

FILTERED = "[Filtered]"
# A slice of a secret this long is treated as the secret itself (echo and leak checks).
MIN_LEAK = 6


class Secret:
    """A key. str()/repr()/format() give `[Filtered]`; `.reveal()` is the one way to the bytes.

    Not comparable with ==, so it can never be an assert operand whose value pytest prints.
    """

    __slots__ = ("_value", "label")

    def __init__(self, value: str, label: str = "key"):
        if not isinstance(value, str) or not value:
            raise ValueError("a secret is a non-empty string")
        self._value = value
        self.label = label

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


def redact(data: bytes | str, secrets: Iterable[Secret]) -> str:
    """Text with every secret (and every slice of it of MIN_LEAK+ chars at its ends) replaced by
    its placeholder."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    for s in sorted(secrets, key=lambda s: -len(s.reveal())):
        value = s.reveal()
        text = text.replace(value, s.placeholder())
    for s in secrets:
        value = s.reveal()
        if len(value) < MIN_LEAK:
            continue
        # Any window of MIN_LEAK chars of the key that survived (a truncated or mutated key).
        for i in range(len(value) - MIN_LEAK + 1):
            window = value[i : i + MIN_LEAK]
            if window in text:
                text = _redact_runs(text, value, s.placeholder())
                break
    return text


def _redact_runs(text: str, value: str, placeholder: str) -> str:
    """Replace every maximal run of text that is a substring of value (MIN_LEAK+ long)."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        best = 0
        for j in range(min(n, i + len(value)), i + MIN_LEAK - 1, -1):
            if text[i:j] in value:
                best = j - i
                break
        if best >= MIN_LEAK:
            out.append(placeholder)
            i += best
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def leaks(data: bytes | str, secret: Secret) -> bool:
    """True when data holds the secret or any MIN_LEAK-char slice of it."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    value = secret.reveal()
    if len(value) < MIN_LEAK:
        return value in text
    return any(value[i : i + MIN_LEAK] in text for i in range(len(value) - MIN_LEAK + 1))
