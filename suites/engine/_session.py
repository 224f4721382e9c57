"""The generated engine: runs each strategy of `_strategies` against one provider's target with
Hypothesis, judges every exchange by the four properties, and shrinks what breaks them.

One `EngineSession` per provider holds one keep-alive connection (guarded: budget, pacing, 429),
the judge and the counters; `session.run(name)` runs one strategy and returns a `StrategyRun`.

Hypothesis only ever handles `Generated` items (placeholders and mutations, never key bytes); the
key is substituted in `execute`, at send time. A strategy runs in three steps:
1. the plainest request of every branch (what Hypothesis shrinks that branch to), so that no kind
   of request is missed by the luck of the draw; what breaks here is minimal for its kind;
2. the seeded Hypothesis search; a FAIL not already shown is raised inside the test, so it is
   shrunk to a minimal request; a NON-STRICT is kept on the side (it must not end the search);
3. for a NON-STRICT seen in 2 only, a second search that raises on it alone, to shrink it.
"""
from __future__ import annotations

import json
import os
import shlex
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from hypothesis import HealthCheck, Verbosity, given, seed, settings
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from .._checks import excerpt
from .._replay import response_text
from .._result import DEVIATION_NOTE, CaseResult, CheckResult
from .._secret import Secret, leaks, redact
from .._target import LIVE, Target
from .._transport import Connection, RawRequest, RawResponse
from .._verdict import Verdict, worst
from ._judge import PROPERTY, Judge, Judged
from ._live import DEFAULT_BUDGET, DEFAULT_PACE, BudgetSpent, GuardedConnection, Limits
from ._strategies import STRATEGIES, Generated, alphabet_of, simplest, strategy_for
from ._template import Context

# Examples per strategy per provider on a mock: enough to find every planted defect (the
# self-tests prove it), few enough that all five providers x seven strategies run in seconds.
DEFAULT_MAX_EXAMPLES = 60
DEFAULT_SEED = 0
MOCK_TIMEOUT = 5.0
LIVE_TIMEOUT = 10.0
# Responses kept for replays on live targets: Hypothesis re-runs the final example to report it,
# and that must neither spend budget nor come out different.
LIVE_CACHE = 4096
LAYER_WORDS = {"app": "from the application", "parser": "from the HTTP parser", "closed": "none: the connection dropped"}
# What an INFO of each check means, for the one-line summary.
INFO_WORDS = {
    "answered_by_app": "answered by the HTTP parser (400/431), not the auth layer",
    "http_layer": "refused by the HTTP layer (400/413/431 or a closed connection), the RFC's answer",
    "lenient": "answered liberally where the RFC allows it",
    "rate_limited": "rate limited after Retry-After",
    "catalogue_entry": "of a class the spec has no catalogue entry for",
}



