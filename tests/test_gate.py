"""The client gate driven by real clients: requests, httpx, aiohttp, curl and Node's fetch, right and
wrong, the provider pages' own samples, scenarios and TLS.

Every gated run of this file starts together (asyncio, bounded), so the whole matrix costs about
as long as its slowest client; the tests then read each run's result.
"""
from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mocks._app import MOCK, build_app
from mocks._gate import gate
from mocks._gate_result import GateResult
from specs import ProviderSpec, get_spec, load_all

CLIENTS = Path(__file__).parent / "clients"
SEEDS = CLIENTS / "seeds"
PY = sys.executable
NODE = shutil.which("node")
CURL = shutil.which("curl")
PROVIDERS = [s.id for s in load_all()]
CLIENT_NAMES = ("requests", "httpx", "aiohttp", "curl", "node")
# Client processes started at once: two cores, and each Python client spends ~0.2 s importing.
PARALLEL = 6
RUN_TIMEOUT = 60.0


def _call(spec: ProviderSpec) -> str:
    """The JSON the test clients take: which provider call to make."""
    ex = spec.exchange
    return json.dumps({
        "env": spec.env_prefix,
        "header": spec.credential.header,
        "scheme": spec.credential.scheme,
        "method": spec.probe.method,
        "path": spec.probe.path,
        "content_type": spec.probe.content_type or "application/octet-stream",
        "body": spec.probe.encode().decode("utf-8"),
        "query_name": spec.query_names[0],
        "exchange": None if ex is None else {
            "method": ex.method, "path": ex.path, "content_type": ex.content_type,
            "username_field": ex.username_field, "password_field": ex.password_field, "token_field": ex.token_field,
        },
    })


def _other_scheme(spec: ProviderSpec) -> str:
    """The keyword a misconfigured client uses: the other one of the two providers use."""
    return "Token" if spec.credential.scheme.lower() == "bearer" else "Bearer"


def client(name: str, spec: ProviderSpec, *flags: str, scheme: str | None = None,
           curl_mode: str = "header") -> list[str]:
    """The command line of a test client for a provider, configured by flags."""
    if name == "curl":
        p = spec.probe
        body = spec.probe.encode().decode("utf-8")
        return ["sh", str(CLIENTS / "curl_client.sh"), spec.env_prefix, p.method, p.path,
                p.content_type or "application/octet-stream", body, spec.credential.header,
                scheme or spec.credential.scheme, curl_mode]
    extra = ["--scheme", scheme] if scheme else []
    if name == "node":
        return [NODE or "node", str(CLIENTS / "node_fetch.mjs"), _call(spec), *extra, *flags]
    return [PY, str(CLIENTS / f"py_{name}.py"), _call(spec), *extra, *flags]


@dataclass
class Run:
    """One gated client run to make, and afterwards what it gave."""

    provider: str
    command: list[str]
    scenario: str | None = None
    tls: bool = False
    env: dict[str, str] = field(default_factory=dict)
    seed: str | None = None
    result: GateResult | None = None
    out: bytes = b""
    err: bytes = b""

    def broken(self) -> set[str]:
        """The ids of the rules this run broke."""
        assert self.result is not None
        return {v.rule.id for v in self.result.violations}

    def why(self) -> str:
        """What to print when an assertion on this run fails (already redacted by the gate)."""
        from mocks._gate_result import table

        return (table(self.result) if self.result else "") + self.err.decode(errors="replace")[-2000:]


async def _run_all(runs: dict[str, Run]) -> None:
    sem = asyncio.Semaphore(PARALLEL)

    async def one(run: Run) -> None:
        async with sem:
            out, err = io.BytesIO(), io.BytesIO()
            env = {**os.environ, **run.env}
            run.result = await gate(get_spec(run.provider), run.command, tls=run.tls, scenario=run.scenario,
                                    timeout=RUN_TIMEOUT, env=env, out=out, err=err, seed=run.seed)
            run.out, run.err = out.getvalue(), err.getvalue()

    await asyncio.gather(*(one(r) for r in runs.values()))


