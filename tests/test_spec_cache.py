"""The checked-spec cache (specs/_cache.py): a hit needs neither yaml nor jsonschema; anything that
could change the verdict (the spec's bytes or name, the checker) is checked again in full."""
from __future__ import annotations

import hashlib
import json
import marshal
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

from specs import SpecError, _cache, _loader, load_spec

ROOT = Path(__file__).resolve().parent.parent
CLORO = ROOT / "specs" / "cloro.yaml"
# A fresh interpreter: which modules did the mock's command line, one spec and its app pull in?
PROBE = """
import json, sys
import mocks.__main__
from mocks import build_app
from specs import load_spec
spec = load_spec(sys.argv[1])
build_app(spec)
print(json.dumps({"name": spec.name, "yaml": "yaml" in sys.modules, "jsonschema": "jsonschema" in sys.modules}))
"""


@pytest.fixture(autouse=True)
def cache_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts with the cache on and the checker digest read afresh."""
    monkeypatch.delenv(_cache.ENV_OFF, raising=False)
    _cache.checker_digest.cache_clear()
    yield
    _cache.checker_digest.cache_clear()


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    """A private copy of cloro.yaml, so its cache entry lives in tmp_path/__pycache__."""
    return Path(shutil.copy(CLORO, tmp_path / "cloro.yaml"))


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the spec files parsed and checked in full (cache misses), in order."""
    calls: list[str] = []
    real: Callable[..., object] = _loader._checked

    def spy(path: Path, data: bytes) -> object:
        calls.append(path.name)
        return real(path, data)

    monkeypatch.setattr(_loader, "_checked", spy)
    return calls


