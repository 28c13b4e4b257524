"""Channel endpoints outside /api/v1: the WeChat Official Account server callback."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from govgrid.appeals import service, wechat
from govgrid.core.deps import SessionDep

router = APIRouter(prefix="/channels/wechat", tags=["appeals-channels"])


@router.get("/{channel_id}", response_class=PlainTextResponse)
def wechat_verify(
    channel_id: str,
    session: SessionDep,
    signature: str = "",
    timestamp: str = "",
    nonce: str = "",
    echostr: str = "",
) -> PlainTextResponse:
    """Server URL verification: echo `echostr` when the signature holds (403 otherwise)."""
    channel = service.get_channel(session, channel_id)
    return PlainTextResponse(
        wechat.verify_url(channel, signature=signature, timestamp=timestamp, nonce=nonce, echostr=echostr)
    )


@router.post("/{channel_id}")
async def wechat_message(
    channel_id: str,
    request: Request,
    session: SessionDep,
    signature: str | None = None,
    timestamp: str = "",
    nonce: str = "",
    msg_signature: str | None = None,
    encrypt_type: str | None = None,
) -> Response:
    """A pushed message (plaintext or safe mode): one ticket per MsgId, answered with the ticket number."""
    channel = service.get_channel(session, channel_id)
    body = await request.body()
    reply = wechat.handle_message(
        session,
        channel,
        body,
        signature=signature,
        msg_signature=msg_signature,
        timestamp=timestamp,
        nonce=nonce,
        encrypt_type=encrypt_type,
        public_base=str(request.base_url).rstrip("/"),
    )
    return Response(reply.body, media_type="application/xml; charset=utf-8")
