"""The city-map section of solution packs: 内黄县's own class deadlines and lines exported, previewed in
平定县 with a mapping (deadline scale, explicit hours, lines by 条) writing nothing, installed (new cases
get the county's deadlines), uninstalled back to the exact rows; the API refuses anonymous and other
divisions, and a bad mapping is a 422 in Chinese."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.citymap.models import Case, ClassOverride
from govgrid.citymap.services import cases, classes
from govgrid.core.audit.service import SystemActor
from govgrid.core.authz.principal import Principal
from govgrid.core.departments import service as departments
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import User
from govgrid.core.workdays import default_calendar
from govgrid.reuse.models import Installation
from govgrid.reuse.services import packs

ACTOR = SystemActor("citymap-packs-test")
NEIHUANG = "410527"
PINGDING = "140321"
KEY = "citymap/classes"
REUSE = "/api/v1/reuse"
START = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)  # a Wednesday, 09:30 in Beijing
MAPPING: dict[str, Any] = {
    "class_deadline_scale": 2,  # Pingding's teams need twice Neihuang's time
    "class_hours": {"part-0115": 12},  # and set their own for street lamps
    "lines": {"housing": "emergency"},  # Neihuang's housing bureau is Pingding's emergency bureau here
}


def _principal(db: Session, username: str) -> Principal:
    uid = db.scalar(select(User.id).where(User.username == username))
    found = identity.load_user_principal(db, uid) if uid is not None else None
    assert found is not None, username
    return found


def _state(db: Session) -> dict[str, Any]:
    """Everything a pack may change in 平定县's classes: every column of every row, and installations."""
    db.flush()
    db.expire_all()
    cols = [c.key for c in ClassOverride.__table__.columns]
    rows = db.scalars(
        select(ClassOverride).where(ClassOverride.county_code == PINGDING).order_by(ClassOverride.id)
    )
    return {
        "rows": [{c: getattr(r, c) for c in cols} for r in rows],
        "installations": db.scalar(select(func.count()).select_from(Installation)),
    }


def _deadline(db: Session, county: str, kind: str, code: str) -> datetime:
    """The deadline a new case of the class filed at START gets in the county."""
    return cases.deadline_for(db, Case(county_code=county, kind=kind, class_code=code), START)


def _hours(hours: float) -> datetime:
    return default_calendar().add_working_hours(START, hours)


@pytest.fixture()
def origin(db: Session) -> Session:
    """内黄县 runs 暴露垃圾 in 1 h, street lamps in 8 h by its housing bureau, car parking by urban
    management; 平定县 has a paused setting of its own for 暴露垃圾 (4 h)."""
    import govgrid.citymap.module  # noqa: F401  (registers the section)

    for div, line in [(NEIHUANG, "housing"), (NEIHUANG, "urban_management"), (PINGDING, "emergency")]:
        departments.ensure(db, line_code=line, division_code=div)
    for kind, code, hours, line in [
        ("event", "0101", 1, "urban_management"),
        ("part", "0115", 8, "housing"),
        ("event", "0405", None, "urban_management"),
    ]:
        classes.set_override(
            db, actor=ACTOR, county_code=NEIHUANG, kind=kind, code=code, deadline_hours=hours, line=line
        )
    classes.set_override(
        db,
        actor=ACTOR,
        county_code=PINGDING,
        kind="event",
        code="0101",
        deadline_hours=4,
        line=None,
        active=False,
    )
    db.flush()
    return db


def test_a_pack_from_neihuang_installs_in_pingding_with_a_mapping_and_uninstalls_exactly(origin: Session):
    db = origin
    pack = packs.export_pack(db, actor=_principal(db, "nh_gov"), division_code=NEIHUANG, module="citymap")
    content = pack.document["sections"][KEY]
    assert content == {
        "classes": {
            "event-0101": {"deadline_hours": 1.0, "line": "urban_management"},
            "event-0405": {"line": "urban_management"},
            "part-0115": {"deadline_hours": 8.0, "line": "housing"},
        }
    }
    pd_gov = _principal(db, "pd_gov")
    before = _state(db)
    assert _deadline(db, PINGDING, "event", "0101") == _hours(2)  # the paused setting: the standard

    plans = packs.preview(db, actor=pd_gov, pack=pack, division_code=PINGDING, mapping=MAPPING)
    labels = [c.label for p in plans if p.key == KEY for c in p.changes]
    assert "暴露垃圾（事件 0101）：处置时限（工作小时） 4 → 2" in labels
    assert "暴露垃圾（事件 0101）：本县设置 停用 → 启用" in labels
    assert "路灯（部件 0115）：处置时限（工作小时） 16（标准） → 12" in labels
    assert "路灯（部件 0115）：处置部门（条线） 城市管理（标准） → 应急管理" in labels
    assert _state(db) == before  # the preview writes nothing

    packs.install(db, actor=pd_gov, pack=pack, division_code=PINGDING, mapping=MAPPING)
    assert _deadline(db, PINGDING, "event", "0101") == _hours(2)  # 1 h x 2
    assert _deadline(db, PINGDING, "part", "0115") == _hours(12)
    lamp = classes.for_county(db, county_code=PINGDING, kind="part", code="0115")
    parking = classes.for_county(db, county_code=PINGDING, kind="event", code="0405")
    assert lamp.line == "emergency" and parking.line == "urban_management" and parking.deadline_hours == 2
    assert _deadline(db, "410526", "part", "0115") == _hours(16)  # another county keeps the standard

    packs.uninstall(db, actor=pd_gov, pack_id=pack.pack_id, division_code=PINGDING)
    after = _state(db)
    assert after["rows"] == before["rows"]  # ids, values, active flag and times as they were
    assert _deadline(db, PINGDING, "part", "0115") == _hours(16)


