"""Holding accounts: a department's (opened on first use) or an external holder's; balances, held blocks."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.carbon.enums import AccountKind, CreditStatus
from govgrid.carbon.models import CarbonAccount, CreditBlock
from govgrid.carbon.services import access
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError

log = logging.getLogger(__name__)

DEFAULT_DIVISION = "430000"


def _new_account(
    session: Session, *, holder_name: str, kind: AccountKind, department_id: int | None, division_code: str
) -> CarbonAccount:
    """Insert an account and number it CA-<id> (the id is known only after the insert)."""
    acc = CarbonAccount(
        number="tmp-" + uuid.uuid4().hex[:20],
        holder_name=holder_name,
        kind=kind,
        department_id=department_id,
        division_code=division_code,
    )
    session.add(acc)
    session.flush()
    acc.number = f"CA-{acc.id:06d}"
    session.flush()
    log.info("carbon account opened", extra={"account_id": acc.id, "account": acc.number, "kind": kind.value})
    return acc


def ensure_department_account(session: Session, *, actor: Actor, department: Department) -> CarbonAccount:
    """The department's holding account, opened on first use."""
    acc = session.scalar(select(CarbonAccount).where(CarbonAccount.department_id == department.id))
    if acc is None:
        acc = _new_account(
            session,
            holder_name=department.name,
            kind=AccountKind.department,
            department_id=department.id,
            division_code=department.division_code,
        )
        audit.record(
            session,
            actor=actor,
            action="carbon.account_open",
            entity_type="carbon_account",
            entity_id=acc.id,
            division_code=department.division_code,
            department_id=department.id,
            detail={"number": acc.number, "holder": acc.holder_name},
        )
    return acc


def buffer_account_of(session: Session, *, division_code: str) -> CarbonAccount | None:
    """The buffer pool account of the province holding ``division_code`` (None before its first issuance)."""
    province = division_code[:2] + "0000"
    return session.scalar(
        select(CarbonAccount).where(
            CarbonAccount.kind == AccountKind.buffer, CarbonAccount.division_code == province
        )
    )


def ensure_buffer_account(session: Session, *, actor: Actor, division_code: str) -> CarbonAccount:
    """The province's buffer pool account (缓冲池账户), opened on the first issuance there."""
    acc = buffer_account_of(session, division_code=division_code)
    if acc is None:
        province = division_code[:2] + "0000"
        acc = _new_account(
            session,
            holder_name="碳汇登记簿缓冲池 (registry buffer pool)",
            kind=AccountKind.buffer,
            department_id=None,
            division_code=province,
        )
        audit.record(
            session,
            actor=actor,
            action="carbon.account_open",
            entity_type="carbon_account",
            entity_id=acc.id,
            division_code=province,
            detail={"number": acc.number, "kind": AccountKind.buffer.value},
        )
    return acc


def create_account(
    session: Session,
    *,
    actor: Actor,
    holder_name: str,
    department_code: str | None,
    division_code: str = DEFAULT_DIVISION,
) -> CarbonAccount:
    """Open an account: a department's (its operator/admin) or an external holder's (registry
    administrator)."""
    if department_code:
        try:
            dept = departments.get_by_code(session, department_code)
        except NotFoundError:
            raise ValidationFailedError(
                "部门不存在 (unknown department)",
                details=[{"loc": ["department_code"], "msg": f"no department {department_code}"}],
            ) from None
        p = access.principal_of(actor)
        if p is not None:
            policy.require(
                session, p, dept.id, access.PROPONENT_ROLES, what="该部门的账户 (this department's account)"
            )
        if session.scalar(select(CarbonAccount.id).where(CarbonAccount.department_id == dept.id)) is not None:
            raise ConflictError(f"{dept.name} 已有账户 (this department already has an account)")
        return ensure_department_account(session, actor=actor, department=dept)
    path = access.division_path(session, division_code)
    access.require_registry_admin(actor, path)
    acc = _new_account(
        session,
        holder_name=holder_name,
        kind=AccountKind.external,
        department_id=None,
        division_code=division_code,
    )
    audit.record(
        session,
        actor=actor,
        action="carbon.account_open",
        entity_type="carbon_account",
        entity_id=acc.id,
        division_code=division_code,
        detail={"number": acc.number, "holder": holder_name, "kind": AccountKind.external.value},
    )
    return acc


def balances(session: Session, *, account_id: int) -> tuple[int, int]:
    """(active, retired) quantities held by an account."""
    stmt = (
        select(CreditBlock.status, func.coalesce(func.sum(CreditBlock.quantity), 0))
        .where(CreditBlock.account_id == account_id)
        .group_by(CreditBlock.status)
    )
    rows: dict[str, int] = {status: int(total) for status, total in session.execute(stmt)}
    return rows.get(CreditStatus.active, 0), rows.get(CreditStatus.retired, 0)


def list_accounts(session: Session, *, principal: Principal) -> list[tuple[CarbonAccount, int, int]]:
    """Visible accounts with (balance, retired) in t CO2e."""
    accs = list(
        session.scalars(
            select(CarbonAccount).where(access.visible_accounts(principal)).order_by(CarbonAccount.id)
        )
    )
    return [(a, *balances(session, account_id=a.id)) for a in accs]


def require_account(session: Session, *, account_id: int, loc: str) -> CarbonAccount:
    """The account a move names; 422 (on the request field ``loc``) if there is none."""
    acc = session.get(CarbonAccount, account_id)
    if acc is None:
        raise ValidationFailedError(
            "账户不存在 (unknown account)", details=[{"loc": [loc], "msg": f"no account {account_id}"}]
        )
    return acc


def list_blocks(session: Session, *, principal: Principal, account_id: int) -> list[CreditBlock]:
    """Blocks held by one visible account."""
    acc = session.get(CarbonAccount, account_id)
    if acc is None:
        raise NotFoundError(f"账户 {account_id} 不存在 (no account {account_id})")
    visible = select(CarbonAccount.id).where(
        CarbonAccount.id == account_id, access.visible_accounts(principal)
    )
    if session.scalar(visible) is None:
        raise ForbiddenError("无权查看该账户 (this account is outside your scope)")
    return list(
        session.scalars(
            select(CreditBlock).where(CreditBlock.account_id == account_id).order_by(CreditBlock.serial_start)
        )
    )


def get_account(session: Session, *, principal: Principal, account_id: int) -> CarbonAccount:
    """One account the caller may see; 404 if missing, 403 if out of scope."""
    acc = session.get(CarbonAccount, account_id)
    if acc is None:
        raise NotFoundError(f"账户 {account_id} 不存在 (no account {account_id})")
    visible = select(CarbonAccount.id).where(
        CarbonAccount.id == account_id, access.visible_accounts(principal)
    )
    if session.scalar(visible) is None:
        raise ForbiddenError("无权查看该账户 (this account is outside your scope)")
    return acc


def account_id_by_number(session: Session, *, number: str, loc: str) -> int:
    """The id of the account numbered ``number`` (CA-000123); 422 on the field ``loc`` if there is none."""
    found = session.scalar(select(CarbonAccount.id).where(CarbonAccount.number == number.strip().upper()))
    if found is None:
        raise ValidationFailedError(
            f"账户号 {number.strip()[:40]} 不存在 (unknown account number)",
            details=[{"loc": [loc], "msg": "unknown account number"}],
        )
    return found
