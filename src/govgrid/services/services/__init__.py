"""The services module's rules, one sub-module per sub-domain (callers import a sub-module):

- `access`: who sees and does what (built on core.authz.policy).
- `processes`: BPMN 2.0 upload with validation, versions.
- `items`: the catalogue of items and bundles, the guide (办事指南), seeding a county.
- `prefill`: form pre-fill through the exchange's data-pull port (core.ports), masked.
- `materials`: materials the applicant uploads (type and size checked).
- `applications`: submit, lists, detail with timeline, 补正, withdrawal.
- `workflow`: running the process: persist after each step, tasks, timeline, clock, timers.
- `handling`: department work lists, decisions, the supervisor's overdue view.
- `certificates`: signed e-certificates and their verification.
- `measures`: 跑动次数, 即办件率, 承诺时限压缩比, 网上可办率, on-time rate, 好差评.

Functions are keyword-only after the session, flush but never commit, and raise govgrid.core.errors.
"""

from govgrid.services.services import (
    access,
    applications,
    certificates,
    handling,
    items,
    materials,
    measures,
    prefill,
    processes,
    workflow,
)

__all__ = [
    "access",
    "applications",
    "certificates",
    "handling",
    "items",
    "materials",
    "measures",
    "prefill",
    "processes",
    "workflow",
]
