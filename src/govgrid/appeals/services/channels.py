"""WeChat Official Account channels: where each account's callback lands, its secrets (sealed at rest with
core.sealing) and the division its concerns default to."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from govgrid.appeals.models import WeChatChannel
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.divisions.models import Division
from govgrid.core.errors import NotFoundError, ValidationFailedError
from govgrid.core.sealing import seal, unseal

log = logging.getLogger(__name__)

AES_KEY_LENGTH = 43
MAX_CHANNEL_ID = 32


def get_channel(session: Session, *, channel_id: str) -> WeChatChannel:
    """An active WeChat channel, or NotFoundError."""
    ch = session.get(WeChatChannel, channel_id)
    if ch is None or not ch.active:
        raise NotFoundError(f"微信渠道 {channel_id} 不存在 (no such WeChat channel)")
    return ch


def clear_token(channel: WeChatChannel) -> str:
    """The channel's clear token (the secret WeChat signs with)."""
    return unseal(channel.token)


def clear_aes_key(channel: WeChatChannel) -> str:
    """The channel's clear EncodingAESKey (safe-mode encryption)."""
    return unseal(channel.encoding_aes_key)


def ensure_channel(
    session: Session,
    *,
    actor: Actor,
    channel_id: str,
    name: str,
    token: str,
    encoding_aes_key: str,
    app_id: str,
    division_code: str,
) -> WeChatChannel:
    """Create or update a WeChat channel's secrets (idempotent)."""
    problems = []
    if not (3 <= len(token) <= 32 and token.isalnum()):
        problems.append({"loc": ["token"], "msg": "3-32 letters or digits"})
    if len(encoding_aes_key) != AES_KEY_LENGTH:
        problems.append({"loc": ["encoding_aes_key"], "msg": "exactly 43 characters"})
    if not channel_id.replace("_", "").replace("-", "").isalnum() or len(channel_id) > MAX_CHANNEL_ID:
        problems.append({"loc": ["channel_id"], "msg": "letters, digits, - and _ (max 32)"})
    if session.get(Division, division_code) is None:
        problems.append({"loc": ["division_code"], "msg": "unknown division"})
    if problems:
        raise ValidationFailedError("渠道配置无效 (invalid channel settings)", details=problems)
    ch = session.get(WeChatChannel, channel_id)
    if ch is None:
        ch = WeChatChannel(
            id=channel_id,
            name=name,
            token=seal(token),
            encoding_aes_key=seal(encoding_aes_key),
            app_id=app_id,
            division_code=division_code,
            active=True,
        )
        session.add(ch)
    else:
        ch.name, ch.token, ch.encoding_aes_key, ch.app_id, ch.division_code = (
            name,
            seal(token),
            seal(encoding_aes_key),
            app_id,
            division_code,
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="appeals.channel_save",
        entity_type="appeals_wechat_channel",
        entity_id=channel_id,
        division_code=division_code,
    )
    log.info("wechat channel saved", extra={"channel_id": channel_id, "division_code": division_code})
    return ch
