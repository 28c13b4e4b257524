"""Where a concern is and who answers it: a point or an address resolved to the deepest division (village or
grid cell), and the responsible unit proposed for a category there (the line department when the category
needs one, else the smallest territorial unit: village, township, county; 最小服务节点 first)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from govgrid.appeals import categories
from govgrid.appeals.enums import LocationSource
from govgrid.appeals.services import config
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ValidationFailedError

CITY_LEVELS = ("national", "province", "city")


@dataclass
class Location:
    """Where a concern is: the deepest division and how we know."""

    division: Division
    lon: float | None
    lat: float | None
    source: LocationSource


CACHE_SECONDS = 60.0  # divisions and departments change rarely; a minute of staleness is harmless
NamedDivision = tuple[str, str, str, str | None]  # code, name, level, parent_code
_named_cache: dict[str, tuple[float, list[NamedDivision]]] = {}
_dept_cache: dict[str, tuple[float, int]] = {}


def clear_caches() -> None:
    """Forget cached division names and department ids (after reorganisations; tests)."""
    _named_cache.clear()
    _served_cache.clear()
    _dept_cache.clear()


def _named_divisions(session: Session, root: Division) -> list[NamedDivision]:
    """(code, name, level, parent_code) of townships and villages below a division (cached for a minute)."""
    hit = _named_cache.get(root.code)
    if hit is None or time.monotonic() - hit[0] > CACHE_SECONDS:
        rows: list[NamedDivision] = [
            (r[0], r[1], r[2], r[3])
            for r in session.execute(
                select(Division.code, Division.name, Division.level, Division.parent_code)
                .where(Division.path.like(root.path + "%"), Division.level.in_(("township", "village")))
                .order_by(Division.code)
            )
        ]
        hit = (time.monotonic(), rows)
        _named_cache[root.code] = hit
    return hit[1]


def resolve_address(session: Session, *, address: str, root: Division) -> Division | None:
    """The deepest division named in an address, searching below `root` (township + village names)."""
    named = _named_divisions(session, root)
    towns = [r for r in named if r[2] == "township" and r[1] in address]
    town_codes = {t[0] for t in towns}
    villages = [r for r in named if r[2] == "village" and r[1] in address]
    if town_codes:
        in_town = [v for v in villages if v[3] in town_codes]
        code = in_town[0][0] if in_town else sorted(town_codes)[0]
    elif len(villages) == 1:
        code = villages[0][0]
    else:
        return None  # no name, or a village name shared by several townships: ambiguous
    return session.get(Division, code)


@dataclass
class ServedCounty:
    """A county (or district) served here: one with townships in the divisions tree, and its townships."""

    code: str
    name: str
    townships: list[tuple[str, str]]  # (code, name), in code order


_served_cache: list[tuple[float, list[ServedCounty]]] = []


def served_counties(session: Session) -> list[ServedCounty]:
    """The counties a resident can choose (those with townships), with their townships (cached a minute)."""
    if _served_cache and time.monotonic() - _served_cache[0][0] <= CACHE_SECONDS:
        return _served_cache[0][1]
    towns = session.execute(
        select(Division.code, Division.name, Division.parent_code)
        .where(Division.level == "township")
        .order_by(Division.code)
    ).all()
    per: dict[str, list[tuple[str, str]]] = {}
    for code, name, parent in towns:
        if parent:
            per.setdefault(parent, []).append((code, name))
    rows = session.execute(select(Division.code, Division.name).where(Division.code.in_(list(per)))).all()
    names: dict[str, str] = {r[0]: r[1] for r in rows}
    out = [ServedCounty(c, names.get(c, c), per[c]) for c in sorted(per)]
    _served_cache[:] = [(time.monotonic(), out)]
    return out


def _chosen_root(session: Session, county_code: str | None, township_code: str | None) -> Division | None:
    """The county or township the reporter chose (422 if it is not one served here)."""
    served = {c.code: c for c in served_counties(session)}
    if township_code:
        county = served.get(township_code[:6])
        if county is None or township_code not in {t[0] for t in county.townships} or (
            county_code and county_code != county.code
        ):
            raise ValidationFailedError(
                "所选乡镇不在所选区县内，请重新选择 (the township chosen is not in the county chosen)",
                details=[{"loc": ["township_code"], "msg": "not a township of a served county"}],
            )
        return session.get(Division, township_code)
    if county_code:
        if county_code not in served:
            raise ValidationFailedError(
                "所选区县不在本平台受理范围内，请重新选择 (the county chosen is not served here)",
                details=[{"loc": ["county_code"], "msg": "not a served county"}],
            )
        return session.get(Division, county_code)
    return None


def county_in_address(session: Session, *, address: str) -> Division | None:
    """The served county an address names (平定县冠山镇… → 平定县), else the one whose township or village
    names it holds, when exactly one county has them; None when nothing or several counties match."""
    served = served_counties(session)
    named = [c for c in served if c.name in address]
    if len(named) == 1:
        return session.get(Division, named[0].code)
    if named:
        return None
    by_town = [c for c in served if any(name in address for _code, name in c.townships)]
    if len(by_town) == 1:
        return session.get(Division, by_town[0].code)
    return None


def resolve_place(
    session: Session,
    *,
    address: str | None,
    county_code: str | None = None,
    township_code: str | None = None,
) -> Division | None:
    """The division a report lands in from the choice in the form and the address, before anything is saved:
    the chosen township or county (or the county the address names), then the deepest township/village the
    address names below it. None when neither a choice nor the address tells the county."""
    address = (address or "").strip()
    root = _chosen_root(session, county_code, township_code)
    if root is None and address:
        root = county_in_address(session, address=address)
    if root is None:
        return None
    found = resolve_address(session, address=address, root=root) if address else None
    return found or root


def locate(
    session: Session,
    *,
    lon: float | None,
    lat: float | None,
    address: str | None,
    default_division_code: str | None,
    text: str | None = None,
    county_code: str | None = None,
    township_code: str | None = None,
) -> Location:
    """Resolve a point, the reporter's county/township choice or an address to the deepest division."""
    if (lon is None) != (lat is None):
        raise ValidationFailedError(
            "经纬度须同时提供 (give both longitude and latitude)",
            details=[{"loc": ["lon" if lon is None else "lat"], "msg": "missing"}],
        )
    if lon is not None and lat is not None:
        div = divisions.locate(session, lon, lat)
        if div is None:
            raise ValidationFailedError(
                f"坐标 ({lon}, {lat}) 不在任何行政区划内 (the point lies outside every division)",
                details=[{"loc": ["lon"], "msg": "outside every division"}],
            )
        if div.level in CITY_LEVELS:
            raise ValidationFailedError(
                "坐标不在本平台管辖的区县内 (the point is not inside a county served here)",
                details=[{"loc": ["lon"], "msg": f"only located to {div.level} {div.code}"}],
            )
        return Location(div, lon, lat, LocationSource.point)
    if county_code or township_code:
        chosen = resolve_place(session, address=address, county_code=county_code, township_code=township_code)
        if chosen is not None:
            return Location(chosen, None, None, LocationSource.chosen)
    if address and address.strip():
        # An address naming another served county lands there, not in the channel's default county.
        named = county_in_address(session, address=address)
        if named is not None and named.code != default_division_code:
            found = resolve_address(session, address=address, root=named)
            return Location(found or named, None, None, LocationSource.address)
    root = session.get(Division, default_division_code) if default_division_code else None
    if address and address.strip():
        found = resolve_address(session, address=address, root=root) if root is not None else None
        if found is not None:
            return Location(found, None, None, LocationSource.address)
    if text and root is not None:
        # a message without a point or address often names the place in its text
        found = resolve_address(session, address=text, root=root)
        if found is not None:
            return Location(found, None, None, LocationSource.text)
    if root is not None and root.level not in CITY_LEVELS:
        return Location(root, None, None, LocationSource.channel)
    raise ValidationFailedError(
        "无法确定诉求位置：请提供坐标，或包含乡镇/村名称的地址 (cannot locate the concern: give a point, "
        "or an address naming the township/village)",
        details=[{"loc": ["address"], "msg": "unresolved"}],
    )


