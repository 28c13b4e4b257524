"""Benchmark: the carbon market's matching and settlement, persisted, against the same matching in memory.

A fresh SQLite database (the application's tables, one project, one seller holding the credits, buyers bound
as traders) gets ``--listings`` listed-sale listings; then ``--orders`` orders from rotating buyers, each in
its own transaction as the server runs it: the order matched (partial fills, sold-out refusals) through
``market.place_order``, and every match paid and settled through ``settlement.pay`` and
``settlement.confirm_payment`` (delivery versus payment, fee, revenue split, surveillance, audit records).
The baseline runs the same order stream through the same fill rule, fee and revenue split in plain Python
with nothing persisted. Reports orders/s and settled orders/s of both, and their ratio; checks the ledger
(every tonne still in exactly one block; delivered tonnes = settled trade tonnes) and exits 1 if it fails.

    python bench/carbon_market.py                     # 10,000 orders against 1,000 listings
    python bench/carbon_market.py --smoke             # CI: 300 orders against 30 listings, seconds
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

TARGET = 500.0  # settled orders per second on SQLite (issue 15)


def _setup(url: str, listings: int, per_listing: int, buyers: int) -> tuple[int, list, int]:
    """Tables, a division and department, a project with one block of credits, the listings, the buyers."""
    from govgrid.carbon.enums import AccountKind, CreditStatus
    from govgrid.carbon.models import (
        CarbonAccount,
        CarbonProject,
        CreditBlock,
        Issuance,
        MarketMember,
        MonitoringReport,
    )
    from govgrid.carbon.services import benefits, market
    from govgrid.core import db
    from govgrid.core.audit.service import SystemActor
    from govgrid.core.authz.principal import Principal
    from govgrid.core.departments.models import Department, Line
    from govgrid.core.divisions.models import Division
    from govgrid.core.identity.models import User

    db.configure(url)
    db.Base.metadata.create_all(db.get_engine())
    total = listings * per_listing
    with db.session_scope() as s:
        s.add(Division(code="430611", name="君山区", level="county", path="/430611/", depth=1))
        s.add(Line(code="forestry", name_zh="林业", name_en="Forestry"))
        s.flush()
        dept = Department(
            code="430611-forestry", name="君山区林业局", line_code="forestry", division_code="430611"
        )
        s.add(dept)
        s.flush()
        project = CarbonProject(
            code="PBENCH",
            name="基准测试项目",
            division_code="430611",
            department_id=dept.id,
            methodology="ipcc_inland_wetland",
            wetland_type="lake",
            boundary="{}",
            area_ha=1.0,
            min_lon=0,
            min_lat=0,
            max_lon=1,
            max_lat=1,
            crediting_start=date(2018, 1, 1),
            crediting_end=date(2038, 1, 1),
            created_by="bench",
        )
        s.add(project)
        s.flush()
        report = MonitoringReport(
            project_id=project.id,
            vintage_start=2018,
            vintage_end=2023,
            methodology="x",
            net_creditable_tco2e=total,
            area_ha=1.0,
            status="verified",
            submitted_by="bench",
        )
        s.add(report)
        users, accounts = [], []
        for i in range(buyers + 1):
            users.append(User(username=f"b{i}", display_name=f"b{i}", password_hash="!"))  # noqa: S106 (unusable: no login)
            accounts.append(
                CarbonAccount(
                    number=f"CA-B{i}",
                    holder_name=f"企业{i}",
                    kind=AccountKind.external,
                    division_code="430611",
                )
            )
        s.add_all(users + accounts)
        s.flush()
        s.add_all(
            [
                MarketMember(user_id=u.id, account_id=a.id, created_by="bench")
                for u, a in zip(users, accounts, strict=True)
            ]
        )
        iss = Issuance(
            project_id=project.id,
            report_id=report.id,
            vintage_start=2018,
            vintage_end=2023,
            quantity=total,
            serial_start=1,
            serial_end=total,
            account_id=accounts[0].id,
            issued_by="bench",
        )
        s.add(iss)
        s.flush()
        s.add(
            CreditBlock(
                issuance_id=iss.id,
                project_id=project.id,
                vintage_start=2018,
                vintage_end=2023,
                serial_start=1,
                serial_end=total,
                quantity=total,
                account_id=accounts[0].id,
                status=CreditStatus.active,
            )
        )
        s.flush()
        principals = [
            Principal(kind="user", id=u.id, name=u.username, display_name=u.username) for u in users
        ]
        benefits.set_shares(
            s,
            actor=SystemActor("bench"),
            project_id=project.id,
            shares=[
                benefits.Share("village_collective", "村集体", 6000),
                benefits.Share("protection_fund", "湿地保护基金", 2000),
                benefits.Share("developer", "林业局", 2000),
            ],
        )
        ids = []
        for i in range(listings):
            x = market.create_listing(
                s,
                actor=principals[0],
                project_id=project.id,
                vintage_start=2018,
                vintage_end=2023,
                mode="listed",
                quantity=per_listing,
                price=f"{55 + i % 10}.00",
            )
            ids.append((x.id, x.price))
    return project.id, principals, total


def _stream(orders: int, listings: int, buyers: int, seed: int = 15) -> list[tuple[int, int, int]]:
    """The order stream: (listing index, buyer index, quantity)."""
    rng = random.Random(seed)
    return [(rng.randrange(listings), 1 + rng.randrange(buyers), 1 + rng.randrange(8)) for _ in range(orders)]


def in_memory(stream: list[tuple[int, int, int]], listings: int, per_listing: int) -> tuple[float, int]:
    """The same fill rule, fee and revenue split with nothing persisted: (seconds, settled orders)."""
    from govgrid.carbon.services import benefits, settlement

    shares = [
        benefits.Share("village_collective", "村集体", 6000),
        benefits.Share("protection_fund", "基金", 2000),
        benefits.Share("developer", "林业局", 2000),
    ]
    remaining = [per_listing] * listings
    prices = [Decimal(f"{55 + i % 10}.00") for i in range(listings)]
    ledger: dict[str, Decimal] = {}
    settled = 0
    t0 = time.perf_counter()
    for li, _buyer, qty in stream:
        fill = min(qty, remaining[li])
        if fill == 0:
            continue
        remaining[li] -= fill
        amount = settlement.money(prices[li] * fill)
        fee = settlement.money(amount * settlement.FEE_RATE)
        for s, part in zip(shares, benefits.split_amount(amount - fee, shares), strict=True):
            ledger[s.name] = ledger.get(s.name, Decimal(0)) + part
        settled += 1
    return time.perf_counter() - t0, settled


def persisted(
    url: str, stream: list[tuple[int, int, int]], principals: list, first_listing: int, batch: int
) -> tuple[float, int]:
    """The stream in batches of ``batch`` orders, each batch three transactions as the market runs them: the
    buyers' orders matched (``matching.match_orders``), their payments recorded (``matching.record_payments``)
    and the settlement agent's clearing run (``settlement.confirm_payments``). (seconds, settled orders)"""
    from govgrid.carbon.services import matching, settlement
    from govgrid.core import db
    from govgrid.core.audit.service import SystemActor

    agent = SystemActor("settlement-bench")
    settled = 0
    t0 = time.perf_counter()
    for at in range(0, len(stream), batch):
        part = stream[at : at + batch]
        with db.session_scope() as s:
            tickets = [
                matching.OrderTicket(principals[buyer], first_listing + li, qty, "70.00")
                for li, buyer, qty in part
            ]
            matched = [
                (o.trade_id, tickets[o.index].actor)
                for o in matching.match_orders(s, tickets=tickets)
                if o.ok
            ]
        with db.session_scope() as s:
            pays = [matching.PaymentTicket(actor, tid, f"P{tid}") for tid, actor in matched]
            paid = [o.trade_id for o in matching.record_payments(s, tickets=pays) if o.ok]
        with db.session_scope() as s:
            done = settlement.confirm_payments(s, actor=agent, trade_ids=paid)
            settled += sum(1 for o in done if o.ok)
    return time.perf_counter() - t0, settled


