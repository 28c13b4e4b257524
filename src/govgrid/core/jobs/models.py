"""Dead letters (失败任务): jobs whose last attempt failed, kept until an operator retries them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govgrid.core.db import Base, utcnow
from govgrid.core.lifecycle import Lifecycle


class FailureStatus(StrEnum):
    """A dead letter's state: failed (waiting for an operator) or retried (queued again)."""

    FAILED = "failed"
    RETRIED = "retried"


# A retried job that fails again becomes a new dead letter: a retried one never goes back.
FAILURE_LIFECYCLE = Lifecycle(FailureStatus, {FailureStatus.FAILED: {FailureStatus.RETRIED}})


class JobFailure(Base):
    """One job that failed its last attempt, with the error and the number of attempts."""

    __tablename__ = "core_job_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_name: Mapped[str] = mapped_column(String(100), index=True)
    queue_job_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # procrastinate's job id (PG)
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default=FailureStatus.FAILED, index=True)
    failed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    retried_at: Mapped[datetime | None] = mapped_column(default=None)
    retried_by: Mapped[str | None] = mapped_column(String(100), default=None)
