"""Gateway overhead: granted, masked, audited record calls vs the same query through a bare path.

Builds a 1,000,000-row population resource (synthetic, valid ID numbers) in a temporary SQLite database
(and, with --database-url, in a fresh database on that PostgreSQL server), then reads the same pages,
keyset-paged in the same page size, two ways in one process:

- bare: the same SELECT on the records table, rows to dicts, JSON-encoded; no grant check, no masking,
  no audit;
- gateway: `exchange.services.gateway.read_records` as the consumer holding a grant: grant lookup,
  rate limit, field scope, masking of ID number / name / phone / address, response hash, one hash-chained
  audit record and one call-log row per page, committed per call like a request; JSON-encoded.

The two are interleaved page by page over the same keyset pages; each page's time is its best of 5 reads (a
busy machine delays single reads, not the work each path does). Prints rows/s for both and the overhead ratio
(gateway time / bare time). The bare path encodes its body to bytes as a response would.

    python bench/exchange_gateway.py [--rows 1000000] [--page 500] [--pages 200] [--smoke]
                                     [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url


def _log(msg: str) -> None:
    print(msg, flush=True)


def build(url: str, n_rows: int) -> tuple[str, object]:
    """Migrate, load the core demo, create the resource with n_rows records and a grant; returns
    (code, consumer)."""
    from govgrid.cli import prepare_database
    from govgrid.config import Settings, set_settings
    from govgrid.core import db
    from govgrid.core.audit.service import SystemActor
    from govgrid.core.db import utcnow
    from govgrid.core.departments import service as departments
    from govgrid.core.identity import service as identity
    from govgrid.core.modules import DemoContext
    from govgrid.core.privacy import id_number_checksum
    from govgrid.demo import DEMO_PASSWORD, load_core
    from govgrid.exchange import ingest
    from govgrid.exchange.demo import POPULATION_ITEMS
    from govgrid.exchange.models import Grant, Record, Upload
    from govgrid.exchange.schemas import ResourceCreate
    from govgrid.exchange.services import catalog

    set_settings(Settings(database_url=url, demo_mode=True, secret_key="bench-" + "x" * 40))
    db.configure(url)
    t0 = time.perf_counter()
    prepare_database(url)
    actor = SystemActor("bench")
    with db.session_scope() as session:
        load_core(session, DemoContext(password=DEMO_PASSWORD))
        res = catalog.create_resource(
            session,
            actor=actor,
            data=ResourceCreate(
                class_code="A01",
                provider_department_code="410527-public_security",
                name="内黄县人口基础信息（基准测试）",
                sharing_type="conditional",
                sharing_conditions="基准测试",
                grade="important",
                items=POPULATION_ITEMS,
            ),
        )
        code, resource_id = res.code, res.id
        # the static masking twins (静态脱敏) the upload service stores with every record
        rules = ingest.twin_rules((i.name, i.mask, i.personal or i.sensitive) for i in res.items)
        key = ingest.mask_key(rules)
        up = Upload(
            resource_id=resource_id,
            version=1,
            status="active",
            filename="bench",
            row_count=n_rows,
            uploaded_by="bench",
        )
        session.add(up)
        session.flush()
        upload_id = up.id
        consumer_dept = departments.get_by_code(session, "410527-civil_affairs")
        user = identity.ensure_user_with_role(
            session,
            actor=actor,
            username="bench_civil",
            password=DEMO_PASSWORD,
            display_name="基准测试民政局",
            department_code=consumer_dept.code,
            role="operator",
            is_demo=True,
        )
        session.add(
            Grant(
                resource_id=resource_id,
                consumer_department_id=consumer_dept.id,
                mode="records",
                fields=None,
                clear_fields=[],
                purpose="基准测试 benchmark",
                rate_limit_per_minute=10**9,
                expires_at=utcnow() + timedelta(days=1),
            )
        )
        session.flush()
        consumer = identity.principal_for_user(user)
    _log(f"  schema + core demo: {time.perf_counter() - t0:.1f}s")
    t0 = time.perf_counter()
    rng = random.Random(7)
    villages = [
        f"410527{t}{200 + j:03d}"
        for t in ("100", "101", "102", "103", "104", "105", "200", "201")
        for j in range(4)
    ]
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
    batch: list[dict] = []
    engine = db.get_engine()
    with engine.begin() as conn:
        for k in range(n_rows):
            born = f"{1940 + k % 80}{1 + k % 12:02d}{1 + k % 28:02d}"
            first = f"410527{born}{k % 1000:03d}"
            village = villages[k % len(villages)]
            row = {
                "id_number": first + id_number_checksum(first),
                "name": rng.choice(surnames) + rng.choice(given) * 2,
                "gender": "男" if k % 2 else "女",
                "birth_date": f"{born[:4]}-{born[4:6]}-{born[6:]}",
                "phone": f"138{k:08d}",
                "address": f"内黄县城关镇{k % 99 + 1}号院{k % 30 + 1}号",
                "village_code": village,
                "household_no": f"410527{k // 3:06d}",
            }
            batch.append(
                {
                    "upload_id": upload_id,
                    "row_no": k + 2,
                    "division_code": village,
                    "data": row,
                    "masked": ingest.masked_twin(rules, row),
                    "mask_key": key,
                }
            )
            if len(batch) == 20000:
                conn.execute(insert(Record), batch)
                batch = []
        if batch:
            conn.execute(insert(Record), batch)
    _log(f"  {n_rows:,} records inserted: {time.perf_counter() - t0:.1f}s")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE")) if url.startswith("postgresql") else conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return code, consumer


def measure(code: str, consumer: object, page: int, pages: int, rounds: int = 5) -> dict[str, float]:
    """Read `pages` consecutive pages both ways; returns rows/s and the ratio."""
    from govgrid.core import db
    from govgrid.exchange.models import Record, Resource
    from govgrid.exchange.services import gateway as exchange_gateway
    from govgrid.exchange.services import uploads

    with db.session_scope() as session:
        res = session.scalar(select(Resource).where(Resource.code == code))
        upload_id = uploads.active_upload(session, resource=res).id

    # The page boundaries (keyset `after` ids) are taken once, so both paths read exactly the same pages.
    bounds: list[int | None] = [None]
    with db.session_scope() as session:
        ids = session.scalars(
            select(Record.id).where(Record.upload_id == upload_id).order_by(Record.id).limit(page * pages)
        ).all()
    bounds += [ids[k * page - 1] for k in range(1, pages) if k * page - 1 < len(ids)]

    def bare(after: int | None) -> int:
        with db.session_scope() as session:
            stmt = select(Record.id, Record.data).where(Record.upload_id == upload_id)
            if after is not None:
                stmt = stmt.where(Record.id > after)
            rows = session.execute(stmt.order_by(Record.id).limit(page + 1)).all()[:page]
            records = [dict(data) for _, data in rows]
            json.dumps({"records": records}, ensure_ascii=False).encode()
            return len(records)

    def gateway(after: int | None) -> int:
        with db.session_scope() as session:
            out = exchange_gateway.read_records(
                session, actor=consumer, code=code, limit=page, after=after, purpose="benchmark"
            )
            exchange_gateway.page_body(out)  # the response body, reusing the audited serialisation
            return len(out["records"])

    for after in bounds[:3]:  # warm caches and the JSON paths once
        bare(after), gateway(after)
    # Interleaved page by page (bare, gateway, bare, ...) so both see the same machine; each page's time is
    # its best of `rounds` reads, which filters out the moments another process held the CPU.
    best = {"bare": [float("inf")] * len(bounds), "gateway": [float("inf")] * len(bounds)}
    rows = {"bare": 0, "gateway": 0}
    for _ in range(rounds):
        rows = {"bare": 0, "gateway": 0}
        for i, after in enumerate(bounds):
            for name, fn in (("bare", bare), ("gateway", gateway)):
                t0 = time.perf_counter()
                rows[name] += fn(after)
                best[name][i] = min(best[name][i], time.perf_counter() - t0)
    tb, tg = sum(best["bare"]), sum(best["gateway"])
    return {
        "bare_rows_s": rows["bare"] / tb,
        "gateway_rows_s": rows["gateway"] / tg,
        "ratio": tg / tb,
        "rows": rows["gateway"],
    }


def verify_audit() -> str:
    from govgrid.core import db
    from govgrid.core.audit import service as audit

    with db.session_scope() as session:
        result = audit.verify(session)
    if not result.ok:  # a benchmark that breaks the chain must fail, not print a number
        raise SystemExit(f"audit chain BROKEN at record {result.broken_seq} ({result.checked} records)")
    return f"audit chain intact ({result.checked} records)"


def run(label: str, url: str, args: argparse.Namespace) -> None:
    _log(f"[{label}] building {args.rows:,} rows ...")
    code, consumer = build(url, args.rows)
    load_before = os.getloadavg()[0]
    m = measure(code, consumer, args.page, args.pages)
    # The machine's other work during the measurement, for the record beside the figures.
    load = f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}"
    _log(f"[{label}] page size {args.page}, {m['rows']:,} rows per pass (each page: best of 5, interleaved)")
    _log(f"[{label}] {load}")
    _log(f"[{label}] bare endpoint (no policy/masking/audit): {m['bare_rows_s']:>10,.0f} rows/s")
    _log(f"[{label}] gateway (grant, masking, audit):        {m['gateway_rows_s']:>10,.0f} rows/s")
    _log(f"[{label}] overhead ratio gateway/bare:            {m['ratio']:>10.2f}x   (target <= 1.3x)")
    _log(f"[{label}] {verify_audit()}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument(
        "--pages", type=int, default=200, help="pages read per pass (keyset paging from the start)"
    )
    parser.add_argument(
        "--database-url", help="also run on this PostgreSQL server (a fresh database is created)"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes (5,000 rows, 10 pages of 100) in seconds, for CI"
    )
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.page, args.pages = 5_000, 100, 10
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.database_url:
        base = make_url(args.database_url)
        name = f"govgrid_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run("postgresql", base.set(database=name).render_as_string(hide_password=False), args)
        finally:
            from govgrid.core import db

            db.get_engine().dispose()
            with admin.connect() as conn:
                # FORCE: the rate-limit counters keep their own pooled connection to the database
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        _log(
            "[postgresql] not measured: pass --database-url postgresql+psycopg://USER:PW@127.0.0.1:55432/postgres"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
