"""The authenticated caller: a user or an API key, with role assignments."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Assignment:
    """One role held in one department, with the department's place in the 条×块 matrix."""

    department_id: int
    department_name: str
    line_code: str
    division_code: str
    division_path: str
    role: str
    reach: str


@dataclass(frozen=True)
class Principal:
    """Who is calling: kind is 'user' or 'api_key'."""

    kind: str
    id: int
    name: str
    display_name: str
    assignments: tuple[Assignment, ...] = field(default_factory=tuple)
    is_superuser: bool = False
    locale: str = "zh-CN"

    @property
    def audit_identity(self) -> tuple[str, str | None, str | None]:
        """(actor_type, actor_id, actor_name) for the audit log."""
        return (self.kind, str(self.id), self.name)

    @property
    def department_ids(self) -> set[int]:
        """Departments where this principal holds any role."""
        return {a.department_id for a in self.assignments}

    def roles_in(self, department_id: int) -> set[str]:
        """Roles held directly in one department."""
        return {a.role for a in self.assignments if a.department_id == department_id}

    def has_role(self, *roles: str) -> bool:
        """True if any assignment carries one of the roles."""
        return self.is_superuser or any(a.role in roles for a in self.assignments)

    def assignments_with(self, *roles: str) -> list[Assignment]:
        """Assignments carrying one of the roles (all when no roles are given)."""
        return [a for a in self.assignments if not roles or a.role in roles]

    @property
    def primary(self) -> Assignment | None:
        """The first assignment (used for defaults such as 'my department')."""
        return self.assignments[0] if self.assignments else None