def per_order(
    url: str, stream: list[tuple[int, int, int]], principals: list, first_listing: int
) -> tuple[float, int]:
    """Every order in its own transactions through the per-order API path: matched (``place_order``), paid
    and confirmed one by one (seconds, settled orders)."""
    from govgrid.carbon.services import market, settlement
    from govgrid.core import db
    from govgrid.core.audit.service import SystemActor
    from govgrid.core.errors import ConflictError

    agent = SystemActor("settlement-bench")
    settled = 0
    t0 = time.perf_counter()
    for li, buyer, qty in stream:
        try:
            with db.session_scope() as s:
                r = market.place_order(
                    s, actor=principals[buyer], listing_id=first_listing + li, quantity=qty, price="70.00"
                )
                assert r.trade is not None
                settlement.pay(s, actor=principals[buyer], trade_id=r.trade.id, payment_ref=f"P{r.trade.id}")
                settlement.confirm_payment(s, actor=agent, trade_id=r.trade.id, received=True)
                settled += 1
        except ConflictError:  # sold out: refused, nothing written
            pass
    return time.perf_counter() - t0, settled


def _check(total: int) -> dict[str, Any]:
    """Every tonne in exactly one block; delivered tonnes equal settled trade tonnes; the tonnes still
    reserved equal the listings' unsold tonnes; one audit record per order, payment and settlement; the audit
    chain verifies."""
    from govgrid.carbon.enums import CreditStatus, MovementKind, TradeStatus
    from govgrid.carbon.models import CreditBlock, CreditMovement, MarketListing, MarketTrade
    from govgrid.core import db
    from govgrid.core.audit import service as audit
    from govgrid.core.audit.models import AuditRecord

    with db.session_scope(readonly=True) as s:

        def total_of(stmt: Any) -> int:
            return int(s.scalar(stmt) or 0)

        trades = total_of(select(func.count(MarketTrade.id)).where(MarketTrade.status == TradeStatus.settled))
        records = dict(
            s.execute(
                select(AuditRecord.action, func.count(AuditRecord.seq))
                .where(
                    AuditRecord.action.in_(
                        ["carbon.market_order", "carbon.market_pay", "carbon.market_settle"]
                    )
                )
                .group_by(AuditRecord.action)
            ).all()
        )
        return {
            "tonnes": total,
            "in_blocks": total_of(select(func.sum(CreditBlock.quantity))),
            "delivered": total_of(
                select(func.sum(CreditMovement.quantity)).where(CreditMovement.kind == MovementKind.trade)
            ),
            "settled_tonnes": total_of(
                select(func.sum(MarketTrade.quantity)).where(MarketTrade.status == TradeStatus.settled)
            ),
            "reserved": total_of(
                select(func.sum(CreditBlock.quantity)).where(CreditBlock.status == CreditStatus.reserved)
            ),
            "unsold": total_of(select(func.sum(MarketListing.remaining))),
            "settled_trades": trades,
            "audit_records": records,
            "audit_chain_ok": audit.verify(s).ok,
        }


