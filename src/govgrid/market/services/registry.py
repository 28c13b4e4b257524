"""The two directories (两库): market entities by credit code with their credit-risk class, and inspectors
with their declared relations. CSV imports are all or nothing, with a reason per refused row."""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError
from govgrid.market import creditcode, risk
from govgrid.market.enums import CreditClass, EntityKind, TaxStatus
from govgrid.market.models import Inspector, InspectorRelation, MarketEntity
from govgrid.market.services import access

log = logging.getLogger(__name__)

MAX_ROWS = 100_000
COLUMNS = (
    "credit_code",
    "name",
    "industry",
    "address",
    "legal_rep",
    "division_code",
    "lon",
    "lat",
    "penalties",
    "complaints",
    "abnormal",
    "serious_violation",
    "tax_status",
)
REQUIRED = ("credit_code", "name")
TRUE = {"1", "true", "yes", "y", "是"}
FALSE = {"", "0", "false", "no", "n", "否"}


@dataclass(frozen=True)
class EntityData:
    """One entity's fields as validated from a form, the API or a CSV row."""

    credit_code: str
    name: str
    division_code: str | None = None
    industry: str = ""
    address: str = ""
    legal_rep: str = ""
    lon: float | None = None
    lat: float | None = None
    penalties: int = 0
    complaints: int = 0
    abnormal: bool = False
    serious_violation: bool = False
    tax_status: str = "unknown"


def facts_of(entity: MarketEntity) -> risk.RiskFacts:
    """The risk facts an entity row holds."""
    return risk.RiskFacts(
        penalties=entity.penalties,
        complaints=entity.complaints,
        abnormal=entity.abnormal,
        serious_violation=entity.serious_violation,
        tax_status=TaxStatus(entity.tax_status),
        problem_findings=entity.problem_findings,
        serious_findings=entity.serious_findings,
    )


def reclassify(entity: MarketEntity) -> bool:
    """Recompute the entity's class from its facts; True if the class changed."""
    assessed = risk.classify(facts_of(entity))
    changed = entity.credit_class != assessed.credit_class
    entity.credit_class = assessed.credit_class
    entity.risk_points = assessed.points
    entity.risk_reasons = assessed.reasons
    entity.updated_at = utcnow()
    return changed


def _check_row(
    data: dict[str, str], row: int, known_divisions: set[str]
) -> tuple[EntityData | None, list[dict[str, Any]]]:
    """Validate one CSV row: the entity or the reasons it is refused."""
    problems: list[dict[str, Any]] = []

    def bad(col: str, msg: str) -> None:
        problems.append({"loc": ["row", row, col], "msg": msg})

    code = creditcode.normalise(data.get("credit_code", ""))
    why = creditcode.problem(code)
    if why:
        bad("credit_code", why)
    name = data.get("name", "").strip()
    if not name or len(name) > 200:
        bad("name", "名称不能为空且不超过 200 字 (name: 1-200 characters)")
    division = data.get("division_code", "").strip() or None
    if division is not None and division not in known_divisions:
        bad("division_code", f"行政区划 {division} 不在登记机关辖区内 (division not under the registrar)")

    def number(col: str, kind: type, lo: float, hi: float) -> Any:
        raw = data.get(col, "").strip()
        if not raw:
            return None if kind is float else 0
        try:
            value = kind(raw)
        except ValueError:
            bad(col, f"应为数字，实为 {raw[:20]!r} (not a number)")
            return None
        if not lo <= value <= hi:
            bad(col, f"超出范围 {lo}-{hi} (out of range)")
            return None
        return value

    def flag(col: str) -> bool:
        raw = data.get(col, "").strip().lower()
        if raw in TRUE:
            return True
        if raw not in FALSE:
            bad(col, f"应为 是/否，实为 {raw[:20]!r} (yes/no expected)")
        return False

    lon, lat = number("lon", float, 73, 136), number("lat", float, 3, 54)
    penalties, complaints = number("penalties", int, 0, 1000), number("complaints", int, 0, 100000)
    abnormal, serious = flag("abnormal"), flag("serious_violation")
    tax = data.get("tax_status", "").strip().upper() or "unknown"
    tax = "unknown" if tax == "UNKNOWN" else tax
    if tax not in {t.value for t in TaxStatus}:
        bad("tax_status", "纳税信用级别应为 A/B/M/C/D 或留空 (tax credit A/B/M/C/D or empty)")
    if problems:
        return None, problems
    return EntityData(
        code,
        name,
        division,
        data.get("industry", "").strip()[:64],
        data.get("address", "").strip()[:300],
        data.get("legal_rep", "").strip()[:64],
        lon,
        lat,
        penalties or 0,
        complaints or 0,
        abnormal,
        serious,
        tax,
    ), []


