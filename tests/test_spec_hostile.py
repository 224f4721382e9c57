"""Hostile specs: each is refused by `python -m specs check` with ONE line naming the file, the YAML
path and line, and what is wrong, in bounded time and memory (a child process under a hard address
space limit and a timeout), never a traceback, a hang or an answer the mock cannot send."""
from __future__ import annotations

import re
import resource
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from specs import SpecError, get_spec, load_spec, spec_search
from specs._grammar import alphabet_chars

ROOT = Path(__file__).resolve().parent.parent
CLORO = (ROOT / "specs" / "cloro.yaml").read_text(encoding="utf-8")
CRUX = (ROOT / "specs" / "crux.yaml").read_text(encoding="utf-8")
# Hang bound, not a speed target: each check takes well under a second alone.
TIMEOUT_S = 60
# The checker needs about 30 MiB resident; an alias bomb expanded would need gigabytes.
ADDRESS_SPACE = 1 << 30


def _sub(old: str, new: str, text: str = CLORO) -> str:
    """The spec text with one exact fragment replaced (the fragment must stand there once)."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _laughs(levels: int) -> str:
    """The cloro spec with `levels` of ten aliases each under `notes` (10**levels strings expanded)."""
    lines = ['  - &l0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"  - &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return _sub("notes:\n", "notes:\n" + "\n".join(lines) + "\n")


_MISSING_HEADERS = "    message: Invalid or missing API key\n    rule:\n      strength: documented\n      source: \"If authentication fails"

# (id, spec bytes, YAML path or None for a file-level problem, what the line must say)
HOSTILE: list[tuple[str, Callable[[], bytes], str | None, str]] = [
    ("regex-backtracking", lambda: _sub(_MISSING_HEADERS, "    headers: {WWW-Authenticate: '(a+)+$'}\n" + _MISSING_HEADERS).encode(),
     "failures.missing.headers.WWW-Authenticate", "the mock cannot produce a WWW-Authenticate value"),
    ("regex-re2-refuses", lambda: _sub("'^[0-9]+$'", "'^(?=[0-9])[0-9]+$'").encode(),
     "failures.rate_limited.headers.Retry-After", "not a regular expression RE2 runs"),
    ("regex-control-char", lambda: _sub("'^[0-9]+$'", '"^[0-9]+\\r$"').encode(),
     "failures.rate_limited.headers.Retry-After", "control character U+000D"),
    ("header-name-crlf", lambda: _sub("{Retry-After: '^[0-9]+$'}", '{"X-A\\r\\nSet-Cookie": "^x$"}').encode(),
     'failures.rate_limited.headers["X-A\\r\\nSet-Cookie"]', "is not a header name"),
    ("header-content-length", lambda: _sub("{Retry-After: '^[0-9]+$'}", "{Retry-After: '^[0-9]+$', Content-Length: '^0$'}").encode(),
     "failures.rate_limited.headers.Content-Length", "Content-Length frames the message"),
    ("challenge-crlf", lambda: _sub("value: 'Bearer realm=\"cloro\"'", 'value: "Bearer realm=\\"cloro\\"\\r\\nX-Injected: 1"').encode(),
     "credential.challenge.value", "never contains CR, LF or NUL"),
    ("challenge-non-ascii", lambda: _sub("value: 'Bearer realm=\"cloro\"'", "value: 'Bearer realm=\"clörö\"'").encode(),
     "credential.challenge.value", "non-ASCII character U+00F6"),
    ("body-date", lambda: _sub("body: {success: false, error: Invalid or missing API key}", "body: {success: false, since: 2024-01-01}").encode(),
     "failures.missing.body.since", "a date or time"),
    ("body-binary", lambda: _sub("body: {success: false, error: Rate limit exceeded}", "body: {success: false, error: !!binary aGVsbG8=}").encode(),
     "failures.rate_limited.body.error", "binary data"),
    ("body-set", lambda: _sub("body: {success: false, error: Rate limit exceeded}", "body: !!set {a, b}").encode(),
     "failures.rate_limited.body", "a set"),
    ("body-python-tag", lambda: _sub("body: {success: false, error: Rate limit exceeded}", "body: !!python/object:os.system {}").encode(),
     "failures.rate_limited.body", "tag:yaml.org,2002:python/object:os.system"),
    ("body-nan", lambda: _sub("body: {success: false, error: Rate limit exceeded}", "body: {success: false, error: .nan}").encode(),
     "failures.rate_limited.body.error", "not a finite number"),
    ("int-too-long", lambda: _sub("requests: 60", "requests: " + "9" * 5000).encode(),
     "rate_limit.requests", "an integer of 5000 characters"),
    ("key-not-string", lambda: _sub("notes:\n", "notes:\n  - {404: gone}\n").encode(), "notes[0]", "a mapping key must be a string"),
    ("duplicate-key", lambda: _sub("  header: Authorization\n", "  header: Authorization\n  header: X-Api-Key\n").encode(),
     "credential.header", "duplicate key 'header'"),
    ("alphabet-space-range", lambda: _sub("alphabet: A-Za-z0-9", "alphabet: ' -~'").encode(),
     "credential.token.alphabet", "U+0020 is not a token68 character"),
    # One character (or too few over too few positions): every key the mock mints is the same one.
    ("alphabet-one-key", lambda: _sub("alphabet: A-Za-z0-9", "alphabet: 'a-a'").encode(),
     "credential.token.alphabet", "fewer than 2**32 keys"),
    ("alphabet-negated", lambda: _sub("alphabet: A-Za-z0-9", "alphabet: '^a'").encode(), "credential.token.alphabet", "negated class"),
    ("alphabet-control", lambda: _sub("alphabet: A-Za-z0-9", 'alphabet: "A-Z\\x01"').encode(),
     "credential.token.alphabet", "U+0001 is not a token68 character"),
    ("alphabet-class-syntax", lambda: _sub("alphabet: A-Za-z0-9", "alphabet: '[:alnum:]'").encode(),
     "credential.token.alphabet", "'[' is not a token68 character"),
    ("probe-path-nul", lambda: _sub("path: /v1/monitor", 'path: "/v1/mon\\0itor"').encode(), "probe.path", "holds U+0000"),
    ("probe-path-control", lambda: _sub("path: /v1/monitor", 'path: "/v1/mon\\x07itor"').encode(), "probe.path", "holds U+0007"),
    ("probe-path-non-ascii", lambda: _sub("path: /v1/monitor", "path: /v1/mönitor").encode(), "probe.path", "holds U+00F6"),
    ("probe-path-admin", lambda: _sub("path: /v1/monitor", "path: /__authconform__/keys").encode(), "probe.path", "admin API"),
    ("route-path-admin", lambda: (CLORO + "routes:\n  - {method: GET, path: '/__authconform__/keys', success: {status: 200, body: {}}}\n").encode(),
     "routes[0].path", "admin API"),
    ("probe-content-type-crlf", lambda: _sub("content_type: application/json", 'content_type: "application/json\\r\\nX: y"').encode(),
     "probe.content_type", "is not a media type"),
    ("credential-header-host", lambda: _sub("  header: Authorization\n", "  header: Host\n").encode(), "credential.header", "RFC 9110 §7.2"),
    ("credential-header-te", lambda: _sub("  header: Authorization\n", "  header: Transfer-Encoding\n").encode(),
     "credential.header", "Transfer-Encoding frames the message"),
    ("credential-header-proxy", lambda: _sub("  header: Authorization\n", "  header: Proxy-Authorization\n").encode(),
     "credential.header", "consumed by, a proxy"),
    ("seed-traversal", lambda: _sub("seed: cloro-authentication.md", "seed: ../../etc/passwd").encode(), "seed", "not a plain file name"),
    ("docs-space", lambda: _sub("docs: https://cloro.dev/docs/authentication", "docs: 'https://cloro.dev/docs/auth entication'").encode(),
     "docs", "is not an http(s) URL"),
    ("deviation-link-script", lambda: _sub("notes:\n", "deviations:\n  - {case: missing, check: status_matches_catalogue, reason: seen live, link: 'javascript:alert(1)'}\nnotes:\n").encode(),
     "deviations[0].link", "is not an http(s) URL"),
    ("name-escape", lambda: _sub("name: cloro", 'name: "cloro\\e[2J\\e[31mPASS"').encode(), "name", "control character U+001B"),
    ("source-bell", lambda: _sub('source: "The page shows only the placeholder YOUR_API_KEY."', 'source: "The page shows\\a only"').encode(),
     "credential.token.rule.source", "control character U+0007"),
    ("live-url-crlf", lambda: _sub("live: https://api.cloro.dev", 'live: "https://api.cloro.dev\\r\\nX: y"').encode(),
     "targets.live", "is not a base URL"),
    ("exchange-path-is-probe", lambda: _sub("path: /organization/retreive_auth_token/", "path: /organization/permissions/", CRUX).encode(),
     "exchange.path", "paths of their own"),
    ("billion-laughs", lambda: _laughs(9).encode(), "notes", "nodes once aliases are expanded"),
    ("recursive-alias", lambda: _sub("notes:\n", "notes: &loop\n  - *loop\n").encode(), "notes[0]", "refers to a node that contains it"),
    ("nested-900", lambda: _sub("notes:\n", "notes:\n  - " + "[" * 900 + "]" * 900 + "\n").encode(), "notes[0]", "nested more than 64 levels"),
    ("top-level-list", lambda: b"- id: cloro\n- name: cloro\n", "(top level)", "a spec is a YAML mapping"),
    ("top-level-string", lambda: b"just a sentence\n", "(top level)", "a spec is a YAML mapping"),
    ("huge-file", lambda: CLORO.encode() + b"#" * (3 << 20), None, "larger than 2 MiB"),
    ("binary-file", lambda: b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", None, "a binary file (a NUL byte at offset 8)"),
    ("not-utf8", lambda: CLORO.encode().replace(b"cloro", b"cl\xf6ro", 1), None, "not UTF-8 text"),
    ("empty-file", lambda: b"", None, "the file is empty"),
    ("comments-only", lambda: b"# nothing but a comment\n\n", None, "the file is empty"),
    ("two-documents", lambda: CLORO.encode() + b"---\nid: other\n", None, "not valid YAML: expected a single document"),
]


def _limits() -> None:
    """In the child: a hard address-space limit, so a blow-up is a MemoryError, not a swapping machine."""
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[str]]]:
    """One `specs check` child over every hostile file (each alone in its folder, named for its id),
    under the memory limit and the timeout: case name -> (file, the stderr lines naming it)."""
    files: dict[str, Path] = {}
    for name, make, _, _ in HOSTILE:
        data = make()
        assert data or name == "empty-file", f"{name}: the hostile edit must apply to the spec it starts from"
        folder = tmp_path_factory.mktemp(name)
        files[name] = folder / ("crux.yaml" if name.startswith("exchange") else "cloro.yaml")
        files[name].write_bytes(data)
    env = {"PATH": "/usr/bin:/bin", "AUTHCONFORM_NO_SPEC_CACHE": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "specs", "check", *map(str, files.values())], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=TIMEOUT_S, preexec_fn=_limits)
    assert out.returncode == 1 and out.stdout == "", (out.returncode, out.stdout[-2000:], out.stderr[-2000:])
    lines = out.stderr.splitlines()
    said = {name: (path, [line for line in lines if line.startswith(f"{path}: ")]) for name, path in files.items()}
    # Every line of stderr belongs to one of the files: nothing else (no traceback) was printed.
    assert sum(len(v[1]) for v in said.values()) == len(lines), out.stderr[-3000:]
    return said


@pytest.mark.parametrize("name,make,where,what", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_spec_is_one_line_naming_file_path_and_line(checked: dict[str, tuple[Path, list[str]]], name: str,
                                                             make: Callable[[], bytes], where: str | None, what: str) -> None:
    """`specs check` refuses the spec on one line of stderr: file, YAML path (line N), the problem."""
    spec_file, lines = checked[name]
    assert len(lines) == 1, lines
    line = lines[0]
    if where is None:
        assert re.fullmatch(rf"{re.escape(str(spec_file))}: (line \d+, column \d+: )?.*", line), line
    else:
        # The path may go deeper than `where` (the alias or bracket where the bound was crossed).
        assert re.match(rf"{re.escape(str(spec_file))}: {re.escape(where)}\S* \(line \d+\): ", line), line
    assert what in line, line


def test_a_backtracking_header_pattern_runs_in_linear_time() -> None:
    """RE2 answers `(a+)+$` against 100,000 characters at once; Python's re would take longer than the universe."""
    code = "from specs import spec_search; print(spec_search('(a+)+$', 'a' * 100_000 + '!'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, preexec_fn=_limits)
    assert out.stdout.strip() == "False", out.stderr
    assert spec_search("^[0-9]+$", "60") and not spec_search("^[0-9]+$", "6 0")


