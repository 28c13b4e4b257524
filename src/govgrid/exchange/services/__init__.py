"""The exchange's rules, one sub-module per sub-domain. Callers import a sub-module and call its public
functions:

    from govgrid.exchange.services import gateway, sharing
    page = gateway.read_records(session, actor=principal, code="A01-410527-0001", filters={"gender": "女"})
    req = sharing.submit_request(session, actor=principal, data=RequestCreate(...))

- `access`: who sees what: catalog visibility (`catalog_clause`, `get_resource`), oversight of a territory
  (`oversight_clause`), the provider's own scope (`in_provider_scope`), role sets.
- `catalog`: create and change catalog entries; every change is a version; the search index is kept current.
- `search`: ranked full-text search with filters (`search_resources`), facets, the listings of CKAN and DCAT.
- `uploads`: validated, versioned uploads of a resource's records (`upload_records`, `active_upload`).
- `sharing`: sharing requests: compliance check, routing, `decide`, `withdraw`, the boxes (`list_requests`).
- `deadlines`: working-day check and answer deadlines, `is_overdue`, `overdue_requests`.
- `grants`: grants issued on approval, `active_grant`, `revoke_grant`; registers the grant checker for
  "exchange.resource" with `govgrid.core.authz.policy` (so `policy.find_grant` answers exchange grants).
- `gateway`: every read of records (`read_records`, `verify`, `page_body`): field scope, row filter, masking,
  audit.
- `gateway_access`: how a caller reaches a resource's records (own scope or grant), refusals audited.
- `ratelimit`: per-grant calls per minute (`RATE_LIMITER`).
- `metrics`: the 条×块 flow matrix (`flow_matrix`) and the home page's open work counter (`open_work`).

Functions taking a session are keyword-only after it, `(session, *, actor, ...)` (except
`metrics.open_work`, which has the signature of core's work counters); they flush but never commit, and raise
`govgrid.core.errors`.
"""

from govgrid.exchange.services import (
    access,
    catalog,
    deadlines,
    gateway,
    gateway_access,
    grants,
    metrics,
    ratelimit,
    search,
    sharing,
    uploads,
)

__all__ = [
    "access",
    "catalog",
    "deadlines",
    "gateway",
    "gateway_access",
    "grants",
    "metrics",
    "ratelimit",
    "search",
    "sharing",
    "uploads",
]
