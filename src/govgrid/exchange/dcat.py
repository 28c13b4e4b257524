"""DCAT-AP views of the public catalog: /catalog.jsonld and /catalog.ttl (open entries only), made with
rdflib."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD
from sqlalchemy.orm import Session

from govgrid.core.deps import SessionDep
from govgrid.core.http import site_url
from govgrid.exchange.enums import GRADE_ZH, ResourceKind
from govgrid.exchange.services import search

router = APIRouter(include_in_schema=False)
FREQ = Namespace("http://publications.europa.eu/resource/authority/frequency/")
ACCESS = Namespace("http://publications.europa.eu/resource/authority/access-right/")
FREQUENCIES = {
    "realtime": "CONT",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "yearly": "ANNUAL",
    "irregular": "IRREG",
}
ACCESS_RIGHTS = {"unconditional": "PUBLIC", "conditional": "RESTRICTED", "none": "NON_PUBLIC"}
CONTEXT = {"dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "xsd": str(XSD)}


def catalog_graph(session: Session, base: str) -> Graph:
    """The DCAT-AP graph of every open (无条件开放) catalog entry."""
    g = Graph()
    g.bind("dcat", DCAT)
    g.bind("dct", DCTERMS)
    g.bind("foaf", FOAF)
    cat = URIRef(f"{base}/catalog")
    g.add((cat, RDF.type, DCAT.Catalog))
    g.add((cat, DCTERMS.title, Literal("govgrid 政务数据资源目录（开放）", lang="zh")))
    g.add((cat, DCTERMS.title, Literal("govgrid open government data catalogue", lang="en")))
    g.add((cat, DCTERMS.description, Literal("各级政务部门无条件开放的数据资源目录", lang="zh")))
    g.add((cat, FOAF.homepage, URIRef(f"{base}/exchange")))
    platform = URIRef(f"{base}/#publisher")
    g.add((platform, RDF.type, FOAF.Agent))
    g.add((platform, FOAF.name, Literal("govgrid 数据管理局", lang="zh")))
    g.add((cat, DCTERMS.publisher, platform))
    for res in search.open_entries(session):
        ds = URIRef(f"{base}/exchange/resources/{res.code}")
        g.add((cat, DCAT.dataset, ds))
        g.add((ds, RDF.type, DCAT.Dataset))
        g.add((ds, DCTERMS.title, Literal(res.name, lang="zh")))
        g.add((ds, DCTERMS.description, Literal(res.abstract or res.name, lang="zh")))
        g.add((ds, DCTERMS.identifier, Literal(res.code)))
        agent = URIRef(f"{base}/ckan/organization/{res.provider.code}")
        g.add((agent, RDF.type, FOAF.Agent))
        g.add((agent, FOAF.name, Literal(res.provider.name, lang="zh")))
        g.add((ds, DCTERMS.publisher, agent))
        g.add((ds, DCTERMS.accrualPeriodicity, FREQ[FREQUENCIES.get(res.update_cycle, "IRREG")]))
        g.add((ds, DCTERMS.accessRights, ACCESS[ACCESS_RIGHTS[res.sharing_type]]))
        g.add((ds, DCTERMS.modified, Literal(res.updated_at.isoformat(), datatype=XSD.dateTime)))
        if res.publish_date:
            g.add((ds, DCTERMS.issued, Literal(res.publish_date.isoformat(), datatype=XSD.date)))
        g.add((ds, DCAT.keyword, Literal(GRADE_ZH[res.grade], lang="zh")))
        g.add((ds, DCAT.theme, URIRef(f"{base}/ckan/group/{res.line_code}")))
        for code in res.related_codes or []:
            g.add((ds, DCTERMS.relation, URIRef(f"{base}/exchange/resources/{code}")))
        dist = BNode(f"dist-{res.code}")
        g.add((ds, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        url = (
            f"{base}/api/v1/exchange/resources/{res.code}/records"
            if res.kind == ResourceKind.table
            else res.api_url or f"{base}/exchange/resources/{res.code}"
        )
        g.add((dist, DCAT.accessURL, URIRef(url)))
        g.add(
            (
                dist,
                DCTERMS.title,
                Literal(
                    f"{res.name}（{'数据接口' if res.kind == ResourceKind.table else '提供方接口'}）",
                    lang="zh",
                ),
            )
        )
        g.add((dist, DCTERMS.format, Literal("JSON" if res.kind == ResourceKind.table else "API")))
    return g


def _base(request: Request) -> str:
    return site_url(request)  # the configured address, never an unchecked Host header


@router.get("/catalog.jsonld")
def catalog_jsonld(request: Request, session: SessionDep) -> Response:
    """DCAT-AP catalogue as JSON-LD (public)."""
    data = catalog_graph(session, _base(request)).serialize(format="json-ld", context=CONTEXT, indent=1)
    return Response(data, media_type="application/ld+json")


@router.get("/catalog.ttl")
def catalog_ttl(request: Request, session: SessionDep) -> Response:
    """DCAT-AP catalogue as Turtle (public)."""
    return Response(
        catalog_graph(session, _base(request)).serialize(format="turtle"), media_type="text/turtle"
    )
