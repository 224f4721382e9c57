"""The kill matrix: the suite proves its own power against mocks with planted defects.

For every provider and every defect its mock can be run with (`python -m mocks defects ID --json`),
a mock is started with the defect (`python -m mocks serve ID --defect NAME`, a subprocess: the suite
never imports the mock) and the suite is run against it in-process: the fixed cases and the
generated engine at its default budget. ARCHITECTURE.md: "The suite must report a non-PASS verdict
(FAIL for documented rules and security) on at least one case for every applicable defect".

A defect is killed when some case reports a FAIL or NON-STRICT on a (case, check) that PASSes on the
clean mock of the same provider: what a clean mock already shows proves nothing about a defect.
A surviving defect fails the run, and so does any FAIL on a clean mock. Pairs run in two worker
processes by default (--workers N; with 1, in this process, the next mock starting ahead).
"""
from __future__ import annotations

import concurrent.futures
import fnmatch
import multiprocessing
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Collection, Iterable, Mapping, Protocol, Sequence

from specs import get_spec
from suites import Secret, Verdict, cases_for, mock_target, redact, run_case
from suites.engine import EngineOptions, EngineSession, strategy_names

from ._mock_process import MockProcess, MockStartError, applicable_defects

FIXED = "fixed"
GENERATED = "generated"
KILLING = (Verdict.FAIL, Verdict.NON_STRICT)
KILLED, SURVIVED, ERROR = "killed", "survived", "error"
# A defect the suite must catch with a FAIL (`python -m mocks defects --json`: must_fail, i.e. a
# request without the intact valid key let through, a credential echoed, a 5xx) that no forced FAIL
# caught: the suite saw it but judged it by the rule's strength, which fails the run like a survivor.
WEAK = "weak"
# How the matrix prints a killed defect: the suite caught it (a FAIL, or only a NON-STRICT, of the
# suite against the defective mock), which is the suite passing, so the word is not FAIL.
CAUGHT, CAUGHT_NON_STRICT = "caught", "caught (NS)"
# A pair is a ping-pong between two processes (the suite sends, the mock answers), so it keeps about
# one core busy: two workers fill a 2-core machine. Measured on this 2-core machine while other jobs
# kept its load near 6 (so only roughly): the full matrix 244 s with 2 workers, 290 s with 1 (with
# the next mock starting ahead); the CI-sized sample 30-51 s with 2, 39 s with 1.
DEFAULT_WORKERS = 2


@dataclass(frozen=True)
class Signal:
    """One non-passing check on one case: what can kill a defect."""

    case_id: str
    check: str
    verdict: str
    source: str
    # FAIL whatever the rule's strength: a request without a valid credential accepted, a
    # credential echoed, a 5xx or a dropped connection.
    forced: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two signals the same, whichever run they come from."""
        return (self.case_id, self.check, self.verdict)

    def text(self) -> str:
        """`cloro.missing: request_rejected FAIL`."""
        return f"{self.case_id}: {self.check} {self.verdict}"


@dataclass(frozen=True)
class PairRun:
    """The suite against one provider's mock with one defect (None: the clean mock)."""

    provider: str
    defect: str | None
    signals: tuple[Signal, ...] = ()
    cases: int = 0
    strategies: int = 0
    elapsed: float = 0.0
    error: str | None = None


class Launched(Protocol):
    """A mock being started: `wait_ready()` gives it running (with `base_url`, `keys`, `stop()`) or
    raises MockStartError. `MockProcess` is the one `python -m drive mutation` uses; tests may
    plant defects in a mock of their own the same way."""

    def wait_ready(self) -> Any: ...

    def stop(self) -> Any: ...


def spawn(provider: str, defect: str | None) -> Launched:
    """`python -m mocks serve PROVIDER [--defect NAME]` as a process (the suite never imports the mock)."""
    return MockProcess(provider, [defect] if defect else [])


