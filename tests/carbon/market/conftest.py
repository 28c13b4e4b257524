"""Market fixtures: the registry's users and flow, two enterprise accounts with their traders, and helpers
that drive the market through its API as the right roles."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.carbon.models import CreditBlock
from govgrid.core.identity.models import User
from tests.carbon.registry import conftest as registry

carbon_users = registry.carbon_users
flow = registry.flow
P = "/api/v1/carbon/market"
BUYERS = {"gx_trader": "岳阳绿源纸业有限公司", "hb_trader": "华北钢铁集团有限公司"}


def account_total(db: Session, account_id: int) -> dict[str, int]:
    """Tonnes held by an account per block status."""
    rows = db.execute(
        select(CreditBlock.status, func.sum(CreditBlock.quantity))
        .where(CreditBlock.account_id == account_id)
        .group_by(CreditBlock.status)
    ).all()
    return {s: int(q) for s, q in rows}


@pytest.fixture()
def mk(client, login, flow, db):
    """Issued credits in 君山区林业局's account, two enterprise accounts each with a bound trader."""
    _, _, iss = flow.issued()
    accounts = {}
    for username, holder in BUYERS.items():
        if db.scalar(select(User).where(User.username == username)) is None:
            db.add(User(username=username, display_name=username, password_hash="!", is_demo=True))
            db.flush()
        r = client.post(
            "/api/v1/carbon/accounts",
            json={"holder_name": holder, "division_code": "430600"},
            headers=login("hn_registry"),
        )
        assert r.status_code == 201, r.text
        accounts[username] = r.json()
        r = client.post(
            P + "/members",
            json={"username": username, "account_id": r.json()["id"]},
            headers=login("hn_registry"),
        )
        assert r.status_code == 201, r.text

    class Market:
        issuance = iss
        seller_account = iss["account_id"]
        project_id = iss["project_id"]
        buyer_accounts: ClassVar[dict[str, int]] = {u: a["id"] for u, a in accounts.items()}
        buyer_numbers: ClassVar[dict[str, str]] = {u: a["number"] for u, a in accounts.items()}

        def listing(self, *, expect: int = 201, **over):
            body = {
                "project_id": iss["project_id"],
                "vintage_start": iss["vintage_start"],
                "vintage_end": iss["vintage_end"],
                "mode": "listed",
                "quantity": 100,
                "price": "60.00",
            }
            body.update(over)
            r = client.post(P + "/listings", json=body, headers=login("jsh_forestry"))
            assert r.status_code == expect, r.text
            return r.json()

        def order(self, listing_id, quantity, price="60.00", user="gx_trader", expect=201, **over):
            body = {"listing_id": listing_id, "quantity": quantity, "price": price, **over}
            r = client.post(P + "/orders", json=body, headers=login(user))
            assert r.status_code == expect, r.text
            return r.json()

        def pay(self, trade_id, user="gx_trader", expect=200):
            r = client.post(
                f"{P}/trades/{trade_id}/payment", json={"payment_ref": "BANK-0001"}, headers=login(user)
            )
            assert r.status_code == expect, r.text
            return r.json()

        def confirm(self, trade_id, received=True, user="hn_registry", expect=200):
            r = client.post(
                f"{P}/trades/{trade_id}/confirm", json={"received": received}, headers=login(user)
            )
            assert r.status_code == expect, r.text
            return r.json()

        def bought(self, quantity=10, **over):
            """A listing bought, paid and settled: (listing, order, trade)."""
            x = self.listing(**over)
            o = self.order(x["id"], quantity, price=x["price"])
            self.pay(o["trade"]["id"])
            return x, o, self.confirm(o["trade"]["id"])

    return Market()


def money(text: str) -> Decimal:
    """A price or amount from a response."""
    return Decimal(text)
