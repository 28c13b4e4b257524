"""Data catalog and exchange (数据目录与共享交换): the backbone other modules use for another department's data.

Public service API: `govgrid.exchange.service` (read_records, verify, active_grant, search_resources,
submit_request, decide, revoke_grant, flow_matrix). Importing the package registers the grant checker
for the kind "exchange.resource" with `govgrid.core.authz.policy`.
"""

from govgrid.exchange import service as service  # noqa: F401  (registers the grant checker)
