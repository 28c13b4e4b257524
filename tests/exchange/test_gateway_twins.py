"""Static masking twins (静态脱敏): records stored with their masked items; the gateway merges them in SQL and
answers exactly what masking in Python answers (rows without a current twin are masked in Python)."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from govgrid.core.privacy import mask_value
from govgrid.exchange import ingest
from govgrid.exchange.models import DataItem, Record
from govgrid.exchange.schemas import DataItemIn
from govgrid.exchange.services import gateway, sharing, uploads
from tests.exchange.conftest import LI, OUYANG, ZHANG, principal, request_data

ITEMS = [
    DataItemIn(
        name="id_number", label="公民身份号码", type="id_number", required=True, personal=True, sensitive=True
    ),
    DataItemIn(name="name", label="姓名", type="string", required=True, personal=True, mask="name"),
    DataItemIn(name="phone", label="联系电话", type="phone", personal=True),
    DataItemIn(name="contact", label="其他联系方式", type="string", personal=True, mask="phone"),
    DataItemIn(name="address", label="住址", type="string", personal=True, mask="address"),
    DataItemIn(name="village_code", label="所属村代码", type="division", required=True),
    DataItemIn(name="age", label="年龄", type="integer"),
]
# A "1" then full-width digits: str.isdigit says 11 digits, masking normalises them first (138****8000).
FULL_WIDTH = "1３８００１３８０００"  # noqa: RUF001
ROWS = [
    {**ZHANG, "contact": FULL_WIDTH},
    {**OUYANG, "name": "欧阳娜娜", "contact": "0372-5551234", "address": ""},
    {**LI, "contact": ""},
]


def _granted(db, make_resource, **decision):
    """A resource of 内黄县税务局 with ROWS, and nh_handler's grant (approved by nh_tax with `decision`)."""
    res = make_resource(rows=ROWS, items=ITEMS)
    fields = decision.pop("fields", [])
    req = sharing.submit_request(
        db, actor=principal(db, "nh_handler"), data=request_data(res.code, fields=fields)
    )
    sharing.decide(db, actor=principal(db, "nh_tax"), request_id=req.id, action="approve", **decision)
    db.flush()
    return res


def _read(db, res, user="nh_handler", **kw):
    return gateway.read_records(db, actor=principal(db, user), code=res.code, **kw)


def _without_twins(db, res):
    """Forget the twins of the resource's records, as for rows stored before twins existed."""
    upload_id = uploads.active_upload(db, resource=res).id
    db.execute(update(Record).where(Record.upload_id == upload_id).values(masked=None, mask_key=None))
    db.flush()


def _python_masked(masks: dict[str, str], fields: list[str]) -> list[dict]:
    """What the Python path makes of ROWS: each served field masked by mask_value."""
    out = []
    for row in ROWS:
        stored = {k: None if v == "" else v for k, v in row.items()} | {"age": int(row["age"])}
        out.append({f: mask_value(masks[f], stored[f]) if f in masks else stored[f] for f in fields})
    return out


def test_upload_stores_each_record_with_its_masked_twin(db, make_resource):
    res = make_resource(rows=ROWS, items=ITEMS)
    rules = {
        "id_number": "id_number",
        "name": "name",
        "phone": "phone",
        "contact": "phone",
        "address": "address",
    }
    upload_id = uploads.active_upload(db, resource=res).id
    stored = db.execute(
        select(Record.data, Record.masked, Record.mask_key)
        .where(Record.upload_id == upload_id)
        .order_by(Record.id)
    ).all()
    assert [r.mask_key for r in stored] == [ingest.mask_key(rules)] * 3
    zhang = stored[0].masked
    assert zhang == {f: mask_value(rules[f], v) if f in rules else v for f, v in stored[0].data.items()}
    assert zhang["contact"] == "138****8000" and zhang["id_number"].count("*") == 11
    assert zhang["age"] == 46 and zhang["village_code"] == ZHANG["village_code"]  # unmasked items as stored
    assert stored[1].masked["address"] is None and stored[2].masked["contact"] is None  # empty stays empty
    assert ZHANG["phone"] not in json.dumps(zhang) and ZHANG["id_number"] not in json.dumps(zhang)


