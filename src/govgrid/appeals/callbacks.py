"""Channel endpoints outside /api/v1: the WeChat Official Account server callback."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from govgrid.appeals.services import channels, wechat
from govgrid.core.deps import SessionDep
from govgrid.core.http import site_url
from govgrid.core.openapi import public

router = APIRouter(prefix="/channels/wechat", tags=["appeals-channels"])
SIGNED = public("WeChat signature (the channel's token)")  # no login: the signature is the check


@router.get("/{channel_id}", response_class=PlainTextResponse, openapi_extra=SIGNED)
def wechat_verify(
    channel_id: str,
    session: SessionDep,
    signature: str = "",
    timestamp: str = "",
    nonce: str = "",
    echostr: str = "",
) -> PlainTextResponse:
    """Server URL verification: echo `echostr` when the signature holds (403 otherwise)."""
    channel = channels.get_channel(session, channel_id=channel_id)
    return PlainTextResponse(
        wechat.verify_url(channel, signature=signature, timestamp=timestamp, nonce=nonce, echostr=echostr)
    )


async def _raw_body(request: Request) -> bytes:
    """The request body, read on the event loop without blocking (the core caps its size)."""
    return await request.body()


WECHAT_POST = (
    "A pushed message (safe mode; plaintext in demo mode only): one ticket per MsgId, answered with the "
    "number.\n\nA plain `def` (run in the thread pool): the database work never blocks the server. Stale "
    "timestamps and reused\nnonces are refused (403) before anything is made."
)


@router.post("/{channel_id}", description=WECHAT_POST, openapi_extra=SIGNED)
def wechat_message(
    channel_id: str,
    request: Request,
    session: SessionDep,
    body: Annotated[bytes, Depends(_raw_body)],
    signature: str | None = None,
    timestamp: str = "",
    nonce: str = "",
    msg_signature: str | None = None,
    encrypt_type: str | None = None,
) -> Response:
    """A pushed message: one ticket per MsgId, answered with the number (plain `def`: never blocks the server;
    stale timestamps and reused nonces are refused with 403 before anything is made)."""
    channel = channels.get_channel(session, channel_id=channel_id)
    reply = wechat.handle_message(
        session,
        channel,
        body,
        signature=signature,
        msg_signature=msg_signature,
        timestamp=timestamp,
        nonce=nonce,
        encrypt_type=encrypt_type,
        public_base=site_url(request),
    )
    return Response(reply.body, media_type="application/xml; charset=utf-8")
