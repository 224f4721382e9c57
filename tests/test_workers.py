"""`python -m mocks serve ID --workers N`: N processes on one port, keys and journal shared, clean stops.

Each test starts `serve ... --workers 2` on 127.0.0.1 port 0 as a subprocess and stops it by PID.
Sharing is checked on many fresh connections (`send` closes each one), which the kernel spreads
over both workers: 30 connections all landing on one worker has odds of 2^-29. Keys are never
assert operands (pytest would print them): results are computed first, then compared.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from specs import ADMIN_PREFIX
from _helpers import SPECS, admin, probe_request, send

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 30
START_SECONDS = 20.0
# A stop slower than this is a hang (the 2 s floor is bench/sigterm.py's figure, not a unit test's).
STOP_SECONDS = 10.0


class Workers:
    """A `python -m mocks serve ID --workers N` subprocess (own session), its serve line and its workers."""

    def __init__(self, provider: str, *args: str, workers: int = 2, env: dict[str, str] | None = None):
        self.provider = provider
        self.err = ""
        # stderr to a file: a worker that outlived its parent would hold a pipe open, and reading it would hang.
        self._errfile = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mocks", "serve", provider, "--port", "0", "--workers", str(workers), *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self._errfile, text=True, start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # printed once, when every worker listens
        if not line:
            self.stop(signal.SIGKILL)
            raise AssertionError(f"serve --workers printed nothing; stderr: {self.err}")
        self.line: dict[str, Any] = json.loads(line)
        self.url: str = self.line["base_url"]

    @property
    def spec(self) -> Any:
        """The provider's spec."""
        return SPECS[self.provider]

    def worker_pids(self, tries: int = CONNECTIONS) -> set[int]:
        """The worker PIDs GET info names over `tries` fresh connections."""
        return {admin(self.url, "GET", "info")[1]["worker"]["pid"] for _ in range(tries)}

    def probe_statuses(self, key: str) -> list[int]:
        """The probe's status with `key` on CONNECTIONS fresh connections."""
        return [probe_request(self.url, self.spec, self.spec.credential.render(key)).status for _ in range(CONNECTIONS)]

    def children(self) -> set[int]:
        """The parent's child processes now (Linux /proc)."""
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return {int(p) for p in path.read_text().split()}
        except OSError:
            return set()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, float]:
        """Signal the parent (by PID); (exit status, seconds to exit). SIGKILL after `timeout`."""
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=10)
        took = time.monotonic() - start
        if not self._errfile.closed:
            self._errfile.seek(0)
            self.err = self._errfile.read()
            self._errfile.close()
        if self.proc.stdout:
            self.proc.stdout.close()
        return code, took


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its reaper counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _gone_within(pids: set[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def workers() -> Iterator[Any]:
    """`workers(provider, *args)`: a started `serve --workers 2`; stopped (and its workers killed) at teardown."""
    started: list[Workers] = []
    pids: set[int] = set()

    def start(provider: str, *args: str, n: int = 2, env: dict[str, str] | None = None) -> Workers:
        w = Workers(provider, *args, workers=n, env=env)
        started.append(w)
        pids.update(w.children())
        return w

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.stop()
    for pid in pids:  # a test that broke sharing must not leave a worker behind
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _valid_key_id(w: Workers) -> str:
    """The id of the serve line's valid key, read from the journal entry of one request with it."""
    admin(w.url, "DELETE", "journal")
    probe_request(w.url, w.spec, w.spec.credential.render(w.line["keys"]["valid"]))
    return admin(w.url, "GET", "journal")[1]["entries"][-1]["credential"]["key_id"]


# -- both workers serve ----------------------------------------------------------------------------
def test_two_workers_answer_on_one_port(workers: Any) -> None:
    """Two distinct worker PIDs (neither the parent) answer on the serve line's port; the line is the usual one."""
    w = workers("crux")
    assert set(w.line) == {"provider", "base_url", "keys"} and not w.url.endswith(":0")
    infos = [admin(w.url, "GET", "info")[1]["worker"] for _ in range(CONNECTIONS)]
    pids = {i["pid"] for i in infos}
    assert len(pids) == 2 and w.proc.pid not in pids
    assert {i["index"] for i in infos} == {0, 1}


def test_one_worker_is_the_single_process_path(workers: Any) -> None:
    """--workers 1 is plain `serve`: no worker section in info, no child process."""
    w = workers("crux", n=1)
    _, info = admin(w.url, "GET", "info")
    assert "worker" not in info
    assert w.children() == set()


# -- keys: read-your-writes on every connection ------------------------------------------------------
@pytest.mark.parametrize("provider", ["cryptocloud", "crux"])
def test_minted_key_then_revoked_and_expired_everywhere(workers: Any, provider: str) -> None:
    """A key minted on one connection works on 30 others; revoked (or expired), it fails on all of them."""
    w = workers(provider)
    spec = w.spec
    status, minted = admin(w.url, "POST", "keys", {"state": "valid"})
    assert status == 200
    statuses = w.probe_statuses(minted["key"])
    assert statuses == [spec.probe.success.status] * CONNECTIONS
    for state, action in (("revoked", "revoke"), ("expired", "expire")):
        if state not in spec.keys.states:
            continue
        key = admin(w.url, "POST", "keys", {"state": "valid"})[1]
        assert admin(w.url, "POST", f"keys/{key['id']}/{action}")[0] == 200
        statuses = w.probe_statuses(key["key"])
        assert statuses == [spec.failures[state].status] * CONNECTIONS, state


def test_same_keys_and_ids_on_every_worker(workers: Any) -> None:
    """GET keys is the serve line's on every connection; mints from different connections get distinct ids."""
    w = workers("cryptocloud")
    same = all(admin(w.url, "GET", "keys")[1] == w.line["keys"] for _ in range(10))
    assert same
    ids = [admin(w.url, "POST", "keys", {})[1]["id"] for _ in range(10)]
    assert len(set(ids)) == 10


def test_admin_errors_pass_through(workers: Any) -> None:
    """An unknown key id is 404, a state the provider lacks 400, as with one process."""
    w = workers("crux")
    assert admin(w.url, "POST", "keys/k999/revoke")[0] == 404
    assert admin(w.url, "POST", "keys", {"state": "expired"})[0] == 400


def test_reset_reaches_every_worker(workers: Any) -> None:
    """After reset, a key minted before it is unknown on every connection, and the journal is empty."""
    w = workers("cryptocloud")
    key = admin(w.url, "POST", "keys", {})[1]["key"]
    before = w.probe_statuses(key)
    assert before == [w.spec.probe.success.status] * CONNECTIONS
    status, body = admin(w.url, "POST", "reset")
    initial_keys = body["keys"] == w.line["keys"]
    assert status == 200 and initial_keys
    after = w.probe_statuses(key)
    assert after == [w.spec.failures["invalid"].status] * CONNECTIONS
    admin(w.url, "POST", "reset")
    assert admin(w.url, "GET", "journal")[1]["entries"] == []


def test_exchange_remint_reaches_every_worker(workers: Any) -> None:
    """Crux: the user's token revoked, an exchange mints a new one, which then works on every connection."""
    w = workers("crux")
    spec, keys = w.spec, w.line["keys"]
    assert admin(w.url, "POST", f"keys/{_valid_key_id(w)}/revoke")[0] == 200
    ex = spec.exchange
    body = json.dumps({ex.username_field: keys["username"], ex.password_field: keys["password"]}).encode()
    reply = send(w.url, ex.method, ex.path, [("Content-Type", ex.content_type)], body)
    assert reply.status == 200
    token = reply.json()[ex.token_field]
    new = token != keys["valid"]
    assert new
    statuses = w.probe_statuses(token)
    assert statuses == [spec.probe.success.status] * CONNECTIONS
    shown = all(admin(w.url, "GET", "keys")[1]["valid"] == token for _ in range(10))
    assert shown
    again = send(w.url, ex.method, ex.path, [("Content-Type", ex.content_type)], body)
    same = again.json()[ex.token_field] == token
    assert same  # no second re-mint


# -- the journal --------------------------------------------------------------------------------------
def test_journal_lists_every_worker_with_unique_seqs(workers: Any) -> None:
    """Every request of both workers, seqs unique and increasing; since= and clear work across workers."""
    w = workers("cryptocloud")
    spec = w.spec
    admin(w.url, "DELETE", "journal")
    statuses = w.probe_statuses(w.line["keys"]["valid"])
    _, page = admin(w.url, "GET", "journal")
    seqs = [e["seq"] for e in page["entries"]]
    assert len(seqs) == CONNECTIONS and seqs == sorted(set(seqs)) and page["dropped"] == 0
    assert [e["outcome"]["status"] for e in page["entries"]] == statuses
    assert admin(w.url, "GET", "journal")[1]["entries"] == page["entries"]  # numbers never change
    cut = seqs[9]
    assert [e["seq"] for e in admin(w.url, "GET", f"journal?since={cut}")[1]["entries"]] == seqs[10:]
    assert admin(w.url, "GET", f"journal?since={seqs[-1]}")[1]["entries"] == []
    more = [probe_request(w.url, spec, None).status for _ in range(10)]
    newer = admin(w.url, "GET", f"journal?since={seqs[-1]}")[1]["entries"]
    assert len(newer) == len(more) and min(e["seq"] for e in newer) > seqs[-1]
    assert admin(w.url, "DELETE", "journal")[1] == {"cleared": CONNECTIONS + 10}
    assert admin(w.url, "GET", "journal")[1]["entries"] == []
    probe_request(w.url, spec, None)
    after = admin(w.url, "GET", "journal")[1]["entries"]
    assert len(after) == 1 and after[0]["seq"] > max(e["seq"] for e in newer)


@pytest.mark.parametrize("provider", ["cryptocloud", "crux"])
def test_journal_redacts_keys_minted_through_another_worker(workers: Any, provider: str) -> None:
    """A key minted through one worker and sent to both: journaled with its id, its bytes redacted."""
    w = workers(provider)
    minted = admin(w.url, "POST", "keys", {})[1]
    w.probe_statuses(minted["key"])
    raw = send(w.url, "GET", ADMIN_PREFIX + "journal").body.decode()
    leaked = minted["key"] in raw or minted["key"][:12] in raw
    assert not leaked
    ids = [e["credential"]["key_id"] for e in json.loads(raw)["entries"]]
    assert ids == [minted["id"]] * CONNECTIONS


# -- stopping --------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["parent", "group"])
def test_sigterm_exits_0_with_the_whole_journal(workers: Any, tmp_path: Path, how: str) -> None:
    """SIGTERM to the parent (or to the whole process group): exit 0 promptly, workers gone,
    --journal holds every request of every worker, numbered uniquely, no key in the clear."""
    path = tmp_path / "journal.jsonl"
    w = workers("crux", "--journal", str(path))
    pids = w.worker_pids()
    statuses = w.probe_statuses(w.line["keys"]["valid"])
    if how == "parent":
        code, took = w.stop(signal.SIGTERM)
    else:
        start = time.monotonic()
        os.killpg(w.proc.pid, signal.SIGTERM)
        code, took = w.stop(signal.SIGTERM)
        took = time.monotonic() - start
    assert code == 0 and took < STOP_SECONDS and w.err == ""
    assert _gone_within(pids, 1.0)
    text = path.read_text()
    entries = [json.loads(line) for line in text.splitlines()]
    assert [e["outcome"]["status"] for e in entries] == statuses
    assert [e["seq"] for e in entries] == sorted({e["seq"] for e in entries})
    leaked = w.line["keys"]["valid"] in text or w.line["keys"]["password"] in text
    assert not leaked


def test_sigterm_to_one_worker_stops_them_all_cleanly(workers: Any, tmp_path: Path) -> None:
    """SIGTERM to a single worker is a stop request, not a death: exit 0 promptly, journal whole."""
    path = tmp_path / "journal.jsonl"
    w = workers("crux", "--journal", str(path))
    pids = w.worker_pids()
    statuses = w.probe_statuses(w.line["keys"]["valid"])
    start = time.monotonic()
    os.kill(min(pids), signal.SIGTERM)
    code = w.proc.wait(timeout=10)
    took = time.monotonic() - start
    w.stop()
    assert code == 0 and took < STOP_SECONDS and w.err == ""
    assert len(path.read_text().splitlines()) == len(statuses) and _gone_within(pids, 1.0)


def test_sigint_stops_every_worker(workers: Any) -> None:
    """SIGINT (Ctrl-C reaches the whole group) exits 0 promptly, no worker left."""
    w = workers("crux")
    pids = w.worker_pids()
    os.killpg(w.proc.pid, signal.SIGINT)
    code, took = w.stop(signal.SIGINT)
    assert code == 0 and took < STOP_SECONDS and _gone_within(pids, 1.0)


# A worker silent this long is stuck (mocks/_workers.py WORKER_SECONDS; 5 s unless shortened).
QUICK = {"AUTHCONFORM_WORKER_SECONDS": "1.0"}


def _answered(w: Workers, key: str, tries: int = CONNECTIONS) -> list[int | None]:
    """The probe's status on `tries` fresh connections, None where none came within 3 s."""
    out: list[int | None] = []
    for _ in range(tries):
        try:
            out.append(probe_request_within(w, key, 3.0))
        except OSError:
            out.append(None)
    return out


def probe_request_within(w: Workers, key: str, seconds: float) -> int:
    """The probe's status on one fresh connection, waiting at most `seconds`."""
    import _helpers

    saved, _helpers.TIMEOUT = _helpers.TIMEOUT, seconds
    try:
        return probe_request(w.url, w.spec, w.spec.credential.render(key)).status
    finally:
        _helpers.TIMEOUT = saved


def test_a_killed_worker_leaves_the_rest_serving_and_the_journal_written(workers: Any, tmp_path: Path) -> None:
    """SIGKILL of one worker (the whole journal was lost, and the rest stopped): the survivor serves
    every new connection and admin call, and SIGTERM writes its entries (exit 1: some were lost)."""
    path = tmp_path / "journal.jsonl"
    w = workers("crux", "--journal", str(path), env=QUICK)
    victim, survivor = sorted(w.worker_pids())
    os.kill(victim, signal.SIGKILL)
    time.sleep(0.5)  # the parent reads its channel's end
    key = w.line["keys"]["valid"]
    statuses = _answered(w, key)
    assert statuses == [w.spec.probe.success.status] * CONNECTIONS, statuses
    assert w.worker_pids(10) == {survivor}
    status, minted = admin(w.url, "POST", "keys", {"state": "valid"})
    assert status == 200 and _answered(w, minted["key"], 5) == [w.spec.probe.success.status] * 5
    code, took = w.stop(signal.SIGTERM)
    assert code == 1 and took < STOP_SECONDS
    assert f"(pid {victim}) was killed by SIGKILL" in w.err and "serving on with 1 worker" in w.err, w.err
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(entries) >= CONNECTIONS + 5, len(entries)


def test_a_stopped_worker_is_killed_and_nothing_hangs(workers: Any, tmp_path: Path) -> None:
    """SIGSTOP of one worker (about half the new connections and every admin call hung, and
    SIGTERM wrote no journal): within the bound the parent kills it, every new connection and
    admin call is answered, and SIGTERM writes the survivor's journal."""
    path = tmp_path / "journal.jsonl"
    w = workers("crux", "--journal", str(path), env=QUICK)
    victim, survivor = sorted(w.worker_pids())
    os.kill(victim, signal.SIGSTOP)
    try:
        began = time.monotonic()
        for _ in range(3):  # a connection the stopped worker had queued is reset when it is killed
            try:
                status, minted = admin(w.url, "POST", "keys", {"state": "valid"})  # waits for the bound, no more
                break
            except OSError:
                continue
        assert status == 200 and time.monotonic() - began < 6.0
        deadline = time.monotonic() + 5.0
        while _alive(victim) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(victim), "the stuck worker was not killed within the bound"
        statuses = _answered(w, minted["key"])
        assert statuses == [w.spec.probe.success.status] * CONNECTIONS, statuses
        began = time.monotonic()
        assert admin(w.url, "GET", "journal")[0] == 200 and time.monotonic() - began < 2.0
    finally:
        if _alive(victim):
            os.kill(victim, signal.SIGCONT)
    code, took = w.stop(signal.SIGTERM)
    assert code == 1 and took < STOP_SECONDS and "did not answer" in w.err, w.err
    assert len(path.read_text().splitlines()) >= CONNECTIONS


def test_workers_do_not_outlive_a_killed_parent(workers: Any) -> None:
    """The parent SIGKILLed: its workers exit within a few seconds."""
    w = workers("crux")
    pids = w.worker_pids()
    w.stop(signal.SIGKILL)
    assert _gone_within(pids, 5.0)


# -- refusals and bad values ---------------------------------------------------------------------------
def _serve_error(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mocks", "serve", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["crux", "--workers", "0"], "--workers takes a whole number 1..64"),
        (["crux", "--workers", "-1"], "--workers takes a whole number 1..64"),
        (["crux", "--workers", "x"], "--workers takes a whole number 1..64"),
        (["crux", "--workers", "65"], "--workers takes a whole number 1..64"),
        (["cloro", "--workers", "2"], "add --no-rate-limit, or use --workers 1"),
        (["crux", "--workers", "2", "--scenario", "flaky:3"], "run it with --workers 1"),
    ],
)
def test_refusals_say_what_would_work(args: list[str], needle: str) -> None:
    """Bad counts and per-request counters (rate limit, scenarios) that workers cannot share: exit 2, one line."""
    result = _serve_error(*args)
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert needle in result.stderr.splitlines()[-1]


def test_port_in_use_is_one_line_error() -> None:
    """A port held by another listener (no SO_REUSEPORT): exit 1, one line, no worker left behind."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = str(other.getsockname()[1])
        result = _serve_error("crux", "--port", port, "--workers", "2")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == f"mocks serve: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_rate_limited_spec_serves_without_its_limit(workers: Any) -> None:
    """cloro with --no-rate-limit: served by two workers, the valid key passes on every connection."""
    w = workers("cloro", "--no-rate-limit")
    statuses = w.probe_statuses(w.line["keys"]["valid"])
    assert statuses == [w.spec.probe.success.status] * CONNECTIONS


def test_tls_with_workers(workers: Any) -> None:
    """--tls: one throwaway CA for both workers; HTTPS verified against the bundle on fresh connections."""
    pytest.importorskip("trustme")
    w = workers("crux", "--tls")
    assert w.url.startswith("https://127.0.0.1:") and Path(w.line["ca_bundle"]).is_file()
    context = ssl.create_default_context(cafile=w.line["ca_bundle"])
    port = int(w.url.rsplit(":", 1)[1])
    pids = set()
    for _ in range(10):
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        try:
            conn.request("GET", ADMIN_PREFIX + "info")
            pids.add(json.loads(conn.getresponse().read())["worker"]["pid"])
        finally:
            conn.close()
    assert len(pids) == 2
    bundle = w.line["ca_bundle"]
    assert w.stop()[0] == 0 and not Path(bundle).exists()