def _go(runs: dict[str, Run]) -> dict[str, Run]:
    asyncio.run(_run_all(runs))
    return runs


needs_tools = pytest.mark.skipif(not (NODE and CURL), reason="node and curl are needed on PATH")


# --- real clients, configured right, pass for every provider -----------------------------------


def _correct(name: str, spec: ProviderSpec) -> Run:
    flags = ["--expect", str(spec.probe.success.status)]
    if name == "requests" and spec.exchange is not None:
        flags += ["--exchange", "once"]  # the documented flow: username + password -> token, once
    env = {"CLIENT_EXPECT": str(spec.probe.success.status)} if name == "curl" else {}
    return Run(spec.id, client(name, spec, *[] if name == "curl" else flags), env=env)


@pytest.fixture(scope="module")
def correct_runs() -> dict[str, Run]:
    return _go({f"{c}-{p}": _correct(c, get_spec(p)) for c in CLIENT_NAMES for p in PROVIDERS})


@needs_tools
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("name", CLIENT_NAMES)
def test_correct_client_passes(correct_runs: dict[str, Run], name: str, provider: str) -> None:
    run = correct_runs[f"{name}-{provider}"]
    assert run.result is not None
    assert run.result.exit_status == 0, run.why()
    assert run.result.client_exit == 0, run.why()
    spec = get_spec(provider)
    probes = [e for e in run.result.entries if e["path"] == spec.probe.path]
    assert probes and all(e["outcome"]["status"] == spec.probe.success.status for e in probes), run.why()
    # The documented header went out: the mock saw the scheme keyword and the valid key's id.
    assert all(e["credential"]["scheme"] == spec.credential.scheme and e["credential"]["role"] == "valid"
               for e in probes), run.why()


# --- the same clients configured wrong fail with the right rule named ---------------------------

# Per misconfiguration: the rule it must break, and how each client is configured to make it.
MISTAKES: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "wrong_scheme": ("credential.scheme", {c: {"scheme": "OTHER"} for c in CLIENT_NAMES}),
    "key_in_query": ("key.not_in_url", {
        **{c: {"flags": ["--place", "query"]} for c in ("requests", "httpx", "aiohttp", "node")},
        "curl": {"curl_mode": "query:QUERY_NAME"}}),
    "lowercased_key": ("credential.key", {
        **{c: {"flags": ["--case", "lower"]} for c in ("requests", "httpx", "aiohttp", "node")},
        "curl": {"curl_mode": "lower"}}),
    # requests and fetch cannot send one header name twice: they add the key to the query as well.
    "sent_twice": ("credential.once", {
        "requests": {"flags": ["--place", "both"]}, "node": {"flags": ["--place", "both"]},
        "httpx": {"flags": ["--place", "two-lines"]}, "aiohttp": {"flags": ["--place", "two-lines"]},
        "curl": {"curl_mode": "twice"}}),
    # The key is revoked after its first use; the client then hammers the 401.
    "retry_storm": ("retry.after_401", {
        **{c: {"flags": ["--requests", "2", "--retries", "5"]} for c in ("requests", "httpx", "aiohttp", "node")},
        "curl": {"env": {"CLIENT_REQUESTS": "2", "CLIENT_RETRIES": "5"}}}),
}
# Providers whose keys have upper-case letters (so lowercasing changes them) and a revoked state.
MISTAKE_PROVIDER = {"requests": "cloro", "httpx": "cryptocloud", "aiohttp": "cloro", "curl": "cryptocloud",
                    "node": "cloro"}


def _mistake(mistake: str, name: str) -> Run:
    spec = get_spec(MISTAKE_PROVIDER[name])
    how = MISTAKES[mistake][1][name]
    scheme = _other_scheme(spec) if how.get("scheme") == "OTHER" else None
    mode = how.get("curl_mode", "header").replace("QUERY_NAME", spec.query_names[0])
    return Run(spec.id, client(name, spec, *how.get("flags", []), scheme=scheme, curl_mode=mode),
               scenario="revoke-after:1" if mistake == "retry_storm" else None, env=how.get("env", {}))