def test_a_matching_backtracking_pattern_is_accepted_and_served(tmp_path: Path) -> None:
    """RE2 is an engine, not a censor: a pattern it runs in linear time and the mock can satisfy is fine."""
    text = _sub("{Retry-After: '^[0-9]+$'}", "{Retry-After: '^[0-9]+$', X-Limit: '^(a+)+$'}")
    spec_file = tmp_path / "cloro.yaml"
    spec_file.write_text(text.replace("X-Limit: '^(a+)+$'", "X-Limit: '^aaa$'"), encoding="utf-8")
    assert load_spec(spec_file).failures["rate_limited"].headers["X-Limit"] == "^aaa$"
    spec_file.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=r"X-Limit \(line \d+\): the mock cannot produce"):
        load_spec(spec_file)


def test_alphabet_grammar() -> None:
    """Character-class bodies expand to their characters; ranges ascend; only token68 characters."""
    assert alphabet_chars("0-9a-f") == "0123456789abcdef"
    assert alphabet_chars(r"A-C\-_") == "ABC-_"
    assert alphabet_chars("A-Za-z0-9_-").endswith("_-")
    for bad, why in [("z-a", "runs backwards"), ("", "empty"), ("a\\d", "only '\\-' may be escaped"), ("A-Z=", "'='")]:
        with pytest.raises(ValueError, match=re.escape(why)):
            alphabet_chars(bad)


def test_key_shapes_come_from_the_checked_alphabet() -> None:
    """The token pattern is built from the expanded characters, never by pasting the spec's class."""
    shape = get_spec("cloro").credential.token
    assert shape.pattern().fullmatch("a" * shape.length)
    assert not shape.pattern().fullmatch("-" * shape.length)
    assert set(shape.chars()) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