def _subtree_codes(session: Session, division_code: str) -> set[str]:
    """Division codes at and below a division."""
    path = session.scalar(select(Division.path).where(Division.code == division_code)) or ""
    return set(session.scalars(select(Division.code).where(Division.path.like(path + "%"))))


def parse_entities_csv(session: Session, *, content: bytes, department: Department) -> list[EntityData]:
    """Every row of an entity CSV checked; all refused (422, a reason per row) if any row is wrong."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailedError(
            "文件须为 UTF-8 编码的 CSV (the file must be UTF-8 CSV)",
            details=[{"loc": ["file"], "msg": "not UTF-8"}],
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        raise ValidationFailedError(
            f"表头不对：缺少 {', '.join(missing) or '无'}，多出 {', '.join(unknown) or '无'} "
            f"(header: columns are {', '.join(COLUMNS)})",
            details=[{"loc": ["header"], "msg": ",".join(header)}],
        )
    known = _subtree_codes(session, department.division_code)
    rows: list[EntityData] = []
    problems: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(reader, start=2):
        if n - 1 > MAX_ROWS:
            raise ValidationFailedError(
                f"一次最多导入 {MAX_ROWS} 行 (at most {MAX_ROWS} rows)",
                details=[{"loc": ["file"], "msg": "too many rows"}],
            )
        data = {(k or "").strip(): (v or "") if isinstance(v, str) else "" for k, v in raw.items()}
        entity, why = _check_row(data, n, known)
        problems.extend(why)
        if entity is not None:
            if entity.credit_code in seen:
                first = seen[entity.credit_code]
                problems.append(
                    {
                        "loc": ["row", n, "credit_code"],
                        "msg": f"与第 {first} 行重复 (duplicate of row {first})",
                    }
                )
                continue
            seen[entity.credit_code] = n
            rows.append(entity)
    if problems:
        raise ValidationFailedError(
            f"导入被拒绝：{len(problems)} 处错误，未导入任何主体 (import refused: {len(problems)} problems; "
            "nothing imported)",
            details=problems[:200],
            code="import_rejected",
        )
    if not rows:
        raise ValidationFailedError(
            "文件没有数据行 (no data rows)", details=[{"loc": ["file"], "msg": "empty"}]
        )
    return rows


def upsert_entities(
    session: Session,
    *,
    actor: Actor,
    department: Department,
    rows: list[EntityData],
    source: str = "csv",
    is_demo: bool = False,
) -> dict[str, Any]:
    """Create or update a registrar's entities from checked rows (another registrar's are refused)."""
    existing = {
        e.credit_code: e
        for chunk in range(0, len(rows), 500)
        for e in session.scalars(
            select(MarketEntity).where(
                MarketEntity.credit_code.in_([r.credit_code for r in rows[chunk : chunk + 500]])
            )
        )
    }
    foreign = [c for c, e in existing.items() if e.department_id != department.id]
    if foreign:
        raise ConflictError(
            f"{len(foreign)} 个主体已由其他登记机关登记，如 {foreign[0]} (registered by another registrar)",
            details=[{"loc": ["credit_code"], "msg": c} for c in foreign[:50]],
        )
    created = updated = 0
    for r in rows:
        entity = existing.get(r.credit_code)
        if entity is None:
            entity = MarketEntity(
                credit_code=r.credit_code,
                department_id=department.id,
                kind=EntityKind(creditcode.kind_of(r.credit_code)),
                source=source,
                is_demo=is_demo,
                last_inspector_ids=[],
                problem_findings=0,
                serious_findings=0,
                credit_class=CreditClass.A,
            )
            session.add(entity)
            created += 1
        else:
            updated += 1
        entity.name, entity.industry, entity.address, entity.legal_rep = (
            r.name,
            r.industry,
            r.address,
            r.legal_rep,
        )
        entity.division_code = r.division_code or department.division_code
        entity.lon, entity.lat = r.lon, r.lat
        entity.penalties, entity.complaints = r.penalties, r.complaints
        entity.abnormal, entity.serious_violation = r.abnormal, r.serious_violation
        entity.tax_status = TaxStatus(r.tax_status)
        reclassify(entity)
    session.flush()
    classes = Counter(
        str(r.credit_class)
        for r in session.scalars(select(MarketEntity).where(MarketEntity.department_id == department.id))
    )
    audit.record(
        session,
        actor=actor,
        action="market.entities.import",
        entity_type="market_registry",
        entity_id=department.code,
        division_code=department.division_code,
        department_id=department.id,
        detail={"created": created, "updated": updated, "source": source},
    )
    log.info(
        "market entities imported",
        # not "created": a LogRecord attribute (logging refuses to overwrite it)
        extra={"department_id": department.id, "entities_created": created, "entities_updated": updated},
    )
    return {"created": created, "updated": updated, "classes": dict(sorted(classes.items()))}


def import_entities(
    session: Session, *, actor: Actor, department_code: str, content: bytes
) -> dict[str, Any]:
    """Import a registrar's entity CSV: every row checked first, nothing written if any row is wrong."""
    department = access.require_department(session, actor=actor, department_code=department_code)
    rows = parse_entities_csv(session, content=content, department=department)
    return upsert_entities(session, actor=actor, department=department, rows=rows)


