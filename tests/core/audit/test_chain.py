"""The audit chain: every change and login recorded; any edit, deletion or reordering is found."""

import os
import subprocess
import sys

from sqlalchemy import text, update

from govgrid.core.audit import service as audit
from govgrid.core.audit.models import AuditRecord
from govgrid.core.audit.service import SystemActor
from govgrid.demo import DEMO_PASSWORD


def _add(db, n):
    return [audit.record(db, actor=SystemActor("test"), action="test.write", entity_type="thing", entity_id=i,
                         detail={"n": i, "名": "张三"}) for i in range(n)]


def test_untouched_chain_verifies(db):
    _add(db, 5)
    result = audit.verify(db)
    assert result.ok, result
    assert result.checked >= 5


def test_a_batch_append_chains_like_single_appends_and_an_edit_in_it_is_found(db):
    before = _add(db, 2)
    batch = audit.record_many(db, [
        {"actor": SystemActor("test"), "action": "test.batch", "entity_type": "thing", "entity_id": i,
         "detail": {"n": i, "名": "李四"}} for i in range(4)])
    after = _add(db, 1)
    assert [r.seq for r in batch] == list(range(before[-1].seq + 1, before[-1].seq + 5))
    assert batch[0].prev_hash == before[-1].hash and after[0].prev_hash == batch[-1].hash
    assert audit.record_many(db, []) == []
    assert audit.verify(db).ok
    db.execute(text("UPDATE audit_records SET detail = :d WHERE seq = :s"),
               {"d": '{"n": 9}', "s": batch[1].seq})
    db.expire_all()
    result = audit.verify(db)
    assert not result.ok and result.broken_seq == batch[1].seq


def test_edited_row_is_reported_exactly(db):
    recs = _add(db, 5)
    target = recs[2].seq
    db.execute(text("UPDATE audit_records SET action = 'edited' WHERE seq = :s"), {"s": target})
    db.expire_all()
    result = audit.verify(db)
    assert not result.ok
    assert result.broken_seq == target


def test_deleted_row_is_reported(db):
    recs = _add(db, 4)
    db.execute(text("DELETE FROM audit_records WHERE seq = :s"), {"s": recs[1].seq})
    result = audit.verify(db)
    assert not result.ok and result.broken_seq == recs[1].seq


def test_reordered_rows_are_reported(db):
    recs = _add(db, 4)
    a, b = recs[1], recs[2]
    swap = {a.seq: (b.entity_id, dict(b.detail)), b.seq: (a.entity_id, dict(a.detail))}
    # swap the content of two records, keeping their positions: the links no longer hold
    for seq, (entity_id, detail) in swap.items():
        db.execute(
            update(AuditRecord).where(AuditRecord.seq == seq).values(entity_id=entity_id, detail=detail)
        )
    db.expire_all()
    result = audit.verify(db)
    assert not result.ok and result.broken_seq == a.seq


def test_truncated_tail_is_reported(db):
    recs = _add(db, 3)
    db.execute(text("DELETE FROM audit_records WHERE seq = :s"), {"s": recs[-1].seq})
    result = audit.verify(db)
    assert not result.ok


def test_login_and_failed_login_are_audited(client, db):
    ok = client.post("/api/v1/auth/token", data={"username": "nh_gov", "password": DEMO_PASSWORD})
    assert ok.status_code == 200 and ok.json()["token_type"] == "bearer"
    bad = client.post("/api/v1/auth/token", data={"username": "nh_gov", "password": "wrong-password"})
    assert bad.status_code == 401
    actions = db.execute(text("SELECT action FROM audit_records ORDER BY seq DESC LIMIT 2")).scalars().all()
    assert actions == ["auth.login_failed", "auth.login"]


