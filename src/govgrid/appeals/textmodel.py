"""The routing classifier as data: jieba tokens, TF-IDF over words and word pairs, logistic regression.

A stored model is compressed JSON: the vocabulary, the idf weights, the regression's classes, coefficients and
intercepts (numbers as little-endian float64, base64). Reading one rebuilds the scikit-learn objects from
those numbers and nothing else, so no stored model can run code when it is read; a model that does not have
exactly this shape is refused (ModelFormatError). Models that earlier versions stored as serialised Python
objects are recognised (`is_legacy`) and never deserialised: `govgrid appeals train` replaces them."""

from __future__ import annotations

import base64
import binascii
import json
import math
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

FORMAT = "govgrid.appeals.textmodel/1"
MAGIC = b"GGTM1\n"  # then zlib-compressed JSON
MAX_JSON_BYTES = 256 * 1024 * 1024  # far above any real model; stops a decompression bomb
NGRAM_RANGE = (1, 2)
C = 5.0
MAX_ITER = 1000


class ModelFormatError(ValueError):
    """A stored model is not of this format: an earlier version's object dump, damaged or tampered with."""


def tokenize(text: str) -> list[str]:
    """jieba tokens without whitespace."""
    import jieba

    return [w for w in jieba.lcut(text) if w.strip()]


def _vectorizer(vocabulary: list[str] | None = None) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        tokenizer=tokenize,
        token_pattern=None,
        lowercase=False,
        ngram_range=NGRAM_RANGE,
        min_df=1,
        sublinear_tf=True,
        vocabulary=vocabulary,
    )


@dataclass
class TextModel:
    """A fitted classifier: text in, one probability per class out."""

    vectorizer: TfidfVectorizer
    classifier: LogisticRegression

    @property
    def classes_(self) -> np.ndarray:
        """The category codes, in the order of predict_proba's columns."""
        return self.classifier.classes_

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """One row of class probabilities per text."""
        return self.classifier.predict_proba(self.vectorizer.transform(texts))


def fit(texts: list[str], labels: list[str]) -> TextModel:
    """Fit the vectorizer and the regression on labelled texts."""
    from sklearn.linear_model import LogisticRegression

    vectorizer = _vectorizer()
    features = vectorizer.fit_transform(texts)
    classifier = LogisticRegression(max_iter=MAX_ITER, C=C).fit(features, labels)
    return TextModel(vectorizer, classifier)


def _encode(array: np.ndarray) -> dict[str, Any]:
    data = np.ascontiguousarray(array, dtype="<f8")
    return {"shape": list(data.shape), "f8": base64.b64encode(data.tobytes()).decode("ascii")}


def _decode(value: Any, shape: tuple[int, ...], key: str) -> np.ndarray:
    if (
        not isinstance(value, dict)
        or value.get("shape") != list(shape)
        or not isinstance(value.get("f8"), str)
    ):
        raise ModelFormatError(f"{key}: expected an array of shape {shape}")
    try:
        raw = base64.b64decode(value["f8"], validate=True)
    except (binascii.Error, ValueError):
        raise ModelFormatError(f"{key}: not base64") from None
    if len(raw) != 8 * math.prod(shape):
        raise ModelFormatError(f"{key}: {len(raw)} bytes for shape {shape}")
    array = np.frombuffer(raw, dtype="<f8").reshape(shape).astype(np.float64)
    if not np.isfinite(array).all():
        raise ModelFormatError(f"{key}: not finite")
    return array


def dump(model: TextModel) -> bytes:
    """The stored form of a fitted model (data only)."""
    vocabulary = sorted(model.vectorizer.vocabulary_, key=model.vectorizer.vocabulary_.__getitem__)
    doc = {
        "format": FORMAT,
        "ngram_range": list(NGRAM_RANGE),
        "vocabulary": vocabulary,
        "idf": _encode(model.vectorizer.idf_),
        "classes": [str(c) for c in model.classifier.classes_],
        "coef": _encode(model.classifier.coef_),
        "intercept": _encode(model.classifier.intercept_),
    }
    return MAGIC + zlib.compress(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode(), 6)


def is_legacy(blob: bytes) -> bool:
    """True for a model an earlier version stored as a serialised Python object (never deserialised)."""
    return blob[:1] == b"\x80"


def _read_json(blob: bytes) -> dict[str, Any]:
    if is_legacy(blob):
        raise ModelFormatError("an earlier version's serialised object: retrain with `govgrid appeals train`")
    if not blob.startswith(MAGIC):
        raise ModelFormatError("not a stored text model")
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(blob[len(MAGIC) :], MAX_JSON_BYTES)
    except zlib.error:
        raise ModelFormatError("damaged: not zlib data") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise ModelFormatError("damaged or too large")
    try:
        doc = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise ModelFormatError("damaged: not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFormatError(f"not format {FORMAT}")
    if doc.get("ngram_range") != list(NGRAM_RANGE):
        raise ModelFormatError("unexpected n-gram range")
    return doc


def _strings(value: Any, key: str, minimum: int) -> list[str]:
    if not isinstance(value, list) or len(value) < minimum or not all(isinstance(v, str) for v in value):
        raise ModelFormatError(f"{key}: expected a list of at least {minimum} strings")
    if len(set(value)) != len(value):
        raise ModelFormatError(f"{key}: repeated entries")
    return value


def load(blob: bytes) -> TextModel:
    """Rebuild a fitted model from its stored form, or ModelFormatError (nothing in the blob is executed)."""
    from sklearn.linear_model import LogisticRegression

    doc = _read_json(blob)
    vocabulary = _strings(doc.get("vocabulary"), "vocabulary", 1)
    classes = _strings(doc.get("classes"), "classes", 2)
    n_features = len(vocabulary)
    rows = 1 if len(classes) == 2 else len(classes)  # a binary regression keeps one row of coefficients
    idf = _decode(doc.get("idf"), (n_features,), "idf")
    coef = _decode(doc.get("coef"), (rows, n_features), "coef")
    intercept = _decode(doc.get("intercept"), (rows,), "intercept")
    vectorizer = _vectorizer(vocabulary)
    vectorizer.idf_ = idf
    classifier = LogisticRegression(max_iter=MAX_ITER, C=C)
    classifier.classes_ = np.array(classes)
    classifier.coef_ = coef
    classifier.intercept_ = intercept
    classifier.n_features_in_ = n_features
    return TextModel(vectorizer, classifier)