def run_pair(provider: str, defect: str | None, fixed: bool = True, generated: bool = True, cases: str = "*",
             started: Launched | None = None, launch: Callable[[str, str | None], Launched] = spawn) -> PairRun:
    """Run the selected cases and strategies against the provider's mock with the defect (started
    here by `launch`, or already `started` by the caller), then stop it."""
    start = time.perf_counter()
    try:
        mock = (started or launch(provider, defect)).wait_ready()
    except MockStartError as err:
        return PairRun(provider, defect, error=str(err), elapsed=time.perf_counter() - start)
    signals: list[Signal] = []
    n_cases = n_strategies = 0
    error = None
    secrets: tuple[Secret, ...] = ()
    try:
        spec = get_spec(provider)
        target = mock_target(spec, mock.base_url, mock.keys)
        secrets = target.secrets()
        if fixed:
            for case in (c for c in cases_for(spec) if fnmatch.fnmatchcase(c.id, cases)):
                result = run_case(case, target)
                n_cases += 1
                signals += [Signal(result.case_id, c.check, c.verdict.value, FIXED, c.forced) for c in result.checks if c.verdict in KILLING]
        if generated:
            # No example database: every pair searches afresh, nothing is replayed from another pair.
            session = EngineSession(target, EngineOptions(database=None))
            try:
                for name in strategy_names():
                    case_id = f"{provider}.generated.{name}"
                    if not fnmatch.fnmatchcase(case_id, cases):
                        continue
                    run = session.run(name)
                    n_strategies += 1
                    signals += [Signal(case_id, f.check, f.verdict.value, GENERATED, f.result.forced) for f in run.findings if f.verdict in KILLING]
            finally:
                session.close()
    except Exception as exc:  # a bug of the suite itself: reported for this pair, never with a key
        error = redact(f"the suite itself failed: {type(exc).__name__}: {exc}", secrets)
    finally:
        mock.stop()
    unique = tuple(dict.fromkeys(signals))
    return PairRun(provider, defect, unique, n_cases, n_strategies, time.perf_counter() - start, error)


@dataclass(frozen=True)
class Kill:
    """One (provider, defect) cell: killed (with the signals only the defect shows), survived, or error."""

    provider: str
    defect: str
    state: str
    catching: tuple[Signal, ...] = ()
    error: str | None = None

    @property
    def verdict(self) -> str:
        """The strongest verdict among the catching signals (FAIL, NON-STRICT), or the state."""
        if self.state not in (KILLED, WEAK):
            return self.state.upper()
        return Verdict.FAIL.value if any(s.verdict == Verdict.FAIL.value for s in self.catching) else Verdict.NON_STRICT.value

    def first(self) -> Signal | None:
        """The case that caught it, as told: a FAIL before a NON-STRICT, a security FAIL (forced) before
        others, a fixed case before a generated one."""
        ranked = sorted(self.catching, key=lambda s: (s.verdict != Verdict.FAIL.value, not s.forced, s.source != FIXED))
        return ranked[0] if ranked else None