def test_write_through_api_is_audited_in_same_transaction(client, db, login):
    r = client.post("/api/v1/divisions", headers=login("nh_gov"), json={
        "parent_code": "410527100", "code": "410527100299", "name": "测试村", "level": "village"})
    assert r.status_code == 201, r.text
    row = db.execute(text("SELECT action, entity_id FROM audit_records ORDER BY seq DESC LIMIT 1")).one()
    assert tuple(row) == ("division.create", "410527100299")


def test_cli_verify_names_the_edited_record(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    env = {**os.environ, "GOVGRID_DATABASE_URL": url, "GOVGRID_DEMO_MODE": "1"}
    script = (
        "from govgrid.config import Settings, set_settings; from govgrid.core import db;"
        f"set_settings(Settings(database_url='{url}', demo_mode=True)); db.configure('{url}');"
        "from govgrid.core.migrate import upgrade; upgrade('" + url + "');"
        "from govgrid.core.audit import service as a; from govgrid.core.audit.service import SystemActor;"
        "s = db.session_factory()();"
        "[a.record(s, actor=SystemActor('t'), action='x', detail={'i': i}) for i in range(6)]; s.commit()"
    )
    subprocess.run([sys.executable, "-c", script], check=True, env=env)
    verify = [sys.executable, "-m", "govgrid.cli", "audit", "verify"]
    ok = subprocess.run(verify, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "6 records verified" in ok.stdout
    import sqlite3

    con = sqlite3.connect(tmp_path / "audit.db")
    con.execute("UPDATE audit_records SET action = 'tampered' WHERE seq = 4")
    con.commit()
    con.close()
    bad = subprocess.run(verify, env=env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "record 4" in bad.stderr


def test_audit_list_is_scoped_to_the_supervisors_territory(client, db, login):
    from sqlalchemy import select as sa_select

    from govgrid.core.departments.models import Department

    nh = db.scalar(sa_select(Department).where(Department.code == "410527-tax"))
    pd = db.scalar(sa_select(Department).where(Department.code == "140321-tax"))
    for dept in (nh, pd):
        audit.record(db, actor=SystemActor("test"), action="test.scoped", entity_type="thing",
                     department_id=dept.id, division_code=dept.division_code)
    r = client.get("/api/v1/audit", params={"action": "test.scoped"}, headers=login("nh_supervisor"))
    assert r.status_code == 200, r.text
    assert {i["division_code"] for i in r.json()["items"]} == {"410527"}
    assert client.get("/api/v1/audit", headers=login("nh_tax")).status_code == 403
    assert client.get("/api/v1/audit/verify", headers=login("nh_supervisor")).status_code == 403
    assert client.get("/api/v1/audit/verify", headers=login("admin")).json()["ok"] is True


def test_the_parts_the_database_hashes_splice_into_the_canonical_record():
    # PostgreSQL hashes a record in its append statement from these parts and the head it locks there; the
    # chain check hashes `canonical` in Python: the two must be the same bytes, whatever the record holds.
    from datetime import UTC, datetime

    tricky = [
        {"n": 1, "名": "张三", "quote": 'a "b" \\ c'},
        {"prev_hash": "\x00p", "seq": "x", "nested": {"prev_hash": "y", "z": [1, None, 2.5]}},
        {},
    ]
    for detail in tricky:
        for purpose, request_id in (("核查 / 目的", "req-1"), (None, None), ('"}', "\n")):
            values = {
                "seq": 1234567, "at": datetime(2026, 12, 3, 1, 2, 3, 456789, tzinfo=UTC),
                "actor_type": "system", "actor_id": None, "actor_name": "测试", "action": "test.parts",
                "entity_type": None,
                "entity_id": "42", "division_code": "410527", "department_id": None, "purpose": purpose,
                "detail": detail, "request_id": request_id, "prev_hash": "ab" * 32,
            }
            before, between, after = audit.canonical_parts(values)
            spliced = before + values["prev_hash"].encode() + between + str(values["seq"]).encode() + after
            assert spliced == audit.canonical(values), detail