@pytest.fixture(scope="module")
def mistake_runs() -> dict[str, Run]:
    return _go({f"{m}-{c}": _mistake(m, c) for m in MISTAKES for c in CLIENT_NAMES})


@needs_tools
@pytest.mark.parametrize("name", CLIENT_NAMES)
@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_misconfigured_client_fails_with_rule(mistake_runs: dict[str, Run], mistake: str, name: str) -> None:
    run = mistake_runs[f"{mistake}-{name}"]
    rule = MISTAKES[mistake][0]
    assert run.result is not None
    # The client's own checks were content (exit 0): only the gate catches the mistake.
    assert run.result.client_exit == 0, run.why()
    assert run.result.exit_status == 1, run.why()
    assert rule in run.broken(), run.why()
    assert rule in run.err.decode() or rule in run.why()


def test_retry_storm_alone_breaks_only_the_retry_rule(mistake_runs: dict[str, Run]) -> None:
    """With the key revoked mid-run the key itself was right: only the storm is charged."""
    run = mistake_runs["retry_storm-requests"]
    assert run.broken() == {"retry.after_401"}, run.why()
    (v,) = run.result.violations  # type: ignore[union-attr]
    assert "repeated 5 times after 401" in v.detail


# --- provider extras, scenarios, placements (requests, the most configurable client) -----------

EXTRAS: dict[str, tuple[str, list[str], str | None, set[str]]] = {
    # id: (provider, flags, scenario, rules broken: empty = passes)
    "crux-exchange-each-call": ("crux", ["--exchange", "each", "--requests", "3"], None, {"exchange.once"}),
    "crux-password-with-token": ("crux", ["--exchange", "once", "--password-too"], None, {"exchange.password_not_resent"}),
    "flash-account-token": ("flash", ["--key-role", "account"], None, {"binding.kind"}),
    "flash-other-subscription": ("flash", ["--key-role", "other_binding"], None, {"binding.resource"}),
    "claid-limited-key": ("claid", ["--key-role", "limited"], None, {"scope.covers"}),
    "claid-limited-key-retried": ("claid", ["--key-role", "limited", "--retries", "2"], None,
                                  {"scope.covers", "retry.after_403"}),
    "cloro-key-in-cookie": ("cloro", ["--place", "cookie"], None, {"key.not_in_cookie", "credential.header"}),
    "cloro-key-in-body": ("cloro", ["--place", "body"], None, {"key.not_in_body", "credential.header"}),
    "cloro-expired-key": ("cloro", ["--key-role", "expired"], None, {"credential.key"}),
    "flash-quoted-token": ("flash", ["--quote"], None, {"credential.syntax"}),
    "cloro-revoke-then-stop": ("cloro", ["--requests", "3"], "revoke-after:1", set()),
    "cryptocloud-expire-then-stop": ("cryptocloud", ["--requests", "3"], "expire-after:2", set()),
    "flash-expire-retry-once": ("flash", ["--requests", "3", "--retries", "1"], "expire-after:1", set()),
    "cloro-rate-limit-waits": ("cloro", ["--requests", "3", "--on-429", "wait", "--expect", "200"], "rate-limit:1", set()),
    "claid-rate-limit-ignored": ("claid", ["--requests", "3", "--on-429", "ignore"], "rate-limit:1", {"retry.after_429"}),
    "crux-flaky-retried": ("crux", ["--requests", "4", "--retry-5xx", "2", "--expect", "200"], "flaky:2", set()),
}


# The gate's admin API answers only its own secret, so a client misconfigured with another of the
# mock's keys gets it the way a real one would, from its configuration: the run's keys are seeded,
# and the test hands the wrong one over in a variable of its own.
SEED = "test-gate"
WRONG_KEY = "AUTHCONFORM_TEST_WRONG_KEY"