def register_entity(
    session: Session, *, actor: Actor, department_code: str, data: EntityData
) -> MarketEntity:
    """Register (or update) one entity of the registrar."""
    department = access.require_department(session, actor=actor, department_code=department_code)
    why = creditcode.problem(data.credit_code)
    if why:
        raise ValidationFailedError(why, details=[{"loc": ["body", "credit_code"], "msg": why}])
    if data.division_code and data.division_code not in _subtree_codes(session, department.division_code):
        raise ValidationFailedError(
            "行政区划不在登记机关辖区内 (division not under the registrar)",
            details=[{"loc": ["body", "division_code"], "msg": data.division_code}],
        )
    upsert_entities(session, actor=actor, department=department, rows=[data])
    return get_entity(session, principal=None, credit_code=data.credit_code, system=True)


def get_entity(
    session: Session, *, principal: Principal | None, credit_code: str, system: bool = False
) -> MarketEntity:
    """One entity the caller may see (404 otherwise: existence is not disclosed)."""
    stmt = access.entity_query().where(MarketEntity.credit_code == creditcode.normalise(credit_code))
    if not system:
        stmt = stmt.where(access.visible_entities(principal))
    entity = session.scalar(stmt)
    if entity is None:
        raise NotFoundError(f"没有可见的主体 {credit_code} (no such entity in your scope)")
    if not system and principal is not None:
        audit.record(
            session,
            actor=principal,
            action="market.entity.read",
            entity_type="market_entity",
            entity_id=entity.credit_code,
            division_code=entity.division_code,
            department_id=entity.department_id,
        )
    return entity


