"""City map pages: the one map (一张图), the inspector's report page, the work lists per role and the case
page with a form for every step of the loop (GB/T 30428). `router` gathers them."""

from __future__ import annotations

from fastapi import APIRouter

from govgrid.citymap.pages import maps, messages, work  # noqa: F401  (messages registers the page strings)

router = APIRouter(include_in_schema=False)
router.include_router(maps.router)
router.include_router(work.router)
