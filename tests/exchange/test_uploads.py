"""Uploads: validated whole against the data items, versioned, refused whole with row numbers and reasons."""

import json

from tests.exchange.conftest import LI, OUYANG, ZHANG, to_csv


def _upload(client, headers, code, content, filename="people.csv", ctype="text/csv"):
    return client.post(
        f"/api/v1/exchange/resources/{code}/upload",
        files={"file": (filename, content, ctype)},
        headers=headers,
    )


def _count(client, headers, code):
    r = client.get(f"/api/v1/exchange/resources/{code}", headers=headers)
    return r.json()["records_version"], r.json()["records_count"]


def test_csv_upload_makes_a_new_version(client, login, people):
    h = login("nh_tax")
    r = _upload(client, h, people.code, to_csv([ZHANG, OUYANG]))
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2 and r.json()["row_count"] == 2
    assert _count(client, h, people.code) == (2, 2)
    history = client.get(f"/api/v1/exchange/resources/{people.code}/uploads", headers=h).json()
    assert [(u["version"], u["status"]) for u in history] == [(2, "active"), (1, "superseded")]


def test_json_upload_with_chinese_labels_as_keys(client, login, people):
    rows = [{"公民身份号码": ZHANG["id_number"], "姓名": "张三丰", "所属村代码": "410527100200"}]
    r = _upload(
        client,
        login("nh_tax"),
        people.code,
        json.dumps(rows, ensure_ascii=False).encode(),
        "p.json",
        "application/json",
    )
    assert r.status_code == 201, r.text
    assert r.json()["row_count"] == 1


def test_bad_rows_refuse_the_whole_file_and_the_previous_version_stays(client, login, people):
    h = login("nh_tax")
    bad_id = dict(
        OUYANG, id_number=OUYANG["id_number"][:-1] + ("0" if OUYANG["id_number"][-1] != "0" else "1")
    )
    rows = [ZHANG, bad_id, dict(LI, age="五十"), dict(LI, name=""), dict(ZHANG, phone="12345")]
    r = _upload(client, h, people.code, to_csv(rows))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "upload_rejected" and "4" in err["message"]
    locs = {(d["loc"][1], d["loc"][2]) for d in err["details"]}
    # CSV line numbers: header is line 1, the first data row line 2.
    assert locs == {(3, "id_number"), (4, "age"), (5, "name"), (6, "phone")}
    assert any("校验位" in d["msg"] for d in err["details"])
    assert _count(client, h, people.code) == (1, 3)
    r = client.get(f"/api/v1/exchange/resources/{people.code}/records", headers=h)
    assert len(r.json()["records"]) == 3 and r.json()["version"] == 1


def test_header_problems_are_reported_for_the_file(client, login, people):
    r = _upload(client, login("nh_tax"), people.code, "姓名,colour\n张三,red\n".encode())
    assert r.status_code == 422
    msgs = [(d["loc"], d["msg"]) for d in r.json()["error"]["details"]]
    assert any(loc == ["file", "colour"] for loc, _ in msgs)
    assert any(loc == ["file", "id_number"] for loc, _ in msgs)  # required column missing


def test_malformed_files_are_4xx(client, login, people):
    h = login("nh_tax")
    assert _upload(client, h, people.code, b"\xff\xfe\x00bad", "x.csv").status_code == 422
    assert _upload(client, h, people.code, b"{not json", "x.json", "application/json").status_code == 422
    assert _upload(client, h, people.code, b"[1, 2]", "x.json", "application/json").status_code == 422
    assert _upload(client, h, people.code, b"", "x.csv").status_code == 422


def test_only_the_provider_scope_may_upload(client, login, people):
    r = _upload(client, login("pd_handler"), people.code, to_csv([ZHANG]))
    assert r.status_code == 403
    r = _upload(client, login("nh_viewer"), people.code, to_csv([ZHANG]))
    assert r.status_code == 403
    assert _upload(client, login("nh_tax"), "NOPE-1", to_csv([ZHANG])).status_code == 404


def test_uploads_history_is_not_for_other_counties(client, login, people):
    assert (
        client.get(
            f"/api/v1/exchange/resources/{people.code}/uploads", headers=login("pd_handler")
        ).status_code
        == 403
    )


def test_too_many_rows_is_413_before_validation(client, login, people, monkeypatch):
    from govgrid.exchange import ingest

    monkeypatch.setattr(ingest, "MAX_ROWS", 2)
    h = login("nh_tax")
    r = _upload(client, h, people.code, to_csv([ZHANG, OUYANG, dict(LI, id_number="bad")]))
    assert r.status_code == 413 and "2" in r.json()["error"]["message"]
    rows = json.dumps([ZHANG, OUYANG, LI], ensure_ascii=False).encode()
    r = _upload(client, h, people.code, rows, "p.json", "application/json")
    assert r.status_code == 413
    assert _count(client, h, people.code) == (1, 3)  # nothing stored
    assert _upload(client, h, people.code, to_csv([ZHANG, OUYANG])).status_code == 201
