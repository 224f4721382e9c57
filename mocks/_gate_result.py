"""What one gated run found (GateResult: the client's status, the journal, the broken rules) and how
it is told: the violations table and verdict line on stderr, gate-ID.json and gate-ID.xml
(specs/_report_format.py writes both, specs/report.schema.json describes the JSON)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from specs import JUnitCase, JUnitSuite, ProviderSpec, write_json, write_junit

from ._journal import REFUSED_ADMIN, REFUSED_PARSER
from ._rules import GateRule, Violation, rules_for

EXIT_PASS, EXIT_BROKEN, EXIT_USAGE, EXIT_CLIENT = 0, 1, 2, 3


# --- the verdict ----------------------------------------------------------------------------------


@dataclass
class GateResult:
    """What one gated run found: the client's status, the journal, the broken rules."""

    spec: ProviderSpec
    base_url: str
    command: list[str]
    tls: bool
    scenario: str | None
    client_exit: int
    client_problem: str | None
    entries: list[dict[str, Any]]
    violations: list[Violation]
    allowed: frozenset[str]
    seconds: float
    dropped: int = 0
    timed_out: bool = False
    # The signal (SIGINT, SIGTERM) that stopped the gate mid-run: what it had is still judged and
    # reported, and the gate exits 128 + the signal's number.
    stopped_by: int | None = None
    # TLS connections of the client that never carried a request: the handshake failed (a client
    # that does not trust the throwaway CA, or speaks plain HTTP to https://), or the client closed
    # right after it (one that checks the certificate once the handshake is done, as wget does).
    tls_refused: int = 0

    @property
    def broken(self) -> list[Violation]:
        """Violations that count (not --allow'ed)."""
        return [v for v in self.violations if v.rule.id not in self.allowed]

    @property
    def exit_status(self) -> int:
        """128 + signal when stopped; 3 client failed or timed out; 1 any other rule broken; 0 pass."""
        if self.stopped_by is not None:
            return 128 + self.stopped_by
        broken = self.broken
        if self.timed_out or any(v.rule.id == "client.exit" for v in broken):
            return EXIT_CLIENT
        return EXIT_BROKEN if broken else EXIT_PASS

    def rule_verdicts(self) -> list[tuple[GateRule, str, list[Violation]]]:
        """Every rule with PASS / FAIL / NON-STRICT / ALLOWED and its violations."""
        rows = []
        for rule in rules_for(self.spec):
            mine = [v for v in self.violations if v.rule.id == rule.id]
            verdict = "PASS" if not mine else ("ALLOWED" if rule.id in self.allowed else rule.verdict)
            rows.append((rule, verdict, mine))
        return rows


# --- reports --------------------------------------------------------------------------------------


def format_violations(violations: Sequence[Violation], allowed: frozenset[str] = frozenset()) -> str:
    """Violations as an aligned text table, then each broken rule's source."""
    rows = [("VERDICT", "RULE", "FIRST", "REQUEST", "N", "WHAT")]
    for v in violations:
        verdict = "ALLOWED" if v.rule.id in allowed else v.verdict
        rows.append((verdict, v.rule.id, f"#{v.seq}" if v.seq is not None else "-", v.request, str(v.count), v.detail))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r[:5])) + "  " + r[5] for r in rows]
    lines.append("sources:")
    for rule in dict.fromkeys(v.rule for v in violations):
        lines.append(f"  {rule.id} [{rule.strength}{', security' if rule.security else ''}]: {rule.source}")
    return "\n".join(lines) + "\n"


def table(result: GateResult) -> str:
    """The run's summary for stderr: head line, violations table, verdict line."""
    spec = result.spec
    n = len(result.entries)
    head = f"authconform gate {spec.id}: {n} request{'s' * (n != 1)}"
    refused = sum(1 for e in result.entries if (e.get("outcome") or {}).get("refused_by") == REFUSED_PARSER)
    admin = sum(1 for e in result.entries if (e.get("outcome") or {}).get("refused_by") == REFUSED_ADMIN)
    if refused:
        head += f" ({refused} refused by the mock's HTTP parser as malformed)"
    if admin:
        head += f" ({admin} to the admin API, refused: no admin secret)"
    head += f", client exit {result.client_exit}"
    if result.client_problem:
        head += f" ({result.client_problem})"
    if result.dropped:
        head += (f"; the journal bound dropped the {result.dropped} oldest request(s), so only the last {n}"
                 " were judged")
    if result.tls_refused:
        bundle = spec.ca_bundle_env
        head += (f"; {result.tls_refused} TLS connection(s) refused the handshake or closed right after it "
                 f"without a request: the client does not trust the mock's throwaway CA (its bundle is ${bundle}, "
                 f'also SSL_CERT_FILE, CURL_CA_BUNDLE, ...; wget needs --ca-certificate="${bundle}") or spoke plain '
                 "HTTP to https://")
    body = format_violations(result.violations, result.allowed) if result.violations else ""
    return f"{head}\n{body}authconform gate {spec.id}: {verdict_line(result)}\n"