@dataclass
class MutationMatrix:
    """The clean runs and the defective runs of a mutation run, and what follows from them."""

    clean: dict[str, PairRun]
    runs: list[PairRun]
    elapsed: float = 0.0
    workers: int = 1
    what: str = ""
    # The defects the suite must catch with a FAIL (security and crashes), from the mock's catalogue.
    must_fail: frozenset[str] = frozenset()
    kills: list[Kill] = field(init=False)

    def __post_init__(self) -> None:
        self.kills = [self._kill(run) for run in self.runs]

    def _kill(self, run: PairRun) -> Kill:
        assert run.defect is not None, "a defective run names its defect"
        clean = self.clean.get(run.provider)
        if run.error or clean is None or clean.error:
            why = run.error or (clean.error if clean else "no clean run of this provider")
            return Kill(run.provider, run.defect, ERROR, error=why)
        # A kill counts only by a check that PASSes on the clean mock: a check the clean mock already
        # fails (or finds non-strict) on that case proves nothing about the defect, whatever verdict.
        known = {(s.case_id, s.check) for s in clean.signals}
        new = tuple(s for s in run.signals if (s.case_id, s.check) not in known)
        if not new:
            return Kill(run.provider, run.defect, SURVIVED)
        # A must-fail defect counts only by a FAIL the security rule forces (a request without the
        # intact valid key accepted, a credential echoed, a 5xx or a dropped connection), not one a
        # strong rule of this provider happens to give: on a provider with weaker rules it would be
        # a NON-STRICT.
        if run.defect in self.must_fail and not any(s.verdict == Verdict.FAIL.value and s.forced for s in new):
            return Kill(run.provider, run.defect, WEAK, new)
        return Kill(run.provider, run.defect, KILLED, new)

    @property
    def providers(self) -> list[str]:
        """Providers, sorted."""
        return sorted({r.provider for r in self.runs} | set(self.clean))

    @property
    def defects(self) -> list[str]:
        """Defects, in the order they were planned (the mock's catalogue order)."""
        return list(dict.fromkeys(r.defect for r in self.runs if r.defect))

    def clean_failures(self) -> list[tuple[str, Signal]]:
        """Every FAIL the clean mocks got (there must be none)."""
        return [(p, s) for p, run in sorted(self.clean.items()) for s in run.signals if s.verdict == Verdict.FAIL.value]

    @property
    def exit_status(self) -> int:
        """0 when every defect was killed and no clean mock got a FAIL (or errored); 1 otherwise."""
        bad_clean = any(r.error for r in self.clean.values()) or self.clean_failures()
        return 1 if bad_clean or any(k.state != KILLED for k in self.kills) else 0

    def cell(self, provider: str, defect: str) -> str:
        """`caught` (a FAIL caught the defect), `caught (NS)` (only a NON-STRICT did), SURVIVED, ERROR,
        or - (not planted). A caught defect is the suite succeeding: the cell never says FAIL."""
        kill = next((k for k in self.kills if k.provider == provider and k.defect == defect), None)
        if kill is None:
            return "-"
        if kill.state != KILLED:
            return kill.state.upper()
        return CAUGHT if kill.verdict == Verdict.FAIL.value else CAUGHT_NON_STRICT

    def lines(self) -> list[str]:
        """The printed report: matrix, kill rate, clean mocks, and the case that caught each kill."""
        providers, defects = self.providers, self.defects
        first = max([len("defect"), *(len(d) for d in defects)]) + 2
        width = max(12, *(len(p) + 2 for p in providers))
        out = [f"authconform kill matrix: {len(self.kills)} planted defects across {len(providers)} providers ({self.what}); "
               f"{len(self.kills) + len(self.clean)} mocks, {self.workers} worker{'s' if self.workers != 1 else ''}, {self.elapsed:.1f}s",
               f"cell: {CAUGHT} = a case reports a FAIL the clean mock does not; {CAUGHT_NON_STRICT} = only a NON-STRICT "
               "does; SURVIVED = nothing does, WEAK = no forced FAIL does where one is due (security, crash): "
               "both fail the run; - not applicable",
               "", "defect".ljust(first) + "".join(p.ljust(width) for p in providers)]
        out += [(d.ljust(first) + "".join(self.cell(p, d).ljust(width) for p in providers)).rstrip() for d in defects]
        killed = [k for k in self.kills if k.state == KILLED]
        by_fail = sum(k.verdict == Verdict.FAIL.value for k in killed)
        rate = 100.0 * len(killed) / len(self.kills) if self.kills else 100.0
        out += ["", f"kill rate: {len(killed)}/{len(self.kills)} ({rate:.1f}%): {by_fail} caught with a FAIL, "
                    f"{len(killed) - by_fail} with a NON-STRICT only"]
        fails = self.clean_failures()
        clean_errors = [f"{p}: {r.error}" for p, r in sorted(self.clean.items()) if r.error]
        if fails or clean_errors:
            out.append(f"clean mocks: {len(fails)} FAIL{' and errors' if clean_errors else ''} (there must be none):")
            out += [f"  {p}: {s.text()}" for p, s in fails] + [f"  error: {e}" for e in clean_errors]
        else:
            out.append(f"clean mocks: no FAIL ({', '.join(sorted(self.clean))})")
        for k in self.kills:
            if k.state == SURVIVED:
                out.append(f"SURVIVED: {k.provider} x {k.defect}: no case reports anything the clean mock does not")
            elif k.state == WEAK:
                s = k.first()
                assert s is not None, "a weak kill has a catching signal"
                out.append(f"WEAK: {k.provider} x {k.defect}: caught only by the rule's strength ({s.text()}); a "
                           "security defect or a crash must be caught by the FAIL the security rule forces")
            elif k.state == ERROR:
                out.append(f"ERROR: {k.provider} x {k.defect}: {k.error}")
        out += ["", "caught by (the case that caught it; how many cases did, fixed / generated):"]
        for k in killed:
            s = k.first()
            assert s is not None, "a killed defect has a catching signal"
            fixed = len({c.case_id for c in k.catching if c.source == FIXED})
            generated = len({c.case_id for c in k.catching if c.source == GENERATED})
            out.append(f"  {k.provider} x {k.defect}: {s.text()} ({fixed} fixed / {generated} generated)")
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: every run's signals, every kill, the verdict of the run."""
        return {
            "what": self.what, "elapsed": round(self.elapsed, 3), "workers": self.workers, "exit_status": self.exit_status,
            "clean": {p: asdict(r) for p, r in sorted(self.clean.items())},
            "kills": [{**asdict(k), "verdict": k.verdict} for k in self.kills],
        }


