"""End to end: a live-mode suite run against a mock whose keys carry a documented vendor prefix that
overlaps the provider id (`fastapi` / `fastapi-eval-token-...`), with bugs that make cases fail
(a case-insensitive compare accepts the case-flipped key, error bodies echo the credential). Every
artifact is searched for every form of every key: stdout and stderr (pytest's own failure output,
the replay and rerun commands), report.json, report.html, junit.xml, record.json, pytest's JUnit
file, the Hypothesis example database and the mock's --journal file. And what is not secret stays
readable: the provider id in case ids and commands, the prefix in front of each placeholder.
"""
from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from fixtures import ROOT
from fixtures._selftest import clean_env
from specs import SPECS_DIR_ENV, load_all
from _helpers import leftover

PROVIDER = "fastapi"
PREFIX = "fastapi-eval-token-"
ENV = {"valid": "API_KEY", "expired": "EXPIRED_KEY", "revoked": "REVOKED_KEY", "limited": "LIMITED_KEY"}


def _prefixed_spec(folder: Path) -> Path:
    """A copy of the first spec under the id `fastapi`, its keys documented as `fastapi-eval-token-...`."""
    base = load_all()[0]
    doc = yaml.safe_load(Path(base.path).read_text(encoding="utf-8"))
    doc["id"] = doc["name"] = PROVIDER
    doc["credential"]["token"]["prefix"] = PREFIX
    folder.mkdir()
    (folder / f"{PROVIDER}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return folder


class PrefixedMock:
    """The prefixed provider's mock (with two bugs) in its own process; writes its journal when stopped."""

    def __init__(self, tmp_path: Path):
        self.env = clean_env({SPECS_DIR_ENV: str(_prefixed_spec(tmp_path / "specs"))})
        self.journal = tmp_path / "journal.jsonl"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mocks", "serve", PROVIDER, "--port", "0", "--journal", str(self.journal),
             "--defect", "case_insensitive_compare", "--defect", "echo_credential"],
            cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            self.stop()
            raise RuntimeError(f"the mock did not start: {self.proc.stderr.read() if self.proc.stderr else ''}")
        served = json.loads(line)
        self.base_url: str = served["base_url"]
        self.keys: dict[str, str] = {state: served["keys"][state] for state in ENV if state in served["keys"]}

    def stop(self) -> str:
        """SIGTERM (by PID), wait, and the journal file's text ("" when none was written)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        return self.journal.read_text(encoding="utf-8") if self.journal.exists() else ""


@pytest.fixture
def prefixed_mock(tmp_path: Path) -> Iterator[PrefixedMock]:
    """A running PrefixedMock, stopped afterwards."""
    mock = PrefixedMock(tmp_path)
    try:
        yield mock
    finally:
        mock.stop()


@pytest.mark.slow
def test_a_failing_live_run_writes_no_form_of_any_key_and_keeps_ids_readable(prefixed_mock, tmp_path: Path) -> None:
    """Every artifact is free of every key form; `fastapi` ids, commands and the prefix stay readable."""
    mock = prefixed_mock
    keys = mock.keys
    assert all(k.startswith(PREFIX) for k in keys.values())
    report, db = tmp_path / "report", tmp_path / "hypothesis"
    env = {**mock.env, "HYPOTHESIS_STORAGE_DIRECTORY": str(db),
           **{f"FASTAPI_{ENV[state]}": key for state, key in keys.items()}}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "suites", "-vv", "-rA", "--live", "--provider", PROVIDER,
         "--base-url", mock.base_url, "--report", str(report), "--record", str(report),
         f"--junitxml={report / 'pytest-junit.xml'}", "--max-examples", "20", "--request-budget", "150",
         "--pace", "200", "--hypothesis-seed", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    # The bugs were seen, so failure output, replay lines and reports hold requests with the keys.
    assert f"{PROVIDER}.invalid.case_flipped" in run.stdout and "no_credential_echo [FAIL]" in run.stdout
    artifacts = {"stdout": run.stdout, "stderr": run.stderr, "--journal file": mock.stop()}
    artifacts.update({p.name: p.read_text(encoding="utf-8") for p in sorted(report.iterdir())})
    artifacts.update({str(p): p.read_bytes().decode("latin-1") for p in db.rglob("*") if p.is_file()})
    assert {"report.json", "report.html", "junit.xml", "record.json", "pytest-junit.xml"} <= set(artifacts)
    _assert_clean(keys, artifacts)

    # Readable: the provider id in case ids, `-k` and `--provider` commands; the prefix before each placeholder.
    assert re.search(rf"--provider {PROVIDER}\b", run.stdout)
    assert f"{PROVIDER}.invalid.case_flipped" in artifacts["report.json"]
    assert f"{PREFIX}<FASTAPI_API_KEY>" in artifacts["report.json"]
    assert "Expected" in run.stdout
    for name, text in artifacts.items():
        # A placeholder glued to the end of a word means the rule cut into text that is not a key
        # (a mutated key's changed or inserted character may stand next to one: not a word).
        # A JSON escape (`\udcab`, a byte the mutation put next to the key) is not a word: blanked first.
        # Its last hex digit may also be a run of the key with what follows it (0xE9 inserted after the
        # key's `9`: `...9\udce9` + the rest reads `9` + the rest, a run of the key), so the rule takes
        # it and `\udce<...>` is left. Still no word.
        words = re.sub(r"\\u[0-9a-fA-F]{1,4}", " ", text)
        glued = re.findall(r"[A-Za-z]{3,}<FASTAPI_[A-Z_]+(?::partial)?>", words)
        assert not glued, (name, [text[max(0, text.find(g) - 60):text.find(g) + 40] for g in glued[:3]])


def _assert_clean(keys: dict[str, str], artifacts: dict[str, str]) -> None:
    for state, key in keys.items():
        secret = key[len(PREFIX):]
        dirty = {name: left for name, text in artifacts.items() if (left := leftover(text, secret))}
        assert not dirty, f"the {state} key leaked into {sorted(dirty)}"


def test_the_mock_journal_file_holds_no_form_of_any_key(prefixed_mock: PrefixedMock) -> None:
    """The `--journal` file, after requests carrying the key case-flipped, truncated and base64-
    encoded, each to a path holding the key percent-encoded: none of it is there, and the path's
    key is marked, so the gate's key.not_in_url rule sees it."""
    mock = prefixed_mock
    key = mock.keys["valid"]
    path = "/v1/" + "".join(f"%{b:02X}" for b in key.encode())
    for value in (key, key.swapcase(), key[:-3], base64.b64encode(f"u:{key}".encode()).decode()):
        req = urllib.request.Request(mock.base_url + path, headers={"Authorization": f"Bearer {value}"})
        try:
            urllib.request.urlopen(req, timeout=5).read()
        except urllib.error.HTTPError:
            pass  # a 4xx is the answer expected
    text = mock.stop()
    assert text.count("\n") == 4, text[:500]
    _assert_clean({"valid": key}, {"--journal file": text})
    entries = [json.loads(line) for line in text.splitlines()]
    assert all("<key:" in e["path"] for e in entries), [e["path"] for e in entries]
    assert [n for n, v in entries[0]["headers"] if v.startswith(f"Bearer {PREFIX}<key:")] == ["Authorization"]