# --------------------------------------------------------------------------------------------- responsible
# unit


def lineage(div: Division) -> dict[str, str]:
    """{'county': code, 'township': code, 'village': code} from a division's path (codes by length)."""
    out: dict[str, str] = {}
    for code in div.path.strip("/").split("/"):
        if len(code) == 6 and code != "000000" and not code.endswith("0000"):
            out["county"] = code
        elif len(code) == 6 and code.endswith("00") and not code.endswith("0000"):
            out.setdefault("city", code)
        elif len(code) == 9:
            out["township"] = code
        elif len(code) == 12:
            out["village"] = code
    if "county" not in out and len(div.code) >= 6:
        out["county"] = div.code[:6]
    return out


def department_id(session: Session, *, code: str) -> int | None:
    """A department id by code (found ids cached for a minute)."""
    hit = _dept_cache.get(code)
    if hit is not None and time.monotonic() - hit[0] <= CACHE_SECONDS:
        return hit[1]
    found = session.scalar(select(Department.id).where(Department.code == code))
    if found is not None:
        _dept_cache[code] = (time.monotonic(), found)
    return found


def propose_unit(session: Session, *, division: Division, category_code: str) -> int | None:
    """The responsible unit: the category's line department, else village, township, county."""
    cat = categories.get_or_default(category_code)
    lin = lineage(division)
    line = cat.line
    if "county" in lin:  # the county's own routing rule (e.g. installed from a solution pack) comes first
        own = config.division_category(session, division_code=lin["county"], category_code=cat.code)
        if "line" in own:
            line = own["line"] or None
    candidates: list[str] = []
    if line and "county" in lin:
        candidates.append(f"{lin['county']}-{line}")
    for level in ("village", "township", "county"):
        if level in lin:
            candidates.append(f"{lin[level]}-government")
    for code in candidates:
        found = department_id(session, code=code)
        if found is not None:
            return found
    return None


