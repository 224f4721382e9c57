"""Verdicts, modelled on Autobahn|Testsuite: PASS, FAIL, NON-STRICT, INFO, SKIP, and how they combine."""
from __future__ import annotations

import enum
from typing import Iterable

from specs import Rule, broken_verdict, weaker


class Verdict(str, enum.Enum):
    """How a case or check ended (README, Verdicts)."""

    PASS = "PASS"
    FAIL = "FAIL"
    NON_STRICT = "NON-STRICT"
    INFO = "INFO"
    SKIP = "SKIP"

    def __str__(self) -> str:
        return self.value

    @property
    def fails_run(self) -> bool:
        """pytest's exit status follows FAIL only (README, Verdicts)."""
        return self is Verdict.FAIL


# Worst first: a case is as bad as its worst check; SKIP only wins when nothing ran.
_ORDER = (Verdict.FAIL, Verdict.NON_STRICT, Verdict.INFO, Verdict.PASS, Verdict.SKIP)


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The worst of several verdicts (FAIL > NON-STRICT > INFO > PASS > SKIP); SKIP when empty."""
    ranks = [_ORDER.index(v) for v in verdicts]
    return _ORDER[min(ranks)] if ranks else Verdict.SKIP


def verdict_for(rule: Rule, forced: bool = False, trigger: Rule | None = None) -> Verdict:
    """The verdict for breaking a rule.

    specs.broken_verdict: "A broken `documented` rule is FAIL; a broken `rfc` or `inferred` rule is
    NON-STRICT. Accepting a request that carries no valid credential, and echoing a credential, are
    FAIL whatever the strength." `forced` marks those security failures. A rule has an outcome (the
    answer, `rule`) and a trigger (which requests get it): the verdict follows the weaker of the
    two, so FAIL needs both documented.
    """
    return Verdict(broken_verdict(weaker(rule, trigger).strength, security=forced))
