"""Appeals tables: tickets, their history, WeChat channels, classifier models, configuration, daily
counters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from govgrid.core.db import Base, utcnow


class Ticket(Base):
    """One citizen concern (诉求工单), whatever the channel it came through."""

    __tablename__ = "appeals_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(
        String(32), unique=True
    )  # public ticket number, e.g. 20261127-000042
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)  # the reporter's secret for follow-up
    channel: Mapped[str] = mapped_column(String(16), index=True)  # web, mobile, hotline, wechat, open311
    channel_ref: Mapped[str | None] = mapped_column(String(128))  # MsgId (per WeChat channel), Open311 token
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(String(1000))
    category_code: Mapped[str] = mapped_column(String(32), index=True)
    category_source: Mapped[str] = mapped_column(String(16))  # reporter, rules, model, dispatcher
    category_confidence: Mapped[float | None] = mapped_column(Float)
    category_confirmed: Mapped[bool] = mapped_column(
        Boolean, default=False
    )  # a dispatcher confirmed it: a label
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))  # personal: may be a home address
    division_code: Mapped[str] = mapped_column(
        ForeignKey("divisions.code"), index=True
    )  # deepest located division
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    location_source: Mapped[str] = mapped_column(String(16))  # point, address, channel
    proposed_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id"), index=True
    )  # responsible unit
    state: Mapped[str] = mapped_column(String(16), index=True)
    # Personal data of the reporter: shown only to the handling unit and supervisors.
    reporter_name: Mapped[str | None] = mapped_column(String(100))
    reporter_phone: Mapped[str | None] = mapped_column(String(32))
    reporter_email: Mapped[str | None] = mapped_column(String(200))
    reporter_openid: Mapped[str | None] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column()
    sign_due: Mapped[datetime | None] = mapped_column()
    contact_due: Mapped[datetime | None] = mapped_column()
    resolve_due: Mapped[datetime | None] = mapped_column()
    signed_at: Mapped[datetime | None] = mapped_column()
    contacted_at: Mapped[datetime | None] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    answer: Mapped[str | None] = mapped_column(Text)
    # Escalation: 0 none, 1 the unit's superior, 2 the discipline-inspection supervisor queue (下沉监督).
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, index=True)
    escalated_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    escalated_at: Mapped[datetime | None] = mapped_column()
    escalation_reason: Mapped[str | None] = mapped_column(String(32))
    next_escalation_at: Mapped[datetime | None] = mapped_column(index=True)
    summoned: Mapped[bool] = mapped_column(Boolean, default=False)
    accountability: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[str | None] = mapped_column(String(16))  # satisfied, basic, unsatisfied
    rating_resolved: Mapped[bool | None] = mapped_column(Boolean)
    rating_source: Mapped[str | None] = mapped_column(String(16))  # citizen, survey
    rated_at: Mapped[datetime | None] = mapped_column()
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("appeals_tickets.id"), index=True)
    city_case_code: Mapped[str | None] = mapped_column(String(64))
    city_case_result: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("channel", "channel_ref", name="uq_appeals_tickets_channel_ref"),
        Index("ix_appeals_tickets_state_sign_due", "state", "sign_due"),
    )


class TicketEvent(Base):
    """One step in a ticket's history: every state change, reassignment, comment and escalation is kept."""

    __tablename__ = "appeals_ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("appeals_tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    note: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=True)  # shown on the resident's tracking page


class WeChatChannel(Base):
    """A WeChat Official Account whose server callback lands at /channels/wechat/{id}."""

    __tablename__ = "appeals_wechat_channels"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token: Mapped[str] = mapped_column(String(255))  # sealed at rest (core.sealing)
    encoding_aes_key: Mapped[str] = mapped_column(String(255))  # sealed at rest (core.sealing)
    app_id: Mapped[str] = mapped_column(String(64))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"))  # where concerns default to
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClassifierModel(Base):
    """A trained text classifier (jieba + TF-IDF + logistic regression) fitted on this deployment."""

    __tablename__ = "appeals_classifier_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)


class AppealsConfig(Base):
    """Deployment settings kept as data: 三率 formulas and weights, deadlines, default jurisdiction."""

    __tablename__ = "appeals_config"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


METRICS = (
    "created",
    "dispatched",
    "overridden",
    "signed",
    "signed_on_time",
    "contacted",
    "contacted_on_time",
    "responded_on_time",
    "answered",
    "answered_on_time",
    "closed",
    "reopened",
    "escalated_superior",
    "escalated_supervisor",
    "rated",
    "rated_satisfied",
    "rated_basic",
    "rated_unsatisfied",
    "rated_resolved",
    "merged",
)


class _MetricColumns:
    """One integer column per metric, in the order of METRICS ("wide" counters: a year of a county is a few
    thousand rows, summed in one scan)."""

    created: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    dispatched: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    overridden: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    signed: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    signed_on_time: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    contacted: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    contacted_on_time: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    responded_on_time: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    answered: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    answered_on_time: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    closed: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    reopened: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    escalated_superior: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    escalated_supervisor: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    rated: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    rated_satisfied: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    rated_basic: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    rated_unsatisfied: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    rated_resolved: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    merged: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class DailyStat(_MetricColumns, Base):
    """Pre-aggregated counters per day, division (the ticket's deepest), department and category."""

    __tablename__ = "appeals_daily_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    month: Mapped[str] = mapped_column(String(7))  # '2026-11'
    division_code: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: not yet dispatched
    category_code: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        UniqueConstraint(
            "day", "division_code", "department_id", "category_code", name="uq_appeals_daily_counts_key"
        ),
    )


class MonthlyStat(_MetricColumns, Base):
    """The same counters rolled up per month, so year-long figures over a million tickets stay fast."""

    __tablename__ = "appeals_monthly_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    division_code: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[int] = mapped_column(Integer, default=0)
    category_code: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        UniqueConstraint(
            "month", "division_code", "department_id", "category_code", name="uq_appeals_monthly_counts_key"
        ),
    )
