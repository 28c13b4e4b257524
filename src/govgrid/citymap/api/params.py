"""Query parameters and media types shared by the city map's JSON routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

COUNTY = Annotated[str, Query(pattern=r"^\d{6}$")]
DIVISION = Annotated[str, Query(pattern=r"^\d{6,12}$")]
CLASS_CODE = Annotated[str | None, Query(pattern=r"^\d{4}$")]
BBOX = Annotated[str | None, Query(max_length=120)]
GEOJSON = "application/geo+json"
