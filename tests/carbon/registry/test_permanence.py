"""Permanence and corrections: the buffer share of every issuance, reversals (buffer first), corrections as
compensating entries, refusals of cancelled and reserved blocks, the overlap check on parcels."""

from __future__ import annotations

from sqlalchemy import func, select

from govgrid.carbon.enums import CreditStatus
from govgrid.carbon.models import Adjustment, CreditBlock, CreditMovement, MonitoringReport
from govgrid.carbon.services import credits

P = "/api/v1/carbon"


def _blocks(db, project_id):
    return list(db.scalars(select(CreditBlock).where(CreditBlock.project_id == project_id)))


def test_issuance_holds_the_buffer_share_by_risk_rating(flow, db):
    p, _, iss = flow.issued(risk_rating="high")
    assert iss["quantity"] == 1234 and iss["buffer_quantity"] == 247  # 20% for a high risk
    blocks = sorted(_blocks(db, p["id"]), key=lambda b: b.serial_start)
    assert [b.quantity for b in blocks] == [987, 247]
    # the buffer is the tail of the serial range, in another account
    assert blocks[1].serial_end == iss["serial_end"] and blocks[0].account_id != blocks[1].account_id
    assert credits.buffer_quantity(1, "high") == 0 and credits.buffer_quantity(100, "low") == 10


def test_the_buffer_is_taken_once_not_by_the_methodology_and_the_registry(flow, db):
    """The engine deducts a methodology buffer before its net creditable figure; the registry's pool replaces
    it: the issuance adds that deduction back and holds its own rating share, so the project keeps
    (net + methodology buffer) x (1 - rating share), not net x (1 - rating share)."""
    credit = {"buffer_tco2e": 137.2, "net_creditable_tco2e": 1234.7}
    p = flow.project(risk_rating="low")
    rep = flow.report(p["id"], summary={"stocks_tc": {"2018": 1000.0, "2023": 1400.0}, "credit": credit})
    flow.verify(rep["id"])
    r = flow.issue(rep["id"])
    assert r.status_code == 201, r.text
    iss = r.json()
    assert iss["quantity"] == 1371 and iss["buffer_quantity"] == 137  # floor(1234.7 + 137.2); 10 % held once
    held = sorted(b.quantity for b in _blocks(db, p["id"]))
    assert held == [137, 1234]  # the project keeps its net creditable tonnes; the pool holds the buffer
    # a correction is compared as issued: the corrected net with the same buffer proportion added back
    report = db.get(MonitoringReport, rep["id"])
    assert credits.issuable_quantity(report) == 1371
    assert round(credits.before_buffer(report, 617.35), 2) == 685.95
    # a summary whose arithmetic is not the verified figure's adds nothing back
    report.summary = {"credit": {"buffer_tco2e": 500.0, "net_creditable_tco2e": 999.0}}
    assert credits.issuable_quantity(report) == 1234
    report.summary = {"credit": {"buffer_tco2e": -5.0, "net_creditable_tco2e": 1234.7}}
    assert credits.issuable_quantity(report) == 1234


