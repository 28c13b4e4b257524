"""No double spend: 50 buyers at once for the last 10 credits, each in its own database session (committed
work, as the server runs it), on the test database (SQLite, or PostgreSQL when GOVGRID_TEST_DATABASE_URL is
set). Exactly 10 orders fill, every other one is refused with a reason, and the ledger balances."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import delete, func, select

from govgrid.carbon.enums import AccountKind, CreditStatus, MovementKind
from govgrid.carbon.models import (
    BenefitEntry,
    CarbonAccount,
    CarbonProject,
    CreditBlock,
    CreditMovement,
    Issuance,
    MarketDelivery,
    MarketFlag,
    MarketListing,
    MarketMember,
    MarketOrder,
    MarketReservation,
    MarketTrade,
    MonitoringReport,
)
from govgrid.carbon.services import market, matching, settlement
from govgrid.core import db as coredb
from govgrid.core.audit.service import SystemActor
from govgrid.core.authz.principal import Principal
from govgrid.core.departments import service as departments
from govgrid.core.errors import ConflictError, UnavailableError
from govgrid.core.identity.models import User

from ..registry.conftest import JUNSHAN

BUYERS = 50
LAST = 10


def _setup(tag: str) -> dict:
    """Commit a project with 10 issued tonnes held by a seller, and 50 buyers with their accounts."""
    serial = 9_000_000_000 + (uuid.uuid4().int % 1_000_000) * 100
    with coredb.session_scope() as s:
        dept = departments.get_by_code(s, "430611-forestry")
        project = CarbonProject(
            code=f"PCC-{tag}",
            name="并发测试项目",
            division_code="430611",
            department_id=dept.id,
            methodology="ipcc_inland_wetland",
            wetland_type="lake",
            boundary=str(JUNSHAN).replace("'", '"'),
            area_ha=1.0,
            min_lon=112.72,
            min_lat=29.47,
            max_lon=112.735,
            max_lat=29.485,
            crediting_start=date(2088, 1, 1),
            crediting_end=date(2099, 1, 1),
            created_by="test",
        )
        s.add(project)
        s.flush()
        report = MonitoringReport(
            project_id=project.id,
            vintage_start=2090,
            vintage_end=2091,
            methodology="ipcc_inland_wetland",
            net_creditable_tco2e=LAST,
            area_ha=1.0,
            status="verified",
            submitted_by="test",
        )
        s.add(report)
        users, accounts = [], []
        for i in range(BUYERS + 1):
            u = User(username=f"cc{tag}{i}", display_name=f"cc{i}", password_hash="!", is_demo=True)
            a = CarbonAccount(
                number=f"CC{tag}{i}",
                holder_name=f"并发测试企业{tag}-{i}",
                kind=AccountKind.external,
                division_code="430600",
            )
            s.add_all([u, a])
            users.append(u)
            accounts.append(a)
        s.flush()
        s.add_all(
            [
                MarketMember(user_id=u.id, account_id=a.id, created_by="test")
                for u, a in zip(users, accounts, strict=True)
            ]
        )
        iss = Issuance(
            project_id=project.id,
            report_id=report.id,
            vintage_start=2090,
            vintage_end=2091,
            quantity=LAST,
            serial_start=serial,
            serial_end=serial + LAST - 1,
            account_id=accounts[0].id,
            issued_by="test",
        )
        s.add(iss)
        s.flush()
        # the seller's last 10 credits in two blocks, as earlier partial moves leave them
        s.add_all(
            [
                CreditBlock(
                    issuance_id=iss.id,
                    project_id=project.id,
                    vintage_start=2090,
                    vintage_end=2091,
                    serial_start=serial,
                    serial_end=serial + 3,
                    quantity=4,
                    account_id=accounts[0].id,
                    status=CreditStatus.active,
                ),
                CreditBlock(
                    issuance_id=iss.id,
                    project_id=project.id,
                    vintage_start=2090,
                    vintage_end=2091,
                    serial_start=serial + 4,
                    serial_end=serial + 9,
                    quantity=6,
                    account_id=accounts[0].id,
                    status=CreditStatus.active,
                ),
            ]
        )
        principals = [
            Principal(kind="user", id=u.id, name=u.username, display_name=u.username) for u in users
        ]
        listing = market.create_listing(
            s,
            actor=principals[0],
            project_id=project.id,
            vintage_start=2090,
            vintage_end=2091,
            mode="listed",
            quantity=LAST,
            price="66.00",
        )
        return {
            "project_id": project.id,
            "report_id": report.id,
            "issuance_id": iss.id,
            "listing_id": listing.id,
            "principals": principals,
            "accounts": [a.id for a in accounts],
            "users": [u.id for u in users],
        }


def _cleanup(ids: dict) -> None:
    """Remove everything the test committed (dependants first)."""
    with coredb.session_scope() as s:
        trades = select(MarketTrade.id).where(MarketTrade.project_id == ids["project_id"])
        blocks = select(CreditBlock.id).where(CreditBlock.project_id == ids["project_id"])
        s.execute(delete(BenefitEntry).where(BenefitEntry.trade_id.in_(trades)))
        s.execute(delete(MarketFlag).where(MarketFlag.trade_id.in_(trades)))
        s.execute(delete(MarketDelivery).where(MarketDelivery.trade_id.in_(trades)))
        s.execute(delete(MarketTrade).where(MarketTrade.project_id == ids["project_id"]))
        s.execute(delete(MarketOrder).where(MarketOrder.listing_id == ids["listing_id"]))
        s.execute(delete(MarketReservation).where(MarketReservation.listing_id == ids["listing_id"]))
        s.execute(delete(MarketListing).where(MarketListing.id == ids["listing_id"]))
        s.execute(delete(CreditMovement).where(CreditMovement.block_id.in_(blocks)))
        s.execute(delete(CreditBlock).where(CreditBlock.project_id == ids["project_id"]))
        s.execute(delete(Issuance).where(Issuance.id == ids["issuance_id"]))
        s.execute(delete(MonitoringReport).where(MonitoringReport.id == ids["report_id"]))
        s.execute(delete(CarbonProject).where(CarbonProject.id == ids["project_id"]))
        s.execute(delete(MarketMember).where(MarketMember.user_id.in_(ids["users"])))
        s.execute(delete(CarbonAccount).where(CarbonAccount.id.in_(ids["accounts"])))
        s.execute(delete(User).where(User.id.in_(ids["users"])))


@pytest.fixture()
def committed(database_url):
    ids = _setup(uuid.uuid4().hex[:6])
    yield ids
    _cleanup(ids)


def test_fifty_buyers_for_the_last_ten_credits(committed):
    ids = committed
    results: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(BUYERS)

    def buy(principal: Principal) -> None:
        start.wait()
        for _ in range(100):
            try:
                with coredb.session_scope() as s:
                    r = market.place_order(
                        s, actor=principal, listing_id=ids["listing_id"], quantity=1, price="66"
                    )
                    outcome = ("filled", str(r.trade.id if r.trade else ""))
            except ConflictError as exc:
                outcome = ("refused", exc.code or exc.message)
            except UnavailableError:  # the write queue is full: a client retries after Retry-After
                time.sleep(0.05)
                continue
            with lock:
                results.append(outcome)
            return

    threads = [threading.Thread(target=buy, args=(p,)) for p in ids["principals"][1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    kinds = Counter(k for k, _ in results)
    assert len(results) == BUYERS
    assert kinds["filled"] == LAST and kinds["refused"] == BUYERS - LAST
    assert {reason for k, reason in results if k == "refused"} <= {"sold_out", "listing_closed"}
    # settle every trade: the ledger balances, each buyer holds exactly its tonne, nothing is left reserved
    with coredb.session_scope() as s:
        for trade_id in s.scalars(select(MarketTrade.id).where(MarketTrade.listing_id == ids["listing_id"])):
            t = s.get(MarketTrade, trade_id)
            t.status = "paid"
            settlement.settle(s, actor=SystemActor("test"), trade=t)
    with coredb.session_scope() as s:
        by_account = dict(
            s.execute(
                select(CreditBlock.account_id, func.sum(CreditBlock.quantity))
                .where(CreditBlock.project_id == ids["project_id"])
                .group_by(CreditBlock.account_id)
            ).all()
        )
        assert sum(by_account.values()) == LAST
        assert ids["accounts"][0] not in by_account  # the seller sold all of them
        assert sorted(by_account.values()) == [1] * LAST
        statuses = set(
            s.scalars(select(CreditBlock.status).where(CreditBlock.project_id == ids["project_id"]))
        )
        assert statuses == {CreditStatus.active}
        delivered = s.scalar(
            select(func.sum(CreditMovement.quantity)).where(
                CreditMovement.kind == MovementKind.trade,
                CreditMovement.block_id.in_(
                    select(CreditBlock.id).where(CreditBlock.project_id == ids["project_id"])
                ),
            )
        )
        assert delivered == LAST
        assert s.get(MarketListing, ids["listing_id"]).remaining == 0


def test_concurrent_batches_for_the_last_ten_credits(committed):
    """The batch path under the same race: five concurrent batches of ten one-tonne orders, then one clearing
    run: exactly 10 fill across all batches, 40 are refused as sold out, the ledger balances."""
    ids = committed
    results: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(5)
    buyers = ids["principals"][1:]

    def batch(part: list[Principal]) -> None:
        start.wait()
        tickets = [matching.OrderTicket(p, ids["listing_id"], 1, "66") for p in part]
        for _ in range(100):
            try:
                with coredb.session_scope() as s:
                    out = matching.match_orders(s, tickets=tickets)
            except UnavailableError:
                time.sleep(0.05)
                continue
            with lock:
                results.extend(
                    ("filled", str(o.trade_id)) if o.ok else ("refused", o.error.code or "") for o in out
                )
            return

    threads = [threading.Thread(target=batch, args=(buyers[i::5],)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    kinds = Counter(k for k, _ in results)
    assert len(results) == BUYERS
    assert kinds["filled"] == LAST and kinds["refused"] == BUYERS - LAST
    assert {reason for k, reason in results if k == "refused"} <= {"sold_out", "listing_closed"}
    trade_ids = [int(t) for k, t in results if k == "filled"]
    with coredb.session_scope() as s:
        trades = s.scalars(select(MarketTrade).where(MarketTrade.id.in_(trade_ids))).all()
        owner = dict(
            s.execute(
                select(MarketMember.account_id, MarketMember.user_id).where(
                    MarketMember.user_id.in_(ids["users"])
                )
            ).all()
        )
        who = {p.id: p for p in buyers}
        tickets = [matching.PaymentTicket(who[owner[t.buyer_account_id]], t.id, f"P{t.id}") for t in trades]
        assert all(o.ok for o in matching.record_payments(s, tickets=tickets))
    with coredb.session_scope() as s:
        out = settlement.confirm_payments(s, actor=SystemActor("test"), trade_ids=trade_ids)
        assert all(o.ok for o in out)
    with coredb.session_scope() as s:
        held = sorted(
            q
            for _, q in s.execute(
                select(CreditBlock.account_id, func.sum(CreditBlock.quantity))
                .where(CreditBlock.project_id == ids["project_id"])
                .group_by(CreditBlock.account_id)
            ).all()
        )
        assert held == [1] * LAST
        assert set(
            s.scalars(select(CreditBlock.status).where(CreditBlock.project_id == ids["project_id"]))
        ) == {CreditStatus.active}
        assert s.get(MarketListing, ids["listing_id"]).remaining == 0
