"""The live map's feed: server-sent events of unit moves and case changes in the caller's scope."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from govgrid.citymap.api.params import COUNTY
from govgrid.citymap.services import feed
from govgrid.core.db import utcnow
from govgrid.core.deps import CurrentPrincipal, SessionDep

router = APIRouter()


@router.get("/live")
def live_feed(
    request: Request,
    county_code: COUNTY,
    session: SessionDep,
    principal: CurrentPrincipal,
    max_events: Annotated[int | None, Query(ge=1, le=100000)] = None,
    heartbeat_s: Annotated[float, Query(ge=0.05, le=60)] = 15.0,
) -> StreamingResponse:
    """Server-sent events: a snapshot of the units in scope, then each unit move and case change in scope
    (403 for a county outside the caller's scope). The scope and the snapshot are read here, in the thread pool;
    the stream itself only awaits its queue and checks each event against the scope in memory."""  # noqa: E501  (the published OpenAPI text)
    scope, units = feed.open_feed(session, principal=principal, county_code=county_code)

    async def stream() -> AsyncIterator[str]:
        listener = feed.broadcaster.add(scope.county)  # registered once streaming starts: never leaked
        sent = 0
        try:
            yield feed.sse("snapshot", {"units": units, "at": utcnow().isoformat()})
            sent += 1
            while max_events is None or sent < max_events:
                if await request.is_disconnected():
                    break
                try:
                    payload = await asyncio.wait_for(listener.queue.get(), timeout=heartbeat_s)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if not scope.allows(payload):  # the snapshot's rule, checked in memory
                    continue
                yield feed.sse(payload.get("channel", "message"), feed.public(payload))
                sent += 1
        finally:
            feed.broadcaster.remove(listener)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
