"""Generated-engine request rate against a mock, raced in the same run against Schemathesis and a bare
Hypothesis loop over one keep-alive connection (README Performance, row 4).

`python -m bench.bench_engine [--provider ID] [--examples N] [--rounds N] [--schemathesis-examples N]`

- engine: every strategy of suites/engine/_strategies.py against the mock, each request judged by the
  four properties (checks, oracle, redaction), requests / wall time of the searches;
- bare loop: `@given(st.text(...))` sending `Authorization: <scheme> <text>` on one keep-alive
  connection, no checks: the limit a Hypothesis-driven sender reaches here;
- Schemathesis: `schemathesis run` of an OpenAPI document generated from the same spec
  (`python -m specs export-openapi`) against the same mock, requests counted in the mock's journal,
  over the CLI's wall time.
Floors: engine >= 10x Schemathesis and >= 0.5x the bare loop. Exit 1 when one is missed, 2 when a
run cannot start.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from bench._procs import BenchError, mock_argv, start  # noqa: E402
from bench._report import floor, ratio, save, table  # noqa: E402
from specs import openapi_document as openapi  # noqa: E402
from specs import TOKEN68_CHARS, get_spec  # noqa: E402
from suites import Connection, MockAdmin, RawRequest, mock_target  # noqa: E402
from suites.engine import EngineOptions, EngineSession, strategy_names  # noqa: E402

SCHEMATHESIS_FLOOR = 10.0
BARE_FLOOR = 0.5
DEFAULT_EXAMPLES = 200
SCHEMATHESIS_EXAMPLES = 100
SCHEMATHESIS_TIMEOUT = 300.0
ROUNDS = 3


@dataclass
class Rate:
    """Requests sent over a wall time."""

    requests: int
    seconds: float

    @property
    def rps(self) -> float:
        """Requests per second."""
        return ratio(self.requests, self.seconds)


@dataclass
class EngineBench:
    """The three rates of one run, against one provider's mock."""

    provider: str
    engine: Rate
    bare: Rate
    schemathesis: Rate | None
    schemathesis_note: str = ""

    @property
    def vs_schemathesis(self) -> float:
        """Engine rate over Schemathesis's."""
        return ratio(self.engine.rps, self.schemathesis.rps) if self.schemathesis else 0.0

    @property
    def vs_bare(self) -> float:
        """Engine rate over the bare loop's."""
        return ratio(self.engine.rps, self.bare.rps)

    def floors(self) -> dict[str, bool]:
        """Each floor: met or not."""
        return {"engine >= 10x Schemathesis": self.schemathesis is not None and self.vs_schemathesis >= SCHEMATHESIS_FLOOR,
                "engine >= 0.5x bare Hypothesis loop": self.vs_bare >= BARE_FLOOR}


def engine_rate(provider: str, base_url: str, keys: dict, examples: int) -> Rate:
    """Every strategy, `examples` each, judged as in the suite (no database: nothing replayed)."""
    target = mock_target(get_spec(provider), base_url, keys)
    session = EngineSession(target, EngineOptions(max_examples=examples, database=None))
    try:
        runs = [session.run(name) for name in strategy_names()]
    finally:
        session.close()
    return Rate(sum(r.requests for r in runs), sum(r.elapsed for r in runs))


def bare_rate(provider: str, base_url: str, examples: int) -> Rate:
    """A bare Hypothesis loop: draw a token, send the probe with it, nothing judged."""
    spec = get_spec(provider)
    probe = spec.probe
    body = probe.encode()
    ctype = [("Content-Type", probe.content_type)] if probe.content_type else []
    conn = Connection(base_url)
    sent = [0]

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.text(TOKEN68_CHARS, max_size=64))
    def loop(token: str) -> None:
        conn.send(RawRequest.build(probe.method, probe.path, [(spec.credential.header, f"{spec.credential.scheme} {token}"), *ctype], body))
        sent[0] += 1

    t0 = time.perf_counter()
    try:
        loop()
    finally:
        conn.close()
    return Rate(sent[0], time.perf_counter() - t0)