def superior_of(session: Session, *, dept: Department) -> int | None:
    """The unit's superior: the government one level up, or the county government for a bureau."""
    if dept.line_code == "government":
        parent = dept.division.parent_code
        if parent:
            found = department_id(session, code=f"{parent}-government")
            if found is not None:
                return found
        return dept.parent_id
    found = department_id(session, code=f"{dept.division_code}-government")
    return found if found is not None else dept.parent_id


def county_of(session: Session, *, division_code: str) -> str:
    """The county code (6 digits) a division lies in."""
    div = session.get(Division, division_code)
    return lineage(div).get("county", division_code[:6]) if div is not None else division_code[:6]


def candidate_units(session: Session, *, division_code: str) -> list[tuple[int, str]]:
    """Units a dispatcher may choose: the village and township first, then the county's departments."""
    div = session.get(Division, division_code)
    lin = lineage(div) if div is not None else {}
    county = lin.get("county", division_code[:6])
    codes = [f"{lin[k]}-government" for k in ("village", "township") if k in lin]
    rows = session.execute(
        select(Department.id, Department.name, Department.code)
        .where(or_(Department.division_code == county, Department.code.in_(codes)))
        .order_by(Department.code)
    ).all()
    first = [(r[0], r[1]) for r in rows if r[2] in codes]
    return first + [(r[0], r[1]) for r in rows if r[2] not in codes]


def place_label(session: Session, *, code: str | None) -> dict[str, str | None] | None:
    """What a resident is shown before submitting: the county, township and village a report lands in."""
    division = session.get(Division, code) if code else None
    if division is None:
        return None
    codes = [c for c in division.path.strip("/").split("/") if c]
    rows = session.execute(select(Division.code, Division.name).where(Division.code.in_(codes))).all()
    names: dict[str, str] = {r[0]: r[1] for r in rows}
    lin = lineage(division)
    parts = {k: names.get(lin[k]) if k in lin else None for k in ("county", "township", "village")}
    label = "".join(v for v in (parts["county"], parts["township"], parts["village"]) if v)
    return {"code": division.code, "label": label or division.name, **parts}
