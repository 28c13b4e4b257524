"""The category of a concern from its text: keyword rules at cold start, then a model trained on the tickets
whose category a dispatcher confirmed (jieba + TF-IDF + logistic regression, stored as data: see
appeals.textmodel)."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.appeals import categories, textmodel
from govgrid.appeals.enums import CategorySource
from govgrid.appeals.models import ClassifierModel, Ticket
from govgrid.core.errors import ValidationFailedError
from govgrid.core.workdays import SHANGHAI

log = logging.getLogger(__name__)

MODEL_CHECK_SECONDS = 30.0  # a newly trained model is picked up within this time
MIN_CONFIDENCE = 0.35


@dataclass
class Classification:
    """The proposed category, how sure we are, and which method said so."""

    code: str
    confidence: float
    source: CategorySource
    top: list[tuple[str, float]]


@dataclass
class _ModelCache:
    """The active model of this process: which id is active (re-checked every MODEL_CHECK_SECONDS), the loaded
    model, and ids refused as unreadable (each logged once)."""

    active_id: int | None = None
    checked_at: float | None = None
    loaded_id: int | None = None
    model: textmodel.TextModel | None = None
    refused: set[int] = field(default_factory=set)


_lock = threading.Lock()
_cache = _ModelCache()


def forget_model() -> None:
    """Drop the cached model (after training; tests)."""
    global _cache
    with _lock:
        _cache = _ModelCache()


def _active_model(session: Session) -> textmodel.TextModel | None:
    """The active model (cached by id; re-checked when the active model changes), or None for the rules."""
    cache = _cache
    now = time.monotonic()
    if cache.checked_at is None or now - cache.checked_at >= MODEL_CHECK_SECONDS:
        cache.active_id = session.scalar(
            select(ClassifierModel.id)
            .where(ClassifierModel.active.is_(True))
            .order_by(ClassifierModel.id.desc())
            .limit(1)
        )
        cache.checked_at = now
    model_id = cache.active_id
    if model_id is None or model_id in cache.refused:
        return None
    with _lock:
        if cache.loaded_id != model_id or cache.model is None:
            blob = session.scalar(select(ClassifierModel.blob).where(ClassifierModel.id == model_id))
            if blob is None:  # deactivated or removed meanwhile
                cache.active_id, cache.checked_at, cache.loaded_id, cache.model = None, None, None, None
                return None
            try:
                cache.model = textmodel.load(blob)
            except textmodel.ModelFormatError as exc:
                cache.refused.add(model_id)
                log.warning(
                    "classifier model refused: the keyword rules classify until `govgrid appeals train` "
                    "stores a new model",
                    extra={"model_id": model_id, "reason": str(exc), "legacy": textmodel.is_legacy(blob)},
                )
                return None
            cache.loaded_id = model_id
        return cache.model


def classify_rules(text: str) -> Classification:
    """Keyword rules: the cold-start classifier and the fallback."""
    scores = categories.keyword_scores(text)
    if not scores:
        default = categories.DEFAULT_CATEGORY
        return Classification(default, 0.0, CategorySource.rules, [(default, 0.0)])
    total = sum(scores.values())
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    top = [(c, n / total) for c, n in ranked[:3]]
    return Classification(top[0][0], top[0][1], CategorySource.rules, top)


def classify(session: Session, *, text: str, min_confidence: float = MIN_CONFIDENCE) -> Classification:
    """The trained model when there is one and it is confident enough, otherwise the keyword rules."""
    model = _active_model(session)
    if model is not None:
        proba = model.predict_proba([text])[0]
        order = np.argsort(-proba)[:3]
        classes = model.classes_
        top = [(str(classes[i]), float(proba[i])) for i in order]
        if top[0][1] >= min_confidence:
            return Classification(top[0][0], top[0][1], CategorySource.model, top)
    return classify_rules(text)


def from_reporter(category_code: str) -> Classification:
    """The category the reporter chose (certain by definition)."""
    return Classification(category_code, 1.0, CategorySource.reporter, [(category_code, 1.0)])


@dataclass
class TrainReport:
    """What `train_classifier` fitted and how it scored on later months."""

    model_id: int | None
    n_train: int
    n_test: int
    split_month: str
    macro_f1: float
    top3_accuracy: float
    rules_macro_f1: float
    override_rate: float
    labels: list[str]


def _month(dt: datetime) -> str:
    """The Asia/Shanghai month of an instant ('YYYY-MM')."""
    return dt.astimezone(SHANGHAI).strftime("%Y-%m")


def _split_month(months: list[str], per_month: Counter[str], total: int, test_fraction: float) -> str:
    """The first month of the test set: the latest months holding about test_fraction of the tickets."""
    acc, split = 0, months[-1]
    for m in reversed(months[1:]):
        acc += per_month[m]
        split = m
        if acc >= test_fraction * total:
            break
    return split


def train_classifier(
    session: Session, *, test_fraction: float = 0.2, activate: bool = True, min_labelled: int = 50
) -> TrainReport:
    """Fit the model on dispatcher-confirmed tickets; score it on the latest months."""
    from sklearn.metrics import f1_score

    rows = session.execute(
        select(Ticket.description, Ticket.category_code, Ticket.created_at, Ticket.category_source)
        .where(Ticket.category_confirmed.is_(True))
        .order_by(Ticket.created_at, Ticket.id)
    ).all()
    if len(rows) < min_labelled:
        raise ValidationFailedError(
            f"已确认类别的工单只有 {len(rows)} 件，至少需要 {min_labelled} 件才能训练 "
            f"(only {len(rows)} dispatcher-confirmed tickets; need {min_labelled})"
        )
    months = sorted({_month(r[2]) for r in rows})
    if len(months) < 2:
        raise ValidationFailedError(
            "需要至少两个月的已确认工单以按时间切分 (need at least two months of labelled tickets "
            "for a time split)"
        )
    split = _split_month(months, Counter(_month(r[2]) for r in rows), len(rows), test_fraction)
    train = [r for r in rows if _month(r[2]) < split]
    test = [r for r in rows if _month(r[2]) >= split]
    log.info("classifier training started", extra={"n_train": len(train), "n_test": len(test)})
    model = textmodel.fit([r[0] for r in train], [r[1] for r in train])
    y_true = [r[1] for r in test]
    proba = model.predict_proba([r[0] for r in test])
    classes = list(model.classes_)
    pred = [classes[i] for i in proba.argmax(axis=1)]
    top3 = np.argsort(-proba, axis=1)[:, :3]
    top3_hits = sum(1 for i, y in enumerate(y_true) if y in {classes[j] for j in top3[i]})
    labels = sorted(set(y_true) | set(pred))
    macro = float(f1_score(y_true, pred, labels=labels, average="macro", zero_division=0))
    rules_pred = [classify_rules(r[0]).code for r in test]
    rules_macro = float(
        f1_score(
            y_true, rules_pred, labels=sorted(set(y_true) | set(rules_pred)), average="macro", zero_division=0
        )
    )
    # The human override rate of the category: the share of confirmed tickets whose category a dispatcher
    # changed.
    override_rate = sum(1 for r in rows if r[3] == CategorySource.dispatcher) / len(rows)
    report = TrainReport(
        None,
        len(train),
        len(test),
        split,
        macro,
        top3_hits / max(len(test), 1),
        rules_macro,
        override_rate,
        labels,
    )
    if activate:
        report.model_id = _store(session, model, report)
        forget_model()
    log.info("classifier trained", extra={"model_id": report.model_id, "macro_f1": round(macro, 4)})
    return report


def _store(session: Session, model: textmodel.TextModel, report: TrainReport) -> int:
    """Store a fitted model as the only active one; returns its id."""
    for old in session.scalars(select(ClassifierModel).where(ClassifierModel.active.is_(True))):
        old.active = False
    row = ClassifierModel(
        blob=textmodel.dump(model),
        active=True,
        metrics={
            "format": textmodel.FORMAT,
            "n_train": report.n_train,
            "n_test": report.n_test,
            "split_month": report.split_month,
            "macro_f1": report.macro_f1,
            "top3_accuracy": report.top3_accuracy,
            "rules_macro_f1": report.rules_macro_f1,
            "category_override_rate": report.override_rate,
            "labels": report.labels,
        },
    )
    session.add(row)
    session.flush()
    return row.id
