"""Market supervision's rules, one file per sub-domain. Callers import a sub-module and call its functions:
``from govgrid.market.services import draws`` then ``draws.commit_draw(session, actor=..., plan_id=...)``.

- ``access``: who may see and do what (built on ``core.authz.policy``);
- ``registry``: the two directories (两库): market entities by credit code with their credit-risk class
  (CSV import all or nothing), inspectors and their declared relations;
- ``draws``: inspection plans (joint plans of several departments), committing and publishing draws, the
public draw documents;
- ``inspections``: recording results (fed into the credit class, optionally a city event), public results;
- ``cases``: escalating and forwarding findings as shared cases with working-day deadlines.

Every function takes the session first and keyword-only arguments after it, flushes and never commits, and
raises ``govgrid.core.errors`` types. Domain code they use: ``enums`` (states and transition tables),
``creditcode`` (GB 32100), ``risk`` (A-D rules), ``drawing`` (the reproducible draw).
"""

from govgrid.market.services import access, cases, draws, inspections, registry

__all__ = ["access", "cases", "draws", "inspections", "registry"]