def test_the_install_api_refuses_anonymous_and_other_divisions_and_bad_mappings(
    client, origin: Session, login
):
    db = origin
    pack = packs.export_pack(db, actor=ACTOR, division_code=NEIHUANG, module="citymap")
    body = {"division_code": PINGDING, "mapping": MAPPING}
    before = _state(db)
    assert client.post(f"{REUSE}/packs/{pack.id}/preview", json=body).status_code == 401
    assert client.post(f"{REUSE}/packs/{pack.id}/install", json=body).status_code == 401
    nh = login("nh_gov")
    for step in ("preview", "install"):
        assert client.post(f"{REUSE}/packs/{pack.id}/{step}", json=body, headers=nh).status_code == 403
    pd = login("pd_gov")
    for mapping, words in [
        ({"lines": {"housing": "no_such_line"}}, "本县没有"),
        ({"class_hours": {"event-0103": 3}}, "方案包没有类别 event-0103"),
        ({"class_hours": {"event-0101": 0.1}}, "参数映射"),
        ({"class_deadline_scale": 0}, "参数映射"),
        ({"class_hours": {"0101": 3}}, "参数映射"),
    ]:
        for step in ("preview", "install"):
            r = client.post(f"{REUSE}/packs/{pack.id}/{step}", json={**body, "mapping": mapping}, headers=pd)
            assert r.status_code == 422, (mapping, r.text)
            assert words in json.dumps(r.json(), ensure_ascii=False), r.text
    assert _state(db) == before
    r = client.post(f"{REUSE}/packs/{pack.id}/preview", json=body, headers=pd)
    assert r.status_code == 200 and KEY in [p["key"] for p in r.json()]


def test_the_cli_exports_previews_installs_and_uninstalls(monkeypatch, origin: Session, tmp_path):
    from typer.testing import CliRunner

    from govgrid.reuse import cli

    monkeypatch.setattr(cli, "_start", lambda: None)
    runner, pack_file, mapping_file = CliRunner(), tmp_path / "nh.json", tmp_path / "map.json"
    mapping_file.write_text(json.dumps(MAPPING), encoding="utf-8")
    out = runner.invoke(
        cli.app, ["export", "--division", NEIHUANG, "--module", "citymap", "-o", str(pack_file)]
    )
    assert out.exit_code == 0, out.output
    before = _state(origin)
    install = ["install", str(pack_file), "--division", PINGDING, "--mapping", str(mapping_file)]
    dry = runner.invoke(cli.app, [*install, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "/classes/part-0115/deadline_hours" in dry.output and "dry run" in dry.output
    assert _state(origin) == before
    done = runner.invoke(cli.app, install)
    assert done.exit_code == 0, done.output
    assert _deadline(origin, PINGDING, "part", "0115") == _hours(12)
    gone = runner.invoke(cli.app, ["uninstall", f"citymap-{NEIHUANG}", "--division", PINGDING])
    assert gone.exit_code == 0, gone.output
    assert _state(origin)["rows"] == before["rows"]


def test_a_scaled_deadline_out_of_range_and_a_broken_section_are_refused_with_the_reason(db: Session):
    from govgrid.citymap import packs as section
    from govgrid.core.errors import ValidationFailedError

    content = {"classes": {"part-0115": {"deadline_hours": 100}, "event-0101": {"deadline_hours": "soon"}}}
    with pytest.raises(ValidationFailedError) as refused:
        section.plan(db, division_code=PINGDING, content=content, mapping={"class_deadline_scale": 10})
    msgs = [d["msg"] for d in refused.value.details]
    assert any("折算后为 1000" in m for m in msgs) and any("处置时限应在" in m for m in msgs), msgs
    with pytest.raises(ValidationFailedError, match="无法读取"):
        section.plan(db, division_code=PINGDING, content={"classes": []}, mapping={})
    with pytest.raises(ValidationFailedError, match="不是县级区划"):
        section.plan(db, division_code="140300", content={"classes": {}}, mapping={})
    assert section.export(db, division_code=PINGDING) == {"classes": {}}  # a county without settings