def list_entities(
    session: Session,
    *,
    principal: Principal,
    division_code: str | None = None,
    credit_class: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[MarketEntity], int, dict[str, int]]:
    """Entities in the caller's scope, filtered; with the total and the count per class."""
    stmt = access.entity_query().where(access.visible_entities(principal))
    if division_code:
        path = session.scalar(select(Division.path).where(Division.code == division_code))
        if path is None:
            raise NotFoundError(f"行政区划 {division_code} 不存在 (no such division)")
        stmt = stmt.where(Division.path.like(path + "%"))
    if q:
        like = f"%{q.strip()[:50]}%"
        stmt = stmt.where(or_(MarketEntity.name.like(like), MarketEntity.credit_code.like(like)))
    by_class = stmt.with_only_columns(MarketEntity.credit_class, func.count()).group_by(
        MarketEntity.credit_class
    )
    counts = {str(c): int(n) for c, n in session.execute(by_class)}
    if credit_class:
        stmt = stmt.where(MarketEntity.credit_class == credit_class)
    total = session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0
    rows = list(session.scalars(stmt.order_by(MarketEntity.credit_code).limit(limit).offset(offset)))
    audit.record(
        session,
        actor=principal,
        action="market.entities.list",
        entity_type="market_registry",
        detail={"division_code": division_code, "class": credit_class, "returned": len(rows)},
    )
    return rows, int(total), dict(sorted(counts.items()))


# ---------------------------------------------------------------- inspectors


def add_inspector(
    session: Session,
    *,
    actor: Actor,
    department_code: str,
    name: str,
    badge_no: str,
    unit_code: str = "",
    fields: str = "",
    is_demo: bool = False,
) -> Inspector:
    """Put an inspector on the department's directory (执法检查人员名录库)."""
    department = access.require_department(session, actor=actor, department_code=department_code)
    unit = creditcode.normalise(unit_code)
    if unit and creditcode.problem(unit):
        raise ValidationFailedError(
            f"单位代码：{creditcode.problem(unit)}",
            details=[{"loc": ["body", "unit_code"], "msg": "invalid credit code"}],
        )
    if session.scalar(select(Inspector.id).where(Inspector.badge_no == badge_no)) is not None:
        raise ConflictError(f"执法证号 {badge_no} 已登记 (badge number already registered)")
    ins = Inspector(
        department_id=department.id,
        division_code=department.division_code,
        name=name,
        badge_no=badge_no,
        unit_code=unit,
        fields=fields,
        is_demo=is_demo,
    )
    session.add(ins)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="market.inspector.add",
        entity_type="market_inspector",
        entity_id=ins.id,
        division_code=department.division_code,
        department_id=department.id,
    )
    log.info("market inspector added", extra={"inspector_id": ins.id, "department_id": department.id})
    return ins


def declare_relation(
    session: Session, *, actor: Actor, inspector_id: int, credit_code: str, note: str = ""
) -> InspectorRelation:
    """Record a declared relation between an inspector and an entity (the draws avoid the pair)."""
    ins = session.get(Inspector, inspector_id)
    if ins is None:
        raise NotFoundError(f"执法人员 {inspector_id} 不存在 (no such inspector)")
    access.require_department_id(session, actor=actor, department_id=ins.department_id)
    code = creditcode.normalise(credit_code)
    why = creditcode.problem(code)
    if why:
        raise ValidationFailedError(why, details=[{"loc": ["body", "credit_code"], "msg": why}])
    found = session.scalar(
        select(InspectorRelation).where(
            InspectorRelation.inspector_id == ins.id, InspectorRelation.credit_code == code
        )
    )
    if found is not None:
        return found
    rel = InspectorRelation(inspector_id=ins.id, credit_code=code, note=note[:200])
    session.add(rel)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="market.inspector.relation",
        entity_type="market_inspector",
        entity_id=ins.id,
        division_code=ins.division_code,
        department_id=ins.department_id,
    )
    log.info("market relation declared", extra={"inspector_id": ins.id, "relation_id": rel.id})
    return rel


