"""Stoplight Prism, the OpenAPI mock server the mocks race: installed on first use into bench/.prism/."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from specs import ProviderSpec, openapi_document as openapi

from ._procs import BENCH, BenchError

# 5.14.2 is the last Prism 5 that runs on Node 18-22 (5.15 and later ask for Node >= 24).
PRISM_VERSION = "5.14.2"
PRISM_DIR = BENCH / ".prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"


def ensure_prism() -> Path:
    """The prism executable; `npm install`ed into bench/.prism/ (git-ignored, no lock file) when missing."""
    if PRISM_BIN.exists():
        return PRISM_BIN
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise BenchError("Prism needs Node.js and npm: install them (`apt-get install -y nodejs npm`) and run again")
    PRISM_DIR.mkdir(exist_ok=True)
    print(f"bench: installing @stoplight/prism-cli@{PRISM_VERSION} into {PRISM_DIR.relative_to(BENCH.parent)}/ "
          "(one time)", flush=True)
    # --no-package-lock/--no-save: nothing that records download URLs is written into the tree.
    proc = subprocess.run([npm, "install", "--prefix", str(PRISM_DIR), "--no-package-lock", "--no-save",
                           "--no-audit", "--no-fund", "--loglevel=error", f"@stoplight/prism-cli@{PRISM_VERSION}"],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or not PRISM_BIN.exists():
        raise BenchError(f"npm install of @stoplight/prism-cli failed: {proc.stderr.strip()[-300:]}")
    return PRISM_BIN


def write_openapi(spec: ProviderSpec, folder: Path) -> Path:
    """The spec's OpenAPI document written into folder; its path."""
    path = folder / f"{spec.id}.openapi.json"
    path.write_text(json.dumps(openapi(spec), indent=2), encoding="utf-8")
    return path


def prism_argv(document: Path, port: int) -> list[str]:
    """`prism mock` on 127.0.0.1:port, static examples, logging off (`-v silent`)."""
    return [str(ensure_prism()), "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "silent", str(document)]
