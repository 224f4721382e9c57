"""Gate a client library: run its own tests against a provider mock, then judge every request it made.

`python -m mocks gate ID -- CMD` serves the mock, runs CMD with `ID_API_KEY` and `ID_BASE_URL` (and,
with --tls, a CA bundle) in its environment, and judges the journal with mocks/_rules.py: one line
in any CI job gates a client library, whatever its language.
Exit status: 0 pass; 1 a rule broken; 2 bad usage; 3 the client command failed (or did not start,
or timed out). A table of violations goes to stderr; JSON and JUnit XML under --report.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Mapping, Sequence

import aiohttp
from aiohttp import web

from specs import ProviderSpec, SpecError, get_spec, load_all

from ._app import ADMIN_HEADER, MOCK, build_app
from ._keys import KeyStore
from ._redact import GrowingRedactor, Redactor
from ._rules import Context, GateRule, Violation, judge, rules_for
from ._scenarios import parse_scenario
from ._serve import start

if TYPE_CHECKING:  # `cryptography` is imported only when --tls asks for it
    from ._tls import TLSMaterial

ADMIN = "/__authconform__"
EXIT_PASS, EXIT_BROKEN, EXIT_USAGE, EXIT_CLIENT = 0, 1, 2, 3
# Every wait is bounded: the client's whole run, its shutdown after SIGTERM, one admin call.
DEFAULT_TIMEOUT = 600.0
KILL_GRACE = 5.0
ADMIN_TIMEOUT = 10.0
# A line of client output longer than this is passed on in pieces (still redacted per piece).
LINE_LIMIT = 1 << 20
# The gate judges every request of a client's run, so its mock keeps a journal far larger than
# `serve`'s default; a run that still overflows it is told so on the summary line.
GATE_JOURNAL_ENTRIES = 1_000_000
GATE_JOURNAL_BYTES = 256 * 1024 * 1024
# Some CI runners set HTTP(S)_PROXY: the client must reach the mock on loopback directly.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


class GateError(Exception):
    """A usage problem the gate reports as one line (exit 2)."""


# --- redaction ------------------------------------------------------------------------------------

# Entries of `GET /__authconform__/keys` that name a resource, not a secret.
NOT_SECRET = ("binding",)


def redactor(keys: Mapping[str, str], admin_secret: str | None = None, *, spec: ProviderSpec | None = None,
             store: KeyStore | None = None) -> Redactor:
    """The mock's own redactor over every secret the client was given or could find (and the
    run's admin secret, which nothing should ever print); with the mock's key store, also every
    key minted during the run. A key's documented prefix (`credential.token.prefix`) stays readable."""
    prefix = spec.credential.token.prefix if spec is not None else ""
    found = [(v, k, "") if k in ("username", "password") else (v, f"key:{k}", prefix) for k, v in keys.items()
             if k not in NOT_SECRET and isinstance(v, str) and v]
    if admin_secret:
        found.append((admin_secret, "admin_secret", ""))
    return Redactor(found) if store is None else GrowingRedactor(store, found)


def _redact_json(value: Any, redact: Redactor) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_json(v, redact) for v in value]
    if isinstance(value, dict):
        return {k: _redact_json(v, redact) for k, v in value.items()}
    return value


# --- the mock, in this process --------------------------------------------------------------------


