"""Public services of the institutions module (数据制度): the contribution ledger and its scoring rules, the
security register with reviews, security incidents, and the outcomes other modules report (case closures)."""

from govgrid.institutions.services import access, incidents, ledger, outcomes, register

__all__ = ["access", "incidents", "ledger", "outcomes", "register"]
