"""The gate's redaction: output of the client passes through with every form of every key
redacted, keys minted while the client runs included; a key percent-encoded into the URL path is
both redacted in the journal and judged by key.not_in_url; what is no secret (the exchange's
username) stays readable."""
from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from mocks._keys import KeyStore
from mocks._app import MOCK
from mocks._redact import Redactor
from mocks._client import StreamRedactor, run_client
from mocks._gate import client_env, gate, redactor, start_mock
from mocks._gate_result import report_json
from specs import ProviderSpec, get_spec, load_all
from _helpers import leftover

PROVIDERS = [s.id for s in load_all()]

# Waits for a key in a file (as a client that got one from elsewhere would), then prints it in the
# forms a client's log might: as is, case-flipped, truncated, base64'd, percent-encoded.
PRINTER = """
import base64, pathlib, sys, time
from urllib.parse import quote
path = pathlib.Path(sys.argv[1])
for _ in range(500):
    if path.exists() and path.read_text():
        break
    time.sleep(0.01)
key = path.read_text()
print("minted:", key, key.swapcase(), key[:-2], base64.b64encode(("u:" + key).encode()).decode())
print("url:", "".join("%%%02X" % b for b in key.encode()), quote(key), file=sys.stderr)
"""


async def gated(spec: ProviderSpec, argv: list[str], during: Callable[[KeyStore], Any] | None = None) -> tuple[dict[str, str], Any, str, str]:
    """Run a client through the gate's redacting pass-through, the mock's keys in its environment:
    (the keys, what `during(store)` gave once the client started, stdout, stderr)."""
    mock = await start_mock(spec)
    try:
        store = mock.runner.app[MOCK].store

        def make() -> Redactor:
            return redactor(mock.keys, mock.admin_secret, spec=spec, store=store)

        out, err = io.BytesIO(), io.BytesIO()
        client = asyncio.ensure_future(run_client(argv, client_env(spec, mock, {}), 30, out, err, lambda: StreamRedactor(make, 64)))
        given = None
        if during is not None:
            await asyncio.sleep(0.05)
            given = during(store)
        run = await client
        assert run.exit == 0, (run, err.getvalue()[-500:])
        return dict(mock.keys), given, out.getvalue().decode(), err.getvalue().decode()
    finally:
        await mock.close()



@pytest.mark.parametrize("provider", PROVIDERS)
def test_keys_minted_while_the_client_runs_are_redacted_in_its_output(provider: str, tmp_path: Path) -> None:
    """The gate's pass-through knows the key store as it grows: a key minted after the client
    started (and printed by it in five forms) comes out as placeholders only."""
    spec = get_spec(provider)
    drop = tmp_path / "key"

    def mint(store: KeyStore) -> str:
        minted = store.mint("valid").value  # after the redactors were made
        drop.write_text(minted)
        return minted

    _, minted, out, err = asyncio.run(gated(spec, [sys.executable, "-c", PRINTER, str(drop)], mint))
    secret = minted[len(spec.credential.token.prefix):]
    assert out.startswith("minted: ") and "<key:k" in out and "url: <key:k" in err
    assert leftover(out, secret) is None and leftover(err, secret) is None, (out, err)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_key_percent_encoded_in_the_path_is_judged_and_redacted(provider: str, tmp_path: Path) -> None:
    """A client that puts the key into the URL path percent-encoded breaks key.not_in_url, and
    neither the journal, the JSON report nor the output holds the key."""
    spec = get_spec(provider)
    client = (
        "import os, urllib.request, urllib.error\n"
        f"key = os.environ['{spec.env('API_KEY')}']\n"
        "path = '/v1/items/' + ''.join('%%%02X' % b for b in key.encode())\n"
        f"req = urllib.request.Request(os.environ['{spec.env('BASE_URL')}'] + path, "
        f"headers={{'{spec.credential.header}': '{spec.credential.scheme} ' + key}})\n"
        "try:\n    urllib.request.urlopen(req, timeout=5).read()\nexcept urllib.error.HTTPError:\n    pass\n"
        "print('sent to', path)\n"
    )
    out, err = io.BytesIO(), io.BytesIO()
    # A seeded mock: the test knows the key the gate exports without reading it from any output.
    result = asyncio.run(gate(spec, [sys.executable, "-c", client], timeout=60, out=out, err=err, seed="redaction"))
    key = KeyStore(spec, seed="redaction").roles["valid"].value
    assert "key.not_in_url" in {v.rule.id for v in result.violations}, [v.rule.id for v in result.violations]
    entry = next(e for e in result.entries if e["path"].startswith("/v1/items/"))
    assert entry["path"].startswith("/v1/items/<key:"), entry["path"]
    printed = out.getvalue().decode()
    assert printed.startswith("sent to /v1/items/<key:"), printed
    secret = key[len(spec.credential.token.prefix):]
    for text in (json.dumps(report_json(result)), printed, err.getvalue().decode()):
        assert leftover(text, secret) is None


# Prints the project's own name (also the mock's exchange username) beside every secret it was given.
NAMER = """
import os, sys
print("wrote /tmp/authconform-report and authconform.gate.crux", *(os.environ[v] for v in sys.argv[1:]))
"""


@pytest.mark.parametrize("provider", [s.id for s in load_all() if s.exchange is not None])
def test_the_gate_redacts_secrets_and_nothing_else(provider: str) -> None:
    """What the gate hands a client that is no secret (the exchange's username, the binding) stays
    readable in the client's output: the project's name passes whole while the key and the password
    beside it are redacted (specs.KEY_LIST_IDENTIFIERS, as the suite redacts)."""
    spec = get_spec(provider)
    names = [spec.credential_env(s) for s in ("valid", "password", "username")]
    keys, _, out, _ = asyncio.run(gated(spec, [sys.executable, "-c", NAMER, *names]))
    assert out.startswith("wrote /tmp/authconform-report and authconform.gate.crux "), out
    assert out.split()[-1] == keys["username"], out
    assert leftover(out, keys["password"]) is None and leftover(out, keys["valid"][len(spec.credential.token.prefix):]) is None, out
    assert "<password>" in out and "<key:" in out, out
