"""``govgrid market verify-draw FILE --entities CSV --inspectors CSV``: verified, or the first difference."""

import json

from typer.testing import CliRunner

from govgrid.market import drawing
from govgrid.market.cli import app
from govgrid.market.drawing import EntityList, Inspector
from tests.market.conftest import code

SEED = "5e" * 32


def _files(tmp_path, **over):
    ents = EntityList([code("410527", i) for i in range(50)], ["ABCD"[i % 4] for i in range(50)])
    ins = [Inspector(i, "410527-market_regulation", "", frozenset()) for i in range(1, 7)]
    r = drawing.run_draw(
        seed=SEED,
        beacon="",
        entities=ents,
        inspectors=ins,
        weights=drawing.DEFAULT_WEIGHTS,
        sample_size=5,
        per_group=2,
    )
    doc = {
        "id": 1,
        "plan": "SSJ-1",
        "committed_at": "2026-12-03T00:00:00Z",
        "commitment": drawing.commitment(SEED),
        "seed": SEED,
        "beacon": "",
        "entities_hash": r.entities_hash,
        "inspectors_hash": r.inspectors_hash,
        "weights": drawing.DEFAULT_WEIGHTS,
        "sample_size": 5,
        "per_group": 2,
        "targets": r.targets,
        "inspectors": r.inspectors,
    }
    doc.update(over)
    (tmp_path / "draw.json").write_text(json.dumps([doc]), encoding="utf-8")
    (tmp_path / "e.csv").write_text(
        "credit_code,class,last_inspectors\n" + drawing.entity_text(ents), encoding="utf-8"
    )
    (tmp_path / "i.csv").write_text("id,group,unit,related\n" + drawing.inspector_text(ins), encoding="utf-8")
    return [
        str(tmp_path / "draw.json"),
        "--entities",
        str(tmp_path / "e.csv"),
        "--inspectors",
        str(tmp_path / "i.csv"),
    ]


def test_verified(tmp_path):
    r = CliRunner().invoke(app, ["verify-draw", *_files(tmp_path)])
    assert r.exit_code == 0 and r.output.strip() == "verified"


def test_changed_target_is_named(tmp_path):
    args = _files(tmp_path)
    doc = json.loads((tmp_path / "draw.json").read_text())[0]
    doc["targets"][2] = code("410527", 49)
    (tmp_path / "draw.json").write_text(json.dumps(doc))
    r = CliRunner().invoke(app, ["verify-draw", *args])
    assert r.exit_code == 1 and "targets[2]" in r.output


def test_entity_added_after_commitment_is_named(tmp_path):
    args = _files(tmp_path)
    with (tmp_path / "e.csv").open("a", encoding="utf-8") as f:
        f.write(f"{code('410527', 77)},D,\n")
    r = CliRunner().invoke(app, ["verify-draw", *args])
    assert r.exit_code == 1 and "entities_hash" in r.output


def test_wrong_seed_and_unusable_input(tmp_path):
    r = CliRunner().invoke(app, ["verify-draw", *_files(tmp_path, seed="00" * 32)])
    assert r.exit_code == 1 and "commitment" in r.output
    (tmp_path / "bad.json").write_text("{not json")
    assert CliRunner().invoke(app, ["verify-draw", str(tmp_path / "bad.json")]).exit_code == 2
    args = _files(tmp_path)
    assert CliRunner().invoke(app, ["verify-draw", args[0], "--entities", args[2]]).exit_code == 2
