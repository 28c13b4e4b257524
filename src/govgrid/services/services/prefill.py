"""Pre-fill (免填单): form fields read from exchange resources through `core.ports.pull_record`, under the
grant of the department that needs the data, audited with the application's purpose; shown masked."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.authz.principal import Principal
from govgrid.core.departments.models import Department
from govgrid.core.errors import AppError
from govgrid.core.privacy import mask_value
from govgrid.services.models import ApplicantProfile, ServiceItem

log = logging.getLogger(__name__)

# How each pre-filled form field is shown to the applicant (core.privacy rules).
FIELD_MASKS = {
    "applicant_id_number": "id_number",
    "applicant_name": "name",
    "phone": "phone",
    "address": "address",
    "household_no": "full",
}


@dataclass
class Prefill:
    """The values read for a form and, per source, what was filled (masked) or why nothing was."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)


def profile(session: Session, *, actor: Principal) -> ApplicantProfile | None:
    """The caller's verified identity (实名认证), if any."""
    if actor.kind != "user":
        return None
    return session.scalar(select(ApplicantProfile).where(ApplicantProfile.user_id == actor.id))


def masked(name: str, value: Any) -> Any:
    """A form value as shown on pages and in lists."""
    rule = FIELD_MASKS.get(name)
    return mask_value(rule, value) if rule and value not in (None, "") else value


def _department(session: Session, line: str, division: str) -> Department | None:
    return session.scalar(
        select(Department).where(Department.line_code == line, Department.division_code == division).limit(1)
    )


def collect(
    session: Session, *, actor: Principal, item: ServiceItem, id_number: str, purpose: str
) -> Prefill:
    """Read the item's pre-fill sources for the applicant's ID number (each pull audited with `purpose`)."""
    out = Prefill(values={"applicant_id_number": id_number} if id_number else {})
    if not id_number:
        return out
    for rule in item.prefill or []:
        dept = _department(session, rule["via_line"], item.division_code)
        source: dict[str, Any] = {
            "resource": rule["resource"],
            "label": rule.get("label", rule["resource"]),
            "via": dept.name if dept else rule["via_line"],
            "fields": {},
        }
        key = {
            item_name: id_number
            for item_name, form_name in rule["key"].items()
            if form_name == "applicant_id_number"
        }
        try:
            pulled = ports.pull_record(
                session,
                actor=actor,
                resource_code=rule["resource"],
                key=key,
                purpose=purpose,
                department_id=dept.id if dept else None,
            )
        except AppError as exc:
            source.update(status="refused", message=exc.message.split(" (")[0])
            out.sources.append(source)
            log.info("prefill source refused", extra={"resource": rule["resource"], "status": exc.status})
            continue
        if pulled is None:
            source.update(status="not_found", message="共享库中没有该身份证号的记录")
            out.sources.append(source)
            continue
        row = pulled.rows[0]
        wanted = {f["name"] for f in item.form_fields or []}
        for form_name, item_name in rule["fields"].items():
            if form_name in wanted and item_name in row and row[item_name] not in (None, ""):
                out.values.setdefault(form_name, row[item_name])
                source["fields"][form_name] = masked(form_name, row[item_name])
        source.update(status="ok", grant_id=pulled.grant_id, masked_fields=pulled.masked_fields, message="")
        out.sources.append(source)
    return out
