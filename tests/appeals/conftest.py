"""Appeals fixtures: the Neihuang channel, Open311 key and handler users committed once per session;
factories."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.appeals import demo
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import intake
from govgrid.core import db as coredb
from govgrid.core.audit.service import PublicActor
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import User
from govgrid.core.modules import DemoContext
from govgrid.demo import DEMO_PASSWORD

WORLD: dict[str, str] = {}


@pytest.fixture(scope="session")
def appeals_world(database_url: str) -> dict[str, str]:
    """Channel `neihuang`, default jurisdiction 410527, an Open311 key, handler users (committed)."""
    return ensure_world()


def ensure_world() -> dict[str, str]:
    """Commit the appeals world once per process (call it before any rolled-back `db` session is open)."""
    if not WORLD:
        ctx = DemoContext(password=DEMO_PASSWORD)
        with coredb.session_scope() as session:
            demo.ensure_setup(session, ctx)
        key_line = next(line for line in ctx.printed if "api_key:" in line)
        WORLD["api_key"] = key_line.rsplit("api_key:", 1)[1].strip()
        WORLD["token"], WORLD["aes_key"], WORLD["app_id"] = (
            demo.DEMO_TOKEN,
            demo.DEMO_AES_KEY,
            demo.DEMO_APP_ID,
        )
    return WORLD


@pytest.fixture()
def world(appeals_world, db: Session) -> dict[str, str]:
    """The committed world, inside the test's rolled-back transaction."""
    return appeals_world


def principal(db: Session, username: str):
    """A user's principal (roles loaded as the API would)."""
    uid = db.scalar(select(User.id).where(User.username == username))
    assert uid is not None, username
    return identity.load_user_principal(db, uid)


def count_tickets(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Ticket)) or 0


# A point inside 内黄县 城关镇 first village (computed from the demo partition at first use).
def village_point(db: Session, code: str = "410527100200") -> tuple[float, float]:
    """A point strictly inside a demo village."""
    import json

    from shapely.geometry import shape

    from govgrid.core.divisions.models import Division

    geom = shape(json.loads(db.scalar(select(Division.boundary).where(Division.code == code))))
    p = geom.representative_point()
    return round(p.x, 6), round(p.y, 6)


def make_ticket(
    db: Session,
    *,
    description: str = "城关镇东关村路口垃圾堆放好几天没人清运",
    now: datetime | None = None,
    village: str = "410527100200",
    **kw,
) -> Ticket:
    """A ticket at a village point through the real intake."""
    lon, lat = village_point(db, village)
    data = intake.TicketInput(
        channel=kw.pop("channel", "web"),
        description=description,
        lon=lon,
        lat=lat,
        reporter_name=kw.pop("reporter_name", "王建国"),
        reporter_phone=kw.pop("reporter_phone", "13912345678"),
        **kw,
    )
    return intake.create_ticket(db, actor=PublicActor("web"), data=data, now=now)


def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    """What the WeChat platform sends as `signature` (built with wechatpy's signer, the third-party
    counterpart)."""
    from wechatpy.utils import WeChatSigner

    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return signer.signature


def now_ts() -> str:
    return str(int(time.time()))


@pytest.fixture(autouse=True)
def city_events(monkeypatch) -> list:
    """Capture what appeals hands to the city-event port (core.ports) instead of running another module's
    subscriber (whose own transaction cannot nest inside the rolled-back test connection)."""
    from govgrid.core import ports

    seen: list[ports.CityEventReport] = []
    monkeypatch.setattr(ports, "report_city_event", lambda session, report: seen.append(report))
    return seen


@pytest.fixture(autouse=True)
def fresh_caches():
    """Process-level caches (model, department ids, place names) must not outlive a rolled-back test."""
    from govgrid.appeals.services import classifier, routing

    classifier.forget_model()
    routing.clear_caches()
    yield
    classifier.forget_model()
    routing.clear_caches()
