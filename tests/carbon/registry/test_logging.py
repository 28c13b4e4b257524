"""Operator logs: one line per state change of the registry, with ids and codes, never names or free text."""

from __future__ import annotations

import logging

import numpy as np

from .conftest import landcover_tif

P = "/api/v1/carbon"
ENTERPRISE = "岳阳某纸业有限公司"
REASON = "2024 年度碳中和"


def _lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("govgrid.carbon")]


def test_each_state_change_logs_one_line_without_personal_data(client, login, flow, caplog):
    caplog.set_level(logging.INFO, logger="govgrid.carbon")
    p = flow.project()
    rep = flow.report(p["id"])
    flow.verify(rep["id"])
    iss = flow.issue(rep["id"]).json()
    registrar = login("hn_registry")
    ext = client.post(
        P + "/accounts", json={"holder_name": ENTERPRISE, "division_code": "430600"}, headers=registrar
    ).json()
    client.post(
        P + "/transfers",
        json={"from_account_id": iss["account_id"], "to_account_id": ext["id"], "quantity": 300},
        headers=login("jsh_forestry"),
    )
    r = client.post(
        P + "/retirements",
        json={"account_id": ext["id"], "quantity": 100, "beneficiary": ENTERPRISE, "reason": REASON},
        headers=registrar,
    )
    assert r.status_code == 201, r.text
    messages = [r.getMessage() for r in _lines(caplog)]
    for message in (
        "carbon project registered",
        "monitoring report submitted",
        "monitoring report verified",
        "credits issued",
        "credits transferred",
        "credits retired",
    ):
        assert messages.count(message) == 1, (message, messages)
    # the proponent's and the province's buffer pool (at issuance) and the enterprise's
    assert messages.count("carbon account opened") == 3
    verified = next(r for r in _lines(caplog) if r.getMessage() == "monitoring report verified")
    assert (verified.report_id, verified.__dict__["from"], verified.to) == (
        rep["id"],
        "submitted",
        "verified",
    )
    issued = next(r for r in _lines(caplog) if r.getMessage() == "credits issued")
    assert (issued.serial_start, issued.quantity) == (iss["serial_start"], iss["quantity"])
    # names of people and holders, beneficiaries, reasons and statements stay out of the log
    dump = " ".join(f"{r.getMessage()} {r.__dict__}" for r in _lines(caplog))
    for private in (ENTERPRISE, REASON, "核查通过", "jsh_forestry", "yy_verifier", "hn_registry"):
        assert private not in dump, private


def test_refusals_and_alerts_are_logged(client, login, flow, caplog):
    caplog.set_level(logging.INFO, logger="govgrid.carbon")
    p = flow.project()
    rep = flow.report(p["id"])
    before = np.full((20, 20), 3, np.uint8)
    after = before.copy()
    after[:, :10] = 6  # 200 pixels of 0.01 ha: 2 ha of reed marsh to cropland
    files = [
        ("files", ("landcover_2018.tif", landcover_tif(before), "image/tiff")),
        ("files", ("landcover_2023.tif", landcover_tif(after), "image/tiff")),
    ]
    h = login("jsh_forestry")
    assert client.post(f"{P}/reports/{rep['id']}/uploads", files=files, headers=h).status_code == 201
    r = client.post(f"{P}/reports/{rep['id']}/landcover-check", json={"threshold_ha": 1}, headers=h)
    assert r.status_code == 200 and r.json()["raised"], r.text
    raised = [x for x in _lines(caplog) if x.getMessage() == "protection alert raised"]
    assert len(raised) == 1 and raised[0].levelno == logging.WARNING
    assert raised[0].alert_id == r.json()["id"] and len(raised[0].department_ids) == 2

    flow.verify(rep["id"])
    assert flow.issue(rep["id"]).status_code == 201
    assert flow.issue(rep["id"]).status_code == 409  # the same report again
    refused = [x for x in _lines(caplog) if x.getMessage() == "double issuance refused"]
    assert len(refused) == 1 and refused[0].levelno == logging.WARNING and refused[0].report_id == rep["id"]
