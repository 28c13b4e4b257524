"""Secrets at rest: third-party credentials (e.g. a WeChat channel's token and AES key) are stored sealed.

Sealed values are Fernet tokens (AES-128-CBC + HMAC-SHA256) under a key derived from GOVGRID_SECRET_KEY,
prefixed so that values written before sealing existed are still read (and re-sealed on their next save).
Rotating the secret key means re-entering sealed credentials.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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


# --- The instance's Ed25519 signing key: signed backup manifests (core.backup) and solution packs (reuse).


def instance_signing_key() -> Ed25519PrivateKey:
    """The instance's Ed25519 key, derived from GOVGRID_SECRET_KEY (same secret, same key)."""
    secret = get_settings().secret_key.get_secret_value().encode()
    seed = HKDF(algorithm=SHA256(), length=32, salt=b"govgrid", info=b"audit-head-signing").derive(secret)
    return Ed25519PrivateKey.from_private_bytes(seed)


def instance_public_key_b64() -> str:
    """The instance's public key, base64 of the 32 raw bytes (publish it so others can check signatures)."""
    raw = instance_signing_key().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode()


def sign_bytes(data: bytes) -> str:
    """Base64 Ed25519 signature of `data` with the instance's key."""
    return base64.b64encode(instance_signing_key().sign(data)).decode()


def signature_valid(data: bytes, *, signature_b64: str, public_key_b64: str) -> bool:
    """True if `signature_b64` is a valid Ed25519 signature of `data` under `public_key_b64`."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True