@dataclass
class RunningMock:
    """A provider mock on 127.0.0.1:PORT (HTTP or HTTPS), with its admin API at hand."""

    spec: ProviderSpec
    base_url: str
    runner: web.AppRunner
    tls: TLSMaterial | None
    keys: dict[str, str] = field(default_factory=dict)
    # The per-run admin secret: only the gate (or the test holding this handle) can call the admin
    # API; the client's environment and command line never carry it (mocks/_app.py, ADMIN_HEADER).
    admin_secret: str = ""

    def _ssl(self) -> Any:
        return self.tls.client_context() if self.tls else None

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call the mock's admin API with the run's admin secret; the JSON answer."""
        timeout = aiohttp.ClientTimeout(total=ADMIN_TIMEOUT)
        headers = {ADMIN_HEADER: self.admin_secret} if self.admin_secret else {}
        # trust_env=False: a CI proxy must not sit between the gate and its own mock.
        async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
            async with session.request(method, self.base_url + ADMIN + path, ssl=self._ssl(), headers=headers,
                                       json=body) as resp:
                resp.raise_for_status()
                return await resp.json(content_type=None) if resp.content_length != 0 else None

    async def journal(self) -> tuple[list[dict[str, Any]], int]:
        """Every request the mock kept since the last reset (keys already redacted by the mock),
        and how many older ones its bound dropped."""
        answer = await self.admin("GET", "/journal")
        return list((answer or {}).get("entries") or []), int((answer or {}).get("dropped") or 0)

    async def close(self) -> None:
        """Stop serving and delete the throwaway CA (idempotent)."""
        await self.runner.cleanup()
        if self.tls is not None:
            self.tls.close()


async def start_mock(spec: ProviderSpec, *, tls: bool = False, scenario: str | None = None,
                     seed: str | None = None) -> RunningMock:
    """Serve a provider's mock on a free port of 127.0.0.1 in this event loop, its admin API behind a
    fresh secret; read its keys. `seed` makes the keys deterministic (never the secret)."""
    admin_secret = secrets.token_urlsafe(32)
    app = build_app(spec, scenario=scenario, seed=seed, journal_limit=GATE_JOURNAL_ENTRIES,
                    journal_bytes=GATE_JOURNAL_BYTES, admin_secret=admin_secret)
    if tls:
        from ._tls import make_tls

        material: TLSMaterial | None = make_tls()
    else:
        material = None
    try:
        runner, url = await start(app, "127.0.0.1", 0, material.server_context if material else None)
    except BaseException:
        if material is not None:
            material.close()
        raise
    mock = RunningMock(spec, url, runner, material, admin_secret=admin_secret)
    try:
        mock.keys = {str(k): str(v) for k, v in (await mock.admin("GET", "/keys")).items()}
    except BaseException:
        await mock.close()
        raise
    return mock


def client_env(spec: ProviderSpec, mock: RunningMock, base: Mapping[str, str]) -> dict[str, str]:
    """The client's environment: `ID_API_KEY`, `ID_BASE_URL` (+ exchange credentials, CA bundle)."""
    env = dict(base)
    env[spec.env("API_KEY")] = mock.keys["valid"]
    env[spec.env("BASE_URL")] = mock.base_url
    if spec.exchange is not None:
        for what in ("username", "password"):
            if what in mock.keys:
                env[spec.env(what.upper())] = mock.keys[what]
    if mock.tls is not None:
        bundle = str(mock.tls.ca_path)
        # Python (ssl, aiohttp, httpx), requests, curl, Node, and the provider-named one.
        for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", spec.env("CA_BUNDLE")):
            env[name] = bundle
    for name in ("NO_PROXY", "no_proxy"):
        present = [p for p in env.get(name, "").split(",") if p]
        env[name] = ",".join(present + [h for h in LOOPBACK_NAMES if h not in present])
    return env


# --- the client command ---------------------------------------------------------------------------


async def _pump(stream: asyncio.StreamReader | None, sink: BinaryIO, redact: Redactor) -> None:
    """Copy the client's output to ours line by line, key material redacted."""
    if stream is None:
        return
    while True:
        try:
            line = await stream.readline()
        except ValueError:  # a line past LINE_LIMIT: pass on what is buffered
            line = await stream.read(LINE_LIMIT)
        if not line:
            return
        sink.write(redact(line.decode("utf-8", "replace")).encode("utf-8"))
        sink.flush()


def _signal_group(proc: asyncio.subprocess.Process, sig: int) -> None:
    """Signal the client's process group (it is its own session leader: we started it so)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


async def run_client(command: Sequence[str], env: Mapping[str, str], timeout: float,
                     out: BinaryIO, err: BinaryIO, redact: Redactor) -> tuple[int, str | None]:
    """Run CMD to completion (bounded by timeout); its exit status and why it failed, if it did."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *command, env=dict(env), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True, limit=LINE_LIMIT,
        )
    except FileNotFoundError:
        return 127, f"cannot run `{command[0]}`: command not found"
    except PermissionError:
        return 126, f"cannot run `{command[0]}`: permission denied"
    except OSError as exc:
        return 126, f"cannot run `{command[0]}`: {exc.strerror or exc}"
    pumps = asyncio.gather(_pump(proc.stdout, out, redact), _pump(proc.stderr, err, redact))
    problem = None
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except asyncio.TimeoutError:
        problem = f"timed out after {timeout:g} s"
    finally:
        if proc.returncode is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), KILL_GRACE)
            except asyncio.TimeoutError:
                _signal_group(proc, signal.SIGKILL)
                await proc.wait()
        # Grandchildren that kept the pipes open would hold the pumps: bound the wait.
        try:
            await asyncio.wait_for(pumps, KILL_GRACE)
        except asyncio.TimeoutError:
            _signal_group(proc, signal.SIGKILL)
    code = proc.returncode if proc.returncode is not None else -signal.SIGKILL
    if problem is None and code < 0:
        problem = f"killed by signal {-code}"
    return code, problem


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

    @property
    def broken(self) -> list[Violation]:
        """Violations that count (not --allow'ed)."""
        return [v for v in self.violations if v.rule.id not in self.allowed]

    @property
    def exit_status(self) -> int:
        """0 pass, 3 client failed, 1 any other rule broken."""
        broken = self.broken
        if any(v.rule.id == "client.exit" for v in broken):
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


