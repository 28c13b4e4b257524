"""Password hashing (argon2), JWT tokens and API key material."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from govgrid.config import get_settings
from govgrid.core.db import utcnow

_hasher = PasswordHasher()
ALGORITHM = "HS256"
API_KEY_PREFIX = "gg"


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """The hash a check against a missing user verifies against (made on first use: an argon2 hash at import
    cost every process start, every CLI call and every worker, a noticeable moment)."""
    return _hasher.hash("timing-equaliser")


@functools.cache
def demo_password_hash(password: str) -> str:
    """One argon2id hash per demo password, shared by every demo account (demo accounts work only in demo
    mode; hashing each of dozens of accounts separately made the demo and every test session slow)."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-effort check of a password against its hash (a missing user still costs a hash)."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: whose it is and which server-side session it belongs to."""

    user_id: int
    sid: str


def create_token(user_id: int, sid: str, *, minutes: int | None = None) -> str:
    """A signed JWT naming a user and the server-side session that keeps it alive (see identity.sessions)."""
    settings = get_settings()
    now = utcnow()
    payload: dict[str, Any] = {"sub": str(user_id), "sid": sid, "iat": now,
                               "exp": now + timedelta(minutes=minutes or settings.token_minutes)}
    return jwt.encode(payload, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)


def decode_token(token: str) -> TokenClaims | None:
    """The claims of a well-signed, unexpired token that has `exp`, `sub` and `sid`; else None."""
    try:
        payload = jwt.decode(token, get_settings().secret_key.get_secret_value(), algorithms=[ALGORITHM],
                             options={"require": ["exp", "sub", "sid"]})
        sid = payload["sid"]
        if not isinstance(sid, str) or not sid:
            return None
        return TokenClaims(user_id=int(payload["sub"]), sid=sid)
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None


def new_session_id() -> str:
    """A random session id (the token carries it; the database keeps only its hash)."""
    return secrets.token_urlsafe(32)


def hash_session_id(sid: str) -> str:
    """SHA-256 of a session id, as stored."""
    return hashlib.sha256(sid.encode()).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """A fresh API key: (full key shown once, lookup prefix, stored hash)."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    full = f"{API_KEY_PREFIX}_{prefix}_{secret}"
    return full, prefix, hash_api_key(full)


def hash_api_key(full: str) -> str:
    """SHA-256 of a high-entropy API key (argon2 is not needed for random keys)."""
    return hashlib.sha256(full.encode()).hexdigest()


def split_api_key(full: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    parts = full.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(parts[1]) != 8:
        return None
    return parts[1]


def api_key_matches(full: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented key with its stored hash."""
    return hmac.compare_digest(hash_api_key(full), stored_hash)
