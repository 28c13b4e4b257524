"""Market participants (交易参与人): which account a principal trades with, who may operate an account on the
market, and who supervises it.

- a department's ``operator``/``admin`` trades with the department's own account (``access.require_holder``);
- an enterprise's trader (交易员) is a user bound to the enterprise's external account by the registry
  administrator (``MarketMember``); that binding lets the trader list, buy, pay and retire for that account;
- the settlement agent (结算) and the market supervisor (市场监管) are the registry administrator covering the
  project, or a ``supervisor`` of the ecology-environment line whose territory covers it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from govgrid.carbon.models import CarbonAccount, MarketMember
from govgrid.carbon.services import access, accounts
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.departments import service as departments
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ConflictError, ForbiddenError, ValidationFailedError
from govgrid.core.identity.models import User

log = logging.getLogger(__name__)

SUPERVISOR_ROLES = ("supervisor",)


def member_account(session: Session, *, user_id: int) -> CarbonAccount | None:
    """The account a user is bound to as a trader, if any."""
    return session.scalar(
        select(CarbonAccount)
        .join(MarketMember, MarketMember.account_id == CarbonAccount.id)
        .where(MarketMember.user_id == user_id)
    )


def trader_account(session: Session, *, actor: Principal) -> CarbonAccount:
    """The account the caller trades with: its trader binding, else its department's account."""
    if actor.kind == "user":
        bound = member_account(session, user_id=actor.id)
        if bound is not None:
            return bound
    for a in actor.assignments:
        if a.role in access.PROPONENT_ROLES:
            dept = departments.get(session, a.department_id)
            return accounts.ensure_department_account(session, actor=actor, department=dept)
    raise ForbiddenError(
        "您没有交易账户：请由登记簿管理员开立交易员资格，或以部门经办人身份登录 "
        "(no trading account: ask the registry administrator to bind you to an account)",
        code="no_trading_account",
    )


def operable_by(
    session: Session, *, actors: Iterable[Actor], accounts: Iterable[CarbonAccount]
) -> dict[tuple[str, str | None, str | None], set[int]]:
    """Per actor (by audit identity), the ids of ``accounts`` it may operate on the market: its trader
    binding (one query for all actors), its holder department, or the registry administrator for an
    external account."""
    accs = list(accounts)
    people = {a.audit_identity: a for a in actors}
    users = {p.id for p in map(access.principal_of, people.values()) if p is not None and p.kind == "user"}
    bound: dict[int, set[int]] = {}
    for user_id, account_id in session.execute(
        select(MarketMember.user_id, MarketMember.account_id).where(MarketMember.user_id.in_(users))
    ):
        bound.setdefault(user_id, set()).add(account_id)
    out: dict[tuple[str, str | None, str | None], set[int]] = {}
    for key, actor in people.items():
        p = access.principal_of(actor)
        if p is None:
            out[key] = {a.id for a in accs} if key[0] == "system" else set()
            continue
        mine = bound.get(p.id, set()) if p.kind == "user" else set()
        ids = out[key] = {a.id for a in accs if a.id in mine}
        if not p.is_superuser and not p.assignments:  # no role anywhere: holds no department, is no registry
            continue
        for a in accs:
            if a.id in ids:
                continue
            try:
                access.require_holder(session, actor=p, account=a)
            except ForbiddenError:
                continue
            ids.add(a.id)
    return out


def is_trader(session: Session, *, actor: Actor, account: CarbonAccount) -> bool:
    """True if the actor may operate ``account`` on the market (binding, holder department or registry)."""
    return account.id in operable_by(session, actors=[actor], accounts=[account])[actor.audit_identity]


def require_trader(session: Session, *, actor: Actor, account: CarbonAccount) -> None:
    """Refuse (403) anyone who may not operate ``account`` on the market."""
    if not is_trader(session, actor=actor, account=account):
        log.info("carbon market refused: not a trader of the account", extra={"account_id": account.id})
        raise ForbiddenError(
            "您不是该账户的交易员，不能以该账户交易 (you may not trade for this account)", code="not_trader"
        )


def bind_member(session: Session, *, actor: Actor, username: str, account_id: int) -> MarketMember:
    """The registry administrator binds a user as the trader of an account (开立交易员资格)."""
    acc = accounts.require_account(session, account_id=account_id, loc="account_id")
    access.require_registry_admin(actor, access.division_path(session, acc.division_code))
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise ValidationFailedError(
            "用户不存在 (unknown user)", details=[{"loc": ["username"], "msg": f"no user {username}"}]
        )
    if session.scalar(select(MarketMember.id).where(MarketMember.user_id == user.id)) is not None:
        raise ConflictError("该用户已是交易员 (this user is already bound to an account)")
    member = MarketMember(user_id=user.id, account_id=acc.id, created_by=access.holder_name(actor))
    session.add(member)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.market_member_bind",
        entity_type="carbon_account",
        entity_id=acc.id,
        division_code=acc.division_code,
        department_id=acc.department_id,
        detail={"account": acc.number, "user_id": user.id},
    )
    log.info("carbon market trader bound", extra={"account_id": acc.id, "user_id": user.id})
    return member


def supervisor_paths(principal: Principal | None) -> list[str]:
    """Division paths the principal supervises the market in (registry admin, ecology supervisors)."""
    if principal is None:
        return []
    if principal.is_superuser:
        return ["/"]
    paths = set(access.registry_admin_paths(principal))
    for a in principal.assignments_with(*SUPERVISOR_ROLES):
        if a.line_code == access.REGISTRY_LINE:
            paths.add(a.division_path)
    return sorted(paths)


def supervised(principal: Principal | None) -> ColumnElement[bool]:
    """Predicate over Division.path: the divisions the principal supervises."""
    paths = supervisor_paths(principal)
    if "/" in paths:
        return true()
    if not paths:
        return false()
    return or_(*[Division.path.like(p + "%") for p in paths])


def require_supervisor(principal: Actor, division_path: str) -> None:
    """Refuse (403) anyone who does not supervise the market over ``division_path``."""
    p = access.principal_of(principal)
    if p is None and principal.audit_identity[0] == "system":
        return
    if not any(division_path.startswith(x) for x in supervisor_paths(p)):
        raise ForbiddenError(
            "需要市场监管或结算权限（省级生态环境部门管理员或生态环境监督员）"
            "(requires the market supervisor or settlement agent)",
            code="not_supervisor",
        )
