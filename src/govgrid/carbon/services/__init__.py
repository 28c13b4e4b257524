"""The carbon registry's rules, one file per sub-domain. Callers import a sub-module and call its functions:
``from govgrid.carbon.services import projects`` then ``projects.create_project(session, actor=..., ...)``.

- ``access``: who may do what: the registry administrator, covering verifiers, account holders, which projects
  and accounts a principal sees; registers the rule that only the registry administrator grants ``verifier``;
- ``projects``: register a project (boundary inside the division, methodology applicable, crediting period),
  list and read projects, the boundary as GeoJSON;
- ``reports``: monitoring reports (an engine run's figures and input hashes), attached files (checked to be
  what their names say), third-party verification;
- ``accounts``: department and external holding accounts, balances, the blocks an account holds;
- ``credits``: issuance as serial blocks with the double-issuance check, transfers, retirements, a project's
  issuances and blocks;
- ``public``: the public registry (no accounts, holders or people);
- ``alerts``: land-cover checks of a report, protection alerts with tasks for the county's departments, the
  alert inbox.
- ``buffer``, ``corrections`` (缓冲池、补偿分录): the buffer pool and reversals (buffer first), corrections of
  an issued report as compensating entries;
- ``assessments``, ``mrv``, ``exports``: engine runs from the pages with progress, the MRV report for people
  (page and PDF), the public registry as CSV and JSON;
- ``traders``, ``market``, ``marketdata``, ``settlement``, ``benefits``, ``surveillance`` (碳汇交易): who
  trades with which account; listings, orders, matching and bidding; market data; reservations and delivery
  versus payment, fees, retirement of purchased credits; benefit sharing ledgers; surveillance flags;
- ``matching``, ``clearing`` (批量撮合、批量结算): many orders or payment records in one transaction, and the
  clearing run that delivers many paid trades at once (the per-trade confirmation runs it for one trade).

Every function takes the session first and keyword-only arguments after it, flushes and never commits, and
raises ``govgrid.core.errors`` types. Domain code they use: ``govgrid.carbon.enums`` (states and their
transition tables), ``landcover`` (raster comparison), ``spatial`` (geodesic areas, overlaps), ``serials``.
"""

from govgrid.carbon.services import (
    access,
    accounts,
    alerts,
    assessments,
    benefits,
    buffer,
    clearing,
    corrections,
    credits,
    exports,
    market,
    marketdata,
    matching,
    mrv,
    projects,
    public,
    reports,
    settlement,
    surveillance,
    traders,
)

__all__ = [
    "access",
    "accounts",
    "alerts",
    "assessments",
    "benefits",
    "buffer",
    "clearing",
    "corrections",
    "credits",
    "exports",
    "market",
    "marketdata",
    "matching",
    "mrv",
    "projects",
    "public",
    "reports",
    "settlement",
    "surveillance",
    "traders",
]
