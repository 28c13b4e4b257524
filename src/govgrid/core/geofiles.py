"""Opening uploaded geodata safely: the one place where user bytes reach GDAL (pyogrio, rasterio).

GDAL picks a format from a file's content, not its name, and some formats (VRT, CSV connection strings, the
/vsicurl/ and other network or archive file systems) read other files or fetch URLs. So every upload is
checked here by its magic bytes against an allow-list per kind (GeoJSON, GeoPackage, ESRI Shapefile in a zip
for vectors; GeoTIFF for rasters), written to a private temporary file and opened by its plain path only, with
GDAL configured to refuse network access, directory scans and VRT tricks. The vector reader's GDAL (the
one pyogrio bundles) keeps only the GPKG and ESRI Shapefile drivers: every other driver is deregistered
before the first upload is opened (`restrict_vector_drivers`), so no content can select VRT, CSV, WFS or any
driver that follows paths or URLs; and each open names the upload's own driver (`_pinned`: GDAL must identify
the file with that one driver allowed; a GeoPackage opens through the `GPKG:` prefix). The raster reader pins
GTiff at open. GeoJSON never reaches GDAL.
Errors name the upload, never a server path, and quote file values only as short escaped excerpts."""

from __future__ import annotations

import io
import json
import math
import re
import struct
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

from govgrid.core.errors import PayloadTooLargeError, UnavailableError, ValidationFailedError


class VectorFormat(StrEnum):
    """Vector formats accepted from users."""

    geojson = "GeoJSON"
    gpkg = "GPKG"
    shapefile_zip = "ESRI Shapefile"


VECTOR_FORMATS = (VectorFormat.geojson, VectorFormat.gpkg, VectorFormat.shapefile_zip)

# GDAL settings for untrusted input (both libraries bundle their own GDAL, so both get them).
HARDENED_GDAL: dict[str, str] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no sidecar or directory scans next to the file
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".govgrid-no-network",  # /vsicurl/ finds nothing to fetch
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GDAL_VRT_ENABLE_RAWRASTERBAND": "NO",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "GDAL_PAM_ENABLED": "NO",  # no .aux.xml written or read
    "CPL_DEBUG": "OFF",
}

# The only drivers left in pyogrio's GDAL (a driver allow-list: pyogrio cannot pass one per open).
VECTOR_DRIVERS = frozenset({VectorFormat.gpkg.value, VectorFormat.shapefile_zip.value})
_drivers_lock = threading.Lock()
_drivers_state = {"restricted": False}

_SHAPEFILE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg"}
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_GPKG_APP_IDS = (b"GPKG", b"GP10", b"GP11")


@dataclass(frozen=True)
class Limits:
    """How much an upload may hold once unpacked."""

    unzipped_bytes: int = 200 * 1024 * 1024
    features: int = 200_000
    vertices: int = 5_000_000
    raster_pixels: int = 20_000 * 20_000
    zip_members: int = 20


DEFAULT_LIMITS = Limits()


@dataclass
class VectorData:
    """Features of the first layer as GeoJSON dicts, the layer's CRS, and the format that was read."""

    features: list[dict[str, Any]]
    crs: str | None
    format: VectorFormat
    fields: list[str] = field(default_factory=list)


def excerpt(value: Any, limit: int = 40) -> str:
    """A short, escaped quotation of a value from an uploaded file (never the whole value)."""
    text = str(value)
    shown = text[:limit].encode("unicode_escape").decode("ascii", "replace")
    shown = re.sub(r"[<>&\"']", "?", shown)
    return shown + ("…" if len(text) > limit else "")


def _refuse(filename: str, message: str, detail: str) -> ValidationFailedError:
    return ValidationFailedError(
        message, details=[{"loc": ["file"], "msg": f"{excerpt(filename, 80)}: {detail}"}]
    )


def _clean_message(text: str, tmpdir: str, filename: str) -> str:
    """A library error message without server paths."""
    text = text.replace(tmpdir, "").replace("/upload", excerpt(filename, 60))
    text = re.sub(r"(/[\w.\-]+){2,}", "…", text)
    return text[:200]


