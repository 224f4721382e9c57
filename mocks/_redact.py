"""Redaction of secrets in journal text: every key (and any 6+ char slice of one) becomes `<key:ID>`.

Slices are matched ASCII-case-insensitively, and also inside the base64 of a secret (a key sent
as Basic credentials), so a truncated, case-flipped or re-encoded key leaks no bytes either.
"""
from __future__ import annotations

import base64
from typing import Iterable

# Texts remembered with their redaction: a journal repeats the same header lines and bodies
# thousands of times, and scanning each again was most of the time to write one out.
MEMO_LIMIT = 65_536
# A slice of a secret this long is treated as the secret itself (suites/_secret.py uses the same).
MIN_LEAK = 6
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _lower(text: str) -> str:
    # str.lower() may change a string's length (U+0130 -> 2 chars); this keeps offsets aligned.
    return text.translate(_ASCII_LOWER)


def _base64_forms(secret: str) -> list[str]:
    """The base64 text of a secret at each of the 3 byte alignments, edges that depend on neighbours cut."""
    raw = secret.encode("utf-8")
    out = []
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + raw).decode("ascii")
        core = enc[4 if pad else 0 : -4]
        out += [core, core.replace("+", "-").replace("/", "_")]
    return out


class Redactor:
    """Replaces every known secret, or a 6+ char run of one, by its label."""

    def __init__(self, secrets: Iterable[tuple[str, str]]):
        self._full: dict[str, str] = {}
        self._grams: dict[str, str] = {}
        self._memo: dict[str, tuple[list[tuple[int, int, str]], str]] = {}
        for value, label in secrets:
            if not value:
                continue
            self._full[value] = label
            for form in [value, *_base64_forms(value)]:
                low = _lower(form)
                for i in range(len(low) - MIN_LEAK + 1):
                    self._grams.setdefault(low[i : i + MIN_LEAK], label)

    def _done(self, text: str) -> tuple[list[tuple[int, int, str]], str]:
        """The secret runs of a text and the text redacted, remembered for texts seen before."""
        done = self._memo.get(text)
        if done is None:
            runs = self._runs(text)
            done = (runs, self._replace(text, runs) if runs else text)
            if len(self._memo) < MEMO_LIMIT:
                self._memo[text] = done
        return done

    def _runs(self, text: str) -> list[tuple[int, int, str]]:
        low = _lower(text)
        grams = self._grams
        runs: list[tuple[int, int, str]] = []
        for i in range(len(low) - MIN_LEAK + 1):
            label = grams.get(low[i : i + MIN_LEAK])
            if label is None:
                continue
            if runs and i <= runs[-1][1]:
                a, _, first = runs[-1]
                runs[-1] = (a, i + MIN_LEAK, first)
            else:
                runs.append((i, i + MIN_LEAK, label))
        return runs

    def labels(self, text: str) -> set[str]:
        """The labels of the secrets found in a text."""
        return {label for _, _, label in self._done(text)[0]}

    def __call__(self, text: str) -> str:
        """The text with every secret run replaced: `<key:k1>` whole, `<key:k1:partial>` otherwise."""
        return self._done(text)[1]

    def _replace(self, text: str, runs: list[tuple[int, int, str]]) -> str:
        out: list[str] = []
        last = 0
        for a, b, label in runs:
            # A run that is exactly one secret is labelled by that secret, not by the secret its
            # first slice matched: keys of one shape share slices (JWTs, a common header segment).
            whole = self._full.get(text[a:b])
            out.append(text[last:a])
            out.append(f"<{whole}>" if whole else f"<{label}:partial>")
            last = b
        out.append(text[last:])
        return "".join(out)
