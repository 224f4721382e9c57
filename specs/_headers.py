"""The value a required answer header takes: one fact, used by the mock to send it and the lint to
prove at `specs check` that it can be sent."""
from __future__ import annotations

import re

from ._regex import spec_search

# An anchored literal regex (`^Token$`, `^Token`): characters other than metacharacters, or escapes.
_LITERAL = re.compile(r"(?:[^\\.^$*+?{}\[\]|()]|\\.)*")


def _literal(pattern: str) -> str | None:
    """The string an anchored literal regex such as `^Token$` or `^Token` spells out, if it is one."""
    core = pattern.removeprefix("^").removesuffix("$")
    if _LITERAL.fullmatch(core):
        return re.sub(r"\\(.)", r"\1", core)
    return None


def header_example(name: str, pattern: str, challenge: str | None, scheme: str | None, retry_after: int | None) -> str | None:
    """A value for header `name` that matches the spec regex `pattern`, or None when none is at hand.

    WWW-Authenticate takes the spec's challenge (or the bare scheme), Retry-After the rate-limit
    window, any header an anchored literal pattern's own text.
    """
    low = name.lower()
    candidates: list[str] = []
    if low == "www-authenticate":
        candidates += [c for c in (challenge, scheme) if c]
    elif low == "retry-after":
        candidates.append(str(retry_after or 1))
    lit = _literal(pattern)
    if lit is not None:
        candidates.append(lit)
    return next((v for v in candidates if spec_search(pattern, v)), None)
