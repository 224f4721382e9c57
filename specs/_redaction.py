"""The one redaction rule of mocks and suites: which text is a secret, and what it becomes.

A key is replaced in every form the project derives from it, and nothing else is:

- Only a key's *secret part* is a secret: the text after the spec's documented
  `credential.token.prefix` (`sk_live_`, `ghp_`), which names the kind of key and stays readable.
- Any run of MIN_RUN or more characters of the secret part is replaced, compared ASCII-case-
  insensitively and with `+`/`-` and `/`/`_` taken as equal. So a case-flipped, upper- or
  lower-cased key, a truncated or halved one, one with a character changed, inserted or removed
  (each side of the change as long as MIN_RUN), with `-_` and `+/` swapped, or the key inside a
  longer token, are all caught by one mechanism: no list of mutations to keep in step.
- Percent-encoded text (`%XX`, a key in a URL path or query, in a form body, or every byte
  encoded) is searched decoded, and the base64/base64url text of the secret part at each byte
  alignment is a form of it too (Basic credentials, a re-encoded token), from BASE64_RUN
  characters (6 bytes) on.
- A run shorter than LONG_RUN in the middle of a longer word is not the key by itself: a run is
  replaced when it is LONG_RUN long or more, or a base64 run, or the start of a secret part
  starting its word or its end ending it (a truncated key), or makes with the other runs there LONG_RUN or at least half of its word (a mutated key),
  or is a whole short secret part; a documented prefix in front is not part of the word. Else random text (hex digests, base64 output) sharing MIN_RUN characters
  with a key by chance would be mangled: about one sha256 digest in 4,000 against a run's hex keys.
- Text shorter than MIN_RUN is never replaced for matching part of a key: six characters of a random
  key carry 24 (hex) to 31 bits compared without case, while shorter runs turn up in ordinary words
  and ids (a key `fastapi-eval-token-...` must not turn the provider id `fastapi` into a
  placeholder). A secret part shorter than MIN_RUN is replaced only where it stands alone, exactly,
  as a token.

A whole secret part becomes `<label>`; any other form `<label:partial>`.
"""
from __future__ import annotations

import base64
import bisect
import re
from typing import Iterable, NamedTuple

# The shortest run of a key's secret part that is taken for the key (see the module docstring).
MIN_RUN = 6
# A run this long is the key wherever it stands (48 bits of a hex key); a shorter one only as above.
LONG_RUN = 12
# What ends a word for the rule above: space, quotes, brackets and the delimiters of URLs, headers,
# JSON and forms (RFC 3986 section 2.2 gen-delims and most sub-delims, RFC 9110 section 5.6.2).
_WORD_END = re.compile(r"""[\s"'`<>()\[\]{},;:=&?#|\\/@!*$]""")
# The shortest run of a secret's base64 text taken for it: 6 bytes, as MIN_RUN characters are.
BASE64_RUN = 8
# Marks a MIN_RUN-gram that is only the start of a base64 run (look BASE64_RUN characters on).
_BASE64 = "\0base64"
# Texts remembered with their redaction: the same header lines and bodies repeat thousands of times.
MEMO_LIMIT = 65_536
# ASCII case and the two base64 alphabets folded together; one character for one, so offsets hold.
_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ+/", "abcdefghijklmnopqrstuvwxyz-_")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")

Run = tuple[int, int, str]


def fold(text: str) -> str:
    """Text as the rule compares it: ASCII lower case, `+` as `-`, `/` as `_`, same length."""
    return text.translate(_FOLD)


class Entry(NamedTuple):
    """One secret as the rule sees it: its value, its label, and the public prefix it starts with."""

    value: str
    label: str
    public: str = ""

    @property
    def secret_part(self) -> str:
        """The value without its documented prefix (the whole value when it does not start with it)."""
        if self.public and self.value.startswith(self.public) and len(self.value) > len(self.public):
            return self.value[len(self.public) :]
        return self.value


