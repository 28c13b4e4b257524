"""What every exchange page shares: the router, the UI strings, the Chinese labels of the closed sets, and the
one-line notices shown after a form (a message key and its values in the redirect's query string)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from govgrid.core.pages import register_messages
from govgrid.exchange import enums
from govgrid.exchange.pages.messages import MESSAGES

router = APIRouter(prefix="/exchange", include_in_schema=False)

register_messages(MESSAGES)

NOTICES = frozenset(
    {
        "submitted",
        "withdrawn",
        "approved",
        "refused_msg",
        "accepted",
        "revoked",
        "saved",
        "created",
        "imported",
    }
)

NOTICE_VALUES = ("id", "v", "n", "code")


def labels() -> dict[str, dict[str, str]]:
    """The Chinese names of every closed set a page shows."""
    return {
        "sharing": enums.SHARING_TYPE_ZH,
        "open": enums.OPEN_TYPE_ZH,
        "grade": enums.GRADE_ZH,
        "cycle": enums.UPDATE_CYCLE_ZH,
        "status": enums.REQUEST_STATUS_ZH,
        "grant": enums.GRANT_STATUS_ZH,
        "mask": enums.MASK_RULE_ZH,
        "type": enums.ITEM_TYPE_ZH,
        "mode": enums.ACCESS_MODE_ZH,
    }


def notice_url(path: str, key: str, **values: Any) -> str:
    """A redirect target carrying a notice (`?notice=approved&id=3`), shown once by the page."""
    return f"{path}?{urlencode({'notice': key, **values})}"


def notice(request: Request) -> tuple[str, dict[str, str]] | None:
    """The notice a redirect asked for (only known keys; values are shown as text)."""
    key = request.query_params.get("notice")
    if key not in NOTICES:
        return None
    values = dict.fromkeys(NOTICE_VALUES, "")
    values.update({k: v[:100] for k, v in request.query_params.items() if k in NOTICE_VALUES})
    return key, values