async def gate(spec: ProviderSpec, command: Sequence[str], *, tls: bool = False, scenario: str | None = None,
               timeout: float = DEFAULT_TIMEOUT, allow: Sequence[str] = (), env: Mapping[str, str] | None = None,
               out: BinaryIO | None = None, err: BinaryIO | None = None, seed: str | None = None) -> GateResult:
    """Start the mock, run the client against it, judge the journal; the result (nothing printed)."""
    out = out if out is not None else sys.stdout.buffer
    err = err if err is not None else sys.stderr.buffer
    started = time.monotonic()
    mock = await start_mock(spec, tls=tls, scenario=scenario, seed=seed)
    try:
        redact = redactor(mock.keys, mock.admin_secret, spec=spec, store=mock.runner.app[MOCK].store)
        client_exit, problem = await run_client(
            command, client_env(spec, mock, os.environ if env is None else env), timeout, out, err, redact)
        kept, dropped = await mock.journal()
        entries = _redact_json(kept, redact)
    finally:
        await mock.close()
    ctx = Context(base_url=mock.base_url, client_exit=client_exit, secrets=mock.keys)
    violations = judge(spec, entries, ctx)
    return GateResult(spec, mock.base_url, [redact(c) for c in command], tls, scenario, client_exit,
                      problem, entries, violations, frozenset(allow), time.monotonic() - started, dropped)


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
    refused = sum(1 for e in result.entries if (e.get("outcome") or {}).get("refused_by") == "http_parser")
    admin = sum(1 for e in result.entries if (e.get("outcome") or {}).get("refused_by") == "admin_secret")
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
    if not result.violations:
        return f"{head}\nauthconform gate {spec.id}: PASS (no rule broken of {len(rules_for(spec))})\n"
    status = "PASS" if result.exit_status == EXIT_PASS else "FAIL"
    return (f"{head}\n{format_violations(result.violations, result.allowed)}"
            f"authconform gate {spec.id}: {status} ({len(result.broken)} violation(s) counted, exit {result.exit_status})\n")


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


def report_junit(result: GateResult) -> ET.ElementTree:
    """One JUnit test case per rule; a broken rule is a <failure> (an --allow'ed one is <skipped>)."""
    rows = result.rule_verdicts()
    failures = sum(1 for _, verdict, _ in rows if verdict in ("FAIL", "NON-STRICT"))
    suite = ET.Element("testsuite", name=f"authconform.gate.{result.spec.id}", tests=str(len(rows)),
                       failures=str(failures), errors="0", skipped=str(sum(1 for _, v, _ in rows if v == "ALLOWED")),
                       time=f"{result.seconds:.3f}")
    for rule, verdict, mine in rows:
        case = ET.SubElement(suite, "testcase", classname=f"gate.{result.spec.id}", name=rule.id)
        text = "\n".join(f"#{v.seq} {v.request} (x{v.count}): {v.detail}" for v in mine)
        if verdict in ("FAIL", "NON-STRICT"):
            node = ET.SubElement(case, "failure", message=f"{verdict}: {rule.title}", type=verdict)
            node.text = f"{text}\nsource [{rule.strength}]: {rule.source}"
        elif verdict == "ALLOWED":
            ET.SubElement(case, "skipped", message=f"allowed by --allow: {text}")
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.ElementTree(root)