def _ok(check: dict[str, Any]) -> bool:
    records = check["audit_records"]
    return (
        check["in_blocks"] == check["tonnes"]
        and check["delivered"] == check["settled_tonnes"]
        and check["reserved"] == check["unsold"]
        and all(
            records.get(a, 0) == check["settled_trades"]
            for a in ("carbon.market_pay", "carbon.market_settle")
        )
        and records.get("carbon.market_order", 0) == check["settled_trades"]
        and check["audit_chain_ok"]
    )


def _run(tmp: str, name: str, args: argparse.Namespace, orders: int, batch: int) -> dict[str, Any]:
    """One database: set up, then the stream through the batch path (batch > 0) or the per-order path."""
    from govgrid.config import Settings, set_settings

    url = f"sqlite:///{Path(tmp) / name}"
    set_settings(Settings(database_url=url, demo_mode=True, secret_key="bench-" + "x" * 40))
    t0 = time.perf_counter()
    _, principals, total = _setup(url, args.listings, args.per_listing, args.buyers)
    setup_s = time.perf_counter() - t0
    stream = _stream(orders, args.listings, args.buyers)
    mem_s, mem_settled = in_memory(stream, args.listings, args.per_listing)
    cpu0 = time.process_time()
    if batch:
        db_s, db_settled = persisted(url, stream, principals, first_listing=1, batch=batch)
    else:
        db_s, db_settled = per_order(url, stream, principals, first_listing=1)
    cpu_s = time.process_time() - cpu0
    check = _check(total)
    return {
        "orders": orders,
        "batch": batch or 1,
        "setup_s": round(setup_s, 2),
        "persisted": {
            "seconds": round(db_s, 2),
            "orders_per_s": round(orders / db_s, 1),
            "settled": db_settled,
            "settled_per_s": round(db_settled / db_s, 1),
            "cpu_seconds": round(cpu_s, 2),
            "settled_per_cpu_s": round(db_settled / cpu_s, 1),
        },
        "in_memory": {
            "seconds": round(mem_s, 4),
            "orders_per_s": round(orders / mem_s, 1),
            "settled": mem_settled,
        },
        "persisted_vs_memory": round(mem_s / db_s, 4),
        "ledger": check,
        "ledger_ok": _ok(check) and db_settled == mem_settled,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--listings", type=int, default=1_000)
    parser.add_argument("--per-listing", type=int, default=40)
    parser.add_argument("--buyers", type=int, default=100)
    parser.add_argument("--batch", type=int, default=500, help="orders per matching/payment/clearing batch")
    parser.add_argument(
        "--per-order",
        type=int,
        default=300,
        help="orders through the per-order path, for reference (0: none)",
    )
    parser.add_argument("--smoke", action="store_true", help="300 orders against 30 listings (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.orders, args.listings, args.buyers, args.batch, args.per_order = 300, 30, 20, 100, 30
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="govgrid-bench-market-") as tmp:
        batched = _run(tmp, "batched.db", args, args.orders, args.batch)
        single = _run(tmp, "per-order.db", args, args.per_order, 0) if args.per_order else None
    rate = batched["persisted"]["settled_per_s"]
    result = {
        "load_average_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "listings": args.listings,
        "batched": batched,
        "per_order": single,
        "target_settled_per_s": TARGET,
        "meets_target": rate >= TARGET,
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if batched["ledger_ok"] and (single is None or single["ledger_ok"]) else 1


if __name__ == "__main__":
    sys.exit(main())