def sniff_vector(filename: str, data: bytes) -> VectorFormat:
    """The vector format of an upload, decided by its content (its name must agree); 422 for anything else."""
    name = (filename or "").lower()
    if not data:
        raise _refuse(filename, "文件为空 (empty file)", "empty")
    head = data[:128]
    if head.startswith(_SQLITE_MAGIC):
        if len(data) < 72 or data[68:72] not in _GPKG_APP_IDS:
            raise _refuse(
                filename, "不是 GeoPackage 文件 (an SQLite file that is not a GeoPackage)", "not GPKG"
            )
        fmt = VectorFormat.gpkg
    elif head.startswith(b"PK\x03\x04"):
        fmt = VectorFormat.shapefile_zip
    elif head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        fmt = VectorFormat.geojson
    else:
        raise _refuse(
            filename,
            "文件须为 GeoJSON、GeoPackage 或打包的 Shapefile (.zip) (unsupported file type)",
            "unrecognised content",
        )
    expected = {
        VectorFormat.gpkg: (".gpkg",),
        VectorFormat.shapefile_zip: (".zip",),
        VectorFormat.geojson: (".geojson", ".json"),
    }[fmt]
    if not name.endswith(expected):
        raise _refuse(
            filename,
            f"文件内容是 {fmt.value}，但扩展名不符 (the content is {fmt.value}; the name says otherwise)",
            "name and content disagree",
        )
    return fmt


def read_vector(
    filename: str,
    data: bytes,
    *,
    allowed: tuple[VectorFormat, ...] = VECTOR_FORMATS,
    limits: Limits = DEFAULT_LIMITS,
) -> VectorData:
    """Read the first layer of an uploaded vector file; 422 (or 413 past the limits) on anything else."""
    fmt = sniff_vector(filename, data)
    if fmt not in allowed:
        raise _refuse(
            filename, f"此处不接受 {fmt.value} 文件 ({fmt.value} is not accepted here)", "format not allowed"
        )
    if fmt is VectorFormat.geojson:
        out = _read_geojson(filename, data)
    else:
        out = _read_with_gdal(filename, data, fmt, limits)
    _check_counts(filename, out.features, limits)
    return out


def _read_geojson(filename: str, data: bytes) -> VectorData:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refuse(filename, "不是有效的 GeoJSON (not valid GeoJSON)", excerpt(exc, 120)) from None
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "FeatureCollection"
        or not isinstance(doc.get("features"), list)
    ):
        kind = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise _refuse(filename, "须为 GeoJSON FeatureCollection (must be a FeatureCollection)", excerpt(kind))
    crs_doc = doc.get("crs")
    crs = crs_doc.get("properties", {}).get("name") if isinstance(crs_doc, dict) else None
    features = [f for f in doc["features"] if isinstance(f, dict)]
    names = sorted({k for f in features for k in (f.get("properties") or {})})
    return VectorData(features, crs if isinstance(crs, str) else None, VectorFormat.geojson, names)


