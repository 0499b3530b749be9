"""Secrets at rest: passwords, API tokens and appointment-slip PINs.

Passwords and PINs are hashed with argon2id (argon2-cffi). API tokens are long random
strings, so a fast SHA-256 digest is enough and lets a token be found by its hash.
"""
from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# PINs guard a public status lookup that is rate-limited; a lighter cost keeps
# receiving a dossier fast while a leaked table still resists brute force per row.
_pin_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def use_password_cost(*, time_cost: int, memory_cost: int, parallelism: int = 1) -> None:
    """Change the argon2 cost of new password hashes (existing hashes carry their own
    parameters). The test suite lowers it: hashing at production cost for every seeded
    user would dominate its run time."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def dummy_password_hash() -> str:
    """A hash at the current cost, verified when a username is unknown so that both
    failures take the same time."""
    params = (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism)
    if _dummy.get("params") != params:
        _dummy.update(params=params, hash=_hasher.hash("isoflow-timing-equaliser"))
    return _dummy["hash"]


_dummy: dict = {}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_pin(digits: int = 6) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def hash_pin(pin: str) -> str:
    return _pin_hasher.hash(pin)


def verify_pin(pin_hash: str, pin: str) -> bool:
    try:
        return _pin_hasher.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
