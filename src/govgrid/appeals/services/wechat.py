"""WeChat Official Account server callback: verification, plaintext and safe-mode (AES) messages, replies.

The protocol work (SHA1 signatures, AES-256-CBC with the EncodingAESKey, XML parsing and reply rendering) is
done by the `wechatpy` library; this module decides what each message means for a ticket. Every refused
message logs one line (channel id and refusal code; never the sender or the content)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from xml.parsers.expat import ExpatError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml import ElementTree as DefusedTree
from sqlalchemy.orm import Session
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from govgrid.appeals.enums import Channel
from govgrid.appeals.models import Ticket, WeChatChannel
from govgrid.appeals.services import channels, intake, queries
from govgrid.config import get_settings
from govgrid.core.audit.service import PublicActor
from govgrid.core.db import utcnow
from govgrid.core.errors import AppError, BadRequestError, ForbiddenError
from govgrid.core.guards import replay

log = logging.getLogger(__name__)

MAX_XML_BYTES = 64 * 1024
LOCATION_ATTACH_MINUTES = 30


@dataclass
class CallbackReply:
    """The XML body to answer WeChat with, and the ticket it concerns (if any)."""

    body: str
    ticket_number: str | None = None
    created: bool = False


def _refused(channel: WeChatChannel, exc: AppError) -> None:
    """One log line for a refused callback (ids and codes only)."""
    log.warning(
        "wechat message refused", extra={"channel_id": channel.id, "code": exc.code, "status": exc.status}
    )


def _not_accepted(channel: WeChatChannel, exc: AppError) -> None:
    """One log line for a valid message whose content made no ticket (the sender is told why)."""
    log.info("wechat message not accepted", extra={"channel_id": channel.id, "code": exc.code})


def verify_url(channel: WeChatChannel, *, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    """GET verification: echo `echostr` when the signature over (token, timestamp, nonce) holds."""
    try:
        check_signature(channels.clear_token(channel), signature, timestamp, nonce)
    except InvalidSignatureException:
        exc = ForbiddenError("签名校验失败 (signature check failed)")
        _refused(channel, exc)
        raise exc from None
    return echostr


def _decode(
    session: Session,
    channel: WeChatChannel,
    body: bytes,
    *,
    signature: str | None,
    msg_signature: str | None,
    timestamp: str,
    nonce: str,
    encrypt_type: str | None,
) -> tuple[str, WeChatCrypto | None]:
    """The plaintext message XML and, in safe mode, the crypto used to encrypt the reply.

    Refused with 403, before anything is made: plaintext mode outside demo mode (its signature does not cover
    the body), a timestamp outside the five-minute window, a bad signature, a nonce already used on this
    channel."""
    if len(body) > MAX_XML_BYTES:
        raise BadRequestError(f"消息超过 {MAX_XML_BYTES} 字节 (message too large)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("消息不是 UTF-8 编码 (message is not UTF-8)") from None
    safe = (encrypt_type or "").lower() == "aes" or "<Encrypt>" in text
    if not safe and not get_settings().demo_mode:
        raise ForbiddenError(
            "只接受安全模式（加密）消息：请在公众平台将消息加解密方式设为“安全模式” "
            "(only safe-mode (encrypted) messages are accepted: "
            "set the account's message encryption to safe mode)",
            code="wechat_safe_mode_required",
        )
    if not replay.fresh_timestamp(timestamp):
        raise ForbiddenError(
            "消息时间戳无效或已过期（须在五分钟内）(timestamp missing or outside the five-minute window)",
            code="wechat_stale_timestamp",
        )
    xml, crypto = _verify(
        channel,
        text,
        safe,
        signature=signature,
        msg_signature=msg_signature,
        timestamp=timestamp,
        nonce=nonce,
    )
    if not replay.first_use(session, scope=f"appeals.wechat:{channel.id}", nonce=nonce):
        raise ForbiddenError("重复的请求已拒绝 (nonce already used: replay refused)", code="wechat_replay")
    return xml, crypto


def _verify(
    channel: WeChatChannel,
    text: str,
    safe: bool,
    *,
    signature: str | None,
    msg_signature: str | None,
    timestamp: str,
    nonce: str,
) -> tuple[str, WeChatCrypto | None]:
    """Check the signature (safe mode: msg_signature over the encrypted body) and decrypt."""
    refuse_hostile_xml(text)
    if safe:
        crypto = WeChatCrypto(channels.clear_token(channel), channels.clear_aes_key(channel), channel.app_id)
        try:
            return crypto.decrypt_message(text, msg_signature or "", timestamp, nonce), crypto
        except (InvalidSignatureException, InvalidAppIdException):
            raise ForbiddenError(
                "安全模式消息签名或 AppID 校验失败 (safe-mode signature or AppID check failed)"
            ) from None
        except (ExpatError, KeyError, TypeError, ValueError, IndexError) as exc:
            raise BadRequestError(
                f"加密消息格式错误 (malformed encrypted message): {type(exc).__name__}"
            ) from None
    try:
        check_signature(channels.clear_token(channel), signature or "", timestamp, nonce)
    except InvalidSignatureException:
        raise ForbiddenError("签名校验失败 (signature check failed)") from None
    return text, None


def handle_message(
    session: Session,
    channel: WeChatChannel,
    body: bytes,
    *,
    signature: str | None,
    msg_signature: str | None,
    timestamp: str,
    nonce: str,
    encrypt_type: str | None,
    public_base: str = "",
) -> CallbackReply:
    """Verify, decrypt and parse one pushed message; make (at most) one ticket; build the reply."""
    try:
        xml, crypto = _decode(
            session,
            channel,
            body,
            signature=signature,
            msg_signature=msg_signature,
            timestamp=timestamp,
            nonce=nonce,
            encrypt_type=encrypt_type,
        )
        msg = _parse(xml)
    except AppError as exc:
        _refused(channel, exc)
        raise
    actor = PublicActor(f"wechat:{channel.id}")
    reply_text, number, created = _dispatch_message(session, channel, msg, actor, public_base)
    reply = create_reply(reply_text, msg).render()
    if crypto is not None:
        reply = crypto.encrypt_message(reply, nonce, timestamp)
    return CallbackReply(reply, number, created)


def refuse_hostile_xml(text: str) -> None:
    """A WeChat message never carries a DTD: refuse one (external entities, entity expansion) before any
    parser sees the body."""
    if not text.strip():
        return
    try:
        DefusedTree.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden):
        raise BadRequestError("消息 XML 含有文档类型声明或实体，已拒绝", code="bad_request") from None
    except DefusedTree.ParseError:
        return  # malformed: the parser below names it


def _parse(xml: str) -> Any:
    """The wechatpy message object of a plaintext message XML, or BadRequestError."""
    refuse_hostile_xml(xml)
    try:
        msg = parse_message(xml)
    except (ExpatError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise BadRequestError(f"消息 XML 格式错误 (malformed message XML): {type(exc).__name__}") from None
    if msg is None:
        raise BadRequestError("消息为空 (empty message)")
    return msg


def _ack(ticket: Ticket, public_base: str) -> str:
    """The reply naming the ticket number and the tracking code."""
    return (
        f"您的诉求已受理，工单号 {ticket.number}，查询码 {ticket.tracking_code}。"
        f"可在 {public_base}/appeals/track 输入查询码查看办理进度。"
        f"(Ticket {ticket.number} received; tracking code {ticket.tracking_code}.)"
    )


def _dispatch_message(
    session: Session, channel: WeChatChannel, msg: Any, actor: PublicActor, public_base: str
) -> tuple[str, str | None, bool]:
    """What one message means: (reply text, ticket number or None, whether a ticket was made)."""
    kind = msg.type
    if kind == "event":
        if getattr(msg, "event", "") == "subscribe":
            return (
                "欢迎关注！直接发送文字、图片、语音或位置即可反映诉求，我们会尽快办理。"
                "(Welcome: send text, a photo, a voice note or your location to report a concern.)",
                None,
                False,
            )
        return ("", None, False)
    if kind not in ("text", "image", "voice", "location"):
        return ("暂不支持该类型消息，请发送文字、图片、语音或位置 (unsupported message type)", None, False)
    ref = f"{channel.id}:{msg.id}"
    existing = queries.find_by_channel_ref(session, channel=Channel.wechat, ref=ref)
    if existing is not None:  # WeChat retries the same MsgId up to three times
        return (_ack(existing, public_base), existing.number, False)
    data = intake.TicketInput(
        channel=Channel.wechat,
        channel_ref=ref,
        description="",
        default_division_code=channel.division_code,
        reporter_openid=msg.source,
    )
    if kind == "text":
        data.description = msg.content or ""
    elif kind == "image":
        data.description = "[图片诉求] 诉求人通过公众号发送了一张照片"
        data.media_url = msg.image
    elif kind == "voice":
        data.description = msg.recognition or f"[语音诉求] 语音消息 {msg.media_id}（待人工转写）"
    else:
        lat, lon = float(msg.location_x), float(msg.location_y)
        recent = queries.recent_ticket_without_point(
            session,
            channel=Channel.wechat,
            openid=msg.source,
            since=utcnow() - timedelta(minutes=LOCATION_ATTACH_MINUTES),
        )
        try:
            if recent is not None:
                intake.relocate(session, actor=actor, ticket=recent, lon=lon, lat=lat, label=msg.label)
                return (
                    f"已为工单 {recent.number} 补充位置。" + _ack(recent, public_base),
                    recent.number,
                    False,
                )
            data.description = f"[位置诉求] {msg.label or '诉求人发送了位置'}"
            data.lon, data.lat, data.address = lon, lat, msg.label
        except AppError as exc:
            _not_accepted(channel, exc)
            return (f"未能受理：{exc.message}", None, False)
    try:
        ticket = intake.create_ticket(session, actor=actor, data=data)
    except AppError as exc:
        # A valid message with unusable content: tell the person why, make nothing.
        _not_accepted(channel, exc)
        details = "；".join(d.get("msg", "") for d in exc.details) if exc.details else ""
        return (f"未能受理：{exc.message}" + (f"（{details}）" if details else ""), None, False)
    return (_ack(ticket, public_base), ticket.number, True)