def _unpack_shapefile(filename: str, data: bytes, tmp: str, limits: Limits) -> str:
    """Extract the parts of one shapefile from a zip (nothing else), checking sizes; returns the .shp path."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, ValueError) as exc:
        raise _refuse(filename, "不是有效的 zip 文件 (not a valid zip file)", excerpt(exc, 80)) from None
    if len(members) > limits.zip_members:
        raise _refuse(
            filename,
            f"压缩包中文件过多（最多 {limits.zip_members} 个）(too many files in the zip)",
            f"{len(members)} files",
        )
    if sum(m.file_size for m in members) > limits.unzipped_bytes:
        raise PayloadTooLargeError(
            f"解压后超过 {limits.unzipped_bytes // (1024 * 1024)} MB 上限 (the zip unpacks to more "
            f"than {limits.unzipped_bytes // (1024 * 1024)} MB)"
        )
    parts: dict[str, zipfile.ZipInfo] = {}
    for m in members:
        # Member names are "/"-separated in every zip, whatever the server's OS: the last part is the file.
        base = m.filename.rsplit("/", 1)[-1]
        ext = PurePosixPath(base.lower()).suffix
        if base.startswith(".") or "__macosx" in m.filename.lower():
            continue
        if ext not in _SHAPEFILE_PARTS:
            raise _refuse(
                filename,
                "压缩包只能包含一个 Shapefile（.shp .shx .dbf .prj .cpg）"
                "(the zip may hold one shapefile only)",
                f"unexpected member {excerpt(base)}",
            )
        if ext in parts:
            raise _refuse(
                filename,
                "压缩包只能包含一个 Shapefile (the zip holds more than one shapefile)",
                excerpt(base),
            )
        parts[ext] = m
    if ".shp" not in parts or ".shx" not in parts or ".dbf" not in parts:
        raise _refuse(
            filename, "压缩包须包含 .shp、.shx 和 .dbf (the zip must hold .shp, .shx and .dbf)", "incomplete"
        )
    for ext, m in parts.items():
        body = archive.read(m)
        if len(body) != m.file_size:
            raise _refuse(filename, "压缩包已损坏 (the zip is damaged)", excerpt(m.filename))
        if ext == ".shp" and (len(body) < 100 or struct.unpack(">i", body[:4])[0] != 9994):
            raise _refuse(
                filename, "不是有效的 Shapefile (.shp 文件头错误) (not a valid .shp file)", "bad header"
            )
        (Path(tmp) / ("upload" + ext)).write_bytes(body)
    return str(Path(tmp) / "upload.shp")


def _pyogrio_gdal() -> Any:
    """The GDAL library pyogrio is linked with (its bundled copy, or the system's), through ctypes."""
    import ctypes
    import ctypes.util

    import pyogrio

    bundled = sorted((Path(pyogrio.__file__).parent.parent / "pyogrio.libs").glob("libgdal*.so*"))
    name = str(bundled[0]) if bundled else ctypes.util.find_library("gdal")
    if not name:
        return None
    lib = ctypes.CDLL(name)
    lib.GDALGetDriverCount.restype = ctypes.c_int
    lib.GDALGetDriver.restype = ctypes.c_void_p
    lib.GDALGetDriver.argtypes = [ctypes.c_int]
    lib.GDALGetDriverShortName.restype = ctypes.c_char_p
    lib.GDALGetDriverShortName.argtypes = [ctypes.c_void_p]
    lib.GDALDeregisterDriver.argtypes = [ctypes.c_void_p]
    lib.GDALIdentifyDriverEx.restype = ctypes.c_void_p
    lib.GDALIdentifyDriverEx.argtypes = [
        ctypes.c_char_p, ctypes.c_uint, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p)
    ]
    return lib


_GDAL_OF_VECTOR = 0x04


def _pinned(path: str, fmt: VectorFormat) -> str | None:
    """The path to open with the upload's own driver named explicitly: GDAL must identify the file as `fmt`
    with that one driver allowed (`GDALIdentifyDriverEx`), and a GeoPackage is opened through the `GPKG:`
    prefix, which selects that driver alone. None if that driver does not claim the file."""
    import ctypes

    lib = _pyogrio_gdal()
    if lib is None:
        raise UnavailableError("服务器的矢量文件读取组件不可用，请改用 GeoJSON 或联系管理员")
    allowed = (ctypes.c_char_p * 2)(fmt.value.encode(), None)
    handle = lib.GDALIdentifyDriverEx(path.encode(), _GDAL_OF_VECTOR, allowed, None)
    if not handle or lib.GDALGetDriverShortName(handle).decode() != fmt.value:
        return None
    return f"GPKG:{path}" if fmt is VectorFormat.gpkg else path


def restrict_vector_drivers() -> None:
    """Deregister every vector reader driver but GPKG and ESRI Shapefile (once per process); refuse uploads
    (503) if the allow-list cannot be enforced."""
    import pyogrio

    with _drivers_lock:
        if not _drivers_state["restricted"]:
            lib = _pyogrio_gdal()
            if lib is not None:
                handles = [lib.GDALGetDriver(i) for i in range(lib.GDALGetDriverCount())]
                for handle in handles:
                    if lib.GDALGetDriverShortName(handle).decode() not in VECTOR_DRIVERS:
                        lib.GDALDeregisterDriver(handle)
            _drivers_state["restricted"] = True
        left = set(pyogrio.list_drivers())
    if not left <= VECTOR_DRIVERS:
        raise UnavailableError("服务器的矢量文件读取组件未能限定格式，暂不接收 GeoPackage 和 Shapefile 上传；"
                               "请改用 GeoJSON 或联系管理员")


