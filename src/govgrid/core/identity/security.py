"""Password hashing (argon2), JWT tokens and API key material."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from govgrid.config import get_settings
from govgrid.core.db import utcnow

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("timing-equaliser")
ALGORITHM = "HS256"
API_KEY_PREFIX = "gg"


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-effort check of a password against its hash (a missing user still costs a hash)."""
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def create_token(user_id: int, *, minutes: int | None = None, extra: dict[str, Any] | None = None) -> str:
    """A signed JWT for a user."""
    settings = get_settings()
    now = utcnow()
    payload = {"sub": str(user_id), "iat": now, "exp": now + timedelta(minutes=minutes or settings.token_minutes)}
    payload.update(extra or {})
    return jwt.encode(payload, settings.secret_key, algorithm=ALGORITHM)


def decode_token(token: str) -> int | None:
    """The user id inside a valid, unexpired token, else None."""
    try:
        payload = jwt.decode(token, get_settings().secret_key, algorithms=[ALGORITHM])
        return int(payload["sub"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return None


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
