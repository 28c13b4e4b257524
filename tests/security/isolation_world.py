"""The isolation matrix's world: demo data of the cheap module demos plus one appeal, the objects of each
county that path parameters are filled with, and the personas' credentials.

Objects are found by SQL over the demo's tables (each row carries its division), so the table below is the
only place that knows which parameter name means which object."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

NEIHUANG, PINGDING, JUNSHAN = "410527", "140321", "430611"  # 内黄县, 平定县, 君山区
MISSING = "987654321"  # an id no demo object has
# module demos cheap enough to load for one test module (the appeals, carbon and city map histories take
# from seconds to minutes: their paths get ids that do not exist, and tests/security/test_<module>.py covers
# their territory rules object by object)
LOADED_DEMOS = ("exchange", "services", "economy", "market")

# (path regex, parameter) -> SQL giving (value, county) of one object; first match wins.
# `:nh` is 内黄县's code. Objects of 平定县 are used where the demo has none in 内黄县 (the city map).
OBJECT_SQL: list[tuple[str, str, str]] = [
    (r"/divisions/", "code", "SELECT code, code FROM divisions WHERE code = :nh"),
    (r"/economy/divisions/", "code", "SELECT code, code FROM divisions WHERE code = :nh"),
    (r"/exchange/", "code", "SELECT code, division_code FROM exchange_resources WHERE division_code = :nh "
     "ORDER BY id"),
    (r"/services/", "code", "SELECT code, division_code FROM services_items WHERE division_code = :nh "
     "ORDER BY id"),
    (r"", "indicator", "SELECT code, :nh FROM economy_indicators ORDER BY id"),
    (r"", "department_id", "SELECT id, division_code FROM departments "
     "WHERE code = :nh || '-urban_management'"),
    (r"", "user_id", "SELECT id, :nh FROM users WHERE username = 'nh_handler'"),
    (r"", "assignment_id", "SELECT r.id, d.division_code FROM role_assignments r JOIN departments d "
     "ON d.id = r.department_id JOIN users u ON u.id = r.user_id WHERE u.username = 'nh_handler'"),
    (r"", "key_id", "SELECT k.id, d.division_code FROM api_keys k JOIN departments d "
     "ON d.id = k.department_id WHERE d.division_code LIKE :nh || '%' ORDER BY k.id"),
    (r"", "session_id", "SELECT s.id, :nh FROM user_sessions s JOIN users u ON u.id = s.user_id "
     "WHERE u.username = 'nh_handler' ORDER BY s.id"),
    (r"/exchange/", "request_id", "SELECT id, :nh FROM exchange_requests WHERE handler_division_path "
     "LIKE '%/' || :nh || '/' ORDER BY id"),
    (r"/exchange/", "grant_id", "SELECT g.id, :nh FROM exchange_grants g JOIN exchange_requests r "
     "ON r.id = g.request_id WHERE r.handler_division_path LIKE '%/' || :nh || '/' ORDER BY g.id"),
    (r"/services/", "number", "SELECT a.number, d.division_code FROM services_applications a "
     "JOIN departments d ON d.id = a.department_id WHERE d.division_code = :nh ORDER BY a.id"),
    (r"/services/", "task_id", "SELECT t.id, d.division_code FROM services_tasks t JOIN departments d "
     "ON d.id = t.department_id WHERE d.division_code = :nh ORDER BY t.id"),
    (r"/services/", "rating_id", "SELECT r.id, d.division_code FROM services_ratings r JOIN departments d "
     "ON d.id = r.department_id WHERE d.division_code = :nh ORDER BY r.id"),
    (r"/services/", "material_id", "SELECT id, :nh FROM services_materials ORDER BY id"),
    (r"/economy/", "alert_id", "SELECT id, division_code FROM economy_alerts WHERE division_code = :nh "
     "ORDER BY id"),
    (r"/market/", "credit_code", "SELECT credit_code, division_code FROM market_entities "
     "WHERE division_code = :nh ORDER BY id"),
    (r"/market/", "plan_id", "SELECT id, division_code FROM market_plans WHERE division_code = :nh"),
    (r"/market/", "draw_id", "SELECT id, division_code FROM market_draws WHERE division_code = :nh"),
    (r"/market/", "inspection_id", "SELECT id, division_code FROM market_inspections "
     "WHERE division_code = :nh ORDER BY id"),
    (r"/market/", "inspector_id", "SELECT id, division_code FROM market_inspectors "
     "WHERE division_code = :nh ORDER BY id"),
    (r"/market/", "case_id", "SELECT id, division_code FROM market_shared_cases WHERE division_code = :nh"),
    (r"/appeals/", "ticket_id", "SELECT id, :nh FROM appeals_tickets WHERE division_code LIKE :nh || '%'"),
    (r"/appeals/", "tracking_code", "SELECT tracking_code, :nh FROM appeals_tickets "
     "WHERE division_code LIKE :nh || '%'"),
    (r"/citymap/", "case_id", "SELECT id, :pd FROM citymap_cases WHERE division_code LIKE :pd || '%' "
     "ORDER BY id"),
    (r"/ogcapi/", "fid", "SELECT id, :pd FROM citymap_cases WHERE division_code LIKE :pd || '%' ORDER BY id"),
    (r"/citymap/", "unit_id", "SELECT id, :pd FROM citymap_units WHERE division_path LIKE '%/' || :pd || '/' "
     "ORDER BY id"),
    (r"/citymap/", "camera_id", "SELECT id, :pd FROM citymap_cameras "
     "WHERE division_path LIKE '%/' || :pd || '/' ORDER BY id"),
    (r"^/citymap/classes/", "county_code", "SELECT code, code FROM divisions WHERE code = :pd"),
    (r"", "channel_id", "SELECT id, division_code FROM appeals_wechat_channels ORDER BY id"),
]
# names of objects that only their territory may see listed (division codes, resource codes and service
# item codes are public: the catalogue and the guide pages name them to anyone)
PRIVATE_NAMES = ("credit_code", "number", "tracking_code")
# parameters that name a kind, not an object
CONSTANTS = {"fmt": "json", "collection_id": "cases", "action": "package_list", "name": "report.pdf",
             "service_code": "urban", "token": MISSING}


@dataclass
class Objects:
    """Path parameter values of one county's objects, and what their names look like in a page or list."""

    values: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    markers: dict[str, set[str]] = field(default_factory=dict)  # county -> codes that name its objects

    def fill(self, path: str) -> tuple[str, str | None, bool]:
        """(filled path, the objects' county or None, True if every parameter is a real object)."""
        county: str | None = None
        real = True

        def one(match: re.Match[str]) -> str:
            nonlocal county, real
            name = match.group(1).split(":")[0]
            if name in CONSTANTS:
                return CONSTANTS[name]
            for (regex, param), (value, owner) in self.values.items():
                if param == name and re.search(regex, path):
                    county = county or owner
                    return value
            real = False
            return MISSING

        filled = re.sub(r"\{([^}]+)\}", one, path)
        return filled, county, real


def find_objects(session: Session) -> Objects:
    """Look up one object per parameter name in the loaded demo data."""
    out = Objects()
    for regex, param, sql in OBJECT_SQL:
        # the county codes are constants of this file, written in as literals (a bound parameter in a select
        # list or under || has no type for PostgreSQL to infer)
        literal = sql.replace(":nh", f"'{NEIHUANG}'").replace(":pd", f"'{PINGDING}'")
        row = session.execute(text(literal)).first()
        if row is not None and row[0] is not None:
            owner = str(row[1])[:6]
            out.values[(regex, param)] = (str(row[0]), owner)
    for (_regex, param), (value, owner) in out.values.items():
        if param in PRIVATE_NAMES:
            out.markers.setdefault(owner, set()).add(value)
    return out