class Namespaced(ExampleDatabase):
    """Another example database's entries under a key prefix, through Hypothesis's public database
    interface (save, fetch, delete, move): several searches of one test function kept apart."""

    def __init__(self, inner: ExampleDatabase, prefix: bytes):
        super().__init__()
        self.inner = inner
        self.prefix = prefix

    def save(self, key: bytes, value: bytes) -> None:
        """Save under the prefixed key."""
        self.inner.save(self.prefix + key, value)

    def fetch(self, key: bytes) -> Any:
        """The values under the prefixed key."""
        return self.inner.fetch(self.prefix + key)

    def delete(self, key: bytes, value: bytes) -> None:
        """Delete under the prefixed key."""
        self.inner.delete(self.prefix + key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        """Move between prefixed keys."""
        self.inner.move(self.prefix + src, self.prefix + dest, value)


@dataclass(frozen=True)
class EngineOptions:
    """How hard to search: examples per strategy, seed, live budget and pace, Hypothesis database."""

    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int = DEFAULT_SEED
    budget: int | None = None
    pace: float | None = None
    # Hypothesis's example database; "default" keeps Hypothesis's own (.hypothesis/ or
    # HYPOTHESIS_STORAGE_DIRECTORY). Only choice sequences go in it, never a key.
    database: Any = "default"
    # The pytest options that select the same target again (--live, --base-url, --mock-defect),
    # for the rerun line a failure prints.
    rerun_args: str = ""

    @staticmethod
    def for_mode(mode: str, max_examples: int | None = None, seed_: int | None = None, budget: int | None = None,
                 pace: float | None = None, rerun_args: str = "") -> "EngineOptions":
        """The defaults of a mode (budget and pace apply to live targets only)."""
        live = mode == LIVE
        return EngineOptions(
            max_examples=DEFAULT_MAX_EXAMPLES if max_examples is None else max_examples,
            seed=DEFAULT_SEED if seed_ is None else seed_,
            budget=(DEFAULT_BUDGET if budget is None else budget) if live else None,
            pace=(DEFAULT_PACE if pace is None else pace) if live else None,
            rerun_args=rerun_args,
        )


@dataclass
class Finding:
    """A broken property, on the (shrunk) example that shows it; every text redacted."""

    provider: str
    strategy: str
    result: CheckResult
    kind: str
    request: str
    expected_outcome: str
    response: str
    replay: str
    rerun: str
    # "simplest of its kind" (a branch's plainest request), "shrunk" (by Hypothesis) or
    # "first seen, not shrunk".
    how: str = "shrunk"
    mode: str = LIVE
    # Which layer answered: app, parser (a 400/431 before any auth code ran) or closed.
    layer: str = "app"
    # The generated item itself (placeholders only), for tools and self-tests.
    item: Generated | None = field(default=None, repr=False, compare=False)

    @property
    def verdict(self) -> Verdict:
        """FAIL, NON-STRICT or INFO."""
        return self.result.verdict

    @property
    def check(self) -> str:
        """The check that did not pass."""
        return self.result.check

    def message(self) -> str:
        """Headline, request (keys as placeholders), the rule, the response, how to replay."""
        r = self.result
        prop = PROPERTY.get(r.check, 0)
        head = f"[{r.verdict}] {self.provider}/{self.strategy}: property {prop} ({r.check}): expected {r.expected}, got {r.got}"
        lines = [head]
        if r.note:
            lines.append(f"  note: {r.note}")
        lines.append(f"  request ({self.kind}, {self.how}):")
        lines += ["    " + line for line in self.request.splitlines()]
        lines.append(f"  the spec's outcome for it: {self.expected_outcome}")
        if r.rule is not None:
            strength = f"{r.rule.strength}; FAIL whatever the strength" if r.forced else r.rule.strength
            lines.append(f"  rule ({strength}): {r.rule.source}")
        lines.append(f"  response ({LAYER_WORDS.get(self.layer, self.layer)}): {excerpt(self.response, 300)}")
        lines.append(f"  replay this request: {self.replay}")
        if self.mode != LIVE:
            lines.append(f"    (a mock that pytest started is gone after the run: start one with `python -m mocks serve {self.provider}`"
                         " and the same --defect options, and pass its base_url)")
        lines.append(f"  rerun the search: {self.rerun}")
        return "\n".join(lines)


@dataclass
class StrategyRun:
    """One strategy against one provider: counts, time, findings, what the parser answered."""

    provider: str
    strategy: str
    examples: int = 0
    requests: int = 0
    elapsed: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    infos: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    not_sent: int = 0
    stopped: str | None = None
    # The first finding each spec `deviations` entry excused (INFO): shown, so the baseline knows
    # the deviation still happens (never judged stale for a strategy that saw it).
    excused: dict[str, Finding] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        """The worst finding's verdict; PASS when none (SKIP when nothing was sent)."""
        if not self.findings:
            return Verdict.PASS if self.requests or not self.not_sent else Verdict.SKIP
        return worst(f.verdict for f in self.findings)

    def failures(self) -> list[Finding]:
        """Findings that fail the run."""
        return [f for f in self.findings if f.verdict is Verdict.FAIL]

    def summary(self) -> str:
        """One line: examples, requests, time, verdict, what was noted."""
        rate = self.requests / self.elapsed if self.elapsed else 0.0
        notes = ", ".join(f"{n} {INFO_WORDS.get(k, k)}" for k, n in sorted(self.infos.items()))
        line = (f"{self.provider}/{self.strategy}: {self.verdict} - {self.examples} examples, {self.requests} requests "
                f"in {self.elapsed:.2f}s ({rate:.0f}/s)")
        if notes:
            line += f"; INFO: {notes}"
        if self.stopped:
            line += f"; stopped: {self.stopped}"
        return line

    def case_result(self, mode: str) -> CaseResult:
        """The run as one report entry (`provider.generated.strategy`)."""
        checks = [f.result for f in self.findings] or [CheckResult("generated", Verdict.PASS, note=self.summary())]
        result = CaseResult(
            f"{self.provider}.generated.{self.strategy}", self.provider, "generated", self.strategy,
            f"Hypothesis-generated {self.strategy} requests", "generated", mode, self.verdict, checks,
            duration=self.elapsed,
        )
        bad = sorted(self.findings, key=lambda f: [Verdict.FAIL, Verdict.NON_STRICT, Verdict.INFO].index(f.verdict))
        if bad:
            result.reason = "\n".join(f.message() for f in bad)
            result.request, result.response, result.replay = bad[0].request, bad[0].response, bad[0].replay
        else:
            result.reason = self.summary()
        return result


class Violation(AssertionError):
    """Raised inside the Hypothesis test for a broken property; carries its Finding."""

    def __init__(self, finding: Finding):
        self.finding = finding
        super().__init__(finding.message())


_VIOLATIONS: dict[str, type[Violation]] = {}


def _violation(check: str, verdict: Verdict) -> type[Violation]:
    """One exception type per (check, verdict), so Hypothesis shrinks each bug on its own."""
    name = f"{check}_{verdict.name}"
    if name not in _VIOLATIONS:
        _VIOLATIONS[name] = type(name, (Violation,), {"__module__": __name__})
    return _VIOLATIONS[name]


def _violations(exc: BaseException) -> list[Violation]:
    """Every Violation in an exception or (nested) exception group."""
    if isinstance(exc, Violation):
        return [exc]
    if isinstance(exc, BaseExceptionGroup):
        return [v for e in exc.exceptions for v in _violations(e)]
    return []


class EngineSession:
    """One provider's target, one guarded keep-alive connection, the judge and the counters."""

    def __init__(self, target: Target, options: EngineOptions | None = None):
        self.target = target
        self.spec = target.spec
        self.options = options or EngineOptions.for_mode(target.mode)
        live = target.mode == LIVE
        conn = Connection(target.base_url, timeout=LIVE_TIMEOUT if live else MOCK_TIMEOUT)
        # On a mock, a 429 is its rate limiter counting our own requests: reset it and go on.
        on_429 = None if live or target.admin is None else self._reset_mock
        deadline = f"the live deadline of {target.deadline_seconds:g} s for {target.provider} passed (--live-deadline)" if target.deadline else ""
        self.conn = GuardedConnection(conn, Limits(self.options.budget, self.options.pace, deadline=target.deadline, deadline_reason=deadline), on_429)
        self.judge = Judge(target)
        keys = {s: v.reveal().encode("utf-8") for s, v in target.credentials.items()}
        self.context = Context(keys, alphabet_of(self.spec), conn.host_header, conn.prefix)
        self.secrets: list[Secret] = list(target.secrets())
        self._cache: dict[bytes, RawResponse] | None = {} if live else None
        self.runs: list[StrategyRun] = []
        self._done: set[str] = set()

    def database(self) -> ExampleDatabase | None:
        """The example database: the option's, else Hypothesis's own, else (a profile such as
        "ci" turns it off) the default folder: only choice sequences go in, never a key."""
        if self.options.database != "default":
            return self.options.database
        if settings.default.database is not None:
            return settings.default.database
        root = os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY") or ".hypothesis"
        return DirectoryBasedExampleDatabase(os.path.join(root, "examples"))

    def _reset_mock(self) -> bool:
        self.target.reset()
        return True

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.conn.close()

    # --- one exchange ------------------------------------------------------------------------

    def send(self, request: RawRequest) -> RawResponse:
        """Send through the guard; on live targets an identical request is answered from cache."""
        if self._cache is None:
            return self.conn.send(request)
        wire = request.encode(self.context.host)
        if wire not in self._cache:
            response = self.conn.send(request)
            if len(self._cache) < LIVE_CACHE:
                self._cache[wire] = response
            return response
        return self._cache[wire]

    def execute(self, item: Generated) -> tuple[RawRequest, RawResponse, Judged]:
        """Render the item with the key bytes, send it, judge the answer (BudgetSpent passes up)."""
        request = item.template.render(self.context)
        response = self.send(request)
        return request, response, self.judge.judge(item, request, response, self.context)

    def finding(self, item: Generated, result: CheckResult, judged: Judged, response: RawResponse, how: str) -> Finding:
        """A redacted Finding for one result of one exchange."""
        known = {id(s) for s in self.secrets}
        # A presented token made from a key (the key cut, changed, with text appended) is redacted
        # by the key's own rule, which catches every form of it; registering the whole token would
        # also replace the literal text the generator added (`Python` in `Server: Python/3.11`).
        secrets = self.secrets + [s for s in self.judge.presented(item.template.render(self.context))
                                  if id(s) not in known and not any(leaks(s.reveal(), k) for k in self.secrets)]

        def red(text: str | None) -> str | None:
            return None if text is None else redact(text, secrets)

        clean = CheckResult(result.check, result.verdict, result.rule, red(result.expected), red(result.got), result.forced, red(result.note), result.trigger)
        return Finding(
            self.spec.id, item.strategy, clean, item.kind, item.template.show(dict(item.labels)),
            ", ".join(str(o) for o in judged.expected), red(response_text(response)) or "",
            self.replay_command(item), self.rerun_command(item.strategy), how, self.target.mode, response.layer, item,
        )

    def replay_command(self, item: Generated) -> str:
        """A shell command that sends this one request again (the key read from the environment)."""
        doc = json.dumps(item.template.to_json(), separators=(",", ":"))
        return f"python -m suites.engine.replay --provider {self.spec.id} --base-url {self.target.base_url} {shlex.quote(doc)}"

    def rerun_command(self, strategy: str) -> str:
        """The pytest line that repeats this strategy's search with the same seed."""
        args = f" {self.options.rerun_args}" if self.options.rerun_args else ""
        return f'pytest suites/test_generated.py -k "{self.spec.id} and {strategy}"{args} --hypothesis-seed {self.options.seed}'

    # --- one strategy ------------------------------------------------------------------------

    def _try(self, run: StrategyRun, item: Generated, count: bool) -> tuple[RawResponse, Judged] | None:
        """One example: sent and judged, or None when the budget allows no more requests."""
        run.examples += 1
        try:
            _, response, judged = self.execute(item)
        except BudgetSpent as spent:
            run.not_sent += 1
            run.stopped = str(spent)
            return None
        if count:
            run.kinds[item.kind] += 1
            for r in judged.results:
                if r.verdict is Verdict.INFO:
                    run.infos[r.check] += 1
        for r in judged.results:
            if r.verdict is Verdict.INFO and (r.note or "").startswith(DEVIATION_NOTE) and r.note not in run.excused:
                run.excused[r.note] = self.finding(item, r, judged, response, how="excused by the spec's deviations")
        return response, judged

    def _simplest(self, run: StrategyRun, name: str) -> dict[tuple[str, Verdict], Finding]:
        """The plainest request of every branch, before any random search: each kind of request
        is tried at least once, and what breaks there is already minimal for its kind."""
        found: dict[tuple[str, Verdict], Finding] = {}
        for item in simplest(self.spec, name, self.target.binding):
            done = self._try(run, item, count=True)
            if done is None:
                break
            response, judged = done
            for r in judged.results:
                if r.verdict in (Verdict.FAIL, Verdict.NON_STRICT) and (r.check, r.verdict) not in found:
                    found[(r.check, r.verdict)] = self.finding(item, r, judged, response, how="simplest of its kind")
        return found

    def _hypothesis(self, run: StrategyRun, name: str, phase: str, raising: Callable[[CheckResult], bool],
                    side: dict[str, Finding], max_examples: int) -> list[Finding]:
        """One Hypothesis search: raise (and so shrink) what `raising` selects, keep NON-STRICTs
        on the side."""
        strategy = strategy_for(self.spec, name, self.target.binding)

        def body(item: Generated) -> None:
            done = self._try(run, item, count=phase == "search")
            if done is None:
                return
            response, judged = done
            for r in judged.results:
                if raising(r):
                    raise _violation(r.check, r.verdict)(self.finding(item, r, judged, response, how="shrunk"))
            for r in judged.results:
                if r.verdict is Verdict.NON_STRICT and r.check not in side:
                    side[r.check] = self.finding(item, r, judged, response, how="first seen, not shrunk")

        test = given(item=strategy)(body)
        # Seeded per provider, strategy and phase: the same seed repeats the same search. (@seed
        # turns the database off; the settings applied after it turn it back on.)
        test = seed(zlib.crc32(f"{self.options.seed}:{self.spec.id}:{name}:{phase}".encode()))(test)
        # One database namespace per provider, strategy and phase (the body is the same function,
        # which Hypothesis alone would key the same for all of them).
        database = self.database()
        namespaced = Namespaced(database, f"authconform:{self.spec.id}:{name}:{phase}:".encode()) if database is not None else None
        test = settings(
            max_examples=max_examples,
            deadline=None,
            database=namespaced,
            verbosity=Verbosity.quiet,
            report_multiple_bugs=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )(test)
        try:
            test()
        except Exception as exc:  # Hypothesis raises the shrunk Violation(s), possibly in a group
            found = _violations(exc)
            if not found:
                raise
            return [v.finding for v in found]
        return []

    def _search(self, run: StrategyRun, name: str, max_examples: int) -> None:
        """Simplest examples, then the random search for FAILs they did not show, then a shrinking
        pass for NON-STRICTs seen but not yet shown minimal."""
        known = self._simplest(run, name)
        side: dict[str, Finding] = {}
        fails = {c for c, v in known if v is Verdict.FAIL}
        searched = self._hypothesis(run, name, "search", lambda r: r.verdict is Verdict.FAIL and r.check not in fails, side, max_examples)
        pending = {c for c in side if (c, Verdict.NON_STRICT) not in known}
        shrunk = []
        if pending:
            shrunk = self._hypothesis(run, name, "shrink", lambda r: r.verdict is Verdict.NON_STRICT and r.check in pending, {}, max_examples)
        got = {f.check for f in shrunk}
        run.findings += list(known.values()) + searched + shrunk + [f for c, f in side.items() if c in pending and c not in got]
        run.findings += list(run.excused.values())

    def run(self, name: str) -> StrategyRun:
        """Run one strategy: search (FAILs raised and shrunk), then shrink any NON-STRICT seen."""
        run = StrategyRun(self.spec.id, name)
        self.target.reset()
        start, sent = time.perf_counter(), self.conn.sent
        max_examples = self.options.max_examples
        remaining = self.conn.remaining
        if remaining is not None:
            # A live budget is shared fairly among the strategies not run yet; the guard stops
            # this strategy at its share (explicit examples included) and the session at the budget.
            left = max(1, len([n for n in STRATEGIES if n not in self._done]))
            allowance = max(1, remaining // left)
            max_examples = max(1, min(max_examples, allowance))
            self.conn.share(allowance)
        try:
            self._search(run, name, max_examples)
        finally:
            self.conn.share(None)
            self._done.add(name)
        run.requests = self.conn.sent - sent
        run.elapsed = time.perf_counter() - start
        self.runs.append(run)
        return run


def strategy_names() -> tuple[str, ...]:
    """The strategies, in report order."""
    return tuple(STRATEGIES)
