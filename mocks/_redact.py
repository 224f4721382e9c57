"""Redaction of secrets in the mock's journal and the gate's output: specs' one rule
(specs/_redaction.py), labels `<key:ID>` for a whole key and `<key:ID:partial>` for any other form."""
from __future__ import annotations

from typing import Iterable

from specs import Redaction, Run

from ._keys import KeyStore


class Redactor(Redaction):
    """Replaces every form of every known secret by its label (the rule of specs/_redaction.py)."""


class GrowingRedactor(Redactor):
    """A redactor over a key store that also knows the keys minted after it was made (the store
    grows: a gated client may mint keys through the admin API while its output is redacted)."""

    def __init__(self, store: KeyStore, extra: Iterable[tuple[str, ...]] = ()):
        super().__init__(extra)
        self._store = store
        self._minted = -1

    def _done(self, text: str) -> tuple[list[Run], str]:
        # The store's serial counts every key it minted: unchanged, no secret is new.
        if self._store.serial != self._minted:
            self._minted = self._store.serial
            for entry in self._store.secrets():
                self.add(*entry)
        return super()._done(text)
