"""The demo catalog: realistic, in every request state, idempotent, and its reads in a verifiable audit
chain."""

from sqlalchemy import func, select

from govgrid.core.audit import service as audit
from govgrid.core.modules import DemoContext
from govgrid.demo import DEMO_PASSWORD
from govgrid.exchange.demo import load_demo
from govgrid.exchange.models import Grant, Resource, SharingRequest, Upload


def test_demo_catalog_is_complete_and_idempotent(db):
    ctx = DemoContext(password=DEMO_PASSWORD)
    load_demo(db, ctx)
    n = db.scalar(select(func.count()).select_from(Resource))
    lines = db.scalar(select(func.count(Resource.line_code.distinct())))
    assert n >= 30 and lines >= 10
    for county in ("430611", "410527", "140321"):
        names = set(db.scalars(select(Resource.name).where(Resource.division_code == county)))
        assert any("人口" in x for x in names) and any("市场主体" in x for x in names)
        assert any("社会保险" in x for x in names) and any("湿地" in x for x in names)
        assert any("土地" in x for x in names) and any("城市部件" in x for x in names)
    assert db.scalar(select(func.count()).select_from(Upload)) >= 15
    statuses = set(db.scalars(select(SharingRequest.status)))
    assert statuses == {"pending_check", "pending_approval", "granted", "refused", "withdrawn"}
    assert "bureau" in set(db.scalars(select(SharingRequest.route)))
    assert db.scalar(select(func.count()).select_from(Grant).where(Grant.revoked_at.is_not(None))) >= 1
    assert "nh_civil" in ctx.users and "nh_police" in ctx.users
    load_demo(db, DemoContext(password=DEMO_PASSWORD))
    assert db.scalar(select(func.count()).select_from(Resource)) == n
    assert audit.verify(db).ok