def write_reports(result: GateResult, directory: Path) -> list[Path]:
    """`gate-ID.json` and `gate-ID.xml` under the report folder."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"gate-{result.spec.id}"
    jpath, xpath = stem.with_suffix(".json"), stem.with_suffix(".xml")
    jpath.write_text(json.dumps(report_json(result), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tree = report_junit(result)
    ET.indent(tree)
    tree.write(xpath, encoding="utf-8", xml_declaration=True)
    return [jpath, xpath]


# --- command line ---------------------------------------------------------------------------------


class _HeadParser(argparse.ArgumentParser):
    """Parses `ID [options]` (the part before `--`); errors become GateError, not SystemExit."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise GateError(message)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tls", action="store_true", default=None,
                        help="serve HTTPS with a throwaway CA; its bundle is exported as SSL_CERT_FILE, "
                             "REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS and ID_CA_BUNDLE")
    parser.add_argument("--scenario", metavar="NAME",
                        help="change the mock's state mid-run: expire-after:N, revoke-after:N, rate-limit:N, flaky:N")
    parser.add_argument("--report", metavar="DIR", type=Path, help="write gate-ID.json and gate-ID.xml (JUnit) here")
    parser.add_argument("--timeout", metavar="SECONDS", type=float,
                        help=f"stop the client after this long (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--allow", metavar="RULE", action="append",
                        help="report this rule but do not fail on it (repeatable)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `gate` subcommand's arguments: `ID [options] -- CMD [ARGS...]`."""
    _options(parser)
    # One REMAINDER for `ID [options] -- CMD`: argparse would let a REMAINDER command swallow the
    # options written after ID, so the part before `--` is parsed again in main().
    parser.add_argument("rest", nargs=argparse.REMAINDER, metavar="ID [options] -- CMD [ARGS...]",
                        help="provider id, then the client's test command after `--`, run with ID_API_KEY and "
                             "ID_BASE_URL set")


def _split(args: argparse.Namespace) -> argparse.Namespace:
    """`ID [options] -- CMD` -> provider, options (before or after ID) and command."""
    rest = list(getattr(args, "rest", None) or [])
    if "--" in rest:
        cut = rest.index("--")
        head, command = rest[:cut], rest[cut + 1 :]
    else:  # `gate cloro pytest -x`: no options after ID, so the command starts right after it
        head, command = rest[:1], rest[1:]
    parser = _HeadParser(prog="gate", add_help=False)
    parser.add_argument("provider")
    _options(parser)
    if not head:
        raise GateError("no provider: `python -m mocks gate ID [--tls] [--scenario NAME] [--report DIR] -- CMD [ARGS...]`")
    opts = parser.parse_args(head)
    for name in ("tls", "scenario", "report", "timeout"):
        if getattr(opts, name) is None:
            setattr(opts, name, getattr(args, name, None))
    opts.tls = bool(opts.tls)
    opts.timeout = DEFAULT_TIMEOUT if opts.timeout is None else opts.timeout
    opts.allow = list(getattr(args, "allow", None) or []) + list(opts.allow or [])
    opts.command = command
    return opts


def _check(args: argparse.Namespace) -> tuple[ProviderSpec, list[str]]:
    """The spec and the command, or a GateError saying what would be right."""
    command = args.command
    if not command:
        raise GateError(f"no client command: write it after `--`, e.g. `python -m mocks gate {args.provider} -- pytest tests/`")
    try:
        spec = get_spec(args.provider)
    except SpecError as exc:
        raise GateError(str(exc).splitlines()[0]) from None
    except (KeyError, LookupError, FileNotFoundError):
        known = ", ".join(sorted(s.id for s in load_all()))
        raise GateError(f"unknown provider `{args.provider}`; one of: {known}") from None
    if not args.timeout > 0:
        raise GateError(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    if args.scenario is not None:
        try:
            refusal = parse_scenario(args.scenario).refusal(spec)
        except ValueError as exc:
            raise GateError(f"--scenario: {exc}") from None
        if refusal:
            raise GateError(f"--scenario: {refusal}")
    known_rules = [r.id for r in rules_for(spec)]
    for rid in args.allow:
        if rid not in known_rules:
            raise GateError(f"--allow {rid}: no such rule for {spec.id}; one of: {', '.join(known_rules)}")
    return spec, command


class _Stopped(Exception):
    """The gate got SIGINT or SIGTERM."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


async def _until_signal(work: Any) -> Any:
    """Run the gate; on SIGINT/SIGTERM cancel it, so that the client's process group is stopped
    (it runs in a session of its own, out of reach of a signal sent to ours)."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    got: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda n=signum: (got.append(n), task.cancel()))
    try:
        return await task
    except asyncio.CancelledError:
        if got:
            raise _Stopped(got[0]) from None
        raise
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def main(args: argparse.Namespace) -> int:
    """Run `gate` from parsed arguments; the exit status."""
    try:
        args = _split(args)
        spec, command = _check(args)
    except GateError as exc:
        print(f"gate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = asyncio.run(_until_signal(gate(spec, command, tls=args.tls, scenario=args.scenario,
                                                timeout=args.timeout, allow=args.allow)))
    except _Stopped as stop:
        print(f"gate: stopped by signal {stop.signum}; the client was stopped too", file=sys.stderr)
        return 128 + stop.signum
    sys.stdout.flush()
    sys.stderr.write(table(result))
    if args.report is not None:
        for path in write_reports(result, args.report):
            print(f"gate: wrote {path}", file=sys.stderr)
    return result.exit_status
