"""`python -m specs`: export-openapi as a user command, and AUTHCONFORM_SPECS_DIR (the specs folder
every command reads, so an imported draft or a corpus document is one folder of its own)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from specs import SPECS_DIR_ENV, load_all

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def run(*args: str, env: dict[str, str] | None = None, module: str = "specs") -> subprocess.CompletedProcess[str]:
    """`python -m MODULE ARGS` from the repo root, bounded; AUTHCONFORM_SPECS_DIR only as given."""
    base = {k: v for k, v in os.environ.items() if k != SPECS_DIR_ENV}
    return subprocess.run([PY, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**base, **(env or {})}, stdin=subprocess.DEVNULL)


def test_export_openapi_writes_each_specs_security_and_probe(tmp_path: Path) -> None:
    """The document names the spec's credential and every status of its catalogue on the probe."""
    for spec in load_all():
        out = tmp_path / f"{spec.id}.json"
        proc = run("export-openapi", spec.id, "-o", str(out), env={SPECS_DIR_ENV: str(Path(spec.path).parent)})
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(out.read_text(encoding="utf-8"))
        scheme = doc["components"]["securitySchemes"]["providerAuth"]
        if spec.credential.scheme is None:
            assert scheme == {"type": "apiKey", "in": "header", "name": spec.credential.header}
        elif spec.credential.scheme.lower() == "bearer":
            assert scheme == {"type": "http", "scheme": "bearer", **({"bearerFormat": "JWT"} if spec.credential.token.format == "jwt" else {})}
        else:
            assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", spec.credential.header)
        op = doc["paths"][spec.probe.path][spec.probe.method.lower()]
        assert op["security"] == [{"providerAuth": [spec.probe.scope] if spec.probe.scope else []}]
        assert {str(f.status) for f in spec.failures.values()} <= set(op["responses"])


def test_export_openapi_to_stdout_and_bad_id() -> None:
    """stdout by default; an unknown id is one line naming the known ids, exit 2."""
    first = load_all()[0]
    proc = run("export-openapi", first.id)
    assert proc.returncode == 0 and json.loads(proc.stdout)["openapi"] == "3.1.0"
    proc = run("export-openapi", "nosuchprovider")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "unknown provider 'nosuchprovider'" in proc.stderr and first.id in proc.stderr
    assert "Traceback" not in proc.stderr


def _acme_folder(tmp_path: Path) -> Path:
    """A specs folder holding one provider, acme (a copy of the first spec under another id)."""
    folder = tmp_path / "specs"
    folder.mkdir()
    source = Path(load_all()[0].path)
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    raw["id"] = "acme"
    raw.pop("seed", None)
    (folder / "acme.yaml").write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return folder


def test_specs_dir_variable_points_every_command_at_that_folder(tmp_path: Path) -> None:
    """check, export-openapi and the mock read the named folder, and only it."""
    folder = _acme_folder(tmp_path)
    env = {SPECS_DIR_ENV: str(folder)}
    proc = run("check", env=env)
    assert proc.returncode == 0, proc.stderr
    assert [Path(line.split(":")[0]).name for line in proc.stdout.splitlines()] == ["acme.yaml"]
    proc = run("export-openapi", "acme", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["info"]["title"].endswith("(authconform spec acme)")
    # The package's own providers are not there: the folder replaces specs/, it does not add to it.
    proc = run("export-openapi", load_all()[0].id, env=env)
    assert proc.returncode == 2 and "known: acme" in proc.stderr
    proc = run("scenarios", "acme", env=env, module="mocks")
    assert proc.returncode == 0, proc.stderr
