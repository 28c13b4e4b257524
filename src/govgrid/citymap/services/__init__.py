"""The city map's rules, one file per sub-domain. Adapters (api/, pages.py, ogcapi.py, port.py, cli.py,
demo.py, jobs.py) import a sub-module and call its public functions, e.g. `from govgrid.citymap.services
import cases` then `cases.file_case(session, principal=..., case_id=...)`.

| file | what |
|---|---|
| `access.py` | who sees and acts where: the city map's rules over `core.authz.policy` |
| `common.py` | shared helpers: actor names, county codes, instants from queries |
| `places.py` | where a point lies: the grid cell (a cached index per county) and the division |
| `features.py` | GeoJSON features from imports: CRS check, property values |
| `grid.py` | unit grid cells: generate, import, validate, delete |
| `parts.py` | city parts: import |
| `photos.py` | report and feedback photos |
| `ingest.py` | 信息收集 from inspectors, cameras, sensors and other modules (the port): dedupe, new cases |
| `classes.py` | classes per county (本县类别设置): own deadline and line over the GB/T 30428 standard |
| `cases.py` | the loop: file, reject, (re-)dispatch, sign for, arrive, feedback, return, verify, evaluate |
| `worklists.py` | work lists per role with counts, the steps a caller may take now, the dispatch choices |
| `units.py` | field units: register, positions and track, status |
| `dispatch.py` | nearest qualified units for a case, the batch optimiser |
| `cameras.py` | cameras and the cases in their view |
| `indicators.py` | GB/T 30428.4-style evaluation (结案率, 按期结案率, 返工率, ...) |
| `layers.py` | the map's GeoJSON layers |
| `live.py` | what the live map is told after commit (unit and case events) |
| `feed.py` | the live feed: broadcaster, per-subscriber scope, SSE frames |
| `simulation.py` | the demo simulator's ticks (units move, arrive, report back; cameras report) |
| `ogc.py` | OGC API - Features collections over the tables, and `OgcError` |

Every public function takes the session first and keyword-only arguments, flushes and never commits, and
raises `govgrid.core.errors` types.
"""