def test_reversal_cancels_buffer_credits_first_then_the_projects(client, login, flow, db):
    p, _rep, iss = flow.issued()  # medium: 185 of 1234 in the buffer
    admin = login("hn_registry")
    r = client.post(
        P + "/reversals",
        json={"project_id": p["id"], "quantity": 100, "reason": "2025 年火灾"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["from_buffer"], r.json()["from_project"], r.json()["uncovered"]) == (100, 0, 0)
    # a second, larger loss empties the buffer share, then takes the project's own credits
    r = client.post(
        P + "/reversals", json={"project_id": p["id"], "quantity": 200, "reason": "围垦"}, headers=admin
    )
    assert (r.json()["from_buffer"], r.json()["from_project"]) == (85, 115)
    cancelled = db.scalar(
        select(func.sum(CreditBlock.quantity)).where(
            CreditBlock.project_id == p["id"], CreditBlock.status == CreditStatus.cancelled
        )
    )
    assert cancelled == 300
    # nothing of the issuance was edited: its range and quantity stand, the blocks still partition it
    blocks = _blocks(db, p["id"])
    assert sum(b.quantity for b in blocks) == iss["quantity"] == 1234
    assert (
        db.scalar(select(func.count()).select_from(CreditMovement).where(CreditMovement.kind == "cancel"))
        >= 2
    )
    pub = client.get(P + "/public/registry").json()
    assert pub["totals"]["cancelled"] == 300 and pub["cancellations"][0]["reason"]


def test_reversal_is_for_the_registry_administrator_and_checks_input(client, login, flow, db):
    p, _, _ = flow.issued()
    before = db.scalar(select(func.count()).select_from(Adjustment))
    body = {"project_id": p["id"], "quantity": 10, "reason": "火灾"}
    assert client.post(P + "/reversals", json=body).status_code == 401
    assert client.post(P + "/reversals", json=body, headers=login("jsh_forestry")).status_code == 403
    assert (
        client.post(P + "/reversals", json=body | {"quantity": 0}, headers=login("hn_registry")).status_code
        == 422
    )
    assert (
        client.post(P + "/reversals", json=body | {"reason": " "}, headers=login("hn_registry")).status_code
        == 422
    )
    assert (
        client.post(
            P + "/reversals", json=body | {"project_id": 99999}, headers=login("hn_registry")
        ).status_code
        == 404
    )
    assert db.scalar(select(func.count()).select_from(Adjustment)) == before


def test_correction_is_a_compensating_entry_never_an_edit(client, login, flow, db):
    _p, rep, _iss = flow.issued()
    admin = login("hn_registry")
    url = f"{P}/reports/{rep['id']}/corrections"
    r = client.post(url, json={"corrected_tco2e": 1000.4, "reason": "土壤容重复核更正"}, headers=admin)
    assert r.status_code == 201, r.text
    adj = r.json()
    assert adj["quantity"] == 234 and adj["from_project"] == 234 and adj["original_tco2e"] == 1234.7
    report = db.get(MonitoringReport, rep["id"])
    db.refresh(report)
    assert report.net_creditable_tco2e == 1234.7  # the report keeps what was verified and issued
    assert client.post(url, json={"corrected_tco2e": 900, "reason": "x"}).status_code == 401
    # a higher figure is not a correction; the proponent cannot correct; the report must be issued
    assert client.post(url, json={"corrected_tco2e": 1100, "reason": "x"}, headers=admin).status_code == 409
    assert (
        client.post(
            url, json={"corrected_tco2e": 900, "reason": "x"}, headers=login("jsh_forestry")
        ).status_code
        == 403
    )
    other = flow.report(flow.project(boundary=EAST)["id"])
    r = client.post(
        f"{P}/reports/{other['id']}/corrections", json={"corrected_tco2e": 1, "reason": "x"}, headers=admin
    )
    assert r.status_code == 409


EAST = {
    "type": "Polygon",
    "coordinates": [
        [[112.74, 29.47], [112.755, 29.47], [112.755, 29.485], [112.74, 29.485], [112.74, 29.47]]
    ],
}


def test_cancelled_and_reserved_blocks_cannot_move(client, login, flow, db):
    p, _, iss = flow.issued()
    client.post(
        P + "/reversals",
        json={"project_id": p["id"], "quantity": 300, "reason": "洪水"},
        headers=login("hn_registry"),
    )
    acc = iss["account_id"]
    cancelled = db.scalar(
        select(CreditBlock).where(CreditBlock.account_id == acc, CreditBlock.status == CreditStatus.cancelled)
    )
    active = db.scalar(
        select(CreditBlock).where(CreditBlock.account_id == acc, CreditBlock.status == CreditStatus.active)
    )
    active.status = CreditStatus.reserved  # what a market listing does (H4a)
    db.flush()
    h = login("jsh_forestry")
    ext = client.post(
        P + "/accounts",
        json={"holder_name": "某企业", "division_code": "430600"},
        headers=login("hn_registry"),
    ).json()
    for block, word in ((cancelled, "作废"), (active, "挂牌冻结")):
        r = client.post(
            P + "/retirements",
            json={"account_id": acc, "block_id": block.id, "quantity": 1, "beneficiary": "b", "reason": "r"},
            headers=h,
        )
        assert r.status_code == 409 and word in r.json()["error"]["message"], r.text
        r = client.post(
            P + "/transfers",
            json={"from_account_id": acc, "to_account_id": ext["id"], "block_id": block.id, "quantity": 1},
            headers=h,
        )
        assert r.status_code == 409 and word in r.json()["error"]["message"], r.text
    # without a block: the balance says what is reserved
    r = client.post(
        P + "/transfers", json={"from_account_id": acc, "to_account_id": ext["id"], "quantity": 5}, headers=h
    )
    assert r.status_code == 409 and "挂牌冻结" in r.json()["error"]["message"]


def test_buffer_credits_are_never_retired_or_transferred_into(client, login, flow, db):
    p, _, iss = flow.issued()
    pool = db.scalar(
        select(CreditBlock.account_id).where(
            CreditBlock.project_id == p["id"], CreditBlock.account_id != iss["account_id"]
        )
    )
    h = login("hn_registry")
    r = client.post(
        P + "/retirements",
        json={"account_id": pool, "quantity": 1, "beneficiary": "b", "reason": "r"},
        headers=h,
    )
    assert r.status_code == 409 and "缓冲池" in r.json()["error"]["message"]
    r = client.post(
        P + "/transfers",
        json={"from_account_id": iss["account_id"], "to_account_id": pool, "quantity": 1},
        headers=login("jsh_forestry"),
    )
    assert r.status_code == 422


def test_overlap_check_runs_on_parcels_not_the_outline(client, login, flow, db):
    # two parcels with a gap between them: the outline covers the gap, the parcels do not
    west = [[112.72, 29.47], [112.726, 29.47], [112.726, 29.485], [112.72, 29.485], [112.72, 29.47]]
    east = [[112.729, 29.47], [112.735, 29.47], [112.735, 29.485], [112.729, 29.485], [112.729, 29.47]]
    p1 = flow.project(boundary={"type": "MultiPolygon", "coordinates": [[west], [east]]})
    assert p1["area_crs"] == "EPSG:32649"
    rep1 = flow.report(p1["id"])
    flow.verify(rep1["id"])
    assert flow.issue(rep1["id"]).status_code == 201
    # a project inside the gap does not overlap any parcel: it is issued
    gap = [[112.7265, 29.472], [112.7285, 29.472], [112.7285, 29.483], [112.7265, 29.483], [112.7265, 29.472]]
    p2 = flow.project(boundary={"type": "Polygon", "coordinates": [gap]})
    rep2 = flow.report(p2["id"])
    flow.verify(rep2["id"])
    assert flow.issue(rep2["id"]).status_code == 201
    # one over a parcel is refused
    p3 = flow.project(boundary={"type": "Polygon", "coordinates": [east]})
    rep3 = flow.report(p3["id"])
    flow.verify(rep3["id"])
    r = flow.issue(rep3["id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "double_issuance"
