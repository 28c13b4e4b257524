"""The clearing run (批量结算): delivery versus payment for many paid trades in one transaction.

The rules are settlement's, applied to a batch: only a ``paid`` trade settles, and only for the settlement
agent covering its division; each trade takes exactly its tonnes from its listing's reserved blocks, lowest
serials first (a block larger than the rest of a trade keeps the delivered head, and its tail stays reserved
as a new block); every delivered block gets a ``trade`` ledger line and a delivery row; the seller's net
revenue is split by the project's shares; one audit record and one log line per settled trade. What changes
is how it is written: the trades, reservations and blocks are read with one locking query each, and the
rows are written with one executemany per table instead of a unit of work per trade.
A refused trade (unknown, not paid, not covered) is reported in its outcome and writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from govgrid.carbon.enums import CreditStatus, MovementKind, TradeStatus, require_move
from govgrid.carbon.models import (
    BenefitEntry,
    CreditBlock,
    CreditMovement,
    MarketDelivery,
    MarketListing,
    MarketOrder,
    MarketReservation,
    MarketTrade,
)
from govgrid.carbon.services import access, benefits, traders
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.db import utcnow
from govgrid.core.divisions.models import Division
from govgrid.core.errors import AppError, ConflictError, NotFoundError

log = logging.getLogger(__name__)

_T: Table = MarketTrade.__table__  # type: ignore[assignment]
_B: Table = CreditBlock.__table__  # type: ignore[assignment]
_R: Table = MarketReservation.__table__  # type: ignore[assignment]
_M: Table = CreditMovement.__table__  # type: ignore[assignment]
_D: Table = MarketDelivery.__table__  # type: ignore[assignment]
_E: Table = BenefitEntry.__table__  # type: ignore[assignment]
# Built once; parameters bound per row (executemany).
_DELIVER_HEAD = (
    update(_B)
    .where(_B.c.id == bindparam("b_id"), _B.c.status == CreditStatus.reserved.value)
    .values(
        serial_end=bindparam("b_end"),
        quantity=bindparam("b_qty"),
        account_id=bindparam("b_account"),
        status=CreditStatus.active.value,
    )
)
_SETTLE_TRADE = (
    update(_T)
    .where(_T.c.id == bindparam("t_id"), _T.c.status == TradeStatus.paid.value)
    .values(status=TradeStatus.settled.value, settled_by=bindparam("t_by"), settled_at=bindparam("t_at"))
)
_DROP_RESERVATION = delete(_R).where(_R.c.id == bindparam("r_id"))


@dataclass
class Outcome:
    """One item of a batch: what it wrote (ids) or why it was refused (nothing written for it)."""

    index: int
    trade_id: int | None = None
    order_id: int | None = None
    filled: int = 0
    block_ids: list[int] = field(default_factory=list)
    error: AppError | None = None

    @property
    def ok(self) -> bool:
        """True when the item went through."""
        return self.error is None


@dataclass
class _Piece:
    """A reserved range of a listing as the run sees it; ``block_id`` None until the row is inserted."""

    block_id: int | None
    reservation_id: int | None
    issuance_id: int
    project_id: int
    vintage_start: int
    vintage_end: int
    serial_start: int
    serial_end: int
    account_id: int

    @property
    def quantity(self) -> int:
        return self.serial_end - self.serial_start + 1


def insert_ids(conn: Connection, table: Table, rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[int]:
    """Insert ``rows`` with multi-row statements and return their new ids in the order of ``rows``.

    RETURNING gives no row order on SQLite (and asking SQLAlchemy for one makes it insert row by row), so the
    ids are matched back by ``key`` columns; rows equal in every key column are interchangeable."""
    if not rows:
        return []
    cols = [table.c[k] for k in key]
    found: dict[tuple[Any, ...], list[int]] = {}
    for r in conn.execute(insert(table).returning(table.c.id, *cols), rows):
        found.setdefault(tuple(r[1:]), []).append(r[0])
    return [found[tuple(row[k] for k in key)].pop() for row in rows]


def record_all(session: Session, entries: list[dict[str, Any]]) -> None:
    """One audit record per entry (``audit.record``'s keyword arguments), in order, in the caller's
    transaction, through the core's batch append."""
    audit.record_many(session, entries)


def expire_loaded(session: Session) -> None:
    """Expire the market rows the session holds, so ORM readers see what the batch wrote with Core."""
    kinds = (MarketListing, MarketOrder, MarketTrade, CreditBlock, MarketReservation)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, kinds):
            session.expire(obj)


