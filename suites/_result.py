"""What a case run leaves behind: one CheckResult per check and one CaseResult per case, every
text already redacted (keys shown as their placeholders), so reports may print them as they are."""
from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from specs import Rule

from ._verdict import Verdict


# The longest one-line reason `CaseResult.headline` gives.
HEADLINE = 200
# How a check excused by a spec's `deviations` entry begins its note.
DEVIATION_NOTE = "known deviation:"


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict on one exchange, with the rule it judged by."""

    check: str
    verdict: Verdict
    rule: Rule | None = None
    expected: str | None = None
    got: str | None = None
    forced: bool = False
    # Why INFO or NOT-APPLICABLE, or which prelude request it was about.
    note: str | None = None
    # Which requests the spec says get the expected answer, where it weakened the verdict.
    trigger: Rule | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = {k: v for k, v in asdict(self).items() if v is not None and k not in ("rule", "trigger")}
        out["verdict"] = self.verdict.value
        if self.rule is not None:
            out["rule"] = rule_dict(self.rule)
        if self.trigger is not None:
            out["trigger"] = rule_dict(self.trigger)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CheckResult":
        """The CheckResult that `as_dict` gave `data` (reports gathered from xdist workers)."""
        kwargs = _known(cls, data)
        kwargs["verdict"] = Verdict(data["verdict"])
        # Every Rule field (rule, trigger, ...) went out as rule_dict: it comes back a Rule.
        for f in fields(cls):
            if "Rule" in str(f.type) and isinstance(kwargs.get(f.name), dict):
                kwargs[f.name] = Rule(**kwargs[f.name])
        return cls(**kwargs)


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The fields of the dataclass `cls` found in `data` (as_dict adds derived entries, and leaves
    out the ones that are None)."""
    return {f.name: data.get(f.name) for f in fields(cls) if f.name in data or f.default is MISSING and f.default_factory is MISSING}


def rule_dict(rule: Rule) -> dict[str, str]:
    """A rule as JSON-ready data: strength, source (and reason for inferred rules)."""
    return {k: v for k, v in asdict(rule).items() if v is not None}


@dataclass
class CaseResult:
    """One case's outcome: verdict, the checks behind it, and the redacted exchange."""

    case_id: str
    provider: str
    klass: str
    variant: str | None
    description: str
    credential: str
    mode: str
    verdict: Verdict
    checks: list[CheckResult] = field(default_factory=list)
    # The skip reason, or the failure message (headline, rule, replay).
    reason: str | None = None
    request: str | None = None
    response: str | None = None
    replay: str | None = None
    rules: dict[str, dict[str, str]] = field(default_factory=dict)
    prelude_requests: int = 0
    duration: float = 0.0

    def failed(self) -> list[CheckResult]:
        """The checks that did not pass (FAIL, NON-STRICT, INFO), worst first."""
        order = (Verdict.FAIL, Verdict.NON_STRICT, Verdict.INFO)
        return sorted((c for c in self.checks if c.verdict in order), key=lambda c: order.index(c.verdict))

    def headline(self, limit: int = HEADLINE) -> str:
        """One line saying why the case is not PASS, for terminal listings: the deciding check, what
        it expected and got, and its note (which answer came back, the HTTP layer, a deviation); the
        reason for SKIP; "" for PASS. Already redacted like every text of a result."""
        if self.verdict is Verdict.PASS:
            return ""
        bad = self.failed()
        if self.verdict is Verdict.SKIP or not bad:
            text = (self.reason or self.verdict.value).strip().splitlines()[0] if (self.reason or "").strip() else self.verdict.value
        else:
            c = bad[0]
            said = f"expected {c.expected}, got {c.got}" if c.expected or c.got else ""
            # The note first: which answer came back, the HTTP layer, a deviation say the most.
            text = f"{c.check}: " + "; ".join(p for p in (c.note or "", said) if p)
        text = " ".join(text.split())
        return text if len(text) <= limit else text[: limit - 3] + "..."

    def deciding_rule(self) -> dict[str, str] | None:
        """The rule behind the verdict: the worst non-passing check's (with the check's name), else
        the rule that says the case is accepted or rejected; None when the case names no rule."""
        for c in self.failed():
            if c.rule is not None:
                return {"check": c.check, **rule_dict(c.rule)}
        for name in ("reject", "accept"):
            if name in self.rules:
                return {"name": name, **self.rules[name]}
        return None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: every field, plus `failure_class` and the deciding `rule` (check,
        strength, source) so that a reader of report.json need not work them out."""
        out = asdict(self)
        out["verdict"] = self.verdict.value
        out["checks"] = [c.as_dict() for c in self.checks]
        out["failure_class"] = self.klass
        out["rule"] = self.deciding_rule()
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CaseResult":
        """The CaseResult that `as_dict` gave `data` (reports gathered from xdist workers)."""
        kwargs = _known(cls, data)
        kwargs["verdict"] = Verdict(data["verdict"])
        kwargs["checks"] = [CheckResult.from_dict(c) for c in data.get("checks", [])]
        return cls(**kwargs)
