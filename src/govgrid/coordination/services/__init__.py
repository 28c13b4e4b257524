"""The public surface of coordination (统筹): access, tenants, roll-ups, targets, tasks, assets, compute."""

from govgrid.coordination.services import access, assets, compute, targets, tasks, tenants

__all__ = ["access", "assets", "compute", "targets", "tasks", "tenants"]
