"""The routing classifier is stored as data: a stored model classifies exactly as the fitted one (and as the
scikit-learn pipeline the earlier versions stored), and a tampered or legacy blob is refused without running
anything: the keyword rules classify instead."""

from __future__ import annotations

import ast
import base64
import json
import logging
import os
import pickle
import zlib
from pathlib import Path

import numpy as np
import pytest

from govgrid.appeals import textmodel
from govgrid.appeals.models import ClassifierModel
from govgrid.appeals.services import classifier

SRC = Path(__file__).resolve().parents[2] / "src" / "govgrid"
TEXTS = [
    "城关镇东关村路口垃圾堆放好几天没人清运",
    "垃圾桶满了溢出来，保洁不及时",
    "人民路路灯坏了一个多月不亮",
    "村口照明路灯不亮，老人出行不安全",
    "老板拖欠工资三个月",
    "农民工工钱一直拖着不给",
    "已经停水两天了，没有任何通知",
    "自来水水压太低，二楼就上不去水",
] * 3
LABELS = ["garbage", "garbage", "street_light", "street_light", "wage_arrears", "wage_arrears"] + [
    "water_supply"
] * 2
LABELS = LABELS * 3
QUERIES = ["东关村垃圾没人清运", "路灯不亮很黑", "工资拖欠半年", "停水了", "完全无关的一句话"]


def _doc(blob: bytes) -> dict:
    return json.loads(zlib.decompress(blob[len(textmodel.MAGIC) :]))


def _blob(doc: dict) -> bytes:
    return textmodel.MAGIC + zlib.compress(json.dumps(doc).encode())


def test_a_stored_model_classifies_exactly_as_the_fitted_one():
    fitted = textmodel.fit(TEXTS, LABELS)
    loaded = textmodel.load(textmodel.dump(fitted))
    assert list(loaded.classes_) == list(fitted.classes_)
    assert np.array_equal(loaded.predict_proba(QUERIES), fitted.predict_proba(QUERIES))


def test_a_stored_model_classifies_as_the_pipeline_earlier_versions_stored():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    old = Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    tokenizer=textmodel.tokenize,
                    token_pattern=None,
                    lowercase=False,
                    ngram_range=(1, 2),
                    min_df=1,
                    sublinear_tf=True,
                ),
            ),
            ("clf", LogisticRegression(max_iter=1000, C=5.0)),
        ]
    ).fit(TEXTS, LABELS)
    loaded = textmodel.load(textmodel.dump(textmodel.fit(TEXTS, LABELS)))
    assert list(loaded.classes_) == list(old.classes_)
    assert np.allclose(loaded.predict_proba(QUERIES), old.predict_proba(QUERIES), rtol=0, atol=1e-12)


def test_a_binary_model_round_trips():
    fitted = textmodel.fit(TEXTS[:4], ["garbage", "garbage", "street_light", "street_light"])
    loaded = textmodel.load(textmodel.dump(fitted))
    assert np.array_equal(loaded.predict_proba(QUERIES), fitted.predict_proba(QUERIES))


class _Payload:
    """What an attacker with write access to the models table would store: unpickling it makes a directory."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_a_legacy_or_malicious_object_blob_is_never_deserialised(tmp_path):
    marker = tmp_path / "ran"
    blob = pickle.dumps(_Payload(str(marker)))
    assert textmodel.is_legacy(blob)
    with pytest.raises(textmodel.ModelFormatError, match="retrain"):
        textmodel.load(blob)
    assert not marker.exists()


def test_damaged_or_tampered_models_are_refused():
    good = textmodel.dump(textmodel.fit(TEXTS, LABELS))
    doc = _doc(good)
    wrong_shape = dict(doc, coef=dict(doc["coef"], shape=[1, 1]))
    short_vocabulary = dict(doc, vocabulary=doc["vocabulary"][:-1])
    not_finite = dict(
        doc,
        idf={
            "shape": doc["idf"]["shape"],
            "f8": base64.b64encode(np.full(doc["idf"]["shape"], np.nan).astype("<f8").tobytes()).decode(),
        },
    )
    repeated = dict(doc, classes=[doc["classes"][0]] * len(doc["classes"]))
    other_format = dict(doc, format="something/2")
    for bad in (
        wrong_shape,
        short_vocabulary,
        not_finite,
        repeated,
        other_format,
        {"format": textmodel.FORMAT},
    ):
        with pytest.raises(textmodel.ModelFormatError):
            textmodel.load(_blob(bad))
    flipped = bytearray(good)
    flipped[len(textmodel.MAGIC) + 20] ^= 0xFF
    for raw in (bytes(flipped), good[:-10], b"not a model", textmodel.MAGIC + b"\x00" * 10):
        with pytest.raises(textmodel.ModelFormatError):
            textmodel.load(raw)


def test_an_unreadable_active_model_falls_back_to_the_rules_and_says_so(db, world, tmp_path, caplog):
    marker = tmp_path / "ran"
    db.add(ClassifierModel(blob=pickle.dumps(_Payload(str(marker))), active=True, metrics={}))
    db.flush()
    classifier.forget_model()
    with caplog.at_level(logging.WARNING, logger="govgrid.appeals.services.classifier"):
        got = classifier.classify(db, text="小区门口垃圾堆放没人清运")
        again = classifier.classify(db, text="老板拖欠工资三个月")
    assert got.source == "rules" and got.code == "garbage" and again.code == "wage_arrears"
    assert not marker.exists()
    refused = [r for r in caplog.records if r.getMessage().startswith("classifier model refused")]
    assert len(refused) == 1 and refused[0].legacy is True  # logged once per model, ids only


def test_a_trained_model_is_stored_as_data(db, world):
    model = textmodel.fit(TEXTS, LABELS)
    db.add(ClassifierModel(blob=textmodel.dump(model), active=True, metrics={}))
    db.flush()
    classifier.forget_model()
    got = classifier.classify(db, text="东关村垃圾没人清运")
    assert got.source == "model" and got.code == "garbage"
    stored = db.query(ClassifierModel).filter(ClassifierModel.active.is_(True)).all()
    assert all(m.blob.startswith(textmodel.MAGIC) for m in stored)


def test_no_object_deserialisation_anywhere_in_the_source():
    banned = {"pickle", "cPickle", "dill", "joblib", "shelve", "cloudpickle"}
    found = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            found += [f"{path.relative_to(SRC)}:{node.lineno} {n}" for n in names if n in banned]
    assert found == []
    appeals = SRC / "appeals"
    assert [p for p in appeals.rglob("*.py") if "pickle" in p.read_text(encoding="utf-8").lower()] == []