def schemathesis_rate(provider: str, base_url: str, keys: dict, examples: int) -> tuple[Rate | None, str]:
    """`schemathesis run` against the mock: requests from the mock's journal over the CLI's wall time."""
    exe = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    if not Path(exe).exists():
        return None, "schemathesis is not installed (pip install -e '.[clients]')"
    spec = get_spec(provider)
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "openapi.json"
        doc.write_text(json.dumps(openapi(spec)), encoding="utf-8")
        auth = f"{spec.credential.header}: {spec.credential.scheme} {keys['valid']}"
        argv = [exe, "run", str(doc), "--url", base_url, "-n", str(examples), "--workers", "1", "--no-color",
                "--generation-database", "none", "--checks", "not_a_server_error", "-H", auth,
                "--report-dir", str(Path(tmp) / "report")]
        admin = MockAdmin(base_url)
        admin.clear_journal()
        t0 = time.perf_counter()
        try:
            done = subprocess.run(argv, cwd=tmp, capture_output=True, text=True, timeout=SCHEMATHESIS_TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return None, f"schemathesis did not finish within {SCHEMATHESIS_TIMEOUT:.0f}s"
        seconds = time.perf_counter() - t0
    requests = len(admin.journal())
    note = f"exit {done.returncode}" if done.returncode not in (0, 1) else ""
    return Rate(requests, seconds), note


def run_provider(provider: str, examples: int = DEFAULT_EXAMPLES, schemathesis_examples: int = SCHEMATHESIS_EXAMPLES,
                 rounds: int = ROUNDS) -> EngineBench:
    """The three rates against one mock, in one run. The engine and the bare loop alternate for
    `rounds` rounds and the round with the median engine/bare ratio is kept, so that a burst of
    load on the machine weighs on both alike."""
    with start(mock_argv(provider)) as server:
        keys = server.keys
        # Warm-up: imports, the mock's first requests, each strategy's simplest examples.
        engine_rate(provider, server.base_url, keys, 5)
        pairs = []
        for _ in range(rounds):
            bare = bare_rate(provider, server.base_url, examples * len(strategy_names()))
            pairs.append((engine_rate(provider, server.base_url, keys, examples), bare))
        pairs.sort(key=lambda p: ratio(p[0].rps, p[1].rps))
        engine, bare = pairs[len(pairs) // 2]
        sch, note = schemathesis_rate(provider, server.base_url, keys, schemathesis_examples)
    return EngineBench(provider, engine, bare, sch, note)


def report(b: EngineBench) -> str:
    """The figures and ratios as a table, then the floors."""
    rows = [["generated engine (7 strategies, judged)", b.engine.requests, b.engine.seconds, b.engine.rps, "1.00x"],
            ["bare Hypothesis loop, one keep-alive connection", b.bare.requests, b.bare.seconds, b.bare.rps, f"{ratio(b.bare.rps, b.engine.rps):.2f}x"]]
    if b.schemathesis:
        rows.append(["schemathesis run (CLI wall time)", b.schemathesis.requests, b.schemathesis.seconds, b.schemathesis.rps,
                     f"{ratio(b.schemathesis.rps, b.engine.rps):.3f}x"])
    lines = [f"generated requests per second against the {b.provider} mock", table(["sender", "requests", "seconds", "req/s", "vs engine"], rows)]
    if b.schemathesis is None or b.schemathesis_note:
        lines.append(f"schemathesis: {b.schemathesis_note}")
    lines.append(f"engine / schemathesis: {b.vs_schemathesis:.1f}x (floor {SCHEMATHESIS_FLOOR:.0f}x)")
    lines.append(f"engine / bare loop: {b.vs_bare:.2f}x (floor {BARE_FLOOR}x)")
    lines += [f"{name}: {floor(ok)}" for name, ok in b.floors().items()]
    return "\n".join(lines)


def as_json(b: EngineBench) -> dict:
    """The figures for reports/bench/engine.json."""
    out = {"provider": b.provider, "engine": {**asdict(b.engine), "rps": b.engine.rps}, "bare": {**asdict(b.bare), "rps": b.bare.rps},
           "vs_bare": b.vs_bare, "floors": b.floors()}
    if b.schemathesis:
        out["schemathesis"] = {**asdict(b.schemathesis), "rps": b.schemathesis.rps}
        out["vs_schemathesis"] = b.vs_schemathesis
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the race and print it; 0 when both floors are met."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_engine", description=__doc__.splitlines()[0])
    parser.add_argument("--provider", default="cloro", help="the provider whose mock is raced (default cloro)")
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES, help=f"engine examples per strategy (default {DEFAULT_EXAMPLES})")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"engine/bare rounds, median kept (default {ROUNDS})")
    parser.add_argument("--schemathesis-examples", type=int, default=SCHEMATHESIS_EXAMPLES,
                        help=f"schemathesis -n (default {SCHEMATHESIS_EXAMPLES})")
    args = parser.parse_args(argv)
    try:
        get_spec(args.provider)
    except KeyError as err:
        parser.error(str(err.args[0]))
    if min(args.examples, args.schemathesis_examples, args.rounds) < 1:
        parser.error("--examples, --schemathesis-examples and --rounds are whole numbers above 0")
    try:
        result = run_provider(args.provider, args.examples, args.schemathesis_examples, args.rounds)
    except BenchError as err:
        print(f"bench_engine: {err}", file=sys.stderr)
        return 2
    print(report(result))
    save("engine", as_json(result))
    return 0 if all(result.floors().values()) else 1


if __name__ == "__main__":
    sys.exit(main())
