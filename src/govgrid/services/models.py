"""Tables of the one-stop services (一网通办): items, processes, applications with their workflow state,
timeline, materials, tasks, certificates, ratings and applicant profiles.

Every application row carries both divisions of its case envelope (accepted in, decided in) and the deciding
department; its BPMN state is the SpiffWorkflow JSON written after every step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govgrid.core.db import Base, UTCDateTime, utcnow
from govgrid.core.departments.models import Department


class ProcessDefinition(Base):
    """An uploaded BPMN 2.0 file and one process it defines (a file with two processes gives two rows)."""

    __tablename__ = "services_processes"
    __table_args__ = (UniqueConstraint("process_id", "version", name="uq_services_processes_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(200))
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    lanes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # lane name -> {line, role, label}
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)


class ServiceItem(Base):
    """A service item (政务服务事项) or a life-event bundle (一件事) of one deciding department."""

    __tablename__ = "services_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="item")
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    statutory_days: Mapped[int] = mapped_column(Integer, default=20)  # 法定时限 (working days)
    promised_days: Mapped[int] = mapped_column(Integer, default=5)  # 承诺时限 (working days)
    on_the_spot: Mapped[bool] = mapped_column(Boolean, default=False)  # 即办件
    fee: Mapped[str] = mapped_column(String(200), default="不收费")
    visits: Mapped[int] = mapped_column(Integer, default=0)  # 跑动次数 (0, 1, 2 = more)
    online: Mapped[bool] = mapped_column(Boolean, default=True)  # 网上可办
    mobile: Mapped[bool] = mapped_column(Boolean, default=False)  # 掌上可办
    # [{code, name, required, held: {"resource": code} | {"certificate": type} | None}]
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{resource, key: {item: form field}, fields: {form field: item}, via_line, label}]
    prefill: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    form_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{name, label, required}]
    members: Mapped[list[str]] = mapped_column(JSON, default=list)  # a bundle's item codes
    process_id: Mapped[str] = mapped_column(String(128))
    certificate_type: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)

    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)


class ApplicantProfile(Base):
    """A citizen's verified identity (实名认证) that drives pre-fill (一证通办)."""

    __tablename__ = "services_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    id_number: Mapped[str] = mapped_column(String(18))
    home_division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"))


class Application(Base):
    """One application (办件): the case envelope, the merged form, the clock and the BPMN state."""

    __tablename__ = "services_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("services_items.id"), index=True)
    applicant_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    applicant_name: Mapped[str] = mapped_column(String(100))
    mode: Mapped[str] = mapped_column(String(16), default="online")
    accepted_division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    accepted_division_path: Mapped[str] = mapped_column(String(255), index=True)
    counter_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    decided_division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    decided_division_path: Mapped[str] = mapped_column(String(255), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    form: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prefilled: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # what came from where
    visits: Mapped[int] = mapped_column(Integer, default=0)
    online: Mapped[bool] = mapped_column(Boolean, default=True)
    process_definition_id: Mapped[int] = mapped_column(ForeignKey("services_processes.id"))
    workflow_state: Mapped[str] = mapped_column(Text)  # SpiffWorkflow JSON, written after every step
    steps: Mapped[int] = mapped_column(Integer, default=0)
    waiting_timer: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), index=True)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))
    remaining_days: Mapped[int | None] = mapped_column(Integer)  # working days left when the clock paused
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    item: Mapped[ServiceItem] = relationship(lazy="joined", innerjoin=True)


class TaskRecord(Base):
    """A user task of an application's process, as the department work lists see it."""

    __tablename__ = "services_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("services_applications.id"), index=True)
    task_uuid: Mapped[str] = mapped_column(String(40), index=True)
    spec: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    line_code: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    open: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    decision: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    done_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))

    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)


class TimelineEvent(Base):
    """One entry of an application's status timeline (both divisions of the envelope see the same list)."""

    __tablename__ = "services_timeline"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("services_applications.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    division_code: Mapped[str | None] = mapped_column(String(32))


class Material(Base):
    """A material uploaded for an application (type and size checked); the bytes are in core.storage."""

    __tablename__ = "services_materials"
    __table_args__ = (Index("uq_services_materials_storage_key", "storage_key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("services_applications.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # the bytes, in core.storage (namespace services-materials); always set by materials.stored (nullable in
    # the schema: migration services_0002 adds it without rebuilding the table)
    storage_key: Mapped[str] = mapped_column(String(96), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)


class Certificate(Base):
    """An e-certificate (电子证照): a signed JSON document issued when an application is completed."""

    __tablename__ = "services_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("services_applications.id"), index=True)
    cert_type: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(String(128))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)


class Rating(Base):
    """好差评: the applicant's rating of a finished application, with the follow-up of a bad one."""

    __tablename__ = "services_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("services_applications.id"), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    score: Mapped[str] = mapped_column(String(1))
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    follow_up: Mapped[str | None] = mapped_column(Text)
    followed_up_by: Mapped[str | None] = mapped_column(String(64))
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))