def _extra(provider: str, flags: list[str], scenario: str | None) -> Run:
    """A requests client run; `--key-role ROLE` becomes that role's seeded key in WRONG_KEY."""
    flags, env = list(flags), {}
    if "--key-role" in flags:
        i = flags.index("--key-role")
        role = flags.pop(i + 1)
        flags[i:i + 1] = ["--key-env", WRONG_KEY]
        env[WRONG_KEY] = build_app(get_spec(provider), seed=SEED)[MOCK].keys()[role]
    return Run(provider, client("requests", get_spec(provider), *flags), scenario=scenario, env=env, seed=SEED)


@pytest.fixture(scope="module")
def extra_runs() -> dict[str, Run]:
    return _go({rid: _extra(p, flags, sc) for rid, (p, flags, sc, _) in EXTRAS.items()})


@pytest.mark.parametrize("rid", list(EXTRAS))
def test_provider_extras_and_scenarios(extra_runs: dict[str, Run], rid: str) -> None:
    run, expected = extra_runs[rid], EXTRAS[rid][3]
    assert run.result is not None
    assert run.result.client_exit == 0, run.why()
    assert run.broken() == expected, run.why()
    assert run.result.exit_status == (1 if expected else 0), run.why()


def test_scenarios_show_in_the_journal(extra_runs: dict[str, Run]) -> None:
    """The journal shows what the client did next: a 401 after the revocation, the 503/reset, the wait."""
    statuses = [e["outcome"]["status"] for e in extra_runs["cloro-revoke-then-stop"].result.entries]  # type: ignore[union-attr]
    assert statuses == [200, 401]
    flaky = extra_runs["crux-flaky-retried"].result.entries  # type: ignore[union-attr]
    assert {e["outcome"]["fault"] for e in flaky} >= {"unavailable", "reset"}
    waited = extra_runs["cloro-rate-limit-waits"].result.entries  # type: ignore[union-attr]
    i = next(i for i, e in enumerate(waited) if e["outcome"]["status"] == 429)
    assert waited[i + 1]["time"] - waited[i]["time"] >= 1.0 - 0.05


# --- the provider pages' samples, re-pointed at the mock -----------------------------------------

# Each page slip, and the one-line fix that makes the sample right: (file, slip, fix).
FIXES = {
    "crux_requests": ("crux_requests.py", "data=json.dumps()", "data=json.dumps({})"),
    "crux_node": ("crux_node.js", 'request.write("{}")', "// request.write: no body on a GET"),
    "cryptocloud_curl": ("cryptocloud_curl.sh", "-header ", "-H "),
}


def fixed(tmp: Path, name: str) -> str:
    """A sample with its one slip fixed, written next to the others' copies; its path."""
    file, slip, fix = FIXES[name]
    text = (SEEDS / file).read_text()
    assert text.count(slip) == 1, f"{file}: the slip {slip!r} is not there exactly once"
    out = tmp / f"fixed_{file}"
    out.write_text(text.replace(slip, fix))
    return str(out)


SEED_RUNS: dict[str, tuple[str, list[str], set[str]]] = {
    "cloro-curl": ("cloro", ["sh", str(SEEDS / "cloro_curl.sh")], set()),
    "cloro-python": ("cloro", [PY, str(SEEDS / "cloro_requests.py")], set()),
    "cloro-javascript": ("cloro", ["node", str(SEEDS / "cloro_fetch.mjs")], set()),
    "crux-curl": ("crux", ["bash", str(SEEDS / "crux_curl.sh")], set()),
    # The page's Node tab writes `{}` on a GET: Node frames no body on a GET, so the bytes reach
    # the server as a second, malformed request; aiohttp's parser answers 400 for the whole segment
    # and the GET never reaches the mock's handlers: the refused segment is journaled and named.
    "crux-node-as-published": ("crux", ["node", str(SEEDS / "crux_node.js")], {"client.well_formed"}),
    "crux-node-fixed": ("crux", ["node", "FIXED:crux_node"], set()),
    # The page's Python tab calls json.dumps() with no argument: TypeError before any request.
    "crux-python-as-published": ("crux", [PY, str(SEEDS / "crux_requests.py")], {"client.exit"}),
    "crux-python-fixed": ("crux", [PY, "FIXED:crux_requests"], set()),
    # `-header`: curl reads -h, prints its help, exits 0, sends nothing.
    "cryptocloud-curl-as-published": ("cryptocloud", ["sh", str(SEEDS / "cryptocloud_curl.sh")], {"client.sent_requests"}),
    "cryptocloud-curl-fixed": ("cryptocloud", ["sh", "FIXED:cryptocloud_curl"], set()),
    "cryptocloud-python": ("cryptocloud", [PY, str(SEEDS / "cryptocloud_requests.py")], set()),
    "cryptocloud-javascript": ("cryptocloud", ["node", str(SEEDS / "cryptocloud_fetch.mjs")], set()),
    "flash-curl": ("flash", ["sh", str(SEEDS / "flash_curl.sh")], set()),
    "claid-curl": ("claid", ["sh", str(SEEDS / "claid_curl.sh")], set()),
}


