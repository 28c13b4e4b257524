"""Demo catalog for the three seed counties: population, legal persons, social security, land and wetland,
city parts and more (39 entries across 12 lines: 12 per county, three at city and province level), data behind
some, and sharing requests in every state. Imported only by `govgrid demo` (through the ModuleSpec) and tests.

- `catalogue`: the counties, the entries each county provides, the upper-level entries, the demo users.
- `items`: the data items (信息项) of each kind of entry.
- `people`: synthetic people and table rows (seeded; valid ID check digits; nobody real).
- `requests`: requests in every state, a revoked grant, gateway reads.
- `loader`: `load_demo(session, ctx)`.
"""

from govgrid.exchange.demo.catalogue import COUNTIES, DEMO_USERS
from govgrid.exchange.demo.items import POPULATION_ITEMS
from govgrid.exchange.demo.loader import load_demo

__all__ = ["COUNTIES", "DEMO_USERS", "POPULATION_ITEMS", "load_demo"]
