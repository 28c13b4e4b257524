"""Modules put each department's open work into the 条×块 matrix."""

from sqlalchemy import select

from govgrid.core import modules
from govgrid.core.departments.models import Department


def test_matrix_cells_carry_module_work_counts(client, db, login, monkeypatch):
    tax = db.scalar(select(Department.id).where(Department.code == "410527-tax"))
    counter = modules.WorkCounter(
        "在办测试", "open tests", lambda session, ids: {tax: 3} if tax in ids else {}
    )
    spec = modules.ModuleSpec(name="probe", title_zh="探针", title_en="probe", work_counters=[counter])
    monkeypatch.setattr(modules, "module_specs", lambda: [spec])
    body = client.get("/api/v1/matrix", headers=login("nh_gov")).json()
    assert body["cells"]["tax"]["410527"]["open_work"] == {"open tests": 3}
    assert body["cells"]["finance"]["410527"]["open_work"] == {}
    page = client.get("/", headers=login("nh_gov"))
    assert "在办测试 3" in page.text

