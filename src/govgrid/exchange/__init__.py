"""Data catalog and exchange (数据目录与共享交换): the backbone other modules use for another department's
data.

Public service API: the sub-modules of `govgrid.exchange.services` (`gateway.read_records`, `gateway.verify`,
`grants.active_grant`, `search.search_resources`, `sharing.submit_request`, `sharing.decide`,
`grants.revoke_grant`, `metrics.flow_matrix`, ...). Importing the package registers the grant checker for the
kind "exchange.resource" with `govgrid.core.authz.policy`. Other modules reach the exchange only through
`govgrid.core` (the grant checker, `core.ports`, events), never by importing it.
"""

from govgrid.exchange import services as services  # registers the grant checker (services.grants)
