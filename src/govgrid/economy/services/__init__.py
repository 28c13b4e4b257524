"""Economic monitoring's rules, one file per sub-domain. Callers import a sub-module and call its functions:
``from govgrid.economy.services import series`` then ``series.upload(session, actor=..., ...)``.

- ``access``: who sees which figures and alerts, who uploads, scans and edits the registry (built on
  core.authz.policy);
- ``registry``: the indicator registry (指标目录) with its built-in catalogue;
- ``series``: imports (uploads, exchange pulls) as vintages, all or nothing; current series; vintages;
- ``feeds``: scheduled pulls from the data exchange through the core data port (``core.ports.pull_rows``);
- ``monitoring``: anomaly scan and cross-checks of a division, alerts routed as tasks with working-day
  deadlines;
- ``alerts``: the alert inbox and the responsible department's answer;
- ``views``: the dashboard, the indicator detail (STL, band, nowcast) and peer comparison.

Every function takes the session first and keyword-only arguments after it, flushes and never commits,
and raises ``govgrid.core.errors`` types. Pure code they use: ``govgrid.economy.analysis`` (growth, STL,
scan, nowcast), ``tables`` (reading uploads), ``catalog`` (built-in indicators and cross-check pairs),
``enums``.
"""

from govgrid.economy.services import access, alerts, feeds, monitoring, registry, series, views

__all__ = ["access", "alerts", "feeds", "monitoring", "registry", "series", "views"]
