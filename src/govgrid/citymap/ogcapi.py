"""OGC API - Features Part 1 (Core, GeoJSON, OpenAPI 3.0) at /ogcapi/, plus queryables (Part 3) as property
filters. An own implementation inside the FastAPI app (pygeoapi's configuration is process-wide), tested with
OWSLib's `Features` client.

Routes raise `ogc.OgcError` (an `AppError`); the renderer registered for /ogcapi writes every error, ours and
the core's, in OGC's `{code, description}` format."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from govgrid.citymap.services import ogc
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.deps import OptionalPrincipal, SessionDep
from govgrid.core.http import register_error_renderer, site_url

router = APIRouter(prefix="/ogcapi", include_in_schema=False)

GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
DEFAULT_LIMIT = 10
MAX_LIMIT = 10000
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]
ITEM_PARAMS = {"bbox", "limit", "offset", "datetime", "f"}


def _render(
    request: Request, status: int, code: str, message: str, details: list[dict[str, Any]]
) -> Response:
    ogc_code = {400: "InvalidParameterValue", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}.get(
        status, code
    )
    return JSONResponse(
        {"code": ogc_code, "description": message},
        status_code=status,
        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None,
    )


register_error_renderer("/ogcapi", _render)


def _base(request: Request) -> str:
    return site_url(request) + "/ogcapi"


def _json(body: Any, media: str = "application/json", status: int = 200) -> JSONResponse:
    return JSONResponse(body, media_type=media, status_code=status)


@router.get("")
@router.get("/")
def landing(request: Request) -> JSONResponse:
    """Landing page."""
    base = _base(request)
    return _json(
        {
            "title": "govgrid 城市管理一张图 OGC API - Features",
            "description": "GB/T 30428 unit grid cells, cases, city parts, field units and cameras",
            "links": [
                {"href": f"{base}/", "rel": "self", "type": "application/json", "title": "this document"},
                {
                    "href": f"{base}/api",
                    "rel": "service-desc",
                    "type": OPENAPI,
                    "title": "OpenAPI 3.0 definition",
                },
                {
                    "href": f"{base}/conformance",
                    "rel": "conformance",
                    "type": "application/json",
                    "title": "conformance",
                },
                {
                    "href": f"{base}/collections",
                    "rel": "data",
                    "type": "application/json",
                    "title": "collections",
                },
            ],
        }
    )


@router.get("/conformance")
def conformance() -> JSONResponse:
    """Conformance classes."""
    return _json({"conformsTo": CONFORMANCE})


def _collection_doc(
    request: Request, session: Session, coll: ogc.Collection, principal: Principal | None
) -> dict[str, Any]:
    base = _base(request)
    return {
        "id": coll.id,
        "title": coll.title,
        "description": coll.description,
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "extent": ogc.extent(session, coll, principal),
        "links": [
            {"href": f"{base}/collections/{coll.id}", "rel": "self", "type": "application/json"},
            {"href": f"{base}/collections/{coll.id}/items", "rel": "items", "type": GEOJSON},
            {
                "href": f"{base}/collections/{coll.id}/queryables",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
            },
        ],
    }


@router.get("/collections")
def collections(request: Request, session: SessionDep, principal: OptionalPrincipal) -> JSONResponse:
    """The collections the caller can read (anonymous: the public ones); a client such as GDAL's OAPIF driver
    opens every listed collection, so none is listed whose items would answer 401."""
    base = _base(request)
    docs = [_collection_doc(request, session, c, principal) for c in ogc.readable_collections(principal)]
    return _json(
        {
            "collections": docs,
            "links": [{"href": f"{base}/collections", "rel": "self", "type": "application/json"}],
        }
    )


@router.get("/collections/{collection_id}")
def collection(
    collection_id: str, request: Request, session: SessionDep, principal: OptionalPrincipal
) -> JSONResponse:
    """One collection."""
    coll = ogc.get_collection(collection_id, principal)
    return _json(_collection_doc(request, session, coll, principal))


@router.get("/collections/{collection_id}/queryables")
def queryables(collection_id: str, request: Request, principal: OptionalPrincipal) -> JSONResponse:
    """The properties one may filter items on."""
    coll = ogc.get_collection(collection_id, principal)
    return _json(ogc.queryables(coll, _base(request)), media="application/schema+json")


def _bbox(raw: str) -> tuple[float, float, float, float]:
    try:
        vals = [float(v) for v in raw.split(",")]
    except ValueError:
        raise ogc.OgcError(
            400, "InvalidParameterValue", "bbox 须为四个数 (bbox must be minx,miny,maxx,maxy)"
        ) from None
    if len(vals) == 6:
        vals = [vals[0], vals[1], vals[3], vals[4]]
    if (
        len(vals) != 4
        or vals[0] > vals[2]
        or vals[1] > vals[3]
        or not (vals[0] >= -180 and vals[2] <= 180 and vals[1] >= -90 and vals[3] <= 90)
    ):
        raise ogc.OgcError(
            400,
            "InvalidParameterValue",
            "bbox 须为 minx,miny,maxx,maxy 经纬度 (bbox must be minx,miny,maxx,maxy in CRS84)",
        )
    return vals[0], vals[1], vals[2], vals[3]


def _int(raw: str | None, name: str, default: int, lo: int, hi: int | None) -> int:
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ogc.OgcError(400, "InvalidParameterValue", f"{name} 须为整数 (must be an integer)") from None
    if v < lo:
        raise ogc.OgcError(400, "InvalidParameterValue", f"{name} 须 >= {lo} (must be >= {lo})")
    return min(v, hi) if hi else v


@router.get("/collections/{collection_id}/items")
def items(
    collection_id: str, request: Request, session: SessionDep, principal: OptionalPrincipal
) -> JSONResponse:
    """Features with bbox, datetime, limit/offset and property filters."""
    coll = ogc.get_collection(collection_id, principal)
    params = request.query_params
    names = {p.name for p in coll.props}
    unknown = [k for k in params if k not in ITEM_PARAMS and k not in names]
    if unknown:
        raise ogc.OgcError(
            400,
            "InvalidParameterValue",
            f"未知参数 {', '.join(unknown)}；可用的筛选属性见 queryables "
            "(unknown parameter; see /queryables)",
        )
    if params.get("f") not in (None, "json", "geojson"):
        raise ogc.OgcError(400, "InvalidParameterValue", "f 只支持 json (only f=json is offered)")
    limit = _int(params.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int(params.get("offset"), "offset", 0, 0, None)
    bbox = _bbox(params["bbox"]) if params.get("bbox") else None
    dt = ogc.parse_datetime(params["datetime"]) if params.get("datetime") else None
    filters = {k: v for k, v in params.items() if k in names}
    feats, matched = ogc.query_items(
        session, coll, principal, bbox=bbox, dt=dt, filters=filters, limit=limit, offset=offset
    )
    base = f"{_base(request)}/collections/{coll.id}/items"
    keep = [(k, v) for k, v in params.multi_items() if k not in ("offset", "limit")]

    def link(rel: str, off: int) -> dict[str, Any]:
        return {
            "href": f"{base}?{urlencode([*keep, ('limit', limit), ('offset', off)])}",
            "rel": rel,
            "type": GEOJSON,
        }

    links = [
        link("self", offset),
        {"href": f"{_base(request)}/collections/{coll.id}", "rel": "collection", "type": "application/json"},
    ]
    if offset + len(feats) < matched:
        links.append(link("next", offset + limit))
    if offset > 0:
        links.append(link("prev", max(0, offset - limit)))
    return _json(
        {
            "type": "FeatureCollection",
            "features": feats,
            "numberMatched": matched,
            "numberReturned": len(feats),
            "timeStamp": utcnow().isoformat(),
            "links": links,
        },
        media=GEOJSON,
    )


@router.get("/collections/{collection_id}/items/{fid}")
def item(
    collection_id: str, fid: str, request: Request, session: SessionDep, principal: OptionalPrincipal
) -> JSONResponse:
    """One feature."""
    coll = ogc.get_collection(collection_id, principal)
    feat = ogc.get_item(session, coll, principal, fid)
    base = _base(request)
    feat["links"] = [
        {"href": f"{base}/collections/{coll.id}/items/{fid}", "rel": "self", "type": GEOJSON},
        {"href": f"{base}/collections/{coll.id}", "rel": "collection", "type": "application/json"},
    ]
    return _json(feat, media=GEOJSON)


def _param(
    name: str, schema: dict[str, Any], desc: str, where: str = "query", required: bool = False
) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": desc}


@router.get("/api")
def openapi(request: Request) -> JSONResponse:
    """The OpenAPI 3.0 definition of this service."""
    base = _base(request)
    fc = {"content": {GEOJSON: {"schema": {"type": "object"}}}, "description": "GeoJSON"}
    err = {
        "description": "error",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
                }
            }
        },
    }
    paths: dict[str, Any] = {
        "/": {
            "get": {
                "summary": "Landing page",
                "operationId": "getLandingPage",
                "responses": {"200": {"description": "links"}},
            }
        },
        "/conformance": {
            "get": {
                "summary": "Conformance classes",
                "operationId": "getConformance",
                "responses": {"200": {"description": "conformsTo"}},
            }
        },
        "/collections": {
            "get": {
                "summary": "Collections",
                "operationId": "getCollections",
                "responses": {"200": {"description": "collections"}},
            }
        },
    }
    for coll in ogc.COLLECTIONS.values():
        security: list[dict[str, list[str]]] = [] if coll.public else [{"bearer": []}, {"apiKey": []}]
        types = {
            "string": {"type": "string"},
            "integer": {"type": "integer"},
            "number": {"type": "number"},
            "datetime": {"type": "string", "format": "date-time"},
        }
        params = [
            _param(
                "bbox",
                {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6},
                "minx,miny,maxx,maxy (CRS84)",
            ),
            _param(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                "page size",
            ),
            _param("offset", {"type": "integer", "minimum": 0, "default": 0}, "start index"),
            _param("datetime", {"type": "string"}, "RFC 3339 instant or interval (a/b, ../b, a/..)"),
            *[_param(p.name, types[p.type], f"equals {p.name}") for p in coll.props],
        ]
        paths[f"/collections/{coll.id}"] = {
            "get": {
                "summary": coll.title,
                "operationId": f"describe-{coll.id}",
                "security": security,
                "responses": {"200": {"description": "collection"}, "404": err},
            }
        }
        paths[f"/collections/{coll.id}/items"] = {
            "get": {
                "summary": f"Features of {coll.id}",
                "operationId": f"get-{coll.id}-features",
                "parameters": params,
                "security": security,
                "responses": {"200": fc, "400": err, "401": err},
            }
        }
        paths[f"/collections/{coll.id}/items/{{featureId}}"] = {
            "get": {
                "summary": f"One feature of {coll.id}",
                "operationId": f"get-{coll.id}-feature",
                "security": security,
                "parameters": [_param("featureId", {"type": "string"}, "feature id", "path", True)],
                "responses": {"200": fc, "404": err, "401": err},
            }
        }
        paths[f"/collections/{coll.id}/queryables"] = {
            "get": {
                "summary": f"Queryables of {coll.id}",
                "operationId": f"get-{coll.id}-queryables",
                "security": security,
                "responses": {"200": {"description": "JSON Schema"}},
            }
        }
    doc = {
        "openapi": "3.0.3",
        "info": {
            "title": "govgrid OGC API - Features",
            "version": "1.0.0",
            "description": "City map collections: grid-cells and cases are public; "
            "parts, units and cameras need authentication.",
        },
        "servers": [{"url": base}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            }
        },
        "paths": paths,
    }
    return _json(doc, media=OPENAPI)