def _seed_command(tmp: Path, cmd: list[str]) -> list[str]:
    return [fixed(tmp, c[len("FIXED:"):]) if c.startswith("FIXED:") else c for c in cmd]


@pytest.fixture(scope="module")
def seed_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    tmp = tmp_path_factory.mktemp("seeds")
    return _go({sid: Run(p, _seed_command(tmp, cmd)) for sid, (p, cmd, _) in SEED_RUNS.items()})


@needs_tools
@pytest.mark.parametrize("sid", list(SEED_RUNS))
def test_seed_samples(seed_runs: dict[str, Run], sid: str) -> None:
    run, expected = seed_runs[sid], SEED_RUNS[sid][2]
    assert run.result is not None
    assert run.broken() == expected, run.why()
    assert run.result.exit_status == (0 if not expected else 3 if "client.exit" in expected else 1), run.why()
    if not expected:
        assert run.result.entries, run.why()


@needs_tools
def test_cryptocloud_curl_sample_prints_help_and_sends_nothing(seed_runs: dict[str, Run]) -> None:
    run = seed_runs["cryptocloud-curl-as-published"]
    assert run.result is not None and run.result.client_exit == 0
    assert run.result.entries == []
    assert b"Usage: curl" in run.out


# --- TLS: the exported bundle, never --insecure --------------------------------------------------


@pytest.fixture(scope="module")
def tls_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    cloro, crux = get_spec("cloro"), get_spec("crux")
    tmp = tmp_path_factory.mktemp("tls")
    return _go({
        "requests": Run("cloro", client("requests", cloro, "--expect", "200"), tls=True),
        "curl": Run("cloro", client("curl", cloro), tls=True, env={"CLIENT_EXPECT": "200"}),
        "node": Run("crux", client("node", crux, "--expect", "200"), tls=True),
        "seed-node-https": Run("crux", ["node", fixed(tmp, "crux_node")], tls=True),
        # Without the bundle the same curl line cannot verify the mock: TLS is real.
        "curl-without-bundle": Run("cloro", ["sh", "-c", 'unset CURL_CA_BUNDLE SSL_CERT_FILE; '
                                             'exec curl -sS -o /dev/null "$CLORO_BASE_URL/v1/monitor"'], tls=True),
    })


@needs_tools
@pytest.mark.parametrize("rid", ["requests", "curl", "node", "seed-node-https"])
def test_tls_clients_verify_the_throwaway_ca(tls_runs: dict[str, Run], rid: str) -> None:
    run = tls_runs[rid]
    assert run.result is not None and run.result.base_url.startswith("https://127.0.0.1:")
    assert run.result.exit_status == 0, run.why()
    assert run.result.entries and all(e["outcome"]["status"] == 200 for e in run.result.entries), run.why()


@needs_tools
def test_tls_without_the_bundle_fails(tls_runs: dict[str, Run]) -> None:
    run = tls_runs["curl-without-bundle"]
    assert run.result is not None
    assert run.result.client_exit == 60, run.why()  # curl: peer certificate cannot be authenticated
    assert run.result.exit_status == 3
    assert run.result.entries == []