def test_twin_path_answers_what_the_python_path_answers(db, make_resource):
    res = _granted(db, make_resource)
    twin = _read(db, res)
    _without_twins(db, res)
    python = _read(db, res)
    assert twin["records"] == python["records"]
    assert (
        twin["records_json"] == python["records_json"]
        and twin["response_sha256"] == python["response_sha256"]
    )
    masks = {
        "id_number": "id_number",
        "name": "name",
        "phone": "phone",
        "contact": "phone",
        "address": "address",
    }
    assert twin["records"] == _python_masked(masks, twin["fields"])
    assert twin["records"][0]["contact"] == "138****8000" and twin["records"][1]["name"] == "欧阳**"
    assert twin["records"][1]["address"] is None and twin["records"][2]["contact"] is None  # empty cells
    assert twin["masked_fields"] == ["id_number", "name", "phone", "contact", "address"]


def test_a_page_mixing_old_and_twinned_rows_is_masked_throughout(db, make_resource):
    res = _granted(db, make_resource)
    expected = _read(db, res)["records"]
    first = db.scalar(
        select(Record.id)
        .where(Record.upload_id == uploads.active_upload(db, resource=res).id)
        .order_by(Record.id)
    )
    db.execute(update(Record).where(Record.id == first).values(masked=None, mask_key=None))
    db.flush()
    assert _read(db, res)["records"] == expected
    assert ZHANG["id_number"] not in json.dumps(expected, ensure_ascii=False)


def test_cleared_fields_come_out_clear_and_the_rest_masked(db, make_resource):
    res = _granted(db, make_resource, clear_fields=["name", "contact"])
    page = _read(db, res)
    masks = {"id_number": "id_number", "phone": "phone", "address": "address"}
    assert page["records"] == _python_masked(masks, page["fields"])
    assert page["records"][0]["name"] == "张三丰" and page["records"][0]["contact"] == FULL_WIDTH
    assert page["masked_fields"] == ["id_number", "phone", "address"]
    _without_twins(db, res)
    assert _read(db, res)["records"] == page["records"]


def test_a_grant_of_some_fields_gets_no_masked_value_of_the_others(db, make_resource):
    res = _granted(db, make_resource, fields=["name", "village_code"])
    page = _read(db, res)
    assert page["records"] == [
        {"name": mask_value("name", r["name"]), "village_code": r["village_code"]} for r in ROWS
    ]


def test_a_rule_changed_after_the_upload_is_applied_in_python(db, make_resource):
    res = _granted(db, make_resource)
    item = db.scalar(select(DataItem).where(DataItem.resource_id == res.id, DataItem.name == "address"))
    item.mask = "full"  # the twin was masked with "address": it no longer matches the rules of today
    db.flush()
    page = _read(db, res)
    masks = {
        "id_number": "id_number",
        "name": "name",
        "phone": "phone",
        "contact": "phone",
        "address": "full",
    }
    assert page["records"] == _python_masked(masks, page["fields"])
    assert page["records"][0]["address"] == "****"


def test_the_provider_reads_clear_values_not_the_twin(db, make_resource):
    res = make_resource(rows=ROWS, items=ITEMS)
    page = _read(db, res, user="nh_tax")
    assert page["masked_fields"] == []
    assert [r["id_number"] for r in page["records"]] == [r["id_number"] for r in ROWS]
    assert page["records"][0]["contact"] == FULL_WIDTH


def test_filters_search_and_paging_work_on_twinned_rows(db, make_resource):
    res = _granted(db, make_resource)
    page = _read(db, res, filters={"village_code": ZHANG["village_code"]})
    assert [r["name"] for r in page["records"]] == ["张**"]
    first = _read(db, res, limit=2)
    rest = _read(db, res, limit=2, after=first["next_after"])
    assert [r["name"] for r in first["records"] + rest["records"]] == ["张**", "欧阳**", "李*"]


def test_counts_offsets_and_sorts_read_the_twins_too(db, make_resource):
    res = _granted(db, make_resource)
    page = _read(db, res, count=True, limit=1, offset=1)
    assert page["total"] == 3 and [r["name"] for r in page["records"]] == ["欧阳**"]
    page = _read(db, res, sort=[("age", True)])
    assert [r["name"] for r in page["records"]] == ["李*", "张**", "欧阳**"]
    assert page["records"][0]["id_number"] == mask_value("id_number", LI["id_number"])