def verdict_line(result: GateResult) -> str:
    """The overall verdict and why the gate exits as it does (a row's verdict stays its own)."""
    code, broken = result.exit_status, result.broken
    if result.stopped_by is not None:
        return (f"STOPPED (exit {code}: stopped by signal {result.stopped_by}; what the mock saw until then "
                f"was judged: {len(broken)} violation(s))")
    if code == EXIT_CLIENT:
        return f"FAIL (exit {code}: the client command failed: {result.client_problem or f'exit {result.client_exit}'})"
    if broken:
        fails = sorted({v.rule.id for v in broken if v.verdict == "FAIL"})
        lenient = sorted({v.rule.id for v in broken if v.verdict != "FAIL"})
        parts = ([f"FAIL: {', '.join(fails)}"] if fails else []) + ([f"NON-STRICT: {', '.join(lenient)}"] if lenient else [])
        word = "FAIL" if fails else "NON-STRICT"
        return f"{word} (exit {code}: the gate fails on every broken rule not --allow'ed; {'; '.join(parts)})"
    if result.violations:
        return f"PASS ({len(result.violations)} violation(s), each allowed by --allow; exit 0)"
    return f"PASS (no rule broken of {len(rules_for(result.spec))})"


def report_json(result: GateResult) -> dict[str, Any]:
    """The whole run as JSON: rules with verdicts and violations, and the redacted journal."""
    return {
        "provider": result.spec.id,
        "base_url": result.base_url,
        "tls": result.tls,
        "scenario": result.scenario,
        "command": result.command,
        "client_exit": result.client_exit,
        "client_problem": result.client_problem,
        "exit_status": result.exit_status,
        "verdict": "PASS" if result.exit_status == EXIT_PASS else "FAIL",
        "timed_out": result.timed_out,
        "stopped_by_signal": result.stopped_by,
        "tls_connections_refused": result.tls_refused,
        "seconds": round(result.seconds, 3),
        "requests": len(result.entries),
        "dropped": result.dropped,
        "rules": [
            {"id": rule.id, "title": rule.title, "strength": rule.strength, "security": rule.security,
             "source": rule.source, "verdict": verdict,
             "violations": [{"seq": v.seq, "request": v.request, "detail": v.detail, "count": v.count} for v in mine]}
            for rule, verdict, mine in result.rule_verdicts()
        ],
        "journal": result.entries,
    }


def report_junit(result: GateResult) -> JUnitSuite:
    """One JUnit test case per rule; a broken rule is a <failure> (an --allow'ed one is <skipped>)."""
    cases = []
    for rule, verdict, mine in result.rule_verdicts():
        text = "\n".join(f"#{v.seq} {v.request} (x{v.count}): {v.detail}" for v in mine)
        if verdict in ("FAIL", "NON-STRICT"):
            case = JUnitCase(rule.id, f"gate.{result.spec.id}", "failure", f"{verdict}: {rule.title}",
                             f"{text}\nsource [{rule.strength}]: {rule.source}", type=verdict)
        elif verdict == "ALLOWED":
            case = JUnitCase(rule.id, f"gate.{result.spec.id}", "skipped", f"allowed by --allow: {text}")
        else:
            case = JUnitCase(rule.id, f"gate.{result.spec.id}")
        cases.append(case)
    return JUnitSuite(f"authconform.gate.{result.spec.id}", tuple(cases), time=result.seconds)


def write_reports(result: GateResult, directory: Path) -> list[Path]:
    """`gate-ID.json` and `gate-ID.xml` under the report folder, by specs' writers. The gate redacts
    before: the journal and the command line are redacted in `gate()`, and rules judge the redacted journal."""
    stem = directory / f"gate-{result.spec.id}"
    return [write_json(stem.with_suffix(".json"), report_json(result)),
            write_junit(stem.with_suffix(".xml"), [report_junit(result)])]

