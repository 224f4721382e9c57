"""Keys of a spec's token shape: fabricated (well-formed, never issued) and mutated from a real one.

Wrong but well-formed tokens, truncated or prefix-only tokens, one character flipped, the case
changed (a token is compared exactly: RFC 6750 §2.1 b64token, RFC 9110 §11.2 token68). Each
mutation targets a comparison bug: a prefix compare accepts `extended`, a short compare accepts
`one_char_changed` past its length and `truncated`, a case-folding compare accepts `case_flipped`.
"""
from __future__ import annotations

import base64
import json
import random
import string
from functools import lru_cache

from specs import TokenShape

# The order characters are drawn in (so a seed gives the same keys): the alphabet itself is the
# spec's (TokenShape.chars(), specs/_model.py), for JWT segments base64url (RFC 7515 §2).
JWT_ORDER = string.ascii_letters + string.digits + "-_"
DEFAULT_LENGTH = 32
# Past any header-size defect threshold the mocks plant (1024 bytes), far below servers' limits (8 KiB).
OVERSIZED_LENGTH = 2048


@lru_cache(maxsize=None)
def alphabet(shape: TokenShape) -> str:
    """The characters a key of this shape is made of (after its prefix)."""
    chars = set(shape.chars())
    return "".join(c for c in (JWT_ORDER if shape.format == "jwt" else string.printable) if c in chars)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def fabricate(shape: TokenShape, rng: random.Random) -> str:
    """A key of the right shape that no server issued (random bytes from a seeded generator)."""
    if shape.format == "jwt":
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64url(json.dumps({"sub": f"authconform-unissued-{rng.randrange(10**9)}"}, separators=(",", ":")).encode())
        signature = "".join(rng.choice(alphabet(shape)) for _ in range(43))
        return f"{shape.prefix}{header}.{payload}.{signature}"
    chars = alphabet(shape)
    return shape.prefix + "".join(rng.choice(chars) for _ in range(shape.length or DEFAULT_LENGTH))


def oversized(shape: TokenShape, rng: random.Random) -> str:
    """A token68-valid run of the shape's characters, OVERSIZED_LENGTH long."""
    chars = alphabet(shape)
    return shape.prefix + "".join(rng.choice(chars) for _ in range(OVERSIZED_LENGTH))


def _middle(key: str, shape: TokenShape) -> int:
    """An index in the middle of the key, inside a segment and past the prefix.

    Not a segment's last character: in a base64url JWT signature its low bits are padding, so a
    verifying server could decode a changed last character to the same bytes and rightly accept it.
    """
    chars = alphabet(shape)
    inner = [
        i
        for i in range(len(shape.prefix), len(key) - 1)
        if key[i] in chars and key[i + 1] in chars
    ]
    if not inner:
        return len(key) // 2
    return inner[len(inner) // 2]


def one_char_changed(key: str, shape: TokenShape) -> str:
    """The key with one character in its middle replaced by another of its alphabet."""
    chars = alphabet(shape)
    i = _middle(key, shape)
    c = key[i]
    other = chars[(chars.index(c) + 1) % len(chars)] if c in chars else chars[0]
    return key[:i] + other + key[i + 1 :]


def truncated(key: str) -> str:
    """The key without its last character."""
    return key[:-1]


def halved(key: str) -> str:
    """The first half of the key (a token68 string that no longer has the key's shape)."""
    return key[: len(key) // 2]


def extended(key: str, shape: TokenShape) -> str:
    """The key followed by one more character of its alphabet."""
    return key + alphabet(shape)[0]


def case_flipped(key: str) -> str:
    """The key with every letter's case swapped."""
    return key.swapcase()


def with_char(key: str, shape: TokenShape, char: str) -> str:
    """The key with a character inserted in its middle."""
    i = _middle(key, shape)
    return key[:i] + char + key[i:]

