"""Roles and their reach."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a person may do in a department. Modules interpret the operational roles."""

    admin = "admin"
    operator = "operator"
    supervisor = "supervisor"
    viewer = "viewer"
    dispatcher = "dispatcher"
    handler = "handler"
    inspector = "inspector"
    verifier = "verifier"
    approver = "approver"


class Reach(StrEnum):
    """How far a role assignment sees: its department, its line below it, or its whole division."""

    department = "department"
    line = "line"
    division = "division"


ROLE_ZH = {
    Role.admin: "管理员",
    Role.operator: "操作员",
    Role.supervisor: "监督员",
    Role.viewer: "查看者",
    Role.dispatcher: "派遣员",
    Role.handler: "处置人员",
    Role.inspector: "网格员",
    Role.verifier: "核证员",
    Role.approver: "审批人",
}