def _probe(spec_path: Path, **env: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", PROBE, str(spec_path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env={**{k: v for k, v in os.environ.items() if k != _cache.ENV_OFF}, **env})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.splitlines()[-1])


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_a_hit_imports_neither_yaml_nor_jsonschema(spec_copy: Path) -> None:
    """The point of the cache: a start whose spec is unchanged loads neither library."""
    expected = load_spec(spec_copy).name
    assert _cache.entry_path(spec_copy).is_file()
    assert _probe(spec_copy) == {"name": expected, "yaml": False, "jsonschema": False}


def test_the_probe_sees_yaml_when_the_cache_is_off(spec_copy: Path) -> None:
    """The same probe with AUTHCONFORM_NO_SPEC_CACHE=1 sees both, so the test above can fail."""
    load_spec(spec_copy)
    assert _probe(spec_copy, **{_cache.ENV_OFF: "1"}) == {"name": load_spec(spec_copy).name, "yaml": True, "jsonschema": True}


def test_a_hit_gives_the_same_spec_as_a_full_check(spec_copy: Path, checks: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_spec(spec_copy)
    second = load_spec(spec_copy)
    assert checks == ["cloro.yaml"], "the second load is a hit"
    monkeypatch.setenv(_cache.ENV_OFF, "1")
    unchecked = load_spec(spec_copy)
    assert checks == ["cloro.yaml", "cloro.yaml"]
    assert first == second == unchecked


def test_an_edited_spec_is_checked_again_and_its_error_names_file_path_and_line(spec_copy: Path, checks: list[str]) -> None:
    """A valid version cached before does not hide the error of the edited one."""
    load_spec(spec_copy)
    text = spec_copy.read_text(encoding="utf-8")
    assert text.count("scheme: Bearer") == 1
    spec_copy.write_text(text.replace("scheme: Bearer", "scheme: Be arer"), encoding="utf-8")
    line = _line_of(spec_copy, "scheme: Be arer")
    for _ in range(2):  # and the broken version is never cached: the second load fails the same way
        with pytest.raises(SpecError) as info:
            load_spec(spec_copy)
        assert str(info.value).startswith(f"{spec_copy}: credential.scheme (line {line}): "), str(info.value)
        assert "does not match" in str(info.value)
    assert checks == ["cloro.yaml"] * 3


def test_a_spec_that_fails_is_never_cached(spec_copy: Path) -> None:
    spec_copy.write_text(CLORO.read_text(encoding="utf-8").replace("id: cloro", "id: other"), encoding="utf-8")
    with pytest.raises(SpecError, match=r"id \(line \d+\): 'other' must equal the file name 'cloro'"):
        load_spec(spec_copy)
    assert not _cache.entry_path(spec_copy).exists()


def test_the_file_name_is_part_of_the_key(spec_copy: Path) -> None:
    """cloro.yaml's entry, copied beside an identical other.yaml, must not pass the name lint for it."""
    load_spec(spec_copy)
    other = spec_copy.with_name("other.yaml")
    shutil.copy(spec_copy, other)
    shutil.copy(_cache.entry_path(spec_copy), _cache.entry_path(other))
    with pytest.raises(SpecError, match=r"other\.yaml: id \(line \d+\): 'cloro' must equal the file name 'other'"):
        load_spec(other)


def test_a_changed_checker_is_a_miss(spec_copy: Path, checks: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Editing the schema or the checking code (here: one more checker file) re-checks every spec."""
    extra = tmp_path / "checker-part"
    extra.write_bytes(b"one")
    monkeypatch.setattr(_cache, "CHECKER_FILES", (*_cache.CHECKER_FILES, extra))
    _cache.checker_digest.cache_clear()
    load_spec(spec_copy)
    load_spec(spec_copy)
    assert checks == ["cloro.yaml"]
    extra.write_bytes(b"two")
    _cache.checker_digest.cache_clear()
    load_spec(spec_copy)
    assert checks == ["cloro.yaml", "cloro.yaml"]


def _truncated(blob: bytes) -> bytes:
    return blob[: len(blob) // 2]


def _payload_edited(blob: bytes) -> bytes:
    # A change marshal would load happily: only the payload digest tells it from the checked data.
    assert blob.count(b"Bearer") >= 1
    return blob.replace(b"Bearer", b"Bearex")


def _other_magic(blob: bytes) -> bytes:
    return b"X" + blob[1:]


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda blob: b"",
    "truncated": _truncated,
    "payload edited": _payload_edited,
    "other format": _other_magic,
    "garbage": lambda blob: os.urandom(len(blob)),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_entry_is_ignored_and_rewritten(spec_copy: Path, checks: list[str], damage: Callable[[bytes], bytes]) -> None:
    fresh = load_spec(spec_copy)
    entry = _cache.entry_path(spec_copy)
    entry.write_bytes(damage(entry.read_bytes()))
    assert load_spec(spec_copy) == fresh
    assert load_spec(spec_copy) == fresh
    assert checks == ["cloro.yaml", "cloro.yaml"], "checked again once, then a hit on the rewritten entry"


def test_an_entry_that_is_not_a_spec_mapping_is_ignored(spec_copy: Path, checks: list[str]) -> None:
    """Well-formed and keyed right, but not a mapping: still a miss, never a traceback."""
    data = spec_copy.read_bytes()
    key = _cache.key(spec_copy, data)
    assert key is not None
    payload = marshal.dumps(["not", "a", "spec"])
    _cache.entry_path(spec_copy).parent.mkdir()
    _cache.entry_path(spec_copy).write_bytes(_cache.MAGIC + key + hashlib.sha256(payload).digest() + payload)
    assert load_spec(spec_copy).id == "cloro"
    assert checks == ["cloro.yaml"]


def test_an_unwritable_cache_folder_means_no_cache_not_an_error(spec_copy: Path, checks: list[str]) -> None:
    """A read-only checkout: __pycache__ cannot be made (a file is in the way, which stops root too)."""
    (spec_copy.parent / "__pycache__").write_text("in the way", encoding="utf-8")
    assert load_spec(spec_copy) == load_spec(spec_copy)
    assert checks == ["cloro.yaml", "cloro.yaml"]
    assert [p.name for p in spec_copy.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_the_environment_variable_turns_the_cache_off(spec_copy: Path, checks: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_cache.ENV_OFF, "1")
    load_spec(spec_copy)
    assert not _cache.entry_path(spec_copy).exists()
    monkeypatch.setenv(_cache.ENV_OFF, "0")
    load_spec(spec_copy)
    assert _cache.entry_path(spec_copy).is_file()
    monkeypatch.setenv(_cache.ENV_OFF, "1")
    load_spec(spec_copy)
    assert checks == ["cloro.yaml"] * 3, "an existing entry is not read either"


def test_a_spec_holding_non_json_data_is_refused_and_not_cached(spec_copy: Path, checks: list[str]) -> None:
    """A YAML timestamp is not JSON (the mock could not send it): refused each time, never cached."""
    text = CLORO.read_text(encoding="utf-8")
    old = 'result: {model: CHATGPT, text: "mock answer to: Your prompt here"}'
    assert text.count(old) == 1
    spec_copy.write_text(text.replace(old, "result: {model: CHATGPT, day: 2024-01-01}"), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(SpecError, match=r"probe\.success\.body\.result\.day \(line \d+\): a date or time"):
            load_spec(spec_copy)
    assert checks == ["cloro.yaml", "cloro.yaml"]
    assert not _cache.entry_path(spec_copy).exists()
