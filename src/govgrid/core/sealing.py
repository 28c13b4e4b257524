"""Secrets at rest: third-party credentials (e.g. a WeChat channel's token and AES key) are stored sealed.

Sealed values are Fernet tokens (AES-128-CBC + HMAC-SHA256) under a key derived from GOVGRID_SECRET_KEY,
prefixed so that values written before sealing existed are still read (and re-sealed on their next save).
Rotating the secret key means re-entering sealed credentials.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from govgrid.config import get_settings
from govgrid.core.errors import AppError

PREFIX = "sealed:v1:"


class SealError(AppError):
    """A stored credential cannot be read with the current key (a configuration problem, not the caller's)."""

    status = 503
    code = "sealed_value_unreadable"


def _fernet() -> Fernet:
    secret = get_settings().secret_key.get_secret_value()
    digest = hashlib.sha256(b"govgrid-seal\x00" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(value: str) -> str:
    """Encrypt a credential for storage."""
    return PREFIX + _fernet().encrypt(value.encode()).decode()


def unseal(value: str) -> str:
    """The clear credential (values stored before sealing pass through unchanged)."""
    if not value.startswith(PREFIX):
        return value
    try:
        return _fernet().decrypt(value[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise SealError(
            "存储的凭据无法解密：密钥已更换？请重新配置该渠道 (stored credential cannot be decrypted: "
            "was GOVGRID_SECRET_KEY changed? re-enter the channel settings)"
        ) from None
