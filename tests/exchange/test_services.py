"""The public service functions the adapters (CKAN, DCAT, pages, CLI, demo) use instead of their own SQL, and
the one log line per state change (ids and codes only, never personal data or free text)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from govgrid.core.db import utcnow
from govgrid.core.errors import ForbiddenError
from govgrid.exchange.enums import RequestStatus
from govgrid.exchange.schemas import DataItemIn
from govgrid.exchange.services import access, catalog, deadlines, gateway, grants, search, sharing, uploads
from tests.exchange.conftest import ACTOR, ZHANG, principal, request_data, to_csv


def test_visibility_helpers(db, people):
    nh_handler = principal(db, "nh_handler")
    assert access.find_visible(db, actor=nh_handler, code=people.code.lower()) is None
    assert access.find_visible(db, actor=nh_handler, code=people.code.lower(), ignore_case=True) is people
    assert access.is_visible(db, actor=nh_handler, resource_id=people.id)
    assert not access.is_visible(db, actor=None, resource_id=people.id)  # conditional, not open
    assert access.find_resource(db, code=people.code) is people


def test_listings_of_the_standard_views(db, people, make_resource):
    opened = make_resource(
        provider="410527-forestry",
        sharing_type="unconditional",
        open_type="open",
        grade="general",
        name="湿地图斑",
        items=[DataItemIn(name="patch_id", label="图斑编号", type="string")],
        class_code="A03",
    )
    nh_handler = principal(db, "nh_handler")
    assert people.code in search.visible_codes(db, actor=nh_handler, limit=1000, offset=0)
    assert people.code not in search.visible_codes(db, actor=None, limit=1000, offset=0)
    counts = {d.code: n for d, n in search.providers(db, actor=nh_handler)}
    assert counts["410527-tax"] >= 1
    assert {"tax", "forestry"} <= {ln.code for ln, _ in search.lines(db, actor=nh_handler)}
    entries = search.provider_entries(db, actor=nh_handler, department_id=people.provider_department_id)
    assert people in entries and [e.code for e in entries] == sorted(e.code for e in entries)
    assert opened in search.open_entries(db) and people not in search.open_entries(db)
    assert opened.code in search.visible_codes(db, actor=None, limit=1000, offset=0)
    assert search.line_names(db)["tax"]
    names = search.facet_value_names(db, facet="organization", values=["410527-tax"])
    assert names == {"410527-tax": people.provider.name}
    assert search.facet_value_names(db, facet="sharing_type", values=["none"]) == {"none": "不予共享"}
    assert search.facet_value_names(db, facet="res_format", values=["JSON"]) == {}


def test_data_items_and_active_upload(db, people):
    assert [i.name for i in catalog.data_items(db, code=people.code)][:2] == ["id_number", "name"]
    assert catalog.data_items(db, code="NO-SUCH") == []
    up = uploads.active_upload(db, resource=people)
    assert up is not None and up.row_count == 3 and up.status == "active"


def test_overdue_requests_and_due_at(db, people):
    req = sharing.submit_request(db, actor=principal(db, "nh_handler"), data=request_data(people.code))
    assert deadlines.due_at(req) == req.check_due_at
    assert req not in deadlines.overdue_requests(db)
    deadlines.set_deadlines(req, utcnow() - timedelta(days=30))
    db.flush()
    assert req in deadlines.overdue_requests(db)
    sharing.decide(db, actor=principal(db, "nh_tax"), request_id=req.id, action="accept")
    assert req.status == RequestStatus.pending_approval and deadlines.due_at(req) == req.answer_due_at


def _messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("govgrid.exchange")]


def test_one_log_line_per_state_change_without_personal_data(db, caplog, people, make_resource):
    caplog.set_level(logging.INFO, logger="govgrid.exchange")
    nh_handler, nh_tax = principal(db, "nh_handler"), principal(db, "nh_tax")
    req = sharing.submit_request(db, actor=nh_handler, data=request_data(people.code))
    sharing.decide(db, actor=nh_tax, request_id=req.id, action="accept")
    sharing.decide(db, actor=nh_tax, request_id=req.id, action="approve")
    grant = grants.grant_for_request(db, request_id=req.id)
    assert grant is not None
    other = sharing.submit_request(db, actor=nh_handler, data=request_data(people.code))
    sharing.decide(db, actor=nh_tax, request_id=other.id, action="refuse", reason="不符合最小必要原则")
    third = sharing.submit_request(db, actor=nh_handler, data=request_data(people.code))
    sharing.withdraw(db, actor=nh_handler, request_id=third.id)
    grants.revoke_grant(db, actor=nh_tax, grant_id=grant.id, reason="工作已结束")
    assert _messages(caplog) == [
        "exchange request submitted",
        "exchange request moved",  # accept
        "exchange request moved",  # approve -> granted
        "exchange grant issued",
        "exchange request submitted",
        "exchange request moved",  # refuse
        "exchange request submitted",
        "exchange request moved",  # withdraw
        "exchange grant revoked",
    ]
    moved = [r for r in caplog.records if r.getMessage().endswith("moved")]
    moves = [(r.__dict__["from"], r.__dict__["to"]) for r in moved]
    assert moves == [
        ("pending_check", "pending_approval"),
        ("pending_approval", "granted"),
        ("pending_check", "refused"),
        ("pending_check", "withdrawn"),
    ]
    text = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for private in ("低保", "最小必要", "工作已结束", ZHANG["name"], ZHANG["id_number"], "《社会救助"):
        assert private not in text


def test_refused_gateway_call_and_new_versions_are_logged(db, caplog, people):
    caplog.set_level(logging.INFO, logger="govgrid.exchange")
    with pytest.raises(ForbiddenError):  # what the caller gets is tested elsewhere
        gateway.read_records(db, actor=principal(db, "pd_handler"), code=people.code)
    refused = [r for r in caplog.records if r.getMessage() == "exchange gateway call refused"]
    assert len(refused) == 1 and refused[0].levelno == logging.WARNING
    assert refused[0].__dict__["reason"] == "no_grant" and refused[0].__dict__["resource_code"] == people.code
    uploads.upload_records(db, actor=ACTOR, code=people.code, content=to_csv([ZHANG]), filename="y.csv")
    published = [r for r in caplog.records if r.getMessage() == "exchange data version published"]
    assert [r.__dict__["version"] for r in published] == [2]