def plan(catalogue: Mapping[str, Collection[str]], defects: Iterable[str] | None = None, sample: bool = False) -> list[tuple[str, str | None]]:
    """The (provider, defect) pairs to run, clean mocks (defect None) first.

    `catalogue` is provider -> applicable defects. `sample` plants each defect once, in a provider
    it applies to, rotating through the providers (a CI-sized matrix that still covers every defect
    and every provider's clean mock).
    """
    wanted = list(defects) if defects is not None else None
    order = list(dict.fromkeys(d for names in catalogue.values() for d in names if wanted is None or d in wanted))
    providers = sorted(catalogue)
    pairs: list[tuple[str, str | None]] = []
    for i, d in enumerate(order):
        takers = [p for p in providers if d in catalogue[p]]
        pairs += [(takers[i % len(takers)], d)] if sample else [(p, d) for p in takers]
    used = sorted({p for p, _ in pairs}) if sample else providers
    return [(p, None) for p in used] + pairs


def catalogue_of(providers: Iterable[str]) -> dict[str, dict[str, bool]]:
    """provider -> the defects its mock can be run with, each with its `must_fail` (asked of the
    mock's command line, in parallel)."""
    providers = list(providers)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(providers))) as pool:
        return dict(zip(providers, pool.map(applicable_defects, providers)))


def run_matrix(
    pairs: Sequence[tuple[str, str | None]],
    fixed: bool = True,
    generated: bool = True,
    cases: str = "*",
    workers: int = DEFAULT_WORKERS,
    progress: Callable[[str], None] | None = None,
    must_fail: Iterable[str] = (),
    launch: Callable[[str, str | None], Launched] = spawn,
) -> MutationMatrix:
    """Run every pair (in `workers` processes; `launch` a module-level function then) and build the
    matrix; `must_fail` names the defects only a FAIL catches (see `must_fail_of`)."""
    start = time.perf_counter()
    done: list[PairRun] = []

    def note(run: PairRun) -> None:
        done.append(run)
        if progress:
            what = "clean" if run.defect is None else run.defect
            status = f"error: {run.error}" if run.error else f"{len(run.signals)} non-passing checks"
            progress(f"[{len(done)}/{len(pairs)}, {time.perf_counter() - start:.0f}s elapsed] {run.provider} x {what}: {status} ({run.elapsed:.1f}s)")

    if workers <= 1:
        # The next pair's mock starts (a Python process importing aiohttp) while this pair runs.
        ahead = launch(*pairs[0]) if pairs else None
        try:
            for i, (provider, defect) in enumerate(pairs):
                mine, ahead = ahead, (launch(*pairs[i + 1]) if i + 1 < len(pairs) else None)
                note(run_pair(provider, defect, fixed, generated, cases, started=mine))
        finally:
            if ahead is not None:
                ahead.stop()
    else:
        # Spawned workers: no state (sockets, Hypothesis internals) inherited from this process.
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [pool.submit(run_pair, p, d, fixed, generated, cases, None, launch) for p, d in pairs]
            for future in concurrent.futures.as_completed(futures):
                note(future.result())
    order = {pair: i for i, pair in enumerate(pairs)}
    done.sort(key=lambda r: order[(r.provider, r.defect)])
    what = " + ".join(w for w, on in ((f"{FIXED} cases", fixed), (f"{GENERATED} engine at its default budget", generated)) if on)
    if cases != "*":
        what += f", cases matching {cases!r}"
    return MutationMatrix(
        {r.provider: r for r in done if r.defect is None}, [r for r in done if r.defect is not None],
        time.perf_counter() - start, max(1, workers), what, frozenset(must_fail),
    )


def must_fail_of(catalogue: Mapping[str, Mapping[str, bool]]) -> frozenset[str]:
    """The defects of a catalogue (`catalogue_of`) that the suite must catch with a FAIL."""
    return frozenset(d for defects in catalogue.values() for d, must in defects.items() if must)