def base64_forms(secret: str) -> list[str]:
    """The base64 text of a secret at each of the 3 byte alignments, edges that depend on neighbours cut."""
    raw = secret.encode("utf-8")
    out = []
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + raw).decode("ascii")
        out.append(enc[4 if pad else 0 : -4])
    return out


def _decoded(text: str) -> tuple[str, list[int] | None]:
    """Text with every `%XX` decoded, and where each decoded character starts in the text (None:
    nothing was encoded). The map has one more item, the text's length, for a run's end."""
    if "%" not in text:
        return text, None
    parts: list[str] = []
    starts: list[int] = []
    last = 0
    for m in _PERCENT.finditer(text):
        s = m.start()
        parts.append(text[last:s])
        starts.extend(range(last, s))
        parts.append(chr(int(m.group(1), 16)))
        starts.append(s)
        last = m.end()
    if not starts and last == 0:
        return text, None
    parts.append(text[last:])
    starts.extend(range(last, len(text) + 1))
    return "".join(parts), starts


class Redaction:
    """The rule over a set of secrets (which may grow): `redaction(text)` is the text redacted."""

    def __init__(self, secrets: Iterable[Entry | tuple[str, ...]] = ()):
        self._grams: dict[str, str] = {}
        self._base64: dict[str, str] = {}
        self._whole: dict[str, str] = {}
        self._short: list[tuple[re.Pattern[str], str]] = []
        self._firsts: set[str] = set()  # the first MIN_RUN-gram of each secret part
        self._lasts: set[str] = set()  # the last one
        self._publics: set[str] = set()  # the documented prefixes: a word's start before a secret part
        self._lengths: dict[str, int] = {}  # each label's shortest secret part
        self._memo: dict[str, tuple[list[Run], str]] = {}
        self._known: set[Entry] = set()
        for s in secrets:
            self.add(*s)

    def __bool__(self) -> bool:
        return bool(self._grams or self._short)

    def add(self, value: str, label: str, public: str = "") -> None:
        """Know one more secret (a key minted during a run); `public` is its documented prefix."""
        entry = Entry(value, label, public)
        part = entry.secret_part
        if not part or entry in self._known:
            return
        self._known.add(entry)
        self._memo.clear()
        if len(part) < MIN_RUN:
            # Too short to tell from ordinary text inside a word: only where it stands alone.
            self._short.append((re.compile(rf"(?<![A-Za-z0-9]){re.escape(part)}(?![A-Za-z0-9])"), label))
            self._whole.setdefault(part, label)
            return
        self._whole.setdefault(part, label)
        low = fold(part)
        self._firsts.add(low[:MIN_RUN])
        if public:
            self._publics.add(public)
        self._lasts.add(low[-MIN_RUN:])
        self._lengths[label] = min(len(part), self._lengths.get(label, len(part)))
        for i in range(len(low) - MIN_RUN + 1):
            gram = low[i : i + MIN_RUN]
            if self._grams.get(gram, _BASE64) is _BASE64:
                self._grams[gram] = label
        # Base64 text carries 6 bits a character: a run of it stands for the key from BASE64_RUN
        # characters (6 bytes) on; its first MIN_RUN characters only mark where to look further.
        for form in base64_forms(part):
            low = fold(form)
            for i in range(len(low) - BASE64_RUN + 1):
                self._base64.setdefault(low[i : i + BASE64_RUN], label)
                self._grams.setdefault(low[i : i + MIN_RUN], _BASE64)

    def runs(self, text: str) -> list[Run]:
        """The secret runs of a text: (start, end, label), in order, not overlapping."""
        return self._done(text)[0]

    def labels(self, text: str) -> set[str]:
        """The labels of the secrets found in a text."""
        return {label for _, _, label in self._done(text)[0]}

    def leaks(self, text: str) -> bool:
        """True when the text holds any form of a secret that the rule replaces."""
        return bool(self._done(text)[0])

    def __call__(self, text: str) -> str:
        """The text with every secret run replaced: `<label>` for a whole secret, `<label:partial>` otherwise."""
        return self._done(text)[1]

    def _done(self, text: str) -> tuple[list[Run], str]:
        done = self._memo.get(text)
        if done is None:
            view, starts = _decoded(text)
            runs = self._find(view)
            if runs:
                out = self._replace(text, view, runs, starts)
                if starts is not None:
                    runs = [(starts[a], starts[b], label) for a, b, label in runs]
            else:
                out = text
            done = (runs, out)
            if len(self._memo) < MEMO_LIMIT:
                self._memo[text] = done
        return done

    def _find(self, view: str) -> list[Run]:
        """Runs in the (decoded) view: overlapping or touching grams of one key make one run."""
        grams = self._grams
        runs: list[Run] = []
        strong: set[int] = set()  # where a base64 run starts
        firsts: set[int] = set()  # where a secret's first gram starts
        lasts: set[int] = set()  # where a secret's last gram ends
        if grams:
            low = fold(view)
            for i in range(len(low) - MIN_RUN + 1):
                label = grams.get(low[i : i + MIN_RUN])
                if label is None:
                    continue
                end = i + MIN_RUN
                if label is _BASE64:
                    label = self._base64.get(low[i : i + BASE64_RUN])
                    if label is None:
                        continue
                    end = i + BASE64_RUN
                    strong.add(i)
                if end - i == MIN_RUN:
                    gram = low[i:end]
                    if gram in self._firsts:
                        firsts.add(i)
                    if gram in self._lasts:
                        lasts.add(end)
                if runs and i <= runs[-1][1]:
                    a, b, first = runs[-1]
                    runs[-1] = (a, max(b, end), first)
                else:
                    runs.append((i, end, label))
            if runs:
                runs = self._likely(view, runs, strong, firsts, lasts)
        if self._short:
            taken = [(a, b) for a, b, _ in runs]
            extra = [(m.start(), m.end(), label) for pattern, label in self._short for m in pattern.finditer(view)]
            extra = [r for r in extra if not any(a < r[1] and r[0] < b for a, b in taken)]
            if extra:
                runs = sorted(runs + extra)
        return runs

    def _likely(self, view: str, runs: list[Run], strong: set[int], firsts: set[int], lasts: set[int]) -> list[Run]:
        """The runs that are a key's form, not chance (see the module docstring): long, a base64
        run, a secret's start starting a word or its end ending one, or half or more of their word."""
        kept: list[Run] = []
        words: dict[tuple[int, int], int] = {}
        spans = []
        # Where words end, found once: linear in the text however many runs it holds.
        ends = [m.start() for m in _WORD_END.finditer(view)]
        for a, b, label in runs:
            k = bisect.bisect_left(ends, b)
            end = ends[k] if k < len(ends) else len(view)
            k = bisect.bisect_left(ends, a)
            start = ends[k - 1] + 1 if k else 0
            # `sk_live_` + a secret part: the word is the part
            start += max((len(p) for p in self._publics if view.startswith(p, start) and start + len(p) <= a), default=0)
            words[start, end] = words.get((start, end), 0) + b - a
            if (b - a >= min(LONG_RUN, self._lengths.get(label, LONG_RUN)) or any(a <= i < b for i in strong)
                    or (a == start and a in firsts) or (b == end and b in lasts)):
                kept.append((a, b, label))
            else:
                spans.append(((start, end), (a, b, label)))
        # Runs of a key around a changed or inserted character: together LONG_RUN or half the word.
        kept += [run for word, run in spans if words[word] >= LONG_RUN or 2 * words[word] >= word[1] - word[0]]
        return sorted(kept)

    def _replace(self, text: str, view: str, runs: list[Run], starts: list[int] | None) -> str:
        out: list[str] = []
        last = 0
        for a, b, label in runs:
            # A run that is exactly one secret is labelled by it, not by the secret its first gram
            # matched: keys of one shape share slices (JWTs share a header segment).
            whole = self._whole.get(view[a:b])
            ta, tb = (a, b) if starts is None else (starts[a], starts[b])
            out.append(text[last:ta])
            out.append(f"<{whole}>" if whole else f"<{label}:partial>")
            last = tb
        out.append(text[last:])
        return "".join(out)
