"""Users, role assignments and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govgrid.core.db import Base, utcnow
from govgrid.core.departments.models import Department


class User(Base):
    """A person who logs in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    # Demo accounts have printed passwords: they may only log in while the deployment is in demo mode.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(8), default="zh-CN")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The department whose administrator created the account:
    # only administrators covering it may grant it roles.
    home_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), default=None)

    # in the order they were granted, as `service.load_user_principal` reads them: the first is the primary
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="RoleAssignment.id"
    )


class RoleAssignment(Base):
    """A user's role in one department, with how far it reaches."""

    __tablename__ = "role_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    reach: Mapped[str] = mapped_column(String(16), default="department")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")
    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (
        UniqueConstraint("user_id", "department_id", "role", name="uq_role_assignments_user_dept_role"),
    )


class ApiKey(Base):
    """A machine client's key: stored hashed, scoped to one department, revocable."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    role: Mapped[str] = mapped_column(String(32), default="operator")
    reach: Mapped[str] = mapped_column(String(16), default="department")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    # a key stops working at expires_at; rotation sets the old key's expiry to the end of its grace period
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    replaced_by_id: Mapped[int | None] = mapped_column(default=None)

    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)


class UserSession(Base):
    """A login: browser cookie or bearer token. Tokens name it (`sid`); ending it ends the token at once."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the random session id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="cookie")  # cookie | bearer
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    # logout, password, disabled, admin
    ended_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    # where the login came from and when it was last used (the administrator's sessions page)
    address: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(256), default=None)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)


class LoginThrottle(Base):
    """Failed logins per account or client address, and the lockout they earned (shared by every worker)."""

    __tablename__ = "login_throttle"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))  # user | addr
    key: Mapped[str] = mapped_column(String(128))
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(default=None)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (UniqueConstraint("scope", "key", name="uq_login_throttle_scope_key"),)


class InstanceSecret(Base):
    """Secrets generated for one database (the demo's token secret), so no constant in the source works."""

    __tablename__ = "instance_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