def relations_of(session: Session, inspector_ids: list[int]) -> dict[int, list[str]]:
    """Declared relations (credit codes) per inspector."""
    out: dict[int, list[str]] = {i: [] for i in inspector_ids}
    if not inspector_ids:
        return out
    for rel in session.scalars(
        select(InspectorRelation)
        .where(InspectorRelation.inspector_id.in_(inspector_ids))
        .order_by(InspectorRelation.credit_code)
    ):
        out[rel.inspector_id].append(rel.credit_code)
    return out


def list_inspectors(
    session: Session,
    *,
    principal: Principal,
    department_code: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[Inspector], int]:
    """Inspectors in the caller's scope."""
    stmt = access.inspector_query().where(access.visible_inspectors(principal))
    if department_code:
        stmt = stmt.join(Department, Department.id == Inspector.department_id).where(
            Department.code == department_code
        )
    total = session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0
    rows = list(session.scalars(stmt.order_by(Inspector.id).limit(limit).offset(offset)))
    audit.record(
        session,
        actor=principal,
        action="market.inspectors.list",
        entity_type="market_inspector",
        detail={"returned": len(rows)},
    )
    return rows, int(total)


# ---------------------------------------------------------------- from the exchange (core data port)

EXCHANGE_FIELDS = {
    "credit_code": "credit_code",
    "org_name": "name",
    "legal_rep": "legal_rep",
    "township_code": "division_code",
    "address": "address",
    "industry": "industry",
}


def sync_from_exchange(
    session: Session, *, actor: Principal, department_code: str, resource_code: str, limit: int = 5000
) -> dict[str, Any]:
    """Draw the registrar's entities from a shared resource (市场主体登记信息) through the core data port.

    Rows whose credit code fails the GB 32100 check (or is otherwise wrong) are not imported and come back as
    ``refused`` with their reasons, so the provider can correct them; valid rows are created or updated."""
    department = access.require_department(session, actor=actor, department_code=department_code)
    pulled = ports.pull_rows(
        session,
        actor=actor,
        resource_code=resource_code,
        department_id=department.id,
        purpose=f"市场主体名录库同步 {department.code}",
        limit=limit,
    )
    known = _subtree_codes(session, department.division_code)
    good: list[EntityData] = []
    refused: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, row in enumerate(pulled.rows, start=1):
        data = {ours: str(row.get(theirs) or "") for theirs, ours in EXCHANGE_FIELDS.items()}
        if data["division_code"] not in known:
            data["division_code"] = ""
        entity, why = _check_row(data, n, known)
        if entity is None or entity.credit_code in seen:
            refused.extend(why or [{"loc": ["row", n, "credit_code"], "msg": "重复 (duplicate)"}])
            continue
        seen.add(entity.credit_code)
        good.append(entity)
    existing = _existing(session, good)
    mine = [r for r in good if existing.get(r.credit_code, department.id) == department.id]
    report = (
        upsert_entities(session, actor=actor, department=department, rows=mine, source="exchange")
        if mine
        else {"created": 0, "updated": 0, "classes": {}}
    )
    log.info(
        "market exchange sync",
        extra={"department_id": department.id, "rows": len(pulled.rows), "refused": len(refused)},
    )
    return {**report, "refused": refused[:200], "refused_count": len(refused), "resource_code": resource_code}


def _existing(session: Session, rows: list[EntityData]) -> dict[str, int]:
    """Registrar department ids of the entities already registered, by credit code."""
    out: dict[str, int] = {}
    codes = [r.credit_code for r in rows]
    for start in range(0, len(codes), 500):
        for code, dept in session.execute(
            select(MarketEntity.credit_code, MarketEntity.department_id).where(
                MarketEntity.credit_code.in_(codes[start : start + 500])
            )
        ):
            out[code] = dept
    return out
