"""Who may do what in the carbon registry: the registry administrator, verifiers, holders, visibility.

- the proponent department's ``operator``/``admin`` (or anyone holding those roles above it) creates projects
  and submits monitoring reports;
- a ``verifier`` of the ecology-environment line whose territory (reach ``line`` or ``division``) covers the
  project's division signs reports off; a verifier holding any role in the proponent department is refused (no
  self-verification); only the registry administrator grants the role (the grant rule registered below);
- the registry administrator issues credits: ``admin`` of a provincial ``ecology_environment`` department
  whose territory covers the project, or the platform superuser;
- a department account is operated by that department's ``operator``/``admin``; an external holder's account
  (an enterprise) is operated by the registry administrator on the holder's written instruction.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true
from sqlalchemy.orm import Session

from govgrid.carbon.models import CarbonAccount, CarbonProject
from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Assignment, Principal
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ForbiddenError, NotFoundError
from govgrid.core.identity.service import register_grant_rule

log = logging.getLogger(__name__)

PROPONENT_ROLES = ("operator", "admin")
REGISTRY_LINE = "ecology_environment"
# Roles that oversee the projects of a territory (besides the proponent's own scope, see visible_projects).
OVERSIGHT_ROLES = ("verifier", "admin", "supervisor")
ACCOUNT_VIEW_ROLES = (*PROPONENT_ROLES, "viewer", "supervisor")


def principal_of(actor: Actor) -> Principal | None:
    """The actor as a principal, or None for a system or public actor (a job, the demo loader)."""
    return actor if isinstance(actor, Principal) else None


def holder_name(actor: Actor) -> str:
    """The name an actor leaves on the rows it writes (created_by, issued_by, actor_name)."""
    return actor.audit_identity[2] or "system"


def division_path(session: Session, code: str) -> str:
    """The materialised path of a division; 404 if there is no such division."""
    path = session.scalar(select(Division.path).where(Division.code == code))
    if path is None:
        raise NotFoundError(f"行政区划 {code} 不存在 (no division {code})")
    return path


def registry_admin_paths(principal: Principal) -> list[str]:
    """Division paths where the principal is registry administrator (provincial ecology-environment admin)."""
    return [
        a.division_path
        for a in principal.assignments
        if a.role == "admin"
        and a.line_code == REGISTRY_LINE
        and a.reach in ("line", "division")
        and a.division_path.count("/") == 3  # '/000000/430000/': a province
    ]


def is_registry_admin(actor: Actor, division_path: str | None = None) -> bool:
    """True for the platform superuser, a system job, or a provincial ecology-environment admin covering the
    path."""
    p = principal_of(actor)
    if p is None:
        return actor.audit_identity[0] == "system"
    if p.is_superuser:
        return True
    return any(division_path is None or division_path.startswith(path) for path in registry_admin_paths(p))


def require_registry_admin(actor: Actor, division_path: str | None = None) -> None:
    """Refuse (403) anyone but the registry administrator covering ``division_path``."""
    if not is_registry_admin(actor, division_path):
        raise ForbiddenError(
            "需要登记簿管理员（省级生态环境部门 admin）权限 (requires the registry administrator: "
            "admin of the provincial ecology_environment department covering the project)"
        )


def covering_verifiers(principal: Principal, division_path: str) -> list[Assignment]:
    """The principal's registry-line verifier assignments whose territory covers ``division_path``."""
    # "verifier" is also a city-management role (case verification): only the registry line's verifiers count
    return [
        a
        for a in principal.assignments_with("verifier")
        if a.line_code == REGISTRY_LINE
        and a.reach in ("line", "division")
        and division_path.startswith(a.division_path)
    ]


def _registry_line_principal(principal: Principal) -> Principal:
    """The principal with only its assignments in the registry's line (ecology_environment)."""
    return replace(
        principal, assignments=tuple(a for a in principal.assignments if a.line_code == REGISTRY_LINE)
    )


def visible_projects(principal: Principal | None) -> ColumnElement[bool]:
    """Predicate over CarbonProject joined to Division: the proponent's scope or an overseeing territory.

    A territory is overseen by a verifier/admin/supervisor with reach ``division`` (any line: the core's
    rule), or with reach ``line`` in the registry's own line (ecology_environment: verifiers and the registry
    administrator). Line reach in any other line covers that line's departments only (``policy.scope``): a
    city health admin or a provincial tax supervisor sees no carbon project; a forestry line above the
    proponent sees its own line's projects through the scope."""
    if principal is None:
        return false()
    return or_(
        policy.scope(CarbonProject.department_id, principal),
        policy.division_clause(principal, Division.path, OVERSIGHT_ROLES),
        policy.division_clause(
            _registry_line_principal(principal), Division.path, OVERSIGHT_ROLES, reaches=("division", "line")
        ),
    )


def project_query() -> Select[Any]:
    """SELECT of projects joined to their division (for ``visible_projects``)."""
    return select(CarbonProject).join(Division, Division.code == CarbonProject.division_code)


def visible_accounts(principal: Principal) -> ColumnElement[bool]:
    """Accounts the caller may see: its departments' accounts; external ones for the registry
    administrator."""
    if principal.is_superuser:
        return true()
    own = policy.scope(CarbonAccount.department_id, principal, ACCOUNT_VIEW_ROLES)
    parts: list[ColumnElement[bool]] = [and_(CarbonAccount.department_id.is_not(None), own)]
    paths = registry_admin_paths(principal)
    if paths:
        territory = select(Division.code).where(or_(*[Division.path.like(p + "%") for p in paths]))
        parts.append(CarbonAccount.division_code.in_(territory))
    return or_(*parts)


def require_holder(session: Session, *, actor: Actor, account: CarbonAccount) -> None:
    """Refuse (403) anyone who may not move the account's credits: its department, or for an external holder
    the registry administrator."""
    p = principal_of(actor)
    if p is None:
        return
    if account.department_id is not None:
        if policy.can_act(session, p, account.department_id, PROPONENT_ROLES):
            return
        log.info("carbon move refused: not the holder", extra={"account_id": account.id})
        raise ForbiddenError(
            "只有账户持有部门可以操作该账户 (only the holding department may move these credits)"
        )
    if not is_registry_admin(p, division_path(session, account.division_code)):
        log.info("carbon move refused: external account", extra={"account_id": account.id})
        raise ForbiddenError(
            "外部持有人账户由登记簿管理员按持有人指令操作 (external accounts are operated by the registry "
            "administrator on the holder's instruction)"
        )


def project_actions(session: Session, principal: Principal, project: CarbonProject) -> dict[str, bool]:
    """Which registry forms the principal sees on a project: proponent, verifier, registry administrator."""
    path = division_path(session, project.division_code)
    return {
        "propose": policy.can_act(session, principal, project.department_id, PROPONENT_ROLES),
        "verify": bool(covering_verifiers(principal, path))
        and project.department_id not in principal.department_ids,
        "admin": is_registry_admin(principal, path),
    }


def may_grant_verifier(principal: Principal, department: Department) -> bool:
    """Only the registry administrator covering the department makes verifiers (the core asks before any
    grant)."""
    return is_registry_admin(principal, department.division.path)


# Registered when the services load (module.py imports the API, which imports them; so do the CLI and jobs).
register_grant_rule("verifier", may_grant_verifier)
