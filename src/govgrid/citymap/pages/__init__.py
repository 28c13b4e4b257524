"""City map pages: the one map (一张图), the inspector's report page, the work lists per role and the case
page with a form for every step of the loop (GB/T 30428), and the county's class settings (本县类别设置).
`router` gathers them."""

from __future__ import annotations

from fastapi import APIRouter

from govgrid.citymap.pages import (
    classes,
    maps,
    messages,  # noqa: F401  (registers the page strings)
    work,
)

router = APIRouter(include_in_schema=False)
router.include_router(maps.router)
router.include_router(work.router)
router.include_router(classes.router)
