"""`python -m bench [NAME ...]`: run the benchmarks and robustness runs, print figures and ratios.

Names: throughput (mock vs bare aiohttp vs Prism, per path), cpu (the same two servers' CPU per
request fed in memory, no sockets: the steadier A/B for the hot path), coldstart, engine (the generated
engine vs Schemathesis and a bare Hypothesis loop: bench/bench_engine.py), suite (`make test-mock`
wall time), scaleout (`serve --workers`), soak, keepalive, slowloris, sigterm; none means all.
Each prints its table and writes reports/bench/NAME.json; the closing summary lists every floor of
the README's Performance table with its figure. Exit 0 when every floor is met, 1 when one is missed, 2 when a run cannot
start (the one-line error says what is missing).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any, Callable

from specs import spec_paths

from . import coldstart, inprocess, keepalive, scaleout, sigterm, slowloris, soak, suite_time, throughput
from ._procs import BenchError
from ._report import REPORT_DIR, floor, machine, ratio, save, table

NAMES = ("throughput", "cpu", "coldstart", "engine", "suite", "scaleout", "soak", "keepalive", "slowloris", "sigterm")


class Summary:
    """The closing table: one row per figure, its ratio and its floor."""

    def __init__(self) -> None:
        self.rows: list[list[Any]] = []

    def add(self, what: str, figure: str, versus: str, ok: bool | None) -> None:
        """One figure; ok None for a figure with no floor."""
        self.rows.append([what, figure, versus, "-" if ok is None else floor(ok)])

    @property
    def missed(self) -> int:
        """How many floors were missed."""
        return sum(r[3] == "MISSED" for r in self.rows)


def _throughput(args: argparse.Namespace, summary: Summary) -> None:
    runs = []
    for p in args.providers:
        runs += throughput.run_provider(p, duration=args.duration, with_prism=not args.no_prism, rounds=args.rounds)
    print(throughput.report(runs))
    save("throughput", {"duration_s": args.duration, "rounds": args.rounds, "connections": 50, **throughput.as_json(runs)})
    for path in ("valid", "wrong_key", "missing"):
        mine = [r for r in runs if r.path == path]
        if not mine:
            continue
        worst = min(mine, key=lambda r: r.rps_ratio)
        summary.add(f"req/s, {path} path (worst provider: {worst.provider})",
                    f"{worst.mock.rps:,.0f} vs bare {worst.bare.rps:,.0f}", f"{worst.rps_ratio:.2f}x (floor 0.9x)",
                    all(r.rps_ratio >= throughput.RPS_FLOOR for r in mine))
        worst = max(mine, key=lambda r: r.cpu_ratio)
        summary.add(f"server CPU per request, {path} path (worst provider: {worst.provider})",
                    f"{worst.mock.cpu_us:.0f} us vs bare {worst.bare.cpu_us:.0f} us", f"{worst.cpu_ratio:.2f}x", None)
        worst = max(mine, key=lambda r: r.p99_ratio)
        summary.add(f"p99, {path} path (worst provider: {worst.provider})",
                    f"{worst.mock.p99_ms:.1f} ms vs bare {worst.bare.p99_ms:.1f} ms",
                    f"{worst.p99_ratio:.2f}x (ceiling 1.3x)", all(r.p99_ratio <= throughput.P99_CEILING for r in mine))
        if mine[0].prism:
            worst = min(mine, key=lambda r: r.prism_ratio)
            summary.add(f"req/s vs Prism, {path} path (worst provider: {worst.provider})",
                        f"{worst.mock.rps:,.0f} vs Prism {worst.prism.rps:,.0f}",  # type: ignore[union-attr]
                        f"{worst.prism_ratio:.1f}x (floor 3x)", all(r.prism_ratio >= throughput.PRISM_FLOOR for r in mine))
    problems = [p for r in runs for p in r.problems]
    summary.add("statuses under load as the spec says", f"{len(problems)} problems", "-", not problems)


def _cpu(args: argparse.Namespace, summary: Summary) -> None:
    runs = [r for p in args.providers for r in inprocess.run_provider(p)]
    print(inprocess.report(runs))
    save("cpu", inprocess.as_json(runs))
    worst = min(runs, key=lambda r: r.ratio)
    summary.add(f"server CPU per request in memory, no sockets (worst: {worst.provider} {worst.path})",
                f"{min(worst.mock):.1f} us vs bare {min(worst.bare):.1f} us",
                f"{worst.ratio:.2f}x bare/mock (median of all {statistics.median(r.ratio for r in runs):.2f}x)", None)
    saved = sorted(r.saved for r in runs)
    summary.add("the mock's fast path (mocks/_fastpath.py), CPU per request it saves in memory",
                f"{saved[0]:.1f}-{saved[-1]:.1f} us (median {statistics.median(saved):.1f} us)",
                "vs the same mock with fast_path=False", None)


def _coldstart(args: argparse.Namespace, summary: Summary) -> None:
    results = [coldstart.run_provider(p, samples=args.samples, with_prism=not args.no_prism) for p in args.providers]
    print(coldstart.report(results))
    save("coldstart", coldstart.as_json(results))
    worst = max(results, key=lambda r: r.ratio)
    summary.add(f"cold start to first 200 (worst provider: {worst.provider})",
                f"{worst.mock:.2f} s vs bare {worst.bare:.2f} s", f"{worst.ratio:.2f}x (ceiling 1.2x)",
                all(r.ratio <= coldstart.COLD_CEILING for r in results))
    prism = [r.prism for r in results if r.prism]
    if prism:
        summary.add("Prism cold start (median over providers)", f"{statistics.median(prism):.2f} s",
                    f"{ratio(statistics.median(prism), statistics.median(r.mock for r in results)):.1f}x the mock's", None)


def _engine(args: argparse.Namespace, summary: Summary) -> None:
    from . import bench_engine  # the engine engineer's race; it prints its own table and saves engine.json

    code = bench_engine.main(["--provider", args.providers[0]])
    if code == 2:
        raise BenchError("the engine race could not start (see above)")
    try:
        data = json.loads((REPORT_DIR / "engine.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary.add("generated engine rate", "no reports/bench/engine.json", "-", False)
        return
    floors = data.get("floors") or {}
    engine = (data.get("engine") or {}).get("rps", 0.0)
    summary.add(f"generated engine rate ({data.get('provider')}) vs Schemathesis",
                f"{engine:,.0f} req/s vs {(data.get('schemathesis') or {}).get('rps', 0.0):,.1f}",
                f"{data.get('vs_schemathesis', 0.0):.1f}x (floor 10x)",
                all(ok for name, ok in floors.items() if "schemathesis" in name.lower()) if floors else None)
    summary.add("generated engine rate vs a bare Hypothesis loop", f"{engine:,.0f} vs {(data.get('bare') or {}).get('rps', 0.0):,.0f} req/s",
                f"{data.get('vs_bare', 0.0):.2f}x (floor 0.5x)",
                all(ok for name, ok in floors.items() if "schemathesis" not in name.lower()) if floors else None)


def _suite(args: argparse.Namespace, summary: Summary) -> None:
    result = suite_time.run()
    print(suite_time.report(result))
    save("suite", suite_time.as_json(result))
    summary.add(f"`make test-mock` wall time, {len(spec_paths())} providers", f"{result.seconds:.1f} s (exit {result.exit_code})",
                "ceiling 60 s", result.seconds <= suite_time.SUITE_CEILING_S and result.exit_code == 0)


def _scaleout(args: argparse.Namespace, summary: Summary) -> None:
    provider = args.providers[0]
    runs = scaleout.run_provider(provider, duration=args.duration)
    print(scaleout.report(provider, runs))
    save("scaleout", scaleout.as_json(provider, runs))
    base = runs[0].rps if runs else 0.0
    for r in runs:
        summary.add(f"serve --workers {r.workers} ({provider}), req/s", f"{r.rps:,.0f}",
                    f"{ratio(r.rps, base):.2f}x N=1", not r.problems)


def _soak(args: argparse.Namespace, summary: Summary) -> None:
    results = [soak.run_provider(p, count=args.soak, window=max(1, args.soak // 10)) for p in args.providers]
    print(soak.report(results))
    save("soak", soak.as_json(results))
    worst = max(results, key=lambda r: r.growth)
    summary.add(f"soak: {args.soak:,} malformed requests per provider", 
                f"{sum(sum(r.server_5xx.values()) for r in results)} 5xx, {sum(r.hung for r in results)} hung",
                f"RSS {worst.growth:+.1%} worst ({worst.provider}; ceiling +10%)", all(not r.problems() for r in results))


def _keepalive(args: argparse.Namespace, summary: Summary) -> None:
    result = keepalive.run_provider(args.providers[0], connections=1000, seconds=args.keepalive)
    print(keepalive.report([result]))
    save("keepalive", keepalive.as_json([result]))
    summary.add(f"1,000 keep-alive connections for {args.keepalive:.0f} s ({result.provider})",
                f"{result.wrk.requests:,} answers, {result.wrk.socket_errors + result.wrk.timeouts} errors, "
                f"{result.wrk.non_2xx} non-2xx", f"{result.established or 'n/a'} open at once", not result.problems())


def _slowloris(args: argparse.Namespace, summary: Summary) -> None:
    result = slowloris.run_provider(args.providers[0], count=200, close_within=args.slow_wait)
    print(slowloris.report([result]))
    save("slowloris", slowloris.as_json([result]))
    closed = f"{result.closed}/{result.opened} closed" + (f" by {max(result.close_times):.0f} s" if result.close_times else "")
    summary.add(f"200 slow connections ({result.provider})",
                f"p99 {result.loaded_p99 * 1000:.1f} ms vs quiet {result.quiet_p99 * 1000:.1f} ms", closed,
                not result.problems())


def _sigterm(args: argparse.Namespace, summary: Summary) -> None:
    results = [sigterm.run_provider(p) for p in args.providers]
    print(sigterm.report(results))
    save("sigterm", sigterm.as_json(results))
    worst = max(results, key=lambda r: r.seconds)
    summary.add("SIGTERM under load", f"exit {worst.exit_code} after {worst.seconds:.2f} s (worst: {worst.provider})",
                "journal " + ("whole" if all(not r.journal.problems and r.journal_option for r in results) else "NOT written out whole"),
                all(not r.problems() for r in results))


RUNNERS: dict[str, Callable[[argparse.Namespace, Summary], None]] = {
    "throughput": _throughput, "cpu": _cpu, "coldstart": _coldstart, "engine": _engine, "suite": _suite, "scaleout": _scaleout, "soak": _soak,
    "keepalive": _keepalive, "slowloris": _slowloris, "sigterm": _sigterm,
}


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    ids = [p.stem for p in spec_paths()]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"what to run: {', '.join(NAMES)} (default: all)")
    parser.add_argument("--providers", default=",".join(ids), help=f"comma-separated provider ids (default: all {len(ids)} specs)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of wrk load per measured run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per path; figures are medians (default 3)")
    parser.add_argument("--samples", type=int, default=5, help="cold starts per server (default 5)")
    parser.add_argument("--soak", type=int, default=100_000, help="malformed requests per provider (default 100000)")
    parser.add_argument("--keepalive", type=float, default=60.0, help="seconds of 1,000 keep-alive connections (default 60)")
    parser.add_argument("--slow-wait", type=float, default=120.0, help="seconds to wait for slow connections to be closed")
    parser.add_argument("--no-prism", action="store_true", help="leave Prism out (no Node.js here)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run what was asked, print every table and the summary; the exit status says whether floors were met."""
    parser = build_parser()
    args = parser.parse_args(argv)
    ids = [p.stem for p in spec_paths()]
    args.providers = [p.strip() for p in args.providers.split(",") if p.strip()]
    for p in args.providers:
        if p not in ids:
            parser.error(f"unknown provider {p!r}; providers: {', '.join(ids)}")
    for name in args.names:
        if name not in NAMES:
            parser.error(f"unknown benchmark {name!r}; names: {', '.join(NAMES)}")
    if args.duration < 1 or args.rounds < 1 or args.samples < 1 or args.soak < 10 or args.keepalive < 1 or args.slow_wait < 1:
        parser.error("--duration, --keepalive and --slow-wait must be >= 1, --rounds and --samples >= 1, --soak >= 10")
    m = machine()
    print(f"bench: {m['cores']} cores, {m['memory_mib'] / 1024:.0f} GiB, {m['cpu']}, Python {m['python']}, {m['system']}")
    summary = Summary()
    t0 = time.perf_counter()
    could_not: list[str] = []
    try:
        chosen = args.names or NAMES
        for i, name in enumerate(chosen, 1):
            # Where a long run is: which benchmark of how many, and the time so far.
            print(f"\n## {name} [{i}/{len(chosen)}, {time.perf_counter() - t0:.0f} s elapsed]", flush=True)
            try:
                RUNNERS[name](args, summary)
            except BenchError as exc:  # one run that cannot start does not stop the others
                print(f"bench: {name}: {exc}", file=sys.stderr, flush=True)
                summary.add(f"{name}: could not run", str(exc)[:80], "-", False)
                could_not.append(name)
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    print(f"\n## summary ({time.perf_counter() - t0:.0f} s)")
    print(table(["figure", "measured", "ratio / limit", "floor"], summary.rows))
    return 2 if could_not else 1 if summary.missed else 0


if __name__ == "__main__":
    sys.exit(main())
