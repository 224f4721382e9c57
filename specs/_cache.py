"""The checked-spec cache: a spec that passed the schema and the lint is not checked again until
something that decides the verdict changes.

Like Python's bytecode cache, an entry sits in `__pycache__/` next to its spec
(`specs/__pycache__/cloro.yaml.spec`). Its key is a SHA-256 over everything the verdict depends
on: the spec's file name and bytes, provider.schema.json, the code that checks and shapes a spec
(every module of specs/), the Python version and the installed yaml, jsonschema and re2. Its value is the plain data the YAML parse gave, stored only after the schema check and
the lint passed. A hit therefore needs neither yaml nor jsonschema, which is most of a mock's cold
start. Every way the cache can fail (folder not writable, entry truncated, corrupt, written for
other content) is a miss: the spec is parsed and checked in full, exactly as without a cache.
`AUTHCONFORM_NO_SPEC_CACHE=1` turns it off.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import sys
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

ENV_OFF = "AUTHCONFORM_NO_SPEC_CACHE"
FOLDER = "__pycache__"
SUFFIX = ".spec"
# Bumped whenever the entry layout or what the value holds changes.
MAGIC = b"authconform spec cache 1\n"
_HERE = Path(__file__).resolve().parent
# The files whose content decides whether a spec passes, and what a passing spec's data becomes.
# Every module of specs/ counts (the reader, the lints, the grammars they apply), not a list to keep.
CHECKER_FILES: tuple[Path, ...] = (_HERE / "provider.schema.json", *sorted(_HERE.glob("*.py")))
# Third-party code the check runs: an upgrade may parse or validate differently.
CHECKER_LIBRARIES: tuple[str, ...] = ("yaml", "jsonschema", "re2")
_DIGEST = hashlib.sha256().digest_size


def enabled() -> bool:
    """False when AUTHCONFORM_NO_SPEC_CACHE is set to anything but "" or "0"."""
    return os.environ.get(ENV_OFF, "") in ("", "0")


def entry_path(spec_path: Path) -> Path:
    """Where the entry of a spec file lives: `__pycache__/<name>.spec` beside it."""
    return spec_path.parent / FOLDER / (spec_path.name + SUFFIX)


def _library(name: str) -> bytes:
    """Where a library is installed and its file's size and mtime, without importing it."""
    try:
        found = find_spec(name)
    except (ImportError, ValueError):
        found = None
    origin = getattr(found, "origin", None)
    if not origin:
        return f"{name}: absent\n".encode()
    try:
        st = os.stat(origin)
    except OSError:
        return f"{name}: {origin} unreadable\n".encode()
    return f"{name}: {origin} {st.st_size} {st.st_mtime_ns}\n".encode()


@lru_cache(maxsize=1)
def checker_digest() -> bytes:
    """SHA-256 over the checker: its files' bytes, the Python version, the libraries it runs.

    Read once per process, like the validator the loader builds once from the schema.
    """
    h = hashlib.sha256(MAGIC)
    h.update(f"{sys.implementation.cache_tag} {sys.version} marshal {marshal.version}\n".encode())
    for path in CHECKER_FILES:
        data = path.read_bytes()
        h.update(f"{path.name} {len(data)}\n".encode())
        h.update(data)
    for name in CHECKER_LIBRARIES:
        h.update(_library(name))
    return h.digest()


def key(spec_path: Path, data: bytes) -> bytes | None:
    """The entry key of a spec file's bytes (its name matters too: the lint ties `id` to it);
    None when the checker's own files cannot be read, which turns the cache off."""
    try:
        h = hashlib.sha256(checker_digest())
    except OSError:
        return None
    name = spec_path.name.encode("utf-8", "surrogateescape")
    h.update(len(name).to_bytes(4, "big") + name)
    h.update(data)
    return h.digest()


def lookup(spec_path: Path, data: bytes) -> dict[str, Any] | None:
    """The checked data cached for these spec bytes, or None (off, absent, stale, damaged)."""
    if not enabled():
        return None
    try:
        blob = entry_path(spec_path).read_bytes()
    except (OSError, ValueError):
        return None
    head = len(MAGIC)
    expected = key(spec_path, data)
    if expected is None or blob[:head] != MAGIC or blob[head:head + _DIGEST] != expected:
        return None
    payload = blob[head + 2 * _DIGEST:]
    # The payload's own digest is checked before marshal sees it: marshal is not meant for damaged input.
    if blob[head + _DIGEST:head + 2 * _DIGEST] != hashlib.sha256(payload).digest():
        return None
    try:
        raw = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None
    return raw if isinstance(raw, dict) else None


def store(spec_path: Path, data: bytes, raw: dict[str, Any]) -> None:
    """Cache the data of a spec that passed every check; silently nothing when that cannot be done."""
    # PYTHONDONTWRITEBYTECODE is not consulted: it is about bytecode, and sandboxes set it for good;
    # AUTHCONFORM_NO_SPEC_CACHE is this cache's own switch.
    if not enabled():
        return
    try:
        # Only plain YAML data marshals; a spec holding anything else (a date, say) is not cached.
        payload = marshal.dumps(raw)
    except ValueError:
        return
    entry_key = key(spec_path, data)
    if entry_key is None:
        return
    blob = MAGIC + entry_key + hashlib.sha256(payload).digest() + payload
    target = entry_path(spec_path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(exist_ok=True)
        # Temporary file then rename: a concurrent reader sees the old entry or the new one, whole.
        with open(tmp, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, target)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