def _division_paths(session: Session, codes: set[str]) -> dict[str, str]:
    return dict(session.execute(select(Division.code, Division.path).where(Division.code.in_(codes))).all())


def _take(pieces: list[_Piece], quantity: int) -> list[_Piece]:
    """Take ``quantity`` tonnes from the head of ``pieces`` (in place): the delivered ranges."""
    taken: list[_Piece] = []
    need = quantity
    while need:
        head = pieces[0]
        if head.quantity <= need:
            taken.append(pieces.pop(0))
            need -= head.quantity
            continue
        cut = head.serial_start + need - 1
        taken.append(replace(head, serial_end=cut))
        pieces[0] = replace(head, block_id=None, reservation_id=None, serial_start=cut + 1)
        need = 0
    return taken


def settle_trades(session: Session, *, actor: Actor, trade_ids: Sequence[int]) -> list[Outcome]:
    """Deliver many paid trades in one transaction (the settlement agent's clearing run); one outcome each."""
    outcomes = [Outcome(i, trade_id=t) for i, t in enumerate(trade_ids)]
    if not trade_ids:
        return outcomes
    session.flush()
    conn = session.connection()
    trades = {
        r.id: r
        for r in conn.execute(select(_T).where(_T.c.id.in_(set(trade_ids))).with_for_update()).mappings()
    }
    paths = _division_paths(session, {t["division_code"] for t in trades.values()})
    accepted: dict[int, Outcome] = {}
    for o in outcomes:
        t = trades.get(o.trade_id or 0)
        try:
            if t is None:
                raise NotFoundError(f"成交记录 {o.trade_id} 不存在 (no trade {o.trade_id})")
            traders.require_supervisor(actor, paths.get(t["division_code"], "\0"))
            if o.trade_id in accepted:
                raise ConflictError("同一成交在本批次中重复 (the trade appears twice in the run)")
            require_move(
                t["status"],
                TradeStatus.settled,
                message=f"该成交当前状态不能确认付款（{t['status']}）(not awaiting confirmation)",
            )
        except AppError as exc:
            o.error = exc
            continue
        accepted[t["id"]] = o
    if not accepted:
        return outcomes
    listing_ids = {trades[t]["listing_id"] for t in accepted}
    pieces: dict[int, list[_Piece]] = {lid: [] for lid in listing_ids}
    rows = conn.execute(
        select(_B, _R.c.id.label("reservation_id"), _R.c.listing_id)
        .join(_R, _R.c.block_id == _B.c.id)
        .where(_R.c.listing_id.in_(listing_ids))
        .order_by(_R.c.listing_id, _B.c.serial_start)
        .with_for_update()
    ).mappings()
    for r in rows:
        pieces[r["listing_id"]].append(
            _Piece(
                r["id"],
                r["reservation_id"],
                r["issuance_id"],
                r["project_id"],
                r["vintage_start"],
                r["vintage_end"],
                r["serial_start"],
                r["serial_end"],
                r["account_id"],
            )
        )
    now = utcnow()
    by = access.holder_name(actor)
    delivered: list[tuple[int, _Piece]] = []  # (trade id, delivered range)
    for trade_id in sorted(accepted):
        t = trades[trade_id]
        left = pieces[t["listing_id"]]
        if (
            sum(p.quantity for p in left) < t["quantity"]
        ):  # the reservation invariant broke: never deliver twice
            accepted.pop(trade_id).error = ConflictError(
                "冻结碳汇不足，无法交割 (reserved credits do not cover the trade)"
            )
            continue
        delivered.extend((trade_id, p) for p in _take(left, t["quantity"]))
    _write(conn, actor, trades, delivered, pieces, now, by)
    for tid, p in delivered:
        accepted[tid].block_ids.append(p.block_id or 0)
    _split_revenue(session, [trades[t] for t in sorted(accepted)], now)
    record_all(
        session,
        [
            {
                "actor": actor,
                "action": "carbon.market_settle",
                "entity_type": "carbon_market_trade",
                "entity_id": trade_id,
                "division_code": trades[trade_id]["division_code"],
                "detail": {
                    "amount": str(trades[trade_id]["amount"]),
                    "quantity": trades[trade_id]["quantity"],
                },
            }
            for trade_id in sorted(accepted)
        ],
    )
    for trade_id in sorted(accepted):
        log.info(
            "carbon trade settled", extra={"trade_id": trade_id, "block_ids": accepted[trade_id].block_ids}
        )
    expire_loaded(session)
    return outcomes


