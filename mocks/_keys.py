"""The key store: keys minted in the provider's token shape, their states, and constant-time lookup."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import secrets as _secrets
import string
from dataclasses import dataclass, field
from typing import Any, Iterator

from specs import ProviderSpec, TokenShape

STATES: tuple[str, ...] = ("valid", "expired", "revoked")
# Claims of minted JWTs: the example token's own exp (CryptoCloud's page shows exp 1631786426) for an
# expired key, 2100-01-01 for a live one; fixed, so `--seed` gives the same keys in every run.
EXPIRED_EXP = 1631786426
VALID_EXP = 4102444800
DEFAULT_JWT_HEADER = {"alg": "HS256", "typ": "JWT"}
USERNAME = "authconform"
# Bounded retries when a freshly minted key collides with one already issued.
MINT_ATTEMPTS = 16


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt_header(shape: TokenShape) -> str:
    """The example token's header segment when it is a whole HS256 header, else the default one."""
    example = (shape.example or "")[len(shape.prefix):]
    seg = example.split(".")[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("alg") == "HS256" and "." in example:
        return seg
    return _b64url(json.dumps(DEFAULT_JWT_HEADER, separators=(",", ":")).encode())


class Minter:
    """Makes key strings of one token shape from a random source (seeded or system)."""

    def __init__(self, shape: TokenShape, rng: random.Random, signing_key: bytes):
        self.shape = shape
        self.rng = rng
        self.signing_key = signing_key
        if shape.format == "jwt":
            self.jwt_header = _jwt_header(shape)
        else:
            self.alphabet = shape.chars()

    def mint(self, serial: int, expired: bool = False) -> str:
        """A new key: `serial` goes into a JWT's `id` claim, `expired` puts its `exp` in the past."""
        if self.shape.format == "jwt":
            claims = {"id": serial, "exp": EXPIRED_EXP if expired else VALID_EXP}
            signing_input = self.jwt_header + "." + _b64url(json.dumps(claims, separators=(",", ":")).encode())
            # Per-process HS256 key: a token is unforgeable without it, as a provider's would be.
            sig = hmac.new(self.signing_key, signing_input.encode("ascii"), hashlib.sha256).digest()
            body = signing_input + "." + _b64url(sig)
        else:
            body = "".join(self.rng.choice(self.alphabet) for _ in range(self.shape.length or 32))
        return self.shape.prefix + body


@dataclass(eq=False, slots=True)
class Key:
    """One issued key. Its repr never shows the key itself."""

    id: str
    secret: bytes = field(repr=False)
    state: str
    scopes: tuple[str, ...] = ()
    binding: str | None = None
    kind: str | None = None
    role: str | None = None
    covers: bool = True  # its scopes cover the probe's scope
    held: frozenset[str] = frozenset()  # its scopes with every implied one (a route's scope is looked up here)
    refused: bool = False  # its kind is one the protected route refuses

    @property
    def value(self) -> str:
        """The key as text (keys are ASCII by construction)."""
        return self.secret.decode("ascii")


def _listing(ids: Any, most: int = 20) -> str:
    """`k1, k2, ...`: at most `most` ids, so an error about one key stays short however many exist."""
    ids = list(ids)
    shown = ", ".join(ids[:most])
    return shown if len(ids) <= most else f"{shown}, ... ({len(ids)} in all)"


def other_binding(value: str) -> str:
    """A resource id of the same form as `value` but different (12345 -> 12346)."""
    if value.isdigit():
        return str(int(value) + 1).zfill(len(value))
    return value + "-other"


class KeyStore:
    """The provider's issued keys, minted in its token shape, with states, scopes, bindings and kinds.

    Lookup is by SHA-256 digest, then `hmac.compare_digest` on the bytes: no early exit on a
    matching prefix, so response time says nothing about how much of a guess was right.
    """

    def __init__(self, spec: ProviderSpec, seed: str | int | None = None):
        self.spec = spec
        if seed is None:
            rng: random.Random = _secrets.SystemRandom()
            signing_key = os.urandom(32)
        else:
            rng = random.Random(f"authconform:{spec.id}:{seed}")
            signing_key = hashlib.sha256(f"authconform-jwt:{spec.id}:{seed}".encode()).digest()
        self._minter = Minter(spec.credential.token, rng, signing_key)
        self._serial = 0
        self._keys: dict[str, Key] = {}
        # SHA-256(key) -> Key. Public for the decision's hot path; never rebound, only updated.
        self.index: dict[bytes, Key] = {}
        self._retired: list[Key] = []
        self.roles: dict[str, Key] = {}
        self.limiter: Any = None
        self.username = USERNAME if spec.exchange else None
        self.password = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(20)) if spec.exchange else None
        self._mint_initial()
        self._initial = [(k, k.state) for k in self._keys.values()]
        self._initial_roles = dict(self.roles)

    # -- minting -------------------------------------------------------------------------------
    @property
    def binding_value(self) -> str | None:
        """The resource the probe names (Flash's flash_id), to which the valid key is bound."""
        b = self.spec.binding
        return None if b is None else str(self.spec.probe.body[b.field])

    def _mint_initial(self) -> None:
        spec = self.spec
        all_scopes = spec.scopes.names if spec.scopes else ()
        accepted = spec.binding.accepted[0] if spec.binding else None
        bound = self.binding_value
        self.mint("valid", all_scopes, bound, accepted, role="valid")
        for state in ("expired", "revoked"):
            if state in spec.keys.states:
                self.mint(state, all_scopes, bound, accepted, role=state)
        if "limited" in spec.keys.states and spec.scopes:
            self.mint("valid", spec.scopes.limited, bound, accepted, role="limited")
        if spec.binding and bound is not None:
            self.mint("valid", all_scopes, other_binding(bound), accepted, role="other_binding")
            for kind in spec.binding.kinds:
                if kind not in spec.binding.accepted:
                    self.mint("valid", all_scopes, None, kind, role=kind)

    def mint(
        self,
        state: str = "valid",
        scopes: tuple[str, ...] | list[str] | None = None,
        binding: str | None = None,
        kind: str | None = None,
        role: str | None = None,
    ) -> Key:
        """Issue a new key; arguments are checked against the spec (ValueError says what is allowed)."""
        spec = self.spec
        if state == "limited":
            if not spec.scopes:
                raise ValueError(f"state: {spec.id} has no scopes, so no limited keys; states: {', '.join(self.states)}")
            state, scopes = "valid", scopes if scopes is not None else spec.scopes.limited
        if state not in self.states:
            raise ValueError(f"state: {spec.id} has no {state!r} keys; states: {', '.join(self.states)}")
        names = spec.scopes.names if spec.scopes else ()
        scopes = tuple(names if scopes is None else scopes)
        bad = [s for s in scopes if s not in names]
        if bad:
            known = ", ".join(names) if names else "none (the provider has no scopes)"
            raise ValueError(f"scopes: unknown scope {bad[0]!r}; scopes: {known}")
        if spec.binding is None:
            if binding is not None or kind is not None:
                raise ValueError(f"binding, kind: {spec.id} binds keys to nothing; drop 'binding' and 'kind'")
        else:
            kind = spec.binding.accepted[0] if kind is None else kind
            if kind not in spec.binding.kinds:
                raise ValueError(f"kind: unknown kind {kind!r}; kinds: {', '.join(spec.binding.kinds)}")
            if binding is None and kind in spec.binding.accepted:
                binding = self.binding_value
        for _ in range(MINT_ATTEMPTS):
            self._serial += 1
            secret = self._minter.mint(self._serial, expired=state == "expired").encode("ascii")
            if hashlib.sha256(secret).digest() not in self.index and not any(secret == k.secret for k in self._retired):
                break
        else:  # pragma: no cover - 16 collisions of random keys do not happen
            raise RuntimeError("could not mint a fresh key")
        need = spec.probe.scope
        key = Key(
            id=f"k{self._serial}",
            secret=secret,
            state=state,
            scopes=scopes,
            binding=None if binding is None else str(binding),
            kind=kind,
            role=role,
            covers=need is None or spec.scopes is None or need in spec.scopes.expand(scopes),
            held=spec.scopes.expand(scopes) if spec.scopes is not None else frozenset(),
            refused=spec.binding is not None and kind not in spec.binding.accepted,
        )
        self._keys[key.id] = key
        self.index[hashlib.sha256(secret).digest()] = key
        if role is not None:
            self.roles[role] = key
        return key

    @property
    def serial(self) -> int:
        """How many keys this store has minted so far (it only grows)."""
        return self._serial

    @property
    def states(self) -> tuple[str, ...]:
        """The key states this provider has (valid always; limited is a scope set, not a state)."""
        return tuple(s for s in self.spec.keys.states if s in STATES)

    # -- lookup --------------------------------------------------------------------------------
    def lookup(self, presented: bytes, digest: bytes | None = None) -> Key | None:
        """The key equal to `presented` (SHA-256 index, then constant-time compare), or None.

        `digest`, when given, is SHA-256(presented) computed earlier (the decision caches it per
        header value); the bytes are compared in constant time all the same.
        """
        key = self.index.get(digest or hashlib.sha256(presented).digest())
        if key is not None and hmac.compare_digest(key.secret, presented):
            return key
        return None

    def lookup_loose(self, presented: bytes, prefix: bool = False, short: int = 0, casefold: bool = False) -> Key | None:
        """Lookups as buggy servers do them (for defects only): prefix, first-`short`-bytes, case-folded."""
        for key in self._keys.values():
            if prefix and presented.startswith(key.secret):
                return key
            if short and presented[:short] == key.secret[:short]:
                return key
            if casefold and presented.lower() == key.secret.lower():
                return key
        return None

    def get(self, key_id: str) -> Key | None:
        """A key by id (`k3`), retired ones included, or None."""
        key = self._keys.get(key_id)
        if key is None:
            key = next((k for k in self._retired if k.id == key_id), None)
        return key

    def __iter__(self) -> Iterator[Key]:
        return iter(list(self._keys.values()))

    def set_state(self, key_id: str, state: str) -> Key:
        """Expire or revoke a key (or make it valid again); ValueError names what is allowed."""
        key = self._keys.get(key_id)
        if key is None:
            raise KeyError(f"no key {key_id[:64]!r}; ids: {_listing(self._keys)}")
        if state not in self.states:
            raise ValueError(f"{self.spec.id} has no {state!r} keys; states: {', '.join(self.states)}")
        key.state = state
        return key

    # -- exchange (username + password -> token) -----------------------------------------------
    def check_login(self, username: bytes, password: bytes) -> bool:
        """Whether the credentials are the mock user's; both compared in constant time, always."""
        if self.username is None or self.password is None:
            return False
        ok_user = hmac.compare_digest(username, self.username.encode("utf-8"))
        ok_pass = hmac.compare_digest(password, self.password.encode("utf-8"))
        return ok_user and ok_pass

    def user_token(self) -> Key:
        """The user's token; a revoked or expired one is replaced by a new one, as a login would."""
        key = self.roles["valid"]
        if key.state != "valid":
            key = self.mint("valid", key.scopes, key.binding, key.kind, role="valid")
        return key

    # -- views -----------------------------------------------------------------------------------
    def public(self) -> dict[str, Any]:
        """The keys by role, as `GET /__authconform__/keys` and the serve line show them.

        A role promises a state: `expired` and `revoked` their own, every other role (`valid`,
        `limited`, `other_binding`, a refused kind) a valid key. A role key an admin call has since
        expired or revoked no longer keeps that promise, so it is left out until a reset (or, for
        an exchange, the next login) gives the role a key in its state again.
        """
        out: dict[str, Any] = {role: key.value for role, key in self.roles.items()
                               if key.state == (role if role in STATES else "valid")}
        if self.username is not None:
            out["username"] = self.username
            out["password"] = self.password
        if self.spec.binding is not None:
            out["binding"] = self.binding_value
        return out

    def secrets(self) -> list[tuple[str, str, str]]:
        """Every secret ever known (keys, retired keys, the password): value, journal label, and the
        public prefix the redaction leaves readable (the spec's `credential.token.prefix`)."""
        prefix = self.spec.credential.token.prefix
        out = [(k.value, f"key:{k.id}", prefix) for k in [*self._keys.values(), *self._retired]]
        if self.password:
            out.append((self.password, "password", ""))
        return out

    def reset(self) -> None:
        """Back to the initial keys and states; keys minted since are retired (unknown to lookup)."""
        initial = {k.id for k, _ in self._initial}
        self._retired.extend(k for k in self._keys.values() if k.id not in initial)
        self._keys = {k.id: k for k, _ in self._initial}
        for key, state in self._initial:
            key.state = state
        self.index.clear()
        self.index.update((hashlib.sha256(k.secret).digest(), k) for k in self._keys.values())
        self.roles = dict(self._initial_roles)
        if self.limiter is not None:
            self.limiter.clear()
