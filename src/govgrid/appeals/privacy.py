"""What the public and staff who may not see the reporter are shown of a ticket: no name, phone, e-mail or
exact address; numbers masked by the one core policy (core.privacy); points coarsened. Pure functions of a
ticket."""

from __future__ import annotations

from typing import Any

from govgrid.appeals.models import Ticket
from govgrid.core import privacy

COARSE_DECIMALS = 2  # about 1 km: enough for a map of hot spots, not enough to find a house
TITLE_LIMIT = 60


def _known(ticket: Ticket) -> tuple[str | None, ...]:
    """The reporter's own values, blanked wherever they appear in a text."""
    return (ticket.reporter_name, ticket.reporter_phone, ticket.reporter_email, ticket.address)


def public_text(ticket: Ticket, text: str | None) -> str | None:
    """Text with phone and ID numbers, e-mail addresses and the reporter's own name and address blanked out
    (the core policy: core.privacy.scrub_text)."""
    return privacy.scrub_text(text, public=True, known=_known(ticket))


def staff_text(ticket: Ticket, text: str | None) -> str | None:
    """Text for staff who may not see the reporter: numbers partly masked (138****8000), e-mail addresses and
    the reporter's own name and address blanked out."""
    return privacy.scrub_text(text, public=False, known=_known(ticket))


def first_line(text: str | None) -> str:
    """The first non-empty line of a text (what a title is made of)."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def make_title(text: str) -> str:
    """A stored title: the first line, shortened (views re-derive masked titles from the full line)."""
    return privacy.shorten(first_line(text), TITLE_LIMIT) or ""


def _title_source(ticket: Ticket) -> str:
    """The whole line a title was cut from, so masking sees every number before the title is shortened."""
    line = first_line(ticket.description)
    title = ticket.title or ""
    stem = title[:-1] if title.endswith("…") else title
    return line if line.startswith(stem) else title


def public_title(ticket: Ticket) -> str:
    """The title on public pages: scrubbed first, then shortened (a cut number can no longer slip through)."""
    return privacy.shorten(public_text(ticket, _title_source(ticket)), TITLE_LIMIT) or ""


def staff_title(ticket: Ticket) -> str:
    """The title in work lists and for staff who may not see the reporter: scrubbed, then shortened."""
    return privacy.shorten(staff_text(ticket, _title_source(ticket)), TITLE_LIMIT) or ""


def coarse(value: float | None) -> float | None:
    """A coordinate rounded to the public grid."""
    return None if value is None else round(value, COARSE_DECIMALS)


def public_view(ticket: Ticket, place: str, department_name: str | None) -> dict[str, Any]:
    """The public face of a ticket (tracking page, Open311 GET, public map)."""
    return {
        "number": ticket.number,
        "state": ticket.state,
        "category_code": ticket.category_code,
        "title": public_title(ticket),
        "description": public_text(ticket, ticket.description),
        "place": place,
        "lon": coarse(ticket.lon),
        "lat": coarse(ticket.lat),
        "department": department_name,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "resolve_due": ticket.resolve_due,
        "answer": public_text(ticket, ticket.answer),
        "rating": ticket.rating,
    }