def _write(
    conn: Connection,
    actor: Actor,
    trades: dict[int, Any],
    delivered: list[tuple[int, _Piece]],
    pieces: dict[int, list[_Piece]],
    now: Any,
    by: str,
) -> None:
    """Write the run: delivered heads of existing blocks, new blocks, reservations, ledger, deliveries."""
    heads = [(tid, p) for tid, p in delivered if p.block_id is not None]
    if heads:
        conn.execute(
            _DELIVER_HEAD,
            [
                {
                    "b_id": p.block_id,
                    "b_end": p.serial_end,
                    "b_qty": p.quantity,
                    "b_account": trades[tid]["buyer_account_id"],
                }
                for tid, p in heads
            ],
        )
        conn.execute(_DROP_RESERVATION, [{"r_id": p.reservation_id} for _, p in heads])
    # new blocks: delivered tails cut in this run, and each listing's remaining tail if it was cut
    fresh: list[tuple[int | None, _Piece]] = [(tid, p) for tid, p in delivered if p.block_id is None]
    fresh += [(None, ps[0]) for ps in pieces.values() if ps and ps[0].block_id is None]
    if fresh:
        ids = insert_ids(
            conn,
            _B,
            [
                {
                    "issuance_id": p.issuance_id,
                    "project_id": p.project_id,
                    "vintage_start": p.vintage_start,
                    "vintage_end": p.vintage_end,
                    "serial_start": p.serial_start,
                    "serial_end": p.serial_end,
                    "quantity": p.quantity,
                    "account_id": p.account_id if tid is None else trades[tid]["buyer_account_id"],
                    "status": (CreditStatus.reserved if tid is None else CreditStatus.active).value,
                    "created_at": now,
                }
                for tid, p in fresh
            ],
            ("serial_start",),
        )
        for (_, p), block_id in zip(fresh, ids, strict=True):
            p.block_id = block_id
        reserved = {id(ps[0]): lid for lid, ps in pieces.items() if ps}
        rows = [{"listing_id": reserved[id(p)], "block_id": p.block_id} for tid, p in fresh if tid is None]
        if rows:
            conn.execute(insert(_R), rows)
    if delivered:
        conn.execute(
            insert(_M),
            [
                {
                    "kind": MovementKind.trade.value,
                    "project_id": p.project_id,
                    "block_id": p.block_id,
                    "from_account_id": trades[tid]["seller_account_id"],
                    "to_account_id": trades[tid]["buyer_account_id"],
                    "serial_start": p.serial_start,
                    "serial_end": p.serial_end,
                    "quantity": p.quantity,
                    "reason": f"trade {tid}",
                    "actor_name": by,
                    "at": now,
                }
                for tid, p in delivered
            ],
        )
        conn.execute(insert(_D), [{"trade_id": tid, "block_id": p.block_id} for tid, p in delivered])
    settled = sorted({tid for tid, _ in delivered})
    if settled:
        conn.execute(_SETTLE_TRADE, [{"t_id": tid, "t_by": by, "t_at": now} for tid in settled])


def _split_revenue(session: Session, trades: list[Any], now: Any) -> None:
    """The benefit ledger entries of the settled trades (the project's shares read once per project)."""
    shares: dict[int, list[benefits.Share]] = {}
    rows: list[dict[str, Any]] = []
    for t in trades:
        project_shares = shares.get(t["project_id"])
        if project_shares is None:
            project_shares = shares[t["project_id"]] = benefits.shares_of(session, project_id=t["project_id"])
        net = Decimal(t["amount"]) - Decimal(t["fee"])
        for s, amount in zip(project_shares, benefits.split_amount(net, project_shares), strict=True):
            rows.append(
                {
                    "trade_id": t["id"],
                    "project_id": t["project_id"],
                    "kind": s.kind,
                    "name": s.name,
                    "share_bp": s.share_bp,
                    "amount": amount,
                    "created_at": now,
                }
            )
    if rows:
        session.connection().execute(insert(_E), rows)
