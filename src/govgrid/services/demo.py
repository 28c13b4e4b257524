"""Demo data: the catalogue of 内黄县 and 君山区, department users for both bundles, a resident of 内黄县 with
a verified identity, and applications in every state (a cross-region birth application accepted in 君山区, a
completed restaurant application with its e-certificate and a bad rating, an overdue one)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.audit.service import SystemActor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.errors import AppError
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import User
from govgrid.core.modules import DemoContext
from govgrid.core.privacy import id_number_checksum, valid_id_number
from govgrid.services.enums import AppStatus
from govgrid.services.models import ApplicantProfile, Application, TaskRecord
from govgrid.services.services import applications, handling, items, measures
from govgrid.services.services.materials import UploadIn

ACTOR = SystemActor("demo-loader")
HOME = "410527"  # 内黄县: where the demo resident lives and items are decided
AWAY = "430611"  # 君山区: where the resident hands in the birth application (异地代收代办)
PDF = b"%PDF-1.4\n% govgrid demo material\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01demo-photo\xff\xd9"
# username, display name, department code, roles
STAFF = [
    ("sv_health", "内黄县卫健委出生医学证明签发员", f"{HOME}-health", ("approver",)),
    ("sv_police", "内黄县公安局户籍民警", f"{HOME}-public_security", ("approver",)),
    ("sv_medical", "内黄县医保局参保经办员", f"{HOME}-medical_security", ("approver",)),
    ("sv_hrss", "内黄县人社局社保卡经办员", f"{HOME}-human_resources", ("approver",)),
    ("sv_approval", "内黄县行政审批局登记员", f"{HOME}-administrative_approval", ("approver", "operator")),
    ("sv_market", "内黄县市场监管局许可科", f"{HOME}-market_regulation", ("approver", "inspector")),
    ("sv_tax", "内黄县税务局登记窗口", f"{HOME}-tax", ("approver",)),
    ("sv_counter", "君山区政务服务中心综合窗口", f"{AWAY}-administrative_approval", ("operator",)),
]
CITIZEN = "sv_citizen"


def demo_id_number() -> str:
    """A well-formed synthetic ID number of a 内黄县 resident (used when the exchange has no residents)."""
    first17 = f"{HOME}19920315" + "123"
    return first17 + id_number_checksum(first17)


def resident_id(session: Session, police: Principal) -> str:
    """The ID number of a resident in the exchange's population base (pulled through the port, audited)."""
    try:
        pulled = ports.pull_rows(
            session,
            actor=police,
            resource_code=f"A01-{HOME}-0001",
            purpose="一网通办演示：选取演示居民",
            limit=1,
        )
    except AppError:
        return demo_id_number()
    rows = [r for r in pulled.rows if valid_id_number(str(r.get("id_number", "")))]
    return str(rows[0]["id_number"]) if rows else demo_id_number()


def ensure_setup(session: Session, ctx: DemoContext) -> dict[str, Principal]:
    """Catalogue, staff and the resident (idempotent); principals by username."""
    for div in (HOME, AWAY):
        items.ensure_catalogue(session, actor=ACTOR, division_code=div)
    users = {}
    for username, display, dept, roles in STAFF:
        for role in roles:
            users[username] = identity.ensure_user_with_role(
                session,
                actor=ACTOR,
                username=username,
                password=ctx.password,
                display_name=display,
                department_code=dept,
                role=role,
                reach="department",
                is_demo=True,
            )
        ctx.users[username] = f"{display} · {'/'.join(roles)}"
    citizen = session.scalar(select(User).where(User.username == CITIZEN))
    if citizen is None:
        citizen = identity.create_user(
            session,
            actor=ACTOR,
            username=CITIZEN,
            password=ctx.password,
            display_name="内黄县居民（演示）",
            is_demo=True,
        )
    ctx.users[CITIZEN] = "内黄县居民 resident (applies online / in 君山区)"
    session.flush()
    out = {}
    for name, u in [*users.items(), (CITIZEN, citizen)]:
        session.expire(u)
        out[name] = identity.principal_for_user(u)
    if session.scalar(select(ApplicantProfile.id).where(ApplicantProfile.user_id == citizen.id)) is None:
        session.add(
            ApplicantProfile(
                user_id=citizen.id, id_number=resident_id(session, out["sv_police"]), home_division_code=HOME
            )
        )
        session.flush()
    return out


def _birth_form() -> dict[str, str]:
    return {
        "child_name": "李小满",
        "child_gender": "女",
        "birth_date": "2026-11-20",
        "hospital": "内黄县人民医院",
    }


def _approve_open(session: Session, who: dict[str, Principal], app: Application, lines: set[str]) -> None:
    for task in session.scalars(
        select(TaskRecord).where(TaskRecord.application_id == app.id, TaskRecord.open.is_(True))
    ).all():
        if task.line_code in lines:
            user = next(
                p for p in who.values() if any(a.department_id == task.department_id for a in p.assignments)
            )
            handling.decide(session, actor=user, task_id=task.id, decision="approve", note="")


def load_demo(session: Session, ctx: DemoContext) -> None:
    """The services demo (fast: the catalogue, nine users, three applications)."""
    who = ensure_setup(session, ctx)
    citizen = who[CITIZEN]
    if session.scalar(select(Application.id).where(Application.is_demo.is_(True)).limit(1)) is not None:
        return
    photo = UploadIn("child_photo", "photo.jpg", JPEG)
    # 1. Cross-region: the resident hands the birth bundle in at 君山区; 内黄县 decides; health has signed.
    birth = applications.submit(
        session,
        actor=citizen,
        data=applications.SubmitIn(
            item_code=f"YJS-{HOME}-BIRTH",
            form=_birth_form(),
            mode="remote_collect",
            accepted_division_code=AWAY,
            files=[photo],
        ),
    )
    _approve_open(session, who, birth, {"health"})
    # 2. A restaurant opened end to end, with its e-certificate and a bad rating to follow up.
    food = applications.submit(
        session,
        actor=citizen,
        data=applications.SubmitIn(
            item_code=f"YJS-{HOME}-FOOD",
            form={
                "shop_name": "满堂红小厨",
                "shop_address": "内黄县城关镇繁荣街8号",
                "area_m2": "80",
                "scope": "热食类食品制售",
            },
            files=[UploadIn("lease", "lease.pdf", PDF), UploadIn("food_safety_rules", "rules.pdf", PDF)],
        ),
    )
    for _ in range(3):
        _approve_open(session, who, food, {"administrative_approval", "market_regulation", "tax"})
    if food.status == AppStatus.approved:
        measures.rate(session, actor=citizen, number=food.number, score="2", comment="税务登记等了两天才通知")
    # 3. Overdue: submitted two weeks ago, the health department has not acted.
    late = applications.submit(
        session,
        actor=citizen,
        data=applications.SubmitIn(
            item_code=f"YJS-{HOME}-BIRTH", form={**_birth_form(), "child_name": "李小安"}, files=[photo]
        ),
    )
    late.submitted_at = utcnow() - timedelta(days=14)
    late.due_at = utcnow() - timedelta(days=6)
    for app in (birth, food, late):
        app.is_demo = True
    session.flush()
    ctx.printed.append(
        f"services: {ctx.base_url}/services  (sv_citizen applies; sv_health, sv_police, sv_medical, "
        "sv_hrss handle the birth bundle; nh_supervisor sees overdue cases)"
    )
