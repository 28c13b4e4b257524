"""City map JSON API under /api/v1/citymap: one router per sub-domain, mounted in the order of the docs.

Routes stay thin (parse, call a public service function, return a schema). Every route is a plain `def` (run
in the thread pool), uploads and the live feed included: the feed reads its scope and snapshot in the route
and returns a stream that only awaits its queue.

| file | routes |
|---|---|
| `grid.py` | `/classes`, `/counties/{code}/classes...`, `/grid/...`, `/parts/...` |
| `reports.py` | `/photos/...`, `/reports`, `/ingest`, `/ingest/batch` |
| `cases.py` | `/cases...` (the loop), `/cases/{id}/proposals`, `/dispatch/batch` |
| `units.py` | `/units...` |
| `cameras.py` | `/cameras...` |
| `maps.py` | `/indicators`, `/map/...` |
| `live.py` | `/live` (server-sent events) |
| `uploads.py` | reading uploaded vector files with the module's limits |
| `params.py` | shared query parameters |
"""

from __future__ import annotations

from fastapi import APIRouter

from govgrid.citymap.api import cameras, cases, grid, live, maps, reports, units

router = APIRouter(prefix="/citymap", tags=["citymap"])
for sub in (grid, reports, cases, units, cameras, maps, live):
    router.include_router(sub.router)

__all__ = ["router"]