def _read_with_gdal(filename: str, data: bytes, fmt: VectorFormat, limits: Limits) -> VectorData:
    import pyogrio
    import pyogrio.raw
    import shapely
    from shapely.geometry import mapping

    with tempfile.TemporaryDirectory(prefix="gg-up-") as tmp:
        if fmt is VectorFormat.shapefile_zip:
            path = _unpack_shapefile(filename, data, tmp, limits)
        else:
            gpkg = Path(tmp) / "upload.gpkg"
            gpkg.write_bytes(data)
            path = str(gpkg)
        pyogrio.set_gdal_config_options(HARDENED_GDAL)
        restrict_vector_drivers()
        try:
            # the one driver named at every open, beside the process-wide allow-list
            pinned = _pinned(path, fmt)
            info = pyogrio.read_info(pinned) if pinned else {}
            if pinned is None or str(info.get("driver")) != fmt.value:
                raise _refuse(
                    filename, f"文件不是 {fmt.value} (the file is not {fmt.value})", "driver mismatch"
                )
            if int(info.get("features") or 0) > limits.features:
                raise PayloadTooLargeError(
                    f"要素超过 {limits.features} 个上限 (more than {limits.features} features)"
                )
            meta, _fids, geoms, values = pyogrio.raw.read(pinned, max_features=limits.features + 1)
        except (ValidationFailedError, PayloadTooLargeError, UnavailableError):
            raise
        except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError and GDAL errors
            raise _refuse(
                filename, "无法读取文件 (cannot read the file)", _clean_message(str(exc), tmp, filename)
            ) from None
    names = [str(n) for n in meta.get("fields", [])]
    features = []
    for i, wkb in enumerate(geoms):
        geom = shapely.from_wkb(wkb) if wkb is not None else None
        props = {n: _clean(values[j][i]) for j, n in enumerate(names)}
        features.append({"type": "Feature", "geometry": mapping(geom) if geom is not None else None,
                         "properties": props})
    crs = meta.get("crs")
    return VectorData(features, str(crs) if crs else None, fmt, names)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _count_vertices(coords: Any) -> int:
    if isinstance(coords, (list, tuple)):
        if coords and isinstance(coords[0], (int, float)):
            return 1
        return sum(_count_vertices(c) for c in coords)
    return 0


def _check_counts(filename: str, features: list[dict[str, Any]], limits: Limits) -> None:
    if len(features) > limits.features:
        raise PayloadTooLargeError(
            f"要素超过 {limits.features} 个上限 (more than {limits.features} features)"
        )
    vertices = 0
    for f in features:
        geom = f.get("geometry")
        if isinstance(geom, dict):
            vertices += _count_vertices(geom.get("coordinates"))
            for g in geom.get("geometries") or []:
                if isinstance(g, dict):
                    vertices += _count_vertices(g.get("coordinates"))
        if vertices > limits.vertices:
            raise PayloadTooLargeError(
                f"顶点超过 {limits.vertices} 个上限 (more than {limits.vertices} vertices)"
            )


def sniff_raster(filename: str, data: bytes) -> None:
    """Accept GeoTIFF content only (by its magic bytes, whatever the name says)."""
    if not data:
        raise _refuse(filename, "文件为空 (empty file)", "empty")
    if data[:4] not in _TIFF_MAGIC:
        raise _refuse(filename, "栅格须为 GeoTIFF 文件 (rasters must be GeoTIFF)", "not a TIFF")


@contextmanager
def open_raster(filename: str, data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> Iterator[Any]:
    """Open an uploaded GeoTIFF with rasterio (GTiff driver only, hardened GDAL); yields the open dataset."""
    import rasterio

    sniff_raster(filename, data)
    with tempfile.TemporaryDirectory(prefix="gg-up-") as tmp:
        tif = Path(tmp) / "upload.tif"
        tif.write_bytes(data)
        path = str(tif)
        with rasterio.Env(**HARDENED_GDAL):
            try:
                ds = rasterio.open(path, driver="GTiff")
            except Exception as exc:  # RasterioIOError and GDAL errors
                raise _refuse(filename, "无法读取栅格文件 (cannot read the raster)",
                              _clean_message(str(exc), tmp, filename)) from None
            with ds:
                if ds.driver != "GTiff":
                    raise _refuse(
                        filename, "栅格须为 GeoTIFF 文件 (rasters must be GeoTIFF)", "driver mismatch"
                    )
                if ds.width * ds.height > limits.raster_pixels:
                    raise PayloadTooLargeError(
                        f"栅格超过 {limits.raster_pixels} 像元上限 (raster larger than "
                        f"{limits.raster_pixels} pixels)"
                    )
                yield ds
