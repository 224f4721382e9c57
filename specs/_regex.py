"""Regular expressions a spec supplies run on RE2: linear time in the input, no backtracking.

A spec's `headers` patterns are matched against server answers by the suite and turned into header
values by the mock. Python's `re` backtracks: `(a+)+$` against a 30-character challenge spins for
minutes. RE2 (google-re2) guarantees time linear in the input and refuses what it cannot do in
linear time (backreferences, lookaround), so such a pattern is refused at `specs check` instead.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

# RE2's own bound on a compiled program (bytes); a pattern larger than this is refused.
MAX_PROGRAM = 1 << 20


class SpecRegexError(ValueError):
    """A spec's pattern RE2 cannot compile, and why."""


@lru_cache(maxsize=512)
def spec_regex(pattern: str) -> Any:
    """The compiled RE2 pattern of a spec regex (cached); SpecRegexError when RE2 refuses it."""
    import re2

    options = re2.Options()
    options.max_mem = MAX_PROGRAM
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        # google-re2 gives its reason as bytes (b'missing ]: [0-9').
        reason = exc.args[0] if exc.args else b""
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        raise SpecRegexError(f"RE2 cannot compile it ({text or 'no reason given'})") from None


def spec_search(pattern: str, text: str) -> bool:
    """Whether a spec regex matches anywhere in text (RE2 search)."""
    return spec_regex(pattern).search(text) is not None
