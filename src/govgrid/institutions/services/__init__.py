"""Public services of the institutions module (数据制度): the contribution ledger and its scoring rules, the
security register with reviews, and security incidents."""

from govgrid.institutions.services import access, incidents, ledger, register

__all__ = ["access", "incidents", "ledger", "register"]
