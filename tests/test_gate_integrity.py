"""The gated client is untrusted: nothing it sends may change what the gate judges.

The gate's mock answers admin calls only with a per-run secret the client never sees; a client's
admin call is refused (403), journaled and judged (`client.no_admin`). `serve` off loopback needs
a secret too. Real gate processes, real curl and sh.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from _helpers import stop
from mocks import _gate
from mocks.__main__ import admin_secret, build_parser
from specs import get_spec

ROOT = Path(__file__).resolve().parent.parent
CLI_TIMEOUT = 60
needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="the client command lines here are curl")
WRONG_SCHEME = ('curl -sS -o /dev/null -X POST -H "Authorization: Token $CLORO_API_KEY" '
                '-H "Content-Type: application/json" -d "{}" "$CLORO_BASE_URL/v1/monitor"')
ADMIN = "$CLORO_BASE_URL/__authconform__"


def run_gate(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m mocks gate ARGS` in a process of its own (bounded)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mocks", "gate", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=CLI_TIMEOUT)


@needs_curl
@pytest.mark.parametrize("erase", [
    f'curl -sS -o /dev/null -X DELETE "{ADMIN}/journal"',
    f'curl -sS -o /dev/null -X POST "{ADMIN}/reset"',
    # Any other admin change: mint a key, revoke the valid one, an admin path that does not exist.
    f'curl -sS -o /dev/null -X POST -d "{{}}" "{ADMIN}/keys"; curl -sS -o /dev/null -X POST "{ADMIN}/keys/k1/revoke"; '
    f'curl -sS -o /dev/null "{ADMIN}/nothing-here"',
], ids=["delete-journal", "reset", "mint-revoke-unknown"])
def test_client_cannot_erase_its_violations(tmp_path: Path, erase: str) -> None:
    """A wrong scheme, then the client's attempt to wipe the record: exit 1, both named."""
    proc = run_gate("cloro", "--report", str(tmp_path), "--", "sh", "-c", f"{WRONG_SCHEME}; {erase}", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "credential.scheme" in proc.stderr and "client.no_admin" in proc.stderr, proc.stderr
    report = json.loads((tmp_path / "gate-cloro.json").read_text())
    rules = {r["id"]: r for r in report["rules"]}
    assert rules["client.no_admin"]["verdict"] == "FAIL" and rules["client.no_admin"]["strength"] == "gate"
    refused = [e for e in report["journal"] if e["outcome"]["refused_by"] == "admin_secret"]
    assert refused and all(e["outcome"]["status"] == 403 for e in refused)
    assert any(e["path"].startswith("/__authconform__/") for e in refused)


@needs_curl
def test_admin_reads_by_the_client_are_refused_and_judged(tmp_path: Path) -> None:
    """Even reading keys (other states' keys) or the journal needs the secret."""
    proc = run_gate("cloro", "--", "sh", "-c", f'curl -fsS "{ADMIN}/keys"; echo "status $?"', cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "status 22" in proc.stdout  # curl -f: the 403
    assert "client.no_admin" in proc.stderr and "GET /__authconform__/keys" in proc.stderr


def test_the_secret_reaches_neither_environment_nor_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client sees its variables, never the admin secret (nor in its arguments)."""
    secret = "gate-admin-secret-for-this-test-0123456789"
    monkeypatch.setattr(_gate.secrets, "token_urlsafe", lambda n: secret)
    dump = tmp_path / "seen"
    command = ["sh", "-c", f'env > {dump}; echo "$0 $*" >> {dump}; cat /proc/$$/cmdline >> {dump}']
    out, err = io.BytesIO(), io.BytesIO()
    result = asyncio.run(_gate.gate(get_spec("cloro"), command, timeout=30, out=out, err=err))
    seen = dump.read_text(errors="replace")
    assert "CLORO_API_KEY=" in seen and "CLORO_BASE_URL=" in seen
    assert secret not in seen and secret[:12] not in seen
    assert result.client_exit == 0


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mocks", "serve", "cloro", *args], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _call(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_serve_admin_secret_env(tmp_path: Path) -> None:
    """`serve --admin-secret-env VAR`: 403 (journaled) without the header, the answer with it."""
    journal = tmp_path / "journal.jsonl"
    proc = _serve("--admin-secret-env", "MOCK_ADMIN", "--journal", str(journal), env={"MOCK_ADMIN": "s3cret-admin-value"})
    try:
        line = json.loads(proc.stdout.readline())
        base = line["base_url"] + "/__authconform__/"
        assert _call(base + "journal", "DELETE")[0] == 403
        assert _call(base + "reset", "POST")[0] == 403
        status, body = _call(base + "journal", headers={"X-Authconform-Admin": "s3cret-admin-value"})
        assert status == 200
        paths = [(e["method"], e["path"], e["outcome"]["refused_by"]) for e in json.loads(body)["entries"]]
        assert paths == [("DELETE", "/__authconform__/journal", "admin_secret"),
                         ("POST", "/__authconform__/reset", "admin_secret")]
        assert _call(base + "keys", headers={"X-Authconform-Admin": "wrong"})[0] == 403
    finally:
        _, err = stop(proc)
    assert proc.returncode == 0, err
    assert "s3cret-admin-value" not in journal.read_text()


def _serve_args(*argv: str) -> tuple[argparse.Namespace, argparse.ArgumentParser]:
    parser = build_parser(["serve", *argv])
    args = parser.parse_args(["serve", *argv])
    return args, args.subparser


@pytest.mark.parametrize("argv, env, words", [
    (("cloro", "--host", ""), {}, "--host needs an address"),
    (("cloro", "--host", "0.0.0.0"), {}, "--admin-secret-env VAR"),
    (("cloro", "--host", "::"), {}, "--admin-secret-env VAR"),
    (("cloro", "--admin-secret-env", "NO_SUCH_VAR_HERE"), {}, "unset or empty"),
], ids=["empty-host", "any-v4", "any-v6", "unset-var"])
def test_serve_host_refusals(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                             argv: tuple[str, ...], env: dict[str, str], words: str) -> None:
    """Off loopback without a secret, an empty host, an unset variable: usage errors (exit 2)."""
    monkeypatch.delenv("NO_SUCH_VAR_HERE", raising=False)
    args, parser = _serve_args(*argv)
    with pytest.raises(SystemExit) as stop:
        admin_secret(args, parser)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_serve_off_loopback_warns(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """With a secret, 0.0.0.0 is served, with a warning on stderr (nothing is bound here)."""
    monkeypatch.setenv("MOCK_ADMIN", "s3cret")
    args, parser = _serve_args("cloro", "--host", "0.0.0.0", "--admin-secret-env", "MOCK_ADMIN")
    assert admin_secret(args, parser) == "s3cret"
    err = capsys.readouterr().err
    assert "warning" in err and "0.0.0.0" in err and "X-Authconform-Admin" in err
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        args, parser = _serve_args("cloro", "--host", host)
        assert admin_secret(args, parser) is None
        assert capsys.readouterr().err == ""


@needs_curl
def test_a_request_the_parser_refuses_is_journaled_and_named(tmp_path: Path) -> None:
    """curl sends a key with a trailing newline: the parser's 400 is journaled (redacted) and named."""
    bad = ('curl -sS -o /dev/null -X POST -H "Authorization: Bearer $CLORO_API_KEY\n" '
           '-H "Content-Type: application/json" -d "{}" "$CLORO_BASE_URL/v1/monitor"')
    proc = run_gate("cloro", "--report", str(tmp_path), "--", "sh", "-c", f'printf %s "$CLORO_API_KEY" > key; {bad}',
                    cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "no request reached the mock" not in proc.stderr
    assert "client.well_formed" in proc.stderr and "refused by the mock's HTTP parser" in proc.stderr
    report = (tmp_path / "gate-cloro.json").read_text()
    (entry,) = json.loads(report)["journal"]
    assert entry["outcome"] == {**entry["outcome"], "status": 400, "refused_by": "http_parser"}
    assert (entry["method"], entry["path"]) == ("POST", "/v1/monitor")
    assert any(n == "Authorization" and v.startswith("Bearer <key:") for n, v in entry["headers"]), entry
    key = (tmp_path / "key").read_text()
    assert len(key) > 10 and key not in report and key not in proc.stderr + proc.stdout


def test_serve_workers_check_the_admin_secret_too(tmp_path: Path) -> None:
    """`serve --workers 2 --admin-secret-env VAR`: every worker refuses (and journals) a call without it."""
    proc = _serve("--workers", "2", "--no-rate-limit", "--admin-secret-env", "MOCK_ADMIN", env={"MOCK_ADMIN": "w0rkers-secret"})
    try:
        base = json.loads(proc.stdout.readline())["base_url"] + "/__authconform__/"
        statuses = {_call(base + "reset", "POST")[0] for _ in range(8)}  # fresh connections: both workers
        assert statuses == {403}
        status, body = _call(base + "journal", headers={"X-Authconform-Admin": "w0rkers-secret"})
        assert status == 200
        refused = [e for e in json.loads(body)["entries"] if e["outcome"]["refused_by"] == "admin_secret"]
        assert len(refused) == 8
    finally:
        stop(proc)
