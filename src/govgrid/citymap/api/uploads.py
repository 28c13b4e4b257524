"""Uploaded vector files (GeoJSON, GeoPackage, zipped Shapefile) for the grid and the city parts.

Every upload goes through `govgrid.core.geofiles.read_vector` (content sniffed against an allow-list, GDAL
only for a real GeoPackage or a shapefile unpacked by Python, hardened GDAL settings), with this module's size
limits. Called from plain `def` routes, so the reading and parsing run in the thread pool, never on the event
loop.
"""

from __future__ import annotations

from typing import IO

from govgrid.config import get_settings
from govgrid.core import geofiles
from govgrid.core.errors import PayloadTooLargeError

MB = 1024 * 1024
# A township's grid: at most 999 cells per community, a few dozen communities; polygons may be finely
# digitised.
GRID_LIMITS = geofiles.Limits(unzipped_bytes=64 * MB, features=20_000, vertices=2_000_000, zip_members=10)
# A county's city parts: points (one vertex each), possibly a few hundred thousand lamps, manholes and bins.
PARTS_LIMITS = geofiles.Limits(unzipped_bytes=64 * MB, features=200_000, vertices=200_000, zip_members=10)


def read_bounded(stream: IO[bytes], limit: int) -> bytes:
    """The upload's bytes; 413 as soon as it holds more than `limit`."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(
            f"文件超过 {limit // MB} MB 上限 (the file is larger than {limit // MB} MB)",
            details=[{"loc": ["file"], "msg": f"> {limit} bytes"}],
        )
    return data


def read_upload(filename: str, stream: IO[bytes], *, limits: geofiles.Limits) -> geofiles.VectorData:
    """Features and CRS of an uploaded vector file; 413 past the limits, 422 for anything else."""
    data = read_bounded(stream, get_settings().upload_max_bytes)
    return geofiles.read_vector(filename, data, limits=limits)
