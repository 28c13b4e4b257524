"""A read-only subset of the CKAN Action API over the catalog (/ckan/api/3/action/ and /ckan/api/action/).

Catalog entries are packages (Chinese catalog fields in `extras`), provider departments are organizations,
lines are groups. Anonymous callers see open (无条件开放) entries; an API key in `Authorization` sees what its
department sees. `datastore_search` goes through the exchange gateway (grant, masking, audit).

- `routes`: the action routes and the table of actions.
- `packages`: status_show, package_list/show/search (with facets), resource_show, organizations, groups.
- `datastore`: datastore_search through the gateway.
- `dicts`: catalog entries, departments and lines as CKAN dicts.
- `params`: the action's parameters (query string, JSON or form body) and their checks.
- `errors`: CKAN's error format for every refusal under /ckan.
"""

from govgrid.exchange.ckan.dicts import package_dict
from govgrid.exchange.ckan.errors import SearchQueryError, ckan_error
from govgrid.exchange.ckan.routes import ACTIONS, action, action_v3, api_version, router

__all__ = [
    "ACTIONS",
    "SearchQueryError",
    "action",
    "action_v3",
    "api_version",
    "ckan_error",
    "package_dict",
    "router",
]
