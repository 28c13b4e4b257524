"""The shipped catalogue: the member items and the two bundles (一件事) with their BPMN files.

Pure data: `demo.py` and tests create these items for a county with `services.items.ensure_catalogue`.
Codes are `SX-<division>-<n>` for items (事项) and `YJS-<division>-<name>` for bundles (一件事).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

BUNDLE_FILES = {"birth_bundle": "birth_bundle.bpmn", "restaurant_bundle": "restaurant_bundle.bpmn"}

PHOTO_TYPES = ["image/jpeg", "image/png"]
DOC_TYPES = ["application/pdf", "image/jpeg", "image/png"]


def bundle_xml(process_id: str) -> bytes:
    """The shipped BPMN 2.0 file of a bundle process."""
    return (resources.files("govgrid.services") / "bpmn" / BUNDLE_FILES[process_id]).read_bytes()


def _population(div: str) -> dict[str, Any]:
    return {
        "resource": f"A01-{div}-0001",
        "label": "人口基础信息（公安）",
        "via_line": "public_security",
        "key": {"id_number": "applicant_id_number"},
        "fields": {
            "applicant_name": "name",
            "address": "address",
            "phone": "phone",
            "household_no": "household_no",
        },
    }


def items_for(div: str) -> list[dict[str, Any]]:
    """The items and bundles of one county (division code `div`)."""
    birth_form = [
        {"name": "applicant_id_number", "label": "申请人（父/母）公民身份号码", "required": True},
        {"name": "applicant_name", "label": "申请人姓名", "required": True},
        {"name": "phone", "label": "联系电话", "required": True},
        {"name": "address", "label": "户籍地址", "required": True},
        {"name": "household_no", "label": "户号", "required": False},
        {"name": "child_name", "label": "新生儿姓名", "required": True},
        {"name": "child_gender", "label": "新生儿性别", "required": True},
        {"name": "birth_date", "label": "出生日期", "required": True},
        {"name": "hospital", "label": "出生医院", "required": True},
    ]
    food_form = [
        {"name": "applicant_id_number", "label": "经营者公民身份号码", "required": True},
        {"name": "applicant_name", "label": "经营者姓名", "required": True},
        {"name": "phone", "label": "联系电话", "required": True},
        {"name": "address", "label": "住所", "required": True},
        {"name": "shop_name", "label": "拟用店名（字号）", "required": True},
        {"name": "shop_address", "label": "经营场所地址", "required": True},
        {"name": "area_m2", "label": "经营面积（平方米）", "required": True},
        {"name": "scope", "label": "经营项目", "required": True},
    ]
    id_card = {
        "code": "id_card",
        "name": "居民身份证",
        "required": True,
        "held": {"certificate": "居民身份证"},
    }
    household = {
        "code": "household_register",
        "name": "居民户口簿",
        "required": True,
        "held": {"resource": f"A01-{div}-0001"},
    }
    photo = {
        "code": "child_photo",
        "name": "新生儿证件照片（社保卡用）",
        "required": True,
        "held": None,
        "types": PHOTO_TYPES,
    }
    lease = {
        "code": "lease",
        "name": "经营场所使用证明（租赁合同或产权证明）",
        "required": True,
        "held": None,
        "types": DOC_TYPES,
    }
    food_rules = {
        "code": "food_safety_rules",
        "name": "食品安全管理制度",
        "required": True,
        "held": None,
        "types": DOC_TYPES,
    }
    birth_cert = {
        "code": "birth_certificate",
        "name": "出生医学证明",
        "required": True,
        "held": {"certificate": "出生医学证明"},
    }
    common = {"legal_basis": "", "fee": "不收费", "online": True, "mobile": True}
    items: list[dict[str, Any]] = [
        {
            **common,
            "code": f"SX-{div}-001",
            "name": "出生医学证明签发",
            "line": "health",
            "legal_basis": "《中华人民共和国母婴保健法》第二十三条",
            "statutory_days": 20,
            "promised_days": 1,
            "on_the_spot": True,
            "visits": 0,
            "materials": [id_card],
            "process_id": "",
            "certificate_type": "出生医学证明",
            "form_fields": birth_form,
            "prefill": [_population(div)],
        },
        {
            **common,
            "code": f"SX-{div}-002",
            "name": "出生登记（户口登记）",
            "line": "public_security",
            "legal_basis": "《中华人民共和国户口登记条例》第七条",
            "statutory_days": 30,
            "promised_days": 3,
            "on_the_spot": False,
            "visits": 0,
            "materials": [id_card, household, birth_cert],
            "process_id": "",
            "certificate_type": "居民户口簿（新生儿页）",
            "form_fields": birth_form,
            "prefill": [_population(div)],
        },
        {
            **common,
            "code": f"SX-{div}-003",
            "name": "城乡居民基本医疗保险参保登记",
            "line": "medical_security",
            "legal_basis": "《中华人民共和国社会保险法》第二十五条",
            "statutory_days": 15,
            "promised_days": 1,
            "on_the_spot": True,
            "visits": 0,
            "materials": [id_card],
            "process_id": "",
            "certificate_type": "参保登记凭证",
            "form_fields": birth_form,
            "prefill": [_population(div)],
        },
        {
            **common,
            "code": f"SX-{div}-004",
            "name": "社会保障卡申领",
            "line": "human_resources",
            "legal_basis": "《社会保障卡管理办法》",
            "statutory_days": 20,
            "promised_days": 5,
            "on_the_spot": False,
            "visits": 1,
            "materials": [id_card, photo],
            "process_id": "",
            "certificate_type": "社会保障卡",
            "form_fields": birth_form,
            "prefill": [_population(div)],
        },
        {
            **common,
            "code": f"SX-{div}-011",
            "name": "营业执照（个体工商户登记）",
            "line": "administrative_approval",
            "legal_basis": "《促进个体工商户发展条例》",
            "statutory_days": 15,
            "promised_days": 1,
            "on_the_spot": True,
            "visits": 0,
            "materials": [id_card, lease],
            "process_id": "",
            "certificate_type": "营业执照",
            "form_fields": food_form,
            "prefill": [_population(div)],
        },
        {
            **common,
            "code": f"SX-{div}-012",
            "name": "食品经营许可",
            "line": "market_regulation",
            "legal_basis": "《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》",
            "statutory_days": 20,
            "promised_days": 5,
            "on_the_spot": False,
            "visits": 1,
            "materials": [id_card, lease, food_rules],
            "process_id": "",
            "online": True,
            "mobile": False,
            "certificate_type": "食品经营许可证",
            "form_fields": food_form,
            "prefill": [_population(div)],
        },
        {
            **common,
            "code": f"SX-{div}-013",
            "name": "新办纳税人涉税事项（税务登记）",
            "line": "tax",
            "legal_basis": "《中华人民共和国税收征收管理法》第十五条",
            "statutory_days": 30,
            "promised_days": 1,
            "on_the_spot": True,
            "visits": 0,
            "materials": [id_card],
            "process_id": "",
            "certificate_type": "税务登记信息确认单",
            "form_fields": food_form,
            "prefill": [_population(div)],
        },
    ]
    birth_members = [f"SX-{div}-00{i}" for i in (1, 2, 3, 4)]
    food_members = [f"SX-{div}-01{i}" for i in (1, 2, 3)]
    items += [
        {
            **common,
            "code": f"YJS-{div}-BIRTH",
            "name": "新生儿出生一件事",
            "kind": "bundle",
            "line": "administrative_approval",
            "legal_basis": "《国务院关于加快推进政务服务“一网通办”的指导意见》",
            "statutory_days": 30,
            "promised_days": 5,
            "on_the_spot": False,
            "visits": 0,
            "materials": [id_card, household, birth_cert, photo],
            "process_id": "birth_bundle",
            "members": birth_members,
            "certificate_type": "新生儿出生一件事办结通知书",
            "form_fields": birth_form,
            "prefill": [_population(div)],
        },
        {
            **common,
            "code": f"YJS-{div}-FOOD",
            "name": "开办餐饮店一件事",
            "kind": "bundle",
            "line": "administrative_approval",
            "legal_basis": "《优化营商环境条例》第十九条",
            "statutory_days": 30,
            "promised_days": 5,
            "on_the_spot": False,
            "visits": 1,
            "materials": [id_card, lease, food_rules],
            "process_id": "restaurant_bundle",
            "members": food_members,
            "certificate_type": "开办餐饮店一件事办结通知书",
            "form_fields": food_form,
            "prefill": [_population(div)],
        },
    ]
    return items
